/* train.reproducible: bitwise. The weights, optimizer state, metrics and checkpoints after
 * any number of steps are the same bits for any number of ranks and threads.
 *
 * Every global batch is cut into units of `unit` consecutive samples (the last may be
 * shorter); the unit depends on the config only (batch_size x accumulate / 8 unless
 * train.reproducible_unit says otherwise), never on the number of ranks, and each rank
 * takes whole units (nni_sampler_units). The forward of a sample does not depend on which
 * other samples share its batch (every product sums its terms in the same order however
 * many rows it has, core/gemm.c), so what is left is the reductions over samples:
 *   - each layer writes the parameter gradients of each unit, summed over that unit's
 *     samples in order, into the unit's own slot (nn_pass.unit_rows, layers with
 *     .unit_grads), or adds them up over this rank's units itself in the unit tree's order
 *     and writes only the nodes of their cover (nn_pass.unit_nodes: dense layers, inside
 *     the product);
 *   - the loss and the correct count are taken per unit;
 *   - the units' gradients are added in one fixed order, the unit tree
 *     (parallel/unit_tree.h): each rank adds up the whole nodes among its units, the ranks
 *     exchange those nodes (node shared memory, or MPI by slices), and each finishes the
 *     tree for its range of the parameters; every rank count makes the same nodes and adds
 *     them in the same order. The loss is summed in unit order.
 * Synced batchnorm combines its per-unit statistics in exact fixed point
 * (parallel/exact_sum.h); validation and test metrics sum per block of `unit` rows, the
 * same way. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "parallel/rank_buffers.h"
#include "parallel/unit_tree.h"
#include "parallel/exact_sum.h"
#include "parallel/shm.h"
#include "train/train_internal.h"

/* Units per global batch when train.reproducible_unit is not given: up to 8 ranks each
 * get one with the batch spread over all of them. */
#define DEFAULT_UNITS_PER_BATCH 8
/* Elements of the tree's sums taken at a time: the nodes waiting stay in L1. */
#define TREE_CHUNK 1024

static const char *const modes[] = {"default", "bitwise", NULL};

nn_status nni_repro_parse(nn_trainer *t, const nn_cfg *train_cfg, nn_error *err)
{
    int mode = 0;
    int64_t unit = 0;
    nn_status st = nn_cfg_read_choice(train_cfg, "reproducible", modes, "default", &mode, err);
    if (!st)
        st = nn_cfg_read_int(train_cfg, "reproducible_unit", 0, &unit, err);
    if (st)
        return st;
    if (nn_cfg_get(train_cfg, "reproducible_unit") && !mode)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "reproducible_unit"),
                           "only has a meaning with train.reproducible: bitwise");
    if (!mode)
        return NN_OK;
    if (nn_cfg_get(train_cfg, "reproducible_unit") && unit < 1)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "reproducible_unit"), "must be >= 1");
    if (unit < 1) {
        const int64_t step_batch = t->global_batch * t->accumulate;
        unit = (step_batch + DEFAULT_UNITS_PER_BATCH - 1) / DEFAULT_UNITS_PER_BATCH;
    }
    if (unit > t->global_batch)
        unit = t->global_batch;
    t->repro.unit = unit;
    /* A rank's rows are whole units: at most ceil(units / size) of them per batch. */
    const int64_t units = (t->global_batch + unit - 1) / unit;
    const int64_t mine = (units + t->comm->size - 1) / t->comm->size;
    if (mine * unit > t->capacity)
        t->capacity = mine * unit;
    t->repro.slots = t->accumulate * mine;
    return NN_OK;
}

/* Why the model cannot train bitwise (NULL: it can). */
static nn_status check_model(const nn_trainer *t, nn_error *err)
{
    const nn_model *model = t->model;
    if (model->unsynced_state)
        return nn_fail(err, NN_ERR_CONFIG, "train.reproducible: bitwise needs every batchnorm "
                       "layer to have sync: true (statistics over each rank's share of the "
                       "batch change with the number of ranks)");
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if (!(p->flags & NN_PARAM_STATE) && !p->layer->ops->unit_grads)
            return nn_fail(err, NN_ERR_CONFIG, "train.reproducible: bitwise: layer '%s' "
                           "(type %s) has no per-unit gradients yet; bitwise training supports "
                           "dense, conv2d and batchnorm layers with parameters",
                           p->layer->name, p->layer->ops->type);
    }
    if (t->data_cache == DATA_CACHE_NONE)
        return nn_fail(err, NN_ERR_CONFIG, "train.reproducible: bitwise reads the samples from "
                       "memory: give data.cache: memory or node, not none (streamed)");
    if (t->sampling == NNI_SAMPLING_SHARD)
        return nn_fail(err, NN_ERR_CONFIG, "train.reproducible: bitwise needs global sampling "
                       "(data.sampling: shard gives each rank its own rows)");
    return NN_OK;
}

/* The words of a rank's header (node shared memory, or MPI_Allgather), then its nodes'
 * first units and levels, then its units' ids and losses; the nodes' values follow. */
enum { HEAD_NODES, HEAD_UNITS, HEAD_CORRECT, HEAD_STOP, HEAD_FIXED };

/* One node of the step's sum: whose values, and where (base + a parameter's offset). */
typedef struct tree_item {
    nni_tree_node node;
    const float *base;
} tree_item;

static int compare_items(const void *a, const void *b)
{
    const int64_t x = ((const tree_item *)a)->node.first, y = ((const tree_item *)b)->node.first;
    return (x > y) - (x < y);
}

static int compare_losses(const void *a, const void *b)
{
    const double *x = a, *y = b; /* (unit id, loss) pairs */
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The largest cover (unit_tree.h) of one rank's units in a step: at most 2 x bits + 1 nodes
 * for a run of units, one run per micro-batch. */
static int max_cover(const nn_trainer *t)
{
    const int64_t units = (t->global_batch + t->repro.unit - 1) / t->repro.unit;
    const int64_t run = (units + t->comm->size - 1) / t->comm->size;
    int bits = 0;
    while (((int64_t)1 << bits) <= run)
        bits++;
    return (int)(t->accumulate * (2 * bits + 1));
}

/* A tensor whose gradients are summed: trained and not frozen (layers write no gradients
 * for frozen ones). */
static int summed_param(const nn_param *p)
{
    return !(p->flags & NN_PARAM_STATE) && !p->frozen;
}

/* The gradients of this rank's unit j of the step (slot 0 holds the sums). */
static float *unit_slot(const reproducible *r, int64_t j)
{
    return r->partials + (j + 1) * r->stride;
}

nn_status nni_repro_setup(nn_trainer *t, nn_error *err)
{
    reproducible *r = &t->repro;
    if (!r->unit)
        return NN_OK;
    nn_status st = check_model(t, err);
    if (st)
        return st;
    nn_model *model = t->model;
    t->sampler.unit = r->unit;
    /* Slots 64-byte aligned; slot 0 is where the summed gradients end up, the units' are
     * 1, 2, ... */
    r->stride = (model->n_param_floats + NN_GRAD_ROOM + 15) / 16 * 16;
    for (int k = 0; k < model->n_params; k++)
        r->n_groups += summed_param(&model->params[k]);
    r->max_nodes = max_cover(t);
    r->partials = aligned_alloc(64, (size_t)((r->slots + 1) * r->stride) * sizeof(float));
    r->group_param = malloc((size_t)(r->n_groups + 1) * sizeof *r->group_param);
    r->unit_id = malloc((size_t)r->slots * sizeof *r->unit_id);
    r->unit_loss = malloc((size_t)r->slots * sizeof *r->unit_loss);
    r->unit_correct = malloc((size_t)r->slots * sizeof *r->unit_correct);
    const int64_t max_items = (int64_t)t->comm->size * r->max_nodes + r->slots;
    r->items = malloc((size_t)max_items * sizeof *r->items);
    r->losses = malloc((size_t)(2 * t->comm->size * r->slots + 2) * sizeof *r->losses);
    r->head_words = (HEAD_FIXED + 2 * r->max_nodes + 2 * r->slots + 7) / 8 * 8;
    /* Evaluation's blocks: this rank's share of the largest split. */
    int64_t largest = t->n_val > t->test.n ? t->n_val : t->test.n;
    largest = largest > t->n_train ? largest : t->n_train;
    const int64_t blocks = (largest + r->unit - 1) / r->unit;
    r->eval_parts = malloc((size_t)(2 * ((blocks + t->comm->size - 1) / t->comm->size + 1)) *
                           sizeof *r->eval_parts);
    if (!r->partials || !r->group_param || !r->unit_id || !r->unit_loss || !r->unit_correct ||
        !r->items || !r->losses || !r->eval_parts ||
        !nni_tree_sum_alloc(&r->tree, r->max_nodes + 66, TREE_CHUNK) ||
        !nni_tree_sum_alloc(&r->cover, r->max_nodes + 2, 0))
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    memset(r->partials, 0, (size_t)((r->slots + 1) * r->stride) * sizeof(float));
    for (int k = 0, g = 0; k < model->n_params; k++)
        if (summed_param(&model->params[k]))
            r->group_param[g++] = k;
    nni_model_use_grads(model, r->partials);
    r->own_first = 0;
    r->own_end = model->n_param_floats;
    if (t->comm->size > 1 && r->transport == NN_GRAD_TRANSPORT_AUTO) {
        const int64_t words = r->head_words + (r->max_nodes * r->stride + 1) / 2;
        st = nni_rank_buffers_create(t->comm, words, &r->shared, r->why, sizeof r->why, err);
        if (st)
            return st;
    } else {
        snprintf(r->why, sizeof r->why, "%s", t->comm->size > 1 ? "train.allreduce: mpi"
                                                                 : "one rank");
    }
    r->nodes = aligned_alloc(64, (size_t)(r->max_nodes * r->stride) * sizeof(float));
    r->fused = calloc((size_t)model->n_params, sizeof *r->fused);
    if (!r->nodes || !r->fused)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (t->comm->size > 1 && !r->shared) { /* MPI: the nodes, sent and received by slices */
        const int64_t slice = (model->n_param_floats + t->comm->size - 1) / t->comm->size + 1;
        r->send = malloc((size_t)(r->max_nodes * (model->n_param_floats + t->comm->size)) *
                         sizeof *r->send);
        r->recv = malloc((size_t)(t->comm->size * r->max_nodes * slice) * sizeof *r->recv);
        r->heads = malloc((size_t)(t->comm->size * r->head_words) * sizeof *r->heads);
        r->my_head = malloc((size_t)r->head_words * sizeof *r->my_head);
        r->counts = malloc((size_t)(4 * t->comm->size) * sizeof *r->counts);
        if (!r->send || !r->recv || !r->heads || !r->my_head || !r->counts)
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    /* Test hook: the last rank adds up its units from the last to the first, the one
     * change of summation order the reproducibility tests must catch. */
    const char *mutate = getenv("NN_TEST_MUTATE_SUM_ORDER");
    r->mutate = mutate && *mutate && strcmp(mutate, "0") != 0 && t->comm->size > 1 &&
                t->comm->rank == t->comm->size - 1;
    return NN_OK;
}

void nni_repro_free(nn_trainer *t)
{
    reproducible *r = &t->repro;
    if (t->model && r->partials)
        nni_model_use_grads(t->model, NULL);
    free(r->partials);
    free(r->group_param);
    free(r->unit_id);
    free(r->unit_loss);
    free(r->unit_correct);
    free(r->items);
    free(r->losses);
    free(r->eval_parts);
    free(r->nodes);
    free(r->fused);
    free(r->send);
    free(r->recv);
    free(r->heads);
    free(r->my_head);
    free(r->counts);
    nni_tree_sum_free(&r->tree);
    nni_tree_sum_free(&r->cover);
    nni_rank_buffers_free(r->shared);
    memset(r, 0, sizeof *r);
}

/* The loss (and correct count) of each unit of the rows in the model's output, from
 * slot `slot` on; writes d(loss)/d(output) x scale. */
static void unit_losses(nn_trainer *t, int64_t rows, float scale, int64_t slot)
{
    reproducible *r = &t->repro;
    nn_model *model = t->model;
    const int64_t width = nn_model_output_size(model);
    const nn_targets *all = &t->targets_buf.view;
    for (int64_t first = 0; first < rows; first += r->unit, slot++) {
        const int64_t n = rows - first < r->unit ? rows - first : r->unit;
        const nn_targets view = {
            .labels = all->labels ? all->labels + first : NULL,
            .values = all->values ? all->values + first * all->width : NULL,
            .width = all->width};
        r->unit_loss[slot] = nn_loss_eval(t->loss, model->output->out + first * width, &view,
                                          n, scale, model->output->dout + first * width);
        r->unit_correct[slot] =
            t->classification
                ? nni_trainer_count_correct(model->output->out + first * width, width,
                                            view.labels, n) : 0;
    }
}

/* The cover of this rank's units (ids in order) into the header. Returns the node count. */
static int cover_units(reproducible *r, int64_t used, int64_t *head)
{
    nni_tree_sum_start(&r->cover);
    for (int64_t j = 0; j < used; j++)
        nni_tree_sum_push(&r->cover, (nni_tree_node){.first = r->unit_id[j]}, NULL);
    for (int k = 0; k < r->cover.depth; k++) {
        head[HEAD_FIXED + 2 * k] = r->cover.node[k].first;
        head[HEAD_FIXED + 2 * k + 1] = r->cover.node[k].level;
    }
    return r->cover.depth;
}

/* The header of this rank's step: its cover, scalars, and units' losses. */
static void write_head(nn_trainer *t, int64_t used, int64_t *head)
{
    reproducible *r = &t->repro;
    head[HEAD_NODES] = cover_units(r, used, head);
    head[HEAD_UNITS] = used;
    int64_t correct = 0;
    int64_t *units = head + HEAD_FIXED + 2 * r->max_nodes;
    for (int64_t j = 0; j < used; j++) {
        correct += r->unit_correct[j];
        units[2 * j] = r->unit_id[j];
        memcpy(&units[2 * j + 1], &r->unit_loss[j], sizeof(double));
    }
    head[HEAD_CORRECT] = correct;
    head[HEAD_STOP] = t->opts.stop_flag && *t->opts.stop_flag ? 1 : 0;
}

/* The step's scalars from every rank's header: the loss summed in unit order. */
static void read_heads(nn_trainer *t, const int64_t *const *heads, step_sums *out)
{
    reproducible *r = &t->repro;
    int64_t n = 0, correct = 0, stop = 0;
    for (int q = 0; q < t->comm->size; q++) {
        const int64_t *units = heads[q] + HEAD_FIXED + 2 * r->max_nodes;
        for (int64_t j = 0; j < heads[q][HEAD_UNITS]; j++, n++) {
            r->losses[2 * n] = (double)units[2 * j];
            memcpy(&r->losses[2 * n + 1], &units[2 * j + 1], sizeof(double));
        }
        correct += heads[q][HEAD_CORRECT];
        stop += heads[q][HEAD_STOP];
    }
    qsort(r->losses, (size_t)n, 2 * sizeof(double), compare_losses);
    double loss = 0;
    for (int64_t j = 0; j < n; j++)
        loss += r->losses[2 * j + 1];
    out->loss_sum = loss;
    out->correct = (double)correct;
    out->stop_requested = stop > 0;
}

/* The nodes of the whole sum in unit order: every rank's cover, whose values start at
 * bases[q] (node k at + k x stride); this rank's own in r->nodes. */
static int64_t gather_items(reproducible *r, int rank, int size, const int64_t *const *heads,
                            const float *const *bases, int64_t stride)
{
    int64_t n = 0;
    for (int q = 0; q < size; q++)
        for (int64_t k = 0; k < heads[q][HEAD_NODES]; k++)
            r->items[n++] = (tree_item){
                .node = {.first = heads[q][HEAD_FIXED + 2 * k],
                         .level = (int)heads[q][HEAD_FIXED + 2 * k + 1]},
                .base = q == rank ? r->nodes + k * r->stride : bases[q] + k * stride};
    qsort(r->items, (size_t)n, sizeof *r->items, compare_items);
    return n;
}

/* The summed gradients of [first, end) (every summed tensor's part of it) into slot 0, from
 * the items in unit order. */
static void sum_range(reproducible *r, const nn_model *model, int64_t n_items, int64_t first,
                      int64_t end)
{
    for (int g = 0; g < r->n_groups; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        const int64_t from = p->offset > first ? p->offset : first;
        const int64_t to = p->offset + p->size < end ? p->offset + p->size : end;
        for (int64_t at = from; at < to; at += TREE_CHUNK) {
            r->tree.len = to - at < TREE_CHUNK ? to - at : TREE_CHUNK;
            nni_tree_sum_start(&r->tree);
            for (int64_t i = 0; i < n_items; i++)
                nni_tree_sum_push(&r->tree, r->items[i].node, r->items[i].base + at);
            nni_tree_sum_finish(&r->tree, r->partials + at);
        }
    }
}

/* This rank's cover of its units from their slots into r->nodes, for every summed tensor
 * whose layer did not write its cover itself (nn_pass.unit_nodes). */
static void cover_slots(reproducible *r, const nn_model *model, int64_t used)
{
    for (int g = 0; g < r->n_groups; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        if (r->fused[r->group_param[g]])
            continue;
        for (int64_t at = p->offset; at < p->offset + p->size; at += TREE_CHUNK) {
            const int64_t len = p->offset + p->size - at < TREE_CHUNK
                                    ? p->offset + p->size - at : TREE_CHUNK;
            r->tree.len = len;
            nni_tree_sum_start(&r->tree);
            for (int64_t j = 0; j < used; j++)
                nni_tree_sum_push(&r->tree, (nni_tree_node){.first = r->unit_id[j]},
                                  unit_slot(r, j) + at);
            for (int k = 0; k < r->tree.depth; k++)
                memcpy(r->nodes + k * r->stride + at, r->tree.value[k],
                       (size_t)len * sizeof(float));
        }
    }
}

/* This rank's cover nodes over [first, end) of every summed tensor into dest (node k at
 * + k x stride), streamed: the other ranks' cores read those lines the step before. */
static void publish_nodes(reproducible *r, const nn_model *model, int nodes, int64_t first,
                          int64_t end, float *dest)
{
    for (int g = 0; g < r->n_groups; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        const int64_t from = p->offset > first ? p->offset : first;
        const int64_t to = p->offset + p->size < end ? p->offset + p->size : end;
        for (int k = 0; k < nodes && to > from; k++)
            nni_shm_stream_copy(dest + k * r->stride + from, r->nodes + k * r->stride + from,
                                to - from);
    }
}

/* Through node shared memory: each rank writes its cover of the ranges the others sum
 * (every range but its own when the update is split), then sums its own range from its
 * units and every other rank's cover. One meeting per step. */
static void sum_shared(nn_trainer *t, int64_t used, step_sums *out)
{
    reproducible *r = &t->repro;
    const nn_model *model = t->model;
    const int64_t n = model->n_param_floats;
    const int rank = t->comm->rank, size = t->comm->size;
    int64_t *head = nni_rank_buffers_begin(r->shared);
    write_head(t, used, head);
    cover_slots(r, model, used);
    float *mine = (float *)(head + r->head_words);
    const int nodes = (int)head[HEAD_NODES];
    /* The others read only their own ranges when the update is split. */
    if (!(r->own_first == 0 && r->own_end == n)) {
        publish_nodes(r, model, nodes, 0, r->own_first, mine);
        publish_nodes(r, model, nodes, r->own_end, n, mine);
    } else {
        publish_nodes(r, model, nodes, 0, n, mine);
    }
    const double start = nni_clock_seconds();
    const int64_t *const *buffers = nni_rank_buffers_gather(r->shared);
    r->wait_seconds += nni_clock_seconds() - start;
    const float *bases[size];
    for (int q = 0; q < size; q++)
        bases[q] = (const float *)(buffers[q] + r->head_words);
    const int64_t items = gather_items(r, rank, size, buffers, bases, r->stride);
    sum_range(r, model, items, r->own_first, r->own_end);
    read_heads(t, buffers, out);
    nni_rank_buffers_done(r->shared);
}

/* With MPI: the headers to every rank; each rank's cover, slice q of it to rank q; each sums
 * its slice of the parameters; the slices to every rank. */
static void sum_mpi(nn_trainer *t, int64_t used, step_sums *out)
{
    reproducible *r = &t->repro;
    const nn_model *model = t->model;
    const int64_t n = model->n_param_floats;
    const int rank = t->comm->rank, size = t->comm->size;
    MPI_Comm comm = nni_comm_mpi(t->comm);
    write_head(t, used, r->my_head);
    const int nodes = (int)r->my_head[HEAD_NODES];
    cover_slots(r, model, used);
    const double start = nni_clock_seconds();
    MPI_Allgather(r->my_head, (int)r->head_words, MPI_INT64_T, r->heads, (int)r->head_words,
                  MPI_INT64_T, comm);
    r->wait_seconds += nni_clock_seconds() - start;
    const int64_t *heads[size];
    for (int q = 0; q < size; q++)
        heads[q] = r->heads + q * r->head_words;
    /* Rank q sums [slice(q), slice(q + 1)). */
    int *send_counts = r->counts, *send_displs = send_counts + size;
    int *recv_counts = send_displs + size, *recv_displs = recv_counts + size;
#define SLICE(q) (n * (q) / size)
    int64_t at = 0;
    for (int q = 0; q < size; q++) {
        const int64_t len = SLICE(q + 1) - SLICE(q);
        send_displs[q] = (int)at;
        send_counts[q] = (int)(nodes * len);
        for (int k = 0; k < nodes; k++, at += len)
            memcpy(r->send + at, r->nodes + k * r->stride + SLICE(q),
                   (size_t)len * sizeof(float));
    }
    const int64_t mine = SLICE(rank + 1) - SLICE(rank);
    at = 0;
    const float *bases[size];
    for (int q = 0; q < size; q++) {
        recv_displs[q] = (int)at;
        recv_counts[q] = (int)(heads[q][HEAD_NODES] * mine);
        bases[q] = r->recv + at - SLICE(rank); /* node k of q at + k x mine */
        at += q == rank ? 0 : heads[q][HEAD_NODES] * mine;
        if (q == rank)
            recv_counts[q] = 0;
    }
    send_counts[rank] = 0;
    const double exchange = nni_clock_seconds();
    MPI_Alltoallv(r->send, send_counts, send_displs, MPI_FLOAT, r->recv, recv_counts,
                  recv_displs, MPI_FLOAT, comm);
    r->wait_seconds += nni_clock_seconds() - exchange;
    const int64_t items = gather_items(r, rank, size, heads, bases, mine);
    sum_range(r, model, items, SLICE(rank), SLICE(rank + 1));
    for (int q = 0; q < size; q++) {
        recv_counts[q] = (int)(SLICE(q + 1) - SLICE(q));
        recv_displs[q] = (int)SLICE(q);
    }
#undef SLICE
    const double gather = nni_clock_seconds();
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, r->partials, recv_counts, recv_displs, MPI_FLOAT,
                   comm);
    r->wait_seconds += nni_clock_seconds() - gather;
    read_heads(t, heads, out);
}

/* The units' gradients summed in the tree's order (parallel/unit_tree.h) into slot 0 (the
 * model's gradients), and the step's scalars. */
static void sum_units(nn_trainer *t, int64_t used, step_sums *out)
{
    reproducible *r = &t->repro;
    if (r->mutate && used >= 3) /* last to first: u0 + (u1 + (u2 + ...)) */
        for (int64_t j = used - 2; j >= 0; j--)
            for (int64_t i = 0; i < t->model->n_param_floats; i++) {
                unit_slot(r, j)[i] += unit_slot(r, j + 1)[i];
                unit_slot(r, j + 1)[i] = 0;
            }
    if (r->shared) {
        sum_shared(t, used, out);
    } else if (t->comm->size > 1) {
        sum_mpi(t, used, out);
    } else {
        int64_t head[HEAD_FIXED + 2 * r->max_nodes + 2 * r->slots];
        write_head(t, used, head);
        cover_slots(r, t->model, used);
        const int64_t *heads[1] = {head};
        const int64_t items = gather_items(r, 0, 1, heads, NULL, 0);
        sum_range(r, t->model, items, 0, t->model->n_param_floats);
        read_heads(t, heads, out);
    }
}

nn_status nni_repro_gradients(nn_trainer *t, int epoch, int64_t first_batch, int64_t micro,
                              float scale, step_sums *out)
{
    reproducible *r = &t->repro;
    nn_model *model = t->model;
    int64_t slot = 0, terms = 0;
    out->rows = 0;
    /* Dense layers add up their weight gradients over the units themselves (no slots) when
     * the step's units are this pass's: one micro-batch (and no test mutation of slots). */
    const int layers_sum = micro == 1 && !r->mutate;
    memset(r->fused, 0, (size_t)model->n_params * sizeof *r->fused);
    for (int64_t m = 0; m < micro; m++) {
        int64_t global_rows = 0, units = 0, first_unit = 0, my_units = 0;
        const int64_t rows = nni_sampler_batch(&t->sampler, first_batch + m, t->batch_rows,
                                               &global_rows);
        nni_sampler_units(&t->sampler, first_batch + m, &units, &first_unit, &my_units);
        for (int64_t i = 0; i < rows; i++)
            t->sample_ids[i] = t->train.first + t->batch_rows[i];
        nni_data_fetch(&t->train, t->batch_rows, rows, nn_model_input(model), &t->targets_buf);
        nni_augment_batch(&t->augment, nn_model_input(model), rows, t->sample_ids, t->seed,
                          (uint32_t)epoch);
        /* A rank without rows still runs the pass: synced statistics wait for it. */
        nn_pass pass = {.batch = rows, .training = 1, .seed = t->seed,
                        .epoch = (uint32_t)epoch, .sample_ids = t->sample_ids,
                        .comm = t->comm->size > 1 ? (void *)t->comm : NULL,
                        .unit_rows = r->unit, .unit_slot = slot + 1, .unit_stride = r->stride,
                        .units_total = units, .lengths = nni_batch_steps(&t->targets_buf),
                        .unit_nodes = layers_sum ? r->nodes : NULL, .unit_ids = r->unit_id + slot,
                        .unit_fused = r->fused};
        /* The step's units are numbered in order over its micro-batches. */
        for (int64_t j = 0; j < (rows + r->unit - 1) / r->unit; j++)
            r->unit_id[slot + j] = terms + first_unit + j;
        nn_model_forward(model, &pass);
        unit_losses(t, rows, scale, slot);
        nn_model_backward(model, &pass);
        slot += (rows + r->unit - 1) / r->unit;
        terms += units;
        out->rows += global_rows;
    }
    sum_units(t, slot, out);
    return NN_OK;
}

/* Mean loss and accuracy over rows of ds: blocks of `unit` rows (whole blocks to each
 * rank), each block's sums taken alone, then summed exactly. */
nn_status nni_repro_evaluate(nn_trainer *t, const nn_dataset *ds, const int64_t *rows,
                             int64_t n_rows, double *loss, double *accuracy)
{
    reproducible *r = &t->repro;
    nn_model *model = t->model;
    const int64_t unit = r->unit, blocks = (n_rows + unit - 1) / unit;
    int64_t first_block, my_blocks;
    nn_comm_share(t->comm, blocks, &first_block, &my_blocks);
    const int64_t first = first_block * unit;
    int64_t end = (first_block + my_blocks) * unit;
    end = end < n_rows ? end : n_rows;
    const int64_t per_chunk = t->capacity / unit * unit;
    const int64_t width = nn_model_output_size(model);
    nn_pass pass = {.training = 0, .seed = t->seed, .comm = (void *)t->comm};
    /* Rows: blocks; columns: loss, correct. */
    double *parts = r->eval_parts;
    int64_t block = 0;
    for (int64_t done = first; done < end; done += per_chunk) {
        const int64_t chunk = end - done < per_chunk ? end - done : per_chunk;
        for (int64_t i = 0; i < chunk; i++) {
            t->batch_rows[i] = rows ? rows[done + i] : done + i;
            t->sample_ids[i] = ds->first + t->batch_rows[i];
        }
        nni_data_fetch(ds, t->batch_rows, chunk, nn_model_input(model), &t->targets_buf);
        pass.batch = chunk;
        nn_model_forward(model, &pass);
        const nn_targets *all = &t->targets_buf.view;
        if (t->test_record) /* integer counts: summed over ranks exactly */
            nni_test_record_tally(t->test_record, t->comm->rank, model->output->out, width,
                                  all->labels, t->batch_rows, chunk);
        for (int64_t b = 0; b < chunk; b += unit, block++) {
            const int64_t n = chunk - b < unit ? chunk - b : unit;
            const nn_targets view = {
                .labels = all->labels ? all->labels + b : NULL,
                .values = all->values ? all->values + b * all->width : NULL,
                .width = all->width};
            const float *scores = model->output->out + b * width;
            parts[2 * block] = nn_loss_eval(t->loss, scores, &view, n, 0, NULL);
            parts[2 * block + 1] =
                t->classification
                    ? (double)nni_trainer_count_correct(scores, width, view.labels, n) : 0;
        }
    }
    double maxes[2], factors[2], sums[2];
    int64_t fixed[2];
    const int bad = nni_exact_sum_doubles(t->comm, parts, block, 2, blocks, maxes, factors,
                                          fixed, sums);
    *loss = bad || n_rows == 0 ? NAN : sums[0] / (double)n_rows;
    *accuracy = t->classification && n_rows > 0 ? sums[1] / (double)n_rows : NAN;
    return NN_OK;
}

/* Bucketed, overlapped gradient allreduce (see grad_sync.h): through the node's
 * shared memory when the group's ranks share a node (shared_sum.c); when they are on several
 * nodes, through each node's shared memory and then MPI_Iallreduce among one leader per node
 * (node_group.h); else (train.allreduce: mpi, or no shared memory) one MPI_Iallreduce over
 * every rank. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "grad_sync.h"
#include "model/model_internal.h"
#include "node_group.h"
#include "watchdog.h"
#include "shared_sum.h"
#include "shared_update.h"

/* Open MPI's allreduce bandwidth falls off above 16 MiB messages. */
#define MAX_BUCKET_BYTES ((int64_t)16 << 20)
/* Without train.bucket_mb: about a quarter of the model per bucket, so that the buckets of
 * the last layers start while the first layers are still in backward, and at most 4 MiB
 * (Open MPI's allreduce reaches most of its bandwidth there). */
#define AUTO_BUCKETS_PER_MODEL 4
#define AUTO_MAX_BUCKET_BYTES ((int64_t)4 << 20)

typedef struct bucket {
    int64_t start, end; /* float offsets into grad_data */
} bucket;

struct nni_grad_sync {
    const nn_comm *comm;
    const nn_model *model; /* its parameter table: where each layer's gradients are */
    float *own_grads;      /* the model's own gradient buffer */
    float *grads;          /* where backward writes this rank's gradients and step scalars:
                            * own_grads, or this rank's buffer in the node's mapping */
    int overlap;
    int n_buckets;
    bucket *buckets;      /* buckets[0] covers the end of the buffer */
    MPI_Request *requests; /* one per bucket, contiguous for MPI_Testall */
    int next;             /* first bucket not started */
    int64_t ready_from;   /* gradients at offsets >= ready_from are final */
    int64_t *layer_start; /* lowest gradient offset of each layer (or -1) */
    nni_shared_sum *shared; /* NULL: MPI_Iallreduce */
    nni_node_group nodes;   /* open when the group spans nodes: `shared` is then this node's */
    nni_shared_update *update; /* NULL: every rank updates every parameter */
    char update_why[128]; /* why the update is not shared, with node shared memory */
    int node_memory;      /* the update may be shared though the sums go through MPI */
    char transport[160];
    nni_grad_sync_stats stats;
};

/* Lowest gradient offset of each layer's trained parameters (-1: none). */
static void find_layer_starts(const nn_model *model, int64_t *layer_start)
{
    for (int i = 0; i < model->n_layers; i++) {
        const nn_layer *layer = model->layers[i];
        int64_t lowest = -1;
        for (int k = 0; k < layer->n_params; k++) {
            const nn_param *p = &model->params[layer->param_ids[k]];
            if (!(p->flags & NN_PARAM_STATE) && (lowest < 0 || p->offset < lowest))
                lowest = p->offset;
        }
        layer_start[i] = lowest;
    }
}

static int compare_descending(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Bucket boundaries, from the end of the buffer down (buckets[0] covers the end). A layer's
 * gradients are final together, so buckets hold whole layers: a boundary inside a layer
 * would only hold back the part above it. A bucket closes before the layer that would take
 * it past `target` floats; a layer larger than that is a bucket of its own, cut into pieces
 * of at most MAX_BUCKET_BYTES. Writes the buckets (NULL: only counts) and returns how many. */
static int plan_buckets(const int64_t *starts, int n_starts, int64_t total, int64_t target,
                        bucket *buckets)
{
    const int64_t max_floats = MAX_BUCKET_BYTES / (int64_t)sizeof(float);
    int count = 0;
    int64_t end = total, start = total;
    for (int i = 0; i <= n_starts; i++) {
        const int64_t boundary = i < n_starts ? starts[i] : 0;
        if (boundary >= start)
            continue;
        if (start < end && end - boundary > target) { /* close [start, end) */
            for (int64_t piece_end = end; piece_end > start; piece_end -= max_floats, count++)
                if (buckets)
                    buckets[count] = (bucket){piece_end - max_floats > start
                                                  ? piece_end - max_floats : start, piece_end};
            end = start;
        }
        start = boundary;
    }
    for (int64_t piece_end = end; piece_end > 0; piece_end -= max_floats, count++)
        if (buckets)
            buckets[count] = (bucket){piece_end - max_floats > 0 ? piece_end - max_floats : 0,
                                      piece_end};
    return count;
}

/* The sums of a group on several nodes: within each node through its shared memory, then
 * between the nodes among their leaders. Every rank gets the same answer: when one node
 * cannot have the shared memory, the whole group sums with MPI_Iallreduce. */
static nn_status sum_between_nodes(nni_grad_sync *sync, int64_t total, const int64_t *bounds,
                                   char *why, size_t why_size, nn_error *err)
{
    nn_status st = nni_shared_sum_create(&sync->nodes.node, &sync->nodes.leaders, total,
                                         sync->n_buckets, bounds, &sync->shared, why, why_size,
                                         err);
    int failed = st != NN_OK || !sync->shared;
    nn_comm_max_int(sync->comm, &failed);
    if (!failed)
        return NN_OK;
    if (sync->shared) /* this node has it, another has not */
        snprintf(why, why_size, "shared memory unavailable on another node");
    nni_shared_sum_free(sync->shared);
    sync->shared = NULL;
    nni_node_group_close(&sync->nodes);
    return st;
}

/* Shared memory when asked for (auto): over the group when its ranks share a node, else
 * within each node and then between the nodes. Backward then writes the gradients into this
 * rank's buffer in the mapping. */
static nn_status choose_transport(nni_grad_sync *sync, int64_t total, nni_grad_transport transport,
                                  nn_error *err)
{
    char why[128] = "train.allreduce: mpi";
    if (transport == NN_GRAD_TRANSPORT_AUTO) {
        nn_status st = nni_node_group_open(sync->comm, &sync->nodes, err);
        if (st)
            return st;
        if (sync->nodes.nodes == 1)
            nni_node_group_close(&sync->nodes);
        int64_t *bounds = malloc((size_t)sync->n_buckets * 2 * sizeof *bounds);
        if (!bounds)
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
        for (int b = 0; b < sync->n_buckets; b++) {
            bounds[2 * b] = sync->buckets[b].start;
            bounds[2 * b + 1] = sync->buckets[b].end;
        }
        if (sync->nodes.open)
            st = sum_between_nodes(sync, total, bounds, why, sizeof why, err);
        else
            st = nni_shared_sum_create(sync->comm, NULL, total, sync->n_buckets, bounds,
                                       &sync->shared, why, sizeof why, err);
        free(bounds);
        if (st)
            return st;
    }
    if (!sync->shared) {
        snprintf(sync->transport, sizeof sync->transport, "MPI_Iallreduce (%s)", why);
        return NN_OK;
    }
    sync->grads = nni_shared_sum_buffer(sync->shared);
    int simulated = 0;
    nn_error ignored;
    nni_node_simulated_ranks(&simulated, &ignored); /* checked by nni_node_group_open */
    if (sync->nodes.open)
        snprintf(sync->transport, sizeof sync->transport,
                 "node shared memory within each of %d nodes%s, then MPI_Iallreduce among "
                 "the nodes' first ranks", sync->nodes.nodes,
                 simulated ? " (simulated: NN_TEST_RANKS_PER_NODE)" : "");
    else
        snprintf(sync->transport, sizeof sync->transport, "node shared memory");
    return NN_OK;
}

nn_status nni_grad_sync_create(const nn_comm *comm, const nn_model *model, int64_t bucket_bytes,
                               int overlap, nni_grad_transport transport, double timeout_seconds,
                               nni_grad_sync **out, nn_error *err)
{
    *out = NULL;
    nni_grad_sync *sync = calloc(1, sizeof *sync);
    if (!sync)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    sync->comm = comm;
    sync->model = model;
    sync->own_grads = sync->grads = model->grad_data;
    sync->overlap = overlap;
    nni_watchdog_configure(timeout_seconds);
    /* The per-step scalars after the gradients ride in the last bucket. */
    const int64_t total = model->n_param_floats + NN_GRAD_ROOM;
    if (bucket_bytes <= 0) {
        bucket_bytes = total * (int64_t)sizeof(float) / AUTO_BUCKETS_PER_MODEL;
        if (bucket_bytes > AUTO_MAX_BUCKET_BYTES)
            bucket_bytes = AUTO_MAX_BUCKET_BYTES;
    }
    if (bucket_bytes > MAX_BUCKET_BYTES)
        bucket_bytes = MAX_BUCKET_BYTES;
    const int64_t target = bucket_bytes / (int64_t)sizeof(float) > 0
                               ? bucket_bytes / (int64_t)sizeof(float) : 1;
    sync->layer_start = malloc((size_t)model->n_layers * sizeof *sync->layer_start);
    int64_t *starts = malloc((size_t)(model->n_layers + 1) * sizeof *starts);
    if (!sync->layer_start || !starts) {
        free(starts);
        nni_grad_sync_free(sync);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    find_layer_starts(model, sync->layer_start);
    int n_starts = 0;
    for (int i = 0; i < model->n_layers; i++)
        if (sync->layer_start[i] > 0)
            starts[n_starts++] = sync->layer_start[i];
    qsort(starts, (size_t)n_starts, sizeof *starts, compare_descending);
    sync->n_buckets = plan_buckets(starts, n_starts, total, target, NULL);
    sync->buckets = calloc((size_t)sync->n_buckets, sizeof *sync->buckets);
    sync->requests = calloc((size_t)sync->n_buckets, sizeof *sync->requests);
    if (!sync->buckets || !sync->requests) {
        free(starts);
        nni_grad_sync_free(sync);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    plan_buckets(starts, n_starts, total, target, sync->buckets);
    free(starts);
    *out = sync;
    return comm->size > 1 ? choose_transport(sync, total, transport, err) : NN_OK;
}

int nni_grad_sync_bucket_count(const nni_grad_sync *sync)
{
    return sync->n_buckets;
}

void nni_grad_sync_bucket_range(const nni_grad_sync *sync, int b, int64_t *start, int64_t *end)
{
    *start = sync->buckets[b].start;
    *end = sync->buckets[b].end;
}

const char *nni_grad_sync_transport(const nni_grad_sync *sync)
{
    return sync->transport;
}

/* Offsets where a tensor's trained parameters start: the cuts for updates that read whole
 * tensors. */
static int64_t *tensor_starts(const nn_model *model, int *n_cuts)
{
    int64_t *cuts = malloc((size_t)(model->n_params + 1) * sizeof *cuts);
    *n_cuts = 0;
    for (int k = 0; cuts && k < model->n_params; k++)
        if (!(model->params[k].flags & NN_PARAM_STATE))
            cuts[(*n_cuts)++] = model->params[k].offset;
    return cuts;
}

/* The ranks that share the optimizer update: the group, or on several nodes this node's. */
static const nn_comm *update_group(const nni_grad_sync *sync)
{
    return sync->nodes.open ? &sync->nodes.node : sync->comm;
}

nn_status nni_grad_sync_share_update(nni_grad_sync *sync, int slots, float *const *slot_data,
                                     int whole_tensors, int node_memory, nn_error *err)
{
    snprintf(sync->update_why, sizeof sync->update_why, "not asked for");
    sync->node_memory = node_memory;
    if (!sync->shared && !node_memory)
        return NN_OK;
    /* On several nodes each node splits the update among its own ranks: the mapping is the
     * node's, and every node computes the same updated parameters from the same sums. */
    const nn_comm *comm = update_group(sync);
    if (comm->size == 1) {
        snprintf(sync->update_why, sizeof sync->update_why, "one rank on this node");
        return NN_OK;
    }
    const nn_model *model = sync->model;
    const int64_t floats = model->n_param_floats;
    int n_cuts = 0;
    int64_t *cuts = whole_tensors ? tensor_starts(model, &n_cuts) : NULL;
    if (whole_tensors && !cuts)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st = nni_shared_update_create(comm, floats, slots, cuts, n_cuts,
                                            &sync->update, sync->update_why,
                                            sizeof sync->update_why, err);
    free(cuts);
    if (st || !sync->update)
        return st;
    /* The ranks hold the same values: rank 0 copies them in, then all use them. */
    if (comm->rank == 0)
        for (int k = 0; k < slots; k++)
            memcpy(nni_shared_update_slot(sync->update, k), slot_data[k],
                   (size_t)floats * sizeof(float));
    nn_comm_barrier(comm);
    return NN_OK;
}

nn_status nni_grad_sync_sum_own_range_only(nni_grad_sync *sync, nn_error *err)
{
    /* On several nodes the leader sums every gradient between the nodes, so every rank of
     * the node keeps every sum. */
    if (!sync->update || !sync->shared || sync->nodes.open)
        return NN_OK;
    const int64_t *starts = nni_shared_update_starts(sync->update);
    nn_status st = nni_shared_sum_own_ranges(sync->shared, starts, starts[sync->comm->size],
                                             sync->own_grads, err);
    if (st)
        return st;
    /* Backward writes into the model's own memory; the buffers only carry copies. */
    sync->grads = sync->own_grads;
    return NN_OK;
}

float *nni_grad_sync_gradients(const nni_grad_sync *sync)
{
    return sync->grads;
}

void nni_grad_sync_gather(nni_grad_sync *sync)
{
    if (sync->shared)
        nni_shared_sum_gather(sync->shared);
}

void nni_grad_sync_describe_update(const nni_grad_sync *sync, char *text, size_t size)
{
    const int ranks = update_group(sync)->size;
    if (sync->update)
        snprintf(text, size, "split over the %d ranks%s through node shared memory (each "
                 "updates its 1/%d of the parameters)", ranks,
                 sync->nodes.open ? " of each node" : "", ranks);
    else
        snprintf(text, size, "every rank updates every parameter (%s)",
                 sync->shared || sync->node_memory ? sync->update_why
                                                   : "the gradients are not in shared memory");
}

float *nni_grad_sync_update_slot(const nni_grad_sync *sync, int k)
{
    return sync->update ? nni_shared_update_slot(sync->update, k) : NULL;
}

void nni_grad_sync_update_begin(nni_grad_sync *sync, int64_t *first, int64_t *end)
{
    *first = 0;
    *end = sync->model->n_param_floats;
    if (sync->update)
        nni_shared_update_range(sync->update, first, end);
}

void nni_grad_sync_update_end(nni_grad_sync *sync)
{
    if (!sync->update)
        return;
    const double start = nni_clock_seconds();
    nni_shared_update_exchange(sync->update, sync->model->param_data);
    sync->stats.wait_seconds += nni_clock_seconds() - start;
}

void nni_grad_sync_free(nni_grad_sync *sync)
{
    if (!sync)
        return;
    nni_shared_update_free(sync->update);
    nni_shared_sum_free(sync->shared);
    nni_node_group_close(&sync->nodes);
    free(sync->buckets);
    free(sync->requests);
    free(sync->layer_start);
    free(sync);
}

static void start_next_bucket(nni_grad_sync *sync)
{
    const bucket *b = &sync->buckets[sync->next];
    MPI_Iallreduce(MPI_IN_PLACE, sync->grads + b->start, (int)(b->end - b->start),
                   MPI_FLOAT, MPI_SUM, nni_comm_mpi(sync->comm), &sync->requests[sync->next]);
    sync->next++;
}

void nni_grad_sync_begin(nni_grad_sync *sync, const nni_step_scalars *mine)
{
    /* Before any bucket starts: a bucket being summed must not change. */
    memcpy(sync->grads + sync->model->n_param_floats, mine, sizeof *mine);
    sync->next = 0;
    sync->ready_from = sync->model->n_param_floats;
    if (sync->shared)
        nni_shared_sum_begin(sync->shared);
}

/* Starts every bucket whose layers are all final. */
static void start_ready_buckets(nni_grad_sync *sync)
{
    while (sync->next < sync->n_buckets && sync->buckets[sync->next].start >= sync->ready_from) {
        if (sync->shared)
            nni_shared_sum_publish(sync->shared, sync->next++);
        else
            start_next_bucket(sync);
    }
}

void nni_grad_sync_layer_done(nni_grad_sync *sync, const nn_layer *layer)
{
    if (sync->comm->size == 1 || !sync->overlap)
        return;
    int64_t start = sync->layer_start[layer->id];
    if (start >= 0 && start < sync->ready_from)
        sync->ready_from = start;
    start_ready_buckets(sync);
    /* Between nodes: the node's sums and the leader's MPI_Iallreduce move on as the other
     * ranks of the node catch up, not only when this rank publishes. */
    if (sync->shared && sync->nodes.open)
        nni_shared_sum_progress(sync->shared);
    /* Open MPI progresses nonblocking collectives only inside MPI calls: poke it. */
    if (!sync->shared && sync->next > 0) {
        int flag;
        MPI_Testall(sync->next, sync->requests, &flag, MPI_STATUSES_IGNORE);
    }
}

nn_status nni_grad_sync_finish(nni_grad_sync *sync, nni_step_scalars *summed, nn_error *err)
{
    (void)err;
    if (sync->comm->size > 1) {
        double start;
        if (sync->shared) {
            start = nni_clock_seconds();
            nni_shared_sum_finish(sync->shared);
        } else {
            while (sync->next < sync->n_buckets)
                start_next_bucket(sync);
            start = nni_clock_seconds();
            nni_comm_wait(sync->comm, sync->n_buckets, sync->requests, "gradient allreduce");
        }
        sync->stats.wait_seconds += nni_clock_seconds() - start;
        sync->stats.steps++;
    }
    /* With owned ranges, the sums after the gradients come back in memory of their own. */
    const float *common = sync->shared ? nni_shared_sum_common(sync->shared) : NULL;
    memcpy(summed, common ? common : sync->grads + sync->model->n_param_floats, sizeof *summed);
    return NN_OK;
}

nni_grad_sync_stats nni_grad_sync_get_stats(const nni_grad_sync *sync)
{
    return sync->stats;
}

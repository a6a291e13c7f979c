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
 *     .unit_grads);
 *   - the loss and the correct count are taken per unit;
 *   - the slots, the loss and the count are then summed exactly (parallel/exact_sum.h):
 *     in the wide fixed point (two 64-bit integers per value on a fixed grid, no scale to
 *     agree on: one exchange per step), or, in a step where some unit's value is beyond
 *     its range, with a per-tensor scale agreed by a MAX first; integer sums, one rounding
 *     back. Integer addition does not care in which order MPI or the threads add.
 * Synced batchnorm combines its per-unit statistics the same way; validation and test
 * metrics sum per block of `unit` rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "parallel/exact_shared.h"
#include "parallel/exact_sum.h"
#include "parallel/shm.h"
#include "train/train_internal.h"

/* Units per global batch when train.reproducible_unit is not given: up to 8 ranks each
 * get one with the batch spread over all of them. */
#define DEFAULT_UNITS_PER_BATCH 8
/* Elements of the wide sums taken at a time into private scratch (its hi and lo parts stay
 * in L1) before they go on. */
#define WIDE_CHUNK 1024

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
     * 1, 2, ... (kept for the scaled sums when the wide ones cannot take them). */
    r->stride = (model->n_param_floats + NN_GRAD_ROOM + 15) / 16 * 16;
    for (int k = 0; k < model->n_params; k++)
        r->n_groups += summed_param(&model->params[k]);
    r->partials = aligned_alloc(64, (size_t)((r->slots + 1) * r->stride) * sizeof(float));
    r->fixed = malloc((size_t)(2 * model->n_param_floats + 8) * sizeof *r->fixed);
    r->maxes = malloc((size_t)(r->n_groups + 1) * sizeof *r->maxes);
    r->factors = malloc((size_t)(r->n_groups + 1) * sizeof *r->factors);
    r->group_param = malloc((size_t)(r->n_groups + 1) * sizeof *r->group_param);
    r->chunk = aligned_alloc(64, 2 * WIDE_CHUNK * sizeof *r->chunk);
    r->single_rank = t->comm->size == 1;
    r->unit_loss = malloc((size_t)r->slots * sizeof *r->unit_loss);
    r->unit_correct = malloc((size_t)r->slots * sizeof *r->unit_correct);
    /* Evaluation's blocks: this rank's share of the largest split. */
    int64_t largest = t->n_val > t->test.n ? t->n_val : t->test.n;
    largest = largest > t->n_train ? largest : t->n_train;
    const int64_t blocks = (largest + r->unit - 1) / r->unit;
    r->eval_parts = malloc((size_t)(2 * ((blocks + t->comm->size - 1) / t->comm->size + 1)) *
                           sizeof *r->eval_parts);
    if (!r->partials || !r->chunk || !r->fixed || !r->maxes || !r->factors || !r->group_param ||
        !r->unit_loss || !r->unit_correct || !r->eval_parts)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    memset(r->partials, 0, (size_t)((r->slots + 1) * r->stride) * sizeof(float));
    for (int k = 0, g = 0; k < model->n_params; k++)
        if (summed_param(&model->params[k]))
            r->group_param[g++] = k;
    nni_model_use_grads(model, r->partials);
    r->own_first = 0;
    r->own_end = model->n_param_floats;
    if (t->comm->size > 1 && r->transport == NN_GRAD_TRANSPORT_AUTO) {
        st = nni_exact_shared_create(t->comm, 2 * model->n_param_floats + 8, r->n_groups + 1,
                                     &r->shared, r->why, sizeof r->why, err);
        if (st)
            return st;
    } else {
        snprintf(r->why, sizeof r->why, "%s", t->comm->size > 1 ? "train.allreduce: mpi"
                                                                 : "one rank");
    }
    /* Test hook: the last rank adds two of its units in float before the exact sum, the
     * one change of summation order the reproducibility tests must catch. */
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
    free(r->fixed);
    free(r->chunk);
    free(r->maxes);
    free(r->factors);
    free(r->group_param);
    free(r->unit_loss);
    free(r->unit_correct);
    free(r->eval_parts);
    nni_exact_shared_free(r->shared);
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

/* Largest |value| of each tensor over the used slots (infinity for a non-finite one), and
 * of the units' losses. */
static void local_maxes(reproducible *r, const nn_model *model, int64_t used)
{
    for (int g = 0; g < r->n_groups; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        float top = 0;
        for (int64_t j = 0; j < used; j++) {
            const float m = nni_exact_abs_max(unit_slot(r, j) + p->offset, p->size);
            top = m > top ? m : top;
        }
        r->maxes[g] = top;
    }
    double top = 0;
    for (int64_t j = 0; j < used; j++) {
        const double a = fabs(r->unit_loss[j]);
        top = a > top || a != a ? a : top;
    }
    r->maxes[r->n_groups] = top;
}

/* Values exchanged after the wide sums (2 per gradient): the loss's two parts, the correct
 * count, the stop request and the count of ranks with a value out of the wide range. */
enum { WIDE_LOSS_HI, WIDE_LOSS_LO, WIDE_CORRECT, WIDE_STOP, WIDE_OUT_OF_RANGE, WIDE_SCALARS };

/* Whether this rank's own range of the wide sums stays in its private memory: when the
 * ranks split the update, no other rank reads it. */
static int own_range_private(const reproducible *r, const nn_model *model)
{
    return r->shared && !(r->own_first == 0 && r->own_end == model->n_param_floats);
}

/* The wide sums of tensor p over the used slots into hi and lo (at p's offset); returns the
 * largest |value|. With one rank they go straight back to floats in slot 0; into node shared
 * memory they are streamed, since the lines were read by the other ranks' cores the step
 * before, and ordinary stores would wait on those cores line by line. This rank's own range,
 * when no other rank reads it, goes to its private buffer instead (r->fixed), where it stays
 * in cache for the gather. */
static float add_wide(reproducible *r, const nn_model *model, const nn_param *p, int64_t used,
                      int64_t *hi, int64_t *lo)
{
    const int64_t n = model->n_param_floats;
    if (r->single_rank) {
        float top = 0;
        for (int64_t c = 0; c < p->size; c += WIDE_CHUNK) {
            const int64_t len = p->size - c < WIDE_CHUNK ? p->size - c : WIDE_CHUNK;
            const float m = nni_exact_add_wide(unit_slot(r, 0) + p->offset + c, r->stride, used,
                                               len, r->chunk, r->chunk + WIDE_CHUNK);
            nni_exact_wide_to_floats(r->chunk, r->chunk + WIDE_CHUNK, len,
                                     r->partials + p->offset + c);
            top = m > top || m != m ? m : top;
        }
        return top;
    }
    if (!r->shared)
        return nni_exact_add_wide(unit_slot(r, 0) + p->offset, r->stride, used, p->size,
                                  hi + p->offset, lo + p->offset);
    const int private_own = own_range_private(r, model);
    float top = 0;
    for (int64_t at = p->offset, end = p->offset + p->size; at < end;) {
        int64_t len = end - at < WIDE_CHUNK ? end - at : WIDE_CHUNK;
        const int own = private_own && at >= r->own_first && at < r->own_end;
        if (private_own && !own && at < r->own_first && at + len > r->own_first)
            len = r->own_first - at; /* chunks do not straddle the own range's ends */
        if (own && at + len > r->own_end)
            len = r->own_end - at;
        float m;
        if (own) {
            m = nni_exact_add_wide(unit_slot(r, 0) + at, r->stride, used, len, r->fixed + at,
                                   r->fixed + n + at);
        } else {
            m = nni_exact_add_wide(unit_slot(r, 0) + at, r->stride, used, len, r->chunk,
                                   r->chunk + WIDE_CHUNK);
            nni_shm_stream_copy_int64(hi + at, r->chunk, len);
            nni_shm_stream_copy_int64(lo + at, r->chunk + WIDE_CHUNK, len);
        }
        top = m > top || m != m ? m : top;
        at += len;
    }
    return top;
}

static void wide_scalars(const int64_t *scalars, step_sums *out)
{
    out->loss_sum = nni_exact_wide_value(scalars[WIDE_LOSS_HI], scalars[WIDE_LOSS_LO]);
    out->correct = (double)scalars[WIDE_CORRECT];
    out->stop_requested = scalars[WIDE_STOP] > 0;
}

/* The ranks' wide sums through node shared memory, each rank adding every rank's buffer
 * itself (one meeting; integer sums, so the order of the ranks does not matter) and going
 * straight to floats chunk by chunk. Returns 0 when a value was out of range. */
static int gather_wide(nn_trainer *t, step_sums *out)
{
    reproducible *r = &t->repro;
    const nn_model *model = t->model;
    const int64_t n = model->n_param_floats;
    const int size = t->comm->size;
    const double start = nni_clock_seconds();
    const int64_t *const *buffers = nni_exact_shared_gather(r->shared);
    r->wait_seconds += nni_clock_seconds() - start;
    int64_t scalars[WIDE_SCALARS];
    for (int k = 0; k < WIDE_SCALARS; k++) {
        uint64_t sum = 0;
        for (int q = 0; q < size; q++)
            sum += (uint64_t)buffers[q][2 * n + k];
        scalars[k] = (int64_t)sum;
    }
    if (scalars[WIDE_OUT_OF_RANGE] > 0) {
        nni_exact_shared_done(r->shared);
        return 0;
    }
    uint64_t *restrict sum_hi = (uint64_t *)r->chunk, *restrict sum_lo = sum_hi + WIDE_CHUNK;
    /* This rank's own sums first (from its private buffer, see add_wide), then the others'
     * in rank order: integer sums, any order gives the same bits. */
    const int rank = t->comm->rank, first_other = rank == 0;
    const int64_t *mine = own_range_private(r, model) ? r->fixed : buffers[rank];
    for (int g = 0; g < r->n_groups; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        /* Only the sums this rank reads: its range of the shared update. */
        const int64_t first = p->offset > r->own_first ? p->offset : r->own_first;
        const int64_t end = p->offset + p->size < r->own_end ? p->offset + p->size : r->own_end;
        for (int64_t at = first; at < end; at += WIDE_CHUNK) {
            const int64_t len = end - at < WIDE_CHUNK ? end - at : WIDE_CHUNK;
            const uint64_t *restrict hi0 = (const uint64_t *)mine + at;
            const uint64_t *restrict lo0 = (const uint64_t *)mine + n + at;
            const uint64_t *restrict hi1 = (const uint64_t *)buffers[first_other] + at;
            const uint64_t *restrict lo1 = (const uint64_t *)buffers[first_other] + n + at;
            for (int64_t i = 0; i < len; i++) { /* shared memory: two ranks at least */
                sum_hi[i] = hi0[i] + hi1[i];
                sum_lo[i] = lo0[i] + lo1[i];
            }
            for (int q = first_other + 1; q < size; q++) {
                if (q == rank)
                    continue;
                const uint64_t *restrict hi = (const uint64_t *)buffers[q] + at;
                const uint64_t *restrict lo = (const uint64_t *)buffers[q] + n + at;
                for (int64_t i = 0; i < len; i++) {
                    sum_hi[i] += hi[i];
                    sum_lo[i] += lo[i];
                }
            }
            nni_exact_wide_to_floats(r->chunk, r->chunk + WIDE_CHUNK, len,
                                     r->partials + at);
        }
    }
    nni_exact_shared_done(r->shared);
    wide_scalars(scalars, out);
    return 1;
}

/* The slots' sums in the wide fixed point, which needs no scale: one exchange. Returns 0 when
 * some value was out of its range on some rank (the same on every rank): nothing is written,
 * and the caller sums with shared scales instead. */
static int sum_units_wide(nn_trainer *t, int64_t used, int64_t terms, step_sums *out)
{
    reproducible *r = &t->repro;
    const nn_model *model = t->model;
    const int64_t n = model->n_param_floats;
    const double bound = nni_exact_wide_bound(terms);
    int64_t *hi = r->shared ? nni_exact_shared_begin(r->shared) : r->fixed;
    int64_t *lo = hi + n, *scalars = hi + 2 * n;
    int out_of_range = 0;
    for (int g = 0; g < r->n_groups; g++)
        out_of_range |= !(add_wide(r, model, &model->params[r->group_param[g]], used, hi, lo) <
                           bound);
    uint64_t loss_hi = 0, loss_lo = 0;
    int64_t correct = 0;
    for (int64_t j = 0; j < used; j++) {
        uint64_t h, l;
        out_of_range |= !(fabs(r->unit_loss[j]) < bound);
        nni_exact_wide(r->unit_loss[j], &h, &l);
        loss_hi += h;
        loss_lo += l;
        correct += r->unit_correct[j];
    }
    scalars[WIDE_LOSS_HI] = (int64_t)loss_hi;
    scalars[WIDE_LOSS_LO] = (int64_t)loss_lo;
    scalars[WIDE_CORRECT] = correct;
    scalars[WIDE_STOP] = t->opts.stop_flag && *t->opts.stop_flag ? 1 : 0;
    scalars[WIDE_OUT_OF_RANGE] = out_of_range;
    if (r->shared)
        return gather_wide(t, out);
    const double start = nni_clock_seconds();
    nni_exact_sum(t->comm, hi, 2 * n + WIDE_SCALARS);
    r->wait_seconds += nni_clock_seconds() - start;
    if (scalars[WIDE_OUT_OF_RANGE] > 0)
        return 0;
    for (int g = 0; g < r->n_groups && !r->single_rank; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        nni_exact_wide_to_floats(hi + p->offset, lo + p->offset, p->size,
                                 r->partials + p->offset);
    }
    wide_scalars(scalars, out);
    return 1;
}

/* The slots' sums with a scale per tensor agreed first (a MAX over the ranks): for values
 * out of the wide range. Returns 1 when some gradient or loss is not finite (on every rank
 * alike). */
static int sum_units_scaled(nn_trainer *t, int64_t used, int64_t terms, step_sums *out)
{
    reproducible *r = &t->repro;
    const nn_model *model = t->model;
    local_maxes(r, model, used);
    const double start = nni_clock_seconds();
    int64_t *fixed = r->fixed;
    int bad;
    if (r->shared) {
        fixed = nni_exact_shared_begin(r->shared);
        nni_exact_local_max_ready(r->maxes, r->n_groups + 1);
        nni_exact_shared_max(r->shared, r->maxes);
        bad = nni_exact_factors(r->maxes, r->n_groups + 1, terms, r->factors);
    } else {
        bad = nni_exact_scales(t->comm, r->maxes, r->n_groups + 1, terms, r->factors);
    }
    r->wait_seconds += nni_clock_seconds() - start;
    if (bad)
        return 1;
    const int64_t n = model->n_param_floats;
    for (int g = 0; g < r->n_groups; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        const double factor = r->factors[g];
        nni_exact_add_fixed(unit_slot(r, 0) + p->offset, r->stride, used, p->size, factor,
                            fixed + p->offset);
    }
    int64_t loss = 0, correct = 0;
    for (int64_t j = 0; j < used; j++) {
        loss += nni_exact_fixed(r->unit_loss[j], r->factors[r->n_groups]);
        correct += r->unit_correct[j];
    }
    fixed[n] = loss;
    fixed[n + 1] = correct;
    fixed[n + 2] = t->opts.stop_flag && *t->opts.stop_flag ? 1 : 0;
    const double sum_start = nni_clock_seconds();
    if (r->shared)
        fixed = (int64_t *)nni_exact_shared_sum(r->shared);
    else
        nni_exact_sum(t->comm, fixed, n + 3);
    r->wait_seconds += nni_clock_seconds() - sum_start;
    for (int g = 0; g < r->n_groups; g++) {
        const nn_param *p = &model->params[r->group_param[g]];
        nni_exact_to_floats(fixed + p->offset, p->size, r->factors[g], r->partials + p->offset);
    }
    out->loss_sum = nni_exact_value(fixed[n], r->factors[r->n_groups]);
    out->correct = (double)fixed[n + 1];
    out->stop_requested = fixed[n + 2] > 0;
    return 0;
}

/* The slots' exact sums into slot 0 (the model's gradients), and the step's scalars.
 * Returns 1 when some gradient or loss is not finite (on every rank alike). */
static int sum_units(nn_trainer *t, int64_t used, int64_t terms, step_sums *out)
{
    reproducible *r = &t->repro;
    if (r->mutate && used >= 2) {
        for (int64_t i = 0; i < t->model->n_param_floats; i++) {
            unit_slot(r, 0)[i] += unit_slot(r, 1)[i];
            unit_slot(r, 1)[i] = 0;
        }
    }
    if (sum_units_wide(t, used, terms, out))
        return 0;
    r->scaled_steps++;
    return sum_units_scaled(t, used, terms, out);
}

nn_status nni_repro_gradients(nn_trainer *t, int epoch, int64_t first_batch, int64_t micro,
                              float scale, step_sums *out)
{
    reproducible *r = &t->repro;
    nn_model *model = t->model;
    int64_t slot = 0, terms = 0;
    out->rows = 0;
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
                        .units_total = units, .lengths = nni_batch_steps(&t->targets_buf)};
        nn_model_forward(model, &pass);
        unit_losses(t, rows, scale, slot);
        nn_model_backward(model, &pass);
        slot += (rows + r->unit - 1) / r->unit;
        terms += units;
        out->rows += global_rows;
    }
    if (sum_units(t, slot, terms, out)) {
        out->loss_sum = NAN;
        out->stop_requested = 0;
    }
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

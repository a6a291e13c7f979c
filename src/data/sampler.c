/* Batch sampling (see include/nn/data.h). */
#include <stdlib.h>

#include "core/rng.h"
#include "data/sampler.h"
#include "nn/data.h"

static void share(int64_t total, int rank, int size, int64_t *first, int64_t *count)
{
    int64_t base = total / size, extra = total % size;
    *count = base + (rank < extra ? 1 : 0);
    *first = rank * base + (rank < extra ? rank : extra);
}

nn_status nni_sampler_init(nni_sampler *s, nni_sampling mode, const int64_t *rows, int64_t n_rows,
                           int64_t n_total, int64_t global_batch, int rank, int size,
                           uint64_t seed, nn_error *err)
{
    s->mode = mode;
    s->rows = rows;
    s->n_rows = n_rows;
    s->n_total = n_total;
    s->global_batch = global_batch;
    s->batches = (n_total + global_batch - 1) / global_batch;
    s->rank = rank;
    s->size = size;
    s->seed = seed;
    s->chunks = NULL;
    s->perm = malloc((size_t)(n_rows ? n_rows : 1) * sizeof *s->perm);
    if (!s->perm)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (mode == NNI_SAMPLING_SHARD && n_rows == 0)
        return nn_fail(err, NN_ERR_DATA, "rank %d: its shard of the training data is empty "
                       "(more ranks than rows?)", rank);
    return NN_OK;
}

void nni_sampler_free(nni_sampler *s)
{
    free(s->perm);
    s->perm = NULL;
}

void nni_sampler_epoch(nni_sampler *s, int epoch)
{
    if (s->chunks && s->mode == NNI_SAMPLING_GLOBAL) {
        nni_chunk_shuffle_epoch(s->chunks, s->seed, epoch, s->perm);
        return;
    }
    /* Shards shuffle independently: each rank's stream gets its own seed. */
    uint64_t seed = s->mode == NNI_SAMPLING_SHARD
                        ? s->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(s->rank + 1))
                        : s->seed;
    nni_rng_permutation(seed, NNI_RNG_SHUFFLE, (uint32_t)epoch, s->perm, s->n_rows);
}

int64_t nni_sampler_batch(const nni_sampler *s, int64_t b, int64_t *local_rows,
                          int64_t *global_rows)
{
    int64_t start = b * s->global_batch;
    int64_t rows = s->n_total - start < s->global_batch ? s->n_total - start : s->global_batch;
    int64_t first, count;
    share(rows, s->rank, s->size, &first, &count);
    if (s->unit > 0 && s->mode == NNI_SAMPLING_GLOBAL) {
        int64_t units, first_unit, unit_count;
        nni_sampler_units(s, b, &units, &first_unit, &unit_count);
        first = first_unit * s->unit;
        const int64_t end = (first_unit + unit_count) * s->unit;
        count = (end < rows ? end : rows) - first;
        count = count > 0 ? count : 0;
    }
    *global_rows = rows;
    if (s->mode == NNI_SAMPLING_GLOBAL) {
        for (int64_t i = 0; i < count; i++)
            local_rows[i] = s->rows[s->perm[start + first + i]];
    } else {
        /* This rank's share of every batch comes from its own shard, cycled. */
        int64_t stride, unused;
        share(s->global_batch, s->rank, s->size, &unused, &stride);
        int64_t local_start = b * stride;
        for (int64_t i = 0; i < count; i++)
            local_rows[i] = s->rows[s->perm[(local_start + i) % s->n_rows]];
    }
    return count;
}

void nni_sampler_units(const nni_sampler *s, int64_t b, int64_t *units, int64_t *first,
                       int64_t *count)
{
    const int64_t start = b * s->global_batch;
    const int64_t rows = s->n_total - start < s->global_batch ? s->n_total - start
                                                              : s->global_batch;
    *units = (rows + s->unit - 1) / s->unit;
    share(*units, s->rank, s->size, first, count);
}

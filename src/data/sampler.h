/* Which rows make each global batch, on every rank (src/data/sampler.c). */
#ifndef NNI_DATA_SAMPLER_H
#define NNI_DATA_SAMPLER_H

#include <stdint.h>

#include "data/chunk_shuffle.h"
#include "nn/error.h"

/* Batch sampling. `global`: every rank draws the same permutation of the whole training set
 * per epoch, global batch b is perm[bB, (b+1)B) and each rank takes its contiguous share, so
 * the trained model does not depend on the number of ranks. `shard`: each rank holds only
 * its own contiguous part of the file and shuffles it alone (for data larger than one node's
 * memory); every rank contributes its share of each global batch, cycling its shard. */
typedef enum nni_sampling { NNI_SAMPLING_GLOBAL, NNI_SAMPLING_SHARD } nni_sampling;

typedef struct nni_sampler {
    nni_sampling mode;
    const int64_t *rows;     /* candidate rows (indices into the local dataset) */
    int64_t n_rows;          /* local candidates (all of them in global mode) */
    int64_t n_total;         /* rows over all ranks */
    int64_t global_batch;
    int64_t batches;         /* per epoch */
    int rank, size;
    uint64_t seed;
    int64_t *perm;           /* n_rows */
    int64_t unit;            /* > 0 (global mode): ranks take whole units of this many rows
                              * of each batch (train.reproducible: bitwise) */
    nni_chunk_shuffle *chunks; /* data.shuffle: chunks (global mode), else NULL: rows */
} nni_sampler;

/* n_total: rows over all ranks (== n_rows in global mode). */
nn_status nni_sampler_init(nni_sampler *s, nni_sampling mode, const int64_t *rows, int64_t n_rows,
                           int64_t n_total, int64_t global_batch, int rank, int size,
                           uint64_t seed, nn_error *err);
void nni_sampler_free(nni_sampler *s);
void nni_sampler_epoch(nni_sampler *s, int epoch);
/* This rank's rows of global batch b into local_rows (capacity: ceil(B / size), or with
 * units ceil(ceil(B / unit) / size) units); returns
 * their count; *global_rows = rows of the whole global batch. */
int64_t nni_sampler_batch(const nni_sampler *s, int64_t b, int64_t *local_rows,
                          int64_t *global_rows);
/* With s->unit: the units of global batch b (the last may be short), and the first of this
 * rank's (its share of them, split as evenly as possible). */
void nni_sampler_units(const nni_sampler *s, int64_t b, int64_t *units, int64_t *first,
                       int64_t *count);

#endif

/* `data.shuffle: chunks`: an epoch's order of the training rows drawn chunk by chunk, for
 * data streamed from files whose rows cannot be visited in random order at speed. The chunks
 * (runs of `data.shuffle_chunk_rows` file rows, by default the file's HDF5 chunk rows) come
 * in a random order each epoch, and the rows of each window of `data.shuffle_window`
 * consecutive chunks of that order are shuffled among themselves: a batch then reads a few
 * chunks instead of one row in each of ~batch chunks. Drawn from the seed and the epoch
 * alone, on every rank alike, so the result does not depend on the number of ranks. */
#ifndef NNI_DATA_CHUNK_SHUFFLE_H
#define NNI_DATA_CHUNK_SHUFFLE_H

#include <stdint.h>

#include "data/file_list.h"
#include "nn/config.h"
#include "nn/data.h"
#include "nn/error.h"

typedef struct nni_chunk_shuffle {
    int enabled;          /* data.shuffle: chunks */
    int64_t chunk_rows;   /* file rows per chunk */
    int64_t window;       /* chunks whose rows are mixed */
    int64_t n_groups;     /* runs of the training rows that lie in one chunk */
    int64_t *group_start; /* n_groups + 1 positions into the training rows */
    int64_t *group_order; /* this epoch's order of the groups */
} nni_chunk_shuffle;

/* Reads data.shuffle, data.shuffle_chunk_rows and data.shuffle_window; the chunk rows
 * default to those of /split/x in the first file (an unchunked file needs them given). */
nn_status nni_chunk_shuffle_read(const nn_cfg *data, const nni_file_list *files,
                                 const char *split, const nn_dataset_source *src,
                                 nni_chunk_shuffle *cs, nn_error *err);
/* The groups of the training rows rows[0..n) (indices into a dataset whose row 0 is file row
 * `first`, ascending as loaded). */
nn_status nni_chunk_shuffle_plan(nni_chunk_shuffle *cs, const int64_t *rows, int64_t n,
                                 int64_t first, nn_error *err);
/* perm[0..n) for the epoch: positions into the training rows. */
void nni_chunk_shuffle_epoch(nni_chunk_shuffle *cs, uint64_t seed, int epoch, int64_t *perm);
void nni_chunk_shuffle_free(nni_chunk_shuffle *cs);

#endif

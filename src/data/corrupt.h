/* Deliberate corruption of a dataset for studying what networks learn (`data.label_noise`,
 * `data.shuffle_pixels`): random labels and shuffled pixels as in Zhang et al., "Understanding
 * deep learning requires rethinking generalization" (ICLR 2017). Every draw is keyed by the
 * seed and the sample's row in the file, so the corrupted data are the same whichever rank
 * holds a row and however the rows are sharded. */
#ifndef NNI_DATA_CORRUPT_H
#define NNI_DATA_CORRUPT_H

#include <stdint.h>

#include "nn/data.h"
#include "nn/error.h"

typedef enum nni_pixel_shuffle {
    NNI_PIXELS_KEPT = 0,
    NNI_PIXELS_FIXED = 1,  /* one permutation of the features for every sample of every split */
    NNI_PIXELS_RANDOM = 2, /* a permutation of its own for each sample */
} nni_pixel_shuffle;

/* Redraws the label of each listed row (indices into ds) with probability p, uniformly over
 * the ds->num_classes classes (so a redrawn label equals the old one 1 time in K, and p = 1
 * gives labels independent of the inputs). Rows not listed (validation rows carved from the
 * same split) keep theirs. *redrawn counts the rows whose label was drawn anew. */
nn_status nni_label_noise(nn_dataset *ds, const int64_t *rows, int64_t n_rows, double p,
                          uint64_t seed, int64_t *redrawn, nn_error *err);

/* The permutation data.shuffle_pixels applies to one row, for rows held in memory
 * (nni_shuffle_pixels) and rows streamed from the file batch by batch (stream.c) alike. */
typedef struct nni_pixel_shuffler {
    nni_pixel_shuffle mode;
    uint64_t seed;
    uint32_t split_key;
    int64_t sample_size;
    int64_t *perm;  /* the fixed permutation, or the current row's */
    void *scratch;  /* one row */
} nni_pixel_shuffler;

nn_status nni_pixel_shuffler_init(nni_pixel_shuffler *p, nni_pixel_shuffle mode, uint64_t seed,
                                  const char *split, int64_t sample_size, nn_error *err);
/* Permutes one row's values in place; file_row is the row's place in the split's file(s). */
void nni_pixel_shuffler_apply(nni_pixel_shuffler *p, void *row, int is_uint8, int64_t file_row);
void nni_pixel_shuffler_free(nni_pixel_shuffler *p);

/* Permutes the features of every sample held in ds. With NNI_PIXELS_RANDOM each row's
 * permutation is keyed by the split's name and the row's place in the file. */
nn_status nni_shuffle_pixels(nn_dataset *ds, nni_pixel_shuffle mode, uint64_t seed,
                             nn_error *err);

#endif

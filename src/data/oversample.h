/* data.oversample: more training rows for the rare classes of a class-imbalanced table
 * (src/data/oversample.c). */
#ifndef NNI_DATA_OVERSAMPLE_H
#define NNI_DATA_OVERSAMPLE_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/data.h"

typedef enum nni_oversample_method {
    NNI_OVERSAMPLE_NONE,
    NNI_OVERSAMPLE_RANDOM, /* repeats rows of the class drawn at random */
    NNI_OVERSAMPLE_SMOTE,  /* new rows between a row and one of its k nearest in the class */
} nni_oversample_method;

typedef struct nni_oversample {
    nni_oversample_method method;
    int64_t k;    /* smote: neighbours a new row may lie towards */
    double ratio; /* every class is brought up to ratio x the largest class's rows */
} nni_oversample;

/* data.oversample: {method: smote|random, k: 5, ratio: 1.0} (absent: none). */
nn_status nni_oversample_read(const nn_cfg *data, nni_oversample *o, nn_error *err);

/* Adds rows for the classes of the training rows (*rows, *n_rows of ds) that have fewer than
 * ratio x the largest class's: random repeats another index of the class, smote appends a
 * synthetic sample to ds (its x and label). *rows is replaced by the old rows followed by the
 * added ones. Every draw is keyed by the seed, the class and the added row's number, so every
 * rank holding the same rows adds the same. Validation rows are not in *rows and never serve
 * as a neighbour. *added: rows added. */
nn_status nni_oversample_apply(const nni_oversample *o, nn_dataset *ds, int64_t **rows,
                               int64_t *n_rows, uint64_t seed, int64_t *added, nn_error *err);

#endif

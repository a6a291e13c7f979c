/* The validation split carved from train (src/data/split.c). */
#ifndef NNI_DATA_SPLIT_H
#define NNI_DATA_SPLIT_H

#include <stdint.h>

#include "nn/data.h"

/* Validation split carved from train: stratified by label (for label targets; plain random
 * for value targets), fixed by the seed. Writes the row indices of each part in ascending
 * order into malloc'ed arrays. fraction in (0, 1). */
nn_status nni_split_stratified(const nn_dataset *train, double fraction, uint64_t seed,
                               int64_t **train_rows, int64_t *n_train, int64_t **val_rows,
                               int64_t *n_val, nn_error *err);

#endif

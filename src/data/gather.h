/* Copying dataset rows into a batch, for the training step and evaluation
 * (src/data/dataset.c). */
#ifndef NNI_DATA_GATHER_H
#define NNI_DATA_GATHER_H

#include <stdint.h>

#include "nn/data.h"

/* Gather rows idx[0..count) (indices local to ds) as float32 into out (count x sample_size),
 * applying scale/offset. Hot path: no allocation and no bounds checks; every idx must be in
 * [0, ds->n). */
void nni_dataset_gather_x(const nn_dataset *ds, const int64_t *idx, int64_t count, float *out);

#endif

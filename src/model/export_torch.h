/* A built model as a self-contained PyTorch module definition (`nntrain export`). */
#ifndef NN_MODEL_EXPORT_TORCH_H
#define NN_MODEL_EXPORT_TORCH_H

#include <stdio.h>

#include "nn/error.h"
#include "nn/model.h"

/* Writes Python that defines `Model` (the DAG, each layer the torch module its ops name) and
 * `load(path=checkpoint)`, which reads the weights from the checkpoint with h5py. Fails
 * (NN_ERR_CONFIG) naming the first layer whose type has no PyTorch form. */
nn_status nni_model_write_torch(const nn_model *model, const char *checkpoint, FILE *out,
                                nn_error *err);

#endif

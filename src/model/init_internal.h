/* Initializers inside nntrain (src/model/init.c). */
#ifndef NNI_MODEL_INIT_INTERNAL_H
#define NNI_MODEL_INIT_INTERNAL_H

#include <stdint.h>

#include "config/catalogue.h"
#include "nn/init.h"

/* Parse an initializer from a config node (scalar name or map with `type`). */
nn_status nni_init_parse(const nn_cfg *node, nn_init *out, nn_error *err);
/* Named initializer with its default parameters; NN_ERR_CONFIG if the name is unknown. */
nn_status nni_init_named(const char *name, nn_init *out, nn_error *err);

/* Fill w (shape dims[0..ndim), PyTorch layout) given fan_in/fan_out. Deterministic in
 * (seed, layer_id, param_index). */
nn_status nni_init_fill(const nn_init *init, float *w, int ndim, const int64_t *dims,
                        int64_t fan_in, int64_t fan_out, uint64_t seed, uint32_t layer_id,
                        uint32_t param_index, nn_error *err);

/* Every initializer's help row, in table order (for --help-catalogue). */
void nni_init_catalogue(nni_catalogue_emit emit, void *ctx);

#endif

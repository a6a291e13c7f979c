/* Parameter initializers, chosen by name in the config (a model-wide `model.init` default
 * and a per-layer `init:`), e.g. `init: he_normal`, `init: {type: uniform, a: -0.1, b: 0.1}`,
 * `init: {type: file, path: pca.h5, dataset: /components}`. */
#ifndef NN_INIT_H
#define NN_INIT_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"

typedef struct nn_init {
    int kind;          /* index into the initializer table (src/model/init.c) */
    double a, b;       /* parameters: constant value; normal std; uniform bounds; gain */
    char path[256];    /* kind "file": HDF5 file and dataset */
    char dataset[128];
} nn_init;

/* Parse an initializer from a config node (scalar name or map with `type`). */
nn_status nn_init_parse(const nn_cfg *node, nn_init *out, nn_error *err);
/* Named initializer with its default parameters; NN_ERR_CONFIG if the name is unknown. */
nn_status nn_init_named(const char *name, nn_init *out, nn_error *err);
const char *nn_init_name(const nn_init *init);

/* Fill w (shape dims[0..ndim), PyTorch layout) given fan_in/fan_out. Deterministic in
 * (seed, layer_id, param_index). */
nn_status nn_init_fill(const nn_init *init, float *w, int ndim, const int64_t *dims,
                       int64_t fan_in, int64_t fan_out, uint64_t seed, uint32_t layer_id,
                       uint32_t param_index, nn_error *err);

#endif

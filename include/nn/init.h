/* Parameter initializers, chosen by name in the config (a model-wide `model.init` default
 * and a per-layer `init:`), e.g. `init: he_normal`, `init: {type: uniform, a: -0.1, b: 0.1}`,
 * `init: {type: file, path: pca.h5, dataset: /components}`. The model's parameter table
 * records each parameter's initializer; reading and applying them is internal
 * (src/model/init_internal.h). */
#ifndef NN_INIT_H
#define NN_INIT_H

typedef struct nn_init {
    int kind;          /* index into the initializer table (src/model/init.c) */
    double a, b;       /* parameters: constant value; normal std; uniform bounds; gain */
    char path[256];    /* kind "file": HDF5 file and dataset */
    char dataset[128];
} nn_init;

#endif

/* A layer is a node of the model DAG: its name, inputs, output shape and planned buffers, and
 * the parameters it declared. What a forward or backward pass is told travels in nn_pass.
 * How a layer type is written (its ops table, declaring parameters, the catalogue of types)
 * is internal: src/layers/layer_internal.h. */
#ifndef NN_LAYER_H
#define NN_LAYER_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"
#include "nn/init.h"
#include "nn/tensor.h"

#define NN_MAX_INPUTS 8
#define NN_MAX_LAYER_PARAMS 8 /* a bidirectional lstm has 8 */
#define NN_NAME_MAX 64

typedef struct nn_model nn_model;
typedef struct nn_layer nn_layer;

/* What one forward/backward call is about. */
typedef struct nn_pass {
    int64_t batch;              /* rows in this call (<= the planned capacity) */
    int training;               /* dropout, batch statistics, random slopes on */
    int grad_accumulate;        /* add parameter gradients instead of overwriting */
    uint64_t seed;
    uint32_t epoch;
    const int64_t *sample_ids;  /* global sample index of each row, keys per-sample noise */
    void *comm;                 /* group communicator for synchronized statistics (or NULL) */
    /* Valid steps of each row's input sequence (padded to the model input's T), or NULL:
     * all T. Recurrent layers over the input's steps skip the padded ones. */
    const int32_t *lengths;
    /* train.reproducible: bitwise (0 otherwise): the rows are cut into units of unit_rows
     * samples (the last may be shorter); a layer's parameter gradient of unit j goes to its
     * usual place + (unit_slot + j) * unit_stride floats, summed over the unit's rows only,
     * and batch statistics are combined exactly over units_total units of the group. */
    int64_t unit_rows, unit_slot, unit_stride, units_total;
    /* Optional, with unit_rows: a layer may instead add up its weight gradients over this
     * pass's units itself, in the unit tree's order (src/parallel/unit_tree.h; unit_ids[j]
     * is unit j's number there), writing the nodes of their cover to unit_nodes + the usual
     * offset + k * unit_stride, and setting unit_fused[its parameter's index]. */
    float *unit_nodes;
    const int64_t *unit_ids;
    uint8_t *unit_fused;
} nn_pass;

/* Parameter flags. */
enum {
    NN_PARAM_NO_DECAY = 1 << 0, /* biases and normalization scales: exempt from weight decay */
    NN_PARAM_STATE = 1 << 1,    /* not trained (running statistics): lives in /state */
    NN_PARAM_NORM = 1 << 2,     /* belongs to a normalization layer ("train only batchnorm") */
};

typedef struct nn_layer_ops nn_layer_ops; /* the layer type (src/layers/layer_internal.h) */

struct nn_layer {
    const nn_layer_ops *ops;
    char name[NN_NAME_MAX];
    int id;                          /* position in topological order */
    nn_model *model;
    const nn_cfg *cfg;               /* the layer's config node (NULL for implicit layers) */

    int n_inputs;
    nn_layer *inputs[NN_MAX_INPUTS];
    int input_accumulate[NN_MAX_INPUTS];

    nn_shape out_shape;
    float *out;                      /* capacity x size(out_shape) */
    float *dout;                     /* same, or NULL when no gradient flows here */

    int n_params;
    int param_ids[NN_MAX_LAYER_PARAMS]; /* indices into the model's parameter table */
    int trainable;
    int64_t workspace_floats;        /* scratch this layer needs (shared by all layers) */
    nn_init weight_init, bias_init;  /* resolved defaults for this layer's parameters */
    int fused;                       /* computed by its input layer (fuse_activation) */
    void *priv;
};

#endif

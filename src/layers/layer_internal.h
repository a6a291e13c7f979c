/* Writing a layer type: its ops table and what it may call while the model is built and run.
 *
 * Life cycle: the model builder creates the node, sets its inputs, and calls ops->build,
 * which reads the layer's config, checks the input shapes, sets out_shape and declares its
 * parameters (nni_layer_add_param) and scratch needs. The builder then lays out all memory at
 * once and forward/backward run on planned buffers only: nothing allocates during a step.
 *
 * Gradients: backward receives dout (gradient of the loss w.r.t. `out`) and must
 *  - write parameter gradients (overwrite when pass->grad_accumulate is 0, add when 1),
 *  - for every input i with inputs[i]->dout != NULL, write d input into inputs[i]->dout,
 *    adding to it when input_accumulate[i] is set (the input feeds several layers).
 *
 * A new layer type is one file defining its ops plus one row in src/layers/registry.c. */
#ifndef NNI_LAYERS_LAYER_INTERNAL_H
#define NNI_LAYERS_LAYER_INTERNAL_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"
#include "nn/init.h"
#include "nn/layer.h"

struct nn_layer_ops {
    const char *type;
    /* Config keys understood besides the common ones (name, type, inputs, activation,
     * trainable, init, bias_init); NULL-terminated. */
    const char *const *keys;
    /* For --help-catalogue: those keys with their defaults ("units bias=true"), and one line
     * saying what the layer computes (and its PyTorch name where it has one). */
    const char *params;
    const char *help;
    nn_status (*build)(nn_layer *layer, const nn_cfg *cfg, nn_error *err);
    void (*forward)(nn_layer *layer, const nn_pass *pass);
    void (*backward)(nn_layer *layer, const nn_pass *pass);
    /* Forward multiply-adds x2 per sample, for the summary (may be NULL: counted as 0). */
    int64_t (*flops)(const nn_layer *layer);
    void (*destroy)(nn_layer *layer); /* frees priv (may be NULL) */
    /* One-line description of hyperparameters for the summary (may be NULL). */
    void (*describe)(const nn_layer *layer, char *buf, int size);
    /* Offered, at the end of the build, the elementwise activation that is this layer's only
     * consumer (may be NULL). Returns 1 when the layer will compute it from now on, inside its
     * own forward and backward; the model then skips the activation's. */
    int (*fuse_activation)(nn_layer *layer, nn_layer *activation);
    /* For `nntrain export --format torch`: the layer as a PyTorch module, one Python
     * constructor expression over torch.nn (`nn`), torch.nn.functional (`F`) and the helper
     * classes of model/export_torch.c, whose parameters and buffers carry the names this layer
     * declared (NULL: the layer cannot be exported). */
    void (*torch_module)(const nn_layer *layer, char *buf, int size);
    /* 1 when backward honours nn_pass.unit_rows (per-unit parameter gradients, see
     * nn/layer.h); a layer with trained parameters needs it for train.reproducible: bitwise. */
    int unit_grads;
};

/* Declare a parameter at build time. fan_in/fan_out feed the initializer. Returns its slot
 * in layer->param_ids (0, 1, ...). init == NULL uses layer->weight_init. */
int nni_layer_add_param(nn_layer *layer, const char *name, int ndim, const int64_t *dims,
                        int64_t fan_in, int64_t fan_out, const nn_init *init, unsigned flags);
/* Planned memory of parameter slot k (valid after the model is built). */
float *nni_layer_param(const nn_layer *layer, int k);
float *nni_layer_grad(const nn_layer *layer, int k);
int nni_layer_param_frozen(const nn_layer *layer, int k);
float *nni_layer_workspace(const nn_layer *layer);
static inline int64_t nni_layer_in_size(const nn_layer *layer, int i)
{
    return nn_shape_size(layer->inputs[i]->out_shape);
}
static inline int64_t nni_layer_out_size(const nn_layer *layer)
{
    return nn_shape_size(layer->out_shape);
}

#endif

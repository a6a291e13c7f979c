/* flatten: a (channels, height, width) sample as a flat feature vector, in NCHW order (as
 * torch.nn.Flatten). dense flattens its input by itself; this layer is for models that say
 * so explicitly or feed a flat vector to concat/add/batchnorm. */
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"

static const char *const flatten_keys[] = {NULL};

static nn_status flatten_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "flatten layer '%s' takes exactly one input", layer->name);
    layer->out_shape = nn_shape_1d(nni_layer_in_size(layer, 0));
    return NN_OK;
}

static void flatten_forward(nn_layer *layer, const nn_pass *pass)
{
    memcpy(layer->out, layer->inputs[0]->out,
           (size_t)(pass->batch * nni_layer_out_size(layer)) * sizeof *layer->out);
}

static void flatten_backward(nn_layer *layer, const nn_pass *pass)
{
    if (layer->inputs[0]->dout)
        nni_layer_store(layer->inputs[0]->dout, layer->dout,
                        pass->batch * nni_layer_out_size(layer), layer->input_accumulate[0]);
}

static void flatten_torch(const nn_layer *layer, char *buf, int size)
{
    (void)layer;
    snprintf(buf, (size_t)size, "nn.Flatten()");
}

const nn_layer_ops nni_flatten_ops = {
    .type = "flatten",
    .keys = flatten_keys,
    .params = "",
    .help = "(C, H, W) -> (C*H*W)",
    .build = flatten_build,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .torch_module = flatten_torch,
};

/* softmax and log_softmax over the features of each sample (dim 1 of N x F; for N x C x H x W
 * inputs, over all C*H*W values of a sample).
 *
 * Backward: softmax dx = y (dy - sum(dy y)); log_softmax dx = dy - exp(y) sum(dy). */
#include <math.h>

#include "layers/layer_util.h"

static const char *const softmax_keys[] = {NULL};

static nn_status softmax_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "layer '%s' takes exactly one input", layer->name);
    layer->out_shape = layer->inputs[0]->out_shape;
    return NN_OK;
}

static void softmax_rows(const float *x, float *y, int64_t rows, int64_t cols, int log_space)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float max = xr[0];
        for (int64_t c = 1; c < cols; c++)
            max = xr[c] > max ? xr[c] : max;
        double sum = 0;
        for (int64_t c = 0; c < cols; c++)
            sum += expf(xr[c] - max);
        if (log_space) {
            float log_sum = (float)log(sum);
            for (int64_t c = 0; c < cols; c++)
                yr[c] = xr[c] - max - log_sum;
        } else {
            float inv = (float)(1.0 / sum);
            for (int64_t c = 0; c < cols; c++)
                yr[c] = expf(xr[c] - max) * inv;
        }
    }
}

static void softmax_forward(nn_layer *layer, const nn_pass *pass)
{
    softmax_rows(layer->inputs[0]->out, layer->out, pass->batch, nni_layer_out_size(layer), 0);
}

static void log_softmax_forward(nn_layer *layer, const nn_pass *pass)
{
    softmax_rows(layer->inputs[0]->out, layer->out, pass->batch, nni_layer_out_size(layer), 1);
}

static void softmax_backward_rows(nn_layer *layer, const nn_pass *pass, int log_space)
{
    float *dx = layer->inputs[0]->dout;
    if (!dx)
        return;
    const int64_t cols = nni_layer_out_size(layer);
    const int accumulate = layer->input_accumulate[0];
    for (int64_t r = 0; r < pass->batch; r++) {
        const float *y = layer->out + r * cols, *dy = layer->dout + r * cols;
        float *d = dx + r * cols;
        double dot = 0;
        for (int64_t c = 0; c < cols; c++)
            dot += log_space ? dy[c] : dy[c] * y[c];
        for (int64_t c = 0; c < cols; c++) {
            float g = log_space ? dy[c] - expf(y[c]) * (float)dot : y[c] * (dy[c] - (float)dot);
            d[c] = accumulate ? d[c] + g : g;
        }
    }
}

static void softmax_backward(nn_layer *layer, const nn_pass *pass)
{
    softmax_backward_rows(layer, pass, 0);
}

static void log_softmax_backward(nn_layer *layer, const nn_pass *pass)
{
    softmax_backward_rows(layer, pass, 1);
}

static int64_t softmax_flops(const nn_layer *layer)
{
    return 3 * nni_layer_out_size(layer);
}

static void softmax_torch(const nn_layer *layer, char *buf, int size)
{
    snprintf(buf, (size_t)size, "Softmax(log=%s)",
             layer->ops->forward == log_softmax_forward ? "True" : "False");
}

const nn_layer_ops nni_softmax_ops = {
    .type = "softmax",
    .keys = softmax_keys,
    .params = "",
    .help = "softmax over each sample's features",
    .build = softmax_build,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .flops = softmax_flops,
    .torch_module = softmax_torch,
};

const nn_layer_ops nni_log_softmax_ops = {
    .type = "log_softmax",
    .keys = softmax_keys,
    .params = "",
    .help = "log of softmax",
    .build = softmax_build,
    .forward = log_softmax_forward,
    .backward = log_softmax_backward,
    .flops = softmax_flops,
    .torch_module = softmax_torch,
};

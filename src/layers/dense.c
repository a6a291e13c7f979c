/* Dense (fully connected) layer: y = x W^T + b, with W[out][in] as in torch.nn.Linear.
 * Inputs of any shape are read as flat feature vectors (an implicit flatten).
 *
 * Gradients: dW = dy^T x, db = column sums of dy, dx = dy W. The GEMM for dx is skipped
 * when the input needs no gradient (the first layer), the largest saving of an MLP step. */
#include <cblas.h>
#include <string.h>

#include "layers/layer_util.h"

typedef struct dense {
    int64_t in, out;
    int has_bias;
} dense;

static const char *const dense_keys[] = {"units", "bias", NULL};

static nn_status dense_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "dense layer '%s' takes exactly one input", layer->name);
    dense *d = calloc(1, sizeof *d);
    if (!d)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = d;
    int64_t units = 0;
    nn_status st = nn_cfg_read_int(cfg, "units", 0, &units, err);
    if (!st)
        st = nn_cfg_read_bool(cfg, "bias", 1, &d->has_bias, err);
    if (st)
        return st;
    if (units <= 0)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "units") ? nn_cfg_get(cfg, "units") : cfg,
                           "dense layer '%s' needs 'units' >= 1", layer->name);
    d->in = nn_layer_in_size(layer, 0);
    d->out = units;
    layer->out_shape = nn_shape_1d(units);
    int64_t wdims[2] = {d->out, d->in};
    nn_layer_add_param(layer, "weight", 2, wdims, d->in, d->out, NULL, 0);
    if (d->has_bias)
        nn_layer_add_param(layer, "bias", 1, &d->out, d->in, d->out, &layer->bias_init,
                           NN_PARAM_NO_DECAY);
    return NN_OK;
}

static void dense_forward(nn_layer *layer, const nn_pass *pass)
{
    const dense *d = layer->priv;
    const int64_t n = pass->batch;
    const float *x = layer->inputs[0]->out;
    const float *w = nn_layer_param(layer, 0);
    float *y = layer->out;
    float beta = 0.0f;
    if (d->has_bias) {
        /* Start y from the bias rows and let the GEMM add x W^T on top (beta = 1). */
        const float *b = nn_layer_param(layer, 1);
        for (int64_t r = 0; r < n; r++)
            memcpy(y + r * d->out, b, (size_t)d->out * sizeof *y);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d->out, (int)d->in, 1.0f,
                x, (int)d->in, w, (int)d->in, beta, y, (int)d->out);
}

static void dense_backward(nn_layer *layer, const nn_pass *pass)
{
    const dense *d = layer->priv;
    const int64_t n = pass->batch;
    const float *x = layer->inputs[0]->out;
    const float *dy = layer->dout;
    const float grad_beta = pass->grad_accumulate ? 1.0f : 0.0f;
    if (!nn_layer_param_frozen(layer, 0))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d->out, (int)d->in, (int)n,
                    1.0f, dy, (int)d->out, x, (int)d->in, grad_beta, nn_layer_grad(layer, 0),
                    (int)d->in);
    if (d->has_bias && !nn_layer_param_frozen(layer, 1))
        nn_column_sums(dy, n, d->out, nn_layer_grad(layer, 1), pass->grad_accumulate);
    float *dx = layer->inputs[0]->dout;
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d->in, (int)d->out,
                    1.0f, dy, (int)d->out, nn_layer_param(layer, 0), (int)d->in,
                    layer->input_accumulate[0] ? 1.0f : 0.0f, dx, (int)d->in);
}

static int64_t dense_flops(const nn_layer *layer)
{
    const dense *d = layer->priv;
    return 2 * d->in * d->out;
}

static void dense_describe(const nn_layer *layer, char *buf, int size)
{
    const dense *d = layer->priv;
    snprintf(buf, (size_t)size, "units=%lld%s", (long long)d->out, d->has_bias ? "" : " no-bias");
}

const nn_layer_ops nn_dense_ops = {
    .type = "dense",
    .keys = dense_keys,
    .build = dense_build,
    .forward = dense_forward,
    .backward = dense_backward,
    .flops = dense_flops,
    .destroy = nn_layer_free_priv,
    .describe = dense_describe,
};

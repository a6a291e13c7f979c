/* Transposed 2-D convolution (torch.nn.ConvTranspose2d, groups 1): the input gradient of a
 * convolution used as a forward pass, the upsampling layer of convolutional decoders.
 * Weights are weight[in][out][kh][kw] and bias[out], PyTorch's layout; the output size is
 *   out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.
 *
 * The layer is the adjoint of a convolution from the output (out channels, H_out, W_out)
 * back to the input (in channels, H, W) whose weight matrix, read as in x (out * kh * kw),
 * is exactly torch's transposed-convolution weight. With that convolution's geometry g
 * (im2col of an output-sized image gives K = out * kh * kw rows and P = H * W columns):
 *   forward   col = W^T x                  (K x P)
 *             y   = col2im(col) + bias
 *   backward  col = im2col(dy)             (K x P)
 *             dx  = W col                  (in x P)
 *             dW += x col^T                (in x K), db += pixel sums of dy
 * output_padding only makes the output larger on the bottom/right: those rows and columns
 * receive no input and hold the bias.
 *
 * Threads: samples are split over nni_threads() threads, each with its own workspace slot
 * (col, weight- and bias-gradient partials), summed in thread order after the loop. */
#include <omp.h>
#include <string.h>

#include "core/gemm.h"
#include "core/im2col.h"
#include "core/threads.h"
#include "layers/conv_util.h"
#include "layers/layer_util.h"

typedef struct conv2d_transpose {
    int64_t in_c, out_c;
    int64_t padding[2], output_padding[2];
    nni_conv_geom geom;     /* of the adjoint convolution: output-sized image -> input */
    int has_bias;
    int64_t in_size, out_size, pixels, out_pixels, col_rows;
    int threads;
    int64_t slot_floats;
} conv2d_transpose;

typedef struct transpose_slot {
    float *col; /* K x P */
    float *dw;  /* in x K */
    float *db;  /* out */
} transpose_slot;

static int64_t round16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

static transpose_slot slot_at(const conv2d_transpose *c, float *workspace, int t)
{
    transpose_slot s;
    s.col = workspace + t * c->slot_floats;
    s.dw = s.col + round16(c->col_rows * c->pixels);
    s.db = s.dw + round16(c->in_c * c->col_rows);
    return s;
}

static const char *const transpose_keys[] = {"filters", "kernel", "stride", "padding",
                                             "output_padding", "dilation", "bias", NULL};

/* `key: p` or `key: [ph, pw]`, each >= 0 (absent: 0). */
static nn_status read_offsets(const nn_layer *layer, const nn_cfg *cfg, const char *key,
                              int64_t out[2], nn_error *err)
{
    out[0] = out[1] = 0;
    const nn_cfg *node = nn_cfg_get(cfg, key);
    if (!node)
        return NN_OK;
    int64_t values[2];
    int count = 2;
    nn_status st = nn_cfg_read_ints(cfg, key, values, &count, err);
    if (st)
        return st;
    if (count < 1 || count > 2)
        return nn_cfg_fail(err, node, "expected one number or [height, width]");
    out[0] = values[0];
    out[1] = count == 2 ? values[1] : values[0];
    if (out[0] < 0 || out[1] < 0)
        return nn_cfg_fail(err, node, "conv2d_transpose layer '%s': '%s' must be >= 0",
                           layer->name, key);
    return NN_OK;
}

static nn_status transpose_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    conv2d_transpose *c = calloc(1, sizeof *c);
    if (!c)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = c;
    nn_status st = nni_conv_single_image_input(layer, cfg, err);
    if (st)
        return st;
    const nn_shape in = layer->inputs[0]->out_shape;
    int64_t filters = 0, kernel[2], stride[2], dilation[2];
    if ((st = nn_cfg_read_int(cfg, "filters", 0, &filters, err)) ||
        (st = nni_conv_read_pair(layer, cfg, "kernel", 0, kernel, err)) ||
        (st = nni_conv_read_pair(layer, cfg, "stride", 1, stride, err)) ||
        (st = nni_conv_read_pair(layer, cfg, "dilation", 1, dilation, err)) ||
        (st = read_offsets(layer, cfg, "padding", c->padding, err)) ||
        (st = read_offsets(layer, cfg, "output_padding", c->output_padding, err)) ||
        (st = nn_cfg_read_bool(cfg, "bias", 1, &c->has_bias, err)))
        return st;
    if (filters < 1)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "filters") ? nn_cfg_get(cfg, "filters") : cfg,
                           "conv2d_transpose layer '%s' needs 'filters' >= 1", layer->name);
    for (int d = 0; d < 2; d++) {
        /* torch's rule: an output row past the last stride step must still be a row some
         * dilated kernel tap could reach. */
        if (c->output_padding[d] >= stride[d] && c->output_padding[d] >= dilation[d])
            return nn_cfg_fail(err, nn_cfg_get(cfg, "output_padding"),
                               "conv2d_transpose layer '%s': output_padding (%lld) must be "
                               "smaller than the stride (%lld) or the dilation (%lld)",
                               layer->name, (long long)c->output_padding[d],
                               (long long)stride[d], (long long)dilation[d]);
    }
    c->in_c = in.dim[0];
    c->out_c = filters;
    int64_t out_hw[2];
    for (int d = 0; d < 2; d++) {
        out_hw[d] = (in.dim[1 + d] - 1) * stride[d] - 2 * c->padding[d] +
                    dilation[d] * (kernel[d] - 1) + c->output_padding[d] + 1;
        if (out_hw[d] < 1)
            return nn_cfg_fail(err, nn_cfg_get(cfg, "padding") ? nn_cfg_get(cfg, "padding") : cfg,
                               "conv2d_transpose layer '%s': padding %lld leaves an empty "
                               "output for the input %s %lld", layer->name,
                               (long long)c->padding[d], d ? "width" : "height",
                               (long long)in.dim[1 + d]);
    }
    nni_conv_geom *g = &c->geom;
    *g = (nni_conv_geom){.channels = c->out_c, .in_h = out_hw[0], .in_w = out_hw[1],
                         .out_h = in.dim[1], .out_w = in.dim[2], .kernel_h = kernel[0],
                         .kernel_w = kernel[1], .stride_h = stride[0], .stride_w = stride[1],
                         .dilation_h = dilation[0], .dilation_w = dilation[1],
                         .pad_top = c->padding[0], .pad_left = c->padding[1]};
    c->pixels = in.dim[1] * in.dim[2];
    c->out_pixels = out_hw[0] * out_hw[1];
    c->col_rows = nni_conv_geom_col_rows(g);
    c->in_size = nn_shape_size(in);
    c->out_size = c->out_c * c->out_pixels;
    layer->out_shape = nn_shape_3d(c->out_c, out_hw[0], out_hw[1]);
    c->threads = nni_threads();
    c->slot_floats = round16(c->col_rows * c->pixels) + round16(c->in_c * c->col_rows) +
                     round16(c->out_c);
    layer->workspace_floats = c->threads * c->slot_floats;

    /* torch's fan-in of a transposed convolution's weight: dims[1] * receptive field. */
    const int64_t receptive = kernel[0] * kernel[1];
    int64_t wdims[4] = {c->in_c, c->out_c, kernel[0], kernel[1]};
    nni_layer_add_param(layer, "weight", 4, wdims, c->out_c * receptive, c->in_c * receptive,
                        NULL, 0);
    if (c->has_bias)
        nni_layer_add_param(layer, "bias", 1, &c->out_c, c->out_c * receptive,
                            c->in_c * receptive, &layer->bias_init, NN_PARAM_NO_DECAY);
    return NN_OK;
}

static void transpose_forward(nn_layer *layer, const nn_pass *pass)
{
    const conv2d_transpose *c = layer->priv;
    const float *w = nni_layer_param(layer, 0);
    const float *bias = c->has_bias ? nni_layer_param(layer, 1) : NULL;
    float *workspace = nni_layer_workspace(layer);
    const float *x_all = layer->inputs[0]->out;
    float *y_all = layer->out;
    const int threads = nni_conv_call_threads(c->threads, pass->batch);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const transpose_slot slot = slot_at(c, workspace, omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t n = 0; n < pass->batch; n++) {
            float *y = y_all + n * c->out_size;
            for (int64_t o = 0; o < c->out_c; o++)
                for (int64_t p = 0; p < c->out_pixels; p++)
                    y[o * c->out_pixels + p] = bias ? bias[o] : 0.0f;
            /* W^T: element (k, i) at w[i * K + k]. */
            nni_gemm_nn(c->col_rows, c->pixels, c->in_c, w, 1, c->col_rows,
                        x_all + n * c->in_size, c->pixels, slot.col, c->pixels, 0);
            nni_col2im(&c->geom, slot.col, y);
        }
    }
}

static void transpose_backward(nn_layer *layer, const nn_pass *pass)
{
    const conv2d_transpose *c = layer->priv;
    const float *w = nni_layer_param(layer, 0);
    const int weight_grad = !nni_layer_param_frozen(layer, 0);
    const int bias_grad = c->has_bias && !nni_layer_param_frozen(layer, 1);
    float *dx_all = layer->inputs[0]->dout;
    const int dx_accumulate = layer->input_accumulate[0];
    float *workspace = nni_layer_workspace(layer);
    const float *x_all = layer->inputs[0]->out;
    const float *dy_all = layer->dout;
    const int threads = nni_conv_call_threads(c->threads, pass->batch);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const transpose_slot slot = slot_at(c, workspace, omp_get_thread_num());
        if (weight_grad)
            memset(slot.dw, 0, (size_t)(c->in_c * c->col_rows) * sizeof *slot.dw);
        if (bias_grad)
            memset(slot.db, 0, (size_t)c->out_c * sizeof *slot.db);
#pragma omp for schedule(static)
        for (int64_t n = 0; n < pass->batch; n++) {
            const float *dy = dy_all + n * c->out_size;
            if (bias_grad)
                for (int64_t o = 0; o < c->out_c; o++)
                    slot.db[o] += nni_layer_sum(dy + o * c->out_pixels, c->out_pixels);
            if (!weight_grad && !dx_all)
                continue;
            nni_im2col(&c->geom, dy, slot.col);
            if (weight_grad)
                nni_gemm_nt(c->in_c, c->col_rows, c->pixels, x_all + n * c->in_size, c->pixels,
                            slot.col, c->pixels, slot.dw, c->col_rows, 1);
            if (dx_all)
                nni_gemm_nn(c->in_c, c->pixels, c->col_rows, w, c->col_rows, 1, slot.col,
                            c->pixels, dx_all + n * c->in_size, c->pixels, dx_accumulate);
        }
    }
    const int acc = pass->grad_accumulate;
    if (weight_grad) {
        float *dw = nni_layer_grad(layer, 0);
        for (int64_t k = 0; k < c->in_c * c->col_rows; k++) {
            float sum = 0.0f;
            for (int t = 0; t < threads; t++)
                sum += slot_at(c, workspace, t).dw[k];
            dw[k] = acc ? dw[k] + sum : sum;
        }
    }
    if (bias_grad) {
        float *db = nni_layer_grad(layer, 1);
        for (int64_t o = 0; o < c->out_c; o++) {
            float sum = 0.0f;
            for (int t = 0; t < threads; t++)
                sum += slot_at(c, workspace, t).db[o];
            db[o] = acc ? db[o] + sum : sum;
        }
    }
}

static int64_t transpose_flops(const nn_layer *layer)
{
    const conv2d_transpose *c = layer->priv;
    return 2 * c->in_c * c->pixels * c->col_rows + (c->has_bias ? c->out_size : 0);
}

static void transpose_describe(const nn_layer *layer, char *buf, int size)
{
    const conv2d_transpose *c = layer->priv;
    const nni_conv_geom *g = &c->geom;
    snprintf(buf, (size_t)size, "%lld %lldx%lld x%lldx%lld pad=%lld,%lld out_pad=%lld,%lld%s%s",
             (long long)c->out_c, (long long)g->kernel_h, (long long)g->kernel_w,
             (long long)g->stride_h, (long long)g->stride_w, (long long)c->padding[0],
             (long long)c->padding[1], (long long)c->output_padding[0],
             (long long)c->output_padding[1],
             g->dilation_h != 1 || g->dilation_w != 1 ? " dilated" : "",
             c->has_bias ? "" : " no-bias");
}

static void transpose_torch(const nn_layer *layer, char *buf, int size)
{
    const conv2d_transpose *c = layer->priv;
    const nni_conv_geom *g = &c->geom;
    snprintf(buf, (size_t)size, "nn.ConvTranspose2d(%lld, %lld, (%lld, %lld), stride=(%lld, "
             "%lld), padding=(%lld, %lld), output_padding=(%lld, %lld), dilation=(%lld, %lld), "
             "bias=%s)", (long long)c->in_c, (long long)c->out_c, (long long)g->kernel_h,
             (long long)g->kernel_w, (long long)g->stride_h, (long long)g->stride_w,
             (long long)c->padding[0], (long long)c->padding[1],
             (long long)c->output_padding[0], (long long)c->output_padding[1],
             (long long)g->dilation_h, (long long)g->dilation_w,
             c->has_bias ? "True" : "False");
}

const nn_layer_ops nni_conv2d_transpose_ops = {
    .type = "conv2d_transpose",
    .keys = transpose_keys,
    .params = "filters kernel (k or [kh, kw]) stride=1 padding=0 output_padding=0 dilation=1 "
              "bias=true",
    .help = "transposed convolution as torch ConvTranspose2d (groups 1), "
            "weight[in][out][kh][kw]; out = (in-1)*stride - 2*padding + dilation*(kernel-1) "
            "+ output_padding + 1",
    .build = transpose_build,
    .forward = transpose_forward,
    .backward = transpose_backward,
    .flops = transpose_flops,
    .destroy = nni_layer_free_priv,
    .describe = transpose_describe,
    .torch_module = transpose_torch,
};

/* 2-D convolution (cross-correlation, as torch.nn.Conv2d) with stride, dilation, groups and
 * padding `same` / `valid` / explicit, on NCHW tensors. Weights are
 * weight[out][in / groups][kh][kw] and bias[out], PyTorch's layout.
 *
 * Forward, per sample and group: col = im2col(x) into the model workspace, then one GEMM
 * y = W * col (out x kernel-rows times kernel-rows x pixels). A 1x1 convolution with stride 1
 * and no padding needs no lowering: x itself is the (in x pixels) matrix.
 * Backward, per sample and group, with col recomputed (the workspace does not survive
 * between forward and backward):
 *   dW += dy * col^T            (GEMM accumulating over the samples of the batch)
 *   db += row sums of dy
 *   dx  = col2im(W^T * dy)      (or W^T * dy straight into dx for the 1x1 case).
 *
 * Padding `same` follows TensorFlow/Keras and torch: out = ceil(in / stride), the total
 * padding split with the odd pixel at the bottom/right (for stride 1 and even kernels too).
 *
 * Gradient checks (tests/unit/test_conv.c) cover stride, dilation, groups, every padding
 * mode, non-square kernels and odd sizes; tests/ref/test_conv_ref.py compares with torch. */
#include <cblas.h>
#include <string.h>
#include <strings.h>

#include "core/im2col.h"
#include "layers/conv_util.h"
#include "layers/layer_util.h"

typedef struct conv2d {
    int64_t in_c, out_c, groups;
    nn_conv_geom geom;       /* of one group: channels = in_c / groups */
    nn_conv_padding padding;
    int has_bias;
    int direct;              /* 1x1, stride 1, no padding: GEMM on x without im2col */
    int64_t in_size, out_size, pixels, col_rows, group_out;
} conv2d;

static const char *const conv2d_keys[] = {"filters", "kernel", "stride", "padding",
                                          "dilation", "groups", "bias", NULL};

static nn_status conv2d_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    conv2d *c = calloc(1, sizeof *c);
    if (!c)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = c;
    nn_status st = nn_conv_single_image_input(layer, cfg, err);
    if (st)
        return st;
    const nn_shape in = layer->inputs[0]->out_shape;
    int64_t filters = 0, kernel[2], stride[2], dilation[2];
    if ((st = nn_cfg_read_int(cfg, "filters", 0, &filters, err)) ||
        (st = nn_conv_read_pair(layer, cfg, "kernel", 0, kernel, err)) ||
        (st = nn_conv_read_pair(layer, cfg, "stride", 1, stride, err)) ||
        (st = nn_conv_read_pair(layer, cfg, "dilation", 1, dilation, err)) ||
        (st = nn_cfg_read_int(cfg, "groups", 1, &c->groups, err)) ||
        (st = nn_cfg_read_bool(cfg, "bias", 1, &c->has_bias, err)))
        return st;
    if (filters < 1)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "filters") ? nn_cfg_get(cfg, "filters") : cfg,
                           "conv2d layer '%s' needs 'filters' >= 1", layer->name);
    c->in_c = in.dim[0];
    c->out_c = filters;
    if (c->groups < 1 || c->in_c % c->groups || c->out_c % c->groups)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "groups") ? nn_cfg_get(cfg, "groups") : cfg,
                           "conv2d layer '%s': groups (%lld) must divide both the input "
                           "channels (%lld) and filters (%lld)", layer->name,
                           (long long)c->groups, (long long)c->in_c, (long long)c->out_c);
    nn_conv_geom *g = &c->geom;
    g->channels = c->in_c / c->groups;
    g->in_h = in.dim[1];
    g->in_w = in.dim[2];
    g->kernel_h = kernel[0];
    g->kernel_w = kernel[1];
    g->stride_h = stride[0];
    g->stride_w = stride[1];
    g->dilation_h = dilation[0];
    g->dilation_w = dilation[1];
    if ((st = nn_conv_read_padding(layer, cfg, g, &c->padding, err)))
        return st;

    c->pixels = g->out_h * g->out_w;
    c->col_rows = nn_conv_geom_col_rows(g);
    c->group_out = c->out_c / c->groups;
    c->in_size = nn_shape_size(in);
    c->out_size = c->out_c * c->pixels;
    c->direct = g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 &&
                g->stride_w == 1 && c->padding.top == 0 && c->padding.bottom == 0 &&
                c->padding.left == 0 && c->padding.right == 0;
    layer->out_shape = nn_shape_3d(c->out_c, g->out_h, g->out_w);
    /* col for the forward and the dW product, dcol for the input gradient. */
    layer->workspace_floats = c->direct ? 0 : 2 * c->col_rows * c->pixels;

    const int64_t receptive = g->kernel_h * g->kernel_w;
    int64_t wdims[4] = {c->out_c, g->channels, g->kernel_h, g->kernel_w};
    nn_layer_add_param(layer, "weight", 4, wdims, g->channels * receptive, c->out_c * receptive,
                       NULL, 0);
    if (c->has_bias)
        nn_layer_add_param(layer, "bias", 1, &c->out_c, g->channels * receptive,
                           c->out_c * receptive, &layer->bias_init, NN_PARAM_NO_DECAY);
    return NN_OK;
}

static void conv2d_forward(nn_layer *layer, const nn_pass *pass)
{
    const conv2d *c = layer->priv;
    const float *w = nn_layer_param(layer, 0);
    const float *bias = c->has_bias ? nn_layer_param(layer, 1) : NULL;
    float *col = nn_layer_workspace(layer);
    const int64_t in_group = c->geom.channels * c->geom.in_h * c->geom.in_w;
    const int64_t out_group = c->group_out * c->pixels;
    for (int64_t n = 0; n < pass->batch; n++) {
        const float *x = layer->inputs[0]->out + n * c->in_size;
        float *y = layer->out + n * c->out_size;
        if (bias)
            for (int64_t o = 0; o < c->out_c; o++)
                for (int64_t p = 0; p < c->pixels; p++)
                    y[o * c->pixels + p] = bias[o];
        for (int64_t grp = 0; grp < c->groups; grp++) {
            const float *xg = x + grp * in_group;
            if (!c->direct) {
                nn_im2col(&c->geom, xg, col);
                xg = col;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->group_out,
                        (int)c->pixels, (int)c->col_rows, 1.0f,
                        w + grp * c->group_out * c->col_rows, (int)c->col_rows, xg,
                        (int)c->pixels, bias ? 1.0f : 0.0f, y + grp * out_group,
                        (int)c->pixels);
        }
    }
}

static void conv2d_backward(nn_layer *layer, const nn_pass *pass)
{
    const conv2d *c = layer->priv;
    const float *w = nn_layer_param(layer, 0);
    const int weight_grad = !nn_layer_param_frozen(layer, 0);
    const int bias_grad = c->has_bias && !nn_layer_param_frozen(layer, 1);
    float *dw = weight_grad ? nn_layer_grad(layer, 0) : NULL;
    float *db = bias_grad ? nn_layer_grad(layer, 1) : NULL;
    float *dx_all = layer->inputs[0]->dout;
    float *col = nn_layer_workspace(layer);
    float *dcol = col + c->col_rows * c->pixels;
    const int64_t in_group = c->geom.channels * c->geom.in_h * c->geom.in_w;
    const int64_t out_group = c->group_out * c->pixels;
    const int64_t wg_size = c->group_out * c->col_rows;

    if (db && !pass->grad_accumulate)
        memset(db, 0, (size_t)c->out_c * sizeof *db);
    for (int64_t n = 0; n < pass->batch; n++) {
        const float *x = layer->inputs[0]->out + n * c->in_size;
        const float *dy = layer->dout + n * c->out_size;
        float *dx = dx_all ? dx_all + n * c->in_size : NULL;
        if (db)
            for (int64_t o = 0; o < c->out_c; o++) {
                const float *row = dy + o * c->pixels;
                float sum = 0.0f;
                for (int64_t p = 0; p < c->pixels; p++)
                    sum += row[p];
                db[o] += sum;
            }
        if (dx && !c->direct && !layer->input_accumulate[0])
            memset(dx, 0, (size_t)c->in_size * sizeof *dx);
        /* The first sample overwrites dW unless gradients accumulate across calls. */
        const float dw_beta = (n == 0 && !pass->grad_accumulate) ? 0.0f : 1.0f;
        for (int64_t grp = 0; grp < c->groups; grp++) {
            const float *dyg = dy + grp * out_group;
            if (dw) {
                const float *xg = x + grp * in_group;
                if (!c->direct) {
                    nn_im2col(&c->geom, xg, col);
                    xg = col;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->group_out,
                            (int)c->col_rows, (int)c->pixels, 1.0f, dyg, (int)c->pixels, xg,
                            (int)c->pixels, dw_beta, dw + grp * wg_size, (int)c->col_rows);
            }
            if (dx) {
                float *dxg = dx + grp * in_group;
                const float dx_beta = c->direct && layer->input_accumulate[0] ? 1.0f : 0.0f;
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c->col_rows,
                            (int)c->pixels, (int)c->group_out, 1.0f, w + grp * wg_size,
                            (int)c->col_rows, dyg, (int)c->pixels, dx_beta,
                            c->direct ? dxg : dcol, (int)c->pixels);
                if (!c->direct)
                    nn_col2im(&c->geom, dcol, dxg);
            }
        }
    }
}

static int64_t conv2d_flops(const nn_layer *layer)
{
    const conv2d *c = layer->priv;
    return 2 * c->out_c * c->pixels * c->col_rows + (c->has_bias ? c->out_size : 0);
}

static void conv2d_describe(const nn_layer *layer, char *buf, int size)
{
    const conv2d *c = layer->priv;
    const nn_conv_geom *g = &c->geom;
    char pad[48], extra[64] = "";
    nn_conv_format_padding(&c->padding, pad, sizeof pad);
    int used = 0;
    if (g->dilation_h != 1 || g->dilation_w != 1)
        used += snprintf(extra + used, sizeof extra - (size_t)used, " dilation=%lldx%lld",
                         (long long)g->dilation_h, (long long)g->dilation_w);
    if (c->groups != 1)
        used += snprintf(extra + used, sizeof extra - (size_t)used, " groups=%lld",
                         (long long)c->groups);
    if (!c->has_bias)
        snprintf(extra + used, sizeof extra - (size_t)used, " no-bias");
    snprintf(buf, (size_t)size, "%lld %lldx%lld /%lldx%lld pad=%s%s", (long long)c->out_c,
             (long long)g->kernel_h, (long long)g->kernel_w, (long long)g->stride_h,
             (long long)g->stride_w, pad, extra);
}

const nn_layer_ops nn_conv2d_ops = {
    .type = "conv2d",
    .keys = conv2d_keys,
    .build = conv2d_build,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .flops = conv2d_flops,
    .destroy = nn_layer_free_priv,
    .describe = conv2d_describe,
};

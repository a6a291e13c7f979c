/* 2-D convolution (cross-correlation, as torch.nn.Conv2d) with stride, dilation, groups and
 * padding `same` / `valid` / explicit, on NCHW tensors. Weights are
 * weight[out][in / groups][kh][kw] and bias[out], PyTorch's layout.
 *
 * Per sample and group, with K = (in / groups) * kh * kw kernel rows and P output pixels:
 *   forward   col = im2col(x)                 (K x P)
 *             y   = W col                     (out x P; a 1x1, stride 1, unpadded
 *                                              convolution uses x itself as col; stride 1
 *                                              with padding `same` builds col panel by
 *                                              panel inside the product,
 *                                              nni_conv_flat_product)
 *   backward  rows = im2row(x channels-last)  (P x K, columns in (kh, kw, in) order)
 *             dW += dy rows                   (summed over the samples, reordered to torch's
 *                                              layout once per batch; for 1x1, dy x^T by
 *                                              nni_gemm_nt on x as it is)
 *             db += row sums of dy
 *             dx  = col2im(W^T dy)            (or W^T dy straight into dx for 1x1; a
 *                                              stride-1 `same` convolution's dx is the
 *                                              flat convolution of dy with the kernel
 *                                              turned around, plan_input_grad)
 * The lowered matrices of backward are made and used a block at a time, in L2.
 * All three products have the small operand (W or dy) as A and a long contiguous B, the
 * shape nni_gemm_nn is built for (src/core/gemm.c); the flat product reads the image itself.
 * With train.precision: bf16 the products go through core/gemm_bf16.h; a flat forward
 * lowers x straight into the product's bf16 panels (nni_gemm_bf16_flat_conv), others through
 * im2col, and a flat input gradient is the same product of the turned weights with dy
 * (dx_geom) in place of the float convolution. On AMX's tiles a flat layer's weight gradient
 * runs turned, dW^T += im2col(x) dy^T with the lowered rows written from x
 * (weight_grad_turned), and no layer runs Winograd's products.
 *
 * A 3x3 or 5x5 stride-1 layer with 8 or more channels on both sides runs all three products
 * as Winograd's instead (core/winograd.h; use_winograd, forward_winograd,
 * backward_run_winograd): each thread transforms its run of samples together.
 *
 * A stride-1 undilated layer of one group reading 1 to 4 channels (a network's first layer)
 * makes its output and weight gradient as sums of shifted planes of the padded input instead
 * (core/conv_shifted.h, c->shifted), in float whatever the precision: its products over
 * im2col would be 9 to 100 terms long. The output has the products' bits; the weight gradient
 * is summed lane by lane (slot->lanes) and across the lanes when the thread's run or the
 * unit ends (finish_weight_grad). Its input gradient, when wanted, stays as below.
 *
 * The backward is conv2d_backward.c; the layer's state and the helpers both share,
 * conv2d_internal.h.
 *
 * Threads: samples are split over nni_threads() threads (OpenMP), each with its own slice of
 * the model workspace for its lowered matrices and its own weight-gradient partial sums,
 * added up in a fixed order after the loop, so a run is deterministic for a given thread
 * count.
 *
 * An elementwise activation that is the layer's only consumer (`activation: relu`) runs
 * inside the layer, as in dense.c: the forward applies it to each sample's output right after
 * the products, and the backward turns the activation's output gradient into dy sample by
 * sample before the products read it, while the sample is in cache (the same arithmetic as
 * the separate pass, so the same bits). relu goes further: Winograd's output transform, the
 * shifted planes and the float products over x or im2col (nni_gemm_nn_bias_relu, which also
 * starts each output row from its bias) store it as they store y, and in a training pass
 * instead of y.
 *
 * Padding `same` follows TensorFlow/Keras and torch: out = ceil(in / stride), the total
 * padding split with the odd pixel at the bottom/right (for stride 1 and even kernels too).
 *
 * Gradient checks (tests/unit/test_conv.c) cover stride, dilation, groups, every padding
 * mode, non-square kernels and odd sizes; tests/ref/test_cnn_layers_ref.py compares with
 * torch. */
#include <omp.h>

#include "core/conv_shifted.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/im2col.h"
#include "core/threads.h"
#include "core/winograd.h"
#include "layers/activation.h"
#include "layers/conv2d_internal.h"

/* The input gradient of a stride-1 convolution with rows as wide as its input is itself
 * such a convolution: dx[c] = sum over o of dy[o] correlated with W[o][c] turned by 180
 * degrees, padded by (k - 1) d - p. It then runs as the forward does (nni_conv_flat_product,
 * straight from dy) instead of a product into the lowered gradient and col2im's scattered
 * adds; each element of dx sums its terms in another order than col2im's, so the bits
 * differ from that path (not the thread count's invariance: each sample is one call). */
static void plan_input_grad(conv2d *c)
{
    const nni_conv_geom *g = &c->geom;
    c->dx_flat = !c->direct && nni_conv_geom_flat(g);
    if (!c->dx_flat)
        return;
    nni_conv_geom *t = &c->dx_geom;
    *t = *g;
    t->channels = c->group_out;
    t->in_h = g->out_h;
    t->in_w = g->out_w;
    t->out_h = g->in_h;
    t->out_w = g->in_w;
    t->pad_top = (g->kernel_h - 1) * g->dilation_h - g->pad_top;
    t->pad_left = (g->kernel_w - 1) * g->dilation_w - g->pad_left;
}

/* The step's transformed weights, each thread a range of the outputs: on one thread, with
 * the other core waiting, they held the residual+inception net's 2-thread step 2-3% longer
 * (bench_step, mean samples/s 638-665 against 666-682 in alternating runs). */
void nni_conv2d_transform_weights(const conv2d *c, const nni_conv_geom *g, int64_t M,
                                  const float *w, float *u, int threads)
{
    const int64_t size = M * g->channels * g->kernel_h * g->kernel_w;
    const int64_t transformed = nni_winograd_points(g) * M * g->channels;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int64_t grp = 0; grp < c->groups; grp++)
            nni_winograd_weights(g, M, M * t / nt, M * (t + 1) / nt, w + grp * size,
                                 u + grp * transformed);
    }
}

static const char *const conv2d_keys[] = {"filters", "kernel", "stride", "padding",
                                          "dilation", "groups", "bias", NULL};

static nn_status conv2d_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    conv2d *c = calloc(1, sizeof *c);
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
    nni_conv_geom *g = &c->geom;
    g->channels = c->in_c / c->groups;
    g->in_h = in.dim[1];
    g->in_w = in.dim[2];
    g->kernel_h = kernel[0];
    g->kernel_w = kernel[1];
    g->stride_h = stride[0];
    g->stride_w = stride[1];
    g->dilation_h = dilation[0];
    g->dilation_w = dilation[1];
    if ((st = nni_conv_read_padding(layer, cfg, g, &c->padding, err)))
        return st;

    c->pixels = g->out_h * g->out_w;
    c->col_rows = nni_conv_geom_col_rows(g);
    c->group_out = c->out_c / c->groups;
    c->in_size = nn_shape_size(in);
    c->out_size = c->out_c * c->pixels;
    c->in_pixels = g->in_h * g->in_w;
    c->direct = g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 &&
                g->stride_w == 1 && c->padding.top == 0 && c->padding.bottom == 0 &&
                c->padding.left == 0 && c->padding.right == 0;
    layer->out_shape = nn_shape_3d(c->out_c, g->out_h, g->out_w);
    c->threads = nni_threads();
    /* Blocks of the lowered matrices sized to stay in L2 between the copy that writes them and
     * the product that reads them (or the other way round). */
    const int64_t block_floats = 64 * 1024, kk = g->kernel_h * g->kernel_w;
    c->dx_channels = block_floats / (kk * c->pixels);
    c->dx_channels = c->dx_channels < 1 ? 1 : c->dx_channels > g->channels ? g->channels
                                                                           : c->dx_channels;
    /* The weight gradient's product restarts its C tiles at every block: at least 256
     * pixels a block (the product's own k block), or a 5x5 layer at 14x14 ran 2 rows (28
     * pixels) a call and lost 5-10%. */
    const int64_t min_rows = (256 + g->out_w - 1) / g->out_w;
    c->dw_out_rows = block_floats / (c->col_rows * g->out_w);
    c->dw_out_rows = c->dw_out_rows < min_rows ? min_rows : c->dw_out_rows;
    c->dw_out_rows = c->dw_out_rows > g->out_h ? g->out_h : c->dw_out_rows;
    const int64_t lowered = c->direct ? 0 : round16(c->col_rows * c->pixels);
    plan_input_grad(c);
    c->winograd = nni_winograd_fits(g) && g->channels >= 8 && c->group_out >= 8;
    if (c->winograd) {
        c->points = nni_winograd_points(g);
        c->winograd_floats = nni_winograd_scratch(g, c->group_out);
        if (c->dx_flat) {
            const int64_t dx = nni_winograd_scratch(&c->dx_geom, g->channels);
            c->winograd_floats = dx > c->winograd_floats ? dx : c->winograd_floats;
        }
    }
    c->shifted = c->groups == 1 && nni_conv_shifted_fits(g);
    if (c->shifted) {
        c->padded_floats = nni_conv_shifted_scratch(g);
        c->lane_floats = nni_conv_shifted_lane_floats(g, c->out_c);
    }
    c->slot_floats = lowered + dcol_floats(c) + xt_floats(c) +
                     round16(c->out_c * c->col_rows) + round16(c->out_c) +
                     round16(c->winograd_floats) +
                     (c->winograd ? round16(c->points * c->out_c * g->channels) : 0) +
                     round16(c->padded_floats) + round16(c->lane_floats);
    layer->workspace_floats = c->threads * c->slot_floats +
                              (c->dx_flat ? c->out_c * c->col_rows : 0) +
                              (c->winograd ? c->points * c->out_c * g->channels : 0);

    const int64_t receptive = g->kernel_h * g->kernel_w;
    int64_t wdims[4] = {c->out_c, g->channels, g->kernel_h, g->kernel_w};
    nni_layer_add_param(layer, "weight", 4, wdims, g->channels * receptive, c->out_c * receptive,
                        NULL, 0);
    if (c->has_bias)
        nni_layer_add_param(layer, "bias", 1, &c->out_c, g->channels * receptive,
                            c->out_c * receptive, &layer->bias_init, NN_PARAM_NO_DECAY);
    return NN_OK;
}

/* The forward with Winograd's products: each thread transforms its run of samples together,
 * so that the products see the tiles of several samples at once. */
static void forward_winograd(const conv2d *c, nn_layer *layer, const nn_pass *pass,
                             const float *u, int threads)
{
    const float *bias = c->has_bias ? nni_layer_param(layer, 1) : NULL;
    float *workspace = nni_layer_workspace(layer);
    const float *x_all = layer->inputs[0]->out;
    float *y_all = layer->out;
    const int64_t C = c->geom.channels;
    const int store_relu = c->activation && nni_activation_is_relu(c->activation);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const conv_slot slot = slot_at(c, workspace, t);
        const int64_t lo = run_start(pass->batch, t, nt), hi = run_start(pass->batch, t + 1, nt);
        for (int64_t grp = 0; grp < c->groups; grp++) {
            const int64_t first_out = grp * c->group_out;
            const int64_t at = lo * c->out_size + first_out * c->pixels;
            const nni_winograd_out out = {.y = y_all + at, .stride = c->out_size,
                                          .bias = bias ? bias + first_out : NULL,
                                          .relu = store_relu ? c->activation->out + at : NULL,
                                          .relu_only = store_relu && pass->training};
            nni_winograd_conv(&c->geom, c->group_out, u + first_out * c->points * C, hi - lo,
                              x_all + lo * c->in_size + grp * C * c->in_pixels, c->in_size,
                              &out, layer->model->bf16, slot.winograd);
        }
        for (int64_t n = lo; c->activation && !store_relu && n < hi; n++)
            nni_activation_apply(c->activation, y_all + n * c->out_size,
                                 c->activation->out + n * c->out_size, c->out_size);
    }
}

/* Whether forward_products starts from the bias and stores a relu in the product's own pass
 * (nni_gemm_nn_bias_relu): the float products over x itself or im2col. */
static int products_fuse_relu(const conv2d *c, const nn_layer *layer)
{
    return !c->shifted && !layer->model->bf16 && (c->direct || !nni_conv_geom_flat(&c->geom));
}

/* One sample's outputs through the products over im2col (or x itself, or the flat product's
 * panels): the bias first, then each group's product added; with products_fuse_relu, in one
 * pass that also stores relu(y) at relu (if not NULL), and y only without relu_only. */
static void forward_products(const conv2d *c, const nn_layer *layer, const conv_slot *slot,
                             const float *w, const float *bias, const float *x, float *y,
                             float *relu, int relu_only)
{
    const int64_t in_group = c->geom.channels * c->in_pixels;
    const int64_t out_group = c->group_out * c->pixels;
    const int one_pass = products_fuse_relu(c, layer);
    if (bias && !one_pass)
        for (int64_t o = 0; o < c->out_c; o++)
            for (int64_t p = 0; p < c->pixels; p++)
                y[o * c->pixels + p] = bias[o];
    for (int64_t grp = 0; grp < c->groups; grp++) {
        const float *col = x + grp * in_group;
        if (!c->direct && nni_conv_geom_flat(&c->geom) && layer->model->bf16) {
            const nni_bf16_flat_conv lowered = {&c->geom, col};
            nni_gemm_bf16_flat_conv(c->group_out, w + grp * c->group_out * c->col_rows,
                                    c->col_rows, &lowered, y + grp * out_group,
                                    bias != NULL);
            continue;
        }
        if (!c->direct && nni_conv_geom_flat(&c->geom)) {
            nni_conv_flat_product(&c->geom, c->group_out,
                                  w + grp * c->group_out * c->col_rows, col,
                                  y + grp * out_group, bias != NULL);
            continue;
        }
        if (!c->direct) {
            nni_im2col(&c->geom, col, slot->col);
            col = slot->col;
        }
        const float *wg = w + grp * c->group_out * c->col_rows;
        if (one_pass)
            nni_gemm_nn_bias_relu(c->group_out, c->pixels, c->col_rows, wg, c->col_rows, 1,
                                  col, c->pixels, y + grp * out_group, c->pixels,
                                  bias ? bias + grp * c->group_out : NULL,
                                  relu ? relu + grp * out_group : NULL, relu_only);
        else
            nni_product_nn(layer->model->bf16, c->group_out, c->pixels, c->col_rows, wg,
                           c->col_rows, 1, col, c->pixels, y + grp * out_group, c->pixels,
                           bias != NULL);
    }
}

static void conv2d_forward(nn_layer *layer, const nn_pass *pass)
{
    const conv2d *c = layer->priv;
    const float *w = nni_layer_param(layer, 0);
    const float *bias = c->has_bias ? nni_layer_param(layer, 1) : NULL;
    float *workspace = nni_layer_workspace(layer);
    const float *x_all = layer->inputs[0]->out;
    float *y_all = layer->out;
    const int threads = nni_conv_call_threads(c->threads, pass->batch);
    if (use_winograd(c, layer)) {
        float *u = winograd_weights(c, workspace);
        nni_conv2d_transform_weights(c, &c->geom, c->group_out, w, u, threads);
        forward_winograd(c, layer, pass, u, threads);
        return;
    }
    /* A fused relu the shifted planes and the float products write as they store y, and in
     * a training pass instead of y, which nothing reads there (sample_dy): residual+
     * inception's res_conv1 writes 6.4 MB less a step. Any other activation is a pass over
     * the sample's y while it is in cache. */
    const int store_relu = c->activation && nni_activation_is_relu(c->activation) &&
                           (c->shifted || products_fuse_relu(c, layer));
    const int keep_y = !store_relu || !pass->training;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const conv_slot slot = slot_at(c, workspace, omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t n = 0; n < pass->batch; n++) {
            const float *x = x_all + n * c->in_size;
            float *y = y_all + n * c->out_size;
            float *act = c->activation ? c->activation->out + n * c->out_size : NULL;
            if (c->shifted)
                nni_conv_shifted_forward(&c->geom, c->out_c, w, bias, x, keep_y ? y : NULL,
                                         store_relu ? act : NULL, slot.padded);
            else
                forward_products(c, layer, &slot, w, bias, x, y, store_relu ? act : NULL,
                                 !keep_y);
            if (c->activation && !store_relu)
                nni_activation_apply(c->activation, y, act, c->out_size);
        }
    }
}

static int conv2d_fuse_activation(nn_layer *layer, nn_layer *activation)
{
    conv2d *c = layer->priv;
    c->activation = activation;
    return 1;
}

static int64_t conv2d_flops(const nn_layer *layer)
{
    const conv2d *c = layer->priv;
    return 2 * c->out_c * c->pixels * c->col_rows + (c->has_bias ? c->out_size : 0);
}

static void conv2d_describe(const nn_layer *layer, char *buf, int size)
{
    const conv2d *c = layer->priv;
    const nni_conv_geom *g = &c->geom;
    char pad[48], extra[64] = "";
    nni_conv_format_padding(&c->padding, pad, sizeof pad);
    int used = 0;
    if (g->dilation_h != 1 || g->dilation_w != 1)
        used += snprintf(extra + used, sizeof extra - (size_t)used, " dilation=%lldx%lld",
                         (long long)g->dilation_h, (long long)g->dilation_w);
    if (c->groups != 1)
        used += snprintf(extra + used, sizeof extra - (size_t)used, " groups=%lld",
                         (long long)c->groups);
    if (!c->has_bias)
        used += snprintf(extra + used, sizeof extra - (size_t)used, " no-bias");
    if (use_winograd(c, layer))
        snprintf(extra + used, sizeof extra - (size_t)used, " winograd");
    else if (c->shifted)
        snprintf(extra + used, sizeof extra - (size_t)used, " shifted");
    snprintf(buf, (size_t)size, "%lld %lldx%lld /%lldx%lld pad=%s%s", (long long)c->out_c,
             (long long)g->kernel_h, (long long)g->kernel_w, (long long)g->stride_h,
             (long long)g->stride_w, pad, extra);
}

/* Padding goes to F.pad first: 'same' with an even kernel pads unevenly, which
 * torch.nn.Conv2d's own padding cannot express. */
static void conv2d_torch(const nn_layer *layer, char *buf, int size)
{
    const conv2d *c = layer->priv;
    const nni_conv_geom *g = &c->geom;
    const nni_conv_padding *p = &c->padding;
    snprintf(buf, (size_t)size, "Conv2d((%lld, %lld, %lld, %lld), %lld, %lld, (%lld, %lld), "
             "stride=(%lld, %lld), dilation=(%lld, %lld), groups=%lld, bias=%s)",
             (long long)p->left, (long long)p->right, (long long)p->top, (long long)p->bottom,
             (long long)c->in_c, (long long)c->out_c, (long long)g->kernel_h,
             (long long)g->kernel_w, (long long)g->stride_h, (long long)g->stride_w,
             (long long)g->dilation_h, (long long)g->dilation_w, (long long)c->groups,
             c->has_bias ? "True" : "False");
}

const nn_layer_ops nni_conv2d_ops = {
    .type = "conv2d",
    .keys = conv2d_keys,
    .params = "filters kernel (k or [kh, kw]) stride=1 padding=valid dilation=1 groups=1 "
              "bias=true",
    .help = "cross-correlation as torch Conv2d, weight[out][in/groups][kh][kw]; padding: same "
            "| valid | p | [ph, pw] | [top, bottom, left, right]",
    .build = conv2d_build,
    .forward = conv2d_forward,
    .backward = nni_conv2d_backward,
    .flops = conv2d_flops,
    .fuse_activation = conv2d_fuse_activation,
    .destroy = nni_layer_free_priv,
    .describe = conv2d_describe,
    .torch_module = conv2d_torch,
    .unit_grads = 1,
};

int nni_conv2d_winograd(const nn_layer *layer)
{
    return layer->ops == &nni_conv2d_ops && use_winograd(layer->priv, layer);
}

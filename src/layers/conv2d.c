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
#include <string.h>

#include "core/conv_shifted.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/im2col.h"
#include "core/prefetch.h"
#include "core/threads.h"
#include "core/winograd.h"
#include "layers/activation.h"
#include "layers/conv_util.h"
#include "layers/layer_util.h"

typedef struct conv2d {
    int64_t in_c, out_c, groups;
    nni_conv_geom geom;       /* of one group: channels = in_c / groups */
    nni_conv_padding padding;
    int has_bias;
    int direct;              /* 1x1, stride 1, no padding: GEMM on x without im2col */
    int dx_flat;             /* input gradient as a flat convolution of dy (dx_geom) */
    nni_conv_geom dx_geom;   /* of one group: dy in, dx out, the kernel turned around */
    int64_t in_size, out_size, pixels, col_rows, group_out, in_pixels;
    int64_t dx_channels;     /* input channels per block of the input gradient */
    int64_t dw_out_rows;     /* output rows per block of the weight gradient */
    int winograd;            /* products by Winograd's F(2x2, 3x3) or F(2x2, 5x5) */
    int64_t winograd_floats; /* scratch per thread for it */
    int64_t points;          /* elements of its transformed patch (16 or 36) */
    int shifted;             /* few input channels: sums of shifted planes (conv_shifted.h) */
    int64_t padded_floats;   /* their zero-padded input, per thread */
    int64_t lane_floats;     /* their weight gradient's lane sums, per thread */
    const nn_layer *activation; /* fused (fuse_activation), or NULL */
    int threads;             /* workspace slots planned at build */
    int64_t slot_floats;     /* workspace per thread */
} conv2d;

/* A thread's workspace slot: forward uses col; backward the rest. */
typedef struct conv_slot {
    float *col;      /* K x P (forward) */
    float *rows;     /* P x K (backward, not for direct convolutions) */
    float *xt;       /* in_pixels x in/groups: x channels-last (none for 1x1) */
    float *dcol;     /* K x P */
    float *dw;       /* out x K, (kh, kw, in) column order */
    float *db;       /* out */
    float *winograd; /* nni_winograd_conv's scratch */
    float *du;       /* the Winograd weight gradient's sums: points x out x in / groups */
    float *padded;   /* nni_conv_shifted_*'s zero-padded input */
    float *lanes;    /* nni_conv_shifted_weight_grad's lane sums */
} conv_slot;

static int64_t round16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

static int64_t kk_of(const conv2d *c)
{
    return c->geom.kernel_h * c->geom.kernel_w;
}

/* The lowered input gradient's block (none when dx comes straight from dy). */
static int64_t dcol_floats(const conv2d *c)
{
    return c->direct || c->dx_flat ? 0 : round16(c->dx_channels * kk_of(c) * c->pixels);
}

/* x channels-last, which im2row lowers for the weight gradient (a 1x1 layer's product reads
 * x itself). */
static int64_t xt_floats(const conv2d *c)
{
    return c->direct ? 0 : round16(c->in_pixels * c->geom.channels);
}

/* Rows of dy lowered for the flat input gradient's convolution (dx_geom). */
static int64_t dx_col_rows(const conv2d *c)
{
    return nni_conv_geom_col_rows(&c->dx_geom);
}

static conv_slot slot_at(const conv2d *c, float *workspace, int t)
{
    float *base = workspace + t * c->slot_floats;
    const int64_t lowered = c->direct ? 0 : round16(c->col_rows * c->pixels);
    conv_slot s;
    s.col = base;
    s.rows = base;
    s.xt = s.rows + lowered;
    s.dcol = s.xt + xt_floats(c);
    s.dw = s.dcol + dcol_floats(c);
    s.db = s.dw + round16(c->out_c * c->col_rows);
    s.winograd = s.db + round16(c->out_c);
    s.du = s.winograd + round16(c->winograd_floats);
    s.padded = s.du + (c->winograd ? round16(c->points * c->out_c * c->geom.channels) : 0);
    s.lanes = s.padded + round16(c->padded_floats);
    return s;
}

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

/* The weights of the input gradient's convolution, for every group:
 * turned[grp][c][o][kh - 1 - ki][kw - 1 - kj] = w[grp][o][c][ki][kj]. */
static void turn_weights(const conv2d *c, const float *w, float *turned)
{
    const int64_t C = c->geom.channels, O = c->group_out, kh = c->geom.kernel_h,
                  kw = c->geom.kernel_w, kk = kh * kw, size = O * c->col_rows;
    for (int64_t grp = 0; grp < c->groups; grp++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t k = 0; k < kk; k++)
                    turned[grp * size + (ci * O + o) * kk + kk - 1 - k] =
                        w[grp * size + (o * C + ci) * kk + k];
}

static float *turned_weights(const conv2d *c, float *workspace)
{
    return workspace + c->threads * c->slot_floats;
}

/* The Winograd-transformed weights of every group: the forward's, or in backward those of the
 * turned weights (points x out x in floats either way). */
static float *winograd_weights(const conv2d *c, float *workspace)
{
    return turned_weights(c, workspace) + (c->dx_flat ? c->out_c * c->col_rows : 0);
}

/* Whether the products run as Winograd's (core/winograd.h): a 3x3 or 5x5 stride-1 kernel,
 * and enough channels on both sides for its products to be worth their transforms (a
 * 1-channel input layer runs faster direct). With train.precision: bf16 only 3x3 kernels:
 * F(2x2, 5x5)'s transforms turn bf16's rounding into errors of 4-10% of the outputs' and
 * gradients' scales, ten times the 3x3 ones (tests/unit/test_winograd.c). (bf16 once kept
 * 14 x 14 images on the direct products too, when a block of Winograd's products held one
 * image's 49 tiles; with blocks across samples the residual+inception net's inc_3x3 runs
 * 23% faster forward and 20% backward this way, the small CNN's conv2 18%, bench_step.)
 * On AMX's tiles (core/gemm_bf16_amx.h) bf16 keeps no layer on Winograd's products: the
 * direct products outrun the float transforms (bench_step, 1 core of a Xeon with AMX:
 * res_conv2 forward / backward 4.26 / 9.19 ms by Winograd, 3.02 / 7.04 direct; the
 * residual+inception net's step 827 -> 943 samples/s, the small CNN's 6894 -> 8097). */
static int use_winograd(const conv2d *c, const nn_layer *layer)
{
    if (!c->winograd || layer->model->direct_conv)
        return 0;
    return !layer->model->bf16 || (c->geom.kernel_h == 3 && !nni_bf16_amx_chosen());
}

/* Whether the weight gradient runs turned, im2col(x) dy^T with the lowered rows written
 * from x (nni_gemm_bf16_flat_conv_weight_grad, AMX's path): AMX's A panels take x's runs as
 * they stand, where dy im2col(x)^T made the lowered matrix in float (im2row) and packed it
 * again (bench_step, 1 core of a Xeon with AMX, alternating: res_conv2's weight gradient
 * 407-466 -> 570-589 GFLOP/s per CPU-second, its backward 6.98-7.44 -> 6.01-6.23 ms, the
 * step 886-946 -> 965-1035 samples/s). Its sums go to the slot's du, planned for Winograd's
 * transformed sums, which these layers then do not use, and at least as large (points >=
 * kernel taps). */
static int weight_grad_turned(const conv2d *c, const nn_layer *layer)
{
    return layer->model->bf16 && nni_bf16_amx_chosen() && c->winograd &&
           !use_winograd(c, layer) && nni_conv_geom_flat(&c->geom);
}

/* The step's transformed weights, each thread a range of the outputs: on one thread, with
 * the other core waiting, they held the residual+inception net's 2-thread step 2-3% longer
 * (bench_step, mean samples/s 638-665 against 666-682 in alternating runs). */
static void transform_weights(const conv2d *c, const nni_conv_geom *g, int64_t M,
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

/* The first and one-past-last of the samples thread `t` of `threads` takes: consecutive runs,
 * as a static split of the per-sample loop gives. */
static int64_t run_start(int64_t batch, int t, int threads)
{
    return batch * t / threads;
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
        transform_weights(c, &c->geom, c->group_out, w, u, threads);
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

/* dw += dy rows for one group, the rows (im2row of the channels-last x in slot->xt) made a
 * block of output rows at a time: a block stays in L2 from im2row to the product, where the
 * whole lowered matrix (1.8 MB for 64 channels 3x3 at 28x28) went out to L3 and back. Each
 * element of dw still sums its pixels in order, one FMA each: the same bits. */
static void weight_grad_blocked(const conv2d *c, const conv_slot *slot, const float *dyg,
                                float *dw, int bf16)
{
    nni_conv_geom part = c->geom;
    const int64_t out_w = c->geom.out_w;
    for (int64_t oy = 0; oy < c->geom.out_h; oy += c->dw_out_rows) {
        part.out_h = c->geom.out_h - oy < c->dw_out_rows ? c->geom.out_h - oy : c->dw_out_rows;
        part.pad_top = c->geom.pad_top - oy * c->geom.stride_h;
        nni_im2row(&part, slot->xt, slot->rows);
        nni_product_nn(bf16, c->group_out, c->col_rows, part.out_h * out_w, dyg + oy * out_w,
                       c->pixels, 1, slot->rows, c->col_rows, dw, c->col_rows, 1);
    }
}

/* dx += col2im(W^T dy) for one group, a block of whole input channels at a time: the block's
 * rows of the lowered gradient stay in L2 between the product that writes them and col2im
 * that reads them. Every element of dx still receives its terms in row order: the same bits. */
static void input_grad_blocked(const conv2d *c, const float *wg, const float *dyg, float *dcol,
                               float *dxg, int bf16)
{
    nni_conv_geom part = c->geom;
    const int64_t kk = kk_of(c);
    for (int64_t c0 = 0; c0 < c->geom.channels; c0 += c->dx_channels) {
        part.channels = c->geom.channels - c0 < c->dx_channels ? c->geom.channels - c0
                                                               : c->dx_channels;
        nni_product_nn(bf16, part.channels * kk, c->pixels, c->group_out, wg + c0 * kk, 1,
                       c->col_rows, dyg, c->pixels, dcol, c->pixels, 0);
        nni_col2im(&part, dcol, dxg + c0 * c->in_pixels);
    }
}

/* The per-sample work of backward: weight-gradient partial sums into the slot, input
 * gradient into dx (NULL: not needed). */
static void backward_sample(const conv2d *c, const conv_slot *slot, const float *w,
                            const float *turned, const float *x, const float *dy, float *dx,
                            int dx_accumulate, int weight_grad, int bias_grad, int bf16,
                            int dw_turned)
{
    const int64_t in_group = c->geom.channels * c->in_pixels;
    const int64_t out_group = c->group_out * c->pixels;
    const int64_t wg_size = c->group_out * c->col_rows;
    if (bias_grad)
        for (int64_t o = 0; o < c->out_c; o++)
            slot->db[o] += nni_layer_sum(dy + o * c->pixels, c->pixels);
    if (dx && !c->direct && !c->dx_flat && !dx_accumulate)
        memset(dx, 0, (size_t)c->in_size * sizeof *dx);
    /* A 1x1 layer's products read x 16 rows at a time (packing its panels for dW) and dx six
     * rows at a time (adding to it): the step's 1x1 backwards ran 6-11% faster with the two
     * brought in first. */
    if (c->direct && weight_grad)
        nni_prefetch_read(x, c->in_size);
    if (c->direct && dx)
        nni_prefetch_write(dx, c->in_size);
    for (int64_t grp = 0; grp < c->groups; grp++) {
        const float *dyg = dy + grp * out_group;
        if (weight_grad && c->shifted) {
            nni_conv_shifted_weight_grad(&c->geom, c->out_c, x, dyg, slot->lanes,
                                         slot->padded);
        } else if (weight_grad && dw_turned) {
            const nni_bf16_flat_conv lowered = {&c->geom, x + grp * in_group};
            nni_gemm_bf16_flat_conv_weight_grad(c->group_out, &lowered, dyg,
                                                slot->du + grp * c->col_rows * c->group_out,
                                                c->group_out);
        } else if (weight_grad && c->direct) {
            /* dy x^T, x read along its rows: the product turns a panel of x at a time in L1,
             * where a transposed copy of all of x cost a quarter of a 1x1 layer's backward
             * (64 -> 16 channels at 14x14). The same sums in the same order. */
            nni_product_nt(bf16, c->group_out, c->col_rows, c->pixels, dyg, c->pixels,
                           x + grp * in_group, c->in_pixels, slot->dw + grp * wg_size,
                           c->col_rows, 1);
        } else if (weight_grad) {
            /* x channels-last, then its receptive fields as rows. */
            nni_transpose(x + grp * in_group, c->geom.channels, c->in_pixels, c->in_pixels,
                          slot->xt, c->geom.channels);
            weight_grad_blocked(c, slot, dyg, slot->dw + grp * wg_size, bf16);
        }
        if (dx) {
            /* W^T: element (k, o) of group grp at w[o * K + k]. */
            const float *wg = w + grp * wg_size;
            float *dxg = dx + grp * in_group;
            if (c->direct) {
                nni_product_nn(bf16, c->col_rows, c->pixels, c->group_out, wg, 1, c->col_rows,
                               dyg, c->pixels, dxg, c->pixels, dx_accumulate);
            } else if (c->dx_flat && bf16) {
                const nni_bf16_flat_conv lowered = {&c->dx_geom, dyg};
                nni_gemm_bf16_flat_conv(c->geom.channels, turned + grp * wg_size,
                                        dx_col_rows(c), &lowered, dxg, dx_accumulate);
            } else if (c->dx_flat) {
                nni_conv_flat_product(&c->dx_geom, c->geom.channels, turned + grp * wg_size,
                                      dyg, dxg, dx_accumulate);
            } else {
                input_grad_blocked(c, wg, dyg, slot->dcol, dxg, bf16);
            }
        }
    }
}

/* The weights a flat input gradient reads (NULL otherwise): turned around, and with Winograd
 * also transformed, into *dx_u. */
static float *input_grad_weights(const conv2d *c, const nn_layer *layer, int dx_wanted,
                                 int threads, float **dx_u)
{
    if (!dx_wanted || !c->dx_flat)
        return NULL;
    float *workspace = nni_layer_workspace(layer);
    float *turned = turned_weights(c, workspace);
    turn_weights(c, nni_layer_param(layer, 0), turned);
    if (use_winograd(c, layer)) {
        *dx_u = winograd_weights(c, workspace);
        transform_weights(c, &c->dx_geom, c->geom.channels, turned, *dx_u, threads);
    }
    return turned;
}

/* dy of sample n: with a fused activation, first made from the activation's output gradient
 * (dy = f'(y before, y after) times it), while the sample's values are in cache. relu's
 * derivative is read from relu's output (> 0 exactly where y is), which every pass writes:
 * the training forwards of the shifted planes and of Winograd's products leave y out. */
static const float *sample_dy(const conv2d *c, const nn_layer *layer, int64_t n)
{
    const int64_t at = n * c->out_size;
    if (c->activation) {
        const float *before = nni_activation_is_relu(c->activation) ? c->activation->out
                                                                     : layer->out;
        nni_activation_apply_backward(c->activation, before + at, c->activation->out + at,
                                      c->activation->dout + at, layer->dout + at, c->out_size,
                                      0);
    }
    return layer->dout + at;
}

/* A thread's (or unit's) weight-gradient sums from zero: with Winograd, the transformed sums,
 * with shifted planes their lane sums, turned (weight_grad_turned) the sums with the outputs
 * last (finish_weight_grad turns any of them into the slot's dw). */
static void start_weight_grad(const conv2d *c, const conv_slot *slot, int winograd,
                              int turned)
{
    if (turned)
        memset(slot->du, 0, (size_t)(c->col_rows * c->out_c) * sizeof *slot->du);
    else if (winograd)
        memset(slot->du, 0,
               (size_t)(c->points * c->out_c * c->geom.channels) * sizeof *slot->du);
    else if (c->shifted)
        memset(slot->lanes, 0, (size_t)c->lane_floats * sizeof *slot->lanes);
    else
        memset(slot->dw, 0, (size_t)(c->out_c * c->col_rows) * sizeof *slot->dw);
}

/* slot->dw (im2row's (kh, kw, in) column order) from the turned sums or the transformed sums
 * of each group, or from the shifted planes' lane sums; the products over im2row sum into it
 * directly. */
static void finish_weight_grad(const conv2d *c, const conv_slot *slot, int winograd,
                               int turned)
{
    const int64_t C = c->geom.channels, kk = c->geom.kernel_h * c->geom.kernel_w;
    for (int64_t grp = 0; turned && grp < c->groups; grp++) {
        /* du holds the group's (in, kh, kw) x outputs; dw outputs x (kh, kw, in). */
        const float *sums = slot->du + grp * c->col_rows * c->group_out;
        float *dw = slot->dw + grp * c->group_out * c->col_rows;
        for (int64_t o = 0; o < c->group_out; o++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t k = 0; k < kk; k++)
                    dw[o * c->col_rows + k * C + ci] = sums[(ci * kk + k) * c->group_out + o];
    }
    if (!winograd && c->shifted)
        nni_conv_shifted_weight_grad_finish(&c->geom, c->out_c, slot->lanes, slot->dw,
                                            c->col_rows);
    for (int64_t grp = 0; winograd && grp < c->groups; grp++)
        nni_winograd_weight_grad_finish(&c->geom, c->group_out,
                                        slot->du + grp * c->points * c->group_out * C,
                                        slot->dw + grp * c->group_out * c->col_rows,
                                        c->col_rows, C, 1);
}

/* The slot's weight gradient from the (kh, kw, in) column order of im2row into torch's
 * (in, kh, kw), stored or added at dw; the bias gradient likewise. */
static void store_slot_grads(const conv2d *c, const conv_slot *slot, float *dw, float *db,
                             int accumulate)
{
    const int64_t C = c->geom.channels, kk = c->geom.kernel_h * c->geom.kernel_w;
    for (int64_t o = 0; dw && o < c->out_c; o++)
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t k = 0; k < kk; k++) {
                const float g = slot->dw[o * c->col_rows + k * C + ci];
                float *dst = dw + o * c->col_rows + ci * kk + k;
                *dst = accumulate ? *dst + g : g;
            }
    for (int64_t o = 0; db && o < c->out_c; o++)
        db[o] = accumulate ? db[o] + slot->db[o] : slot->db[o];
}

/* Backward of samples lo .. hi - 1 with Winograd's products into the slot: dy made sample by
 * sample, then the weight-gradient sums (finished into slot->dw) and the input gradient of
 * the whole run together. A layer whose input gradient is not a flat convolution (no
 * padding `same`) makes it per sample as without Winograd. */
static void backward_run_winograd(const conv2d *c, nn_layer *layer, const conv_slot *slot,
                                  const float *turned, const float *dx_u, int64_t lo,
                                  int64_t hi, int weight_grad, int bias_grad)
{
    const float *x_all = layer->inputs[0]->out;
    float *dx_all = layer->inputs[0]->dout;
    const int dx_accumulate = layer->input_accumulate[0];
    const int64_t C = c->geom.channels, in_group = C * c->in_pixels;
    const int64_t out_group = c->group_out * c->pixels;
    for (int64_t n = lo; n < hi; n++) {
        const float *dy = sample_dy(c, layer, n);
        for (int64_t o = 0; bias_grad && o < c->out_c; o++)
            slot->db[o] += nni_layer_sum(dy + o * c->pixels, c->pixels);
    }
    const float *dy = layer->dout + lo * c->out_size;
    for (int64_t grp = 0; grp < c->groups; grp++) {
        const int64_t u_at = grp * c->points * c->group_out * C;
        if (weight_grad)
            nni_winograd_weight_grad(&c->geom, c->group_out, hi - lo,
                                     x_all + lo * c->in_size + grp * in_group, c->in_size,
                                     dy + grp * out_group, c->out_size, slot->du + u_at,
                                     layer->model->bf16, slot->winograd);
        if (dx_all && dx_u) {
            const nni_winograd_out out = {.y = dx_all + lo * c->in_size + grp * in_group,
                                          .stride = c->in_size, .accumulate = dx_accumulate};
            nni_winograd_conv(&c->dx_geom, C, dx_u + u_at, hi - lo, dy + grp * out_group,
                              c->out_size, &out, layer->model->bf16, slot->winograd);
        }
    }
    for (int64_t n = lo; dx_all && !dx_u && n < hi; n++)
        backward_sample(c, slot, nni_layer_param(layer, 0), turned, x_all + n * c->in_size,
                        layer->dout + n * c->out_size, dx_all + n * c->in_size, dx_accumulate,
                        0, 0, layer->model->bf16, 0);
    if (weight_grad)
        finish_weight_grad(c, slot, 1, 0);
}

/* train.reproducible: bitwise: the threads take whole units of pass->unit_rows samples, and
 * each unit's gradients, summed over its samples in order, go to the unit's slot
 * (nn/layer.h): the same bits for any thread count and any split of the batch. */
static void backward_units(const conv2d *c, nn_layer *layer, const nn_pass *pass)
{
    const float *w = nni_layer_param(layer, 0);
    float *dw = nni_layer_param_frozen(layer, 0) ? NULL : nni_layer_grad(layer, 0);
    float *db = c->has_bias && !nni_layer_param_frozen(layer, 1) ? nni_layer_grad(layer, 1)
                                                                 : NULL;
    float *dx_all = layer->inputs[0]->dout;
    const int dx_accumulate = layer->input_accumulate[0];
    float *workspace = nni_layer_workspace(layer);
    float *dx_u = NULL;
    const int64_t u = pass->unit_rows, units = (pass->batch + u - 1) / u;
    const int threads = nni_conv_call_threads(c->threads, units);
    float *turned = input_grad_weights(c, layer, dx_all != NULL, threads, &dx_u);
    const int wino = use_winograd(c, layer), dw_turned = weight_grad_turned(c, layer);
    const float *x_all = layer->inputs[0]->out;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const conv_slot slot = slot_at(c, workspace, omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t j = 0; j < units; j++) {
            if (dw)
                start_weight_grad(c, &slot, wino, dw_turned);
            if (db)
                memset(slot.db, 0, (size_t)c->out_c * sizeof *slot.db);
            const int64_t end = (j + 1) * u < pass->batch ? (j + 1) * u : pass->batch;
            if (wino)
                backward_run_winograd(c, layer, &slot, turned, dx_u, j * u, end, dw != NULL,
                                      db != NULL);
            for (int64_t n = j * u; !wino && n < end; n++)
                backward_sample(c, &slot, w, turned, x_all + n * c->in_size,
                                sample_dy(c, layer, n),
                                dx_all ? dx_all + n * c->in_size : NULL, dx_accumulate,
                                dw != NULL, db != NULL, layer->model->bf16, dw_turned);
            if (dw && !wino)
                finish_weight_grad(c, &slot, 0, dw_turned);
            const int64_t at = (pass->unit_slot + j) * pass->unit_stride;
            store_slot_grads(c, &slot, dw ? dw + at : NULL, db ? db + at : NULL, 0);
        }
    }
}

static void backward_batch(nn_layer *layer, const nn_pass *pass)
{
    const conv2d *c = layer->priv;
    const nni_conv_geom *g = &c->geom;
    const float *w = nni_layer_param(layer, 0);
    const int weight_grad = !nni_layer_param_frozen(layer, 0);
    const int bias_grad = c->has_bias && !nni_layer_param_frozen(layer, 1);
    float *dx_all = layer->inputs[0]->dout;
    const int dx_accumulate = layer->input_accumulate[0];
    float *workspace = nni_layer_workspace(layer);
    float *dx_u = NULL;
    const int threads = nni_conv_call_threads(c->threads, pass->batch);
    float *turned = input_grad_weights(c, layer, dx_all != NULL, threads, &dx_u);
    const int wino = use_winograd(c, layer), dw_turned = weight_grad_turned(c, layer);
    const float *x_all = layer->inputs[0]->out;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const conv_slot slot = slot_at(c, workspace, omp_get_thread_num());
        if (weight_grad)
            start_weight_grad(c, &slot, wino, dw_turned);
        if (bias_grad)
            memset(slot.db, 0, (size_t)c->out_c * sizeof *slot.db);
        if (wino) {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            backward_run_winograd(c, layer, &slot, turned, dx_u, run_start(pass->batch, t, nt),
                                  run_start(pass->batch, t + 1, nt), weight_grad, bias_grad);
        } else {
#pragma omp for schedule(static)
            for (int64_t n = 0; n < pass->batch; n++)
                backward_sample(c, &slot, w, turned, x_all + n * c->in_size,
                                sample_dy(c, layer, n),
                                dx_all ? dx_all + n * c->in_size : NULL, dx_accumulate,
                                weight_grad, bias_grad, layer->model->bf16, dw_turned);
            if (weight_grad)
                finish_weight_grad(c, &slot, 0, dw_turned);
        }
    }
    /* Sum the threads' partials in thread order; the weight gradient changes from the
     * (kh, kw, in) column order of im2row to torch's (in, kh, kw). The threads share the
     * outputs (each element's sum is the same) rather than one summing while the others
     * wait (the residual+inception net's fastest 2-thread steps: 717-734 samples/s before,
     * 726-736 after, within the noise). Thread t's slot starts t x slot_floats after
     * thread 0's. */
    const int acc = pass->grad_accumulate;
    if (weight_grad) {
        float *dw = nni_layer_grad(layer, 0);
        const float *partials = slot_at(c, workspace, 0).dw;
        const int64_t C = g->channels, kk = g->kernel_h * g->kernel_w;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int64_t o = 0; o < c->out_c; o++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t k = 0; k < kk; k++) {
                    float sum = 0.0f;
                    for (int t = 0; t < threads; t++)
                        sum += partials[t * c->slot_floats + o * c->col_rows + k * C + ci];
                    float *dst = dw + o * c->col_rows + ci * kk + k;
                    *dst = acc ? *dst + sum : sum;
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

static void conv2d_backward(nn_layer *layer, const nn_pass *pass)
{
    if (pass->unit_rows)
        backward_units(layer->priv, layer, pass);
    else
        backward_batch(layer, pass);
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
    .backward = conv2d_backward,
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

/* conv2d's state and the helpers its forward (conv2d.c) and backward (conv2d_backward.c)
 * share: the layer's plan, each thread's workspace slot, and which products it runs. */
#ifndef NN_LAYERS_CONV2D_INTERNAL_H
#define NN_LAYERS_CONV2D_INTERNAL_H

#include "core/gemm_bf16.h"
#include "core/im2col.h"
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

static inline int64_t round16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

static inline int64_t kk_of(const conv2d *c)
{
    return c->geom.kernel_h * c->geom.kernel_w;
}

/* The lowered input gradient's block (none when dx comes straight from dy). */
static inline int64_t dcol_floats(const conv2d *c)
{
    return c->direct || c->dx_flat ? 0 : round16(c->dx_channels * kk_of(c) * c->pixels);
}

/* x channels-last, which im2row lowers for the weight gradient (a 1x1 layer's product reads
 * x itself). */
static inline int64_t xt_floats(const conv2d *c)
{
    return c->direct ? 0 : round16(c->in_pixels * c->geom.channels);
}

/* Rows of dy lowered for the flat input gradient's convolution (dx_geom). */
static inline int64_t dx_col_rows(const conv2d *c)
{
    return nni_conv_geom_col_rows(&c->dx_geom);
}

static inline conv_slot slot_at(const conv2d *c, float *workspace, int t)
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

static inline float *turned_weights(const conv2d *c, float *workspace)
{
    return workspace + c->threads * c->slot_floats;
}

/* The Winograd-transformed weights of every group: the forward's, or in backward those of the
 * turned weights (points x out x in floats either way). */
static inline float *winograd_weights(const conv2d *c, float *workspace)
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
static inline int use_winograd(const conv2d *c, const nn_layer *layer)
{
    if (!c->winograd || layer->model->direct_conv)
        return 0;
    return !layer->model->bf16 || (c->geom.kernel_h == 3 && !nni_bf16_amx_chosen());
}

/* The first and one-past-last of the samples thread `t` of `threads` takes: consecutive runs,
 * as a static split of the per-sample loop gives. */
static inline int64_t run_start(int64_t batch, int t, int threads)
{
    return batch * t / threads;
}

/* The step's transformed weights of every group, w (M outputs of geometry g) into u, the
 * threads sharing the outputs. */
void nni_conv2d_transform_weights(const conv2d *c, const nni_conv_geom *g, int64_t M,
                                  const float *w, float *u, int threads);

/* The layer's backward (conv2d_backward.c). */
void nni_conv2d_backward(nn_layer *layer, const nn_pass *pass);

#endif

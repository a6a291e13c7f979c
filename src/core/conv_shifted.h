/* Convolutions of images with few channels as sums of shifted planes: a layer's first
 * convolution, which reads 1 (grey) or 3 (colour) channels.
 *
 * With K = channels x kh x kw terms per output, a product over im2col's K rows is too short
 * to pay for its tiles (K = 9 for a 3x3 kernel on a grey image: the residual+inception net's
 * first layer ran at 24% of the FMA peak forward and 12% in its weight gradient). Here each
 * term is instead one vector of pixels loaded from the zero-padded input, shifted by the
 * term's tap:
 *   forward   y[o][chunk] = bias[o] + sum over k of w[o][k] * shifted_k(x)[chunk]
 *             a chunk is one vector of an output row's pixels; two chunks and six outputs
 *             at a time share each load and each broadcast weight;
 *   weight    lanes[o][k][lane] += sum over chunks of dy[o][chunk] * shifted_k(x)[chunk]
 *   gradient  the sums kept lane by lane (one vector per (o, k)) over every sample of a
 *             thread's run or a bitwise unit, then added across the lanes once
 *             (nni_conv_shifted_weight_grad_finish).
 * The forward sums each output's terms in k order, one FMA each, from the bias, exactly as
 * the products over im2col do: the same bits. The weight gradient's sums run in another order
 * than a product over im2row's (lane by lane, then across the lanes), fixed for a given run
 * of samples: deterministic, and in bitwise mode (one run per unit) the same for any split.
 *
 * Only the products with stride 1, dilation 1 and one group fit; the input gradient (not
 * needed by a first layer) stays with the products over im2col. */
#ifndef NN_CORE_CONV_SHIFTED_H
#define NN_CORE_CONV_SHIFTED_H

#include <stdint.h>

#include "core/im2col.h"

/* At most this many terms per output (a 5x5 kernel on 4 channels). */
#define NNI_CONV_SHIFTED_MAX_TERMS 100

/* Whether a convolution (one group's geometry) runs here: stride and dilation 1 and at most
 * 4 input channels, which nni_conv_shifted_*'s loads of shifted planes beat a product over
 * im2col's rows at (tests/bench/bench_step shows the layer's GF/s). */
static inline int nni_conv_shifted_fits(const nni_conv_geom *g)
{
    return g->stride_h == 1 && g->stride_w == 1 && g->dilation_h == 1 && g->dilation_w == 1 &&
           g->channels <= 4 &&
           g->channels * g->kernel_h * g->kernel_w <= NNI_CONV_SHIFTED_MAX_TERMS;
}

/* Floats of the zero-padded input, the scratch the functions below need. */
static inline int64_t nni_conv_shifted_scratch(const nni_conv_geom *g)
{
    const int64_t rows = g->out_h + g->kernel_h - 1, cols = g->out_w + g->kernel_w - 1;
    return g->channels * rows * cols + 16;
}

/* Floats of the weight gradient's lane sums for M outputs (up to 16 lanes a vector). */
static inline int64_t nni_conv_shifted_lane_floats(const nni_conv_geom *g, int64_t M)
{
    return M * g->channels * g->kernel_h * g->kernel_w * 16;
}

/* y (M x out_h x out_w) = the convolution of one sample's x (channels x in_h x in_w) with w
 * (M x channels x kh x kw, torch's layout), plus bias[o] (NULL: none). relu (NULL: none)
 * receives relu(y) as well, with the relu activation's bits, as each vector of y is stored:
 * a fused relu without a pass of its own over y. y NULL (with relu): relu(y) alone. */
void nni_conv_shifted_forward(const nni_conv_geom *g, int64_t M, const float *w,
                              const float *bias, const float *x, float *y, float *relu,
                              float *scratch);

/* lanes += one sample's weight-gradient terms, x as above and dy (M x out_h x out_w). Zero
 * lanes (nni_conv_shifted_lane_floats of them) start a run of samples. */
void nni_conv_shifted_weight_grad(const nni_conv_geom *g, int64_t M, const float *x,
                                  const float *dy, float *lanes, float *scratch);

/* dw[o * ldw + k * channels + c] (im2row's (kh, kw, in) column order) = the lane sums of
 * output o, term (c, k), added across the lanes in lane order. */
void nni_conv_shifted_weight_grad_finish(const nni_conv_geom *g, int64_t M,
                                         const float *lanes, float *dw, int64_t ldw);

#endif

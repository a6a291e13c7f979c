/* Winograd's minimal filtering F(2x2, 3x3) and F(2x2, 5x5) for stride-1, undilated square
 * convolutions (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
 *
 * Each 2x2 block of outputs (a tile) of an r x r kernel comes from the t x t patch of input
 * under it (t = r + 1):
 *   y_tile = A^T [ sum over c of (G w[o][c] G^T) .* (B^T x_patch[c] B) ] A
 * so the sum over channels is t x t independent products U[xi] (out x C) times V[xi]
 * (C x tiles), one per element xi of the transformed patch: t^2 multiply-adds per tile and
 * channel pair where the direct convolution does 4 r^2, 2.25 times fewer for 3x3 (16 for
 * 36) and 2.8 times fewer for 5x5 (36 for 100). The transforms are fixed combinations with
 * small coefficients (core/winograd_matrices.h); they run a block of tile rows at a time so
 * that V and the products' output stay in cache (nni_winograd_block_rows).
 *
 * The rounding differs from the direct sum's (the input is combined before it is multiplied):
 * the results agree with the direct convolution to about 3e-7 (3x3) and 2e-6 (5x5) of their
 * scale (tests/unit/test_winograd.c); each output depends only on its own sample, so a run
 * is as reproducible as with the direct products. */
#ifndef NN_CORE_WINOGRAD_H
#define NN_CORE_WINOGRAD_H

#include <stdint.h>

#include "core/im2col.h"

/* The geometries this computes: a 3x3 or 5x5 kernel at stride 1 without dilation (any
 * padding). */
static inline int nni_winograd_fits(const nni_conv_geom *g)
{
    return g->kernel_h == g->kernel_w && (g->kernel_h == 3 || g->kernel_h == 5) &&
           g->stride_h == 1 && g->stride_w == 1 && g->dilation_h == 1 && g->dilation_w == 1;
}

/* Elements of a transformed patch: (r + 1)^2, 16 or 36. */
static inline int64_t nni_winograd_points(const nni_conv_geom *g)
{
    return (g->kernel_h + 1) * (g->kernel_h + 1);
}

/* Tiles across and down the output. */
static inline int64_t nni_winograd_tiles_w(const nni_conv_geom *g)
{
    return (g->out_w + 1) / 2;
}

static inline int64_t nni_winograd_tiles_h(const nni_conv_geom *g)
{
    return (g->out_h + 1) / 2;
}

/* Tile rows per block for M outputs: V (points x channels x tiles) and the products
 * (points x M x tiles) together about 2 MiB, 18 tile rows of a 28 x 28 image of 64 channels
 * at 3x3. A block runs on from one sample's tile rows into the next's, the products' columns
 * being its tiles: blocks once stopped at one image's rows, 49 columns at 14 x 14 where 36
 * rows (3x3) and 16 (5x5) make 252 and 112, and the residual+inception net's 14 x 14 layers
 * then ran 15-24% slower (inc_5x5's forward 9.7 ms against 7.4, bench_step, 1 core). */
static inline int64_t nni_winograd_block_rows(const nni_conv_geom *g, int64_t M)
{
    const int64_t budget = 524288 / (nni_winograd_points(g) * (g->channels + M));
    const int64_t rows = budget / nni_winograd_tiles_w(g);
    return rows < 1 ? 1 : rows;
}

/* A block's row stride in V and in the products: its tiles rounded up to 16 floats. */
static inline int64_t nni_winograd_block_ld(const nni_conv_geom *g, int64_t M)
{
    return (nni_winograd_block_rows(g, M) * nni_winograd_tiles_w(g) + 15) & ~(int64_t)15;
}

/* Floats from one element of a transformed patch to the next in a block's V (rows =
 * channels) or products (rows = outputs): the rows, and a cache line more. Without it the
 * t^2 elements sit a multiple of 4 KiB apart (64 rows of 256 floats: 64 KiB), so the
 * transforms' t^2 streams of loads or stores all fall in the same set of the L1 cache,
 * more than its ways. */
static inline int64_t nni_winograd_point_floats(int64_t rows, int64_t ld)
{
    return rows * ld + 16;
}

/* The transformed weights of outputs m0 .. m1 - 1 of M: u[xi][m][c] = (G w[m][c] G^T)[xi]
 * for w in torch's layout w[m][c][r][r], c < g->channels; u is points x M x channels floats,
 * of which each range writes its own rows (threads can share the outputs). */
void nni_winograd_weights(const nni_conv_geom *g, int64_t M, int64_t m0, int64_t m1,
                          const float *w, float *u);

/* Floats of scratch nni_winograd_conv and nni_winograd_weight_grad need for M outputs (per
 * calling thread). */
int64_t nni_winograd_scratch(const nni_conv_geom *g, int64_t M);

/* Where nni_winograd_conv's outputs go: sample n's at y + n stride (M x out_h x out_w);
 * accumulate = 0 overwrites them, plus bias[m] unless bias is NULL; relu (NULL: none; not
 * with accumulate) receives relu(y) too, in the same layout, with the relu activation's bits,
 * as each vector of y is stored: a fused relu without a pass of its own over y; with
 * relu_only, instead of y (a training pass, where nothing reads y). */
typedef struct nni_winograd_out {
    float *y;
    int64_t stride;
    const float *bias;
    float *relu;
    int accumulate, relu_only;
} nni_winograd_out;

/* bf16 (train.precision: bf16): the products between the transforms in bf16 with float sums
 * (core/gemm_bf16.h); the transforms stay in float.
 *
 * out's y[m] (+)= the convolution of x (g->channels x in_h x in_w) with the weights
 * transformed into u, for m < M, for each of `samples` images (sample n's x at
 * x + n x_stride). scratch: nni_winograd_scratch floats. The products take tiles of
 * consecutive samples together; each output's value is the same whichever samples share a
 * call. */
void nni_winograd_conv(const nni_conv_geom *g, int64_t M, const float *u, int64_t samples,
                       const float *x, int64_t x_stride, const nni_winograd_out *out, int bf16,
                       float *scratch);

/* The weight gradient's transformed sums: du[xi][m][c] += sum over the tiles of the samples
 * of (A dy_tile A^T)[xi] * (B^T x_patch[c] B)[xi], for inputs x and output gradients dy
 * (M x out_h x out_w each, strides as in nni_winograd_conv) of the convolution
 * nni_winograd_conv computes; du is points x M x channels floats. The sums' order depends
 * on the samples given together (a fixed range of them gives fixed bits). */
void nni_winograd_weight_grad(const nni_conv_geom *g, int64_t M, int64_t samples,
                              const float *x, int64_t x_stride, const float *dy,
                              int64_t dy_stride, float *du, int bf16, float *scratch);

/* The weight gradient from the sums du: dw = G^T du G, element (m, c, ki, kj) written at
 * dw[m * m_stride + (ki * r + kj) * k_stride + c * c_stride]. */
void nni_winograd_weight_grad_finish(const nni_conv_geom *g, int64_t M, const float *du,
                                     float *dw, int64_t m_stride, int64_t k_stride,
                                     int64_t c_stride);

#endif

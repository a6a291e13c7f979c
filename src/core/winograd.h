/* Winograd's minimal filtering F(2x2, 3x3) for stride-1, undilated 3x3 convolutions (Lavin
 * and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
 *
 * Each 2x2 block of outputs (a tile) comes from the 4x4 patch of input under it:
 *   y_tile = A^T [ sum over c of (G w[o][c] G^T) .* (B^T x_patch[c] B) ] A
 * so the sum over channels is 16 independent products U[xi] (out x C) times V[xi] (C x tiles),
 * one per element xi of the 4x4 transformed patch: 16 multiply-adds per tile and channel
 * pair where the direct convolution does 4 x 9 = 36, 2.25 times fewer. The transforms add
 * and subtract (B, A) or halve (G) only; they run a block of tile rows at a time, so that
 * V and the products' output stay in L2 (nni_winograd_block_rows).
 *
 * The rounding differs from the direct sum's (the input is combined before it is multiplied):
 * the results agree with the direct convolution to about 1e-6 relative to the size of the
 * terms, as a different order of summation would; each output depends only on its own sample,
 * so a run is as reproducible as with the direct products (for any thread or rank count). */
#ifndef NN_CORE_WINOGRAD_H
#define NN_CORE_WINOGRAD_H

#include <stdint.h>

#include "core/im2col.h"

/* The geometries this computes: a 3x3 kernel at stride 1 without dilation (any padding). */
static inline int nni_winograd_fits(const nni_conv_geom *g)
{
    return g->kernel_h == 3 && g->kernel_w == 3 && g->stride_h == 1 && g->stride_w == 1 &&
           g->dilation_h == 1 && g->dilation_w == 1;
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

/* Tile rows per block for M outputs: V (16 x channels x tiles) and the products (16 x M x
 * tiles) together about 512 KiB, half of a 1 MiB L2. */
static inline int64_t nni_winograd_block_rows(const nni_conv_geom *g, int64_t M)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), tiles_h = nni_winograd_tiles_h(g);
    const int64_t budget = 32768 / (g->channels + M); /* tiles a block */
    int64_t rows = budget / tiles_w;
    rows = rows < 1 ? 1 : rows > tiles_h ? tiles_h : rows;
    return rows;
}

/* A block's row stride in V and in the products: its tiles rounded up to 16 floats. */
static inline int64_t nni_winograd_block_ld(const nni_conv_geom *g, int64_t M)
{
    return (nni_winograd_block_rows(g, M) * nni_winograd_tiles_w(g) + 15) & ~(int64_t)15;
}

/* The transformed weights of M outputs: u[xi][m][c] = (G w[m][c] G^T)[xi] for w in torch's
 * layout w[m][c][3][3], c < g->channels; 16 x M x channels floats. */
void nni_winograd_weights(const nni_conv_geom *g, int64_t M, const float *w, float *u);

/* Floats of scratch nni_winograd_conv needs for M outputs (per calling thread). */
int64_t nni_winograd_scratch(const nni_conv_geom *g, int64_t M);

/* y[m] (+)= the convolution of x (g->channels x in_h x in_w) with the weights transformed
 * into u, for m < M; accumulate = 0 overwrites y. scratch: nni_winograd_scratch floats. */
void nni_winograd_conv(const nni_conv_geom *g, int64_t M, const float *u, const float *x,
                       float *y, int accumulate, float *scratch);

/* The weight gradient's transformed sums of one sample: du[xi][m][c] += sum over tiles of
 * (A dy_tile A^T)[xi] * (B^T x_patch[c] B)[xi], for x and the output gradient dy (M x out_h x
 * out_w) of the convolution nni_winograd_conv computes; du is 16 x M x channels floats. */
void nni_winograd_weight_grad(const nni_conv_geom *g, int64_t M, const float *x,
                              const float *dy, float *du, float *scratch);

/* The weight gradient from the sums du: dw = G^T du G, element (m, c, ki, kj) written at
 * dw[m * m_stride + (ki * 3 + kj) * k_stride + c * c_stride]. */
void nni_winograd_weight_grad_finish(const nni_conv_geom *g, int64_t M, const float *du,
                                     float *dw, int64_t m_stride, int64_t k_stride,
                                     int64_t c_stride);

#endif

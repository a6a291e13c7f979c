/* The weight transforms and scratch size of the Winograd convolution (core/winograd.h); the
 * convolution itself is a kernel (core/winograd.c). Both transforms run on blocks of input
 * channels with the channel innermost, so that their loops are vector loops. */
#include "core/winograd.h"

#include "core/winograd_matrices.h"

#define CHANNEL_BLOCK 64

/* out[c] = sum over q < terms of coef[q * coef_stride] * in[q * in_stride + c], for c < n;
 * zero coefficients skipped. */
static void combine_channels(float *restrict out, const float *coef, int coef_stride,
                             const float *restrict in, int64_t in_stride, int terms, int64_t n)
{
    for (int64_t c = 0; c < n; c++)
        out[c] = 0.0f;
    for (int q = 0; q < terms; q++) {
        const float weight = coef[q * coef_stride];
        const float *restrict row = in + q * in_stride;
        for (int64_t c = 0; weight != 0.0f && c < n; c++)
            out[c] += weight * row[c];
    }
}

void nni_winograd_weights(const nni_conv_geom *g, int64_t M, int64_t m0, int64_t m1,
                          const float *w, float *u)
{
    const nni_winograd_matrices *mx = nni_winograd_matrices_of(g);
    const int r = mx->r, t = mx->t, rr = r * r;
    const int64_t C = g->channels;
    for (int64_t mo = m0; mo < m1; mo++)
        for (int64_t c0 = 0; c0 < C; c0 += CHANNEL_BLOCK) {
            const int64_t n = C - c0 < CHANNEL_BLOCK ? C - c0 : CHANNEL_BLOCK;
            float k[25][CHANNEL_BLOCK], gk[6][5][CHANNEL_BLOCK];
            for (int64_t c = 0; c < n; c++) /* the kernels channel-innermost */
                for (int pq = 0; pq < rr; pq++)
                    k[pq][c] = w[(mo * C + c0 + c) * rr + pq];
            for (int a = 0; a < t; a++) /* G k: row a, column col */
                for (int col = 0; col < r; col++)
                    combine_channels(gk[a][col], mx->g[a], 1, k[col], r * CHANNEL_BLOCK, r, n);
            for (int a = 0; a < t; a++) /* ... G^T */
                for (int l = 0; l < t; l++)
                    combine_channels(u + ((a * t + l) * M + mo) * C + c0, mx->g[l], 1,
                                     gk[a][0], CHANNEL_BLOCK, r, n);
        }
}

void nni_winograd_weight_grad_finish(const nni_conv_geom *g, int64_t M, const float *du,
                                     float *dw, int64_t m_stride, int64_t k_stride,
                                     int64_t c_stride)
{
    const nni_winograd_matrices *mx = nni_winograd_matrices_of(g);
    const int r = mx->r, t = mx->t;
    const int64_t C = g->channels;
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t c0 = 0; c0 < C; c0 += CHANNEL_BLOCK) {
            const int64_t n = C - c0 < CHANNEL_BLOCK ? C - c0 : CHANNEL_BLOCK;
            float s[5][6][CHANNEL_BLOCK], out[CHANNEL_BLOCK];
            for (int a = 0; a < r; a++) /* G^T du: column a of G down the rows k */
                for (int l = 0; l < t; l++)
                    combine_channels(s[a][l], &mx->g[0][a], 5, du + (l * M + mo) * C + c0,
                                     t * M * C, t, n);
            for (int a = 0; a < r; a++) /* ... G */
                for (int b = 0; b < r; b++) {
                    combine_channels(out, &mx->g[0][b], 5, s[a][0], CHANNEL_BLOCK, t, n);
                    float *dst = dw + mo * m_stride + (a * r + b) * k_stride + c0 * c_stride;
                    for (int64_t c = 0; c < n; c++)
                        dst[c * c_stride] = out[c];
                }
        }
}

int64_t nni_winograd_scratch(const nni_conv_geom *g, int64_t M)
{
    const int64_t ld = nni_winograd_block_ld(g, M);
    return nni_winograd_points(g) * (nni_winograd_point_floats(g->channels, ld) +
                                     nni_winograd_point_floats(M, ld)) + 16;
}

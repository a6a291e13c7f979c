/* The weight transforms and scratch size of the Winograd convolution (core/winograd.h); the
 * convolution itself is a kernel (core/winograd.c). Both transforms run on blocks of input
 * channels with the channel innermost, so that their loops are vector loops. */
#include "core/winograd.h"

#include "core/winograd_matrices.h"

#define CHANNEL_BLOCK 64

void nni_winograd_weights(const nni_conv_geom *g, int64_t M, const float *w, float *u)
{
    const nni_winograd_matrices *mx = nni_winograd_matrices_of(g);
    const int r = mx->r, t = mx->t, rr = r * r;
    const int64_t C = g->channels;
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t c0 = 0; c0 < C; c0 += CHANNEL_BLOCK) {
            const int64_t n = C - c0 < CHANNEL_BLOCK ? C - c0 : CHANNEL_BLOCK;
            float k[25][CHANNEL_BLOCK], gk[6][5][CHANNEL_BLOCK];
            for (int64_t c = 0; c < n; c++) /* the kernels channel-innermost */
                for (int pq = 0; pq < rr; pq++)
                    k[pq][c] = w[(mo * C + c0 + c) * rr + pq];
            for (int a = 0; a < t; a++) /* G k */
                for (int col = 0; col < r; col++) {
                    float *restrict out = gk[a][col];
                    for (int64_t c = 0; c < n; c++)
                        out[c] = 0.0f;
                    for (int q = 0; q < r; q++) {
                        const float coef = mx->g[a][q];
                        const float *restrict in = k[q * r + col];
                        for (int64_t c = 0; coef != 0.0f && c < n; c++)
                            out[c] += coef * in[c];
                    }
                }
            for (int a = 0; a < t; a++) /* ... G^T */
                for (int l = 0; l < t; l++) {
                    float *restrict out = u + ((a * t + l) * M + mo) * C + c0;
                    for (int64_t c = 0; c < n; c++)
                        out[c] = 0.0f;
                    for (int q = 0; q < r; q++) {
                        const float coef = mx->g[l][q];
                        const float *restrict in = gk[a][q];
                        for (int64_t c = 0; coef != 0.0f && c < n; c++)
                            out[c] += coef * in[c];
                    }
                }
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
            for (int a = 0; a < r; a++) /* G^T du */
                for (int l = 0; l < t; l++) {
                    float *restrict sum = s[a][l];
                    for (int64_t c = 0; c < n; c++)
                        sum[c] = 0.0f;
                    for (int k = 0; k < t; k++) {
                        const float coef = mx->g[k][a];
                        const float *restrict in = du + ((k * t + l) * M + mo) * C + c0;
                        for (int64_t c = 0; coef != 0.0f && c < n; c++)
                            sum[c] += coef * in[c];
                    }
                }
            for (int a = 0; a < r; a++) /* ... G */
                for (int b = 0; b < r; b++) {
                    for (int64_t c = 0; c < n; c++)
                        out[c] = 0.0f;
                    for (int l = 0; l < t; l++) {
                        const float coef = mx->g[l][b];
                        const float *restrict in = s[a][l];
                        for (int64_t c = 0; coef != 0.0f && c < n; c++)
                            out[c] += coef * in[c];
                    }
                    float *dst = dw + mo * m_stride + (a * r + b) * k_stride + c0 * c_stride;
                    for (int64_t c = 0; c < n; c++)
                        dst[c * c_stride] = out[c];
                }
        }
}

int64_t nni_winograd_scratch(const nni_conv_geom *g, int64_t M)
{
    const int64_t ld = nni_winograd_block_ld(g, M);
    return nni_winograd_points(g) * (g->channels + M) * ld + 16;
}

/* The weight transforms and scratch size of the Winograd convolution (core/winograd.h); the
 * convolution itself is a kernel (core/winograd.c). */
#include "core/winograd.h"

#include "core/winograd_matrices.h"

void nni_winograd_weights(const nni_conv_geom *g, int64_t M, const float *w, float *u)
{
    const nni_winograd_matrices *mx = nni_winograd_matrices_of(g);
    const int r = mx->r, t = mx->t;
    const int64_t C = g->channels;
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t c = 0; c < C; c++) {
            const float *k = w + (mo * C + c) * r * r;
            float gk[6][5]; /* G k */
            for (int a = 0; a < t; a++)
                for (int col = 0; col < r; col++) {
                    float sum = 0.0f;
                    for (int q = 0; q < r; q++)
                        sum += mx->g[a][q] * k[q * r + col];
                    gk[a][col] = sum;
                }
            for (int a = 0; a < t; a++) /* ... G^T */
                for (int l = 0; l < t; l++) {
                    float sum = 0.0f;
                    for (int q = 0; q < r; q++)
                        sum += gk[a][q] * mx->g[l][q];
                    u[((a * t + l) * M + mo) * C + c] = sum;
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
        for (int64_t c = 0; c < C; c++) {
            float s[5][6]; /* G^T du */
            for (int a = 0; a < r; a++)
                for (int l = 0; l < t; l++) {
                    float sum = 0.0f;
                    for (int k = 0; k < t; k++)
                        sum += mx->g[k][a] * du[((k * t + l) * M + mo) * C + c];
                    s[a][l] = sum;
                }
            for (int a = 0; a < r; a++) /* ... G */
                for (int b = 0; b < r; b++) {
                    float sum = 0.0f;
                    for (int l = 0; l < t; l++)
                        sum += s[a][l] * mx->g[l][b];
                    dw[mo * m_stride + (a * r + b) * k_stride + c * c_stride] = sum;
                }
        }
}

int64_t nni_winograd_scratch(const nni_conv_geom *g, int64_t M)
{
    const int64_t ld = nni_winograd_block_ld(g, M);
    return nni_winograd_points(g) * (g->channels + M) * ld + 16;
}

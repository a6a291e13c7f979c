/* The weight transform and scratch size of the F(2x2, 3x3) convolution (core/winograd.h);
 * the convolution itself is a kernel (core/winograd.c). */
#include "core/winograd.h"

void nni_winograd_weights(const nni_conv_geom *g, int64_t M, const float *w, float *u)
{
    const int64_t C = g->channels;
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t c = 0; c < C; c++) {
            const float *k = w + (mo * C + c) * 9;
            float gk[4][3]; /* G k: rows k0, (k0 + k1 + k2) / 2, (k0 - k1 + k2) / 2, k2 */
            for (int col = 0; col < 3; col++) {
                const float a = k[col], b = k[3 + col], d = k[6 + col];
                gk[0][col] = a;
                gk[1][col] = 0.5f * (a + b + d);
                gk[2][col] = 0.5f * (a - b + d);
                gk[3][col] = d;
            }
            for (int r = 0; r < 4; r++) { /* ... G^T: the same along each row */
                const float a = gk[r][0], b = gk[r][1], d = gk[r][2];
                const float out[4] = {a, 0.5f * (a + b + d), 0.5f * (a - b + d), d};
                for (int l = 0; l < 4; l++)
                    u[((4 * r + l) * M + mo) * C + c] = out[l];
            }
        }
}

void nni_winograd_weight_grad_finish(const nni_conv_geom *g, int64_t M, const float *du,
                                     float *dw, int64_t m_stride, int64_t k_stride,
                                     int64_t c_stride)
{
    const int64_t C = g->channels;
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t c = 0; c < C; c++) {
            float t[4][4], s[3][4];
            for (int xi = 0; xi < 16; xi++)
                t[xi / 4][xi % 4] = du[(xi * M + mo) * C + c];
            /* G^T t: rows t0 + (t1 + t2) / 2, (t1 - t2) / 2, (t1 + t2) / 2 + t3 */
            for (int l = 0; l < 4; l++) {
                s[0][l] = t[0][l] + 0.5f * (t[1][l] + t[2][l]);
                s[1][l] = 0.5f * (t[1][l] - t[2][l]);
                s[2][l] = 0.5f * (t[1][l] + t[2][l]) + t[3][l];
            }
            for (int r = 0; r < 3; r++) { /* ... G: the same along each row */
                const float out[3] = {s[r][0] + 0.5f * (s[r][1] + s[r][2]),
                                      0.5f * (s[r][1] - s[r][2]),
                                      0.5f * (s[r][1] + s[r][2]) + s[r][3]};
                for (int q = 0; q < 3; q++)
                    dw[mo * m_stride + (r * 3 + q) * k_stride + c * c_stride] = out[q];
            }
        }
}

int64_t nni_winograd_scratch(const nni_conv_geom *g, int64_t M)
{
    const int64_t ld = nni_winograd_block_ld(g, M), tiles_w = nni_winograd_tiles_w(g);
    const int64_t line = 10 * (tiles_w + 1) + 12 * tiles_w; /* transform rows, either way */
    return 16 * (g->channels + M) * ld + line + 16;
}

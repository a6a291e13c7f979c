/* F(2x2, 3x3) convolution (core/winograd.h): the input and output transforms and the 16
 * products between them, a block of tile rows at a time.
 *
 * The transforms work on whole tile rows so that their loops run along contiguous arrays,
 * which the compiler vectorizes: tile j's 4x4 patch covers the padded input columns 2j..2j+3,
 * so each padded input row is first split into its even and odd columns (e[j] = column 2j,
 * o[j] = column 2j + 1); B^T d B then only adds and subtracts e[j], o[j], e[j + 1] and
 * o[j + 1]. The output transform makes the four outputs of every tile in a row of tiles and
 * interleaves them back into two image rows. */
#include "core/winograd.h"

#include <string.h>

#include "core/gemm.h"
#include "core/kernel_set.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* A padded input row split into even and odd columns: e and o (tiles_w + 1 each). */
static void split_row(const nni_conv_geom *g, const float *restrict x_row, int valid,
                      float *restrict padded, float *restrict e, float *restrict o)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), wide = 2 * tiles_w + 2;
    memset(padded, 0, (size_t)wide * sizeof *padded);
    if (valid) {
        const int64_t from = g->pad_left > 0 ? g->pad_left : 0, skip = from - g->pad_left;
        int64_t count = g->in_w - skip;
        count = from + count > wide ? wide - from : count;
        if (count > 0)
            memcpy(padded + from, x_row + skip, (size_t)count * sizeof *padded);
    }
    for (int64_t j = 0; j <= tiles_w; j++) {
        e[j] = padded[2 * j];
        o[j] = padded[2 * j + 1];
    }
}

/* V[xi][c][t] for the tiles of tile rows first .. first + rows - 1 (t counted from the block's
 * first tile), every input channel. */
static void transform_input(const nni_conv_geom *g, const float *x, int64_t first, int64_t rows,
                            float *restrict v, int64_t ld, float *line)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), C = g->channels, n = tiles_w + 1;
    float *padded = line, *e = padded + 2 * n, *o = e + 4 * n;
    for (int64_t c = 0; c < C; c++) {
        const float *plane = x + c * g->in_h * g->in_w;
        for (int64_t i = first; i < first + rows; i++) {
            for (int k = 0; k < 4; k++) {
                const int64_t iy = 2 * i - g->pad_top + k;
                const int valid = iy >= 0 && iy < g->in_h;
                split_row(g, plane + (valid ? iy : 0) * g->in_w, valid, padded, e + k * n,
                          o + k * n);
            }
            /* B^T d: rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3), on both halves. */
            for (float *h = e; h <= o; h += 4 * n) {
                float *restrict d0 = h, *restrict d1 = h + n, *restrict d2 = h + 2 * n,
                                *restrict d3 = h + 3 * n;
                for (int64_t j = 0; j < n; j++) {
                    const float a = d0[j], b = d1[j], c2 = d2[j], d = d3[j];
                    d0[j] = a - c2;
                    d1[j] = b + c2;
                    d2[j] = c2 - b;
                    d3[j] = b - d;
                }
            }
            /* ... B: the same on columns (e[j], o[j], e[j + 1], o[j + 1]). */
            const int64_t at = c * ld + (i - first) * tiles_w;
            for (int k = 0; k < 4; k++) {
                const float *restrict ek = e + k * n, *restrict ok = o + k * n;
                float *restrict v0 = v + (4 * k) * C * ld + at, *restrict v1 = v0 + C * ld,
                                *restrict v2 = v1 + C * ld, *restrict v3 = v2 + C * ld;
                for (int64_t j = 0; j < tiles_w; j++) {
                    v0[j] = ek[j] - ek[j + 1];
                    v1[j] = ok[j] + ek[j + 1];
                    v2[j] = ek[j + 1] - ok[j];
                    v3[j] = ok[j] - ok[j + 1];
                }
            }
        }
    }
}

/* y (+)= A^T m A for the block's tiles, every output. */
static void transform_output(const nni_conv_geom *g, int64_t M, const float *m, int64_t ld,
                             int64_t first, int64_t rows, float *y, int accumulate, float *line)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), plane = g->out_h * g->out_w;
    float *restrict top = line, *restrict bottom = top + 2 * tiles_w;
    float *restrict p = bottom + 2 * tiles_w; /* 8 x tiles_w: A^T m, two rows of 4 */
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t i = first; i < first + rows; i++) {
            const float *mt = m + mo * ld + (i - first) * tiles_w;
            /* A^T m: (m0 + m1 + m2, m1 - m2 - m3) down each column l. */
            for (int l = 0; l < 4; l++) {
                const float *restrict m0 = mt + l * M * ld, *restrict m1 = m0 + 4 * M * ld,
                                      *restrict m2 = m1 + 4 * M * ld,
                                      *restrict m3 = m2 + 4 * M * ld;
                float *restrict p0 = p + l * tiles_w, *restrict p1 = p0 + 4 * tiles_w;
                for (int64_t j = 0; j < tiles_w; j++) {
                    p0[j] = m0[j] + m1[j] + m2[j];
                    p1[j] = m1[j] - m2[j] - m3[j];
                }
            }
            /* ... A, interleaved into the two output rows. */
            for (int r = 0; r < 2; r++) {
                const float *restrict q0 = p + 4 * r * tiles_w, *restrict q1 = q0 + tiles_w,
                                      *restrict q2 = q1 + tiles_w, *restrict q3 = q2 + tiles_w;
                float *restrict out = r ? bottom : top;
                for (int64_t j = 0; j < tiles_w; j++) {
                    out[2 * j] = q0[j] + q1[j] + q2[j];
                    out[2 * j + 1] = q1[j] - q2[j] - q3[j];
                }
            }
            for (int r = 0; r < 2 && 2 * i + r < g->out_h; r++) {
                const float *restrict src = r ? bottom : top;
                float *restrict dst = y + mo * plane + (2 * i + r) * g->out_w;
                if (accumulate)
                    for (int64_t j = 0; j < g->out_w; j++)
                        dst[j] += src[j];
                else
                    memcpy(dst, src, (size_t)g->out_w * sizeof *dst);
            }
        }
}

/* D[xi][m][t] = (A dy_tile A^T)[xi] for the block's tiles, every output m: the 2x2 output
 * gradients of each tile spread over the 4x4 transformed patch (the weight gradient's
 * counterpart of transform_output), 0 beyond the image's last row and column. */
static void transform_grad(const nni_conv_geom *g, int64_t M, const float *dy, int64_t first,
                           int64_t rows, float *restrict d, int64_t ld)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), W = g->out_w, plane = g->out_h * W;
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t i = first; i < first + rows; i++)
            for (int64_t j = 0; j < tiles_w; j++) {
                const float *t = dy + mo * plane + 2 * i * W + 2 * j;
                const int right = 2 * j + 1 < W, below = 2 * i + 1 < g->out_h;
                const float a = t[0], b = right ? t[1] : 0.0f, c = below ? t[W] : 0.0f,
                            e = right && below ? t[W + 1] : 0.0f;
                /* A d: rows (d0, d0 + d1, d0 - d1, -d1); then ... A^T along each row. */
                const float r[4][2] = {{a, b}, {a + c, b + e}, {a - c, b - e}, {-c, -e}};
                float *at = d + mo * ld + (i - first) * tiles_w + j;
                for (int k = 0; k < 4; k++) {
                    const float p = r[k][0], q = r[k][1];
                    at[(4 * k + 0) * M * ld] = p;
                    at[(4 * k + 1) * M * ld] = p + q;
                    at[(4 * k + 2) * M * ld] = p - q;
                    at[(4 * k + 3) * M * ld] = -q;
                }
            }
}

#if defined(__AVX512F__)
/* The same transforms with a tile row in one vector: for images up to 32 wide (15 tiles,
 * 30 padded columns), whose rows the loops above split into many short loops. Each step is
 * the same float operation as there, in the same order: the same bits. */
static int fits_vectors(const nni_conv_geom *g)
{
    return g->in_w <= 32 && g->out_w <= 30 && g->pad_left >= 0 && g->pad_left <= 2;
}

static __mmask16 first_lanes(int64_t n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

static void transform_input_vectors(const nni_conv_geom *g, const float *x, int64_t first,
                                    int64_t rows, float *v, int64_t ld)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), C = g->channels, W = g->in_w;
    const int pl = (int)g->pad_left;
    /* Padded column q is input column q - pl: the even and odd ones picked from a row held
     * in two vectors, zero outside the image. */
    __m512i even = _mm512_setzero_si512(), odd = even;
    __mmask16 even_in = 0, odd_in = 0;
    for (int j = 0; j < 16; j++) {
        const int e = 2 * j - pl, o = 2 * j + 1 - pl;
        even = _mm512_mask_set1_epi32(even, (__mmask16)(1u << j), e < 0 ? 0 : e & 31);
        odd = _mm512_mask_set1_epi32(odd, (__mmask16)(1u << j), o < 0 ? 0 : o & 31);
        even_in |= (__mmask16)((e >= 0 && e < W) << j);
        odd_in |= (__mmask16)((o >= 0 && o < W) << j);
    }
    const __m512i next = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                           15);
    const __mmask16 low = first_lanes(W), high = first_lanes(W - 16), out = first_lanes(tiles_w);
    for (int64_t c = 0; c < C; c++) {
        const float *plane = x + c * g->in_h * W;
        for (int64_t i = first; i < first + rows; i++) {
            __m512 e[4], o[4];
            for (int k = 0; k < 4; k++) {
                const int64_t iy = 2 * i - g->pad_top + k;
                if (iy < 0 || iy >= g->in_h) {
                    e[k] = o[k] = _mm512_setzero_ps();
                    continue;
                }
                const float *row = plane + iy * W;
                const __m512 lo = _mm512_maskz_loadu_ps(low, row);
                const __m512 hi = _mm512_maskz_loadu_ps(high, high ? row + 16 : row);
                e[k] = _mm512_maskz_permutex2var_ps(even_in, lo, even, hi);
                o[k] = _mm512_maskz_permutex2var_ps(odd_in, lo, odd, hi);
            }
            __m512 te[4], to[4];
            te[0] = _mm512_sub_ps(e[0], e[2]);
            te[1] = _mm512_add_ps(e[1], e[2]);
            te[2] = _mm512_sub_ps(e[2], e[1]);
            te[3] = _mm512_sub_ps(e[1], e[3]);
            to[0] = _mm512_sub_ps(o[0], o[2]);
            to[1] = _mm512_add_ps(o[1], o[2]);
            to[2] = _mm512_sub_ps(o[2], o[1]);
            to[3] = _mm512_sub_ps(o[1], o[3]);
            float *at = v + c * ld + (i - first) * tiles_w;
            for (int k = 0; k < 4; k++) {
                const __m512 e1 = _mm512_permutexvar_ps(next, te[k]);
                const __m512 o1 = _mm512_permutexvar_ps(next, to[k]);
                float *v0 = at + (4 * k) * C * ld;
                _mm512_mask_storeu_ps(v0, out, _mm512_sub_ps(te[k], e1));
                _mm512_mask_storeu_ps(v0 + C * ld, out, _mm512_add_ps(to[k], e1));
                _mm512_mask_storeu_ps(v0 + 2 * C * ld, out, _mm512_sub_ps(e1, to[k]));
                _mm512_mask_storeu_ps(v0 + 3 * C * ld, out, _mm512_sub_ps(to[k], o1));
            }
        }
    }
}

static void transform_output_vectors(const nni_conv_geom *g, int64_t M, const float *m,
                                     int64_t ld, int64_t first, int64_t rows, float *y,
                                     int accumulate)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), plane = g->out_h * g->out_w;
    const __mmask16 in = first_lanes(tiles_w), low = first_lanes(g->out_w),
                    high = first_lanes(g->out_w - 16);
    const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22,
                                             7, 23);
    const __m512i hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14,
                                             30, 15, 31);
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t i = first; i < first + rows; i++) {
            const float *mt = m + mo * ld + (i - first) * tiles_w;
            __m512 p0[4], p1[4];
            for (int l = 0; l < 4; l++) {
                const __m512 m0 = _mm512_maskz_loadu_ps(in, mt + l * M * ld);
                const __m512 m1 = _mm512_maskz_loadu_ps(in, mt + (4 + l) * M * ld);
                const __m512 m2 = _mm512_maskz_loadu_ps(in, mt + (8 + l) * M * ld);
                const __m512 m3 = _mm512_maskz_loadu_ps(in, mt + (12 + l) * M * ld);
                p0[l] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                p1[l] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
            }
            for (int r = 0; r < 2 && 2 * i + r < g->out_h; r++) {
                const __m512 *q = r ? p1 : p0;
                const __m512 a = _mm512_add_ps(_mm512_add_ps(q[0], q[1]), q[2]);
                const __m512 b = _mm512_sub_ps(_mm512_sub_ps(q[1], q[2]), q[3]);
                __m512 lo = _mm512_permutex2var_ps(a, lo_idx, b);
                __m512 hi = _mm512_permutex2var_ps(a, hi_idx, b);
                float *dst = y + mo * plane + (2 * i + r) * g->out_w;
                float *dst_hi = high ? dst + 16 : dst;
                if (accumulate) {
                    lo = _mm512_add_ps(_mm512_maskz_loadu_ps(low, dst), lo);
                    hi = _mm512_add_ps(_mm512_maskz_loadu_ps(high, dst_hi), hi);
                }
                _mm512_mask_storeu_ps(dst, low, lo);
                _mm512_mask_storeu_ps(dst_hi, high, hi);
            }
        }
}

static void transform_grad_vectors(const nni_conv_geom *g, int64_t M, const float *dy,
                                   int64_t first, int64_t rows, float *d, int64_t ld)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g), W = g->out_w, plane = g->out_h * W;
    __m512i even = _mm512_setzero_si512(), odd = even;
    __mmask16 even_in = 0, odd_in = 0;
    for (int j = 0; j < 16; j++) {
        even = _mm512_mask_set1_epi32(even, (__mmask16)(1u << j), (2 * j) & 31);
        odd = _mm512_mask_set1_epi32(odd, (__mmask16)(1u << j), (2 * j + 1) & 31);
        even_in |= (__mmask16)((2 * j < W) << j);
        odd_in |= (__mmask16)((2 * j + 1 < W) << j);
    }
    const __mmask16 low = first_lanes(W), high = first_lanes(W - 16), out = first_lanes(tiles_w);
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t i = first; i < first + rows; i++) {
            __m512 e[2], o[2];
            for (int k = 0; k < 2; k++) {
                if (2 * i + k >= g->out_h) {
                    e[k] = o[k] = zero;
                    continue;
                }
                const float *row = dy + mo * plane + (2 * i + k) * W;
                const __m512 lo = _mm512_maskz_loadu_ps(low, row);
                const __m512 hi = _mm512_maskz_loadu_ps(high, high ? row + 16 : row);
                e[k] = _mm512_maskz_permutex2var_ps(even_in, lo, even, hi);
                o[k] = _mm512_maskz_permutex2var_ps(odd_in, lo, odd, hi);
            }
            const __m512 r[4][2] = {{e[0], o[0]},
                                    {_mm512_add_ps(e[0], e[1]), _mm512_add_ps(o[0], o[1])},
                                    {_mm512_sub_ps(e[0], e[1]), _mm512_sub_ps(o[0], o[1])},
                                    {_mm512_sub_ps(zero, e[1]), _mm512_sub_ps(zero, o[1])}};
            float *at = d + mo * ld + (i - first) * tiles_w;
            for (int k = 0; k < 4; k++) {
                const __m512 p = r[k][0], q = r[k][1];
                _mm512_mask_storeu_ps(at + (4 * k + 0) * M * ld, out, p);
                _mm512_mask_storeu_ps(at + (4 * k + 1) * M * ld, out, _mm512_add_ps(p, q));
                _mm512_mask_storeu_ps(at + (4 * k + 2) * M * ld, out, _mm512_sub_ps(p, q));
                _mm512_mask_storeu_ps(at + (4 * k + 3) * M * ld, out, _mm512_sub_ps(zero, q));
            }
        }
}
#endif

void NNI_KERNEL(nni_winograd_conv)(const nni_conv_geom *g, int64_t M, const float *u,
                                   const float *x, float *y, int accumulate, float *scratch)
{
    const int64_t C = g->channels, tiles_w = nni_winograd_tiles_w(g);
    const int64_t tiles_h = nni_winograd_tiles_h(g), block = nni_winograd_block_rows(g, M);
    const int64_t ld = nni_winograd_block_ld(g, M);
    float *v = scratch, *m = v + 16 * C * ld, *line = m + 16 * M * ld;
    for (int64_t first = 0; first < tiles_h; first += block) {
        const int64_t rows = tiles_h - first < block ? tiles_h - first : block;
#if defined(__AVX512F__)
        if (fits_vectors(g))
            transform_input_vectors(g, x, first, rows, v, ld);
        else
#endif
            transform_input(g, x, first, rows, v, ld, line);
        for (int xi = 0; xi < 16; xi++)
            nni_gemm_nn(M, rows * tiles_w, C, u + xi * M * C, C, 1, v + xi * C * ld, ld,
                        m + xi * M * ld, ld, 0);
#if defined(__AVX512F__)
        if (fits_vectors(g))
            transform_output_vectors(g, M, m, ld, first, rows, y, accumulate);
        else
#endif
            transform_output(g, M, m, ld, first, rows, y, accumulate, line);
    }
}

void NNI_KERNEL(nni_winograd_weight_grad)(const nni_conv_geom *g, int64_t M, const float *x,
                                          const float *dy, float *du, float *scratch)
{
    const int64_t C = g->channels, tiles_w = nni_winograd_tiles_w(g);
    const int64_t tiles_h = nni_winograd_tiles_h(g), block = nni_winograd_block_rows(g, M);
    const int64_t ld = nni_winograd_block_ld(g, M);
    float *v = scratch, *d = v + 16 * C * ld, *line = d + 16 * M * ld;
    for (int64_t first = 0; first < tiles_h; first += block) {
        const int64_t rows = tiles_h - first < block ? tiles_h - first : block;
#if defined(__AVX512F__)
        if (fits_vectors(g)) {
            transform_input_vectors(g, x, first, rows, v, ld);
            transform_grad_vectors(g, M, dy, first, rows, d, ld);
        } else
#endif
        {
            transform_input(g, x, first, rows, v, ld, line);
            transform_grad(g, M, dy, first, rows, d, ld);
        }
        for (int xi = 0; xi < 16; xi++)
            nni_gemm_nt(M, C, rows * tiles_w, d + xi * M * ld, ld, v + xi * C * ld, ld,
                        du + xi * M * C, C, 1);
    }
}

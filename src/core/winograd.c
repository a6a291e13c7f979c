/* The Winograd convolution (core/winograd.h): the input, output and output-gradient
 * transforms and the t^2 products between them, a block of tile rows at a time.
 *
 * With AVX-512 a transform holds a row of up to 15 tiles (14 for 5x5) in each vector lane
 * by lane: tile j's patch covers the padded input columns 2j .. 2j + t - 1, so each padded
 * input row is loaded once and split into its even and odd columns (e[j] = column 2j,
 * o[j] = column 2j + 1); the patch's columns are then e and o shifted by 0, 1 or 2 lanes,
 * and B^T d B is a few vector additions. The output transform makes the four outputs of
 * every tile of a row and interleaves them back into two image rows. The coefficients are
 * constants inside the unrolled loops, so zero terms vanish and 1 and -1 cost no multiply.
 * Other kernel sets, and rows wider than 64 chunks, transform one tile at a time. */
#include "core/winograd.h"

#include <string.h>

#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/kernel_set.h"
#include "core/prefetch.h"
#include "core/relu.h"
#include "core/winograd_matrices.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define INLINE static inline __attribute__((always_inline))


/* sum over q < n of coef[q * stride] * x[q], zero terms skipped. */
INLINE float combine(const float *coef, int stride, const float *x, int n)
{
    float sum = 0.0f;
    for (int q = 0; q < n; q++)
        if (coef[q * stride] != 0.0f)
            sum += coef[q * stride] * x[q];
    return sum;
}

/* V[xi][c][tile] for the tiles of tile rows first .. first + rows - 1 (counted from the block's
 * first tile), one tile at a time. */
static void input_tiles(const nni_conv_geom *g, const nni_winograd_matrices *mx,
                        const float *x_all, int64_t x_stride, int64_t first, int64_t rows,
                        float *v, int64_t ld)
{
    const int t = mx->t;
    const int64_t C = g->channels, tiles_w = nni_winograd_tiles_w(g);
    const int64_t point = nni_winograd_point_floats(C, ld);
    const int64_t tiles_h = nni_winograd_tiles_h(g);
    for (int64_t c = 0; c < C; c++)
        for (int64_t row = first; row < first + rows; row++)
            for (int64_t j = 0; j < tiles_w; j++) {
                const int64_t i = row % tiles_h;
                const float *x = x_all + row / tiles_h * x_stride;
                float d[6][6], b[6][6], col[6];
                for (int k = 0; k < t; k++)
                    for (int q = 0; q < t; q++) {
                        const int64_t iy = 2 * i - g->pad_top + k, ix = 2 * j - g->pad_left + q;
                        d[q][k] = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w
                                      ? x[(c * g->in_h + iy) * g->in_w + ix] : 0.0f;
                    }
                for (int k = 0; k < t; k++) /* B^T d, row k, column by column */
                    for (int q = 0; q < t; q++)
                        b[k][q] = combine(mx->bt[k], 1, d[q], t);
                float *at = v + c * ld + (row - first) * tiles_w + j;
                for (int k = 0; k < t; k++) {
                    for (int q = 0; q < t; q++)
                        col[q] = b[k][q];
                    for (int l = 0; l < t; l++) /* ... B */
                        at[(k * t + l) * point] = combine(mx->bt[l], 1, col, t);
                }
            }
}

/* y (+)= A^T m A for the block's tiles, every output, one tile at a time. */
static void output_tiles(const nni_conv_geom *g, const nni_winograd_matrices *mx, int64_t M,
                         const float *m, int64_t ld, int64_t first, int64_t rows,
                         const nni_winograd_out *out)
{
    const int t = mx->t;
    const int64_t point = nni_winograd_point_floats(M, ld);
    const int64_t tiles_w = nni_winograd_tiles_w(g), plane = g->out_h * g->out_w;
    const int64_t tiles_h = nni_winograd_tiles_h(g);
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t row = first; row < first + rows; row++)
            for (int64_t j = 0; j < tiles_w; j++) {
                const int64_t i = row % tiles_h, sample = row / tiles_h * out->stride;
                const float *mt = m + mo * ld + (row - first) * tiles_w + j;
                float col[6], p[2][6];
                for (int l = 0; l < t; l++) {
                    for (int k = 0; k < t; k++)
                        col[k] = mt[(k * t + l) * point];
                    for (int r = 0; r < 2; r++)
                        p[r][l] = combine(mx->at[r], 1, col, t);
                }
                for (int r = 0; r < 2 && 2 * i + r < g->out_h; r++)
                    for (int q = 0; q < 2 && 2 * j + q < g->out_w; q++) {
                        const int64_t at = sample + mo * plane + (2 * i + r) * g->out_w +
                                           2 * j + q;
                        const float value = combine(mx->at[q], 1, p[r], t);
                        const float sum = out->accumulate ? out->y[at] + value
                                          : out->bias     ? value + out->bias[mo] : value;
                        if (!out->relu || !out->relu_only)
                            out->y[at] = sum;
                        if (out->relu)
                            out->relu[at] = nni_relu(sum);
                    }
            }
}

/* D[xi][m][tile] = (A dy_tile A^T)[xi] for the block's tiles, every output m: the 2x2 output
 * gradients of each tile spread over the transformed patch (the weight gradient's
 * counterpart of output_tiles), 0 beyond the image's last row and column. */
static void grad_tiles(const nni_conv_geom *g, const nni_winograd_matrices *mx, int64_t M,
                       const float *dy_all, int64_t dy_stride, int64_t first, int64_t rows,
                       float *d, int64_t ld)
{
    const int t = mx->t;
    const int64_t point = nni_winograd_point_floats(M, ld);
    const int64_t tiles_w = nni_winograd_tiles_w(g), W = g->out_w, plane = g->out_h * W;
    const int64_t tiles_h = nni_winograd_tiles_h(g);
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t row = first; row < first + rows; row++)
            for (int64_t j = 0; j < tiles_w; j++) {
                const int64_t i = row % tiles_h;
                const float *dy = dy_all + row / tiles_h * dy_stride;
                float dd[2][2], s[6][2];
                for (int r = 0; r < 2; r++)
                    for (int q = 0; q < 2; q++)
                        dd[q][r] = 2 * i + r < g->out_h && 2 * j + q < W
                                       ? dy[mo * plane + (2 * i + r) * W + 2 * j + q] : 0.0f;
                for (int k = 0; k < t; k++) /* A dy */
                    for (int q = 0; q < 2; q++)
                        s[k][q] = combine(&mx->at[0][k], 6, dd[q], 2);
                float *at = d + mo * ld + (row - first) * tiles_w + j;
                for (int k = 0; k < t; k++)
                    for (int l = 0; l < t; l++) /* ... A^T */
                        at[(k * t + l) * point] = combine(&mx->at[0][l], 6, s[k], 2);
            }
}

#if defined(__AVX512F__)
#define MAX_CHUNKS 64

/* A run of up to 15 tiles of a row (14 for 5x5) in one vector: the image columns it reads
 * start at `base`; even/odd pick the padded patch columns from the two vectors loaded there
 * (low, high: the lanes inside the image), zero where even_in/odd_in leave a lane out. */
typedef struct chunk {
    int64_t first_tile, base;
    __m512i even, odd;
    __mmask16 even_in, odd_in, low, high, tiles;
} chunk;

static __mmask16 first_lanes(int64_t n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* The chunks of a row of tiles_w tiles reading a row of `width` floats whose padded column
 * 0 is column -pad; 0 when there would be more than MAX_CHUNKS. */
static int plan_chunks(int64_t tiles_w, int t, int64_t width, int64_t pad, chunk *chunks)
{
    const int64_t lanes = 17 - t / 2;
    int n = 0;
    for (int64_t j0 = 0; j0 < tiles_w; j0 += lanes, n++) {
        if (n == MAX_CHUNKS)
            return 0;
        chunk *ch = &chunks[n];
        const int64_t start = 2 * j0 - pad;
        ch->first_tile = j0;
        ch->base = start > 0 ? start : 0;
        const int64_t off = start - ch->base;
        ch->even = ch->odd = _mm512_setzero_si512();
        ch->even_in = ch->odd_in = 0;
        for (int j = 0; j < 16; j++) {
            const int64_t e = 2 * j + off, o = e + 1;
            const __mmask16 lane = (__mmask16)(1u << j);
            ch->even = _mm512_mask_set1_epi32(ch->even, lane, (int)(e < 0 ? 0 : e & 31));
            ch->odd = _mm512_mask_set1_epi32(ch->odd, lane, (int)(o < 0 ? 0 : o & 31));
            if (e >= 0 && e < 32 && ch->base + e < width)
                ch->even_in |= lane;
            if (o >= 0 && o < 32 && ch->base + o < width)
                ch->odd_in |= lane;
        }
        ch->low = first_lanes(width - ch->base);
        ch->high = first_lanes(width - ch->base - 16);
        ch->tiles = first_lanes(tiles_w - j0 < lanes ? tiles_w - j0 : lanes);
    }
    return n;
}

/* A row's even and odd padded columns for a chunk (row NULL: outside the image, zeros). */
INLINE void load_split(const chunk *ch, const float *row, __m512 *even, __m512 *odd)
{
    if (!row) {
        *even = *odd = _mm512_setzero_ps();
        return;
    }
    const __m512 lo = _mm512_maskz_loadu_ps(ch->low, ch->low ? row + ch->base : row);
    const __m512 hi = _mm512_maskz_loadu_ps(ch->high, ch->high ? row + ch->base + 16 : row);
    *even = _mm512_maskz_permutex2var_ps(ch->even_in, lo, ch->even, hi);
    *odd = _mm512_maskz_permutex2var_ps(ch->odd_in, lo, ch->odd, hi);
}

/* The finished outputs of a row under `lanes` at offset `at` of out->y (and their relu at
 * out->relu, or that alone with relu_only): added to what is there, or to the bias. */
INLINE void store_outputs(const nni_winograd_out *out, int64_t at, int64_t mo, __mmask16 lanes,
                          __m512 v)
{
    if (out->accumulate)
        v = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, out->y + at), v);
    else if (out->bias)
        v = _mm512_add_ps(v, _mm512_set1_ps(out->bias[mo]));
    if (!out->relu || !out->relu_only)
        _mm512_mask_storeu_ps(out->y + at, lanes, v);
    if (out->relu)
        _mm512_mask_storeu_ps(out->relu + at, lanes,
                              _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(),
                                                                     _CMP_GT_OQ), v));
}

/* combine on vectors; the coefficients are constants once inlined and unrolled (terms with
 * other coefficients than 0, 1 and -1 are fused multiply-adds here: the bits differ from
 * the other kernel sets' in the 5x5 transforms). */
INLINE __m512 vcombine(const float *coef, int stride, const __m512 *x, int n)
{
    __m512 sum = _mm512_setzero_ps();
    int started = 0;
#pragma GCC unroll 6
    for (int q = 0; q < n; q++) {
        const float c = coef[q * stride];
        if (c == 0.0f)
            continue;
        if (c == 1.0f)
            sum = started ? _mm512_add_ps(sum, x[q]) : x[q];
        else if (c == -1.0f)
            sum = _mm512_sub_ps(sum, x[q]);
        else
            sum = started ? _mm512_fmadd_ps(_mm512_set1_ps(c), x[q], sum)
                          : _mm512_mul_ps(_mm512_set1_ps(c), x[q]);
        started = 1;
    }
    return sum;
}

INLINE void input_vectors(const nni_conv_geom *g, const nni_winograd_matrices *mx,
                          const chunk *chunks, int n_chunks, const float *x_all,
                          int64_t x_stride, int64_t first, int64_t rows, float *v, int64_t ld)
{
    const int t = mx->t;
    const int64_t C = g->channels, tiles_w = nni_winograd_tiles_w(g), W = g->in_w;
    const int64_t point = nni_winograd_point_floats(C, ld);
    const __m512i shift[3] = {
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15),
        _mm512_setr_epi32(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15, 15)};
    const int64_t tiles_h = nni_winograd_tiles_h(g);
    for (int64_t c = 0; c < C; c++)
        for (int64_t row = first; row < first + rows; row++) {
            const int64_t i = row % tiles_h;
            const float *plane = x_all + row / tiles_h * x_stride + c * g->in_h * W;
            for (int h = 0; h < n_chunks; h++) {
                const chunk *ch = &chunks[h];
                __m512 e[6], o[6], te[6], to[6];
#pragma GCC unroll 6
                for (int k = 0; k < t; k++) {
                    const int64_t iy = 2 * i - g->pad_top + k;
                    load_split(ch, iy >= 0 && iy < g->in_h ? plane + iy * W : NULL, &e[k],
                               &o[k]);
                }
#pragma GCC unroll 6
                for (int k = 0; k < t; k++) { /* B^T d on the even and the odd columns */
                    te[k] = vcombine(mx->bt[k], 1, e, t);
                    to[k] = vcombine(mx->bt[k], 1, o, t);
                }
                float *at = v + c * ld + (row - first) * tiles_w + ch->first_tile;
#pragma GCC unroll 6
                for (int k = 0; k < t; k++) {
                    __m512 col[6]; /* the patch's columns q: e or o shifted by q / 2 */
#pragma GCC unroll 6
                    for (int q = 0; q < t; q++)
                        col[q] = q < 2 ? (q ? to[k] : te[k])
                                       : _mm512_permutexvar_ps(shift[q / 2], q & 1 ? to[k]
                                                                                   : te[k]);
#pragma GCC unroll 6
                    for (int l = 0; l < t; l++) /* ... B */
                        _mm512_mask_storeu_ps(at + (k * t + l) * point, ch->tiles,
                                              vcombine(mx->bt[l], 1, col, t));
                }
            }
        }
}

INLINE void output_vectors(const nni_conv_geom *g, const nni_winograd_matrices *mx,
                           const chunk *chunks, int n_chunks, int64_t M, const float *m,
                           int64_t ld, int64_t first, int64_t rows, const nni_winograd_out *out)
{
    const int t = mx->t;
    const int64_t point = nni_winograd_point_floats(M, ld);
    const int64_t tiles_w = nni_winograd_tiles_w(g), plane = g->out_h * g->out_w;
    const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22,
                                             7, 23);
    const __m512i hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14,
                                             30, 15, 31);
    const int64_t tiles_h = nni_winograd_tiles_h(g);
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t row = first; row < first + rows; row++) {
            const int64_t i = row % tiles_h, sample = row / tiles_h * out->stride;
            for (int h = 0; h < n_chunks; h++) {
                const chunk *ch = &chunks[h];
                const float *mt = m + mo * ld + (row - first) * tiles_w + ch->first_tile;
                __m512 p[2][6];
#pragma GCC unroll 6
                for (int l = 0; l < t; l++) { /* A^T m, column by column */
                    __m512 col[6];
#pragma GCC unroll 6
                    for (int k = 0; k < t; k++)
                        col[k] = _mm512_maskz_loadu_ps(ch->tiles, mt + (k * t + l) * point);
                    p[0][l] = vcombine(mx->at[0], 1, col, t);
                    p[1][l] = vcombine(mx->at[1], 1, col, t);
                }
                for (int r = 0; r < 2 && 2 * i + r < g->out_h; r++) { /* ... A */
                    const __m512 a = vcombine(mx->at[0], 1, p[r], t);
                    const __m512 b = vcombine(mx->at[1], 1, p[r], t);
                    const int64_t at = sample + mo * plane + (2 * i + r) * g->out_w + ch->base;
                    store_outputs(out, at, mo, ch->low, _mm512_permutex2var_ps(a, lo_idx, b));
                    store_outputs(out, ch->high ? at + 16 : at, mo, ch->high,
                                  _mm512_permutex2var_ps(a, hi_idx, b));
                }
            }
        }
}

INLINE void grad_vectors(const nni_conv_geom *g, const nni_winograd_matrices *mx,
                         const chunk *chunks, int n_chunks, int64_t M, const float *dy_all,
                         int64_t dy_stride, int64_t first, int64_t rows, float *d, int64_t ld)
{
    const int t = mx->t;
    const int64_t point = nni_winograd_point_floats(M, ld);
    const int64_t tiles_w = nni_winograd_tiles_w(g), W = g->out_w, plane = g->out_h * W;
    const int64_t tiles_h = nni_winograd_tiles_h(g);
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t row = first; row < first + rows; row++) {
            const int64_t i = row % tiles_h;
            const float *dy = dy_all + row / tiles_h * dy_stride;
            for (int h = 0; h < n_chunks; h++) {
                const chunk *ch = &chunks[h];
                __m512 e[2], o[2], s[6][2];
                for (int r = 0; r < 2; r++)
                    load_split(ch, 2 * i + r < g->out_h ? dy + mo * plane + (2 * i + r) * W
                                                        : NULL, &e[r], &o[r]);
#pragma GCC unroll 6
                for (int k = 0; k < t; k++) { /* A dy */
                    s[k][0] = vcombine(&mx->at[0][k], 6, e, 2);
                    s[k][1] = vcombine(&mx->at[0][k], 6, o, 2);
                }
                float *at = d + mo * ld + (row - first) * tiles_w + ch->first_tile;
#pragma GCC unroll 6
                for (int k = 0; k < t; k++)
#pragma GCC unroll 6
                    for (int l = 0; l < t; l++) /* ... A^T */
                        _mm512_mask_storeu_ps(at + (k * t + l) * point, ch->tiles,
                                              vcombine(&mx->at[0][l], 6, s[k], 2));
            }
        }
}

/* Narrow images (rows of up to 16 floats, 8 tiles): two tile rows share a vector, tile j of
 * the first in lane j and of the second in lane tiles_w + j, which is also where the block's
 * layout keeps them (a block's tiles run on from one tile row to the next), so a transformed
 * pair is one store per element. The patch's columns come straight from the two image rows
 * by one two-source permute each, so all lanes but the last 16 - 2 tiles_w do work, where the
 * chunks above would leave more than half of them idle at 14 x 14. The arithmetic of each
 * tile is the same as there. */
static int fits_pairs(const nni_conv_geom *g, int t)
{
    const int64_t tiles_w = nni_winograd_tiles_w(g);
    return 2 * tiles_w <= 16 && g->in_w <= 16 && g->out_w <= 16 && g->pad_left >= 0 &&
           2 * tiles_w + t - 3 - g->pad_left <= 15;
}

/* Lane pick of column 2j + shift - pad of a pair's rows (first row in register a, second in
 * b), and the lanes that fall inside a row of `width`. */
static __m512i pair_index(int64_t tiles_w, int64_t shift, int64_t width, __mmask16 *inside)
{
    __m512i index = _mm512_setzero_si512();
    *inside = 0;
    for (int64_t lane = 0; lane < 2 * tiles_w; lane++) {
        const int64_t second = lane >= tiles_w, j = lane - second * tiles_w;
        const int64_t col = 2 * j + shift;
        if (col < 0 || col >= width)
            continue;
        index = _mm512_mask_set1_epi32(index, (__mmask16)(1u << lane),
                                       (int)(col + 16 * second));
        *inside |= (__mmask16)(1u << lane);
    }
    return index;
}

/* Image row 2 i + down of tile row `tile_row` (row i of its sample), or NULL where the image
 * has no such row or the block no such tile row. */
INLINE const float *pair_row(const float *base, int64_t stride, int64_t plane_offset,
                             int64_t tile_row, int64_t tiles_h, int64_t last, int64_t down,
                             int64_t height, int64_t width)
{
    if (tile_row > last)
        return NULL;
    const int64_t y = 2 * (tile_row % tiles_h) + down;
    if (y < 0 || y >= height)
        return NULL;
    return base + tile_row / tiles_h * stride + plane_offset + y * width;
}

INLINE __m512 load_row(const float *row, __mmask16 width)
{
    return row ? _mm512_maskz_loadu_ps(width, row) : _mm512_setzero_ps();
}

INLINE void input_pairs(const nni_conv_geom *g, const nni_winograd_matrices *mx,
                        const float *x, int64_t x_stride, int64_t first, int64_t rows,
                        float *v, int64_t ld)
{
    const int t = mx->t;
    const int64_t C = g->channels, tiles_w = nni_winograd_tiles_w(g);
    const int64_t point = nni_winograd_point_floats(C, ld);
    const int64_t tiles_h = nni_winograd_tiles_h(g), W = g->in_w, last = first + rows - 1;
    __m512i index[6];
    __mmask16 inside[6];
    for (int q = 0; q < t; q++)
        index[q] = pair_index(tiles_w, q - g->pad_left, W, &inside[q]);
    const __mmask16 width = (__mmask16)((1u << W) - 1);
    for (int64_t c = 0; c < C; c++)
        for (int64_t row = first; row <= last; row += 2) {
            const int64_t half = row + 1 > last ? tiles_w : 2 * tiles_w;
            const __mmask16 lanes = (__mmask16)((1u << half) - 1);
            __m512 r[6][6]; /* d B: row k of the patch, transformed along its columns */
#pragma GCC unroll 6
            for (int k = 0; k < t; k++) {
                const int64_t down = k - g->pad_top;
                const __m512 a = load_row(pair_row(x, x_stride, c * g->in_h * W, row, tiles_h,
                                                   last, down, g->in_h, W), width);
                const __m512 b = load_row(pair_row(x, x_stride, c * g->in_h * W, row + 1,
                                                   tiles_h, last, down, g->in_h, W), width);
                __m512 col[6];
#pragma GCC unroll 6
                for (int q = 0; q < t; q++)
                    col[q] = _mm512_maskz_permutex2var_ps(inside[q], a, index[q], b);
#pragma GCC unroll 6
                for (int l = 0; l < t; l++)
                    r[k][l] = vcombine(mx->bt[l], 1, col, t);
            }
            float *at = v + c * ld + (row - first) * tiles_w;
#pragma GCC unroll 6
            for (int l = 0; l < t; l++) {
                __m512 down[6];
#pragma GCC unroll 6
                for (int k = 0; k < t; k++)
                    down[k] = r[k][l];
#pragma GCC unroll 6
                for (int k = 0; k < t; k++) /* B^T ... */
                    _mm512_mask_storeu_ps(at + (k * t + l) * point, lanes,
                                          vcombine(mx->bt[k], 1, down, t));
            }
        }
}

INLINE void output_pairs(const nni_conv_geom *g, const nni_winograd_matrices *mx, int64_t M,
                         const float *m, int64_t ld, int64_t first, int64_t rows,
                         const nni_winograd_out *out)
{
    const int t = mx->t;
    const int64_t point = nni_winograd_point_floats(M, ld);
    const int64_t tiles_w = nni_winograd_tiles_w(g), tiles_h = nni_winograd_tiles_h(g);
    const int64_t W = g->out_w, plane = g->out_h * W, last = first + rows - 1;
    __m512i spread[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int second = 0; second < 2; second++)
        for (int64_t j = 0; j < tiles_w; j++) {
            const int64_t lane = second * tiles_w + j;
            spread[second] = _mm512_mask_set1_epi32(spread[second],
                                                    (__mmask16)(1u << (2 * j)), (int)lane);
            spread[second] = _mm512_mask_set1_epi32(
                spread[second], (__mmask16)(1u << (2 * j + 1)), (int)(16 + lane));
        }
    const __mmask16 width = (__mmask16)((1u << W) - 1);
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t row = first; row <= last; row += 2) {
            const int64_t half = row + 1 > last ? tiles_w : 2 * tiles_w;
            const __mmask16 lanes = (__mmask16)((1u << half) - 1);
            const float *mt = m + mo * ld + (row - first) * tiles_w;
            __m512 p[2][6];
#pragma GCC unroll 6
            for (int l = 0; l < t; l++) {
                __m512 col[6];
#pragma GCC unroll 6
                for (int k = 0; k < t; k++)
                    col[k] = _mm512_maskz_loadu_ps(lanes, mt + (k * t + l) * point);
                p[0][l] = vcombine(mx->at[0], 1, col, t);
                p[1][l] = vcombine(mx->at[1], 1, col, t);
            }
            for (int r = 0; r < 2; r++) {
                const __m512 a = vcombine(mx->at[0], 1, p[r], t);
                const __m512 b = vcombine(mx->at[1], 1, p[r], t);
                for (int second = 0; second < 2 && row + second <= last; second++) {
                    const int64_t tile_row = row + second, i = tile_row % tiles_h;
                    if (2 * i + r >= g->out_h)
                        continue;
                    const int64_t at = tile_row / tiles_h * out->stride + mo * plane +
                                       (2 * i + r) * W;
                    store_outputs(out, at, mo, width,
                                  _mm512_permutex2var_ps(a, spread[second], b));
                }
            }
        }
}

INLINE void grad_pairs(const nni_conv_geom *g, const nni_winograd_matrices *mx, int64_t M,
                       const float *dy, int64_t dy_stride, int64_t first, int64_t rows,
                       float *d, int64_t ld)
{
    const int t = mx->t;
    const int64_t point = nni_winograd_point_floats(M, ld);
    const int64_t tiles_w = nni_winograd_tiles_w(g), tiles_h = nni_winograd_tiles_h(g);
    const int64_t W = g->out_w, plane = g->out_h * W, last = first + rows - 1;
    __mmask16 even_in, odd_in;
    const __m512i even = pair_index(tiles_w, 0, W, &even_in);
    const __m512i odd = pair_index(tiles_w, 1, W, &odd_in);
    const __mmask16 width = (__mmask16)((1u << W) - 1);
    for (int64_t mo = 0; mo < M; mo++)
        for (int64_t row = first; row <= last; row += 2) {
            const int64_t half = row + 1 > last ? tiles_w : 2 * tiles_w;
            const __mmask16 lanes = (__mmask16)((1u << half) - 1);
            __m512 e[2], o[2], s[6][2];
            for (int r = 0; r < 2; r++) {
                const __m512 a = load_row(pair_row(dy, dy_stride, mo * plane, row, tiles_h,
                                                   last, r, g->out_h, W), width);
                const __m512 b = load_row(pair_row(dy, dy_stride, mo * plane, row + 1,
                                                   tiles_h, last, r, g->out_h, W), width);
                e[r] = _mm512_maskz_permutex2var_ps(even_in, a, even, b);
                o[r] = _mm512_maskz_permutex2var_ps(odd_in, a, odd, b);
            }
#pragma GCC unroll 6
            for (int k = 0; k < t; k++) { /* A dy */
                s[k][0] = vcombine(&mx->at[0][k], 6, e, 2);
                s[k][1] = vcombine(&mx->at[0][k], 6, o, 2);
            }
            float *at = d + mo * ld + (row - first) * tiles_w;
#pragma GCC unroll 6
            for (int k = 0; k < t; k++)
#pragma GCC unroll 6
                for (int l = 0; l < t; l++) /* ... A^T */
                    _mm512_mask_storeu_ps(at + (k * t + l) * point, lanes,
                                          vcombine(&mx->at[0][l], 6, s[k], 2));
        }
}
#endif

/* Prefetches, in address order, the image rows that tile rows first .. first + rows - 1 read
 * in `planes` planes of h x w floats per sample (stride floats apart): rows 2 i - pad to
 * 2 i - pad + span - 1 of tile row i. The transforms read a block's rows of one channel after
 * another, short pieces that the hardware prefetchers did not bring in ahead: on the Zen 5
 * machine perf put most of transform_input's time on the loads of the image, and prefetching
 * the block first made the residual+inception step 5-12% faster. */
static void prefetch_rows(const float *x, int64_t stride, int64_t planes, int64_t h, int64_t w,
                          int64_t tiles_h, int64_t pad, int64_t span, int64_t first,
                          int64_t rows)
{
    for (int64_t row = first; row < first + rows;) {
        const int64_t i0 = row % tiles_h, left = first + rows - row;
        const int64_t i1 = tiles_h - i0 < left ? tiles_h : i0 + left;
        int64_t y0 = 2 * i0 - pad, y1 = 2 * (i1 - 1) - pad + span;
        y0 = y0 < 0 ? 0 : y0;
        y1 = y1 > h ? h : y1;
        const float *sample = x + row / tiles_h * stride;
        for (int64_t c = 0; c < planes; c++)
            nni_prefetch_read(sample + c * h * w + y0 * w, (y1 - y0) * w);
        row += i1 - i0;
    }
}

/* The transforms, on vectors where they can be (each instantiated per kernel size so that
 * the coefficients are constants). Tile row `row` of a block is row % tiles_h of sample
 * row / tiles_h, whose image starts stride floats after the previous sample's. */
static void transform_input(const nni_conv_geom *g, const float *x, int64_t stride,
                            int64_t first, int64_t rows, float *v, int64_t ld)
{
    const nni_winograd_matrices *mx = nni_winograd_matrices_of(g);
    prefetch_rows(x, stride, g->channels, g->in_h, g->in_w, nni_winograd_tiles_h(g),
                  g->pad_top, mx->t, first, rows);
#if defined(__AVX512F__)
    if (fits_pairs(g, mx->t) && mx->t == 4)
        return input_pairs(g, &nni_winograd_f2_3, x, stride, first, rows, v, ld);
    if (fits_pairs(g, mx->t))
        return input_pairs(g, &nni_winograd_f2_5, x, stride, first, rows, v, ld);
    chunk chunks[MAX_CHUNKS];
    const int n = plan_chunks(nni_winograd_tiles_w(g), mx->t, g->in_w, g->pad_left, chunks);
    if (n && mx->t == 4)
        return input_vectors(g, &nni_winograd_f2_3, chunks, n, x, stride, first, rows, v, ld);
    if (n)
        return input_vectors(g, &nni_winograd_f2_5, chunks, n, x, stride, first, rows, v, ld);
#endif
    input_tiles(g, mx, x, stride, first, rows, v, ld);
}

static void transform_output(const nni_conv_geom *g, int64_t M, const float *m, int64_t ld,
                             int64_t first, int64_t rows, const nni_winograd_out *out)
{
    const nni_winograd_matrices *mx = nni_winograd_matrices_of(g);
#if defined(__AVX512F__)
    if (fits_pairs(g, mx->t) && mx->t == 4)
        return output_pairs(g, &nni_winograd_f2_3, M, m, ld, first, rows, out);
    if (fits_pairs(g, mx->t))
        return output_pairs(g, &nni_winograd_f2_5, M, m, ld, first, rows, out);
    chunk chunks[MAX_CHUNKS];
    const int n = plan_chunks(nni_winograd_tiles_w(g), mx->t, g->out_w, 0, chunks);
    if (n && mx->t == 4)
        return output_vectors(g, &nni_winograd_f2_3, chunks, n, M, m, ld, first, rows, out);
    if (n)
        return output_vectors(g, &nni_winograd_f2_5, chunks, n, M, m, ld, first, rows, out);
#endif
    output_tiles(g, mx, M, m, ld, first, rows, out);
}

static void transform_grad(const nni_conv_geom *g, int64_t M, const float *dy, int64_t stride,
                           int64_t first, int64_t rows, float *d, int64_t ld)
{
    const nni_winograd_matrices *mx = nni_winograd_matrices_of(g);
    prefetch_rows(dy, stride, M, g->out_h, g->out_w, nni_winograd_tiles_h(g), 0, 2, first,
                  rows);
#if defined(__AVX512F__)
    if (fits_pairs(g, mx->t) && mx->t == 4)
        return grad_pairs(g, &nni_winograd_f2_3, M, dy, stride, first, rows, d, ld);
    if (fits_pairs(g, mx->t))
        return grad_pairs(g, &nni_winograd_f2_5, M, dy, stride, first, rows, d, ld);
    chunk chunks[MAX_CHUNKS];
    const int n = plan_chunks(nni_winograd_tiles_w(g), mx->t, g->out_w, 0, chunks);
    if (n && mx->t == 4)
        return grad_vectors(g, &nni_winograd_f2_3, chunks, n, M, dy, stride, first, rows, d,
                            ld);
    if (n)
        return grad_vectors(g, &nni_winograd_f2_5, chunks, n, M, dy, stride, first, rows, d,
                            ld);
#endif
    grad_tiles(g, mx, M, dy, stride, first, rows, d, ld);
}

/* The blocks both entry points walk: tile rows of all the samples, `block` at a time, with
 * V (points x channels x ld) and the products' side (points x M x ld) in the scratch. */
typedef struct blocking {
    int64_t tiles_w, tile_rows, block, ld, points;
    int64_t v_point, other_point; /* floats between the elements of a patch (core/winograd.h) */
    float *v, *other;
} blocking;

static blocking blocking_of(const nni_conv_geom *g, int64_t M, int64_t samples,
                            float *scratch)
{
    blocking b = {.tiles_w = nni_winograd_tiles_w(g),
                  .tile_rows = samples * nni_winograd_tiles_h(g),
                  .block = nni_winograd_block_rows(g, M), .ld = nni_winograd_block_ld(g, M),
                  .points = nni_winograd_points(g), .v = scratch};
    b.v_point = nni_winograd_point_floats(g->channels, b.ld);
    b.other_point = nni_winograd_point_floats(M, b.ld);
    b.other = scratch + b.points * b.v_point;
    return b;
}

void NNI_KERNEL(nni_winograd_conv)(const nni_conv_geom *g, int64_t M, const float *u,
                                   int64_t samples, const float *x, int64_t x_stride,
                                   const nni_winograd_out *out, int bf16, float *scratch)
{
    const int64_t C = g->channels;
    const blocking b = blocking_of(g, M, samples, scratch);
    for (int64_t first = 0; first < b.tile_rows; first += b.block) {
        const int64_t rows = b.tile_rows - first < b.block ? b.tile_rows - first : b.block;
        transform_input(g, x, x_stride, first, rows, b.v, b.ld);
        for (int64_t xi = 0; xi < b.points; xi++)
            nni_product_nn(bf16, M, rows * b.tiles_w, C, u + xi * M * C, C, 1,
                           b.v + xi * b.v_point, b.ld, b.other + xi * b.other_point, b.ld, 0);
        transform_output(g, M, b.other, b.ld, first, rows, out);
    }
}

void NNI_KERNEL(nni_winograd_weight_grad)(const nni_conv_geom *g, int64_t M, int64_t samples,
                                          const float *x, int64_t x_stride, const float *dy,
                                          int64_t dy_stride, float *du, int bf16,
                                          float *scratch)
{
    const int64_t C = g->channels;
    const blocking b = blocking_of(g, M, samples, scratch);
    for (int64_t first = 0; first < b.tile_rows; first += b.block) {
        const int64_t rows = b.tile_rows - first < b.block ? b.tile_rows - first : b.block;
        transform_input(g, x, x_stride, first, rows, b.v, b.ld);
        transform_grad(g, M, dy, dy_stride, first, rows, b.other, b.ld);
        for (int64_t xi = 0; xi < b.points; xi++)
            nni_product_nt(bf16, M, C, rows * b.tiles_w, b.other + xi * b.other_point, b.ld,
                           b.v + xi * b.v_point, b.ld, du + xi * M * C, C, 1);
    }
}

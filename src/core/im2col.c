/* im2col, col2im, im2row and a blocked transpose (see im2col.h).
 *
 * im2col and col2im walk col row by row. Within a row the valid output columns of every
 * output row form one range [ox_lo, ox_hi) that depends only on kj, so the inner loops are
 * branch-free copies (contiguous when stride_w == 1) with the padded ends written as zeros.
 * When the stride is 1 and output rows are as wide as input rows (padding `same`), a whole
 * row of col is the input plane shifted by a constant: one long copy (or add), then the
 * few columns that wrapped around a row end are cleared. Narrow images (14 pixels) would
 * otherwise spend most of their time in loop overhead.
 *
 * This file is compiled once per kernel set (core/kernel_set.h); the copy loops vectorize to
 * the set's width. */
#include "core/im2col.h"

#include <string.h>

#include "core/kernel_set.h"
#include "core/transpose16.h"

/* ceil(a / b) for b > 0 and any sign of a. */
static inline int64_t ceil_div(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Output columns ox whose input column ox * stride + offset lies in [0, width). */
static inline void valid_range(int64_t offset, int64_t stride, int64_t width, int64_t out,
                               int64_t *lo, int64_t *hi)
{
    *lo = clamp64(ceil_div(-offset, stride), 0, out);
    *hi = clamp64(ceil_div(width - offset, stride), *lo, out);
}

/* Zeroes, in every output row of a shifted-plane lowering row, the columns whose source
 * column ox + x_off falls outside the input row (the shift wrapped them into a neighbour). */
static void clear_wrapped_columns(const nni_conv_geom *g, int64_t x_off, float *row)
{
    int64_t lo = x_off < 0 ? -x_off : 0, hi = x_off > 0 ? g->out_w - x_off : g->out_w;
    lo = lo < g->out_w ? lo : g->out_w;
    hi = hi > lo ? hi : lo;
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        float *r = row + oy * g->out_w;
        for (int64_t ox = 0; ox < lo; ox++)
            r[ox] = 0.0f;
        for (int64_t ox = hi; ox < g->out_w; ox++)
            r[ox] = 0.0f;
    }
}

static void im2col_flat(const nni_conv_geom *g, const float *restrict x, float *restrict col)
{
    const int64_t w = g->in_w, plane = g->in_h * w, ohw = g->out_h * g->out_w;
    for (int64_t c = 0; c < g->channels; c++) {
        const float *xc = x + c * plane;
        for (int64_t ki = 0; ki < g->kernel_h; ki++)
            for (int64_t kj = 0; kj < g->kernel_w; kj++) {
                float *restrict row = col + ((c * g->kernel_h + ki) * g->kernel_w + kj) * ohw;
                const int64_t x_off = kj * g->dilation_w - g->pad_left;
                const int64_t shift = (ki * g->dilation_h - g->pad_top) * w + x_off;
                /* row[q] = xc[q + shift] where that lies in the plane, else 0 */
                int64_t q0 = -shift > 0 ? -shift : 0, q1 = plane - shift;
                q0 = q0 < ohw ? q0 : ohw;
                q1 = q1 < ohw ? q1 : ohw;
                q1 = q1 > q0 ? q1 : q0;
                for (int64_t q = 0; q < q0; q++)
                    row[q] = 0.0f;
                const float *restrict src = xc + q0 + shift;
                for (int64_t q = q0; q < q1; q++)
                    row[q] = src[q - q0];
                for (int64_t q = q1; q < ohw; q++)
                    row[q] = 0.0f;
                clear_wrapped_columns(g, x_off, row);
            }
    }
}

/* The columns that wrapped are cleared in col itself (it is scratch) so the add is one
 * long loop. */
static void col2im_flat(const nni_conv_geom *g, float *restrict col, float *restrict x)
{
    const int64_t w = g->in_w, plane = g->in_h * w, ohw = g->out_h * g->out_w;
    for (int64_t c = 0; c < g->channels; c++) {
        float *xc = x + c * plane;
        for (int64_t ki = 0; ki < g->kernel_h; ki++)
            for (int64_t kj = 0; kj < g->kernel_w; kj++) {
                float *restrict row = col + ((c * g->kernel_h + ki) * g->kernel_w + kj) * ohw;
                const int64_t x_off = kj * g->dilation_w - g->pad_left;
                const int64_t shift = (ki * g->dilation_h - g->pad_top) * w + x_off;
                clear_wrapped_columns(g, x_off, row);
                int64_t q0 = -shift > 0 ? -shift : 0, q1 = plane - shift;
                q0 = q0 < ohw ? q0 : ohw;
                q1 = q1 < ohw ? q1 : ohw;
                float *restrict dst = xc + q0 + shift;
                for (int64_t q = q0; q < q1; q++)
                    dst[q - q0] += row[q];
            }
    }
}

void NNI_KERNEL(nni_im2col)(const nni_conv_geom *g, const float *restrict x,
                            float *restrict col)
{
    if (nni_conv_geom_flat(g)) {
        im2col_flat(g, x, col);
        return;
    }
    const int64_t in_h = g->in_h, in_w = g->in_w, out_h = g->out_h, out_w = g->out_w;
    const int64_t sh = g->stride_h, sw = g->stride_w;
    const int64_t plane = in_h * in_w, ohw = out_h * out_w;
    for (int64_t c = 0; c < g->channels; c++) {
        const float *xc = x + c * plane;
        for (int64_t ki = 0; ki < g->kernel_h; ki++) {
            const int64_t y_off = ki * g->dilation_h - g->pad_top;
            int64_t oy_lo, oy_hi;
            valid_range(y_off, sh, in_h, out_h, &oy_lo, &oy_hi);
            for (int64_t kj = 0; kj < g->kernel_w; kj++) {
                const int64_t x_off = kj * g->dilation_w - g->pad_left;
                int64_t ox_lo, ox_hi;
                valid_range(x_off, sw, in_w, out_w, &ox_lo, &ox_hi);
                float *row = col + ((c * g->kernel_h + ki) * g->kernel_w + kj) * ohw;
                memset(row, 0, (size_t)(oy_lo * out_w) * sizeof *row);
                for (int64_t oy = oy_lo; oy < oy_hi; oy++) {
                    float *restrict dst = row + oy * out_w;
                    const float *restrict src = xc + (oy * sh + y_off) * in_w;
                    for (int64_t ox = 0; ox < ox_lo; ox++)
                        dst[ox] = 0.0f;
                    if (sw == 1)
                        for (int64_t ox = ox_lo; ox < ox_hi; ox++)
                            dst[ox] = src[ox + x_off];
                    else
                        for (int64_t ox = ox_lo; ox < ox_hi; ox++)
                            dst[ox] = src[ox * sw + x_off];
                    for (int64_t ox = ox_hi; ox < out_w; ox++)
                        dst[ox] = 0.0f;
                }
                memset(row + oy_hi * out_w, 0, (size_t)((out_h - oy_hi) * out_w) * sizeof *row);
            }
        }
    }
}

void NNI_KERNEL(nni_col2im)(const nni_conv_geom *g, float *restrict col, float *restrict x)
{
    if (nni_conv_geom_flat(g)) {
        col2im_flat(g, col, x);
        return;
    }
    const int64_t in_h = g->in_h, in_w = g->in_w, out_h = g->out_h, out_w = g->out_w;
    const int64_t sh = g->stride_h, sw = g->stride_w;
    const int64_t plane = in_h * in_w, ohw = out_h * out_w;
    for (int64_t c = 0; c < g->channels; c++) {
        float *xc = x + c * plane;
        for (int64_t ki = 0; ki < g->kernel_h; ki++) {
            const int64_t y_off = ki * g->dilation_h - g->pad_top;
            int64_t oy_lo, oy_hi;
            valid_range(y_off, sh, in_h, out_h, &oy_lo, &oy_hi);
            for (int64_t kj = 0; kj < g->kernel_w; kj++) {
                const int64_t x_off = kj * g->dilation_w - g->pad_left;
                int64_t ox_lo, ox_hi;
                valid_range(x_off, sw, in_w, out_w, &ox_lo, &ox_hi);
                const float *row = col + ((c * g->kernel_h + ki) * g->kernel_w + kj) * ohw;
                for (int64_t oy = oy_lo; oy < oy_hi; oy++) {
                    const float *restrict src = row + oy * out_w;
                    float *restrict dst = xc + (oy * sh + y_off) * in_w;
                    if (sw == 1)
                        for (int64_t ox = ox_lo; ox < ox_hi; ox++)
                            dst[ox + x_off] += src[ox];
                    else
                        for (int64_t ox = ox_lo; ox < ox_hi; ox++)
                            dst[ox * sw + x_off] += src[ox];
                }
            }
        }
    }
}

void NNI_KERNEL(nni_im2row)(const nni_conv_geom *g, const float *restrict xt,
                            float *restrict rows)
{
    const int64_t C = g->channels, row_len = C * g->kernel_h * g->kernel_w;
    for (int64_t oy = 0; oy < g->out_h; oy++)
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            float *restrict dst = rows + (oy * g->out_w + ox) * row_len;
            for (int64_t ki = 0; ki < g->kernel_h; ki++) {
                const int64_t iy = oy * g->stride_h - g->pad_top + ki * g->dilation_h;
                for (int64_t kj = 0; kj < g->kernel_w; kj++, dst += C) {
                    const int64_t ix = ox * g->stride_w - g->pad_left + kj * g->dilation_w;
                    if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                        for (int64_t c = 0; c < C; c++)
                            dst[c] = 0.0f;
                        continue;
                    }
                    const float *restrict src = xt + (iy * g->in_w + ix) * C;
                    for (int64_t c = 0; c < C; c++)
                        dst[c] = src[c];
                }
            }
        }
}

/* Whole 16 x 16 tiles go through a local tile with constant trip counts, which the compiler
 * turns into vector loads and shuffles (twice as fast as a plain blocked loop); the edges
 * are copied element by element. With AVX-512 a tile is transposed in registers instead
 * (core/transpose16.h): the compiler had made the local tile 256 scalar moves, and the
 * transpose of a 1x1 convolution's input (64 x 196) took a third of the time of the weight
 * gradient's product. */
void NNI_KERNEL(nni_transpose)(const float *restrict src, int64_t rows, int64_t cols,
                               int64_t lds, float *restrict dst, int64_t ldd)
{
    enum { B = 16 };
    int64_t r0 = 0;
    for (; r0 + B <= rows; r0 += B) {
        int64_t c0 = 0;
        for (; c0 + B <= cols; c0 += B) {
#if defined(__AVX512F__)
            __m512 r[B];
            for (int i = 0; i < B; i++)
                r[i] = _mm512_loadu_ps(src + (r0 + i) * lds + c0);
            nni_transpose16(r);
            for (int i = 0; i < B; i++)
                _mm512_storeu_ps(dst + (c0 + i) * ldd + r0, r[i]);
#else
            float tile[B][B];
            for (int r = 0; r < B; r++)
                for (int c = 0; c < B; c++)
                    tile[c][r] = src[(r0 + r) * lds + c0 + c];
            for (int c = 0; c < B; c++)
                for (int r = 0; r < B; r++)
                    dst[(c0 + c) * ldd + r0 + r] = tile[c][r];
#endif
        }
        for (; c0 < cols; c0++)
            for (int r = 0; r < B; r++)
                dst[c0 * ldd + r0 + r] = src[(r0 + r) * lds + c0];
    }
    for (; r0 < rows; r0++)
        for (int64_t c = 0; c < cols; c++)
            dst[c * ldd + r0] = src[r0 * lds + c];
}

/* im2col and col2im (see im2col.h). Both walk col row by row; within a row the valid
 * output columns of every output row form one range [ox_lo, ox_hi) that depends only on
 * kj, so the inner loops are branch-free copies (contiguous when stride_w == 1) that the
 * compiler vectorizes, with the padded ends written as zeros. */
#include "core/im2col.h"

#include <string.h>

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

void nn_im2col(const nn_conv_geom *g, const float *restrict x, float *restrict col)
{
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

void nn_col2im(const nn_conv_geom *g, const float *restrict col, float *restrict x)
{
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

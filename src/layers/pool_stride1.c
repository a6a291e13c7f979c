/* The stride-1 pooling of one plane (the inception branch's 3x3 'same' pool), forward and
 * backward, compiled once per kernel set (core/kernel_set.h): its loops run over the whole
 * plane at once and gain from the CPU's full vector width, where the rest of layers/pool.c
 * (compiled once, for any x86-64) runs them four lanes wide. Nothing here is contracted
 * into an FMA, and maxima, selects and sums in a fixed order give the same bits at every
 * width.
 *
 * The plane is computed on a grid with the input's row pitch, so output (oy, ox) sits at
 * t = oy * pitch + ox and its window at t + i * pitch + j, and every loop runs over the
 * whole plane (the few columns past the row end are computed and dropped). The forward is
 * separable (rows, then columns). The backward routes each output's gradient to the first
 * maximum of its window in row-major order (torch's tie rule), window tap by window tap,
 * with a flag per output for whether it has been routed. */
#include "core/kernel_set.h"
#include "layers/pool_select.h"

/* Grid cells: (out_h - 1) * pitch + out_w. */
static int64_t grid_cells(const nni_pool_plane *g)
{
    return (g->out_h - 1) * g->pitch + g->out_w;
}

/* out[u] = the maximum (or sum) over k < taps of in[u + k step], u < n, in k's order. */
static void reduce_shifted(float *restrict out, const float *restrict in, int64_t n,
                           int64_t taps, int64_t step, int max)
{
    for (int64_t u = 0; u < n; u++)
        out[u] = in[u];
    for (int64_t k = 1; k < taps; k++) {
        const float *restrict r = in + k * step;
        if (max)
            for (int64_t u = 0; u < n; u++)
                out[u] = nni_pool_max_plain(out[u], r[u]);
        else
            for (int64_t u = 0; u < n; u++)
                out[u] += r[u];
    }
}

/* y from the padded plane src (rows, grid: scratch of a padded plane each). */
void NNI_KERNEL(nni_pool_stride1_forward)(const nni_pool_plane *g, const float *restrict src,
                                          float *restrict y, float *restrict rows,
                                          float *restrict grid)
{
    const int64_t pw = g->pitch, cells = grid_cells(g);
    const int64_t row_cells = cells + (g->kernel_h - 1) * pw;
    const int is_max_pool = g->max;
    reduce_shifted(rows, src, row_cells, g->kernel_w, 1, is_max_pool);  /* along rows */
    reduce_shifted(grid, rows, cells, g->kernel_h, pw, is_max_pool);    /* along columns */
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        float *restrict yr = y + oy * g->out_w;
        const float *restrict gr = grid + oy * pw;
        if (is_max_pool)
            memcpy(yr, gr, (size_t)g->out_w * sizeof *yr);
        else
            for (int64_t ox = 0; ox < g->out_w; ox++)
                yr[ox] = gr[ox] / (g->row_count[oy] * g->col_count[ox]);
    }
}

/* dx (+)= the gradient routed through the windows: dx is the padded gradient plane (pitch
 * `pitch`), zero or holding what to add to; grad, max and found are scratch of a plane. */
void NNI_KERNEL(nni_pool_stride1_backward)(const nni_pool_plane *g, const float *restrict src,
                                           const float *restrict y, const float *restrict dy,
                                           float *restrict dx, float *restrict grad,
                                           float *restrict max, int32_t *restrict found)
{
    const int64_t pw = g->pitch, cells = grid_cells(g);
    /* Spread y and dy (divided, for the average) over the grid; the cells past the row
     * ends carry no gradient and count as already routed. */
    for (int64_t t = 0; t < cells; t++) {
        grad[t] = 0.0f;
        found[t] = 1;
    }
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        const int64_t t0 = oy * pw, o0 = oy * g->out_w;
        if (g->max) {
            for (int64_t ox = 0; ox < g->out_w; ox++) {
                grad[t0 + ox] = dy[o0 + ox];
                max[t0 + ox] = y[o0 + ox];
                found[t0 + ox] = 0;
            }
        } else {
            const float rows = g->row_count[oy];
            for (int64_t ox = 0; ox < g->out_w; ox++)
                grad[t0 + ox] = dy[o0 + ox] / (rows * g->col_count[ox]);
        }
    }
    for (int64_t i = 0; i < g->kernel_h; i++)
        for (int64_t j = 0; j < g->kernel_w; j++) {
            const int64_t at = i * pw + j;
            float *restrict d = dx + at;
            if (g->max) {
                const float *restrict r = src + at;
                for (int64_t t = 0; t < cells; t++) {
                    const int32_t hit = (found[t] == 0) & (r[t] == max[t]);
                    d[t] += nni_pool_keep(grad[t], hit);
                    found[t] |= hit;
                }
            } else {
                for (int64_t t = 0; t < cells; t++)
                    d[t] += grad[t];
            }
        }
}


/* Pooling over NCHW planes: maxpool and avgpool (window `size`, `stride` defaulting to the
 * size, padding same / valid / explicit) and global_avgpool (mean of each channel plane,
 * output (channels), ready for a dense layer).
 *
 * maxpool: padding never wins (it acts as -inf, as in torch). The gradient goes to the first
 * maximum of each window in row-major order (torch's tie rule); backward finds it again
 * from the input instead of keeping indices from the forward, so nothing but the planned
 * activations is needed between the two passes.
 * avgpool: divides by the whole window including padding, torch's default
 * count_include_pad=True; `count_include_pad: false` divides by the valid elements only.
 * Padding must be at most half the window on every side (torch's rule), so every window
 * holds at least one real element.
 *
 * Gradients: maxpool dx[argmax] += dy; avgpool dx[window] += dy / divisor;
 * global_avgpool dx = dy / (height * width).
 *
 * Speed: windows that reach into the padding are handled on a padded copy of the plane
 * (-inf for max, 0 for average), so every window is whole and the loops have no clipping
 * and no data-dependent branches (maxima and first-maximum searches are selects and bit
 * masks, not jumps), and they vectorize; the loop shapes are described at the kernels
 * below. Planes are split over nni_threads() threads. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/kernel_set.h"
#include "core/threads.h"
#include "layers/conv_util.h"
#include "layers/layer_util.h"
#include "layers/pool_select.h"

enum { POOL_MAX, POOL_AVG };

typedef struct pool {
    int kind;
    int count_include_pad;
    nni_conv_geom geom; /* channels = all channels, dilation 1 */
    nni_conv_padding padding;
    int64_t in_plane, out_plane;
    int padded;                    /* some window reaches into the padding */
    int64_t padded_h, padded_w;    /* the plane the loops read (the input when !padded) */
    float *row_count, *col_count;  /* avgpool divisor = row_count[oy] * col_count[ox] */
    int threads;
    int64_t slot_floats;
    nni_pool_plane stride1;        /* the stride-1 kernels' view (layers/pool_stride1.c) */
} pool;

static void pool_destroy(nn_layer *layer)
{
    pool *p = layer->priv;
    if (p) {
        free(p->row_count);
        free(p->col_count);
    }
    nni_layer_free_priv(layer);
}

/* torch's avgpool divisor along one axis for output o: the window clipped to the padded
 * extent (the whole window in floor mode), or to the input without count_include_pad. */
static float axis_count(const pool *p, int64_t o, int64_t stride, int64_t pad_before,
                        int64_t pad_after, int64_t kernel, int64_t in)
{
    int64_t start = o * stride - pad_before, end = start + kernel;
    if (end > in + pad_after)
        end = in + pad_after;
    if (!p->count_include_pad) {
        start = start > 0 ? start : 0;
        end = end < in ? end : in;
    }
    return (float)(end - start);
}

static const char *const maxpool_keys[] = {"size", "stride", "padding", NULL};
static const char *const avgpool_keys[] = {"size", "stride", "padding", "count_include_pad",
                                           NULL};

static nn_status pool_build(nn_layer *layer, const nn_cfg *cfg, int kind, nn_error *err)
{
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = p;
    p->kind = kind;
    nn_status st = nni_conv_single_image_input(layer, cfg, err);
    if (st)
        return st;
    const nn_shape in = layer->inputs[0]->out_shape;
    int64_t size[2], stride[2];
    if ((st = nni_conv_read_pair(layer, cfg, "size", 0, size, err)))
        return st;
    if ((st = nni_conv_read_pair(layer, cfg, "stride", size[0], stride, err)))
        return st;
    if (!nn_cfg_get(cfg, "stride")) {
        stride[0] = size[0];
        stride[1] = size[1];
    }
    if (kind == POOL_AVG &&
        (st = nn_cfg_read_bool(cfg, "count_include_pad", 1, &p->count_include_pad, err)))
        return st;
    nni_conv_geom *g = &p->geom;
    g->channels = in.dim[0];
    g->in_h = in.dim[1];
    g->in_w = in.dim[2];
    g->kernel_h = size[0];
    g->kernel_w = size[1];
    g->stride_h = stride[0];
    g->stride_w = stride[1];
    g->dilation_h = g->dilation_w = 1;
    if ((st = nni_conv_read_padding(layer, cfg, g, &p->padding, err)))
        return st;
    const nni_conv_padding *pad = &p->padding;
    if (2 * pad->top > size[0] || 2 * pad->bottom > size[0] || 2 * pad->left > size[1] ||
        2 * pad->right > size[1])
        return nn_cfg_fail(err, nn_cfg_get(cfg, "padding") ? nn_cfg_get(cfg, "padding") : cfg,
                           "%s layer '%s': padding must be at most half the window (%lldx%lld)",
                           layer->ops->type, layer->name, (long long)size[0],
                           (long long)size[1]);
    p->in_plane = g->in_h * g->in_w;
    p->out_plane = g->out_h * g->out_w;
    layer->out_shape = nn_shape_3d(g->channels, g->out_h, g->out_w);
    p->padded = pad->top || pad->left || (g->out_h - 1) * g->stride_h + g->kernel_h > g->in_h ||
                (g->out_w - 1) * g->stride_w + g->kernel_w > g->in_w;
    p->padded_h = p->padded ? pad->top + g->in_h + pad->bottom : g->in_h;
    p->padded_w = p->padded ? pad->left + g->in_w + pad->right : g->in_w;
    p->row_count = malloc((size_t)g->out_h * sizeof *p->row_count);
    p->col_count = malloc((size_t)g->out_w * sizeof *p->col_count);
    if (!p->row_count || !p->col_count)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int64_t o = 0; o < g->out_h; o++)
        p->row_count[o] = axis_count(p, o, g->stride_h, pad->top, pad->bottom, g->kernel_h,
                                     g->in_h);
    for (int64_t o = 0; o < g->out_w; o++)
        p->col_count[o] = axis_count(p, o, g->stride_w, pad->left, pad->right, g->kernel_w,
                                     g->in_w);
    p->stride1 = (nni_pool_plane){.kernel_h = g->kernel_h, .kernel_w = g->kernel_w,
                                  .out_h = g->out_h, .out_w = g->out_w, .pitch = p->padded_w,
                                  .max = kind == POOL_MAX, .row_count = p->row_count,
                                  .col_count = p->col_count};
    /* Per thread: padded input and gradient planes, two stride-1 grids and a row (or grid)
     * of flags, each at most a padded plane. */
    p->threads = nni_threads();
    p->slot_floats = (5 * p->padded_h * p->padded_w + 15) & ~(int64_t)15;
    layer->workspace_floats = p->threads * p->slot_floats;
    return NN_OK;
}

static nn_status maxpool_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    return pool_build(layer, cfg, POOL_MAX, err);
}

static nn_status avgpool_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    return pool_build(layer, cfg, POOL_AVG, err);
}

/* ---- plane kernels ------------------------------------------------------------------
 *
 * Three shapes of loop, chosen per layer:
 *  - 2x2 windows with stride 2 and nothing padded (the usual downsampling): one pass over
 *    output pixels reading the four inputs, which vectorizes as pairs of lanes;
 *  - stride 1 (the inception branch's 3x3 'same' pool): the plane is computed on a grid
 *    with the input's row pitch, every loop over the whole plane at once, in
 *    layers/pool_stride1.c, which is built per kernel set (core/kernel_set.h) so that those
 *    loops run at the CPU's vector width;
 *  - anything else: per output row, with the column stride a constant when it is 2. */

typedef struct plane_buffers {
    float *src, *dx;     /* padded input and gradient planes */
    float *grid, *tmp;   /* stride-1 grids */
    int32_t *found;
} plane_buffers;

/* The plane the loops read: x itself, or x inside a border of `fill`. */
static const float *source_plane(const pool *p, const float *x, float *buf, float fill)
{
    if (!p->padded)
        return x;
    const nni_conv_geom *g = &p->geom;
    const int64_t pw = p->padded_w;
    for (int64_t i = 0; i < p->padded_h * pw; i++)
        buf[i] = fill;
    for (int64_t iy = 0; iy < g->in_h; iy++)
        memcpy(buf + (iy + g->pad_top) * pw + g->pad_left, x + iy * g->in_w,
               (size_t)g->in_w * sizeof *buf);
    return buf;
}

/* dx (+)= the interior of the padded gradient plane. */
static void store_interior(const pool *p, const float *buf, float *dx, int accumulate)
{
    const nni_conv_geom *g = &p->geom;
    for (int64_t iy = 0; iy < g->in_h; iy++)
        nni_layer_store(dx + iy * g->in_w, buf + (iy + g->pad_top) * p->padded_w + g->pad_left,
                        g->in_w, accumulate);
}

static inline float max_nan(float m, float v)
{
    return ((v > m) | (v != v)) ? v : m;
}

/* Whether v is the window's maximum m, as torch's first-maximum search decides. */
static inline int32_t is_max(float v, float m, const int careful)
{
    return careful ? (v == m) | (v != v) : v == m;
}

static int has_nan(const float *restrict x, int64_t n)
{
    int32_t acc[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] |= x[i + j] != x[i + j];
    int32_t any = 0;
    for (; i < n; i++)
        any |= x[i] != x[i];
    for (int j = 0; j < 16; j++)
        any |= acc[j];
    return any;
}

enum { LOOP_2X2, LOOP_STRIDE1, LOOP_GENERAL };

static int loop_kind(const pool *p)
{
    const nni_conv_geom *g = &p->geom;
    if (g->kernel_h == 2 && g->kernel_w == 2 && g->stride_h == 2 && g->stride_w == 2 &&
        !p->padded)
        return LOOP_2X2;
    if (g->stride_h == 1 && g->stride_w == 1)
        return LOOP_STRIDE1;
    return LOOP_GENERAL;
}

/* 2x2 / 2. */
static void pool2x2_forward(const pool *p, const float *restrict x, float *restrict y)
{
    const nni_conv_geom *g = &p->geom;
    const int64_t ow = g->out_w, w = g->in_w;
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        const float *restrict r0 = x + 2 * oy * w, *restrict r1 = r0 + w;
        float *restrict yr = y + oy * ow;
        if (p->kind == POOL_MAX)
            for (int64_t ox = 0; ox < ow; ox++)
                yr[ox] = nni_pool_max_plain(nni_pool_max_plain(r0[2 * ox], r0[2 * ox + 1]),
                                            nni_pool_max_plain(r1[2 * ox], r1[2 * ox + 1]));
        else
            for (int64_t ox = 0; ox < ow; ox++)
                yr[ox] = (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]) / 4.0f;
    }
}

/* *d += v, or with `store` *d = 0 + v: the bits of adding to a zeroed element, -0 included. */
static inline void put(float *d, float v, int store)
{
    *d = (store ? 0.0f : *d) + v;
}

/* dx must hold zeros (or the gradient to add to) on entry, unless `store`: then the windows
 * must tile the plane (even height and width) and each element is written once, without a
 * pass that zeroes dx first. store is a constant at each call (always inlined). */
static inline __attribute__((always_inline)) void
pool2x2_backward(const pool *p, const float *restrict x, const float *restrict y,
                 const float *restrict dy, float *restrict dx, int store)
{
    const nni_conv_geom *g = &p->geom;
    const int64_t ow = g->out_w, w = g->in_w;
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        const float *restrict r0 = x + 2 * oy * w, *restrict r1 = r0 + w;
        const float *restrict yr = y + oy * ow, *restrict dyr = dy + oy * ow;
        float *restrict d0 = dx + 2 * oy * w, *restrict d1 = d0 + w;
        if (p->kind == POOL_MAX)
            for (int64_t ox = 0; ox < ow; ox++) {
                const float m = yr[ox], grad = dyr[ox];
                const int32_t a = r0[2 * ox] == m;
                const int32_t b = (a == 0) & (r0[2 * ox + 1] == m);
                const int32_t c = ((a | b) == 0) & (r1[2 * ox] == m);
                const int32_t e = (a | b | c) == 0;
                put(d0 + 2 * ox, nni_pool_keep(grad, a), store);
                put(d0 + 2 * ox + 1, nni_pool_keep(grad, b), store);
                put(d1 + 2 * ox, nni_pool_keep(grad, c), store);
                put(d1 + 2 * ox + 1, nni_pool_keep(grad, e), store);
            }
        else
            for (int64_t ox = 0; ox < ow; ox++) {
                const float grad = dyr[ox] / 4.0f;
                put(d0 + 2 * ox, grad, store);
                put(d0 + 2 * ox + 1, grad, store);
                put(d1 + 2 * ox, grad, store);
                put(d1 + 2 * ox + 1, grad, store);
            }
    }
}

/* Any stride, per output row. */
static inline __attribute__((always_inline)) void general_forward(const pool *p,
                                                                  const int64_t sw,
                                                                  const int careful,
                                                                  const float *restrict src,
                                                                  float *restrict y)
{
    const nni_conv_geom *g = &p->geom;
    const int64_t ow = g->out_w, pw = p->padded_w;
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        float *restrict yr = y + oy * ow;
        for (int64_t ox = 0; ox < ow; ox++)
            yr[ox] = p->kind == POOL_MAX ? -INFINITY : 0.0f;
        for (int64_t i = 0; i < g->kernel_h; i++)
            for (int64_t j = 0; j < g->kernel_w; j++) {
                const float *restrict r = src + (oy * g->stride_h + i) * pw + j;
                if (p->kind == POOL_MAX && careful)
                    for (int64_t ox = 0; ox < ow; ox++)
                        yr[ox] = max_nan(yr[ox], r[ox * sw]);
                else if (p->kind == POOL_MAX)
                    for (int64_t ox = 0; ox < ow; ox++)
                        yr[ox] = nni_pool_max_plain(yr[ox], r[ox * sw]);
                else
                    for (int64_t ox = 0; ox < ow; ox++)
                        yr[ox] += r[ox * sw];
            }
        if (p->kind == POOL_AVG)
            for (int64_t ox = 0; ox < ow; ox++)
                yr[ox] /= p->row_count[oy] * p->col_count[ox];
    }
}

static inline __attribute__((always_inline)) void general_backward(
    const pool *p, const int64_t sw, const int careful, const float *restrict src,
    const float *restrict y,
    const float *restrict dy, float *restrict dx, const plane_buffers *buf)
{
    const nni_conv_geom *g = &p->geom;
    const int64_t ow = g->out_w, pw = p->padded_w;
    int32_t *restrict found = buf->found;
    float *restrict share = buf->tmp;
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        const float *restrict yr = y + oy * ow, *restrict dyr = dy + oy * ow;
        for (int64_t ox = 0; ox < ow; ox++) {
            found[ox] = 0;
            share[ox] = p->kind == POOL_MAX ? dyr[ox]
                                            : dyr[ox] / (p->row_count[oy] * p->col_count[ox]);
        }
        for (int64_t i = 0; i < g->kernel_h; i++)
            for (int64_t j = 0; j < g->kernel_w; j++) {
                const int64_t at = (oy * g->stride_h + i) * pw + j;
                float *restrict d = dx + at;
                if (p->kind == POOL_MAX) {
                    const float *restrict r = src + at;
                    for (int64_t ox = 0; ox < ow; ox++) {
                        const int32_t hit =
                            (found[ox] == 0) & is_max(r[ox * sw], yr[ox], careful);
                        d[ox * sw] += nni_pool_keep(share[ox], hit);
                        found[ox] |= hit;
                    }
                } else {
                    for (int64_t ox = 0; ox < ow; ox++)
                        d[ox * sw] += share[ox];
                }
            }
    }
}

static plane_buffers slot_buffers(const pool *p, float *workspace, int t)
{
    const int64_t plane = p->padded_h * p->padded_w;
    float *base = workspace + t * p->slot_floats;
    plane_buffers b = {.src = base, .dx = base + plane, .grid = base + 2 * plane,
                       .tmp = base + 3 * plane, .found = (int32_t *)(base + 4 * plane)};
    return b;
}

static int pool_call_threads(const pool *p, int64_t planes)
{
    int threads = nni_threads();
    threads = threads < p->threads ? threads : p->threads;
    return planes < threads ? 1 : threads;
}

static void pool_forward(nn_layer *layer, const nn_pass *pass)
{
    const pool *p = layer->priv;
    const int64_t planes = pass->batch * p->geom.channels;
    const float *x_all = layer->inputs[0]->out;
    float *y_all = layer->out, *workspace = nni_layer_workspace(layer);
    const int kind = loop_kind(p);
    const float fill = p->kind == POOL_MAX ? -INFINITY : 0.0f;
    const int threads = pool_call_threads(p, planes);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const plane_buffers buf = slot_buffers(p, workspace, omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t k = 0; k < planes; k++) {
            const float *x = x_all + k * p->in_plane;
            float *y = y_all + k * p->out_plane;
            if (p->kind == POOL_MAX && has_nan(x, p->in_plane))
                general_forward(p, p->geom.stride_w, 1, source_plane(p, x, buf.src, fill), y);
            else if (kind == LOOP_2X2)
                pool2x2_forward(p, x, y);
            else if (kind == LOOP_STRIDE1)
                nni_kernels()->pool_stride1_forward(&p->stride1,
                                                    source_plane(p, x, buf.src, fill), y,
                                                    buf.tmp, buf.grid);
            else if (p->geom.stride_w == 2)
                general_forward(p, 2, 0, source_plane(p, x, buf.src, fill), y);
            else
                general_forward(p, p->geom.stride_w, 0, source_plane(p, x, buf.src, fill), y);
        }
    }
}

static void pool_backward(nn_layer *layer, const nn_pass *pass)
{
    const pool *p = layer->priv;
    float *dx_all = layer->inputs[0]->dout;
    if (!dx_all)
        return;
    const int64_t planes = pass->batch * p->geom.channels;
    const int accumulate = layer->input_accumulate[0];
    const int kind = loop_kind(p);
    const float fill = p->kind == POOL_MAX ? -INFINITY : 0.0f;
    float *workspace = nni_layer_workspace(layer);
    const int threads = pool_call_threads(p, planes);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const plane_buffers buf = slot_buffers(p, workspace, omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t k = 0; k < planes; k++) {
            const float *x = layer->inputs[0]->out + k * p->in_plane;
            const float *y = layer->out + k * p->out_plane;
            const float *dy = layer->dout + k * p->out_plane;
            float *dx = dx_all + k * p->in_plane;
            /* Scatter into the padded buffer, or straight into dx when nothing is padded. */
            float *target = p->padded ? buf.dx : dx;
            const int nan = p->kind == POOL_MAX && has_nan(y, p->out_plane);
            /* 2x2 windows that tile the plane write each element of dx once. */
            const int store = kind == LOOP_2X2 && !nan && !accumulate &&
                              p->geom.in_h == 2 * p->geom.out_h &&
                              p->geom.in_w == 2 * p->geom.out_w;
            if ((p->padded || !accumulate) && !store)
                memset(target, 0, (size_t)(p->padded_h * p->padded_w) * sizeof *target);
            const float *src = p->kind == POOL_MAX && kind != LOOP_2X2
                                   ? source_plane(p, x, buf.src, fill)
                                   : x;
            /* A NaN in a window makes its maximum NaN: planes without NaN outputs have
             * none in their inputs' windows either. */
            if (nan)
                general_backward(p, p->geom.stride_w, 1, source_plane(p, x, buf.src, fill), y,
                                 dy, target, &buf);
            else if (kind == LOOP_2X2 && store)
                pool2x2_backward(p, x, y, dy, target, 1);
            else if (kind == LOOP_2X2)
                pool2x2_backward(p, x, y, dy, target, 0);
            else if (kind == LOOP_STRIDE1)
                nni_kernels()->pool_stride1_backward(&p->stride1, src, y, dy, target, buf.tmp,
                                                     buf.grid, buf.found);
            else if (p->geom.stride_w == 2)
                general_backward(p, 2, 0, src, y, dy, target, &buf);
            else
                general_backward(p, p->geom.stride_w, 0, src, y, dy, target, &buf);
            if (p->padded)
                store_interior(p, buf.dx, dx, accumulate);
        }
    }
}

static int64_t pool_flops(const nn_layer *layer)
{
    const pool *p = layer->priv;
    return nni_layer_out_size(layer) * p->geom.kernel_h * p->geom.kernel_w;
}

static void pool_describe(const nn_layer *layer, char *buf, int size)
{
    const pool *p = layer->priv;
    const nni_conv_geom *g = &p->geom;
    char pad[48];
    nni_conv_format_padding(&p->padding, pad, sizeof pad);
    snprintf(buf, (size_t)size, "%lldx%lld /%lldx%lld pad=%s%s", (long long)g->kernel_h,
             (long long)g->kernel_w, (long long)g->stride_h, (long long)g->stride_w, pad,
             p->kind == POOL_AVG && !p->count_include_pad ? " exclude-pad" : "");
}

static void pool_torch(const nn_layer *layer, char *buf, int size)
{
    const pool *p = layer->priv;
    const nni_conv_geom *g = &p->geom;
    const nni_conv_padding *pad = &p->padding;
    snprintf(buf, (size_t)size, "Pool2d(\"%s\", (%lld, %lld), (%lld, %lld), (%lld, %lld, %lld, "
             "%lld), count_include_pad=%s)", p->kind == POOL_MAX ? "max" : "avg",
             (long long)g->kernel_h, (long long)g->kernel_w, (long long)g->stride_h,
             (long long)g->stride_w, (long long)pad->left, (long long)pad->right,
             (long long)pad->top, (long long)pad->bottom,
             p->count_include_pad ? "True" : "False");
}

const nn_layer_ops nni_maxpool_ops = {
    .type = "maxpool",
    .keys = maxpool_keys,
    .params = "size stride=size padding=valid",
    .help = "maximum over each window (padding as conv2d, at most half the window)",
    .build = maxpool_build,
    .forward = pool_forward,
    .backward = pool_backward,
    .flops = pool_flops,
    .destroy = pool_destroy,
    .describe = pool_describe,
    .torch_module = pool_torch,
};

const nn_layer_ops nni_avgpool_ops = {
    .type = "avgpool",
    .keys = avgpool_keys,
    .params = "size stride=size padding=valid count_include_pad=true",
    .help = "mean over each window; with count_include_pad (torch's default) padding counts "
            "in the divisor",
    .build = avgpool_build,
    .forward = pool_forward,
    .backward = pool_backward,
    .flops = pool_flops,
    .destroy = pool_destroy,
    .describe = pool_describe,
    .torch_module = pool_torch,
};

/* ---- global average pooling -------------------------------------------------------- */

static const char *const no_keys[] = {NULL};

static nn_status global_avgpool_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    nn_status st = nni_conv_single_image_input(layer, cfg, err);
    if (st)
        return st;
    layer->out_shape = nn_shape_1d(layer->inputs[0]->out_shape.dim[0]);
    return NN_OK;
}

static void global_avgpool_forward(nn_layer *layer, const nn_pass *pass)
{
    const nn_shape in = layer->inputs[0]->out_shape;
    const int64_t planes = pass->batch * in.dim[0], plane_size = in.dim[1] * in.dim[2];
    const float scale = 1.0f / (float)plane_size;
    for (int64_t k = 0; k < planes; k++) {
        layer->out[k] = nni_layer_sum(layer->inputs[0]->out + k * plane_size, plane_size) * scale;
    }
}

static void global_avgpool_backward(nn_layer *layer, const nn_pass *pass)
{
    float *dx = layer->inputs[0]->dout;
    if (!dx)
        return;
    const nn_shape in = layer->inputs[0]->out_shape;
    const int64_t planes = pass->batch * in.dim[0], plane_size = in.dim[1] * in.dim[2];
    const float scale = 1.0f / (float)plane_size;
    const int accumulate = layer->input_accumulate[0];
    for (int64_t k = 0; k < planes; k++) {
        const float g = layer->dout[k] * scale;
        float *d = dx + k * plane_size;
        if (accumulate)
            for (int64_t i = 0; i < plane_size; i++)
                d[i] += g;
        else
            for (int64_t i = 0; i < plane_size; i++)
                d[i] = g;
    }
}

static int64_t global_avgpool_flops(const nn_layer *layer)
{
    return nni_layer_in_size(layer, 0);
}

static void global_avgpool_torch(const nn_layer *layer, char *buf, int size)
{
    (void)layer;
    snprintf(buf, (size_t)size, "GlobalAvgPool()");
}

const nn_layer_ops nni_global_avgpool_ops = {
    .type = "global_avgpool",
    .keys = no_keys,
    .params = "",
    .help = "mean of each channel: (C, H, W) -> (C)",
    .build = global_avgpool_build,
    .forward = global_avgpool_forward,
    .backward = global_avgpool_backward,
    .flops = global_avgpool_flops,
    .torch_module = global_avgpool_torch,
};

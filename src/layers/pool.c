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
 * global_avgpool dx = dy / (height * width). */
#include <string.h>

#include "layers/conv_util.h"
#include "layers/layer_util.h"

enum { POOL_MAX, POOL_AVG };

typedef struct pool {
    int kind;
    int count_include_pad;
    nn_conv_geom geom; /* channels = all channels, dilation 1 */
    nn_conv_padding padding;
    int64_t in_plane, out_plane;
} pool;

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
    nn_status st = nn_conv_single_image_input(layer, cfg, err);
    if (st)
        return st;
    const nn_shape in = layer->inputs[0]->out_shape;
    int64_t size[2], stride[2];
    if ((st = nn_conv_read_pair(layer, cfg, "size", 0, size, err)))
        return st;
    if ((st = nn_conv_read_pair(layer, cfg, "stride", size[0], stride, err)))
        return st;
    if (!nn_cfg_get(cfg, "stride")) {
        stride[0] = size[0];
        stride[1] = size[1];
    }
    if (kind == POOL_AVG &&
        (st = nn_cfg_read_bool(cfg, "count_include_pad", 1, &p->count_include_pad, err)))
        return st;
    nn_conv_geom *g = &p->geom;
    g->channels = in.dim[0];
    g->in_h = in.dim[1];
    g->in_w = in.dim[2];
    g->kernel_h = size[0];
    g->kernel_w = size[1];
    g->stride_h = stride[0];
    g->stride_w = stride[1];
    g->dilation_h = g->dilation_w = 1;
    if ((st = nn_conv_read_padding(layer, cfg, g, &p->padding, err)))
        return st;
    const nn_conv_padding *pad = &p->padding;
    if (2 * pad->top > size[0] || 2 * pad->bottom > size[0] || 2 * pad->left > size[1] ||
        2 * pad->right > size[1])
        return nn_cfg_fail(err, nn_cfg_get(cfg, "padding") ? nn_cfg_get(cfg, "padding") : cfg,
                           "%s layer '%s': padding must be at most half the window (%lldx%lld)",
                           layer->ops->type, layer->name, (long long)size[0],
                           (long long)size[1]);
    p->in_plane = g->in_h * g->in_w;
    p->out_plane = g->out_h * g->out_w;
    layer->out_shape = nn_shape_3d(g->channels, g->out_h, g->out_w);
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

/* The window of output (oy, ox) clipped to the input: rows [*y0, *y1), columns [*x0, *x1). */
static inline void window(const nn_conv_geom *g, int64_t oy, int64_t ox, int64_t *y0,
                          int64_t *y1, int64_t *x0, int64_t *x1)
{
    int64_t ys = oy * g->stride_h - g->pad_top, xs = ox * g->stride_w - g->pad_left;
    *y0 = ys > 0 ? ys : 0;
    *x0 = xs > 0 ? xs : 0;
    *y1 = ys + g->kernel_h < g->in_h ? ys + g->kernel_h : g->in_h;
    *x1 = xs + g->kernel_w < g->in_w ? xs + g->kernel_w : g->in_w;
}

/* Index of the first maximum (NaN wins, as in torch) of a clipped window. */
static inline int64_t window_argmax(const float *x, int64_t in_w, int64_t y0, int64_t y1,
                                    int64_t x0, int64_t x1)
{
    int64_t best = y0 * in_w + x0;
    float m = x[best];
    for (int64_t iy = y0; iy < y1; iy++)
        for (int64_t ix = x0; ix < x1; ix++) {
            float v = x[iy * in_w + ix];
            if (v > m || (v != v && m == m)) {
                m = v;
                best = iy * in_w + ix;
            }
        }
    return best;
}

/* max that propagates NaN like torch (fmaxf would drop it); vectorizes to compare+blend. */
static inline float max_nan(float a, float b)
{
    return (a > b || a != a) ? a : b;
}

/* 2x2 windows with stride 2 and no padding, the common case, without the clipping. */
static void maxpool2_plane(const float *restrict x, float *restrict y, const nn_conv_geom *g)
{
    const int64_t in_w = g->in_w;
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        const float *r0 = x + 2 * oy * in_w, *r1 = r0 + in_w;
        float *yr = y + oy * g->out_w;
        for (int64_t ox = 0; ox < g->out_w; ox++) {
            float a = max_nan(r0[2 * ox], r0[2 * ox + 1]);
            float b = max_nan(r1[2 * ox], r1[2 * ox + 1]);
            yr[ox] = max_nan(a, b);
        }
    }
}

static int is_plain_2x2(const pool *p)
{
    const nn_conv_geom *g = &p->geom;
    return g->kernel_h == 2 && g->kernel_w == 2 && g->stride_h == 2 && g->stride_w == 2 &&
           g->pad_top == 0 && g->pad_left == 0 && 2 * g->out_h <= g->in_h &&
           2 * g->out_w <= g->in_w;
}

static void maxpool_forward(nn_layer *layer, const nn_pass *pass)
{
    const pool *p = layer->priv;
    const nn_conv_geom *g = &p->geom;
    const int64_t planes = pass->batch * g->channels;
    const int plain = is_plain_2x2(p);
    for (int64_t plane = 0; plane < planes; plane++) {
        const float *x = layer->inputs[0]->out + plane * p->in_plane;
        float *y = layer->out + plane * p->out_plane;
        if (plain) {
            maxpool2_plane(x, y, g);
            continue;
        }
        for (int64_t oy = 0; oy < g->out_h; oy++)
            for (int64_t ox = 0; ox < g->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(g, oy, ox, &y0, &y1, &x0, &x1);
                y[oy * g->out_w + ox] = x[window_argmax(x, g->in_w, y0, y1, x0, x1)];
            }
    }
}

static void maxpool_backward(nn_layer *layer, const nn_pass *pass)
{
    const pool *p = layer->priv;
    const nn_conv_geom *g = &p->geom;
    float *dx_all = layer->inputs[0]->dout;
    if (!dx_all)
        return;
    const int64_t planes = pass->batch * g->channels;
    for (int64_t plane = 0; plane < planes; plane++) {
        const float *x = layer->inputs[0]->out + plane * p->in_plane;
        const float *dy = layer->dout + plane * p->out_plane;
        float *dx = dx_all + plane * p->in_plane;
        if (!layer->input_accumulate[0])
            memset(dx, 0, (size_t)p->in_plane * sizeof *dx);
        for (int64_t oy = 0; oy < g->out_h; oy++)
            for (int64_t ox = 0; ox < g->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(g, oy, ox, &y0, &y1, &x0, &x1);
                dx[window_argmax(x, g->in_w, y0, y1, x0, x1)] += dy[oy * g->out_w + ox];
            }
    }
}

/* torch's divisor: the window clipped to the padded input (all of it in floor mode), or
 * only its real elements without count_include_pad. */
static inline float avg_scale(const pool *p, int64_t oy, int64_t ox, int64_t y0, int64_t y1,
                              int64_t x0, int64_t x1)
{
    if (!p->count_include_pad)
        return 1.0f / (float)((y1 - y0) * (x1 - x0));
    const nn_conv_geom *g = &p->geom;
    int64_t ys = oy * g->stride_h - g->pad_top, xs = ox * g->stride_w - g->pad_left;
    int64_t ye = ys + g->kernel_h, xe = xs + g->kernel_w;
    int64_t y_end = g->in_h + p->padding.bottom, x_end = g->in_w + p->padding.right;
    ye = ye < y_end ? ye : y_end;
    xe = xe < x_end ? xe : x_end;
    return 1.0f / (float)((ye - ys) * (xe - xs));
}

static void avgpool_forward(nn_layer *layer, const nn_pass *pass)
{
    const pool *p = layer->priv;
    const nn_conv_geom *g = &p->geom;
    const int64_t planes = pass->batch * g->channels;
    for (int64_t plane = 0; plane < planes; plane++) {
        const float *x = layer->inputs[0]->out + plane * p->in_plane;
        float *y = layer->out + plane * p->out_plane;
        for (int64_t oy = 0; oy < g->out_h; oy++)
            for (int64_t ox = 0; ox < g->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(g, oy, ox, &y0, &y1, &x0, &x1);
                float sum = 0.0f;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++)
                        sum += x[iy * g->in_w + ix];
                y[oy * g->out_w + ox] = sum * avg_scale(p, oy, ox, y0, y1, x0, x1);
            }
    }
}

static void avgpool_backward(nn_layer *layer, const nn_pass *pass)
{
    const pool *p = layer->priv;
    const nn_conv_geom *g = &p->geom;
    float *dx_all = layer->inputs[0]->dout;
    if (!dx_all)
        return;
    const int64_t planes = pass->batch * g->channels;
    for (int64_t plane = 0; plane < planes; plane++) {
        const float *dy = layer->dout + plane * p->out_plane;
        float *dx = dx_all + plane * p->in_plane;
        if (!layer->input_accumulate[0])
            memset(dx, 0, (size_t)p->in_plane * sizeof *dx);
        for (int64_t oy = 0; oy < g->out_h; oy++)
            for (int64_t ox = 0; ox < g->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(g, oy, ox, &y0, &y1, &x0, &x1);
                float share = dy[oy * g->out_w + ox] * avg_scale(p, oy, ox, y0, y1, x0, x1);
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++)
                        dx[iy * g->in_w + ix] += share;
            }
    }
}

static int64_t pool_flops(const nn_layer *layer)
{
    const pool *p = layer->priv;
    return nn_layer_out_size(layer) * p->geom.kernel_h * p->geom.kernel_w;
}

static void pool_describe(const nn_layer *layer, char *buf, int size)
{
    const pool *p = layer->priv;
    const nn_conv_geom *g = &p->geom;
    char pad[48];
    nn_conv_format_padding(&p->padding, pad, sizeof pad);
    snprintf(buf, (size_t)size, "%lldx%lld /%lldx%lld pad=%s%s", (long long)g->kernel_h,
             (long long)g->kernel_w, (long long)g->stride_h, (long long)g->stride_w, pad,
             p->kind == POOL_AVG && !p->count_include_pad ? " exclude-pad" : "");
}

const nn_layer_ops nn_maxpool_ops = {
    .type = "maxpool",
    .keys = maxpool_keys,
    .build = maxpool_build,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .flops = pool_flops,
    .destroy = nn_layer_free_priv,
    .describe = pool_describe,
};

const nn_layer_ops nn_avgpool_ops = {
    .type = "avgpool",
    .keys = avgpool_keys,
    .build = avgpool_build,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .flops = pool_flops,
    .destroy = nn_layer_free_priv,
    .describe = pool_describe,
};

/* ---- global average pooling -------------------------------------------------------- */

static const char *const no_keys[] = {NULL};

static nn_status global_avgpool_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    nn_status st = nn_conv_single_image_input(layer, cfg, err);
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
        const float *x = layer->inputs[0]->out + k * plane_size;
        float sum = 0.0f;
        for (int64_t i = 0; i < plane_size; i++)
            sum += x[i];
        layer->out[k] = sum * scale;
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
    return nn_layer_in_size(layer, 0);
}

const nn_layer_ops nn_global_avgpool_ops = {
    .type = "global_avgpool",
    .keys = no_keys,
    .build = global_avgpool_build,
    .forward = global_avgpool_forward,
    .backward = global_avgpool_backward,
    .flops = global_avgpool_flops,
};

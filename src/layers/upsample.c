/* upsample: enlarge (channels, height, width) images by integer factors, as
 * torch.nn.Upsample(scale_factor=..., mode='nearest' | 'bilinear', align_corners=...).
 *
 * Every output pixel reads at most four input pixels with separable weights, so both modes
 * share one table per axis planned at build: for output row oy, source rows lo[oy] and
 * hi[oy] weighted (1 - frac[oy]) and frac[oy] (the same for columns). Nearest is the table
 * with frac = 0 and src = floor(oy / scale); bilinear follows torch's source coordinate:
 *   align_corners false: src = max((oy + 0.5) / scale - 0.5, 0)
 *   align_corners true:  src = oy * (in - 1) / (out - 1)
 * Backward scatters dy through the same weights. */
#include <math.h>
#include <string.h>

#include "layers/conv_util.h"
#include "layers/layer_util.h"

enum { UPSAMPLE_NEAREST, UPSAMPLE_BILINEAR };

typedef struct axis_map {
    int64_t *lo, *hi;
    float *frac;
} axis_map;

typedef struct upsample {
    int mode, align_corners;
    int64_t scale[2];
    int64_t channels, in_h, in_w, out_h, out_w;
    axis_map rows, cols;
} upsample;

static const char *const upsample_keys[] = {"scale", "mode", "align_corners", NULL};
static const char *const mode_names[] = {"nearest", "bilinear", NULL};

static nn_status axis_map_plan(axis_map *m, int64_t in, int64_t out, int64_t scale, int mode,
                               int align_corners)
{
    m->lo = malloc((size_t)out * sizeof *m->lo);
    m->hi = malloc((size_t)out * sizeof *m->hi);
    m->frac = malloc((size_t)out * sizeof *m->frac);
    if (!m->lo || !m->hi || !m->frac)
        return NN_ERR_OTHER;
    for (int64_t o = 0; o < out; o++) {
        if (mode == UPSAMPLE_NEAREST) {
            m->lo[o] = m->hi[o] = o / scale;
            m->frac[o] = 0.0f;
            continue;
        }
        /* In float, as torch computes it on CPU for float tensors. */
        float src = align_corners ? (out > 1 ? (float)o * (float)(in - 1) / (float)(out - 1)
                                             : 0.0f)
                                  : ((float)o + 0.5f) / (float)scale - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        int64_t lo = (int64_t)src;
        if (lo > in - 1)
            lo = in - 1;
        m->lo[o] = lo;
        m->hi[o] = lo + 1 < in ? lo + 1 : in - 1;
        m->frac[o] = src - (float)lo;
    }
    return NN_OK;
}

static void axis_map_free(axis_map *m)
{
    free(m->lo);
    free(m->hi);
    free(m->frac);
}

static void upsample_destroy(nn_layer *layer)
{
    upsample *u = layer->priv;
    if (u) {
        axis_map_free(&u->rows);
        axis_map_free(&u->cols);
    }
    nni_layer_free_priv(layer);
}

static nn_status upsample_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    upsample *u = calloc(1, sizeof *u);
    if (!u)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = u;
    nn_status st = nni_conv_single_image_input(layer, cfg, err);
    if (st || (st = nni_conv_read_pair(layer, cfg, "scale", 2, u->scale, err)) ||
        (st = nn_cfg_read_choice(cfg, "mode", mode_names, "nearest", &u->mode, err)) ||
        (st = nn_cfg_read_bool(cfg, "align_corners", 0, &u->align_corners, err)))
        return st;
    if (u->align_corners && u->mode != UPSAMPLE_BILINEAR)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "align_corners"),
                           "upsample layer '%s': align_corners applies to mode bilinear only",
                           layer->name);
    const nn_shape in = layer->inputs[0]->out_shape;
    u->channels = in.dim[0];
    u->in_h = in.dim[1];
    u->in_w = in.dim[2];
    u->out_h = u->in_h * u->scale[0];
    u->out_w = u->in_w * u->scale[1];
    layer->out_shape = nn_shape_3d(u->channels, u->out_h, u->out_w);
    if (axis_map_plan(&u->rows, u->in_h, u->out_h, u->scale[0], u->mode, u->align_corners) ||
        axis_map_plan(&u->cols, u->in_w, u->out_w, u->scale[1], u->mode, u->align_corners))
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    return NN_OK;
}

static void upsample_forward(nn_layer *layer, const nn_pass *pass)
{
    const upsample *u = layer->priv;
    const int64_t planes = pass->batch * u->channels;
    const int64_t in_plane = u->in_h * u->in_w, out_plane = u->out_h * u->out_w;
    const int threads = nni_layer_elementwise_threads(planes * out_plane, pass->batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const float *x = layer->inputs[0]->out + p * in_plane;
        float *y = layer->out + p * out_plane;
        for (int64_t oy = 0; oy < u->out_h; oy++) {
            const float *top = x + u->rows.lo[oy] * u->in_w, *bottom = x + u->rows.hi[oy] * u->in_w;
            const float fy = u->rows.frac[oy];
            for (int64_t ox = 0; ox < u->out_w; ox++) {
                const int64_t l = u->cols.lo[ox], r = u->cols.hi[ox];
                const float fx = u->cols.frac[ox];
                const float upper = (1.0f - fx) * top[l] + fx * top[r];
                const float lower = (1.0f - fx) * bottom[l] + fx * bottom[r];
                y[oy * u->out_w + ox] = (1.0f - fy) * upper + fy * lower;
            }
        }
    }
}

static void upsample_backward(nn_layer *layer, const nn_pass *pass)
{
    const upsample *u = layer->priv;
    float *dx_all = layer->inputs[0]->dout;
    if (!dx_all)
        return;
    const int accumulate = layer->input_accumulate[0];
    const int64_t planes = pass->batch * u->channels;
    const int64_t in_plane = u->in_h * u->in_w, out_plane = u->out_h * u->out_w;
    const int threads = nni_layer_elementwise_threads(planes * out_plane, pass->batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        float *dx = dx_all + p * in_plane;
        const float *dy = layer->dout + p * out_plane;
        if (!accumulate)
            memset(dx, 0, (size_t)in_plane * sizeof *dx);
        for (int64_t oy = 0; oy < u->out_h; oy++) {
            float *top = dx + u->rows.lo[oy] * u->in_w, *bottom = dx + u->rows.hi[oy] * u->in_w;
            const float fy = u->rows.frac[oy];
            for (int64_t ox = 0; ox < u->out_w; ox++) {
                const int64_t l = u->cols.lo[ox], r = u->cols.hi[ox];
                const float fx = u->cols.frac[ox], g = dy[oy * u->out_w + ox];
                top[l] += (1.0f - fy) * (1.0f - fx) * g;
                top[r] += (1.0f - fy) * fx * g;
                bottom[l] += fy * (1.0f - fx) * g;
                bottom[r] += fy * fx * g;
            }
        }
    }
}

static int64_t upsample_flops(const nn_layer *layer)
{
    const upsample *u = layer->priv;
    return (u->mode == UPSAMPLE_BILINEAR ? 9 : 0) * u->channels * u->out_h * u->out_w;
}

static void upsample_describe(const nn_layer *layer, char *buf, int size)
{
    const upsample *u = layer->priv;
    snprintf(buf, (size_t)size, "x%lldx%lld %s%s", (long long)u->scale[0],
             (long long)u->scale[1], mode_names[u->mode],
             u->align_corners ? " align_corners" : "");
}

/* model/export_torch.c's Upsample: nearest repeats pixels exactly, bilinear is
 * F.interpolate's. */
static void upsample_torch(const nn_layer *layer, char *buf, int size)
{
    const upsample *u = layer->priv;
    snprintf(buf, (size_t)size, "Upsample((%lld, %lld), \"%s\", align_corners=%s)",
             (long long)u->scale[0], (long long)u->scale[1], mode_names[u->mode],
             u->align_corners ? "True" : "False");
}

const nn_layer_ops nni_upsample_ops = {
    .type = "upsample",
    .keys = upsample_keys,
    .params = "scale=2 (s or [sh, sw]) mode=nearest (nearest | bilinear) align_corners=false",
    .help = "integer-factor image upsampling as torch Upsample(scale_factor, mode, "
            "align_corners)",
    .build = upsample_build,
    .forward = upsample_forward,
    .backward = upsample_backward,
    .flops = upsample_flops,
    .destroy = upsample_destroy,
    .describe = upsample_describe,
    .torch_module = upsample_torch,
};

/* Training-batch augmentation (see include/nn/data.h): shifts, horizontal flips, small
 * rotations, gaussian blur and gaussian noise, each sample driven by its own counter-based
 * stream. The geometric options compose into one resampling pass per sample: for each
 * output pixel we find where it came from (undo the flip, then the shift, then the
 * rotation) and read the original there, exactly for whole-pixel moves and bilinearly when
 * rotating. A gaussian blur follows (separable, zero fill), then the noise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/augment.h"
#include "nn/data.h"

#define NN_PI 3.14159265358979323846

const char *const nni_augment_keys[] = {"shift", "flip", "rotate", "blur", "noise", "epochs",
                                        NULL};
static const char *const option_keys[] = {"value", "epochs", NULL};
/* In the order of NNI_AUG_*. */
static const char *const option_names[NNI_AUG_OPTIONS] = {"shift", "flip", "rotate", "blur",
                                                          "noise"};

/* Where option `key` is read from: the augment map itself (`blur: 2`, the block's window)
 * or the option's own map (`blur: {value: 2, epochs: [0, 5]}`). */
static nn_status locate_option(const nn_cfg *node, const char *key, nni_epoch_window block,
                               const nn_cfg **map, const char **value_key,
                               nni_epoch_window *window, nn_error *err)
{
    const nn_cfg *own = nn_cfg_get(node, key);
    *map = node;
    *value_key = key;
    *window = block;
    if (!own || nn_cfg_kind_of(own) != NN_CFG_MAP)
        return NN_OK;
    nn_status st = nn_cfg_check_keys(own, option_keys, err);
    if (st)
        return st;
    if (!nn_cfg_get(own, "value"))
        return nn_cfg_fail(err, own, "expected {value: V, epochs: [first, end)}");
    *map = own;
    *value_key = "value";
    return nni_epoch_window_read(own, "epochs", block, window, err);
}

/* Normalized gaussian weights at -r .. r, r = ceil(3 sigma). */
static nn_status make_blur_kernel(nni_augment *a, nn_error *err)
{
    a->blur_radius = (int64_t)ceil(3 * a->blur);
    const int64_t r = a->blur_radius;
    a->blur_kernel = malloc((size_t)(2 * r + 1) * sizeof *a->blur_kernel);
    if (!a->blur_kernel)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    double sum = 0;
    for (int64_t k = -r; k <= r; k++)
        sum += exp(-(double)(k * k) / (2 * a->blur * a->blur));
    for (int64_t k = -r; k <= r; k++)
        a->blur_kernel[k + r] = (float)(exp(-(double)(k * k) / (2 * a->blur * a->blur)) / sum);
    return NN_OK;
}

nn_status nni_augment_parse(const nn_cfg *node, nn_shape sample_shape, nni_augment *out,
                            nn_error *err)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < NNI_AUG_OPTIONS; i++)
        out->epochs[i] = nni_epoch_window_always();
    if (!node || nn_cfg_is_null(node))
        return NN_OK;
    if (nn_cfg_kind_of(node) != NN_CFG_MAP)
        return nn_cfg_fail(err, node, "expected a map such as {shift: 2, flip: true, rotate: "
                                      "10, noise: 0.05}");
    nni_epoch_window block;
    nn_status st;
    if ((st = nn_cfg_check_keys(node, nni_augment_keys, err)) ||
        (st = nni_epoch_window_read(node, "epochs", nni_epoch_window_always(), &block, err)))
        return st;
    const nn_cfg *at[NNI_AUG_OPTIONS]; /* the map each option's value is read from */
    const char *key[NNI_AUG_OPTIONS];
    for (int i = 0; i < NNI_AUG_OPTIONS; i++)
        if ((st = locate_option(node, option_names[i], block, &at[i], &key[i], &out->epochs[i],
                                err)))
            return st;
    if ((st = nn_cfg_read_int(at[NNI_AUG_SHIFT], key[NNI_AUG_SHIFT], 0, &out->shift, err)) ||
        (st = nn_cfg_read_bool(at[NNI_AUG_FLIP], key[NNI_AUG_FLIP], 0, &out->flip, err)) ||
        (st = nn_cfg_read_double(at[NNI_AUG_ROTATE], key[NNI_AUG_ROTATE], 0, &out->rotate,
                                 err)) ||
        (st = nn_cfg_read_double(at[NNI_AUG_BLUR], key[NNI_AUG_BLUR], 0, &out->blur, err)) ||
        (st = nn_cfg_read_double(at[NNI_AUG_NOISE], key[NNI_AUG_NOISE], 0, &out->noise, err)))
        return st;
    int image = sample_shape.ndim == 3;
    out->channels = image ? sample_shape.dim[0] : 1;
    out->height = image ? sample_shape.dim[1] : 1;
    out->width = image ? sample_shape.dim[2] : nn_shape_size(sample_shape);
    out->sample_size = nn_shape_size(sample_shape);
    int64_t smaller = out->height < out->width ? out->height : out->width;
    if (out->shift < 0 || (image && out->shift >= smaller))
        return nn_cfg_fail(err, nn_cfg_get(at[NNI_AUG_SHIFT], key[NNI_AUG_SHIFT]),
                           "must be in [0, %lld) pixels", (long long)(image ? smaller : 1));
    if (!(out->rotate >= 0 && out->rotate <= 180))
        return nn_cfg_fail(err, nn_cfg_get(at[NNI_AUG_ROTATE], key[NNI_AUG_ROTATE]),
                           "must be in [0, 180] degrees");
    if (!(out->blur >= 0 && out->blur <= 100))
        return nn_cfg_fail(err, nn_cfg_get(at[NNI_AUG_BLUR], key[NNI_AUG_BLUR]),
                           "must be a standard deviation in [0, 100] pixels");
    if (!(out->noise >= 0 && isfinite(out->noise)))
        return nn_cfg_fail(err, nn_cfg_get(at[NNI_AUG_NOISE], key[NNI_AUG_NOISE]),
                           "must be a standard deviation >= 0");
    const int set[NNI_AUG_OPTIONS] = {out->shift > 0, out->flip, out->rotate > 0,
                                      out->blur > 0, out->noise > 0};
    for (int i = 0; i < NNI_AUG_OPTIONS; i++)
        if (set[i] && i != NNI_AUG_NOISE && !image) {
            char shape[64];
            return nn_cfg_fail(err, nn_cfg_get(at[i], key[i]), "needs image samples "
                               "(channels, height, width); the samples are %s",
                               nn_shape_format(sample_shape, shape, sizeof shape));
        }
    for (int i = 0; i < NNI_AUG_OPTIONS; i++)
        out->enabled |= set[i] && !nni_epoch_window_empty(out->epochs[i]);
    if (!out->enabled)
        return NN_OK;
    if (out->blur > 0 && (st = make_blur_kernel(out, err)))
        return st;
    out->scratch = malloc((size_t)out->sample_size * sizeof *out->scratch);
    if (!out->scratch)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    return NN_OK;
}

void nni_augment_free(nni_augment *aug)
{
    free(aug->scratch);
    free(aug->blur_kernel);
    memset(aug, 0, sizeof *aug);
}

/* Value of plane at (x, y), zero outside the image. */
static inline float pixel(const float *plane, int64_t width, int64_t height, int64_t x,
                          int64_t y)
{
    return x >= 0 && x < width && y >= 0 && y < height ? plane[y * width + x] : 0.0f;
}

static void resample(const nni_augment *a, float *x, int flip, int64_t dx, int64_t dy,
                     double angle)
{
    const int64_t w = a->width, h = a->height, plane = w * h;
    memcpy(a->scratch, x, (size_t)a->sample_size * sizeof *x);
    const double cx = 0.5 * (double)(w - 1), cy = 0.5 * (double)(h - 1);
    const double c = cos(angle), s = sin(angle);
    for (int64_t ch = 0; ch < a->channels; ch++) {
        const float *src = a->scratch + ch * plane;
        float *dst = x + ch * plane;
        for (int64_t row = 0; row < h; row++)
            for (int64_t col = 0; col < w; col++) {
                /* Undo the flip, then the shift: the rotated image's pixel we show here. */
                int64_t sx = (flip ? w - 1 - col : col) + dx, sy = row + dy;
                if (angle == 0) {
                    dst[row * w + col] = pixel(src, w, h, sx, sy);
                    continue;
                }
                /* Undo the rotation about the centre, then read bilinearly. */
                double u = (double)sx - cx, v = (double)sy - cy;
                double px = c * u + s * v + cx, py = -s * u + c * v + cy;
                double fx0 = floor(px), fy0 = floor(py);
                int64_t x0 = (int64_t)fx0, y0 = (int64_t)fy0;
                float tx = (float)(px - fx0), ty = (float)(py - fy0);
                float top = (1 - tx) * pixel(src, w, h, x0, y0) + tx * pixel(src, w, h, x0 + 1, y0);
                float bottom = (1 - tx) * pixel(src, w, h, x0, y0 + 1) +
                               tx * pixel(src, w, h, x0 + 1, y0 + 1);
                dst[row * w + col] = (1 - ty) * top + ty * bottom;
            }
    }
}

/* Separable gaussian, zero outside the image: rows into scratch, then columns back. */
static void blur(const nni_augment *a, float *x)
{
    const int64_t w = a->width, h = a->height, r = a->blur_radius;
    const float *k = a->blur_kernel + r; /* k[-r .. r] */
    for (int64_t ch = 0; ch < a->channels; ch++) {
        float *plane = x + ch * w * h;
        for (int64_t row = 0; row < h; row++)
            for (int64_t col = 0; col < w; col++) {
                float sum = 0;
                for (int64_t j = col - r < 0 ? -col : -r; j <= r && col + j < w; j++)
                    sum += k[j] * plane[row * w + col + j];
                a->scratch[row * w + col] = sum;
            }
        for (int64_t row = 0; row < h; row++)
            for (int64_t col = 0; col < w; col++) {
                float sum = 0;
                for (int64_t i = row - r < 0 ? -row : -r; i <= r && row + i < h; i++)
                    sum += k[i] * a->scratch[(row + i) * w + col];
                plane[row * w + col] = sum;
            }
    }
}

void nni_augment_batch(const nni_augment *aug, float *x, int64_t rows, const int64_t *sample_ids,
                       uint64_t seed, uint32_t epoch)
{
    if (!aug->enabled)
        return;
    int on[NNI_AUG_OPTIONS];
    int any = 0;
    for (int i = 0; i < NNI_AUG_OPTIONS; i++)
        any |= on[i] = nni_epoch_window_contains(aug->epochs[i], epoch);
    const int flip_on = aug->flip && on[NNI_AUG_FLIP];
    const int64_t shift = on[NNI_AUG_SHIFT] ? aug->shift : 0;
    const double rotate = on[NNI_AUG_ROTATE] ? aug->rotate : 0;
    const int blur_on = aug->blur > 0 && on[NNI_AUG_BLUR];
    const double noise = on[NNI_AUG_NOISE] ? aug->noise : 0;
    if (!any)
        return;
    for (int64_t r = 0; r < rows; r++) {
        float *sample = x + r * aug->sample_size;
        nni_rng rng = nni_rng_stream(seed, NNI_RNG_AUGMENT, epoch, (uint64_t)sample_ids[r], 0);
        /* Draws in a fixed order, each only when its option is on. */
        int flip = flip_on && (nni_rng_u32(&rng) >> 31);
        int64_t dx = 0, dy = 0;
        if (shift > 0) {
            uint32_t span = (uint32_t)(2 * shift + 1);
            dx = (int64_t)nni_rng_below(&rng, span) - shift;
            dy = (int64_t)nni_rng_below(&rng, span) - shift;
        }
        double angle = 0;
        if (rotate > 0)
            angle = (2 * nni_rng_uniform_double(&rng) - 1) * rotate * (NN_PI / 180);
        if (flip || dx || dy || angle != 0)
            resample(aug, sample, flip, dx, dy, angle);
        if (blur_on)
            blur(aug, sample);
        if (noise > 0)
            for (int64_t i = 0; i < aug->sample_size; i++)
                sample[i] += (float)noise * nni_rng_normal(&rng);
    }
}

void nni_augment_list(void (*emit)(const char *line, void *ctx), void *ctx)
{
    static const char *const lines[] = {
        "shift=0           pixels: translate by (dx, dy) uniform in [-shift, shift]^2, zero "
        "fill (random crop of the zero-padded image)",
        "flip=false        mirror left-right with probability 1/2",
        "rotate=0          degrees: rotate about the centre by U(-rotate, rotate), bilinear, "
        "zero fill",
        "blur=0            pixels: gaussian blur of standard deviation blur (radius "
        "ceil(3 blur), zero fill), after the geometric options",
        "noise=0           add N(0, noise^2) to every value (also for flat samples)",
        "epochs=[a, b]     only in epochs a <= e < b, counted from 0 (all options; an option "
        "written {value: V, epochs: [a, b]} has its own window)",
        "(all)             per sample, keyed by (seed, epoch, sample index): reproducible and "
        "the same on any number of ranks",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        emit(lines[i], ctx);
}

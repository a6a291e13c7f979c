/* Augmenting training batches (src/data/augment.c). */
#ifndef NNI_DATA_AUGMENT_H
#define NNI_DATA_AUGMENT_H

#include <stdint.h>

#include "config/epoch_window.h"
#include "nn/config.h"
#include "nn/error.h"
#include "nn/tensor.h"

/* Augmentation of training batches (`train.augment`), applied in place to the gathered float
 * batch after normalization, never to validation or test data:
 *   shift: S     translate by (dx, dy) uniform in [-S, S]^2, zero fill (a random crop of the
 *                image padded with S zeros on each side)
 *   flip: true   mirror left-right with probability 1/2
 *   rotate: D    rotate about the centre by an angle uniform in [-D, D] degrees, bilinear,
 *                zero fill
 *   blur: s      gaussian blur of standard deviation s pixels (kernel radius ceil(3 s), zero
 *                fill), after the geometric options: a deficit, not a variation
 *   noise: s     add gaussian noise of standard deviation s to every value
 * Epoch windows (config/epoch_window.h): `epochs: [a, b]` in the map turns every option on
 * only in epochs a <= e < b; an option written `{value: V, epochs: [a, b]}` has a window of
 * its own. Out of its window an option makes no draws, so a batch is augmented exactly as
 * if the option were absent.
 * Geometric options and blur need image samples (C, H, W); noise works on any. Each
 * sample's draws come from the stream (seed, NNI_RNG_AUGMENT, epoch, global sample index),
 * so a batch is augmented the same whatever rank holds it, and differently every epoch. */
enum { NNI_AUG_SHIFT, NNI_AUG_FLIP, NNI_AUG_ROTATE, NNI_AUG_BLUR, NNI_AUG_NOISE, NNI_AUG_OPTIONS };

typedef struct nni_augment {
    int enabled; /* some option is set and on in some epoch */
    int64_t shift;
    int flip;
    double rotate; /* degrees */
    double blur;   /* sigma, pixels */
    double noise;
    nni_epoch_window epochs[NNI_AUG_OPTIONS]; /* when each option is on */
    int64_t channels, height, width, sample_size;
    int64_t blur_radius;
    float *blur_kernel; /* 2 blur_radius + 1 weights summing to 1 */
    float *scratch;     /* one sample, allocated by nni_augment_parse */
} nni_augment;

/* node may be NULL (no augmentation). Errors name the offending key. */
nn_status nni_augment_parse(const nn_cfg *node, nn_shape sample_shape, nni_augment *out,
                            nn_error *err);
/* Augments rows x sample_size floats in place; sample_ids are the rows' global indices;
 * epoch counts from 0. */
void nni_augment_batch(const nni_augment *aug, float *x, int64_t rows, const int64_t *sample_ids,
                       uint64_t seed, uint32_t epoch);
void nni_augment_free(nni_augment *aug);
/* For --help-catalogue. */
void nni_augment_list(void (*emit)(const char *line, void *ctx), void *ctx);
/* The keys train.augment accepts, NULL-terminated. */
extern const char *const nni_augment_keys[];

#endif

/* Augmenting training batches (src/data/augment.c). */
#ifndef NNI_DATA_AUGMENT_H
#define NNI_DATA_AUGMENT_H

#include <stdint.h>

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
 *   noise: s     add gaussian noise of standard deviation s to every value
 * Geometric options need image samples (C, H, W); noise works on any. Each sample's draws
 * come from the stream (seed, NNI_RNG_AUGMENT, epoch, global sample index), so a batch is
 * augmented the same whatever rank holds it, and differently every epoch. */
typedef struct nni_augment {
    int enabled;
    int64_t shift;
    int flip;
    double rotate; /* degrees */
    double noise;
    int64_t channels, height, width, sample_size;
    float *scratch; /* one sample, allocated by nni_augment_parse */
} nni_augment;

/* node may be NULL (no augmentation). Errors name the offending key. */
nn_status nni_augment_parse(const nn_cfg *node, nn_shape sample_shape, nni_augment *out,
                            nn_error *err);
/* Augments rows x sample_size floats in place; sample_ids are the rows' global indices. */
void nni_augment_batch(const nni_augment *aug, float *x, int64_t rows, const int64_t *sample_ids,
                       uint64_t seed, uint32_t epoch);
void nni_augment_free(nni_augment *aug);
/* For --help-catalogue. */
void nni_augment_list(void (*emit)(const char *line, void *ctx), void *ctx);
/* The keys train.augment accepts, NULL-terminated. */
extern const char *const nni_augment_keys[];

#endif

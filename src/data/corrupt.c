/* Random labels and shuffled pixels (src/data/corrupt.h). */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/rng.h"
#include "data/corrupt.h"

/* Streams of NNI_RNG_NOISE told apart by their layer field. */
enum { STREAM_LABELS = 1, STREAM_PIXELS_FIXED = 2, STREAM_PIXELS_ROW = 3 };

nn_status nni_label_noise(nn_dataset *ds, const int64_t *rows, int64_t n_rows, double p,
                          uint64_t seed, int64_t *redrawn, nn_error *err)
{
    *redrawn = 0;
    if (p <= 0)
        return NN_OK;
    if (ds->target_kind != NN_TARGET_LABELS || ds->num_classes < 2)
        return nn_fail(err, NN_ERR_CONFIG, "data.label_noise: /%s has no class labels to "
                       "randomize", ds->split);
    for (int64_t i = 0; i < n_rows; i++) {
        int64_t row = rows[i];
        nni_rng rng = nni_rng_stream(seed, NNI_RNG_NOISE, 0, (uint64_t)(ds->first + row),
                                     STREAM_LABELS);
        /* Both draws are always made, so a row's new label does not depend on p. */
        double u = nni_rng_uniform_double(&rng);
        int32_t label = (int32_t)nni_rng_below(&rng, (uint32_t)ds->num_classes);
        if (u < p) {
            ds->labels[row] = label;
            (*redrawn)++;
        }
    }
    return NN_OK;
}

/* Fisher-Yates with the stream's draws. */
static void draw_permutation(nni_rng *rng, int64_t *perm, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nni_rng_below(rng, (uint32_t)(i + 1));
        int64_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}

static void permute_row(void *row, int is_uint8, int64_t n, const int64_t *perm, void *scratch)
{
    if (is_uint8) {
        uint8_t *x = row, *tmp = scratch;
        for (int64_t i = 0; i < n; i++)
            tmp[i] = x[perm[i]];
        memcpy(x, tmp, (size_t)n);
    } else {
        float *x = row, *tmp = scratch;
        for (int64_t i = 0; i < n; i++)
            tmp[i] = x[perm[i]];
        memcpy(x, tmp, (size_t)n * sizeof *x);
    }
}

nn_status nni_pixel_shuffler_init(nni_pixel_shuffler *p, nni_pixel_shuffle mode, uint64_t seed,
                                  const char *split, int64_t sample_size, nn_error *err)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->seed = seed;
    p->sample_size = sample_size;
    if (mode == NNI_PIXELS_KEPT)
        return NN_OK;
    if (sample_size > UINT32_MAX)
        return nn_fail(err, NN_ERR_DATA, "data.shuffle_pixels: samples of /%s are too large",
                       split);
    p->perm = malloc((size_t)(sample_size ? sample_size : 1) * sizeof *p->perm);
    p->scratch = malloc((size_t)(sample_size ? sample_size : 1) * sizeof(float));
    if (!p->perm || !p->scratch) {
        nni_pixel_shuffler_free(p);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    if (mode == NNI_PIXELS_FIXED) {
        nni_rng rng = nni_rng_stream(seed, NNI_RNG_NOISE, 0, 0, STREAM_PIXELS_FIXED);
        draw_permutation(&rng, p->perm, sample_size);
    }
    /* The split's name keeps row r of train and row r of test apart. */
    p->split_key = (uint32_t)nni_hash_bytes(NN_HASH_INIT, split, strlen(split));
    return NN_OK;
}

void nni_pixel_shuffler_apply(nni_pixel_shuffler *p, void *row, int is_uint8, int64_t file_row)
{
    if (p->mode == NNI_PIXELS_KEPT)
        return;
    if (p->mode == NNI_PIXELS_RANDOM) {
        nni_rng rng = nni_rng_stream(p->seed, NNI_RNG_NOISE, p->split_key, (uint64_t)file_row,
                                     STREAM_PIXELS_ROW);
        draw_permutation(&rng, p->perm, p->sample_size);
    }
    permute_row(row, is_uint8, p->sample_size, p->perm, p->scratch);
}

void nni_pixel_shuffler_free(nni_pixel_shuffler *p)
{
    free(p->perm);
    free(p->scratch);
    p->perm = NULL;
    p->scratch = NULL;
}

nn_status nni_shuffle_pixels(nn_dataset *ds, nni_pixel_shuffle mode, uint64_t seed,
                             nn_error *err)
{
    if (mode == NNI_PIXELS_KEPT || ds->n == 0)
        return NN_OK;
    nni_pixel_shuffler p;
    nn_status st = nni_pixel_shuffler_init(&p, mode, seed, ds->split, ds->sample_size, err);
    if (st)
        return st;
    const size_t row_bytes = (size_t)ds->sample_size * (ds->x_is_uint8 ? 1 : sizeof(float));
    unsigned char *x = ds->x_is_uint8 ? (unsigned char *)ds->x_u8 : (unsigned char *)ds->x_f32;
    for (int64_t row = 0; row < ds->n; row++)
        nni_pixel_shuffler_apply(&p, x + (size_t)row * row_bytes, ds->x_is_uint8,
                                 ds->first + row);
    nni_pixel_shuffler_free(&p);
    return NN_OK;
}

/* A loaded dataset in memory: releasing it, and gathering rows as float32 for the training
 * step. Loading is in dataset_read.c, writing in dataset_write.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "data/dataset_internal.h"
#include "data/gather.h"

void nni_dataset_free_strings(char **strings, int count)
{
    if (!strings)
        return;
    for (int i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

static int in_mapping(const nn_dataset *ds, const void *p)
{
    const char *base = ds->mapping, *at = p;
    return base && at >= base && at < base + ds->mapping_bytes;
}

void nn_dataset_free(nn_dataset *ds)
{
    if (!ds)
        return;
    /* Arrays in a node's shared mapping go with it; one made later (input targets, labels
     * that change with the epoch) is the rank's own. */
    void *arrays[6] = {ds->x_u8, ds->x_f32, ds->labels, ds->targets, ds->x_lengths,
                       ds->y_lengths};
    for (int i = 0; i < 6; i++)
        if (!in_mapping(ds, arrays[i]))
            free(arrays[i]);
    if (ds->mapping)
        munmap(ds->mapping, ds->mapping_bytes);
    nni_dataset_free_strings(ds->class_names, ds->n_class_names);
    memset(ds, 0, sizeof *ds);
}

/* The training step's input copy. Kept to plain loops over restrict pointers so the compiler
 * vectorizes the byte-to-float conversion; no allocation, no checks (indices are trusted). */
void nni_dataset_gather_x(const nn_dataset *ds, const int64_t *idx, int64_t count, float *out)
{
    const int64_t width = ds->sample_size;
    const float scale = ds->scale, offset = ds->offset;
    if (ds->x_is_uint8) {
        for (int64_t i = 0; i < count; i++) {
            const uint8_t *restrict src = ds->x_u8 + idx[i] * width;
            float *restrict dst = out + i * width;
            for (int64_t j = 0; j < width; j++)
                dst[j] = (float)src[j] * scale + offset;
        }
    } else if (scale == 1.0f && offset == 0.0f) {
        for (int64_t i = 0; i < count; i++)
            memcpy(out + i * width, ds->x_f32 + idx[i] * width, (size_t)width * sizeof *out);
    } else {
        for (int64_t i = 0; i < count; i++) {
            const float *restrict src = ds->x_f32 + idx[i] * width;
            float *restrict dst = out + i * width;
            for (int64_t j = 0; j < width; j++)
                dst[j] = src[j] * scale + offset;
        }
    }
}

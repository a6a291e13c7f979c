/* data.x, data.y, data.layout and the check of a split's samples against model.input (see
 * source.h). Images are compared dimension by dimension: element counts alone let an
 * N x H x W x C array pass as C x H x W and train on scrambled pixels. */
#include "data/source.h"

#include <stdio.h>

static const char *const layouts[] = {"nchw", "nhwc", NULL};

nn_status nni_dataset_source_read(const nn_cfg *data, nn_dataset_source *src, nn_error *err)
{
    src->x = src->y = NULL;
    src->channels_last = 0;
    src->targets_only = 0;
    src->progress = NULL;
    src->progress_ctx = NULL;
    nn_status st;
    if ((st = nn_cfg_read_string(data, "x", "x", &src->x, err)) ||
        (st = nn_cfg_read_string(data, "y", "y", &src->y, err)) ||
        (st = nn_cfg_read_choice(data, "layout", layouts, "nchw", &src->channels_last, err)))
        return st;
    return NN_OK;
}

static int same_image(const int64_t a[3], const int64_t b[3])
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

nn_status nni_dataset_check_input(const nn_dataset *ds, nn_shape input,
                                  const nn_dataset_source *src, const nn_cfg *where,
                                  nn_error *err)
{
    char model_shape[64];
    nn_shape_format(input, model_shape, sizeof model_shape);
    const char *x_name = src && src->x ? src->x : "x";
    int64_t input_size = 1;
    for (int d = 0; d < input.ndim; d++)
        input_size *= input.dim[d];
    if (input_size != ds->sample_size)
        return nn_cfg_fail(err, where, "model input %s has %lld values per sample but %s /%s/%s "
                           "has %lld", model_shape, (long long)input_size, ds->path, ds->split,
                           x_name, (long long)ds->sample_size);
    if (input.ndim != 3 || ds->sample_ndim != 3)
        return NN_OK; /* features: any shape of the same size flattens alike */
    const int64_t model[3] = {input.dim[0], input.dim[1], input.dim[2]};
    const int64_t *seen = ds->sample_shape; /* (C, H, W) as read */
    if (same_image(model, seen))
        return NN_OK;
    /* What the file stores per sample: (d1, d2, d3) of N x d1 x d2 x d3. */
    const int channels_last = src && src->channels_last;
    const int64_t stored[3] = {channels_last ? seen[1] : seen[0],
                               channels_last ? seen[2] : seen[1],
                               channels_last ? seen[0] : seen[2]};
    const int64_t stored_as_nhwc[3] = {stored[2], stored[0], stored[1]};
    char hint[160] = "";
    if (!channels_last && same_image(model, stored_as_nhwc))
        snprintf(hint, sizeof hint, ": the file looks channels-last (N x H x W x C); set "
                 "data.layout: nhwc to convert it");
    else if (channels_last && same_image(model, stored))
        snprintf(hint, sizeof hint, ": the file is already channels-first (N x C x H x W); "
                 "remove data.layout: nhwc");
    static const char *const names[3] = {"channels", "height", "width"};
    int d = 0;
    while (model[d] == seen[d])
        d++;
    return nn_cfg_fail(err, where, "model input %s but %s /%s/%s samples are (%lld, %lld, %lld) "
                       "as (C, H, W): %s %lld (model) vs %lld (file)%s", model_shape, ds->path, ds->split,
                       x_name, (long long)seen[0], (long long)seen[1], (long long)seen[2],
                       names[d], (long long)model[d], (long long)seen[d], hint);
}

/* Targets equal to the inputs, for autoencoders (see target_input.h). The targets are
 * materialized once at load, so the training step, evaluation, the checkpoint's data
 * fingerprint and prediction all read them like any float targets. */
#include "data/target_input.h"

#include <stdlib.h>

#include "data/gather.h"

static const char *const target_names[] = {"y", "input", NULL};

nn_status nni_data_read_target(const nn_cfg *data, int *from_input, nn_error *err)
{
    *from_input = 0;
    return data ? nn_cfg_read_choice(data, "target", target_names, "y", from_input, err) : NN_OK;
}

void nni_dataset_target_from_streamed_input(nn_dataset *ds)
{
    if (!ds->mapping) {
        free(ds->labels);
        free(ds->targets);
    }
    ds->labels = NULL;
    ds->targets = NULL;
    ds->target_kind = NN_TARGET_VALUES;
    ds->target_width = ds->sample_size;
}

nn_status nni_dataset_target_from_input(nn_dataset *ds, nn_error *err)
{
    const int64_t width = ds->sample_size;
    float *values = malloc((size_t)(ds->n > 0 ? ds->n : 1) * (size_t)width * sizeof *values);
    int64_t *rows = malloc((size_t)(ds->n > 0 ? ds->n : 1) * sizeof *rows);
    if (!values || !rows) {
        free(values);
        free(rows);
        return nn_fail(err, NN_ERR_OTHER, "out of memory for the input targets of /%s",
                       ds->split);
    }
    for (int64_t i = 0; i < ds->n; i++)
        rows[i] = i;
    nni_dataset_gather_x(ds, rows, ds->n, values);
    free(rows);
    if (!ds->mapping) { /* arrays in a node's shared mapping stay there */
        free(ds->labels);
        free(ds->targets);
    }
    ds->labels = NULL;
    ds->targets = values;
    ds->target_kind = NN_TARGET_VALUES;
    ds->target_width = width;
    return NN_OK;
}

/* Batches gathered from a dataset (see batch.h). */
#include "data/batch.h"

#include <stdlib.h>
#include <string.h>

#include "data/gather.h"
#include "model/model_internal.h"

nn_status nni_target_buffer_alloc(target_buffer *tb, const nn_dataset *ds, int64_t capacity,
                                  nn_error *err)
{
    memset(tb, 0, sizeof *tb);
    tb->view.width = ds->target_width;
    if (ds->target_kind == NN_TARGET_LABELS)
        tb->labels = malloc((size_t)capacity * sizeof(int32_t));
    else
        tb->values = nni_alloc_floats(capacity * ds->target_width);
    tb->target_lengths = malloc((size_t)capacity * sizeof(int32_t));
    tb->steps = malloc((size_t)capacity * sizeof(int32_t));
    tb->view.labels = tb->labels;
    tb->view.values = tb->values;
    if ((!tb->labels && !tb->values) || !tb->target_lengths || !tb->steps)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    return NN_OK;
}

void nni_target_buffer_free(target_buffer *tb)
{
    free(tb->labels);
    free(tb->values);
    free(tb->target_lengths);
    free(tb->steps);
    memset(tb, 0, sizeof *tb);
}

void nni_data_fetch(const nn_dataset *ds, const int64_t *rows, int64_t count, float *x,
                    target_buffer *tb)
{
    nni_dataset_gather_x(ds, rows, count, x);
    nni_data_fetch_targets(ds, rows, count, tb);
}

void nni_data_targets_from_input(const float *x, int64_t count, target_buffer *tb)
{
    memcpy(tb->values, x, (size_t)(count * tb->view.width) * sizeof *x);
    tb->view.lengths = NULL;
    tb->has_steps = 0;
    tb->view.steps = NULL;
    tb->view.steps_total = tb->output_steps;
}

void nni_data_fetch_targets(const nn_dataset *ds, const int64_t *rows, int64_t count,
                            target_buffer *tb)
{
    if (tb->labels)
        for (int64_t i = 0; i < count; i++)
            tb->labels[i] = ds->labels[rows[i]];
    else
        for (int64_t i = 0; i < count; i++)
            memcpy(tb->values + i * ds->target_width, ds->targets + rows[i] * ds->target_width,
                   (size_t)ds->target_width * sizeof(float));
    tb->view.lengths = NULL;
    if (ds->y_lengths) {
        for (int64_t i = 0; i < count; i++)
            tb->target_lengths[i] = ds->y_lengths[rows[i]];
        tb->view.lengths = tb->target_lengths;
    }
    tb->has_steps = ds->x_lengths != NULL;
    for (int64_t i = 0; tb->has_steps && i < count; i++)
        tb->steps[i] = ds->x_lengths[rows[i]];
    tb->view.steps = tb->has_steps && tb->output_steps ? tb->steps : NULL;
    tb->view.steps_total = tb->output_steps;
}

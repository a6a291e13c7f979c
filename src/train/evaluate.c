/* Evaluation and prediction from a checkpoint alone: the resolved config travels inside the
 * checkpoint, so the model, the loss and the data file are all rebuilt from it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/corrupt.h"
#include "data/file_list.h"
#include "data/gather.h"
#include "data/target_input.h"
#include "data/source.h"
#include "nn/ckpt.h"
#include "nn/trainer.h"
#include "train/train_internal.h"

void nn_ckpt_runner_close(nn_ckpt_runner *l)
{
    nn_model_free(l->model);
    nn_loss_free(l->loss);
    nn_dataset_free(&l->data);
    nn_cfg_free(l->cfg);
}

/* The checkpoint's config and the split as its model sees it (pixels shuffled, the input as
 * the target when the run said so). */
static nn_status open_data(const char *checkpoint, const char *split, const char *data_path,
                           nn_ckpt_runner *l, nn_dataset_source *source, nn_error *err)
{
    memset(l, 0, sizeof *l);
    l->capacity = 256;
    nn_ckpt_meta meta;
    nn_status st = nn_ckpt_read_meta(checkpoint, &meta, err);
    if (st)
        return st;
    st = nn_cfg_load_string(meta.config_yaml, checkpoint, &l->cfg, err);
    nn_ckpt_meta_free(&meta);
    nni_file_list files = {0};
    if (!st && data_path)
        st = nni_file_list_single(data_path, &files, err);
    else if (!st && !nn_cfg_get(nn_cfg_get(l->cfg, "data"), "path"))
        st = nn_fail(err, NN_ERR_CONFIG, "%s: the config names no data file; give --data",
                     checkpoint);
    else if (!st)
        st = nni_file_list_read(nn_cfg_get(l->cfg, "data"), "path", &files, err);
    if (!st)
        st = nni_dataset_source_read(nn_cfg_get(l->cfg, "data"), source, err);
    if (!st)
        st = nni_file_list_load(&files, split, source, 0, -1, &l->data, err);
    nni_file_list_free(&files);
    int shuffle = 0;
    int64_t seed = 42;
    if (!st && !(st = nn_cfg_read_int(l->cfg, "seed", 42, &seed, err)))
        st = nni_data_read_pixel_shuffle(nn_cfg_get(l->cfg, "data"), &shuffle, err);
    if (!st) /* a model trained on shuffled pixels sees them shuffled the same way */
        st = nni_shuffle_pixels(&l->data, (nni_pixel_shuffle)shuffle, (uint64_t)seed, err);
    int from_input = 0; /* after the shuffle: the target is what the model sees */
    if (!st)
        st = nni_data_read_target(nn_cfg_get(l->cfg, "data"), &from_input, err);
    if (!st && from_input)
        st = nni_dataset_target_from_input(&l->data, err);
    return st;
}

nn_status nn_ckpt_runner_open_data(const char *checkpoint, const char *split,
                                   const char *data_path, nn_ckpt_runner *l, nn_error *err)
{
    nn_dataset_source source;
    return open_data(checkpoint, split, data_path, l, &source, err);
}

nn_status nn_ckpt_runner_open(const char *checkpoint, const char *split, const char *data_path,
                              nn_ckpt_runner *l, nn_error *err)
{
    nn_dataset_source source;
    nn_status st = open_data(checkpoint, split, data_path, l, &source, err);
    if (!st)
        st = nn_model_build(nn_cfg_get(l->cfg, "model"), l->capacity, 1, 0, &l->model, err);
    if (!st)
        st = nn_ckpt_load(checkpoint, l->model, NULL, err);
    if (!st)
        st = nni_dataset_check_input(&l->data, l->model->input_shape, &source,
                                     nn_cfg_get(nn_cfg_get(l->cfg, "model"), "input"), err);
    if (!st)
        st = nn_loss_build(nn_cfg_get(nn_cfg_get(l->cfg, "train"), "loss"),
                           nn_model_output_size(l->model),
                           l->data.target_kind == NN_TARGET_LABELS, l->data.target_width,
                           l->data.num_classes, &l->loss, err);
    if (!st) {
        char where[600];
        snprintf(where, sizeof where, "%s /%s/y", l->data.path, split);
        nn_targets targets = {.labels = l->data.labels, .values = l->data.targets,
                              .width = l->data.target_width};
        st = nn_loss_check_targets(l->loss, &targets, l->data.n, where, err);
    }
    return st;
}

/* Forward the whole split in chunks; per chunk, hand the outputs to `visit`. */
void nn_ckpt_runner_run(nn_ckpt_runner *l,
                        void (*visit)(void *ctx, const float *out, int64_t first, int64_t count),
                        void *ctx)
{
    int64_t *rows = malloc((size_t)l->capacity * sizeof *rows);
    nn_pass pass = {.training = 0};
    for (int64_t first = 0; first < l->data.n; first += l->capacity) {
        int64_t count = l->data.n - first < l->capacity ? l->data.n - first : l->capacity;
        for (int64_t i = 0; i < count; i++)
            rows[i] = first + i;
        nni_dataset_gather_x(&l->data, rows, count, nn_model_input(l->model));
        pass.batch = count;
        pass.lengths = l->data.x_lengths ? l->data.x_lengths + first : NULL;
        nn_model_forward(l->model, &pass);
        visit(ctx, l->model->output->out, first, count);
    }
    free(rows);
}

typedef struct eval_sums {
    nn_ckpt_runner *l;
    double loss, correct;
    /* sequence losses: the greedy decoding of a row, the edit distance's two rows */
    int32_t *decoded;
    int64_t *distance;
    double edits, target_labels;
} eval_sums;

/* Levenshtein distance between a decoded row and its nb target labels. */
static int64_t edit_distance(const int32_t *a, int64_t na, const float *target, int64_t nb,
                             int64_t *row)
{
    int64_t *prev = row, *cur = row + nb + 1;
    for (int64_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (int64_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (int64_t j = 1; j <= nb; j++) {
            int64_t best = prev[j - 1] + (a[i - 1] != (int32_t)target[j - 1]);
            best = prev[j] + 1 < best ? prev[j] + 1 : best;
            cur[j] = cur[j - 1] + 1 < best ? cur[j - 1] + 1 : best;
        }
        int64_t *swap = prev;
        prev = cur;
        cur = swap;
    }
    return prev[nb];
}

static void accumulate(void *opaque, const float *out, int64_t first, int64_t count)
{
    eval_sums *s = opaque;
    const nn_dataset *d = &s->l->data;
    const int64_t output_steps = nn_model_output_steps(s->l->model);
    nn_targets t = {.labels = d->labels ? d->labels + first : NULL,
                    .values = d->targets ? d->targets + first * d->target_width : NULL,
                    .width = d->target_width,
                    .lengths = d->y_lengths ? d->y_lengths + first : NULL,
                    .steps = d->x_lengths && output_steps ? d->x_lengths + first : NULL,
                    .steps_total = output_steps};
    s->loss += nn_loss_eval(s->l->loss, out, &t, count, 0, NULL);
    int64_t width = nn_model_output_size(s->l->model);
    for (int64_t r = 0; d->labels && r < count; r++) {
        int64_t best = 0;
        for (int64_t c = 1; c < width; c++)
            if (out[r * width + c] > out[r * width + best])
                best = c;
        s->correct += best == d->labels[first + r];
    }
    for (int64_t r = 0; s->decoded && r < count; r++) {
        const float *target = t.values + r * t.width;
        int64_t labels = 0;
        if (t.lengths)
            labels = t.lengths[r];
        else
            while (labels < t.width && target[labels] >= 0)
                labels++;
        int64_t n = nn_loss_decode(s->l->loss, out + r * width, t.steps ? t.steps[r] : 0,
                                   s->decoded);
        s->edits += (double)edit_distance(s->decoded, n, target, labels, s->distance);
        s->target_labels += (double)labels;
    }
}

/* Loss, accuracy and (sequence losses) label error rate of the runner's split. */
static nn_status evaluate_runner(nn_ckpt_runner *l, nn_eval_result *result, nn_error *err)
{
    eval_sums sums = {.l = l};
    nn_status st = NN_OK;
    if (l->data.targets && nn_loss_decodes(l->loss)) {
        const int64_t width = nn_model_output_size(l->model);
        sums.decoded = malloc((size_t)width * sizeof *sums.decoded);
        sums.distance = malloc((size_t)(2 * (l->data.target_width + 1)) * sizeof *sums.distance);
        if (!sums.decoded || !sums.distance)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    if (!st) {
        nn_ckpt_runner_run(l, accumulate, &sums);
        result->samples = l->data.n;
        result->loss = sums.loss / (double)l->data.n;
        result->accuracy = l->data.labels && nn_loss_is_classification(l->loss)
                               ? sums.correct / (double)l->data.n : NAN;
        result->label_error_rate = sums.decoded ? sums.edits / fmax(sums.target_labels, 1.0)
                                                : NAN;
    }
    free(sums.decoded);
    free(sums.distance);
    return st;
}

nn_status nn_evaluate_split(const char *checkpoint, const char *split, const char *data_path,
                            nn_eval_result *result, nn_error *err)
{
    nn_ckpt_runner l;
    nn_status st = nn_ckpt_runner_open(checkpoint, split, data_path, &l, err);
    if (!st)
        st = evaluate_runner(&l, result, err);
    nn_ckpt_runner_close(&l);
    return st;
}

void nn_ckpt_runner_evaluate(nn_ckpt_runner *l, double *loss, double *accuracy)
{
    nn_eval_result result;
    nn_error err = {0};
    if (evaluate_runner(l, &result, &err)) {
        *loss = *accuracy = NAN;
        return;
    }
    *loss = result.loss;
    *accuracy = result.accuracy;
}

nn_status nn_evaluate_checkpoint(const char *checkpoint, const char *split, const char *data_path,
                                 double *loss, double *accuracy, int64_t *samples, nn_error *err)
{
    nn_eval_result result;
    nn_status st = nn_evaluate_split(checkpoint, split, data_path, &result, err);
    if (!st) {
        *loss = result.loss;
        *accuracy = result.accuracy;
        *samples = result.samples;
    }
    return st;
}

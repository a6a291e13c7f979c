/* Evaluation and prediction from a checkpoint alone: the resolved config travels inside the
 * checkpoint, so the model, the loss and the data file are all rebuilt from it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/corrupt.h"
#include "data/gather.h"
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

nn_status nn_ckpt_runner_open(const char *checkpoint, const char *split, const char *data_path,
                              nn_ckpt_runner *l, nn_error *err)
{
    memset(l, 0, sizeof *l);
    l->capacity = 256;
    nn_ckpt_meta meta;
    nn_status st = nn_ckpt_read_meta(checkpoint, &meta, err);
    if (st)
        return st;
    st = nn_cfg_load_string(meta.config_yaml, checkpoint, &l->cfg, err);
    nn_ckpt_meta_free(&meta);
    const char *path = data_path;
    if (!st && !path)
        st = nn_cfg_read_string(nn_cfg_get(l->cfg, "data"), "path", NULL, &path, err);
    if (!st && !path)
        st = nn_fail(err, NN_ERR_CONFIG, "%s: the config names no data file; give --data",
                     checkpoint);
    if (!st)
        st = nn_dataset_load(path, split, &l->data, err);
    int shuffle = 0;
    int64_t seed = 42;
    if (!st && !(st = nn_cfg_read_int(l->cfg, "seed", 42, &seed, err)))
        st = nni_data_read_pixel_shuffle(nn_cfg_get(l->cfg, "data"), &shuffle, err);
    if (!st) /* a model trained on shuffled pixels sees them shuffled the same way */
        st = nni_shuffle_pixels(&l->data, (nni_pixel_shuffle)shuffle, (uint64_t)seed, err);
    if (!st)
        st = nn_model_build(nn_cfg_get(l->cfg, "model"), l->capacity, 1, 0, &l->model, err);
    if (!st)
        st = nn_ckpt_load(checkpoint, l->model, NULL, err);
    if (!st && nn_model_input_size(l->model) != l->data.sample_size)
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s has %lld values per sample, the model takes "
                     "%lld", path, split, (long long)l->data.sample_size,
                     (long long)nn_model_input_size(l->model));
    if (!st)
        st = nn_loss_build(nn_cfg_get(nn_cfg_get(l->cfg, "train"), "loss"),
                           nn_model_output_size(l->model),
                           l->data.target_kind == NN_TARGET_LABELS, l->data.target_width,
                           l->data.num_classes, &l->loss, err);
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
        nn_model_forward(l->model, &pass);
        visit(ctx, l->model->output->out, first, count);
    }
    free(rows);
}

typedef struct eval_sums {
    nn_ckpt_runner *l;
    double loss, correct;
} eval_sums;

static void accumulate(void *opaque, const float *out, int64_t first, int64_t count)
{
    eval_sums *s = opaque;
    const nn_dataset *d = &s->l->data;
    nn_targets t = {.labels = d->labels ? d->labels + first : NULL,
                    .values = d->targets ? d->targets + first * d->target_width : NULL,
                    .width = d->target_width};
    s->loss += nn_loss_eval(s->l->loss, out, &t, count, 0, NULL);
    int64_t width = nn_model_output_size(s->l->model);
    for (int64_t r = 0; d->labels && r < count; r++) {
        int64_t best = 0;
        for (int64_t c = 1; c < width; c++)
            if (out[r * width + c] > out[r * width + best])
                best = c;
        s->correct += best == d->labels[first + r];
    }
}

void nn_ckpt_runner_evaluate(nn_ckpt_runner *l, double *loss, double *accuracy)
{
    eval_sums sums = {.l = l};
    nn_ckpt_runner_run(l, accumulate, &sums);
    *loss = sums.loss / (double)l->data.n;
    *accuracy = l->data.labels && nn_loss_is_classification(l->loss)
                    ? sums.correct / (double)l->data.n : NAN;
}

nn_status nn_evaluate_checkpoint(const char *checkpoint, const char *split, const char *data_path,
                                 double *loss, double *accuracy, int64_t *samples, nn_error *err)
{
    nn_ckpt_runner l;
    nn_status st = nn_ckpt_runner_open(checkpoint, split, data_path, &l, err);
    if (!st) {
        nn_ckpt_runner_evaluate(&l, loss, accuracy);
        *samples = l.data.n;
    }
    nn_ckpt_runner_close(&l);
    return st;
}

/* The training loop. nn_train reads top to bottom: set up data, model, loss, optimizer and
 * schedule from the config; then for each epoch, for each global batch: fetch this rank's
 * slice, forward, loss, backward, sum gradients over the group, clip, step; then evaluate,
 * log, and decide whether to stop early.
 *
 * Sampling is global: every rank computes the same permutation of the training rows for
 * the epoch, global batch b is rows perm[bB, (b+1)B) and each rank takes its contiguous
 * share. The loss is a mean over the global batch, so the summed gradients, and therefore
 * the trained weights, do not depend on the number of ranks. */
#include "nn/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/data.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/rng.h"
#include "nn/sched.h"
#include "train/train_internal.h"

static const char *const top_keys[] = {"data", "model", "train", "search", "seed", "name",
                                       "runs_dir", NULL};
static const char *const train_keys[] = {
    "epochs", "batch_size", "loss", "optimizer", "schedule", "early_stopping", "checkpoint",
    "clip", "accumulate", "lr_scaling", "lr_reference_batch", "augment", "threads", NULL};

/* ---- one training step ------------------------------------------------------------- */

/* Copy this rank's rows of global batch `batch` into the model input and target buffers;
 * returns the number of local rows (may be 0 when the global batch has fewer rows than
 * there are ranks). */
static int64_t fetch_batch(trainer *t, int64_t batch, int64_t *global_rows)
{
    int64_t start = batch * t->global_batch;
    int64_t rows = t->n_train - start < t->global_batch ? t->n_train - start : t->global_batch;
    int64_t first, count;
    nn_comm_share(t->comm, rows, &first, &count);
    for (int64_t i = 0; i < count; i++) {
        int64_t row = t->train_rows[t->perm[start + first + i]];
        t->batch_rows[i] = row;
        t->sample_ids[i] = t->train.first + row;
    }
    nn_data_fetch(&t->train, t->batch_rows, count, nn_model_input(t->model), &t->targets_buf);
    *global_rows = rows;
    return count;
}

static int64_t count_correct(const float *out, int64_t width, const int32_t *labels,
                             int64_t rows)
{
    int64_t correct = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *o = out + r * width;
        int64_t best = 0;
        for (int64_t c = 1; c < width; c++)
            if (o[c] > o[best])
                best = c;
        correct += best == labels[r];
    }
    return correct;
}

static nn_status train_step(trainer *t, int epoch, int64_t batch, double lr, step_totals *tot,
                            nn_error *err)
{
    int64_t global_rows = 0;
    int64_t rows = fetch_batch(t, batch, &global_rows);
    nn_pass pass = {.batch = rows, .training = 1, .seed = t->seed, .epoch = (uint32_t)epoch,
                    .sample_ids = t->sample_ids, .comm = (void *)t->comm};
    nn_model *model = t->model;
    float *grad_tail = model->grad_data + model->n_param_floats;

    nn_model_forward(model, &pass);
    double loss_sum = nn_loss_eval(t->loss, model->output->out, &t->targets_buf.view, rows,
                                   1.0f / (float)global_rows, model->output->dout);
    int64_t correct = t->classification
                          ? count_correct(model->output->out, nn_model_output_size(model),
                                          t->targets_buf.view.labels, rows)
                          : 0;
    nn_model_backward(model, &pass);

    /* The batch's loss and accuracy travel with the gradients: one collective per step,
     * and every rank sees the same loss, so all agree when it is not finite. */
    grad_tail[0] = (float)loss_sum;
    grad_tail[1] = (float)correct;
    nn_comm_sum_floats(t->comm, model->grad_data, model->n_param_floats + 2);
    loss_sum = grad_tail[0];
    loss_sum += (double)global_rows * nn_loss_add_penalties(t->loss, model);
    if (!isfinite(loss_sum))
        return nn_trainer_numeric_failure(t, epoch, batch, err);

    nn_clip_gradients(t);
    nn_optim_step(t->opt, model, lr);

    tot->loss_sum += loss_sum;
    tot->correct += grad_tail[1];
    tot->samples += global_rows;
    return NN_OK;
}

/* ---- evaluation ---------------------------------------------------------------------- */

nn_status nn_trainer_evaluate(trainer *t, const nn_dataset *ds, const int64_t *rows,
                              int64_t n_rows, double *loss, double *accuracy)
{
    int64_t first, count;
    nn_comm_share(t->comm, n_rows, &first, &count);
    double sums[3] = {0, 0, (double)count};
    nn_pass pass = {.training = 0, .seed = t->seed, .comm = (void *)t->comm};
    for (int64_t done = 0; done < count; done += t->capacity) {
        int64_t chunk = count - done < t->capacity ? count - done : t->capacity;
        for (int64_t i = 0; i < chunk; i++) {
            t->batch_rows[i] = rows ? rows[first + done + i] : first + done + i;
            t->sample_ids[i] = ds->first + t->batch_rows[i];
        }
        nn_data_fetch(ds, t->batch_rows, chunk, nn_model_input(t->model), &t->targets_buf);
        pass.batch = chunk;
        nn_model_forward(t->model, &pass);
        sums[0] += nn_loss_eval(t->loss, t->model->output->out, &t->targets_buf.view, chunk, 0,
                                NULL);
        if (t->classification)
            sums[1] += (double)count_correct(t->model->output->out,
                                             nn_model_output_size(t->model),
                                             t->targets_buf.view.labels, chunk);
    }
    nn_comm_sum_doubles(t->comm, sums, 3);
    *loss = sums[2] > 0 ? sums[0] / sums[2] : NAN;
    *accuracy = t->classification && sums[2] > 0 ? sums[1] / sums[2] : NAN;
    return NN_OK;
}

/* ---- the epoch loop ------------------------------------------------------------------ */

static nn_status run_epochs(trainer *t, nn_train_result *result, nn_error *err)
{
    nn_status st = NN_OK;
    int64_t batches = (t->n_train + t->global_batch - 1) / t->global_batch;
    double started = nn_now();
    for (int epoch = t->start_epoch; epoch < t->epochs && !st; epoch++) {
        double epoch_start = nn_now();
        step_totals tot = {0};
        nn_rng_permutation(t->seed, NN_RNG_SHUFFLE, (uint32_t)epoch, t->perm, t->n_train);
        double lr = 0;
        for (int64_t b = 0; b < batches && !st; b++) {
            lr = nn_sched_lr(t->sched, epoch, b) * t->lr_scale;
            st = train_step(t, epoch, b, lr, &tot, err);
            nn_progress_update(t, epoch, b + 1, batches, &tot, epoch_start);
        }
        if (st)
            break;
        epoch_metrics m = {.epoch = epoch + 1, .lr = lr,
                           .loss = tot.loss_sum / (double)tot.samples,
                           .accuracy = t->classification ? tot.correct / (double)tot.samples : NAN,
                           .val_loss = NAN, .val_accuracy = NAN};
        if (t->has_val)
            nn_trainer_evaluate(t, t->val_from_train ? &t->train : &t->val, t->val_rows,
                                t->n_val, &m.val_loss, &m.val_accuracy);
        m.seconds = nn_now() - epoch_start;
        m.samples_per_second = (double)tot.samples / m.seconds;
        st = nn_trainer_end_epoch(t, &m, result, err);
        if (t->stop_requested)
            break;
    }
    result->train_seconds = nn_now() - started;
    return st;
}

nn_status nn_train(const nn_cfg *cfg, const nn_comm *comm, const nn_train_options *opts,
                   nn_train_result *result, nn_error *err)
{
    trainer t;
    memset(result, 0, sizeof *result);
    result->test_loss = result->test_accuracy = NAN;
    result->best_metric = NAN;
    nn_status st = nn_cfg_check_keys(cfg, top_keys, err);
    if (!st) {
        const nn_cfg *train_cfg = nn_cfg_get(cfg, "train");
        if (!train_cfg)
            st = nn_fail(err, NN_ERR_CONFIG, "config: missing 'train' section");
        else
            st = nn_cfg_check_keys(train_cfg, train_keys, err);
    }
    if (st)
        return st;
    if ((st = nn_trainer_setup(&t, cfg, comm, opts, err)) == NN_OK) {
        nn_trainer_begin(&t);
        st = run_epochs(&t, result, err);
        if (!st)
            st = nn_trainer_finish(&t, result, err);
    }
    nn_trainer_teardown(&t);
    return st;
}

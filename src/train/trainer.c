/* The training loop. nn_train reads top to bottom: set up data, model, loss, optimizer and
 * schedule from the config; then for each epoch, for each global batch: fetch this rank's
 * slice, forward, loss, backward, sum gradients over the group, clip, step; then evaluate,
 * log, and decide whether to stop early.
 *
 * Sampling is global: every rank computes the same permutation of the training rows for
 * the epoch, global batch b is rows perm[bB, (b+1)B) and each rank takes its contiguous
 * share. The loss is a mean over the global batch, so the summed gradients, and therefore
 * the trained weights, do not depend on the number of ranks. */
#include "core/clock.h"
#include "nn/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/ckpt.h"
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
    "clip", "accumulate", "lr_scaling", "lr_reference_batch", "augment", "threads", "bucket_mb",
    "allreduce", "overlap", "watchdog_seconds", "resume", "log_grad_norms", NULL};

/* ---- one training step ------------------------------------------------------------- */

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

/* Fault injection for the hang tests: NN_FAULT_STALL="RANK:STEP" makes that world rank stop
 * answering (sleep for good) before the backward pass of that step of any epoch. */
static void nn_fault_stall(const nn_comm *comm, int epoch, int64_t step)
{
    static int parsed, stall_rank = -1;
    static long stall_step = -1;
    if (!parsed) {
        const char *spec = getenv("NN_FAULT_STALL");
        parsed = 1;
        if (spec && sscanf(spec, "%d:%ld", &stall_rank, &stall_step) != 2)
            stall_rank = -1;
    }
    (void)epoch;
    if (comm->world_rank == stall_rank && step == stall_step)
        for (;;)
            sleep(60);
}

/* Rows of the global batches [first, first + count): the denominator of the step's mean. */
static int64_t rows_in_batches(const trainer *t, int64_t first, int64_t count)
{
    int64_t end = (first + count) * t->global_batch;
    if (end > t->sampler.n_total)
        end = t->sampler.n_total;
    return end - first * t->global_batch;
}

/* The step's loss, accuracy and stop request travel with the gradients' sum
 * (nn_step_scalars). */
static void begin_grad_sync(trainer *t, double loss_sum, double correct, int epoch,
                            int64_t first_batch)
{
    const nn_step_scalars mine = {
        .loss_sum = (float)loss_sum, .correct = (float)correct,
        .stop_requested = t->opts.stop_flag && *t->opts.stop_flag ? 1.0f : 0.0f};
    nn_grad_sync_begin(t->sync, &mine, epoch, first_batch);
}

/* Backward of the step's last micro-batch, starting each bucket's sum over the ranks as soon
 * as backward has finished its layers. */
static void backward_and_sync(trainer *t, const nn_pass *pass)
{
    nn_model *model = t->model;
    for (int i = model->n_layers - 1; i > 0; i--) {
        nn_model_backward_layer(model, i, pass);
        nn_grad_sync_layer_done(t->sync, model->layers[i]);
    }
}

/* One optimizer step over `micro` consecutive global batches (gradient accumulation; 1
 * normally). Gradients are summed over ranks once, after the last micro-batch, in buckets
 * that start while backward is still running. */
static nn_status train_step(trainer *t, int epoch, int64_t first_batch, int64_t micro,
                            double lr, step_totals *tot, nn_error *err)
{
    nn_model *model = t->model;
    const float scale = 1.0f / (float)rows_in_batches(t, first_batch, micro);
    double loss_sum = 0, correct = 0;
    int64_t step_rows = 0;
    for (int64_t m = 0; m < micro; m++) {
        int64_t global_rows = 0;
        int64_t rows = nn_sampler_batch(&t->sampler, first_batch + m, t->batch_rows,
                                        &global_rows);
        for (int64_t i = 0; i < rows; i++)
            t->sample_ids[i] = t->train.first + t->batch_rows[i];
        nn_data_fetch(&t->train, t->batch_rows, rows, nn_model_input(model), &t->targets_buf);
        nn_augment_batch(&t->augment, nn_model_input(model), rows, t->sample_ids, t->seed,
                         (uint32_t)epoch);
        nn_pass pass = {.batch = rows, .training = 1, .grad_accumulate = m > 0, .seed = t->seed,
                        .epoch = (uint32_t)epoch, .sample_ids = t->sample_ids,
                        .comm = t->comm->size > 1 ? (void *)t->comm : NULL};
        step_rows += global_rows;
        int last = m == micro - 1;
        if (rows == 0) {
            /* More ranks than rows in this batch: contribute nothing. */
            if (m == 0)
                memset(model->grad_data, 0, (size_t)model->n_param_floats * sizeof(float));
            if (last)
                begin_grad_sync(t, loss_sum, correct, epoch, first_batch);
            continue;
        }

        nn_model_forward(model, &pass);
        loss_sum += nn_loss_eval(t->loss, model->output->out, &t->targets_buf.view, rows, scale,
                                 model->output->dout);
        if (t->classification)
            correct += (double)count_correct(model->output->out, nn_model_output_size(model),
                                             t->targets_buf.view.labels, rows);
        nn_fault_stall(t->comm, epoch, first_batch);
        if (last) {
            begin_grad_sync(t, loss_sum, correct, epoch, first_batch);
            backward_and_sync(t, &pass);
        } else {
            nn_model_backward(model, &pass);
        }
    }
    nn_step_scalars summed;
    nn_status st = nn_grad_sync_finish(t->sync, &summed, err);
    if (st)
        return st;
    /* Every rank sees the same summed request, so all stop after this same step. */
    if (summed.stop_requested > 0)
        t->stop_requested = 1;
    loss_sum = summed.loss_sum;
    loss_sum += (double)step_rows * nn_loss_add_penalties(t->loss, model);
    if (!isfinite(loss_sum))
        return nn_trainer_numeric_failure(t, epoch, first_batch, err);

    nn_clip_gradients(t);
    /* The ranks of a node may share one copy of the parameters, each updating its range. */
    int64_t first, end;
    nn_grad_sync_update_begin(t->sync, &first, &end);
    nn_optim_step_range(t->opt, model, lr, first, end);
    nn_grad_sync_update_end(t->sync);

    tot->loss_sum += loss_sum;
    tot->correct += summed.correct;
    tot->samples += step_rows;
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

/* How much of the step the gradient allreduce could not hide behind backward, on average
 * over the ranks. The slowest rank waits least (only for the communication itself); the
 * others also wait for it, so the spread shows how evenly the ranks ran. */
static void report_allreduce_wait(trainer *t, nn_train_result *result)
{
    const int n = t->comm->size;
    double *fractions = calloc((size_t)n, sizeof *fractions);
    if (!fractions)
        return;
    if (t->step_seconds > 0)
        fractions[t->comm->rank] = nn_grad_sync_get_stats(t->sync).wait_seconds / t->step_seconds;
    nn_comm_sum_doubles(t->comm, fractions, n);
    double sum = 0, low = fractions[0], high = fractions[0];
    for (int r = 0; r < n; r++) {
        sum += fractions[r];
        low = fractions[r] < low ? fractions[r] : low;
        high = fractions[r] > high ? fractions[r] : high;
    }
    free(fractions);
    result->allreduce_wait_fraction = sum / n;
    nn_trainer_say(t, "allreduce wait: %.1f%% of step time (mean over ranks; %.1f%% to %.1f%%), "
                      "overlap %s, %d ranks\n", 100 * sum / n, 100 * low, 100 * high,
                   t->overlap ? "on" : "off", n);
}

static nn_status run_epochs(trainer *t, nn_train_result *result, nn_error *err)
{
    nn_status st = NN_OK;
    const int64_t batches = t->sampler.batches;
    const int64_t steps = (batches + t->accumulate - 1) / t->accumulate;
    double started = nn_clock_seconds();
    for (int epoch = t->start_epoch; epoch < t->epochs && !st; epoch++) {
        double epoch_start = nn_clock_seconds();
        step_totals tot = {0};
        int64_t first_step = 0;
        if (epoch == t->start_epoch) { /* resuming inside this epoch */
            tot = t->start_totals;
            first_step = t->start_step;
        }
        nn_sampler_epoch(&t->sampler, epoch);
        double lr = 0;
        for (int64_t step = first_step; step < steps && !st; step++) {
            int64_t first = step * t->accumulate;
            int64_t micro = batches - first < t->accumulate ? batches - first : t->accumulate;
            lr = nn_sched_lr(t->sched, epoch, step) * t->lr_scale;
            double step_start = nn_clock_seconds();
            st = train_step(t, epoch, first, micro, lr, &tot, err);
            t->step_seconds += nn_clock_seconds() - step_start;
            if (t->opts.on_step)
                t->opts.on_step(t->opts.on_step_ctx);
            nn_progress_update(t, epoch, step + 1, steps, &tot, epoch_start);
            int mid_epoch = step + 1 < steps;
            if (!st && mid_epoch &&
                (t->stop_requested ||
                 (t->ckpt_every_steps > 0 && (step + 1) % t->ckpt_every_steps == 0)))
                st = nn_trainer_checkpoint(t, epoch, step + 1, &tot, NULL, err);
            if (t->stop_requested && mid_epoch) {
                result->stopped_by_signal = 1;
                nn_trainer_say(t, "stopping after epoch %d step %lld: checkpoint %s/last.h5 "
                                  "written\n", epoch + 1, (long long)step + 1, t->run_dir);
                return st;
            }
        }
        if (st)
            break;
        nn_epoch_record m = {.epoch = epoch + 1, .lr = lr,
                           .loss = tot.loss_sum / (double)tot.samples,
                           .accuracy = t->classification ? tot.correct / (double)tot.samples : NAN,
                           .val_loss = NAN, .val_accuracy = NAN};
        nn_trainer_average_state(t);
        if (t->has_val)
            nn_trainer_evaluate(t, t->val_from_train ? &t->train : &t->val, t->val_rows,
                                t->n_val, &m.val_loss, &m.val_accuracy);
        m.seconds = nn_clock_seconds() - epoch_start;
        m.samples_per_second = (double)tot.samples / m.seconds;
        int signalled = t->stop_requested;
        st = nn_trainer_end_epoch(t, &m, result, err);
        if (!st)
            st = nn_trainer_checkpoint(t, epoch, 0, NULL, &m, err);
        if (!st && !t->stop_requested && t->opts.stop_after_epochs > 0 &&
            epoch + 1 >= t->opts.stop_after_epochs && epoch + 1 < t->epochs) {
            result->paused = 1;
            break;
        }
        if (signalled && epoch + 1 < t->epochs) {
            result->stopped_by_signal = 1;
            nn_trainer_say(t, "stopping after epoch %d: checkpoint %s/last.h5 written\n",
                           epoch + 1, t->run_dir);
            break;
        }
        if (t->stop_requested)
            break;
    }
    result->train_seconds = nn_clock_seconds() - started;
    if (t->comm->size > 1)
        report_allreduce_wait(t, result);
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
        if (!st && !result->stopped_by_signal && !result->paused)
            st = nn_trainer_finish(&t, result, err);
        if (t.opts.metric)
            nn_trainer_best_of(&t, t.opts.metric, t.opts.metric_maximize, &result->best_metric,
                               &result->best_epoch);
        snprintf(result->run_dir, sizeof result->run_dir, "%s", t.run_dir);
    }
    nn_trainer_teardown(&t);
    return st;
}

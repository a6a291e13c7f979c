/* The training run. nn_train is nn_trainer_open, nn_trainer_step until nn_trainer_done,
 * nn_trainer_finish and nn_trainer_close; a step reads top to bottom: fetch this rank's
 * slice of the global batch, forward, loss, backward with the gradient sums over the group
 * started layer by layer, penalties, clip, optimizer update. After an epoch's last step come
 * validation, the epoch's line and checkpoints, and the decision whether to go on.
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

#include "nn/ckpt.h"
#include "nn/data.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "core/rng.h"
#include "nn/sched.h"
#include "train/train_internal.h"

const char *const nni_top_keys[] = {"data", "model", "train", "search", "seed", "name",
                                       "runs_dir", NULL};
const char *const nni_train_keys[] = {
    "epochs", "batch_size", "loss", "optimizer", "schedule", "early_stopping", "checkpoint",
    "clip", "accumulate", "lr_scaling", "lr_reference_batch", "augment", "threads", "bucket_mb",
    "allreduce", "overlap", "watchdog_seconds", "resume", "log_grad_norms",
    "log_every_steps", "reproducible", "reproducible_unit", "gemm", "precision",
    "winograd", NULL};

/* ---- one training step ------------------------------------------------------------- */

int64_t nni_trainer_count_correct(const float *out, int64_t width, const int32_t *labels,
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

/* Rows of the global batches [first, first + count): the denominator of the step's mean. */
static int64_t rows_in_batches(const nn_trainer *t, int64_t first, int64_t count)
{
    int64_t end = (first + count) * t->global_batch;
    if (end > t->sampler.n_total)
        end = t->sampler.n_total;
    return end - first * t->global_batch;
}

/* The samples of rows of ds into the model input and their targets into the target buffer:
 * gathered from memory, or read from the files when the split is streamed. */
static nn_status fetch_rows(nn_trainer *t, const nn_dataset *ds, const int64_t *rows,
                            int64_t count, nn_error *err)
{
    nni_stream *stream = ds == &t->train ? t->train_stream
                         : ds == &t->val ? t->val_stream
                         : ds == &t->test ? t->test_stream : NULL;
    if (!stream) {
        nni_data_fetch(ds, rows, count, nn_model_input(t->model), &t->targets_buf);
        return NN_OK;
    }
    nn_status st = nni_stream_read(stream, rows, count, nn_model_input(t->model), err);
    if (!st && t->streamed_target_input)
        nni_data_targets_from_input(nn_model_input(t->model), count, &t->targets_buf);
    else if (!st)
        nni_data_fetch_targets(ds, rows, count, &t->targets_buf);
    return st;
}

/* Streaming: global batch b's rows are read on a thread of their own while this step
 * computes (only within the epoch: the next epoch's order is drawn when it begins). */
static void read_ahead(nn_trainer *t, int64_t b)
{
    if (!t->train_stream || b >= t->sampler.batches)
        return;
    int64_t global_rows = 0;
    int64_t rows = nni_sampler_batch(&t->sampler, b, t->ahead_rows, &global_rows);
    nni_stream_read_ahead(t->train_stream, t->ahead_rows, rows);
}

/* The step's loss, accuracy and stop request travel with the gradients' sum
 * (nni_step_scalars). */
static void begin_grad_sync(nn_trainer *t, double loss_sum, double correct, int read_failed)
{
    const nni_step_scalars mine = {
        .loss_sum = (float)loss_sum, .correct = (float)correct,
        .stop_requested = t->opts.stop_flag && *t->opts.stop_flag ? 1.0f : 0.0f,
        .read_failed = read_failed ? 1.0f : 0.0f};
    nni_grad_sync_begin(t->sync, &mine);
}

/* Backward of the step's last micro-batch, starting each bucket's sum over the ranks as soon
 * as backward has finished its layers. */
static void backward_and_sync(nn_trainer *t, const nn_pass *pass)
{
    nn_model *model = t->model;
    for (int i = model->n_layers - 1; i > 0; i--) {
        nn_model_backward_layer(model, i, pass);
        nni_grad_sync_layer_done(t->sync, model->layers[i]);
    }
}

/* The gradients of `micro` consecutive global batches (gradient accumulation; 1 normally),
 * summed over ranks once, after the last micro-batch, in buckets that start while backward
 * is still running. */
static nn_status sum_gradients(nn_trainer *t, int epoch, int64_t first_batch, int64_t micro,
                               float scale, step_sums *out, nn_error *err)
{
    nn_model *model = t->model;
    double loss_sum = 0, correct = 0;
    int64_t step_rows = 0;
    /* A rank that cannot read its rows still takes part in the step's sum, saying so, so that
     * every rank stops at this step with a data error instead of waiting for it. */
    nn_status read_failed = NN_OK;
    for (int64_t m = 0; m < micro; m++) {
        int64_t global_rows = 0;
        int64_t rows = nni_sampler_batch(&t->sampler, first_batch + m, t->batch_rows,
                                        &global_rows);
        for (int64_t i = 0; i < rows; i++)
            t->sample_ids[i] = t->train.first + t->batch_rows[i];
        if (!read_failed && (read_failed = fetch_rows(t, &t->train, t->batch_rows, rows, err)))
            nni_stream_wait(t->train_stream);
        if (read_failed)
            rows = 0;
        else
            read_ahead(t, first_batch + m + 1);
        nni_augment_batch(&t->augment, nn_model_input(model), rows, t->sample_ids, t->seed,
                         (uint32_t)epoch);
        nn_pass pass = {.batch = rows, .training = 1, .grad_accumulate = m > 0, .seed = t->seed,
                        .epoch = (uint32_t)epoch, .sample_ids = t->sample_ids,
                        .comm = t->comm->size > 1 ? (void *)t->comm : NULL,
                        .lengths = nni_batch_steps(&t->targets_buf)};
        step_rows += global_rows;
        int last = m == micro - 1;
        if (rows == 0) {
            /* More ranks than rows in this batch: contribute nothing. */
            if (m == 0 || read_failed)
                memset(model->grad_data, 0, (size_t)model->n_param_floats * sizeof(float));
            if (last)
                begin_grad_sync(t, loss_sum, correct, read_failed != NN_OK);
            continue;
        }

        nn_model_forward(model, &pass);
        loss_sum += nn_loss_eval(t->loss, model->output->out, &t->targets_buf.view, rows, scale,
                                 model->output->dout);
        if (t->classification)
            correct += (double)nni_trainer_count_correct(model->output->out,
                                                         nn_model_output_size(model),
                                                         t->targets_buf.view.labels, rows);
        if (last) {
            begin_grad_sync(t, loss_sum, correct, 0);
            backward_and_sync(t, &pass);
        } else {
            nn_model_backward(model, &pass);
        }
    }
    nni_step_scalars summed;
    nn_status st = nni_grad_sync_finish(t->sync, &summed, err);
    /* The read ahead ends inside the step: checkpoints and logs call HDF5 next. */
    nni_stream_wait(t->train_stream);
    if (!st && summed.read_failed > 0)
        st = read_failed ? read_failed
                         : nn_fail(err, NN_ERR_DATA, "%s: /%s: another rank could not read "
                                   "its rows of this batch (its message says why)",
                                   t->train.path, t->train.split);
    *out = (step_sums){.loss_sum = summed.loss_sum, .correct = summed.correct,
                       .stop_requested = summed.stop_requested > 0, .rows = step_rows};
    return st;
}

/* One optimizer step over `micro` consecutive global batches: the summed gradients (exactly,
 * with train.reproducible: bitwise), penalties, clipping, the update. */
static nn_status train_step(nn_trainer *t, int epoch, int64_t first_batch, int64_t micro,
                            double lr, step_totals *tot, nn_error *err)
{
    nn_model *model = t->model;
    /* Any collective of the step that never completes is reported at this step. */
    nni_watchdog_arrive(t->comm, epoch, first_batch);
    const float scale = 1.0f / (float)rows_in_batches(t, first_batch, micro);
    step_sums summed;
    nn_status st = t->repro.unit
                       ? nni_repro_gradients(t, epoch, first_batch, micro, scale, &summed)
                       : sum_gradients(t, epoch, first_batch, micro, scale, &summed, err);
    if (st)
        return st;
    const int64_t step_rows = summed.rows;
    /* Every rank sees the same summed request, so all stop after this same step. */
    if (summed.stop_requested)
        t->stop_requested = 1;
    double loss_sum = summed.loss_sum;
    loss_sum += (double)step_rows * nn_loss_add_penalties(t->loss, model);
    if (!isfinite(loss_sum))
        return nni_trainer_numeric_failure(t, epoch, first_batch, err);

    nni_step_log_measure(&t->step_log, model, t->step + 1, loss_sum, summed.correct, step_rows,
                         t->classification);
    nni_clip_gradients(&t->clip, model);
    /* The ranks of a node may share one copy of the parameters, each updating its range. */
    int64_t first, end;
    nni_grad_sync_update_begin(t->sync, &first, &end);
    nni_optim_step_range(t->opt, model, lr, first, end);
    nni_grad_sync_update_end(t->sync);

    tot->loss_sum += loss_sum;
    tot->correct += summed.correct;
    tot->samples += step_rows;
    return NN_OK;
}

/* ---- evaluation ---------------------------------------------------------------------- */

nn_status nni_trainer_evaluate(nn_trainer *t, const nn_dataset *ds, const int64_t *rows,
                               int64_t n_rows, double *loss, double *accuracy, nn_error *err)
{
    if (t->repro.unit)
        return nni_repro_evaluate(t, ds, rows, n_rows, loss, accuracy);
    int64_t first, count;
    nn_comm_share(t->comm, n_rows, &first, &count);
    /* sums[3]: ranks that could not read their rows (streaming), so that all stop alike */
    double sums[4] = {0, 0, (double)count, 0};
    nn_status st = NN_OK;
    nn_pass pass = {.training = 0, .seed = t->seed, .comm = (void *)t->comm};
    for (int64_t done = 0; done < count; done += t->capacity) {
        int64_t chunk = count - done < t->capacity ? count - done : t->capacity;
        for (int64_t i = 0; i < chunk; i++) {
            t->batch_rows[i] = rows ? rows[first + done + i] : first + done + i;
            t->sample_ids[i] = ds->first + t->batch_rows[i];
        }
        if ((st = fetch_rows(t, ds, t->batch_rows, chunk, err))) {
            sums[3] = 1;
            break;
        }
        pass.batch = chunk;
        pass.lengths = nni_batch_steps(&t->targets_buf);
        nn_model_forward(t->model, &pass);
        sums[0] += nn_loss_eval(t->loss, t->model->output->out, &t->targets_buf.view, chunk, 0,
                                NULL);
        if (t->classification)
            sums[1] += (double)nni_trainer_count_correct(t->model->output->out,
                                                         nn_model_output_size(t->model),
                                                         t->targets_buf.view.labels, chunk);
        if (t->test_record)
            nni_test_record_tally(t->test_record, t->comm->rank, t->model->output->out,
                                  nn_model_output_size(t->model), t->targets_buf.view.labels,
                                  t->batch_rows, chunk);
    }
    nn_comm_sum_doubles(t->comm, sums, 4);
    if (sums[3] > 0)
        return st ? st : nn_fail(err, NN_ERR_DATA, "%s: /%s: another rank could not read its "
                                 "rows (its message says why)", ds->path, ds->split);
    *loss = sums[2] > 0 ? sums[0] / sums[2] : NAN;
    *accuracy = t->classification && sums[2] > 0 ? sums[1] / sums[2] : NAN;
    return NN_OK;
}

/* ---- the run, one step at a time ----------------------------------------------------- */

static void begin_epoch(nn_trainer *t)
{
    t->epoch_start = nni_clock_seconds();
    t->totals = (step_totals){0};
    t->step = 0;
    if (t->epoch == t->start_epoch) { /* resuming inside this epoch */
        t->totals = t->start_totals;
        t->step = t->start_step;
    }
    nni_sampler_epoch(&t->sampler, t->epoch);
    /* Regularizers and deficits with an epoch window (config/epoch_window.h); augmentation
     * and dropout read the epoch from the step itself. */
    nni_trainer_label_noise_epoch(t);
    nni_optim_set_epoch(t->opt, t->epoch);
    t->lr = 0;
    t->in_epoch = 1;
}

/* No step is left: how long training took, and how much of it the gradient sums added. */
/* `failed`: the run ends on an error, which may be this rank's alone (a write on rank 0, a
 * streamed read): no collective then, as the other ranks may be inside a step's sum; the
 * error ends the job (nni_cli_fail_job). */
static void end_training(nn_trainer *t, int failed)
{
    t->done = 1;
    t->result.train_seconds = nni_clock_seconds() - t->run_start;
    if (t->comm->size > 1 && !failed)
        nni_trainer_report_allreduce_wait(t, &t->result);
}

/* After a step inside an epoch: a checkpoint every train.checkpoint.every_steps steps, and
 * one to stop at when a rank was signalled. */
static nn_status after_step_in_epoch(nn_trainer *t, nn_error *err)
{
    nn_status st = NN_OK;
    if (t->stop_requested || (t->ckpt_every_steps > 0 && t->step % t->ckpt_every_steps == 0))
        st = nni_trainer_checkpoint(t, t->epoch, t->step, &t->totals, NULL, err);
    if (t->stop_requested) {
        t->result.stopped_by_signal = 1;
        nni_trainer_say(t, "stopping after epoch %d step %lld: checkpoint %s/last.h5 written\n",
                        t->epoch + 1, (long long)t->step, t->run_dir);
        t->done = 1;
    }
    return st;
}

/* After an epoch's last step: validation, the epoch's record and line, its checkpoints, and
 * whether the run goes on (early stopping, a signal, a pause). */
static nn_status end_epoch(nn_trainer *t, nn_error *err)
{
    const step_totals *tot = &t->totals;
    nn_epoch_record m = {.epoch = t->epoch + 1, .lr = t->lr,
                         .loss = tot->loss_sum / (double)tot->samples,
                         .accuracy = t->classification ? tot->correct / (double)tot->samples
                                                       : NAN,
                         .val_loss = NAN, .val_accuracy = NAN};
    nni_trainer_average_state(t);
    nn_status st;
    if (t->has_val &&
        (st = nni_trainer_evaluate(t, t->val_from_train ? &t->train : &t->val, t->val_rows,
                                   t->n_val, &m.val_loss, &m.val_accuracy, err))) {
        end_training(t, 1);
        return st;
    }
    m.seconds = nni_clock_seconds() - t->epoch_start;
    m.samples_per_second = (double)tot->samples / m.seconds;
    const int signalled = t->stop_requested;
    nni_trainer_print_epoch(t, &m);
    st = nni_trainer_log_status(t, err);
    if (!st)
        st = nni_trainer_write_metrics(t, &m, err);
    if (st) { /* the run stops; the last checkpoint's epoch is where --resume continues */
        end_training(t, 1);
        return st;
    }
    t->result.epochs_run = m.epoch;
    t->result.final_val_loss = m.val_loss;
    t->result.final_val_accuracy = m.val_accuracy;
    t->result.samples_per_second = m.samples_per_second;
    const char *plateau = nn_sched_monitor(t->sched, NULL);
    if (plateau)
        nn_sched_epoch_end(t->sched, nn_epoch_record_metric(&m, plateau));
    if (t->early.enabled) {
        const int stop = nni_early_stopping_update(&t->early, &m, t->model);
        t->result.best_metric = t->early.best;
        t->result.best_epoch = t->early.best_epoch;
        if (stop) {
            nni_trainer_say(t, "early stopping: %s has not improved for %d epochs (best %.4f "
                               "at epoch %d)\n", t->early.monitor, t->early.bad_epochs,
                           t->early.best, t->early.best_epoch);
            t->stop_requested = 1;
        }
    }
    st = nni_trainer_checkpoint(t, t->epoch, 0, NULL, &m, err);
    t->epoch++;
    t->in_epoch = 0;
    if (st || t->epoch >= t->epochs) {
        end_training(t, st != NN_OK);
        return st;
    }
    if (!t->stop_requested && t->opts.stop_after_epochs > 0 &&
        t->epoch >= t->opts.stop_after_epochs) {
        t->result.paused = 1;
        end_training(t, 0);
    } else if (signalled) {
        t->result.stopped_by_signal = 1;
        nni_trainer_say(t, "stopping after epoch %d: checkpoint %s/last.h5 written\n", t->epoch,
                        t->run_dir);
        end_training(t, 0);
    } else if (t->stop_requested) { /* early stopping */
        end_training(t, 0);
    }
    return NN_OK;
}

nn_status nn_trainer_step(nn_trainer *t, nn_error *err)
{
    /* A failed log.txt write (start-up lines, a message inside the epoch) stops the run
     * before the next step: the checkpoints on disk are all older than the failure. */
    nn_status logged = nni_trainer_log_status(t, err);
    if (logged) {
        end_training(t, 1);
        return logged;
    }
    if (!t->in_epoch)
        begin_epoch(t);
    const int64_t batches = t->sampler.batches;
    const int64_t steps = (batches + t->accumulate - 1) / t->accumulate;
    if (t->step < steps) {
        const int64_t first = t->step * t->accumulate;
        const int64_t micro = batches - first < t->accumulate ? batches - first : t->accumulate;
        t->lr = nn_sched_lr(t->sched, t->epoch, t->step) * t->lr_scale;
        if (!isfinite(t->lr) || t->lr < 0) { /* a formula schedule can get there */
            end_training(t, 1);
            return nn_fail(err, NN_ERR_NUMERIC, "train.schedule: the learning rate at epoch "
                           "%d, step %lld is %g", t->epoch + 1, (long long)t->step + 1, t->lr);
        }
        const double step_start = nni_clock_seconds();
        nn_status st = train_step(t, t->epoch, first, micro, t->lr, &t->totals, err);
        t->step_seconds += nni_clock_seconds() - step_start;
        t->step++;
        nni_progress_update(t, t->epoch, t->step, steps, &t->totals, t->epoch_start);
        if (!st)
            st = nni_step_log_write(&t->step_log, t->epoch + 1, t->step, t->lr,
                                    t->step_seconds, err);
        if (st) {
            end_training(t, 1);
            return st;
        }
        if (t->step < steps)
            return after_step_in_epoch(t, err);
    }
    return end_epoch(t, err);
}

int nn_trainer_done(const nn_trainer *t)
{
    return t->done;
}

nn_status nn_trainer_open(const nn_cfg *cfg, const nn_comm *comm, const nn_train_options *opts,
                          nn_trainer **out, nn_error *err)
{
    *out = NULL;
    nn_status st = nn_cfg_check_keys(cfg, nni_top_keys, err);
    if (!st) {
        const nn_cfg *train_cfg = nn_cfg_get(cfg, "train");
        if (!train_cfg)
            st = nn_fail(err, NN_ERR_CONFIG, "config: missing 'train' section");
        else
            st = nn_cfg_check_keys(train_cfg, nni_train_keys, err);
    }
    if (st)
        return st;
    nn_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if ((st = nni_trainer_setup(t, cfg, comm, opts, err))) {
        nni_trainer_teardown(t);
        free(t);
        return st;
    }
    t->result.test_loss = t->result.test_accuracy = NAN;
    t->result.best_metric = NAN;
    nni_trainer_print_start(t);
    t->epoch = t->start_epoch;
    t->run_start = nni_clock_seconds();
    if (t->epoch >= t->epochs)
        end_training(t, 0);
    *out = t;
    return NN_OK;
}

nn_status nn_trainer_finish(nn_trainer *t, nn_error *err)
{
    if (!t->done)
        return nn_fail(err, NN_ERR_OTHER, "nn_trainer_finish: the run has steps left");
    nn_status logged = nni_trainer_log_status(t, err);
    if (logged || t->result.stopped_by_signal || t->result.paused)
        return logged;
    if (nni_early_stopping_restore(&t->early, t->model)) {
        nni_trainer_say(t, "restored the weights of epoch %d (best %s %.4f)\n",
                        t->early.best_epoch, t->early.monitor, t->early.best);
        nn_status st = nni_trainer_checkpoint_final(t, err);
        if (st)
            return st;
    }
    if (t->has_test && !t->opts.skip_test) {
        nn_train_result *r = &t->result;
        nni_test_record record;
        int keep = t->classification && t->run_dir[0];
        nn_status st = keep ? nni_test_record_init(&record, (int)nn_model_output_size(t->model),
                                                   t->comm->size, err) : NN_OK;
        if (st)
            return st;
        t->test_record = keep ? &record : NULL;
        st = nni_trainer_evaluate(t, &t->test, NULL, t->test.n, &r->test_loss,
                                  &r->test_accuracy, err);
        t->test_record = NULL;
        if (keep && !st)
            st = nni_test_record_write(&record, t->comm, t->run_dir,
                                       (const char *const *)t->test.class_names,
                                       t->test.n_class_names, err);
        if (keep)
            nni_test_record_free(&record);
        if (st)
            return st;
        if (t->classification)
            nni_trainer_say(t, "test: loss %.4f  accuracy %.4f  (%lld samples)\n", r->test_loss,
                            r->test_accuracy, (long long)t->test.n);
        else
            nni_trainer_say(t, "test: loss %.4f  (%lld samples)\n", r->test_loss,
                            (long long)t->test.n);
    }
    nni_trainer_print_memory(t);
    return nni_trainer_log_status(t, err);
}

void nn_trainer_close(nn_trainer *t, nn_train_result *result)
{
    if (result) {
        memset(result, 0, sizeof *result);
        result->test_loss = result->test_accuracy = result->best_metric = NAN;
    }
    if (!t)
        return;
    if (result) {
        *result = t->result;
        if (t->opts.metric)
            nni_trainer_best_of(t, t->opts.metric, t->opts.metric_maximize,
                                &result->best_metric, &result->best_epoch);
        snprintf(result->run_dir, sizeof result->run_dir, "%s", t->run_dir);
    }
    nni_trainer_teardown(t);
    free(t);
}

nn_status nn_train(const nn_cfg *cfg, const nn_comm *comm, const nn_train_options *opts,
                   nn_train_result *result, nn_error *err)
{
    nn_trainer *trainer = NULL;
    nn_status st = nn_trainer_open(cfg, comm, opts, &trainer, err);
    while (!st && !nn_trainer_done(trainer))
        st = nn_trainer_step(trainer, err);
    if (!st)
        st = nn_trainer_finish(trainer, err);
    nn_trainer_close(trainer, result);
    return st;
}

/* What happens around the loop: the start-up banner, the end of each epoch (metrics line,
 * metrics.csv, early stopping), the numerical-failure report, and the
 * final test evaluation. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "train/train_internal.h"

void nn_trainer_say(nn_trainer *t, const char *fmt, ...)
{
    if (!t->is_root)
        return;
    va_list ap;
    if (!t->opts.quiet) {
        nn_progress_clear(t);
        va_start(ap, fmt);
        vfprintf(t->out, fmt, ap);
        va_end(ap);
        fflush(t->out);
    }
    if (t->log_file) {
        va_start(ap, fmt);
        vfprintf(t->log_file, fmt, ap);
        va_end(ap);
        fflush(t->log_file);
    }
}

void nn_trainer_begin(nn_trainer *t)
{
    char shape[64];
    nn_trainer_say(t, "nntrain: %d rank%s x %d thread%s (%s), global batch %lld "
                      "(%lld per rank), %lld training samples%s%s\n",
                   t->comm->size, t->comm->size > 1 ? "s" : "", t->threads,
                   t->threads > 1 ? "s" : "", t->layout, (long long)t->global_batch,
                   (long long)t->capacity, (long long)t->sampler.n_total,
                   t->has_val ? ", validation " : "", t->has_val ? "on" : "");
    if (t->comm->size > 1) {
        char sizes[256] = "";
        size_t used = 0;
        const int n = nn_grad_sync_bucket_count(t->sync);
        for (int b = 0; b < n && used < sizeof sizes - 32; b++) {
            int64_t start, end;
            nn_grad_sync_bucket_range(t->sync, b, &start, &end);
            used += (size_t)snprintf(sizes + used, sizeof sizes - used, "%s%.2f", b ? ", " : "",
                                     (double)(end - start) * sizeof(float) / (1 << 20));
        }
        nn_trainer_say(t, "gradient allreduce: %s, %d bucket%s (%s MiB, output end first), "
                          "overlap %s\n", nn_grad_sync_transport(t->sync), n, n > 1 ? "s" : "",
                       sizes, t->overlap ? "on" : "off");
        char update[256];
        nn_grad_sync_describe_update(t->sync, update, sizeof update);
        nn_trainer_say(t, "optimizer update: %s\n", update);
    }
    nn_trainer_say(t, "model: input %s, %lld parameters (%lld trainable), %s, run %s\n",
                   nn_shape_format(t->model->input_shape, shape, sizeof shape),
                   (long long)nn_model_count_params(t->model),
                   (long long)nn_model_count_trainable(t->model), nn_optim_name(t->opt),
                   t->run_dir);
    t->progress = t->opts.progress < 0 ? nn_is_terminal(t->out) : t->opts.progress;
}

/* Early stopping: returns 1 when training should stop now. */
static int early_stopping_update(nn_trainer *t, const nn_epoch_record *m, nn_train_result *result)
{
    early_stopping *e = &t->early;
    double value = nn_epoch_record_metric(m, e->monitor);
    int improved = e->maximize ? value > e->best + e->min_delta : value < e->best - e->min_delta;
    if (improved) {
        e->best = value;
        e->best_epoch = m->epoch;
        e->bad_epochs = 0;
        if (e->restore_best) {
            memcpy(e->best_params, t->model->param_data,
                   (size_t)t->model->n_param_floats * sizeof(float));
            memcpy(e->best_state, t->model->state_data,
                   (size_t)t->model->n_state_floats * sizeof(float));
        }
    } else {
        e->bad_epochs++;
    }
    result->best_metric = e->best;
    result->best_epoch = e->best_epoch;
    /* As Keras and Lightning: stop after `patience` epochs without improvement (the first
     * one with patience 0). */
    return e->bad_epochs > 0 && e->bad_epochs >= e->patience;
}

static void fmt_metric(char *buf, size_t size, const char *name, double value)
{
    if (isnan(value))
        buf[0] = '\0';
    else
        snprintf(buf, size, "  %s %.4f", name, value);
}

nn_status nn_trainer_end_epoch(nn_trainer *t, const nn_epoch_record *m, nn_train_result *result,
                               nn_error *err)
{
    (void)err;
    char acc[48], vl[48], va[48];
    fmt_metric(acc, sizeof acc, "accuracy", m->accuracy);
    fmt_metric(vl, sizeof vl, "val_loss", m->val_loss);
    fmt_metric(va, sizeof va, "val_accuracy", m->val_accuracy);
    nn_trainer_say(t, "epoch %d/%d  loss %.4f%s%s%s  lr %.3g  %.0f samples/s  %.1fs\n",
                   m->epoch, t->epochs, m->loss, acc, vl, va, m->lr, m->samples_per_second,
                   m->seconds);
    if (t->metrics_csv) {
        nn_epoch_record_write_csv(m, t->metrics_csv);
        fflush(t->metrics_csv);
    }
    if (t->log_grad_norms) {
        /* Gradient norms of the epoch's last step, per parameter tensor. */
        char line[2048];
        size_t used = 0;
        for (int k = 0; k < t->model->n_params && used < sizeof line - 64; k++) {
            const nn_param *p = &t->model->params[k];
            if (p->flags & NN_PARAM_STATE)
                continue;
            const float *g = t->model->grad_data + p->offset;
            double sq = 0;
            for (int64_t i = 0; i < p->size; i++)
                sq += (double)g[i] * g[i];
            used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %.3g",
                                     used ? ", " : "", p->name, sqrt(sq));
        }
        nn_trainer_say(t, "gradient norms: %s\n", line);
    }
    result->epochs_run = m->epoch;
    result->final_val_loss = m->val_loss;
    result->final_val_accuracy = m->val_accuracy;
    result->samples_per_second = m->samples_per_second;
    const char *plateau = nn_sched_monitor(t->sched, NULL);
    if (plateau)
        nn_sched_epoch_end(t->sched, nn_epoch_record_metric(m, plateau));
    if (t->early.enabled && early_stopping_update(t, m, result)) {
        nn_trainer_say(t, "early stopping: %s has not improved for %d epochs (best %.4f at "
                          "epoch %d)\n", t->early.monitor, t->early.bad_epochs, t->early.best,
                       t->early.best_epoch);
        t->stop_requested = 1;
    }
    return NN_OK;
}

nn_status nn_trainer_end_run(nn_trainer *t, nn_train_result *result, nn_error *err)
{
    early_stopping *e = &t->early;
    if (e->enabled && e->restore_best && e->best_epoch > 0) {
        memcpy(t->model->param_data, e->best_params,
               (size_t)t->model->n_param_floats * sizeof(float));
        memcpy(t->model->state_data, e->best_state,
               (size_t)t->model->n_state_floats * sizeof(float));
        nn_trainer_say(t, "restored the weights of epoch %d (best %s %.4f)\n", e->best_epoch,
                       e->monitor, e->best);
        nn_status st = nn_trainer_checkpoint_final(t, err);
        if (st)
            return st;
    }
    if (t->has_test && !t->opts.skip_test) {
        nn_trainer_evaluate(t, &t->test, NULL, t->test.n, &result->test_loss,
                            &result->test_accuracy);
        if (t->classification)
            nn_trainer_say(t, "test: loss %.4f  accuracy %.4f  (%lld samples)\n",
                           result->test_loss, result->test_accuracy, (long long)t->test.n);
        else
            nn_trainer_say(t, "test: loss %.4f  (%lld samples)\n", result->test_loss,
                           (long long)t->test.n);
    }
    snprintf(result->run_dir, sizeof result->run_dir, "%s", t->run_dir);
    return NN_OK;
}

nn_status nn_trainer_numeric_failure(nn_trainer *t, int epoch, int64_t batch, nn_error *err)
{
    /* Name the layer whose gradient is not finite or has the largest norm: where the
     * blow-up shows first when reading the model from the output back. */
    nn_model *model = t->model;
    nn_grad_sync_gather(t->sync);
    const char *worst = "?";
    double worst_norm = -1;
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if (p->flags & NN_PARAM_STATE)
            continue;
        const float *g = model->grad_data + p->offset;
        double sq = 0;
        for (int64_t i = 0; i < p->size; i++)
            sq += (double)g[i] * g[i];
        double norm = isfinite(sq) ? sqrt(sq) : INFINITY;
        if (!(norm <= worst_norm)) {
            worst_norm = norm;
            worst = p->layer->name;
        }
    }
    nn_progress_clear(t);
    return nn_fail(err, NN_ERR_NUMERIC, "non-finite loss at epoch %d, step %lld; largest "
                   "gradient norm in layer '%s' (%g); lower the learning rate or clip "
                   "gradients (train.clip)", epoch + 1, (long long)batch + 1, worst,
                   worst_norm);
}

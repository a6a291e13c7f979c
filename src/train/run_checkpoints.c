/* Which checkpoint files a run writes and when (`train.checkpoint`): last.h5 every N epochs
 * and every N steps, epoch-NNN.h5 (hard links, the last `keep`), best.h5 when the monitored
 * metric improves, and what goes in /meta so that a resumed run (resume.c) continues bit
 * for bit. The file format itself is src/io's (nn/ckpt.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hash.h"
#include "nn/ckpt.h"
#include "train/train_internal.h"

const char *const nni_checkpoint_keys[] = {"every", "keep", "every_steps", "best", "monitor", "mode",
                                        "keep_initial", NULL};

/* What identifies the data: file, split sizes, sample shape and a hash of the labels. */
static void fingerprint_data(nn_trainer *t)
{
    const nn_dataset *d = &t->train;
    uint64_t hash = NN_HASH_INIT;
    hash = nni_hash_bytes(hash, &d->rows_in_file, sizeof d->rows_in_file);
    hash = nni_hash_bytes(hash, &d->sample_size, sizeof d->sample_size);
    hash = nni_hash_bytes(hash, &t->sampler.n_total, sizeof t->sampler.n_total);
    if (t->data_files.n > 1) /* a changed list of files is other data (one file: as before) */
        for (int i = 0; i < t->data_files.n; i++)
            hash = nni_hash_bytes(hash, t->data_files.paths[i], strlen(t->data_files.paths[i]) + 1);
    if (t->sampling == NNI_SAMPLING_GLOBAL) {
        /* Every rank holds the same rows; in shard mode sizes alone identify the data. */
        if (d->labels)
            hash = nni_hash_bytes(hash, d->labels, (size_t)d->n * sizeof *d->labels);
        else if (d->targets) /* none when streamed samples are the targets (sizes only) */
            hash = nni_hash_bytes(hash, d->targets,
                                  (size_t)(d->n * d->target_width) * sizeof *d->targets);
    }
    t->data_hash = hash;
    snprintf(t->data_fingerprint, sizeof t->data_fingerprint,
             "%.300s /%.60s: %lld rows (%lld used), %lld values per sample, labels hash %016llx",
             d->path, d->split, (long long)d->rows_in_file, (long long)t->sampler.n_total,
             (long long)d->sample_size, (unsigned long long)hash);
}

nn_status nni_trainer_setup_checkpoints(nn_trainer *t, nn_error *err)
{
    const nn_cfg *train_cfg = nn_cfg_get(t->cfg, "train");
    const nn_cfg *node = nn_cfg_get(train_cfg, "checkpoint");
    int64_t every = 1, keep = 3, every_steps = 0;
    int best = 1, mode = -1, keep_initial = 0;
    static const char *const modes[] = {"min", "max", NULL};
    const char *monitor = t->early.enabled ? t->early.monitor : t->has_val ? "val_loss" : "loss";
    nn_status st = NN_OK;
    if (node && ((st = nn_cfg_check_keys(node, nni_checkpoint_keys, err)) ||
                 (st = nn_cfg_read_int(node, "every", 1, &every, err)) ||
                 (st = nn_cfg_read_int(node, "keep", 3, &keep, err)) ||
                 (st = nn_cfg_read_int(node, "every_steps", 0, &every_steps, err)) ||
                 (st = nn_cfg_read_bool(node, "best", 1, &best, err)) ||
                 (st = nn_cfg_read_string(node, "monitor", monitor, &monitor, err)) ||
                 (st = nn_cfg_read_choice(node, "mode", modes, NULL, &mode, err)) ||
                 (st = nn_cfg_read_bool(node, "keep_initial", 0, &keep_initial, err))))
        return st;
    const char *negative = every < 0 ? "every" : keep < 0 ? "keep"
                           : every_steps < 0 ? "every_steps" : NULL;
    if (negative)
        return nn_cfg_fail(err, nn_cfg_get(node, negative), "must be >= 0");
    static const char *const metrics[] = {"loss", "accuracy", "val_loss", "val_accuracy", NULL};
    int known = 0;
    for (int i = 0; metrics[i]; i++)
        known |= strcmp(metrics[i], monitor) == 0;
    if (!known || (!t->has_val && strncmp(monitor, "val_", 4) == 0))
        return nn_cfg_fail(err, nn_cfg_get(node, "monitor"), "cannot monitor '%s' (valid: loss, "
                           "accuracy%s)", monitor, t->has_val ? ", val_loss, val_accuracy" : "");
    t->ckpt_every = (int)every;
    t->ckpt_keep = (int)keep;
    t->ckpt_every_steps = every_steps;
    t->ckpt_best = best;
    t->ckpt_keep_initial = keep_initial;
    snprintf(t->ckpt_monitor, sizeof t->ckpt_monitor, "%s", monitor);
    t->ckpt_monitor_max = mode >= 0 ? mode == 1 : strstr(monitor, "loss") == NULL;
    t->ckpt_best_value = t->ckpt_monitor_max ? -INFINITY : INFINITY;
    t->history = calloc((size_t)t->epochs + 1, sizeof *t->history);
    t->config_yaml = nn_cfg_to_yaml(t->cfg);
    if (!t->history || !t->config_yaml)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    fingerprint_data(t);
    return NN_OK;
}

/* Running statistics computed per rank (batchnorm without sync) are averaged before they are
 * saved or used for evaluation, as PyTorch DDP users do by hand. */
void nni_trainer_average_state(nn_trainer *t)
{
    if (t->comm->size == 1 || !t->model->unsynced_state || !t->model->n_state_floats)
        return;
    nn_comm_sum_floats(t->comm, t->model->state_data, t->model->n_state_floats);
    const float inv = 1.0f / (float)t->comm->size;
    for (int64_t i = 0; i < t->model->n_state_floats; i++)
        t->model->state_data[i] *= inv;
}

static void fill_meta(const nn_trainer *t, nn_ckpt_meta *meta, int epochs_done, int64_t step,
                      const step_totals *tot)
{
    memset(meta, 0, sizeof *meta);
    meta->epoch = epochs_done;
    meta->step = step;
    meta->optim_steps = nn_optim_steps(t->opt);
    meta->world_size = t->comm->size;
    meta->seed = t->seed;
    if (tot) {
        meta->partial[0] = tot->loss_sum;
        meta->partial[1] = tot->correct;
        meta->partial[2] = (double)tot->samples;
    }
    meta->sched = *nn_sched_state_of(t->sched);
    meta->early_best = t->early.best;
    meta->early_best_epoch = t->early.best_epoch;
    meta->early_bad_epochs = t->early.bad_epochs;
    meta->data_hash = t->data_hash;
    snprintf(meta->data_fingerprint, sizeof meta->data_fingerprint, "%s", t->data_fingerprint);
    meta->config_yaml = t->config_yaml;
    meta->n_history = t->n_history;
    meta->history = t->history;
}

static nn_status write_checkpoint(nn_trainer *t, const char *name, int epochs_done, int64_t step,
                                  const step_totals *tot, nn_error *err)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", t->run_dir, name);
    nn_ckpt_meta meta;
    fill_meta(t, &meta, epochs_done, step, tot);
    return nn_ckpt_write(path, t->model, t->opt, &meta, err);
}

/* epoch-NNN.h5 as a hard link to the last.h5 just written (no second write); the oldest
 * beyond `keep` are removed. */
static nn_status keep_epoch_file(nn_trainer *t, int epochs_done, nn_error *err)
{
    char last[700], kept[700];
    snprintf(last, sizeof last, "%s/last.h5", t->run_dir);
    snprintf(kept, sizeof kept, "%s/epoch-%03d.h5", t->run_dir, epochs_done);
    unlink(kept);
    if (link(last, kept) != 0) {
        nn_status st = write_checkpoint(t, kept + strlen(t->run_dir) + 1, epochs_done, 0, NULL,
                                        err);
        if (st)
            return st;
    }
    for (int e = epochs_done - t->ckpt_keep; e >= 1; e--) {
        snprintf(kept, sizeof kept, "%s/epoch-%03d.h5", t->run_dir, e);
        if (unlink(kept) != 0 && errno == ENOENT)
            break;
    }
    return NN_OK;
}

void nni_trainer_best_of(const nn_trainer *t, const char *metric, int maximize, double *value,
                         int *epoch)
{
    int best = nn_history_best(t->history, t->n_history, metric, maximize);
    *value = best >= 0 ? nn_epoch_record_metric(&t->history[best], metric) : NAN;
    *epoch = best >= 0 ? t->history[best].epoch : 0;
}

nn_status nni_trainer_checkpoint(nn_trainer *t, int epoch, int64_t step, const step_totals *tot,
                                 const nn_epoch_record *record, nn_error *err)
{
    /* At the end of an epoch the state was averaged before validation already. */
    if (step > 0)
        nni_trainer_average_state(t);
    if (!t->is_root)
        return NN_OK;
    nn_status st = NN_OK;
    if (step > 0) /* mid-epoch: a requeue or every_steps checkpoint */
        return write_checkpoint(t, "last.h5", epoch, step, tot, err);
    int epochs_done = epoch + 1;
    t->history[t->n_history++] = *record;
    /* A pause (opts.stop_after_epochs) always leaves a checkpoint to continue from. */
    int pausing = t->opts.stop_after_epochs > 0 && epochs_done >= t->opts.stop_after_epochs;
    int periodic = pausing || (t->ckpt_every > 0 &&
                               (epochs_done % t->ckpt_every == 0 || epochs_done == t->epochs ||
                                t->stop_requested));
    double value = nn_epoch_record_metric(record, t->ckpt_monitor);
    int improved = t->ckpt_monitor_max ? value > t->ckpt_best_value : value < t->ckpt_best_value;
    if (improved)
        t->ckpt_best_value = value;
    if (periodic) {
        st = write_checkpoint(t, "last.h5", epochs_done, 0, NULL, err);
        if (!st && periodic && t->ckpt_keep > 0)
            st = keep_epoch_file(t, epochs_done, err);
    }
    if (!st && t->ckpt_best && improved)
        st = write_checkpoint(t, "best.h5", epochs_done, 0, NULL, err);
    return st;
}

nn_status nni_trainer_checkpoint_initial(nn_trainer *t, nn_error *err)
{
    /* A resumed run's weights are no longer the initial ones: its epoch-000.h5, if asked
     * for, was written when the run started. */
    if (!t->ckpt_keep_initial || t->resumed || !t->is_root)
        return NN_OK;
    return write_checkpoint(t, "epoch-000.h5", 0, 0, NULL, err);
}

nn_status nni_trainer_checkpoint_final(nn_trainer *t, nn_error *err)
{
    if (t->ckpt_every <= 0 || t->n_history == 0)
        return NN_OK;
    if (!t->is_root)
        return NN_OK;
    /* epoch-NNN.h5 links keep the weights each epoch ended with; last.h5 (rewritten, not
     * linked) becomes the final model, as `nntrain eval` and the test evaluation see it. */
    int epochs_done = t->history[t->n_history - 1].epoch;
    return write_checkpoint(t, "last.h5", epochs_done, 0, NULL, err);
}

/* ---- resuming ------------------------------------------------------------------------ */


/* Resuming a run from its directory: the newest checkpoint that verifies (last.h5, else the
 * newest epoch-NNN.h5), refused when it holds another model, other data or another seed;
 * the optimizer, schedule, early stopping and history continue where they were, so the run
 * goes on bit for bit as if it had not stopped. Deliberate changes to the config are listed
 * in the log. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model_internal.h"
#include "nn/ckpt.h"
#include "train/train_internal.h"

/* The newest checkpoint in dir that verifies: last.h5, else the highest epoch-NNN.h5. */
static nn_status find_checkpoint(nn_trainer *t, const char *dir, char *path, size_t size,
                                 nn_error *err)
{
    snprintf(path, size, "%s/last.h5", dir);
    nn_error why = {0};
    if (nn_ckpt_verify(path, &why) == NN_OK)
        return NN_OK;
    char first_problem[1024];
    snprintf(first_problem, sizeof first_problem, "%s", why.msg);
    for (int e = t->epochs + 1000; e >= 1; e--) {
        char candidate[700];
        snprintf(candidate, sizeof candidate, "%s/epoch-%03d.h5", dir, e);
        if (access(candidate, F_OK) != 0)
            continue;
        if (nn_ckpt_verify(candidate, &why) == NN_OK) {
            snprintf(t->resume_note, sizeof t->resume_note,
                     "resume: %.600s; falling back to %.300s", first_problem, candidate);
            snprintf(path, size, "%s", candidate);
            return NN_OK;
        }
    }
    return nn_fail(err, NN_ERR_DATA, "resume: no usable checkpoint in %s (%s)", dir,
                   first_problem);
}

/* Lists the scalar settings that differ between the checkpoint's config and this one. */
static void describe_changes(nn_trainer *t, const nn_cfg *old_node, const nn_cfg *new_node,
                             char *out, size_t size, size_t *used)
{
    if (*used >= size - 64)
        return;
    if (!old_node || !new_node || nn_cfg_kind_of(old_node) != nn_cfg_kind_of(new_node) ||
        nn_cfg_kind_of(new_node) == NN_CFG_SCALAR) {
        const char *a = old_node ? nn_cfg_scalar(old_node) : "(none)";
        const char *b = new_node ? nn_cfg_scalar(new_node) : "(none)";
        if (a && b && strcmp(a, b) == 0)
            return;
        *used += (size_t)snprintf(out + *used, size - *used, "%s%s: %s -> %s",
                                  *used ? ", " : "",
                                  nn_cfg_path(new_node ? new_node : old_node),
                                  a ? a : "(a section)", b ? b : "(a section)");
        return;
    }
    if (nn_cfg_kind_of(new_node) == NN_CFG_SEQ) {
        int n = nn_cfg_size(new_node) > nn_cfg_size(old_node) ? nn_cfg_size(new_node)
                                                              : nn_cfg_size(old_node);
        for (int i = 0; i < n; i++)
            describe_changes(t, i < nn_cfg_size(old_node) ? nn_cfg_at(old_node, i) : NULL,
                             i < nn_cfg_size(new_node) ? nn_cfg_at(new_node, i) : NULL, out,
                             size, used);
        return;
    }
    for (int i = 0; i < nn_cfg_size(new_node); i++)
        describe_changes(t, nn_cfg_get(old_node, nn_cfg_key_at(new_node, i)),
                         nn_cfg_at(new_node, i), out, size, used);
    for (int i = 0; i < nn_cfg_size(old_node); i++)
        if (!nn_cfg_get(new_node, nn_cfg_key_at(old_node, i)))
            describe_changes(t, nn_cfg_at(old_node, i), NULL, out, size, used);
}

/* 1 when the run writes a test record at its end (test_record.h) and the record is not in
 * the run directory: a run whose every epoch is done but whose record failed to write (a
 * full disk at the very end) resumes to write it, running the test and nothing else. */
static int test_record_missing(const nn_trainer *t)
{
    if (!t->has_test || t->opts.skip_test || !t->classification)
        return 0;
    char path[700];
    snprintf(path, sizeof path, "%s/test-confusion.csv", t->run_dir);
    return access(path, F_OK) != 0;
}

nn_status nni_trainer_resume(nn_trainer *t, nn_error *err)
{
    char path[700];
    nn_status st = find_checkpoint(t, t->run_dir, path, sizeof path, err);
    nn_ckpt_meta meta;
    if (st || (st = nn_ckpt_read_meta(path, &meta, err)))
        return st;
    if (meta.model_hash != nni_model_hash(t->model)) {
        /* Loading names the first parameter that differs. */
        st = nn_ckpt_load(path, t->model, NULL, err);
        if (!st)
            st = nn_fail(err, NN_ERR_CONFIG, "resume: %s holds a different model (parameter "
                         "order differs)", path);
    } else if (meta.data_hash != t->data_hash) {
        st = nn_fail(err, NN_ERR_CONFIG, "resume: the data differ from the checkpoint's: now "
                     "%s; then %s", t->data_fingerprint, meta.data_fingerprint);
    } else if (meta.seed != t->seed) {
        st = nn_fail(err, NN_ERR_CONFIG, "resume: seed %llu differs from the checkpoint's %llu "
                     "(the data order would change)", (unsigned long long)t->seed,
                     (unsigned long long)meta.seed);
    } else if (meta.epoch > t->epochs ||
               (meta.epoch == t->epochs && meta.step == 0 && !test_record_missing(t))) {
        st = nn_fail(err, NN_ERR_CONFIG, "resume: %s has already finished %d epochs; raise "
                     "train.epochs to train longer", path, meta.epoch);
    }
    if (!st)
        st = nn_ckpt_load(path, t->model, t->opt, err);
    if (st) {
        nn_ckpt_meta_free(&meta);
        return st;
    }
    nni_optim_set_steps(t->opt, meta.optim_steps);
    *nn_sched_state_of(t->sched) = meta.sched;
    t->early.best = meta.early_best;
    t->early.best_epoch = meta.early_best_epoch;
    t->early.bad_epochs = meta.early_bad_epochs;
    t->start_epoch = meta.epoch;
    t->start_step = meta.step;
    t->start_totals.loss_sum = meta.partial[0];
    t->start_totals.correct = meta.partial[1];
    t->start_totals.samples = (int64_t)meta.partial[2];
    t->n_history = meta.n_history < t->epochs ? meta.n_history : t->epochs;
    memcpy(t->history, meta.history, (size_t)t->n_history * sizeof *t->history);
    for (int i = 0; i < t->n_history; i++) {
        double v = nn_epoch_record_metric(&t->history[i], t->ckpt_monitor);
        if (t->ckpt_monitor_max ? v > t->ckpt_best_value : v < t->ckpt_best_value)
            t->ckpt_best_value = v;
    }
    if (t->early.restore_best && t->early.best_epoch > 0) {
        /* The best weights so far are those of best.h5. */
        char best[700];
        snprintf(best, sizeof best, "%s/best.h5", t->run_dir);
        nn_model *scratch = t->model;
        float *params = malloc((size_t)scratch->n_param_floats * sizeof(float));
        float *state = malloc((size_t)(scratch->n_state_floats + 1) * sizeof(float));
        if (params && state) {
            memcpy(params, scratch->param_data, (size_t)scratch->n_param_floats * sizeof(float));
            memcpy(state, scratch->state_data, (size_t)scratch->n_state_floats * sizeof(float));
            if (nn_ckpt_load(best, scratch, NULL, err) == NN_OK) {
                memcpy(t->early.best_params, scratch->param_data,
                       (size_t)scratch->n_param_floats * sizeof(float));
                memcpy(t->early.best_state, scratch->state_data,
                       (size_t)scratch->n_state_floats * sizeof(float));
            }
            memcpy(scratch->param_data, params, (size_t)scratch->n_param_floats * sizeof(float));
            memcpy(scratch->state_data, state, (size_t)scratch->n_state_floats * sizeof(float));
        }
        free(params);
        free(state);
    }
    char changes[1024] = "";
    size_t used = 0;
    nn_cfg *old_cfg = NULL;
    nn_error ignored = {0};
    if (nn_cfg_load_string(meta.config_yaml, "checkpoint config", &old_cfg, &ignored) == NN_OK)
        describe_changes(t, old_cfg, t->cfg, changes, sizeof changes, &used);
    nn_cfg_free(old_cfg);
    char position[64];
    if (meta.step > 0)
        snprintf(position, sizeof position, "in epoch %d after step %lld", meta.epoch + 1,
                 (long long)meta.step);
    else
        snprintf(position, sizeof position, "after epoch %d", meta.epoch);
    size_t note = strlen(t->resume_note);
    snprintf(t->resume_note + note, sizeof t->resume_note - note,
             "%sresuming %.300s from %.300s (%s, written by %d rank%s)%s%.700s",
             note ? "\n" : "", t->run_dir, path, position, meta.world_size,
             meta.world_size > 1 ? "s" : "", changes[0] ? "; changed: " : "", changes);
    nn_ckpt_meta_free(&meta);
    t->resumed = 1;
    return nni_trainer_rewrite_metrics(t, err);
}

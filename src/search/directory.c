/* The search directory and the trials' run directories. A search directory holds
 * search.yaml (the config the search started from), the journal, trials.csv, best.yaml
 * and one trial-NNN/ run directory per trial. Opening it resumes: the journal's events are
 * replayed into the trial table, after checking that they belong to this search (the
 * journal's header carries the hashes of the space and of the base config); a trial's run
 * directory holds the checkpoint it continues from. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dir_lock.h"
#include "core/files.h"
#include "nn/ckpt.h"
#include "search/directory.h"
#include "search/report.h"

static void visit_event(void *ctx, const nni_search_event *e)
{
    nni_trials_apply(ctx, e);
}

void nni_trial_run_dir(const nn_search *s, int trial, char *out, size_t size)
{
    snprintf(out, size, "%s/trial-%03d", s->dir, trial);
}

/* Refuses a directory whose journal belongs to another search, naming the first change. */
static nn_status check_same_search(const nn_search *s, const char *header, nn_error *err)
{
    char expected[512];
    nni_journal_header(s, expected, sizeof expected);
    if (!strcmp(header, expected))
        return NN_OK;
    char path[700], diff[800] = "";
    snprintf(path, sizeof path, "%s/search.yaml", s->dir);
    nn_cfg *old = NULL;
    nn_error ignored = {0};
    const char *space = strstr(header, " space=");
    int space_changed = !space || strncmp(space, strstr(expected, " space="), 24) != 0;
    if (nn_cfg_load_file(path, &old, &ignored) == NN_OK) {
        static const char *const not_space[] = {"ranks_per_trial", "coordinator_trains", "dir",
                                                "max_restarts", NULL};
        static const char *const not_base[] = {"search", NULL};
        if (space_changed)
            nni_search_first_difference(nn_cfg_get(old, "search"), nn_cfg_get(s->cfg, "search"),
                                        not_space, diff, sizeof diff);
        else
            nni_search_first_difference(old, s->cfg, not_base, diff, sizeof diff);
    }
    nn_cfg_free(old);
    return nn_fail(err, NN_ERR_CONFIG, "search: %s holds a search with a different %s%s%.700s%s;"
                   " run the original config to resume it, or set search.dir for a new search",
                   s->dir, space_changed ? "search space" : "base config", diff[0] ? " (" : "",
                   diff, diff[0] ? ")" : "");
}

nn_status nni_search_dir_open(const nn_search *s, nni_trial_table *table,
                              nni_search_journal *journal, int *lock, nn_error *err)
{
    if (nni_make_dirs(s->dir) != 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create the search directory: %s", s->dir,
                       strerror(errno));
    /* Two searches appending to one journal would corrupt it: the second is refused. */
    nn_status st = nni_dir_lock(s->dir, "search.dir", lock, err);
    if (st)
        return st;
    char path[700], header[512];
    snprintf(path, sizeof path, "%s/journal", s->dir);
    st = nni_trials_init(table, s, err);
    if (st)
        return st;
    if (access(path, F_OK) == 0) {
        char found[512];
        if ((st = nni_journal_read(path, found, sizeof found, NULL, NULL, err)))
            return st;
        if (found[0] && (st = check_same_search(s, found, err)))
            return st;
        if (found[0] &&
            (st = nni_journal_read(path, found, sizeof found, visit_event, table, err)))
            return st;
    }
    /* search.yaml before the journal: a journal always has its space next to it. */
    char *yaml = nn_cfg_to_yaml(s->cfg);
    char yaml_path[700];
    snprintf(yaml_path, sizeof yaml_path, "%s/search.yaml", s->dir);
    st = yaml ? nni_write_file_atomic(yaml_path, yaml, strlen(yaml), err)
              : nn_fail(err, NN_ERR_OTHER, "out of memory");
    free(yaml);
    nni_journal_header(s, header, sizeof header);
    if (!st)
        st = nni_journal_open(path, header, journal, err);
    if (!st)
        st = nni_report_write_files(table, s->dir, err);
    table->live = 1;
    return st;
}

nn_status nni_search_load_dir(const char *dir, nn_search **search, nni_trial_table *table,
                              nn_error *err)
{
    *search = NULL;
    memset(table, 0, sizeof *table);
    char path[700];
    snprintf(path, sizeof path, "%s/search.yaml", dir);
    nn_cfg *cfg = NULL;
    nn_status st = nn_cfg_load_file(path, &cfg, err);
    if (st) {
        nn_fail_prefix(err, "%s is not a search directory: ", dir);
        return st;
    }
    st = nn_search_parse(cfg, NULL, search, err);
    nn_cfg_free(cfg);
    if (st)
        return st;
    snprintf((*search)->dir, sizeof (*search)->dir, "%s", dir);
    if ((st = nni_trials_init(table, *search, err)))
        goto fail;
    char header[512], expected[512];
    snprintf(path, sizeof path, "%s/journal", dir);
    if ((st = nni_journal_read(path, header, sizeof header, visit_event, table, err)))
        goto fail;
    nni_journal_header(*search, expected, sizeof expected);
    if (header[0] && strcmp(header, expected)) {
        st = nn_fail(err, NN_ERR_DATA, "%s: the journal does not belong to %s/search.yaml",
                     path, dir);
        goto fail;
    }
    return NN_OK;
fail:
    nni_trials_free(table);
    nn_search_free(*search);
    *search = NULL;
    return st;
}

int nni_trial_has_checkpoint(const nn_search *s, int trial)
{
    char run_dir[600], path[700];
    nn_error ignored = {0};
    nni_trial_run_dir(s, trial, run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/last.h5", run_dir);
    if (nn_ckpt_verify(path, &ignored) == NN_OK)
        return 1;
    for (int e = 1; e <= 1000; e++) { /* the trainer falls back to the newest epoch file */
        snprintf(path, sizeof path, "%s/epoch-%03d.h5", run_dir, e);
        if (access(path, F_OK) == 0)
            return 1;
    }
    return 0;
}

/* Epochs a trial trains to at a rung: the rung's, or the trial config's own. */
static int rung_target(const nn_search *s, int trial, int rung, int *early_patience)
{
    nn_cfg *cfg = NULL;
    nn_error ignored = {0};
    int64_t epochs = 10, patience = -1;
    if (nni_search_build_config(s, trial, &cfg, &ignored) == NN_OK) {
        const nn_cfg *train = nn_cfg_get(cfg, "train");
        nn_cfg_read_int(train, "epochs", 10, &epochs, &ignored);
        const nn_cfg *early = nn_cfg_get(train, "early_stopping");
        if (early)
            nn_cfg_read_int(early, "patience", 5, &patience, &ignored);
    }
    nn_cfg_free(cfg);
    *early_patience = (int)patience;
    return rung < s->n_rungs - 1 ? s->rung_epochs[rung] : (int)epochs;
}

int nni_trial_recover_result(const nn_search *s, int trial, int rung, int group,
                             nni_search_event *event, int *epoch)
{
    char run_dir[600], path[700];
    nni_trial_run_dir(s, trial, run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/last.h5", run_dir);
    if (access(path, F_OK) != 0)
        return 0;
    nn_ckpt_meta meta;
    nn_error ignored = {0};
    if (nn_ckpt_read_meta(path, &meta, &ignored) != NN_OK)
        return 0;
    int patience;
    int target = rung_target(s, trial, rung, &patience);
    int done = meta.step == 0 && meta.epoch >= target;
    int stopped_early = meta.step == 0 && meta.epoch > 0 && !done && patience >= 0 &&
                        meta.early_bad_epochs > patience;
    if (done || stopped_early) {
        *event = (nni_search_event){.kind = EVENT_END, .trial = trial, .rung = rung,
                                    .group = group, .outcome = OUTCOME_OK,
                                    .paused = done && rung < s->n_rungs - 1,
                                    .epochs = meta.epoch, .metric = NAN};
        int from = rung > 0 ? s->rung_epochs[rung - 1] : 0;
        int best = nn_history_best(meta.history, meta.n_history, s->metric, s->maximize);
        if (best >= 0) {
            event->metric = nn_epoch_record_metric(&meta.history[best], s->metric);
            event->best_epoch = meta.history[best].epoch;
        }
        for (int i = 0; i < meta.n_history; i++)
            if (meta.history[i].epoch > from)
                event->seconds += meta.history[i].seconds;
        *epoch = meta.epoch;
    }
    nn_ckpt_meta_free(&meta);
    return done || stopped_early;
}

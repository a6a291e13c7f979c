/* Rank 0's decisions in a running search: which trial a group runs next (the method
 * decides through the trial table; a trial the job kept dying in is given up, one whose
 * checkpoint already holds its result is recorded from it), recording every start and
 * result (journaled before anything acts on it, then the table and the files), the
 * messages of the search's progress, and its end: the leaderboard, the outcome and the
 * final test of the best trial. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "core/dir_lock.h"
#include "nn/trainer.h"
#include "search/directory.h"
#include "search/method.h"
#include "search/report.h"
#include "search/schedule.h"

static void say(nni_search_schedule *sch, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(nni_search_schedule *sch, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(sch->log, fmt, ap);
    va_end(ap);
    fflush(sch->log);
}

static void note_promotions(nni_search_schedule *sch)
{
    const nn_search *s = sch->s;
    int highest = 0;
    for (int i = 0; i < sch->table.n; i++)
        if (sch->table.t[i].rung > highest)
            highest = sch->table.t[i].rung;
    while (sch->rungs_open < highest) {
        int k = ++sch->rungs_open;
        char list[512] = "";
        size_t used = 0;
        int count = 0;
        for (int i = 0; i < sch->table.n; i++)
            if (sch->table.t[i].rung >= k) {
                count++;
                if (used < sizeof list - 16)
                    used += (size_t)snprintf(list + used, sizeof list - used, "%s%d",
                                             used ? ", " : "", i + 1);
            }
        say(sch, "rung %d of %d (epoch %d) done: %d trial%s continue%s to epoch %d (trial%s "
                "%s)\n", k, s->n_rungs, s->rung_epochs[k - 1], count, count == 1 ? "" : "s",
            count == 1 ? "s" : "", s->rung_epochs[k], count == 1 ? "" : "s", list);
    }
}

/* Journals the event first, then updates the table and the files. */
static void record(nni_search_schedule *sch, const nni_search_event *e)
{
    if (sch->failure)
        return;
    nn_status st = nni_journal_append(&sch->journal, e, &sch->failure_err);
    if (!st) {
        nni_trials_apply(&sch->table, e);
        st = nni_report_write_files(&sch->table, sch->s->dir, &sch->failure_err);
    }
    if (st) {
        sch->failure = st;
        sch->stopping = 1;
    }
}

void nni_schedule_record_result(nni_search_schedule *sch, const nni_trial_report *rep)
{
    const nn_search *s = sch->s;
    nni_search_event e = {.kind = EVENT_END, .trial = rep->trial, .rung = rep->rung,
                          .group = rep->group, .status = rep->status, .paused = rep->paused,
                          .epochs = rep->epochs, .best_epoch = rep->best_epoch,
                          .metric = rep->metric, .seconds = rep->seconds};
    snprintf(e.reason, sizeof e.reason, "%s", rep->reason);
    if (rep->status == NN_ERR_OTHER) {
        /* A write that failed (disk full, file-size limit, read-only directory), memory, MPI:
         * the machine's trouble, not the trial's. The search stops without recording an end,
         * so that the same command retries the trial from its checkpoint once the cause is
         * gone (a trial that keeps failing is given up after search.max_restarts). */
        if (!sch->failure) {
            sch->failure = NN_ERR_OTHER;
            nn_fail(&sch->failure_err, NN_ERR_OTHER, "trial %d: %.900s", rep->trial,
                    rep->reason);
        }
        sch->stopping = 1;
        return;
    }
    if (rep->status) {
        e.outcome = OUTCOME_FAILED;
    } else if (rep->interrupted) {
        e.outcome = OUTCOME_INTERRUPTED;
        sch->stopping = 1; /* a signal reached the group: the job is being stopped */
    } else if (!isfinite(rep->metric)) {
        e.outcome = OUTCOME_FAILED;
        e.status = NN_ERR_NUMERIC;
        snprintf(e.reason, sizeof e.reason, "%s is %g after %d epoch%s", s->metric,
                 rep->metric, rep->epochs, rep->epochs == 1 ? "" : "s");
    } else {
        e.outcome = OUTCOME_OK;
    }
    record(sch, &e);
    char head[64];
    snprintf(head, sizeof head, "trial %d/%d (group %d)", rep->trial, s->n_trials, rep->group);
    if (e.outcome == OUTCOME_FAILED)
        say(sch, "%s failed (%s): %s\n", head, nni_report_failure_kind(e.status), e.reason);
    else if (e.outcome == OUTCOME_INTERRUPTED)
        say(sch, "%s stopped by a signal after a checkpoint; it continues when the search "
                "resumes\n", head);
    else
        say(sch, "%s %s: %s %.4f (best epoch %d of %d, %.1f s)\n", head,
            rep->paused ? "reached its rung" : "finished", s->metric, rep->metric,
            rep->best_epoch, rep->epochs, rep->seconds);
    note_promotions(sch);
}

int nni_schedule_choose(nni_search_schedule *sch, int group, nni_trial_assignment *a)
{
    const nn_search *s = sch->s;
    note_promotions(sch);
    while (!sch->stopping && !sch->failure) {
        int trial = 0, rung = 0;
        int next = nni_trials_next(&sch->table, &trial, &rung);
        if (next <= 0)
            return next;
        nni_trial_record *r = &sch->table.t[trial - 1];
        nni_search_event e;
        if (r->open_starts > s->max_restarts) {
            e = (nni_search_event){.kind = EVENT_END, .trial = trial, .rung = rung,
                                   .group = r->group, .outcome = OUTCOME_FAILED,
                                   .status = NN_ERR_OTHER, .metric = NAN};
            snprintf(e.reason, sizeof e.reason, "the search ended %d times while this trial "
                     "was training (search.max_restarts: %d); see %.400s/trial-%03d/log.txt",
                     r->open_starts, s->max_restarts, s->dir, trial);
            record(sch, &e);
            say(sch, "trial %d/%d failed (%s): %s\n", trial, s->n_trials,
                nni_report_failure_kind(e.status), e.reason);
            continue;
        }
        int epoch;
        if (nni_trial_recover_result(s, trial, rung, group, &e, &epoch)) {
            say(sch, "trial %d/%d: its checkpoint already holds epoch %d; recording the result "
                     "the interrupted search did not\n", trial, s->n_trials, epoch);
            record(sch, &e);
            continue;
        }
        int stop_after = rung < s->n_rungs - 1 ? s->rung_epochs[rung] : 0;
        *a = (nni_trial_assignment){.kind = ASSIGN_RUN, .trial = trial, .rung = rung,
                                    .stop_after = stop_after,
                                    .resume = nni_trial_has_checkpoint(s, trial)};
        if (nni_search_decides_values(s)) {
            a->n_values = s->n_params;
            for (int p = 0; p < s->n_params; p++)
                a->value_index[p] = s->method->value(s, p, nni_search_config_of(s, trial),
                                                     a->value_text[p], SEARCH_VALUE_TEXT);
        }
        e = (nni_search_event){.kind = EVENT_START, .trial = trial, .rung = rung,
                               .group = group};
        record(sch, &e);
        if (sch->failure)
            break;
        char params[1024];
        nn_search_describe_trial(s, trial, params, sizeof params);
        char rung_note[64] = "";
        if (s->n_rungs > 1)
            snprintf(rung_note, sizeof rung_note, ", to epoch %d", s->rung_epochs[rung]);
        say(sch, "trial %d/%d (group %d%s%s): %s\n", trial, s->n_trials, group, rung_note,
            a->resume ? ", from its checkpoint" : "", params);
        return 1;
    }
    return -1;
}

static void say_start(nni_search_schedule *sch, int world_size, int n_groups)
{
    const nn_search *s = sch->s;
    int counts[TRIAL_FAILED + 1];
    nni_trials_count(&sch->table, counts);
    int done = counts[TRIAL_FINISHED] + counts[TRIAL_FAILED] + counts[TRIAL_PRUNED];
    say(sch, "search %s: %s, %d trial%s, %d group%s of %d rank%s (world %d)%s; metric %s (%s)\n",
        s->dir, s->method->name, s->n_trials, s->n_trials == 1 ? "" : "s", n_groups,
        n_groups == 1 ? "" : "s", s->ranks_per_trial, s->ranks_per_trial == 1 ? "" : "s",
        world_size, s->coordinator_trains ? "" : ", rank 0 coordinates only", s->metric,
        s->maximize ? "maximize" : "minimize");
    if (done || counts[TRIAL_STARTED] || counts[TRIAL_WAITING])
        say(sch, "resuming: %d of %d trials done (%d finished, %d failed%s), %d to continue from "
                "their checkpoints\n", done, s->n_trials, counts[TRIAL_FINISHED],
            counts[TRIAL_FAILED], counts[TRIAL_PRUNED] ? ", some pruned" : "",
            counts[TRIAL_STARTED]);
    for (int i = 0; i < sch->table.n; i++)
        if (sch->table.t[i].rung > sch->rungs_open)
            sch->rungs_open = sch->table.t[i].rung;
}

static nn_status run_final_test(nni_search_schedule *sch, nn_error *err)
{
    const nn_search *s = sch->s;
    int best = nni_trials_best(&sch->table);
    if (!best)
        return nn_fail(err, NN_ERR_OTHER, "--final-test: no finished trial to test");
    nn_cfg *cfg = NULL;
    nn_status st = nni_search_build_config(s, best, &cfg, err);
    if (st)
        return st;
    const char *split = "test";
    st = nn_cfg_read_string(nn_cfg_get(cfg, "data"), "test", "test", &split, err);
    char split_name[128];
    snprintf(split_name, sizeof split_name, "%s", split);
    nn_cfg_free(cfg);
    if (st)
        return st;
    if (!strcmp(split_name, "none"))
        return nn_fail(err, NN_ERR_CONFIG, "--final-test: the config has no test split "
                       "(data.test: none)");
    char run_dir[600], path[700];
    nni_trial_run_dir(s, best, run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/best.h5", run_dir);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof path, "%s/last.h5", run_dir);
    double loss, accuracy;
    int64_t samples;
    if ((st = nn_evaluate_checkpoint(path, split_name, NULL, &loss, &accuracy, &samples, err)))
        return st;
    if (isnan(accuracy))
        say(sch, "final test of trial %d (%s) on /%s: loss %.4f (%lld samples)\n", best, path,
            split_name, loss, (long long)samples);
    else
        say(sch, "final test of trial %d (%s) on /%s: loss %.4f  accuracy %.4f  (%lld samples)\n",
            best, path, split_name, loss, accuracy, (long long)samples);
    return NN_OK;
}

static void fill_outcome(const nni_search_schedule *sch, nn_search_outcome *out)
{
    int counts[TRIAL_FAILED + 1];
    nni_trials_count(&sch->table, counts);
    out->trials = sch->table.n;
    out->finished = counts[TRIAL_FINISHED];
    out->failed = counts[TRIAL_FAILED];
    out->pending = sch->table.n - counts[TRIAL_FINISHED] - counts[TRIAL_FAILED] -
                   counts[TRIAL_PRUNED];
    out->best_trial = nni_trials_best(&sch->table);
    out->best_metric = out->best_trial
                           ? nni_trials_metric(&sch->table, out->best_trial, NULL, NULL)
                           : NAN;
    if (out->best_trial && sch->s->repeats > 1) /* the best configuration's mean */
        out->best_metric = nni_trials_config_interval(
            &sch->table, (int)nni_search_config_of(sch->s, out->best_trial)).mean;
    out->interrupted = sch->stopping && out->pending > 0;
    for (int i = 0; i < sch->table.n && !out->first_failure; i++)
        if (sch->table.t[i].state == TRIAL_FAILED)
            out->first_failure = (nn_status)sch->table.t[i].status;
}

nn_status nni_schedule_open(nni_search_schedule *sch, const nn_search *s, FILE *log,
                            const volatile sig_atomic_t *stop_flag, int world_size,
                            int n_groups, nn_error *err)
{
    *sch = (nni_search_schedule){.s = s, .journal = {.fd = -1}, .dir_lock = -1,
                                 .log = log ? log : stdout, .stop_flag = stop_flag};
    nn_status st = nni_search_dir_open(s, &sch->table, &sch->journal, &sch->dir_lock, err);
    if (!st)
        say_start(sch, world_size, n_groups);
    return st;
}

void nni_schedule_check_signal(nni_search_schedule *sch)
{
    if (sch->stop_flag && *sch->stop_flag && !sch->stopping) {
        sch->stopping = 1;
        say(sch, "search: stopping on a signal; running trials checkpoint and stop\n");
    }
}

nn_status nni_schedule_finish(nni_search_schedule *sch, nn_status st, int final_test,
                              nn_search_outcome *outcome, nn_error *err)
{
    if (!sch->table.t)
        return st; /* the directory did not open */
    nni_journal_close(&sch->journal);
    if (!st && sch->failure) {
        st = sch->failure;
        *err = sch->failure_err;
    }
    if (st)
        return st;
    say(sch, "\n");
    nni_report_leaderboard(&sch->table, sch->log, 100);
    fill_outcome(sch, outcome);
    if (outcome->interrupted)
        say(sch, "search stopped with %d trial%s to go; run the same command again to resume "
                 "it\n", outcome->pending, outcome->pending == 1 ? "" : "s");
    else if (final_test)
        st = run_final_test(sch, err);
    return st;
}

void nni_schedule_close(nni_search_schedule *sch)
{
    nni_journal_close(&sch->journal);
    nni_dir_unlock(&sch->dir_lock);
    nni_trials_free(&sch->table);
}

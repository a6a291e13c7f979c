/* Running a search over MPI ranks. The world is split into groups of ranks_per_trial
 * consecutive ranks; each group trains one trial at a time with the data-parallel trainer on
 * its own communicator. World rank 0 coordinates:
 *
 *   - a group's leader (its first rank) sends rank 0 a report (the result of its last trial,
 *     or nothing on its first request) and waits for an assignment (a trial to run, or stop);
 *     it broadcasts the assignment to the rest of its group, and every rank of the group
 *     builds the same trial config from the search space and trains it;
 *   - rank 0 answers whoever asks first (trials go to groups as they free up), journals each
 *     start and end before acting on it, and rewrites trials.csv and best.yaml;
 *   - rank 0 also trains in group 0 (unless search.coordinator_trains is false) and serves
 *     the other groups between its own optimizer steps (nn_trainer_step) and while
 *     its group is idle.
 *
 * Control messages travel on a duplicate of the world communicator, so they never mix with
 * the trainer's collectives. Waits for control messages sleep between polls: a group waiting
 * for a halving rung to finish costs no CPU. A signal (SIGTERM, SIGUSR1, SIGINT) makes every
 * running trial checkpoint and stop; rank 0 then hands out no more trials and the search
 * ends, to be resumed by running the same command again. */
#define _GNU_SOURCE /* sched_getaffinity: the CPUs this rank may use */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/files.h"
#include "nn/ckpt.h"
#include "nn/trainer.h"
#include "parallel/parallel_internal.h"
#include "search/search_internal.h"

#define TAG_REPORT 7401
#define TAG_ASSIGN 7402
#define POLL_NS 2000000 /* 2 ms between polls of an idle wait */

typedef enum assign_kind { ASSIGN_RUN = 1, ASSIGN_STOP = 2 } assign_kind;

typedef struct assignment {
    int kind, trial, rung;
    int stop_after; /* pause after this many epochs (halving rungs before the last) */
    int resume;     /* continue from the trial's checkpoint */
} assignment;

typedef struct trial_report {
    int group, trial, rung; /* trial 0: no trial yet (a group's first request) */
    int status, paused, interrupted, epochs, best_epoch;
    double metric, seconds;
    char reason[SEARCH_REASON];
} trial_report;

/* Rank 0's state. */
typedef struct coordinator {
    nn_search *s;
    trial_table table;
    search_journal journal;
    MPI_Comm control;
    int n_groups, own_group; /* own_group: -1 when rank 0 does not train */
    int *waiting;            /* the group asked for work and has no answer yet */
    int *stopped;            /* the group was told to stop */
    FILE *log;
    const volatile sig_atomic_t *stop_flag;
    int stopping;
    int rungs_open;          /* halving: highest rung any trial has reached */
    nn_status failure;       /* the coordinator's own failure (journal or table writes) */
    nn_error failure_err;
} coordinator;

/* What every rank of a group needs to train a trial. */
typedef struct worker {
    const nn_search *s;
    nn_comm group;
    int group_index;
    int threads;
    const volatile sig_atomic_t *stop_flag;
    coordinator *co; /* rank 0: serve the queue between optimizer steps */
} worker;

static void nap(void)
{
    struct timespec ts = {0, POLL_NS};
    nanosleep(&ts, NULL);
}

/* Completes a request, sleeping between polls (waits here can last a whole trial). */
static void wait_idle(MPI_Request *request)
{
    int done = 0;
    for (;;) {
        MPI_Test(request, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        nap();
    }
}

/* ---- layout ------------------------------------------------------------------------------ */

nn_status search_layout(const nn_search *s, int world_size, int *n_groups, nn_error *err)
{
    int trainers = s->coordinator_trains ? world_size : world_size - 1;
    const nn_cfg *node = nn_cfg_lookup(s->cfg, "search.ranks_per_trial");
    if (trainers < 1)
        return nn_fail(err, NN_ERR_CONFIG, "search.coordinator_trains: false leaves no rank to "
                       "train in a world of %d rank%s; run more ranks (mpirun -np N)", world_size,
                       world_size == 1 ? "" : "s");
    if (trainers % s->ranks_per_trial != 0) {
        char what[200];
        snprintf(what, sizeof what, "%d does not divide the %d rank%s that train (world of "
                 "%d%s); choose a divisor or another -np", s->ranks_per_trial, trainers,
                 trainers == 1 ? "" : "s", world_size,
                 s->coordinator_trains ? "" : ", rank 0 only coordinates");
        if (node)
            return nn_cfg_fail(err, node, "%s", what);
        return nn_fail(err, NN_ERR_CONFIG, "search.ranks_per_trial: %s", what);
    }
    *n_groups = trainers / s->ranks_per_trial;
    return NN_OK;
}

int search_group_first_rank(const nn_search *s, int group)
{
    return (s->coordinator_trains ? 0 : 1) + group * s->ranks_per_trial;
}

/* The group of a world rank; n_groups for a coordinator that does not train. */
static int group_of(const nn_search *s, int world_rank, int n_groups)
{
    if (!s->coordinator_trains && world_rank == 0)
        return n_groups;
    return (world_rank - (s->coordinator_trains ? 0 : 1)) / s->ranks_per_trial;
}

/* Threads per rank: the CPUs of this node divided among all the search's ranks on it
 * (a trial's group alone would count too few and oversubscribe the cores). */
static int threads_per_rank(void)
{
    cpu_set_t set;
    int cpus = 1, on_node = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cpus = CPU_COUNT(&set);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &on_node);
        MPI_Comm_free(&node);
    }
    return cpus / on_node > 1 ? cpus / on_node : 1;
}

/* ---- running one trial (every rank of a group) ------------------------------------------ */

static void serve(coordinator *co);

/* Trains the trial one optimizer step at a time; rank 0 (w->co) answers the other groups
 * between its own steps, so that they never wait for its trial to end. */
static nn_status train_serving(const worker *w, const nn_cfg *cfg, const nn_train_options *opts,
                               nn_train_result *result, nn_error *err)
{
    nn_trainer *trainer = NULL;
    nn_status st = nn_trainer_open(cfg, &w->group, opts, &trainer, err);
    while (!st && !nn_trainer_done(trainer)) {
        st = nn_trainer_step(trainer, err);
        if (w->co)
            serve(w->co);
    }
    if (!st)
        st = nn_trainer_finish(trainer, err);
    nn_trainer_close(trainer, result);
    return st;
}

static void run_trial(worker *w, const assignment *a, trial_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->group = w->group_index;
    rep->trial = a->trial;
    rep->rung = a->rung;
    rep->metric = NAN;
    char run_dir[600];
    snprintf(run_dir, sizeof run_dir, "%s/trial-%03d", w->s->dir, a->trial);
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    double started = nn_clock_seconds();
    nn_status st = search_build_config(w->s, a->trial, &cfg, &err);
    if (!st) {
        nn_train_options opts = {
            .run_dir = run_dir, .resume_dir = a->resume ? run_dir : NULL, .quiet = 1,
            .progress = 0, .skip_test = 1, .metric = w->s->metric,
            .metric_maximize = w->s->maximize, .stop_flag = w->stop_flag,
            .stop_after_epochs = a->stop_after, .threads = w->threads};
        nn_train_result result;
        st = train_serving(w, cfg, &opts, &result, &err);
        rep->paused = result.paused;
        rep->interrupted = result.stopped_by_signal;
        rep->epochs = result.epochs_run;
        rep->best_epoch = result.best_epoch;
        rep->metric = result.best_metric;
    }
    nn_cfg_free(cfg);
    rep->seconds = nn_clock_seconds() - started;
    /* The group agrees on the outcome (an error on one rank fails the trial). */
    int code = (int)st;
    nn_comm_max_int(&w->group, &code);
    rep->status = code;
    if (code && !st)
        snprintf(rep->reason, sizeof rep->reason, "another rank of the group failed (exit "
                 "status %d); see %.500s/log.txt", code, run_dir);
    else if (code)
        snprintf(rep->reason, sizeof rep->reason, "%.590s", err.msg);
}

/* ---- rank 0: recording ----------------------------------------------------------------- */

static void say(coordinator *co, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(coordinator *co, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(co->log, fmt, ap);
    va_end(ap);
    fflush(co->log);
}

static void note_promotions(coordinator *co)
{
    const nn_search *s = co->s;
    int highest = 0;
    for (int i = 0; i < co->table.n; i++)
        if (co->table.t[i].rung > highest)
            highest = co->table.t[i].rung;
    while (co->rungs_open < highest) {
        int k = ++co->rungs_open;
        char list[512] = "";
        size_t used = 0;
        int count = 0;
        for (int i = 0; i < co->table.n; i++)
            if (co->table.t[i].rung >= k) {
                count++;
                if (used < sizeof list - 16)
                    used += (size_t)snprintf(list + used, sizeof list - used, "%s%d",
                                             used ? ", " : "", i + 1);
            }
        say(co, "rung %d of %d (epoch %d) done: %d trial%s continue%s to epoch %d (trial%s "
                "%s)\n", k, s->n_rungs, s->rung_epochs[k - 1], count, count == 1 ? "" : "s",
            count == 1 ? "s" : "", s->rung_epochs[k], count == 1 ? "" : "s", list);
    }
}

/* Journals the event first, then updates the table and the files. */
static void record(coordinator *co, const search_event *e)
{
    if (co->failure)
        return;
    nn_status st = journal_append(&co->journal, e, &co->failure_err);
    if (!st) {
        trials_apply(&co->table, e);
        st = report_write_files(&co->table, co->s->dir, &co->failure_err);
    }
    if (st) {
        co->failure = st;
        co->stopping = 1;
    }
}

static void record_result(coordinator *co, const trial_report *rep)
{
    const nn_search *s = co->s;
    search_event e = {.kind = EVENT_END, .trial = rep->trial, .rung = rep->rung,
                      .group = rep->group, .status = rep->status, .paused = rep->paused,
                      .epochs = rep->epochs, .best_epoch = rep->best_epoch,
                      .metric = rep->metric, .seconds = rep->seconds};
    snprintf(e.reason, sizeof e.reason, "%s", rep->reason);
    if (rep->status) {
        e.outcome = OUTCOME_FAILED;
    } else if (rep->interrupted) {
        e.outcome = OUTCOME_INTERRUPTED;
        co->stopping = 1; /* a signal reached the group: the job is being stopped */
    } else if (!isfinite(rep->metric)) {
        e.outcome = OUTCOME_FAILED;
        e.status = NN_ERR_NUMERIC;
        snprintf(e.reason, sizeof e.reason, "%s is %g after %d epoch%s", s->metric,
                 rep->metric, rep->epochs, rep->epochs == 1 ? "" : "s");
    } else {
        e.outcome = OUTCOME_OK;
    }
    record(co, &e);
    char head[64];
    snprintf(head, sizeof head, "trial %d/%d (group %d)", rep->trial, s->n_trials, rep->group);
    if (e.outcome == OUTCOME_FAILED)
        say(co, "%s failed (%s): %s\n", head, report_failure_kind(e.status), e.reason);
    else if (e.outcome == OUTCOME_INTERRUPTED)
        say(co, "%s stopped by a signal after a checkpoint; it continues when the search "
                "resumes\n", head);
    else
        say(co, "%s %s: %s %.4f (best epoch %d of %d, %.1f s)\n", head,
            rep->paused ? "reached its rung" : "finished", s->metric, rep->metric,
            rep->best_epoch, rep->epochs, rep->seconds);
    note_promotions(co);
}

/* ---- rank 0: choosing the next trial --------------------------------------------------- */

/* Epochs a trial trains to at a rung: the rung's, or the trial config's own. */
static int rung_target(const coordinator *co, int trial, int rung, int *early_patience)
{
    const nn_search *s = co->s;
    nn_cfg *cfg = NULL;
    nn_error ignored = {0};
    int64_t epochs = 10, patience = -1;
    if (search_build_config(s, trial, &cfg, &ignored) == NN_OK) {
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

/* A trial whose checkpoint already holds the rung's result (the job ended after the trial
 * finished and before its result was journaled) is recorded from the checkpoint. */
static int recover_result(coordinator *co, int trial, int rung, int group)
{
    const nn_search *s = co->s;
    char path[700];
    snprintf(path, sizeof path, "%s/trial-%03d/last.h5", s->dir, trial);
    if (access(path, F_OK) != 0)
        return 0;
    nn_ckpt_meta meta;
    nn_error ignored = {0};
    if (nn_ckpt_read_meta(path, &meta, &ignored) != NN_OK)
        return 0;
    int patience;
    int target = rung_target(co, trial, rung, &patience);
    int done = meta.step == 0 && meta.epoch >= target;
    int stopped_early = meta.step == 0 && meta.epoch > 0 && !done && patience >= 0 &&
                        meta.early_bad_epochs > patience;
    if (done || stopped_early) {
        search_event e = {.kind = EVENT_END, .trial = trial, .rung = rung, .group = group,
                          .outcome = OUTCOME_OK, .paused = done && rung < s->n_rungs - 1,
                          .epochs = meta.epoch, .metric = NAN};
        int from = rung > 0 ? s->rung_epochs[rung - 1] : 0;
        int best = nn_history_best(meta.history, meta.n_history, s->metric, s->maximize);
        if (best >= 0) {
            e.metric = nn_epoch_record_metric(&meta.history[best], s->metric);
            e.best_epoch = meta.history[best].epoch;
        }
        for (int i = 0; i < meta.n_history; i++)
            if (meta.history[i].epoch > from)
                e.seconds += meta.history[i].seconds;
        say(co, "trial %d/%d: its checkpoint already holds epoch %d; recording the result the "
                "interrupted search did not\n", trial, s->n_trials, meta.epoch);
        record(co, &e);
    }
    nn_ckpt_meta_free(&meta);
    return done || stopped_early;
}

static int has_checkpoint(const char *run_dir)
{
    char path[700];
    nn_error ignored = {0};
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

/* 1: run *a; 0: nothing to run yet (halving: a rung is still training); -1: stop. */
static int choose(coordinator *co, int group, assignment *a)
{
    const nn_search *s = co->s;
    note_promotions(co);
    while (!co->stopping && !co->failure) {
        int trial = 0, rung = 0;
        int next = trials_next(&co->table, &trial, &rung);
        if (next <= 0)
            return next;
        trial_record *r = &co->table.t[trial - 1];
        if (r->open_starts > s->max_restarts) {
            search_event e = {.kind = EVENT_END, .trial = trial, .rung = rung, .group = r->group,
                              .outcome = OUTCOME_FAILED, .status = NN_ERR_OTHER,
                              .metric = NAN};
            snprintf(e.reason, sizeof e.reason, "the search ended %d times while this trial "
                     "was training (search.max_restarts: %d); see %.400s/trial-%03d/log.txt",
                     r->open_starts, s->max_restarts, s->dir, trial);
            record(co, &e);
            say(co, "trial %d/%d failed (%s): %s\n", trial, s->n_trials,
                report_failure_kind(e.status), e.reason);
            continue;
        }
        if (recover_result(co, trial, rung, group))
            continue;
        char run_dir[600];
        snprintf(run_dir, sizeof run_dir, "%s/trial-%03d", s->dir, trial);
        *a = (assignment){.kind = ASSIGN_RUN, .trial = trial, .rung = rung,
                          .stop_after = rung < s->n_rungs - 1 ? s->rung_epochs[rung] : 0,
                          .resume = has_checkpoint(run_dir)};
        search_event e = {.kind = EVENT_START, .trial = trial, .rung = rung, .group = group};
        record(co, &e);
        if (co->failure)
            break;
        char params[1024];
        nn_search_describe_trial(s, trial, params, sizeof params);
        char rung_note[64] = "";
        if (s->n_rungs > 1)
            snprintf(rung_note, sizeof rung_note, ", to epoch %d", s->rung_epochs[rung]);
        say(co, "trial %d/%d (group %d%s%s): %s\n", trial, s->n_trials, group, rung_note,
            a->resume ? ", from its checkpoint" : "", params);
        return 1;
    }
    return -1;
}

/* ---- rank 0: serving the groups -------------------------------------------------------- */

static void dispatch(coordinator *co)
{
    for (int g = 0; g < co->n_groups; g++) {
        if (!co->waiting[g] || g == co->own_group)
            continue;
        assignment a = {.kind = ASSIGN_STOP};
        int next = choose(co, g, &a);
        if (next == 0)
            continue; /* keeps waiting for a rung to finish */
        if (next < 0) {
            a.kind = ASSIGN_STOP;
            co->stopped[g] = 1;
        }
        co->waiting[g] = 0;
        MPI_Send(&a, (int)sizeof a, MPI_BYTE, search_group_first_rank(co->s, g), TAG_ASSIGN,
                 co->control);
    }
}

static void serve(coordinator *co)
{
    if (co->stop_flag && *co->stop_flag && !co->stopping) {
        co->stopping = 1;
        say(co, "search: stopping on a signal; running trials checkpoint and stop\n");
    }
    for (;;) {
        int pending = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, co->control, &pending, &status);
        if (!pending)
            break;
        trial_report rep;
        MPI_Recv(&rep, (int)sizeof rep, MPI_BYTE, status.MPI_SOURCE, TAG_REPORT, co->control,
                 MPI_STATUS_IGNORE);
        if (rep.trial > 0)
            record_result(co, &rep);
        if (rep.group >= 0 && rep.group < co->n_groups)
            co->waiting[rep.group] = 1;
    }
    dispatch(co);
}

static int all_stopped(const coordinator *co)
{
    for (int g = 0; g < co->n_groups; g++)
        if (!co->stopped[g])
            return 0;
    return 1;
}

/* Broadcast of an assignment inside a group, from its leader. */
static void group_broadcast(const nn_comm *group, assignment *a)
{
    if (group->size == 1)
        return;
    MPI_Request request;
    MPI_Ibcast(a, (int)sizeof *a, MPI_BYTE, 0, nni_comm_mpi(group), &request);
    wait_idle(&request);
}

static void coordinator_loop(coordinator *co, worker *w)
{
    if (co->own_group >= 0) {
        for (;;) {
            serve(co);
            assignment a = {.kind = ASSIGN_STOP};
            int next = choose(co, co->own_group, &a);
            if (next == 0) {
                nap();
                continue;
            }
            if (next < 0)
                a.kind = ASSIGN_STOP;
            group_broadcast(&w->group, &a);
            if (a.kind == ASSIGN_STOP)
                break;
            trial_report rep;
            run_trial(w, &a, &rep);
            record_result(co, &rep);
        }
        co->stopped[co->own_group] = 1;
    }
    while (!all_stopped(co)) {
        serve(co);
        if (!all_stopped(co))
            nap();
    }
}

static void leader_loop(worker *w, MPI_Comm control)
{
    trial_report rep = {.group = w->group_index, .trial = 0};
    for (;;) {
        MPI_Request request;
        MPI_Isend(&rep, (int)sizeof rep, MPI_BYTE, 0, TAG_REPORT, control, &request);
        wait_idle(&request);
        assignment a;
        MPI_Irecv(&a, (int)sizeof a, MPI_BYTE, 0, TAG_ASSIGN, control, &request);
        wait_idle(&request);
        group_broadcast(&w->group, &a);
        if (a.kind != ASSIGN_RUN)
            return;
        run_trial(w, &a, &rep);
    }
}

static void member_loop(worker *w)
{
    for (;;) {
        assignment a;
        group_broadcast(&w->group, &a);
        if (a.kind != ASSIGN_RUN)
            return;
        trial_report rep;
        run_trial(w, &a, &rep);
    }
}

/* ---- rank 0: the search directory ------------------------------------------------------ */

static void visit_event(void *ctx, const search_event *e)
{
    trials_apply(ctx, e);
}

/* Refuses a directory whose journal belongs to another search, naming the first change. */
static nn_status check_same_search(const nn_search *s, const char *header, nn_error *err)
{
    char expected[512];
    journal_header(s, expected, sizeof expected);
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
            search_first_difference(nn_cfg_get(old, "search"), nn_cfg_get(s->cfg, "search"),
                                    not_space, diff, sizeof diff);
        else
            search_first_difference(old, s->cfg, not_base, diff, sizeof diff);
    }
    nn_cfg_free(old);
    return nn_fail(err, NN_ERR_CONFIG, "search: %s holds a search with a different %s%s%.700s%s;"
                   " run the original config to resume it, or set search.dir for a new search",
                   s->dir, space_changed ? "search space" : "base config", diff[0] ? " (" : "",
                   diff, diff[0] ? ")" : "");
}

static nn_status open_directory(coordinator *co, nn_error *err)
{
    nn_search *s = co->s;
    if (nn_make_dirs(s->dir) != 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create the search directory: %s", s->dir,
                       strerror(errno));
    char path[700], header[512];
    snprintf(path, sizeof path, "%s/journal", s->dir);
    nn_status st = trials_init(&co->table, s, err);
    if (st)
        return st;
    if (access(path, F_OK) == 0) {
        char found[512];
        if ((st = journal_read(path, found, sizeof found, NULL, NULL, err)))
            return st;
        if (found[0] && (st = check_same_search(s, found, err)))
            return st;
        if (found[0] && (st = journal_read(path, found, sizeof found, visit_event, &co->table,
                                           err)))
            return st;
    }
    /* search.yaml before the journal: a journal always has its space next to it. */
    char *yaml = nn_cfg_to_yaml(s->cfg);
    char yaml_path[700];
    snprintf(yaml_path, sizeof yaml_path, "%s/search.yaml", s->dir);
    st = yaml ? nn_write_file_atomic(yaml_path, yaml, strlen(yaml), err)
              : nn_fail(err, NN_ERR_OTHER, "out of memory");
    free(yaml);
    journal_header(s, header, sizeof header);
    if (!st)
        st = journal_open(path, header, &co->journal, err);
    if (!st)
        st = report_write_files(&co->table, s->dir, err);
    co->table.live = 1;
    return st;
}

static void say_start(coordinator *co, int world_size)
{
    const nn_search *s = co->s;
    int counts[TRIAL_FAILED + 1];
    trials_count(&co->table, counts);
    int done = counts[TRIAL_FINISHED] + counts[TRIAL_FAILED] + counts[TRIAL_PRUNED];
    say(co, "search %s: %s, %d trial%s, %d group%s of %d rank%s (world %d)%s; metric %s (%s)\n",
        s->dir, search_method_name(s), s->n_trials, s->n_trials == 1 ? "" : "s", co->n_groups,
        co->n_groups == 1 ? "" : "s", s->ranks_per_trial, s->ranks_per_trial == 1 ? "" : "s",
        world_size, s->coordinator_trains ? "" : ", rank 0 coordinates only", s->metric,
        s->maximize ? "maximize" : "minimize");
    if (done || counts[TRIAL_STARTED] || counts[TRIAL_WAITING])
        say(co, "resuming: %d of %d trials done (%d finished, %d failed%s), %d to continue from "
                "their checkpoints\n", done, s->n_trials, counts[TRIAL_FINISHED],
            counts[TRIAL_FAILED], counts[TRIAL_PRUNED] ? ", some pruned" : "",
            counts[TRIAL_STARTED]);
    for (int i = 0; i < co->table.n; i++)
        if (co->table.t[i].rung > co->rungs_open)
            co->rungs_open = co->table.t[i].rung;
}

/* ---- the final test -------------------------------------------------------------------- */

static nn_status final_test(coordinator *co, nn_error *err)
{
    const nn_search *s = co->s;
    int best = trials_best(&co->table);
    if (!best)
        return nn_fail(err, NN_ERR_OTHER, "--final-test: no finished trial to test");
    nn_cfg *cfg = NULL;
    nn_status st = search_build_config(s, best, &cfg, err);
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
    char path[700];
    snprintf(path, sizeof path, "%s/trial-%03d/best.h5", s->dir, best);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof path, "%s/trial-%03d/last.h5", s->dir, best);
    double loss, accuracy;
    int64_t samples;
    if ((st = nn_evaluate_checkpoint(path, split_name, NULL, &loss, &accuracy, &samples, err)))
        return st;
    if (isnan(accuracy))
        say(co, "final test of trial %d (%s) on /%s: loss %.4f (%lld samples)\n", best, path,
            split_name, loss, (long long)samples);
    else
        say(co, "final test of trial %d (%s) on /%s: loss %.4f  accuracy %.4f  (%lld samples)\n",
            best, path, split_name, loss, accuracy, (long long)samples);
    return NN_OK;
}

static void fill_outcome(const coordinator *co, nn_search_outcome *out)
{
    int counts[TRIAL_FAILED + 1];
    trials_count(&co->table, counts);
    out->trials = co->table.n;
    out->finished = counts[TRIAL_FINISHED];
    out->failed = counts[TRIAL_FAILED];
    out->pending = co->table.n - counts[TRIAL_FINISHED] - counts[TRIAL_FAILED] -
                   counts[TRIAL_PRUNED];
    out->best_trial = trials_best(&co->table);
    out->best_metric = out->best_trial ? trials_metric(&co->table, out->best_trial, NULL, NULL)
                                       : NAN;
    out->interrupted = co->stopping && out->pending > 0;
    for (int i = 0; i < co->table.n && !out->first_failure; i++)
        if (co->table.t[i].state == TRIAL_FAILED)
            out->first_failure = (nn_status)co->table.t[i].status;
}

/* ---- the whole search -------------------------------------------------------------------- */

/* Rank 0's status (and message) reaches every rank. */
static nn_status agree(const nn_comm *world, nn_status st, nn_error *err)
{
    struct {
        int status;
        char msg[sizeof err->msg];
    } shared = {0};
    if (world->rank == 0) {
        shared.status = (int)st;
        if (st)
            memcpy(shared.msg, err->msg, sizeof shared.msg);
    }
    if (world->size > 1) {
        MPI_Request request;
        MPI_Ibcast(&shared, (int)sizeof shared, MPI_BYTE, 0, nni_comm_mpi(world), &request);
        wait_idle(&request);
    }
    if (world->rank != 0 && shared.status)
        nn_fail(err, (nn_status)shared.status, "%s", shared.msg);
    return (nn_status)shared.status;
}

nn_status nn_search_run(nn_search *s, const nn_comm *world, const nn_search_options *opts,
                        nn_search_outcome *outcome, nn_error *err)
{
    memset(outcome, 0, sizeof *outcome);
    outcome->best_metric = NAN;
    int n_groups = 0;
    nn_status st = search_layout(s, world->size, &n_groups, err);
    if (st)
        return st; /* the same on every rank */
    coordinator co = {.s = s, .n_groups = n_groups, .journal = {.fd = -1},
                      .log = opts && opts->log ? opts->log : stdout,
                      .stop_flag = opts ? opts->stop_flag : NULL,
                      .own_group = s->coordinator_trains ? 0 : -1, .rungs_open = 0};
    if (world->rank == 0) {
        co.waiting = calloc((size_t)n_groups, sizeof *co.waiting);
        co.stopped = calloc((size_t)n_groups, sizeof *co.stopped);
        st = co.waiting && co.stopped ? open_directory(&co, err)
                                      : nn_fail(err, NN_ERR_OTHER, "out of memory");
        if (!st)
            say_start(&co, world->size);
    }
    st = agree(world, st, err);
    worker w = {.s = s, .threads = threads_per_rank(),
                .stop_flag = opts ? opts->stop_flag : NULL};
    w.group_index = group_of(s, world->rank, n_groups);
    if (!st)
        st = nn_comm_split(world, w.group_index, &w.group, err);
    MPI_Comm control = MPI_COMM_NULL;
    if (!st && MPI_Comm_dup(nni_comm_mpi(world), &control) != MPI_SUCCESS)
        st = nn_fail(err, NN_ERR_OTHER, "MPI_Comm_dup failed");
    if (!st) {
        co.control = control;
        if (world->rank == 0) {
            w.co = &co;
            coordinator_loop(&co, &w);
        } else if (w.group.rank == 0) {
            leader_loop(&w, control);
        } else {
            member_loop(&w);
        }
    }
    if (control != MPI_COMM_NULL)
        MPI_Comm_free(&control);
    if (!st)
        nn_comm_free(&w.group);
    if (world->rank == 0 && co.table.t) {
        journal_close(&co.journal);
        if (!st && co.failure) {
            st = co.failure;
            *err = co.failure_err;
        }
        if (!st) {
            say(&co, "\n");
            report_leaderboard(&co.table, co.log, 100);
            fill_outcome(&co, outcome);
            if (outcome->interrupted)
                say(&co, "search stopped with %d trial%s to go; run the same command again to "
                         "resume it\n", outcome->pending, outcome->pending == 1 ? "" : "s");
            else if (opts && opts->final_test)
                st = final_test(&co, err);
        }
    }
    if (world->rank == 0)
        trials_free(&co.table);
    free(co.waiting);
    free(co.stopped);
    return agree(world, st, err);
}

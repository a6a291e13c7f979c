/* Running a search over MPI ranks. The world is split into groups of ranks_per_trial
 * consecutive ranks; each group trains one trial at a time with the data-parallel trainer on
 * its own communicator. World rank 0 coordinates:
 *
 *   - a group's leader (its first rank) sends rank 0 a report (the result of its last trial,
 *     or nothing on its first request) and waits for an assignment (a trial to run, or stop);
 *     it broadcasts the assignment to the rest of its group, and every rank of the group
 *     builds the same trial config from the search space and trains it;
 *   - rank 0 answers whoever asks first (trials go to groups as they free up); what it
 *     answers, and the records it keeps of each start and end, are the schedule's
 *     (src/search/schedule.c);
 *   - rank 0 also trains in group 0 (unless search.coordinator_trains is false) and serves
 *     the other groups between its own optimizer steps (nn_trainer_step) and while
 *     its group is idle.
 *
 * Control messages travel on a duplicate of the world communicator, so they never mix with
 * the trainer's collectives. Waits for control messages sleep between polls: a group waiting
 * for a rung to finish (successive halving) costs no CPU. A signal (SIGTERM, SIGUSR1,
 * SIGINT) makes every running trial checkpoint and stop; rank 0 then hands out no more
 * trials and the search ends, to be resumed by running the same command again. */
#define _GNU_SOURCE /* sched_getaffinity: the CPUs this rank may use */
#include <math.h>
#include <mpi.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "nn/trainer.h"
#include "parallel/parallel_internal.h"
#include "search/coordinator.h"
#include "search/directory.h"
#include "search/schedule.h"

#define TAG_REPORT 7401
#define TAG_ASSIGN 7402
#define POLL_NS 2000000 /* 2 ms between polls of an idle wait */

/* Rank 0's state: the schedule (what runs next, the records) and the groups' requests. */
typedef struct coordinator {
    nni_search_schedule schedule;
    MPI_Comm control;
    int n_groups, own_group; /* own_group: -1 when rank 0 does not train */
    int *waiting;            /* the group asked for work and has no answer yet */
    int *stopped;            /* the group was told to stop */
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

nn_status nni_search_layout(const nn_search *s, int world_size, int *n_groups, nn_error *err)
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

int nni_search_group_first_rank(const nn_search *s, int group)
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

static void run_trial(worker *w, const nni_trial_assignment *a, nni_trial_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->group = w->group_index;
    rep->trial = a->trial;
    rep->rung = a->rung;
    rep->metric = NAN;
    char run_dir[600];
    nni_trial_run_dir(w->s, a->trial, run_dir, sizeof run_dir);
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    double started = nni_clock_seconds();
    if (a->n_values) /* values rank 0 decided from results */
        nni_search_proposals_install(w->s, nni_search_config_of(w->s, a->trial),
                                     a->value_index, a->value_text);
    nn_status st = nni_search_build_config(w->s, a->trial, &cfg, &err);
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
    rep->seconds = nni_clock_seconds() - started;
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

/* ---- rank 0: serving the groups -------------------------------------------------------- */

static void dispatch(coordinator *co)
{
    for (int g = 0; g < co->n_groups; g++) {
        if (!co->waiting[g] || g == co->own_group)
            continue;
        nni_trial_assignment a = {.kind = ASSIGN_STOP};
        int next = nni_schedule_choose(&co->schedule, g, &a);
        if (next == 0)
            continue; /* keeps waiting for a rung to finish */
        if (next < 0) {
            a.kind = ASSIGN_STOP;
            co->stopped[g] = 1;
        }
        co->waiting[g] = 0;
        MPI_Send(&a, (int)sizeof a, MPI_BYTE, nni_search_group_first_rank(co->schedule.s, g),
                 TAG_ASSIGN, co->control);
    }
}

static void serve(coordinator *co)
{
    nni_schedule_check_signal(&co->schedule);
    for (;;) {
        int pending = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, co->control, &pending, &status);
        if (!pending)
            break;
        nni_trial_report rep;
        MPI_Recv(&rep, (int)sizeof rep, MPI_BYTE, status.MPI_SOURCE, TAG_REPORT, co->control,
                 MPI_STATUS_IGNORE);
        if (rep.trial > 0)
            nni_schedule_record_result(&co->schedule, &rep);
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
static void group_broadcast(const nn_comm *group, nni_trial_assignment *a)
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
            nni_trial_assignment a = {.kind = ASSIGN_STOP};
            int next = nni_schedule_choose(&co->schedule, co->own_group, &a);
            if (next == 0) {
                nap();
                continue;
            }
            if (next < 0)
                a.kind = ASSIGN_STOP;
            group_broadcast(&w->group, &a);
            if (a.kind == ASSIGN_STOP)
                break;
            nni_trial_report rep;
            run_trial(w, &a, &rep);
            nni_schedule_record_result(&co->schedule, &rep);
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
    nni_trial_report rep = {.group = w->group_index, .trial = 0};
    for (;;) {
        MPI_Request request;
        MPI_Isend(&rep, (int)sizeof rep, MPI_BYTE, 0, TAG_REPORT, control, &request);
        wait_idle(&request);
        nni_trial_assignment a;
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
        nni_trial_assignment a;
        group_broadcast(&w->group, &a);
        if (a.kind != ASSIGN_RUN)
            return;
        nni_trial_report rep;
        run_trial(w, &a, &rep);
    }
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
    nn_status st = nni_search_layout(s, world->size, &n_groups, err);
    if (st)
        return st; /* the same on every rank */
    coordinator co = {.n_groups = n_groups, .own_group = s->coordinator_trains ? 0 : -1,
                      .schedule = {.journal = {.fd = -1}, .dir_lock = -1}};
    if (world->rank == 0) {
        co.waiting = calloc((size_t)n_groups, sizeof *co.waiting);
        co.stopped = calloc((size_t)n_groups, sizeof *co.stopped);
        st = co.waiting && co.stopped
                 ? nni_schedule_open(&co.schedule, s, opts ? opts->log : NULL,
                                     opts ? opts->stop_flag : NULL, world->size, n_groups, err)
                 : nn_fail(err, NN_ERR_OTHER, "out of memory");
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
    if (world->rank == 0) {
        st = nni_schedule_finish(&co.schedule, st, opts && opts->final_test, outcome, err);
        nni_schedule_close(&co.schedule);
    }
    free(co.waiting);
    free(co.stopped);
    return agree(world, st, err);
}

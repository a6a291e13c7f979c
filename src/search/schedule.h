/* Rank 0's decisions in a running search (src/search/schedule.c), apart from the MPI
 * protocol that carries them (src/search/coordinator.c): which trial a free group runs
 * next, recording each start and result (the journal first, then the trial table and the
 * files), the messages that tell the search's progress, and the end of the search. */
#ifndef NNI_SEARCH_SCHEDULE_H
#define NNI_SEARCH_SCHEDULE_H

#include <signal.h>
#include <stdio.h>

#include "search/journal.h"
#include "search/trials.h"

typedef enum assignment_kind { ASSIGN_RUN = 1, ASSIGN_STOP = 2 } assignment_kind;

/* What rank 0 tells a group (a message of the protocol, sent as bytes). */
typedef struct nni_trial_assignment {
    int kind, trial, rung;
    int stop_after; /* pause after this many epochs (rungs before the last) */
    int resume;     /* continue from the trial's checkpoint */
    /* Values rank 0 decided from results (bayes; n_values 0 for other methods). */
    int n_values;
    int value_index[SEARCH_MAX_DECIDED];
    char value_text[SEARCH_MAX_DECIDED][SEARCH_VALUE_TEXT];
} nni_trial_assignment;

/* What a group tells rank 0 after a trial (a message of the protocol, sent as bytes). */
typedef struct nni_trial_report {
    int group, trial, rung; /* trial 0: no trial yet (a group's first request) */
    int status, paused, interrupted, epochs, best_epoch;
    double metric, seconds;
    char reason[SEARCH_REASON];
} nni_trial_report;

typedef struct nni_search_schedule {
    const nn_search *s;
    nni_trial_table table;
    nni_search_journal journal;
    int dir_lock; /* the search directory's lock (core/dir_lock.h), -1 when none */
    FILE *log;
    const volatile sig_atomic_t *stop_flag;
    int stopping;      /* a signal came, or the schedule failed: no more trials */
    int rungs_open;    /* highest rung any trial has reached (for the promotion messages) */
    nn_status failure; /* the schedule's own failure (journal or file writes) */
    nn_error failure_err;
} nni_search_schedule;

/* Opens (or resumes) the search directory and says how the search starts. */
nn_status nni_schedule_open(nni_search_schedule *sch, const nn_search *s, FILE *log,
                            const volatile sig_atomic_t *stop_flag, int world_size,
                            int n_groups, nn_error *err);
/* Notices a signal: running trials checkpoint and stop, no new trial starts. */
void nni_schedule_check_signal(nni_search_schedule *sch);
/* The next assignment of a group: 1 run *a; 0 nothing to run yet (a rung is still
 * training); -1 stop. The start is journaled before it returns. */
int nni_schedule_choose(nni_search_schedule *sch, int group, nni_trial_assignment *a);
/* Records a group's result. */
void nni_schedule_record_result(nni_search_schedule *sch, const nni_trial_report *rep);
/* The end of the search on rank 0: the leaderboard, the outcome and the final test. st is
 * the search's status so far; returns it, or the schedule's failure or the test's. */
nn_status nni_schedule_finish(nni_search_schedule *sch, nn_status st, int final_test,
                              nn_search_outcome *outcome, nn_error *err);
void nni_schedule_close(nni_search_schedule *sch);

#endif

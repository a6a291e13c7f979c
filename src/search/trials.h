/* The state of every trial (src/search/trials.c), derived from the journal's events alone,
 * so a live search and a resumed one reach the same decisions. */
#ifndef NNI_SEARCH_TRIALS_H
#define NNI_SEARCH_TRIALS_H

#include "search/interval.h"
#include "search/journal.h"
#include "search/space.h"

typedef enum trial_state {
    TRIAL_PENDING,  /* not started, or to be continued from its checkpoint */
    TRIAL_STARTED,  /* started in an earlier run that ended while it trained */
    TRIAL_RUNNING,  /* training now */
    TRIAL_WAITING,  /* its rung done, the rung's decision is pending (rungs: halving) */
    TRIAL_FINISHED,
    TRIAL_PRUNED,   /* not promoted from its rung */
    TRIAL_FAILED,
} trial_state;

typedef struct nni_trial_record {
    /* Facts, from the events. */
    int has_result[SEARCH_MAX_RUNGS];
    double rung_metric[SEARCH_MAX_RUNGS];
    int rung_best_epoch[SEARCH_MAX_RUNGS], rung_epochs_run[SEARCH_MAX_RUNGS];
    int stopped_early; /* a rung ended before its epochs (early stopping): nothing to continue */
    int stopped_rung;  /* ... at this rung */
    int failed, failed_rung, status;
    char reason[SEARCH_REASON];
    int open_starts; /* starts since the last end: > 0 while running or after a lost job */
    int running;     /* started by this process and not ended */
    double seconds;
    int group;
    /* Derived. */
    trial_state state;
    int rung; /* the highest rung the trial belongs to */
    int last_result; /* rung of its latest result, -1 none */
} nni_trial_record;

typedef struct nni_trial_table {
    const nn_search *search;
    int n;
    nni_trial_record *t; /* trial k is t[k - 1] */
    int live;            /* events come from this process (else: replayed from the journal) */
    /* Set by the method's promote: the rungs whose promotions are decided. */
    int rung_decided[SEARCH_MAX_RUNGS];
} nni_trial_table;

nn_status nni_trials_init(nni_trial_table *table, const nn_search *s, nn_error *err);
void nni_trials_free(nni_trial_table *table);
/* Applies an event and derives every state again. */
void nni_trials_apply(nni_trial_table *table, const nni_search_event *event);
void nni_trials_derive(nni_trial_table *table);
/* The next trial to run, as the search's method decides (nni_search_method.next). */
int nni_trials_next(const nni_trial_table *table, int *trial, int *rung);
/* The lowest-rung trial not run yet: 1 with *trial and *rung set, -1 when none (the next
 * trial of a method whose results make no new work). */
int nni_trials_next_pending(const nni_trial_table *table, int *trial, int *rung);
/* Whether a trial of the table is training now. */
int nni_trials_any_running(const nni_trial_table *table);
/* Counts by state. */
void nni_trials_count(const nni_trial_table *table, int counts[TRIAL_FAILED + 1]);
/* The best finished trial (0: none; with repeats, the first finished repeat of the best
 * configuration) and the latest metric of a trial. */
int nni_trials_best(const nni_trial_table *table);
double nni_trials_metric(const nni_trial_table *table, int trial, int *best_epoch, int *epochs);
const char *nni_trials_state_name(trial_state state);
/* Trial ids ordered for the leaderboard: finished by metric, then the waiting and pruned
 * trials of rungs by rung and metric, then unfinished ones, then failed ones. */
void nni_trials_ranking(const nni_trial_table *table, int *order);

/* Configurations (trials grouped by their repeats, src/search/space.h). The metric of a
 * configuration is the mean of its finished trials' metrics, with their spread. */
nni_mean_interval nni_trials_config_interval(const nni_trial_table *table, int config);
/* Every repeat of the configuration finished or failed. */
int nni_trials_config_resolved(const nni_trial_table *table, int config);
/* The configuration with the best mean (0: none finished). */
int nni_trials_best_config(const nni_trial_table *table);
/* Configurations ordered for the leaderboard: those with a finished trial by mean, then
 * the others by number. */
void nni_trials_config_ranking(const nni_trial_table *table, int *order);

/* Whether metric a is better than b (a number beats NaN). */
int nni_search_better(double a, double b, int maximize);

#endif

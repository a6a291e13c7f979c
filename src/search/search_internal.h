/* State shared by the search's files: space.c (the search section, its parameters and the
 * trial configurations), journal.c (the append-only record of trial events), trials.c (the
 * state of every trial derived from the events, successive halving's promotions, which trial
 * runs next), report.c (trials.csv, best.yaml, the leaderboard), coordinator.c (groups of
 * ranks, rank 0 handing out trials) and surrogate.c (predictions from finished trials). */
#ifndef NN_SEARCH_INTERNAL_H
#define NN_SEARCH_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "nn/search.h"

#define SEARCH_MAX_RUNGS 16
#define SEARCH_REASON 600

/* ---- space.c ------------------------------------------------------------------------- */

typedef enum param_kind {
    PARAM_VALUES,      /* one of a list (grid: each in turn) */
    PARAM_UNIFORM,     /* min + (max - min) u */
    PARAM_LOG_UNIFORM, /* exp(log min + (log max - log min) u) */
    PARAM_INT_UNIFORM, /* an integer in [min, max] */
    PARAM_NORMAL,      /* mu + sigma z */
} param_kind;

typedef struct nni_search_param {
    const char *path;     /* the config key it sets, as written ("model.layers[2].units") */
    const nn_cfg *spec;   /* its entry in search.parameters, for messages */
    param_kind kind;
    const nn_cfg *values; /* PARAM_VALUES: the list */
    int n_values;
    double min, max, mu, sigma;
} nni_search_param;

typedef enum search_method { METHOD_GRID, METHOD_RANDOM, METHOD_HALVING } search_method;

struct nn_search {
    nn_cfg *cfg;  /* the whole config, search section included (owned) */
    nn_cfg *base; /* the config without its search section (owned) */
    search_method method;
    int random_draws; /* trials are random draws (random, or halving with `trials`) */
    char metric[32];
    int maximize;
    int n_trials;
    uint64_t seed;
    int ranks_per_trial, coordinator_trains, max_restarts;
    char dir[512];
    nni_search_param *params;
    int n_params;
    /* Rungs: epochs each rung trains to and how many trials it takes. Grid and random
     * searches have one rung (epochs 0: the trial's own train.epochs). */
    int n_rungs;
    int rung_epochs[SEARCH_MAX_RUNGS];
    int rung_size[SEARCH_MAX_RUNGS];
    int eta;
    uint64_t space_hash, base_hash;
};

const char *nni_search_method_name(const nn_search *s);
/* Parameter p's value in trial t (1-based): a new tree, freed with nn_cfg_free. */
nn_status nni_search_param_value(const nn_search *s, int p, int64_t t, nn_cfg **out, nn_error *err);
/* The same value as one line of text ("0.01", "[64, 32]", "{type: sgd}"). */
void nni_search_param_text(const nn_search *s, int p, int64_t t, char *out, size_t size);
/* A trial configuration for any trial number (also past n_trials: --predict's draws). */
nn_status nni_search_build_config(const nn_search *s, int64_t t, nn_cfg **out, nn_error *err);
/* One-line YAML flow text of a node. */
void nni_search_flow_text(const nn_cfg *node, char *out, size_t size);
/* The first place where two trees differ, skipping the keys `skip` of a and b's top map:
 * "search.parameters.train.optimizer.lr.max: 0.1 -> 0.2". 0 when equal. */
int nni_search_first_difference(const nn_cfg *a, const nn_cfg *b, const char *const *skip,
                                char *out, size_t size);

/* ---- journal.c ----------------------------------------------------------------------- */

typedef enum event_kind { EVENT_START = 's', EVENT_END = 'e' } event_kind;
typedef enum trial_outcome {
    OUTCOME_OK,          /* trained to its target (or stopped early by early stopping) */
    OUTCOME_FAILED,      /* an error: recorded with its status and reason, never retried */
    OUTCOME_INTERRUPTED, /* stopped by a signal after a checkpoint: continues on resume */
} trial_outcome;

typedef struct nni_search_event {
    event_kind kind;
    int trial, rung, group;
    /* EVENT_END: */
    trial_outcome outcome;
    int status; /* nn_status of a failure */
    int paused; /* stopped at the rung's epochs, to be continued if promoted */
    int epochs, best_epoch;
    double metric, seconds;
    char reason[SEARCH_REASON];
} nni_search_event;

typedef struct nni_search_journal {
    int fd;
    char path[600];
} nni_search_journal;

/* Reads every complete line; an unfinished last line (the job died while writing it) is
 * ignored. NN_ERR_DATA for a file that is not a journal. header receives the first line
 * ("" when the file holds no complete line). */
nn_status nni_journal_read(const char *path, char *header, size_t header_size,
                           void (*visit)(void *ctx, const nni_search_event *event), void *ctx,
                           nn_error *err);
/* Opens for appending (creating it with `header` when absent), cutting off an unfinished
 * last line first. */
nn_status nni_journal_open(const char *path, const char *header, nni_search_journal *j,
                           nn_error *err);
/* One line, written and fsync'ed before returning. */
nn_status nni_journal_append(nni_search_journal *j, const nni_search_event *event, nn_error *err);
void nni_journal_close(nni_search_journal *j);
/* The header line that identifies a search (method, trials, hashes). */
void nni_journal_header(const nn_search *s, char *out, size_t size);

/* ---- trials.c ------------------------------------------------------------------------ */

typedef enum trial_state {
    TRIAL_PENDING,  /* not started, or to be continued from its checkpoint */
    TRIAL_STARTED,  /* started in an earlier run that ended while it trained */
    TRIAL_RUNNING,  /* training now */
    TRIAL_WAITING,  /* halving: rung done, the rung's decision is pending */
    TRIAL_FINISHED,
    TRIAL_PRUNED,   /* halving: not among the best of its rung */
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
    int live;        /* events come from this process (else: replayed from the journal) */
} nni_trial_table;

nn_status nni_trials_init(nni_trial_table *table, const nn_search *s, nn_error *err);
void nni_trials_free(nni_trial_table *table);
/* Applies an event and derives every state again. */
void nni_trials_apply(nni_trial_table *table, const nni_search_event *event);
void nni_trials_derive(nni_trial_table *table);
/* The next trial to run: 1 with *trial and *rung set; 0 when nothing is runnable now but
 * running trials may still make some (halving rungs); -1 when nothing is left to run. */
int nni_trials_next(const nni_trial_table *table, int *trial, int *rung);
/* Counts by state. */
void nni_trials_count(const nni_trial_table *table, int counts[TRIAL_FAILED + 1]);
/* The best finished trial (0: none) and the latest metric of a trial. */
int nni_trials_best(const nni_trial_table *table);
double nni_trials_metric(const nni_trial_table *table, int trial, int *best_epoch, int *epochs);
const char *nni_trials_state_name(trial_state state);
/* Trial ids ordered for the leaderboard: finished by metric, then halving's waiting and
 * pruned trials by rung and metric, then unfinished ones, then failed ones. */
void nni_trials_ranking(const nni_trial_table *table, int *order);

/* ---- report.c ------------------------------------------------------------------------ */

/* Rewrites dir/trials.csv and dir/best.yaml atomically from the table. */
nn_status nni_report_write_files(const nni_trial_table *table, const char *dir, nn_error *err);
void nni_report_leaderboard(const nni_trial_table *table, FILE *out, int max_rows);
/* "config error", "data error", "numerical failure" or "error", from an nn_status. */
const char *nni_report_failure_kind(int status);
/* Writes text to path through a temporary file, fsync and rename. */

/* An aligned text table (leaderboard, plan, predictions). */
typedef struct nni_text_table {
    int rows, cols;
    char **cells; /* rows x cols, malloc'ed strings */
} nni_text_table;
int nni_text_table_alloc(nni_text_table *t, int rows, int cols); /* 0 when out of memory */
void nni_text_table_set(nni_text_table *t, int row, int col, const char *value);
/* Columns before `left_from` are right-aligned (numbers), the others left-aligned. */
void nni_text_table_print(const nni_text_table *t, int left_from, FILE *out);
void nni_text_table_free(nni_text_table *t);

/* ---- coordinator.c -------------------------------------------------------------------- */

/* Groups of ranks_per_trial consecutive ranks, from rank 0 (or from rank 1 when the
 * coordinator does not train). NN_ERR_CONFIG when the world does not divide into groups. */
nn_status nni_search_layout(const nn_search *s, int world_size, int *n_groups, nn_error *err);
int nni_search_group_first_rank(const nn_search *s, int group);

/* ---- shared by coordinator.c and the status/predict readers ---------------------------- */

/* Loads dir/search.yaml and replays dir/journal into a table (for --status, --predict). */
nn_status nni_search_load_dir(const char *dir, nn_search **search, nni_trial_table *table,
                              nn_error *err);

#endif

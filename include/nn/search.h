/* Hyperparameter search: the `search:` section of a config.
 *
 *   search:
 *     method: grid              # grid | random | halving | bayes
 *     metric: {name: val_accuracy, goal: maximize}
 *     trials: 20                # random (and halving over random draws): how many
 *     seed: 7                   # random draws (default: the config's seed)
 *     ranks_per_trial: 1        # the world is split into groups of this many ranks
 *     coordinator_trains: true  # rank 0 also trains in a group of its own
 *     dir: searches/lr          # default searches/<config name>
 *     min_epochs: 1             # halving: first rung
 *     eta: 3                    # halving: the best 1/eta of a rung continue
 *     max_epochs: 9             # halving: last rung (default train.epochs)
 *     initial: 3                # bayes: random configurations before the surrogate
 *     batch: 1                  # bayes: configurations decided together
 *     repeats: 5                # seeds per configuration (seed, seed + 1, ...)
 *     parameters:
 *       train.optimizer.lr: {distribution: log_uniform, min: 1.0e-4, max: 0.1}
 *       model.layers[0].units: {values: [64, 128]}
 *
 * Any config key is a parameter, including keys inside lists (`model.layers[2].units`) and
 * whole sections (`train.optimizer: {values: [{type: sgd, lr: 0.1}, {type: adam}]}`).
 * Trial k of a search is the same configuration on every rank and in every run: grid trials
 * are the cartesian product in the order written (the last parameter varies fastest), random
 * trials draw parameter p from the counter-based stream (seed, NNI_RNG_SEARCH, 0, k, p);
 * bayes decides each batch of configurations from the results of the trials before it.
 * With repeats: r, trial t is repeat (t - 1) % r (seed + that) of configuration
 * (t - 1) / r + 1, and the leaderboard and configs.csv rank configurations by their mean.
 *
 * The search directory holds `search.yaml` (the config the search started from), `journal`
 * (an append-only record of every trial start and end, each line fsync'ed), `trials.csv`
 * (one row per trial) and `best.yaml` (the winning trial's config), and trial-NNN/ run
 * directories. Re-running the same command resumes from the journal. */
#ifndef NN_SEARCH_H
#define NN_SEARCH_H

#include <signal.h>
#include <stdio.h>

#include "nn/config.h"
#include "nn/parallel.h"
#include "nn/error.h"

typedef struct nn_search nn_search;

/* Parses and checks the search section of a whole config (which it copies). config_name
 * (the config file, may be NULL) names the default directory. */
nn_status nn_search_parse(const nn_cfg *cfg, const char *config_name, nn_search **out,
                          nn_error *err);
void nn_search_free(nn_search *search);

const char *nn_search_dir(const nn_search *search);
/* Trials are numbered 1..count. */
int nn_search_trial_count(const nn_search *search);
/* The configuration of a trial: the config without its search section, with the trial's
 * parameter values in place (and, for halving, train.epochs = max_epochs). A value that
 * does not fit the config (an index past a list's end) is NN_ERR_CONFIG. */
nn_status nn_search_trial_config(const nn_search *search, int trial, nn_cfg **out,
                                 nn_error *err);
/* "train.optimizer.lr=0.01 model.init=he_normal" */
void nn_search_describe_trial(const nn_search *search, int trial, char *out, size_t size);

/* What --dry-run prints: the method, the layout of `world_size` ranks into groups, and
 * every trial with its parameters (a trial whose values do not fit the config says why). */
nn_status nn_search_print_plan(const nn_search *search, int world_size, FILE *out,
                               nn_error *err);

typedef struct nn_search_options {
    FILE *log;                              /* rank 0's output (stdout when NULL) */
    const volatile sig_atomic_t *stop_flag; /* a signal: trials checkpoint, the search stops */
    int final_test;                         /* evaluate the best trial on the test split */
} nn_search_options;

typedef struct nn_search_outcome {
    int trials, finished, failed, pending; /* pending: not finished (interrupted search) */
    int best_trial;                        /* 0: none */
    double best_metric;
    int interrupted;                       /* stopped by a signal; re-run to resume */
    nn_status first_failure;               /* status of the lowest-numbered failed trial */
} nn_search_outcome;

/* Runs (or resumes) the search on every rank of `world`: rank 0 coordinates and writes the
 * search directory, groups of ranks train trials. Failing trials are recorded, not
 * returned; the returned status is about the search itself (a config error, a changed
 * search space, an unwritable directory) and is the same on every rank. The outcome is
 * filled on rank 0. */
nn_status nn_search_run(nn_search *search, const nn_comm *world, const nn_search_options *opts,
                        nn_search_outcome *outcome, nn_error *err);

/* The methods (search.method) with what each does and the keys it reads, one indented
 * entry each: the list `nntrain search --help` shows. */
void nn_search_print_methods(FILE *out);

/* The leaderboard of a search directory (running or not). */
nn_status nn_search_print_status(const char *dir, FILE *out, nn_error *err);

/* Fits a Gaussian process to the finished trials of a grid or random search and prints the
 * predicted metric of the `top` best configurations not yet run. */
nn_status nn_search_print_predictions(const char *dir, int top, FILE *out, nn_error *err);

#endif

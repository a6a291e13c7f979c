/* The search space (src/search/parse.c reads it, src/search/space.c turns it into trials):
 * the search section checked, its parameters, the method that picks their values, the
 * rungs a trial passes, and the hashes that tell a resumed search whether it changed. */
#ifndef NNI_SEARCH_SPACE_H
#define NNI_SEARCH_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/search.h"

#define SEARCH_MAX_RUNGS 16
#define SEARCH_MAX_TRIALS 100000
#define SEARCH_REASON 600
/* Values decided from results travel from rank 0 to the groups with the assignment
 * (src/search/schedule.h): at most this many parameters, of this many characters. */
#define SEARCH_MAX_DECIDED 64
#define SEARCH_VALUE_TEXT 64

typedef enum param_kind {
    PARAM_VALUES,      /* one of a list (grid: each in turn) */
    PARAM_UNIFORM,     /* min + (max - min) u */
    PARAM_LOG_UNIFORM, /* exp(log min + (log max - log min) u) */
    PARAM_INT_UNIFORM, /* an integer in [min, max] */
    PARAM_NORMAL,      /* mu + sigma z */
} param_kind;

/* A value a method could not give yet (nni_search_method.value): bayes decides a trial's
 * values from the results of earlier trials. */
#define SEARCH_UNDECIDED (-2)

typedef struct nni_search_param {
    const char *path;     /* the config key it sets, as written ("model.layers[2].units") */
    const nn_cfg *spec;   /* its entry in search.parameters, for messages */
    param_kind kind;
    const nn_cfg *values; /* PARAM_VALUES: the list */
    nn_cfg *own_values;   /* the list made for `value: x` (owned; values points at it) */
    int n_values;
    double min, max, mu, sigma;
    double q; /* > 0: uniform and log-uniform draws are rounded to multiples of q */
} nni_search_param;

struct nni_search_proposals;

struct nni_search_method;

struct nn_search {
    nn_cfg *cfg;  /* the whole config, search section included (owned) */
    nn_cfg *base; /* the config without its search section (owned) */
    const struct nni_search_method *method;
    int random_draws; /* trial values are draws from the stream (else grid points) */
    char metric[32];
    int maximize;
    /* Configurations are what the method chooses; each runs `repeats` times, with the seeds
     * base_seed, base_seed + 1, ...: trial t is repeat (t - 1) % repeats of configuration
     * (t - 1) / repeats + 1, so n_trials = n_configs x repeats. */
    int n_trials, n_configs, repeats;
    uint64_t base_seed; /* the config's own seed (default 42) */
    uint64_t seed;      /* the draws' */
    int ranks_per_trial, coordinator_trains, max_restarts;
    char dir[512];
    nni_search_param *params;
    int n_params;
    /* Rungs: epochs each rung trains to and how many trials it takes. A method without
     * stages has one rung (epochs 0: the trial's own train.epochs). */
    int n_rungs;
    int rung_epochs[SEARCH_MAX_RUNGS];
    int rung_size[SEARCH_MAX_RUNGS];
    uint64_t space_hash, base_hash;
    /* Values decided from results (method bayes), filled as results come in (owned). */
    struct nni_search_proposals *proposals;
};

void nni_search_proposals_free(struct nni_search_proposals *proposals);
/* Whether the search decides values from results (then rank 0 sends them with each
 * assignment), and a group's rank taking configuration c's values from the assignment. */
int nni_search_decides_values(const nn_search *s);
void nni_search_proposals_install(const nn_search *s, int64_t c, const int *index,
                                  const char (*text)[SEARCH_VALUE_TEXT]);
/* Configuration of trial t (1-based, also past n_trials) and its repeat (0-based). */
int64_t nni_search_config_of(const nn_search *s, int64_t trial);
int nni_search_repeat_of(const nn_search *s, int64_t trial);
/* Parameter p's value in configuration c: a new tree, freed with nn_cfg_free. */
nn_status nni_search_config_param_value(const nn_search *s, int p, int64_t c, nn_cfg **out,
                                        nn_error *err);
/* Whether the method has decided trial t's values (bayes decides from results). */
int nni_search_trial_decided(const nn_search *s, int64_t t);
/* The same as one line of text ("?" while undecided). */
void nni_search_config_param_text(const nn_search *s, int p, int64_t c, char *out,
                                  size_t size);

/* Parameter p's value in trial t (1-based; its configuration's): a new tree, freed with
 * nn_cfg_free. NN_ERR_CONFIG while the method has not decided it. */
nn_status nni_search_param_value(const nn_search *s, int p, int64_t t, nn_cfg **out,
                                 nn_error *err);
/* The same value as one line of text ("0.01", "[64, 32]", "{type: sgd}"). */
void nni_search_param_text(const nn_search *s, int p, int64_t t, char *out, size_t size);
/* A trial configuration for any trial number (also past n_trials: --predict's draws); with
 * repeats, its seed is base_seed + its repeat. */
nn_status nni_search_build_config(const nn_search *s, int64_t t, nn_cfg **out,
                                  nn_error *err);
/* One-line YAML flow text of a node. */
void nni_search_flow_text(const nn_cfg *node, char *out, size_t size);
/* The first place where two trees differ, skipping the keys `skip` of a and b's top map:
 * "search.parameters.train.optimizer.lr.max: 0.1 -> 0.2". 0 when equal
 * (src/search/config_diff.c). */
int nni_search_first_difference(const nn_cfg *a, const nn_cfg *b, const char *const *skip,
                                char *out, size_t size);

#endif

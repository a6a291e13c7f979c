/* A search method is one row of the method table (src/search/methods.c): its name, its help
 * line, the keys of the search section it reads, and the decisions that differ between
 * methods. Parsing, the journal, the trial table, the files, the plan and the MPI protocol
 * iterate over the rows and never ask which method runs.
 *
 * A new method is one file (grid.c, random.c and halving.c are the models) defining
 * `const nni_search_method nni_search_method_<name>`, plus its name in the table's list. */
#ifndef NNI_SEARCH_METHOD_H
#define NNI_SEARCH_METHOD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "search/space.h"
#include "search/trials.h"

typedef struct nni_search_method {
    const char *name;
    /* What `nntrain search --help` says of it (one line; the keys are listed after it). */
    const char *help;
    /* The keys of the search section this method reads beyond the common ones
     * (NULL-terminated, or NULL). Other methods refuse them. */
    const char *const *keys;
    /* Refuses, as it is read, a parameter the method cannot search (NULL: takes any). */
    nn_status (*check_param)(const nn_search *s, const nn_cfg *section,
                             const nni_search_param *param, nn_error *err);
    /* Reads the method's keys once the parameters are read and sets the trial count
     * (s->n_trials), whether values are drawn (s->random_draws, which the journal's hash
     * and the plan show) and the rungs (s->n_rungs, s->rung_epochs, s->rung_size; one rung
     * of every trial when the method has no stages). */
    nn_status (*parse)(nn_search *s, const nn_cfg *section, nn_error *err);
    /* Parameter p's value in configuration c (1-based; also past n_configs, for --predict's
     * draws; every repeat of c trains it): the index of one of its listed values, or -1
     * with the value written as text, or SEARCH_UNDECIDED while it depends on results to
     * come. */
    int (*value)(const nn_search *s, int p, int64_t c, char *text, size_t size);
    /* Settings the method writes into every trial's config (NULL: none). */
    nn_status (*adjust_config)(const nn_search *s, nn_cfg *trial_config, nn_error *err);
    /* Decides the values that depend on results (s->proposals), once the trials' states
     * are derived; like promote it sees only the events (NULL: values never depend on
     * them). */
    void (*propose)(nni_trial_table *table);
    /* Decides promotions from the results: sets each trial's rung (the highest it reached)
     * and marks the rungs whose decision is made (NULL: every trial stays at rung 0). It
     * sees only the events, so a resumed search makes the same decisions. */
    void (*promote)(nni_trial_table *table);
    /* The next trial to run: 1 with *trial and *rung set; 0 when nothing is runnable now
     * but running trials may make some; -1 when nothing is left. */
    int (*next)(const nni_trial_table *table, int *trial, int *rung);
    /* Lines of its own in the plan that --dry-run prints (NULL: none). */
    void (*describe_plan)(const nn_search *s, FILE *out);
    /* Why --predict cannot rank this method's trials ("whose trials ran for different
     * numbers of epochs"); NULL when it can. */
    const char *no_prediction;
} nni_search_method;

/* The methods, in the order help and messages list them (NULL-terminated). */
extern const nni_search_method *const nni_search_methods[];

/* The method of that name, or NULL. */
const nni_search_method *nni_search_method_find(const char *name);
/* Whether a method reads a key (ctx: the key's name), for nni_search_method_list. */
int nni_search_method_takes_key(const nni_search_method *m, const void *key);
/* The names of the methods for which `takes` holds, joined as "a, b or c". */
void nni_search_method_list(int (*takes)(const nni_search_method *m, const void *ctx),
                            const void *ctx, char *out, size_t size);

/* Shared by methods that enumerate the grid or draw at random (halving does either). */
nn_status nni_search_grid_check_param(const nn_search *s, const nn_cfg *section,
                                      const nni_search_param *param, nn_error *err);
nn_status nni_search_grid_count(nn_search *s, const nn_cfg *section, nn_error *err);
int nni_search_grid_value(const nn_search *s, int p, int64_t t, char *text, size_t size);
nn_status nni_search_random_count(nn_search *s, const nn_cfg *section, nn_error *err);
int nni_search_random_value(const nn_search *s, int p, int64_t c, char *text, size_t size);
/* One draw of a parameter from a stream: the index of a listed value, or -1 with the
 * value written as text. */
struct nni_rng;
int nni_search_draw(const nni_search_param *sp, struct nni_rng *rng, char *text, size_t size);
/* A number drawn for a distribution parameter, written as its trial's config will hold it
 * (integers as integers, q steps applied, inside [min, max]). */
void nni_search_number_text(const nni_search_param *sp, double value, char *text,
                            size_t size);
/* One rung: every trial trains to its own train.epochs. */
void nni_search_single_rung(nn_search *s);

#endif

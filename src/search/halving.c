/* Successive halving: every configuration (the grid's combinations, or search.trials draws)
 * trains to search.min_epochs; the best 1/eta of them by the metric continue to eta times as
 * many epochs, and so on up to search.max_epochs (default train.epochs). A trial continues
 * from its checkpoint, so it ends with the weights of training all its epochs at once.
 *
 * Promotions are a pure function of the rung results: when every trial of rung k has a
 * result (or failed, or stopped early), the best rung_size[k + 1] configurations by the
 * mean metric of their repeats at rung k (ties: the lower number) go on to rung k + 1 with
 * those repeats, and the others are pruned. */
#include <stdlib.h>
#include <string.h>

#include "search/method.h"

static nn_status halving_check_param(const nn_search *s, const nn_cfg *section,
                                     const nni_search_param *param, nn_error *err)
{
    if (!strcmp(param->path, "train.epochs"))
        return nn_cfg_fail(err, param->spec, "halving sets train.epochs itself "
                           "(search.min_epochs, search.max_epochs)");
    return nn_cfg_get(section, "trials") ? NN_OK
                                         : nni_search_grid_check_param(s, section, param, err);
}

static nn_status halving_parse(nn_search *s, const nn_cfg *section, nn_error *err)
{
    nn_status st = nn_cfg_get(section, "trials") ? nni_search_random_count(s, section, err)
                                                 : nni_search_grid_count(s, section, err);
    if (st)
        return st;
    int64_t epochs = 10, min_epochs, eta, max_epochs;
    if ((st = nn_cfg_read_int(nn_cfg_get(s->base, "train"), "epochs", 10, &epochs, err)) ||
        (st = nn_cfg_read_int(section, "min_epochs", 1, &min_epochs, err)) ||
        (st = nn_cfg_read_int(section, "eta", 3, &eta, err)) ||
        (st = nn_cfg_read_int(section, "max_epochs", epochs, &max_epochs, err)))
        return st;
    if (eta < 2)
        return nn_cfg_fail(err, nn_cfg_get(section, "eta"), "must be >= 2");
    if (min_epochs < 1 || max_epochs < min_epochs || max_epochs > 1000000)
        return nn_cfg_fail(err, nn_cfg_get(section, "min_epochs")
                                    ? nn_cfg_get(section, "min_epochs") : section,
                           "halving needs 1 <= min_epochs <= max_epochs (got %lld and %lld)",
                           (long long)min_epochs, (long long)max_epochs);
    s->n_rungs = 0;
    for (int64_t e = min_epochs; e < max_epochs && s->n_rungs < SEARCH_MAX_RUNGS - 1; e *= eta)
        s->rung_epochs[s->n_rungs++] = (int)e;
    s->rung_epochs[s->n_rungs++] = (int)max_epochs;
    s->rung_size[0] = s->n_trials;
    for (int k = 1; k < s->n_rungs; k++)
        s->rung_size[k] = s->rung_size[k - 1] / eta > 0 ? (int)(s->rung_size[k - 1] / eta) : 1;
    return NN_OK;
}

static int halving_value(const nn_search *s, int p, int64_t t, char *text, size_t size)
{
    return s->random_draws ? nni_search_random_value(s, p, t, text, size)
                           : nni_search_grid_value(s, p, t, text, size);
}

/* Every trial's config trains to the last rung; earlier rungs pause it. */
static nn_status halving_adjust_config(const nn_search *s, nn_cfg *trial_config, nn_error *err)
{
    char assignment[96];
    snprintf(assignment, sizeof assignment, "train.epochs=%d", s->rung_epochs[s->n_rungs - 1]);
    return nn_cfg_set(trial_config, assignment, err);
}

typedef struct rank_key {
    int config;
    double metric; /* the mean over the configuration's repeats */
} rank_key;

static int maximize_order; /* qsort has no context argument in C11 */

static int compare_keys(const void *pa, const void *pb)
{
    const rank_key *a = pa, *b = pb;
    if (nni_search_better(a->metric, b->metric, maximize_order))
        return -1;
    if (nni_search_better(b->metric, a->metric, maximize_order))
        return 1;
    return a->config - b->config;
}

/* Whether trial r's result at rung k lets it go on (a trial stopped early there is done). */
static int continues_from(const nni_trial_record *r, int k)
{
    return r->rung == k && r->has_result[k] && !(r->stopped_early && r->stopped_rung == k);
}

static void halving_promote(nni_trial_table *table)
{
    const nn_search *s = table->search;
    const int last = s->n_rungs - 1, repeats = s->repeats;
    rank_key *keys = malloc((size_t)(s->n_configs ? s->n_configs : 1) * sizeof *keys);
    for (int k = 0; k < last && keys; k++) {
        int resolved = 1, n_keys = 0;
        for (int c = 0; c < s->n_configs && resolved; c++) {
            double sum = 0;
            int count = 0;
            for (int j = 0; j < repeats && resolved; j++) {
                const nni_trial_record *r = &table->t[c * repeats + j];
                if (r->rung != k)
                    continue;
                /* Only what happened at rung k counts: later results do not change the
                 * decision (a resumed search replays to the same promotions). */
                resolved = (r->failed && r->failed_rung == k) || r->has_result[k];
                if (continues_from(r, k)) {
                    sum += r->rung_metric[k];
                    count++;
                }
            }
            if (count)
                keys[n_keys++] = (rank_key){c + 1, sum / count};
        }
        if (!resolved)
            break;
        maximize_order = s->maximize;
        qsort(keys, (size_t)n_keys, sizeof *keys, compare_keys);
        for (int i = 0; i < n_keys && i < s->rung_size[k + 1]; i++)
            for (int j = 0; j < repeats; j++) {
                nni_trial_record *r = &table->t[(keys[i].config - 1) * repeats + j];
                if (continues_from(r, k))
                    r->rung = k + 1;
            }
        table->rung_decided[k] = 1;
    }
    free(keys);
}

/* A rung still training may promote trials: wait for it rather than end. */
static int halving_next(const nni_trial_table *table, int *trial, int *rung)
{
    int next = nni_trials_next_pending(table, trial, rung);
    return next < 0 && nni_trials_any_running(table) ? 0 : next;
}

static void halving_describe_plan(const nn_search *s, FILE *out)
{
    long long total = 0;
    fprintf(out, "rungs:");
    for (int k = 0; k < s->n_rungs; k++) {
        fprintf(out, "%s %d %s%s to epoch %d", k ? "," : "", s->rung_size[k],
                s->repeats > 1 ? "configuration" : "trial", s->rung_size[k] == 1 ? "" : "s",
                s->rung_epochs[k]);
        total += (long long)s->rung_size[k] * s->repeats *
                 (s->rung_epochs[k] - (k ? s->rung_epochs[k - 1] : 0));
    }
    fprintf(out, " (at most %lld trial-epochs; %lld for every trial to epoch %d)\n", total,
            (long long)s->n_trials * s->rung_epochs[s->n_rungs - 1],
            s->rung_epochs[s->n_rungs - 1]);
}

static const char *const halving_keys[] = {"trials", "min_epochs", "eta", "max_epochs", NULL};

const nni_search_method nni_search_method_halving = {
    .name = "halving",
    .help = "successive halving: the best 1/eta of each rung train on (grid or draws)",
    .keys = halving_keys,
    .check_param = halving_check_param,
    .parse = halving_parse,
    .value = halving_value,
    .adjust_config = halving_adjust_config,
    .promote = halving_promote,
    .next = halving_next,
    .describe_plan = halving_describe_plan,
    .no_prediction = "whose trials ran for different numbers of epochs",
};

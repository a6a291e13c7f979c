/* Grid search: every combination of the parameters' listed values, in the order written
 * (the last parameter varies fastest); trial k is the k-th combination. Its results make
 * no new work: the search ends when every combination has run. */
#include "search/method.h"

nn_status nni_search_grid_check_param(const nn_search *s, const nn_cfg *section,
                                      const nni_search_param *param, nn_error *err)
{
    (void)section;
    if (param->kind != PARAM_VALUES)
        return nn_cfg_fail(err, param->spec, "a %s search takes values: [...] for every "
                           "parameter (distributions need method: random, or search.trials "
                           "for halving)", s->method->name);
    return NN_OK;
}

nn_status nni_search_grid_count(nn_search *s, const nn_cfg *section, nn_error *err)
{
    int64_t count = 1;
    for (int p = 0; p < s->n_params; p++) {
        count *= s->params[p].n_values;
        if (count > SEARCH_MAX_TRIALS)
            return nn_cfg_fail(err, nn_cfg_get(section, "parameters"), "the grid has more "
                               "than %d combinations; use method: random with trials: N",
                               SEARCH_MAX_TRIALS);
    }
    s->random_draws = 0;
    s->n_trials = (int)count;
    return NN_OK;
}

/* Index of parameter p's value in grid point t (1-based). */
int nni_search_grid_value(const nn_search *s, int p, int64_t t, char *text, size_t size)
{
    (void)text;
    (void)size;
    int64_t rest = t - 1;
    for (int q = s->n_params - 1; q > p; q--)
        rest /= s->params[q].n_values;
    return (int)(rest % s->params[p].n_values);
}

static nn_status grid_parse(nn_search *s, const nn_cfg *section, nn_error *err)
{
    const nn_cfg *trials = nn_cfg_get(section, "trials");
    if (trials) {
        char methods[256];
        nni_search_method_list(nni_search_method_takes_key, "trials", methods,
                               sizeof methods);
        return nn_cfg_fail(err, trials, "a grid search runs every combination; trials goes "
                           "with method: %s", methods);
    }
    nn_status st = nni_search_grid_count(s, section, err);
    if (!st)
        nni_search_single_rung(s);
    return st;
}

const nni_search_method nni_search_method_grid = {
    .name = "grid",
    .help = "every combination of the values listed, the last parameter fastest",
    .check_param = nni_search_grid_check_param,
    .parse = grid_parse,
    .value = nni_search_grid_value,
    .next = nni_trials_next_pending,
};

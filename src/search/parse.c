/* Reading the search section: the common keys, the metric, the parameters (each checked
 * against the base config on its own), the method's keys (src/search/method.h), the
 * default directory and the hashes that identify the space. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "nn/ckpt.h"
#include "search/method.h"

/* The keys every method reads; each method adds its own (nni_search_method.keys). */
static const char *const common_keys[] = {
    "method", "metric", "seed", "ranks_per_trial", "coordinator_trains", "dir", "parameters",
    "max_restarts", NULL};
#define MAX_KEYS 64
#define MAX_METHODS 32
static const char *const param_keys[] = {"values", "distribution", "min", "max", "mu", "sigma",
                                         NULL};
static const char *const distribution_names[] = {"categorical", "uniform", "log_uniform",
                                                 "int_uniform", "normal", NULL};
static const char *const metric_names[] = {"val_loss", "val_accuracy", NULL};
static const char *const metric_keys[] = {"name", "goal", NULL};
static const char *const goal_names[] = {"maximize", "minimize", NULL};

static nn_status parse_metric(nn_search *s, const nn_cfg *search, nn_error *err)
{
    const nn_cfg *node = nn_cfg_get(search, "metric");
    int name = 0, goal = -1;
    nn_status st;
    if (!node || nn_cfg_kind_of(node) == NN_CFG_SCALAR) {
        st = nn_cfg_read_choice(search, "metric", metric_names, "val_loss", &name, err);
    } else {
        if ((st = nn_cfg_check_keys(node, metric_keys, err)) ||
            (st = nn_cfg_read_choice(node, "name", metric_names, NULL, &name, err)) ||
            (st = nn_cfg_read_choice(node, "goal", goal_names, NULL, &goal, err)))
            return st;
        if (name < 0)
            return nn_cfg_fail(err, node, "missing key 'name' (val_loss or val_accuracy)");
    }
    if (st)
        return st;
    snprintf(s->metric, sizeof s->metric, "%s", metric_names[name]);
    s->maximize = goal >= 0 ? goal == 0 : strstr(s->metric, "accuracy") != NULL;
    const nn_cfg *data = nn_cfg_get(s->base, "data");
    if (!nn_cfg_get(data, "val"))
        return nn_cfg_fail(err, node ? node : search, "the metric %s needs a validation split "
                           "(data.val: {split: 0.1} or {rows: [first, last]}); the test split "
                           "is never used to choose", s->metric);
    return NN_OK;
}

static nn_status parse_param(nn_search *s, nni_search_param *p, const char *key, const nn_cfg *spec,
                             nn_error *err)
{
    p->path = key;
    p->spec = spec;
    nn_status st;
    if (nn_cfg_kind_of(spec) == NN_CFG_SEQ) { /* shorthand: a plain list of values */
        p->kind = PARAM_VALUES;
        p->values = spec;
    } else if (nn_cfg_kind_of(spec) == NN_CFG_SCALAR) {
        return nn_cfg_fail(err, spec, "expected {values: [...]} or {distribution: uniform, "
                           "min: A, max: B} (a fixed value belongs in the config itself)");
    } else {
        if ((st = nn_cfg_check_keys(spec, param_keys, err))) {
            /* A nested map written where a dotted key belongs. */
            if (!nn_cfg_get(spec, "values") && !nn_cfg_get(spec, "distribution"))
                nn_fail_prefix(err, "write each parameter as one dotted key "
                               "(train.optimizer.lr: {values: [...]}): ");
            return st;
        }
        int kind = -1;
        if ((st = nn_cfg_read_choice(spec, "distribution", distribution_names,
                                     nn_cfg_get(spec, "values") ? "categorical" : NULL, &kind,
                                     err)))
            return st;
        if (kind < 0)
            return nn_cfg_fail(err, spec, "needs values: [...] or a distribution (%s, %s, %s, "
                               "%s)", distribution_names[1], distribution_names[2],
                               distribution_names[3], distribution_names[4]);
        p->kind = kind == 0 ? PARAM_VALUES : (param_kind)kind;
        p->values = nn_cfg_get(spec, "values");
        if (p->kind != PARAM_VALUES && p->values)
            return nn_cfg_fail(err, p->values, "values go with distribution: categorical only");
        if (p->kind == PARAM_VALUES && !p->values)
            return nn_cfg_fail(err, spec, "distribution categorical needs values: [...]");
        if (p->kind == PARAM_VALUES &&
            (nn_cfg_get(spec, "min") || nn_cfg_get(spec, "max") || nn_cfg_get(spec, "mu") ||
             nn_cfg_get(spec, "sigma")))
            return nn_cfg_fail(err, spec, "min, max, mu and sigma go with a distribution, not "
                               "with values");
    }
    if (p->kind == PARAM_VALUES) {
        if (nn_cfg_kind_of(p->values) != NN_CFG_SEQ || nn_cfg_size(p->values) < 1)
            return nn_cfg_fail(err, p->values, "values must be a non-empty list");
        nn_cfg_mark(p->values);
        p->n_values = nn_cfg_size(p->values);
        return NN_OK;
    }
    if (p->kind == PARAM_NORMAL) {
        if (!nn_cfg_get(spec, "mu") || !nn_cfg_get(spec, "sigma"))
            return nn_cfg_fail(err, spec, "distribution normal needs mu and sigma");
        if ((st = nn_cfg_read_double(spec, "mu", 0, &p->mu, err)) ||
            (st = nn_cfg_read_double(spec, "sigma", 1, &p->sigma, err)))
            return st;
        if (!(p->sigma > 0) || !isfinite(p->mu) || !isfinite(p->sigma))
            return nn_cfg_fail(err, nn_cfg_get(spec, "sigma"), "must be a finite number > 0");
        if (nn_cfg_get(spec, "min") || nn_cfg_get(spec, "max"))
            return nn_cfg_fail(err, spec, "distribution normal takes mu and sigma, not min/max");
        return NN_OK;
    }
    if (nn_cfg_get(spec, "mu") || nn_cfg_get(spec, "sigma"))
        return nn_cfg_fail(err, spec, "mu and sigma go with distribution normal");
    if (!nn_cfg_get(spec, "min") || !nn_cfg_get(spec, "max"))
        return nn_cfg_fail(err, spec, "distribution %s needs min and max",
                           distribution_names[p->kind]);
    if (p->kind == PARAM_INT_UNIFORM) {
        int64_t lo, hi;
        if ((st = nn_cfg_read_int(spec, "min", 0, &lo, err)) ||
            (st = nn_cfg_read_int(spec, "max", 0, &hi, err)))
            return st;
        if (lo > hi || hi - lo >= (int64_t)1 << 31)
            return nn_cfg_fail(err, spec, "int_uniform needs min <= max (and fewer than 2^31 "
                               "integers between them)");
        p->min = (double)lo;
        p->max = (double)hi;
        return NN_OK;
    }
    if ((st = nn_cfg_read_double(spec, "min", 0, &p->min, err)) ||
        (st = nn_cfg_read_double(spec, "max", 0, &p->max, err)))
        return st;
    if (!(p->min < p->max) || !isfinite(p->min) || !isfinite(p->max))
        return nn_cfg_fail(err, spec, "needs finite min < max (got %g, %g)", p->min, p->max);
    if (p->kind == PARAM_LOG_UNIFORM && !(p->min > 0))
        return nn_cfg_fail(err, nn_cfg_get(spec, "min"), "log_uniform needs min > 0");
    (void)s;
    return NN_OK;
}

static nn_status parse_params(nn_search *s, const nn_cfg *search, nn_error *err)
{
    const nn_cfg *params = nn_cfg_get(search, "parameters");
    if (!params || nn_cfg_kind_of(params) != NN_CFG_MAP || nn_cfg_size(params) == 0)
        return nn_cfg_fail(err, params ? params : search, "needs parameters: a map from config "
                           "keys to {values: [...]} or {distribution: ..., ...}");
    s->n_params = nn_cfg_size(params);
    s->params = calloc((size_t)s->n_params, sizeof *s->params);
    if (!s->params)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st;
    for (int p = 0; p < s->n_params; p++) {
        const char *key = nn_cfg_key_at(params, p);
        if (!strncmp(key, "search", 6) && (key[6] == '.' || !key[6]))
            return nn_cfg_fail(err, nn_cfg_at(params, p), "the search section cannot be a "
                               "search parameter");
        if ((st = parse_param(s, &s->params[p], key, nn_cfg_at(params, p), err)))
            return st;
        if (s->method->check_param &&
            (st = s->method->check_param(s, search, &s->params[p], err)))
            return st;
    }
    return NN_OK;
}

/* Every parameter must fit the config on its own (a key path through an existing list
 * entry, for instance); combinations that do not fit fail as single trials. */
static nn_status check_paths(const nn_search *s, nn_error *err)
{
    for (int p = 0; p < s->n_params; p++) {
        nn_cfg *cfg = nn_cfg_clone(s->base), *value = NULL;
        if (!cfg)
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
        nn_status st = nni_search_param_value(s, p, 1, &value, err);
        if (!st && (st = nn_cfg_set_node(cfg, s->params[p].path, value, err)))
            nn_fail_prefix(err, "%s: search.parameters.%s: ", nn_cfg_where(s->params[p].spec),
                           s->params[p].path);
        nn_cfg_free(value);
        nn_cfg_free(cfg);
        if (st)
            return st;
    }
    return NN_OK;
}

/* The keys of a method's section: the common ones and every method's own, each once (the
 * list an unknown key's message shows). */
static void known_keys(const char **keys)
{
    int n = 0;
    for (int i = 0; common_keys[i]; i++)
        keys[n++] = common_keys[i];
    for (int m = 0; nni_search_methods[m]; m++)
        for (int k = 0; nni_search_methods[m]->keys && nni_search_methods[m]->keys[k]; k++) {
            const char *key = nni_search_methods[m]->keys[k];
            int seen = 0;
            for (int i = 0; i < n && !seen; i++)
                seen = !strcmp(keys[i], key);
            if (!seen && n < MAX_KEYS)
                keys[n++] = key;
        }
    keys[n] = NULL;
}

static nn_status read_method(nn_search *s, const nn_cfg *search, nn_error *err)
{
    const char *names[MAX_METHODS + 1];
    int n = 0, chosen = 0;
    for (; nni_search_methods[n] && n < MAX_METHODS; n++)
        names[n] = nni_search_methods[n]->name;
    names[n] = NULL;
    nn_status st = nn_cfg_read_choice(search, "method", names, names[0], &chosen, err);
    s->method = nni_search_methods[chosen];
    return st;
}

/* A key another method reads: "only method: halving takes eta". */
static nn_status refuse_other_methods_keys(const nn_search *s, const nn_cfg *search,
                                           nn_error *err)
{
    for (int i = 0; i < nn_cfg_size(search); i++) {
        const char *key = nn_cfg_key_at(search, i);
        int common = 0;
        for (int k = 0; common_keys[k] && !common; k++)
            common = !strcmp(common_keys[k], key);
        if (common || nni_search_method_takes_key(s->method, key))
            continue;
        char methods[256];
        nni_search_method_list(nni_search_method_takes_key, key, methods, sizeof methods);
        return nn_cfg_fail(err, nn_cfg_at(search, i), "only method: %s takes %s", methods, key);
    }
    return NN_OK;
}

static void compute_hashes(nn_search *s)
{
    char line[1024];
    uint64_t h = NN_HASH_INIT;
    snprintf(line, sizeof line, "method=%s metric=%s maximize=%d trials=%d",
             s->method->name, s->metric, s->maximize, s->n_trials);
    h = nni_hash_bytes(h, line, strlen(line));
    if (s->random_draws) {
        snprintf(line, sizeof line, " seed=%llu", (unsigned long long)s->seed);
        h = nni_hash_bytes(h, line, strlen(line));
    }
    for (int k = 0; k < s->n_rungs; k++) {
        snprintf(line, sizeof line, " rung=%d:%d", s->rung_epochs[k], s->rung_size[k]);
        h = nni_hash_bytes(h, line, strlen(line));
    }
    for (int p = 0; p < s->n_params; p++) {
        h = nni_hash_bytes(h, s->params[p].path, strlen(s->params[p].path) + 1);
        nni_search_flow_text(s->params[p].spec, line, sizeof line);
        h = nni_hash_bytes(h, line, strlen(line) + 1);
    }
    s->space_hash = h;
    char *yaml = nn_cfg_to_yaml(s->base);
    s->base_hash = yaml ? nni_hash_bytes(NN_HASH_INIT, yaml, strlen(yaml)) : 0;
    free(yaml);
}

/* The default directory: searches/<name>, name from the config's `name:` or its file. */
static void default_dir(nn_search *s, const char *config_name)
{
    const char *name = NULL;
    nn_error ignored = {0};
    nn_cfg_read_string(s->base, "name", NULL, &name, &ignored);
    char stem[256] = "search";
    if (!name && config_name) {
        const char *base = strrchr(config_name, '/');
        snprintf(stem, sizeof stem, "%s", base ? base + 1 : config_name);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
    }
    snprintf(s->dir, sizeof s->dir, "searches/%s", name ? name : stem);
}

static nn_status parse(nn_search *s, const char *config_name, nn_error *err)
{
    const nn_cfg *search = nn_cfg_get(s->cfg, "search");
    if (!search || nn_cfg_kind_of(search) != NN_CFG_MAP)
        return nn_fail(err, NN_ERR_CONFIG, "config: no 'search' section (search: {method, "
                       "metric, parameters, ...}; see nntrain search --help)");
    /* The base: every top-level entry but the search section. */
    s->base = nn_cfg_new_map();
    if (!s->base)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st;
    for (int i = 0; i < nn_cfg_size(s->cfg); i++)
        if (strcmp(nn_cfg_key_at(s->cfg, i), "search") &&
            (st = nn_cfg_set_node(s->base, nn_cfg_key_at(s->cfg, i), nn_cfg_at(s->cfg, i), err)))
            return st;
    int64_t seed = 42, ranks = 1, restarts = 3;
    const char *dir = NULL;
    const char *keys[MAX_KEYS + 1];
    known_keys(keys);
    if ((st = nn_cfg_check_keys(search, keys, err)) || (st = read_method(s, search, err)) ||
        (st = nn_cfg_read_int(s->base, "seed", 42, &seed, err)) ||
        (st = nn_cfg_read_int(search, "seed", seed, &seed, err)) ||
        (st = nn_cfg_read_int(search, "ranks_per_trial", 1, &ranks, err)) ||
        (st = nn_cfg_read_bool(search, "coordinator_trains", 1, &s->coordinator_trains, err)) ||
        (st = nn_cfg_read_int(search, "max_restarts", 3, &restarts, err)) ||
        (st = nn_cfg_read_string(search, "dir", NULL, &dir, err)))
        return st;
    s->seed = (uint64_t)seed;
    if (ranks < 1 || ranks > 1 << 20)
        return nn_cfg_fail(err, nn_cfg_get(search, "ranks_per_trial"), "must be >= 1");
    if (restarts < 0 || restarts > 1000)
        return nn_cfg_fail(err, nn_cfg_get(search, "max_restarts"), "must be in [0, 1000]");
    s->ranks_per_trial = (int)ranks;
    s->max_restarts = (int)restarts;
    if (dir && !dir[0])
        return nn_cfg_fail(err, nn_cfg_get(search, "dir"), "must not be empty");
    if (dir)
        snprintf(s->dir, sizeof s->dir, "%s", dir);
    else
        default_dir(s, config_name);
    /* The method reads its keys once the parameters are known (a grid counts them). */
    if ((st = parse_metric(s, search, err)) || (st = parse_params(s, search, err)) ||
        (st = s->method->parse(s, search, err)) ||
        (st = refuse_other_methods_keys(s, search, err)) || (st = check_paths(s, err)))
        return st;
    compute_hashes(s);
    return NN_OK;
}

nn_status nn_search_parse(const nn_cfg *cfg, const char *config_name, nn_search **out,
                          nn_error *err)
{
    *out = NULL;
    nn_search *s = calloc(1, sizeof *s);
    if (!s || !(s->cfg = nn_cfg_clone(cfg))) {
        free(s);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    nn_status st = parse(s, config_name, err);
    if (st) {
        nn_search_free(s);
        return st;
    }
    *out = s;
    return NN_OK;
}

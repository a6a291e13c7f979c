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
    "max_restarts", "repeats", NULL};
#define MAX_KEYS 64
#define MAX_METHODS 32
static const char *const param_keys[] = {"values", "value", "distribution", "min", "max", "mu",
                                         "sigma", "q", NULL};
/* The distributions a parameter names; W&B's sweep names are accepted too (log_uniform
 * here takes its bounds as values, like W&B's log_uniform_values). */
typedef struct distribution {
    const char *name;
    param_kind kind;
    int quantized; /* q_*: draws rounded to multiples of q (default 1) */
} distribution;
static const distribution distributions[] = {
    {"categorical", PARAM_VALUES, 0},
    {"uniform", PARAM_UNIFORM, 0},
    {"log_uniform", PARAM_LOG_UNIFORM, 0},
    {"int_uniform", PARAM_INT_UNIFORM, 0},
    {"normal", PARAM_NORMAL, 0},
    {"constant", PARAM_VALUES, 0},
    {"log_uniform_values", PARAM_LOG_UNIFORM, 0},
    {"q_uniform", PARAM_UNIFORM, 1},
    {"q_log_uniform_values", PARAM_LOG_UNIFORM, 1},
};
#define N_DISTRIBUTIONS ((int)(sizeof distributions / sizeof distributions[0]))
enum { DIST_CATEGORICAL = 0, DIST_CONSTANT = 5 };
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

/* Whether a scalar reads as an integer ("3", "-12"; not "3.0" or "1e3"). */
static int is_integer_text(const nn_cfg *node)
{
    if (!node || nn_cfg_kind_of(node) != NN_CFG_SCALAR)
        return 0;
    const char *text = nn_cfg_scalar(node);
    char *end = NULL;
    strtoll(text, &end, 10);
    return end != text && *end == '\0';
}

/* The distribution a map names, or infers: values -> categorical, value -> constant,
 * min and max -> int_uniform when both are integers, else uniform. */
static nn_status read_distribution(const nn_cfg *spec, int *kind, nn_error *err)
{
    const char *names[N_DISTRIBUTIONS + 1];
    for (int i = 0; i < N_DISTRIBUTIONS; i++)
        names[i] = distributions[i].name;
    names[N_DISTRIBUTIONS] = NULL;
    const nn_cfg *min = nn_cfg_get(spec, "min"), *max = nn_cfg_get(spec, "max");
    const char *inferred = nn_cfg_get(spec, "values")  ? "categorical"
                           : nn_cfg_get(spec, "value") ? "constant"
                           : min && max ? (is_integer_text(min) && is_integer_text(max)
                                               ? "int_uniform" : "uniform")
                                        : NULL;
    *kind = -1;
    nn_status st = nn_cfg_read_choice(spec, "distribution", names, inferred, kind, err);
    if (!st && *kind < 0)
        return nn_cfg_fail(err, spec, "needs values: [...], value: x, min and max, or a "
                           "distribution (uniform, log_uniform, int_uniform, normal, "
                           "q_uniform, ...)");
    return st;
}

/* `value: x` (W&B's constant): a list of that one value. */
static nn_status single_value_list(nni_search_param *p, const nn_cfg *value, nn_error *err)
{
    p->own_values = nn_cfg_new_seq();
    nn_cfg *copy = nn_cfg_clone(value);
    if (!p->own_values || !copy) {
        nn_cfg_free(copy);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    p->values = p->own_values;
    nn_cfg_mark(value);
    return nn_cfg_append(p->own_values, copy, err);
}

static nn_status parse_choice_param(nni_search_param *p, const nn_cfg *spec, int kind,
                                    nn_error *err)
{
    const nn_cfg *values = nn_cfg_get(spec, "values"), *value = nn_cfg_get(spec, "value");
    if (nn_cfg_get(spec, "min") || nn_cfg_get(spec, "max") || nn_cfg_get(spec, "mu") ||
        nn_cfg_get(spec, "sigma") || nn_cfg_get(spec, "q"))
        return nn_cfg_fail(err, spec, "min, max, mu, sigma and q go with a distribution, not "
                           "with %s", values ? "values" : "value");
    if (kind == DIST_CONSTANT && values)
        return nn_cfg_fail(err, values, "distribution constant takes value: x, not values");
    if (kind == DIST_CATEGORICAL && !values && !value)
        return nn_cfg_fail(err, spec, "distribution categorical needs values: [...]");
    if (kind == DIST_CONSTANT && !value)
        return nn_cfg_fail(err, spec, "distribution constant needs value: x");
    p->kind = PARAM_VALUES;
    if (values) {
        p->values = values;
        return NN_OK;
    }
    return single_value_list(p, value, err);
}

static nn_status parse_normal_param(nni_search_param *p, const nn_cfg *spec, nn_error *err)
{
    nn_status st;
    if (!nn_cfg_get(spec, "mu") || !nn_cfg_get(spec, "sigma"))
        return nn_cfg_fail(err, spec, "distribution normal needs mu and sigma");
    if ((st = nn_cfg_read_double(spec, "mu", 0, &p->mu, err)) ||
        (st = nn_cfg_read_double(spec, "sigma", 1, &p->sigma, err)))
        return st;
    if (!(p->sigma > 0) || !isfinite(p->mu) || !isfinite(p->sigma))
        return nn_cfg_fail(err, nn_cfg_get(spec, "sigma"), "must be a finite number > 0");
    if (nn_cfg_get(spec, "min") || nn_cfg_get(spec, "max"))
        return nn_cfg_fail(err, spec, "distribution normal takes mu and sigma, not min/max");
    if (nn_cfg_get(spec, "q"))
        return nn_cfg_fail(err, nn_cfg_get(spec, "q"), "q goes with q_uniform and "
                           "q_log_uniform_values");
    return NN_OK;
}

static nn_status parse_bounded_param(nni_search_param *p, const nn_cfg *spec,
                                     const distribution *d, nn_error *err)
{
    nn_status st;
    if (nn_cfg_get(spec, "mu") || nn_cfg_get(spec, "sigma"))
        return nn_cfg_fail(err, spec, "mu and sigma go with distribution normal");
    if (!nn_cfg_get(spec, "min") || !nn_cfg_get(spec, "max"))
        return nn_cfg_fail(err, spec, "distribution %s needs min and max", d->name);
    if (nn_cfg_get(spec, "q") && !d->quantized)
        return nn_cfg_fail(err, nn_cfg_get(spec, "q"), "q goes with q_uniform and "
                           "q_log_uniform_values, not %s", d->name);
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
        return nn_cfg_fail(err, nn_cfg_get(spec, "min"), "%s needs min > 0 (the bounds are "
                           "values; W&B's log_uniform takes exponents: write exp(min) and "
                           "exp(max))", d->name);
    if (d->quantized) {
        if ((st = nn_cfg_read_double(spec, "q", 1, &p->q, err)))
            return st;
        if (!(p->q > 0) || !isfinite(p->q))
            return nn_cfg_fail(err, nn_cfg_get(spec, "q"), "q must be a finite number > 0");
        if (ceil(p->min / p->q) * p->q > p->max)
            return nn_cfg_fail(err, nn_cfg_get(spec, "q") ? nn_cfg_get(spec, "q") : spec,
                               "no multiple of q = %g lies in [%g, %g]", p->q, p->min, p->max);
    }
    return NN_OK;
}

static nn_status parse_param(nni_search_param *p, const char *key, const nn_cfg *spec,
                             nn_error *err)
{
    p->path = key;
    p->spec = spec;
    nn_status st;
    if (nn_cfg_kind_of(spec) == NN_CFG_SEQ) { /* shorthand: a plain list of values */
        p->kind = PARAM_VALUES;
        p->values = spec;
    } else if (nn_cfg_kind_of(spec) == NN_CFG_SCALAR) {
        return nn_cfg_fail(err, spec, "expected {values: [...]}, {value: x} or {min: A, max: B} "
                           "(a fixed value belongs in the config itself)");
    } else {
        if ((st = nn_cfg_check_keys(spec, param_keys, err))) {
            /* A nested map written where a dotted key belongs. */
            if (!nn_cfg_get(spec, "values") && !nn_cfg_get(spec, "distribution"))
                nn_fail_prefix(err, "write each parameter as one dotted key "
                               "(train.optimizer.lr: {values: [...]}): ");
            return st;
        }
        if (nn_cfg_get(spec, "values") && nn_cfg_get(spec, "value"))
            return nn_cfg_fail(err, nn_cfg_get(spec, "value"), "value and values: give one "
                               "(value: x is values: [x])");
        int kind;
        if ((st = read_distribution(spec, &kind, err)))
            return st;
        const distribution *d = &distributions[kind];
        p->kind = d->kind;
        if (d->kind == PARAM_VALUES)
            st = parse_choice_param(p, spec, kind, err);
        else if (nn_cfg_get(spec, "values") || nn_cfg_get(spec, "value"))
            return nn_cfg_fail(err, nn_cfg_get(spec, "values") ? nn_cfg_get(spec, "values")
                                                               : nn_cfg_get(spec, "value"),
                               "values go with distribution: categorical only (value with "
                               "constant)");
        else if (d->kind == PARAM_NORMAL)
            return parse_normal_param(p, spec, err);
        else
            return parse_bounded_param(p, spec, d, err);
        if (st)
            return st;
    }
    if (nn_cfg_kind_of(p->values) != NN_CFG_SEQ || nn_cfg_size(p->values) < 1)
        return nn_cfg_fail(err, p->values, "values must be a non-empty list");
    nn_cfg_mark(p->values);
    p->n_values = nn_cfg_size(p->values);
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
        if ((st = parse_param(&s->params[p], key, nn_cfg_at(params, p), err)))
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

/* The method chose configurations; each runs s->repeats times with its own seed. */
static nn_status apply_repeats(nn_search *s, const nn_cfg *search, nn_error *err)
{
    s->n_configs = s->n_trials;
    if ((int64_t)s->n_trials * s->repeats > SEARCH_MAX_TRIALS)
        return nn_cfg_fail(err, nn_cfg_get(search, "repeats"), "%d configurations x %d repeats "
                           "is more than %d trials", s->n_configs, s->repeats,
                           SEARCH_MAX_TRIALS);
    s->n_trials *= s->repeats;
    for (int p = 0; p < s->n_params && s->repeats > 1; p++)
        if (!strcmp(s->params[p].path, "seed"))
            return nn_cfg_fail(err, s->params[p].spec, "search.repeats sets each trial's seed "
                               "(seed, seed + 1, ...); seed cannot also be a parameter");
    return NN_OK;
}

static void compute_hashes(nn_search *s)
{
    char line[1024];
    uint64_t h = NN_HASH_INIT;
    snprintf(line, sizeof line, "method=%s metric=%s maximize=%d trials=%d",
             s->method->name, s->metric, s->maximize, s->n_trials);
    h = nni_hash_bytes(h, line, strlen(line));
    if (s->repeats > 1) { /* (absent for 1: journals of searches before repeats match) */
        snprintf(line, sizeof line, " repeats=%d", s->repeats);
        h = nni_hash_bytes(h, line, strlen(line));
    }
    if (s->random_draws) {
        snprintf(line, sizeof line, " seed=%llu", (unsigned long long)s->seed);
        h = nni_hash_bytes(h, line, strlen(line));
    }
    /* The method's own keys as written (bayes's initial and batch change its trials). */
    const nn_cfg *search = nn_cfg_get(s->cfg, "search");
    for (int k = 0; s->method->keys && s->method->keys[k]; k++) {
        const nn_cfg *node = nn_cfg_get(search, s->method->keys[k]);
        if (!node)
            continue;
        snprintf(line, sizeof line, " %s=", s->method->keys[k]);
        size_t used = strlen(line);
        nni_search_flow_text(node, line + used, sizeof line - used);
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
    int64_t seed = 42, ranks = 1, restarts = 3, repeats = 1;
    const char *dir = NULL;
    const char *keys[MAX_KEYS + 1];
    known_keys(keys);
    if ((st = nn_cfg_check_keys(search, keys, err)) || (st = read_method(s, search, err)) ||
        (st = nn_cfg_read_int(s->base, "seed", 42, &seed, err)) ||
        (st = nn_cfg_read_int(search, "repeats", 1, &repeats, err)) ||
        (st = nn_cfg_read_int(search, "seed", seed, &seed, err)) ||
        (st = nn_cfg_read_int(search, "ranks_per_trial", 1, &ranks, err)) ||
        (st = nn_cfg_read_bool(search, "coordinator_trains", 1, &s->coordinator_trains, err)) ||
        (st = nn_cfg_read_int(search, "max_restarts", 3, &restarts, err)) ||
        (st = nn_cfg_read_string(search, "dir", NULL, &dir, err)))
        return st;
    s->seed = s->base_seed = (uint64_t)seed;
    if (repeats < 1 || repeats > 1000)
        return nn_cfg_fail(err, nn_cfg_get(search, "repeats"), "must be in [1, 1000]");
    s->repeats = (int)repeats;
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
        (st = refuse_other_methods_keys(s, search, err)) ||
        (st = apply_repeats(s, search, err)) || (st = check_paths(s, err)))
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

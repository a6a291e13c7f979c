/* The search space: the `search:` section read and checked, trial k's parameter values
 * (grid: the k-th point of the cartesian product, last parameter fastest; random: draws from
 * the counter-based stream (seed, NN_RNG_SEARCH, 0, k, parameter)), the trial configurations
 * built from them, the rungs of successive halving, and the hashes that tell a resumed search
 * whether its space changed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "nn/rng.h"
#include "search/search_internal.h"

#define MAX_TRIALS 100000

static const char *const search_keys[] = {
    "method", "metric", "trials", "seed", "ranks_per_trial", "coordinator_trains", "dir",
    "parameters", "min_epochs", "eta", "max_epochs", "max_restarts", NULL};
static const char *const method_names[] = {"grid", "random", "halving", NULL};
static const char *const param_keys[] = {"values", "distribution", "min", "max", "mu", "sigma",
                                         NULL};
static const char *const distribution_names[] = {"categorical", "uniform", "log_uniform",
                                                 "int_uniform", "normal", NULL};
static const char *const metric_names[] = {"val_loss", "val_accuracy", NULL};
static const char *const metric_keys[] = {"name", "goal", NULL};
static const char *const goal_names[] = {"maximize", "minimize", NULL};

const char *search_method_name(const nn_search *s)
{
    return method_names[s->method];
}

const char *nn_search_dir(const nn_search *s)
{
    return s->dir;
}

int nn_search_trial_count(const nn_search *s)
{
    return s->n_trials;
}

void nn_search_free(nn_search *s)
{
    if (!s)
        return;
    nn_cfg_free(s->cfg);
    nn_cfg_free(s->base);
    free(s->params);
    free(s);
}

/* ---- values -------------------------------------------------------------------------- */

static void append(char *out, size_t size, size_t *used, const char *text)
{
    size_t n = strlen(text);
    if (*used + 1 >= size)
        return;
    if (n > size - 1 - *used)
        n = size - 1 - *used;
    memcpy(out + *used, text, n);
    *used += n;
    out[*used] = '\0';
}

static void flow(const nn_cfg *node, char *out, size_t size, size_t *used)
{
    if (nn_cfg_kind_of(node) == NN_CFG_SCALAR) {
        const char *text = nn_cfg_scalar(node);
        int quote = !text[0] || strpbrk(text, ",:[]{}#\"'") != NULL;
        if (quote)
            append(out, size, used, "\"");
        append(out, size, used, text);
        if (quote)
            append(out, size, used, "\"");
        return;
    }
    int is_map = nn_cfg_kind_of(node) == NN_CFG_MAP;
    append(out, size, used, is_map ? "{" : "[");
    for (int i = 0; i < nn_cfg_size(node); i++) {
        if (i)
            append(out, size, used, ", ");
        if (is_map) {
            append(out, size, used, nn_cfg_key_at(node, i));
            append(out, size, used, ": ");
        }
        flow(nn_cfg_at(node, i), out, size, used);
    }
    append(out, size, used, is_map ? "}" : "]");
}

void search_flow_text(const nn_cfg *node, char *out, size_t size)
{
    size_t used = 0;
    if (size)
        out[0] = '\0';
    flow(node, out, size, &used);
}

/* Index of parameter p's value in grid point t (1-based). */
static int grid_index(const nn_search *s, int p, int64_t t)
{
    int64_t rest = t - 1;
    for (int q = s->n_params - 1; q > p; q--)
        rest /= s->params[q].n_values;
    return (int)(rest % s->params[p].n_values);
}

/* A drawn number as the text the trial's config holds: the value trained with is exactly
 * the value shown, so `nntrain train --set key=<text>` reproduces a trial. */
static void draw_text(const nn_search *s, int p, int64_t t, char *out, size_t size, int *index)
{
    const search_param *sp = &s->params[p];
    nn_rng rng = nn_rng_stream(s->seed, NN_RNG_SEARCH, 0, (uint64_t)t, (uint32_t)p);
    *index = -1;
    switch (sp->kind) {
    case PARAM_VALUES:
        *index = (int)nn_rng_below(&rng, (uint32_t)sp->n_values);
        break;
    case PARAM_UNIFORM:
        snprintf(out, size, "%.6g", sp->min + (sp->max - sp->min) * nn_rng_uniform_double(&rng));
        break;
    case PARAM_LOG_UNIFORM:
        snprintf(out, size, "%.6g", exp(log(sp->min) + (log(sp->max) - log(sp->min)) *
                                                          nn_rng_uniform_double(&rng)));
        break;
    case PARAM_INT_UNIFORM:
        snprintf(out, size, "%lld",
                 (long long)sp->min + (long long)nn_rng_below(&rng, (uint32_t)(sp->max - sp->min + 1)));
        break;
    case PARAM_NORMAL:
        snprintf(out, size, "%.6g", sp->mu + sp->sigma * (double)nn_rng_normal(&rng));
        break;
    }
}

nn_status search_param_value(const nn_search *s, int p, int64_t t, nn_cfg **out, nn_error *err)
{
    const search_param *sp = &s->params[p];
    char text[64];
    int index = s->random_draws ? -1 : grid_index(s, p, t);
    if (s->random_draws)
        draw_text(s, p, t, text, sizeof text, &index);
    if (index >= 0) {
        *out = nn_cfg_clone(nn_cfg_at(sp->values, index));
        return *out ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    char name[700];
    snprintf(name, sizeof name, "trial %lld's draw of search.parameters.%.400s (%.200s)",
             (long long)t, sp->path, nn_cfg_where(sp->spec));
    return nn_cfg_parse_value(text, name, out, err);
}

void search_param_text(const nn_search *s, int p, int64_t t, char *out, size_t size)
{
    nn_cfg *value = NULL;
    nn_error ignored = {0};
    if (search_param_value(s, p, t, &value, &ignored) == NN_OK)
        search_flow_text(value, out, size);
    else
        snprintf(out, size, "?");
    nn_cfg_free(value);
}

void nn_search_describe_trial(const nn_search *s, int trial, char *out, size_t size)
{
    size_t used = 0;
    if (size)
        out[0] = '\0';
    for (int p = 0; p < s->n_params; p++) {
        char value[256];
        search_param_text(s, p, trial, value, sizeof value);
        if (p)
            append(out, size, &used, " ");
        append(out, size, &used, s->params[p].path);
        append(out, size, &used, "=");
        append(out, size, &used, value);
    }
}

nn_status search_build_config(const nn_search *s, int64_t t, nn_cfg **out, nn_error *err)
{
    *out = nn_cfg_clone(s->base);
    if (!*out)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st = NN_OK;
    for (int p = 0; p < s->n_params && !st; p++) {
        nn_cfg *value = NULL;
        st = search_param_value(s, p, t, &value, err);
        if (!st)
            st = nn_cfg_set_node(*out, s->params[p].path, value, err);
        nn_cfg_free(value);
    }
    char assignment[96];
    if (!st && s->method == METHOD_HALVING) {
        snprintf(assignment, sizeof assignment, "train.epochs=%d", s->rung_epochs[s->n_rungs - 1]);
        st = nn_cfg_set(*out, assignment, err);
    }
    /* best.h5 of every trial is the best by the search's metric. */
    if (!st && !nn_cfg_lookup(*out, "train.checkpoint.monitor")) {
        snprintf(assignment, sizeof assignment, "train.checkpoint.monitor=%s", s->metric);
        st = nn_cfg_set(*out, assignment, err);
        snprintf(assignment, sizeof assignment, "train.checkpoint.mode=%s",
                 s->maximize ? "max" : "min");
        if (!st && !nn_cfg_lookup(*out, "train.checkpoint.mode"))
            st = nn_cfg_set(*out, assignment, err);
    }
    if (st) {
        nn_cfg_free(*out);
        *out = NULL;
    }
    return st;
}

nn_status nn_search_trial_config(const nn_search *s, int trial, nn_cfg **out, nn_error *err)
{
    if (trial < 1 || trial > s->n_trials)
        return nn_fail(err, NN_ERR_CONFIG, "no trial %d (the search has %d)", trial,
                       s->n_trials);
    return search_build_config(s, trial, out, err);
}

/* ---- differences --------------------------------------------------------------------- */

static int in_list(const char *key, const char *const *list)
{
    for (int i = 0; list && list[i]; i++)
        if (!strcmp(key, list[i]))
            return 1;
    return 0;
}

static int describe(const char *path, const char *what, char *out, size_t size)
{
    snprintf(out, size, "%s: %s", path[0] ? path : "the config", what);
    return 1;
}

static int differ(const nn_cfg *a, const nn_cfg *b, const char *const *skip, char *out,
                  size_t size)
{
    char what[600], ta[256], tb[256];
    if (nn_cfg_kind_of(a) != nn_cfg_kind_of(b) ||
        (nn_cfg_kind_of(a) == NN_CFG_SCALAR && strcmp(nn_cfg_scalar(a), nn_cfg_scalar(b)))) {
        search_flow_text(a, ta, sizeof ta);
        search_flow_text(b, tb, sizeof tb);
        snprintf(what, sizeof what, "%s -> %s", ta, tb);
        return describe(nn_cfg_path(b), what, out, size);
    }
    if (nn_cfg_kind_of(a) == NN_CFG_SEQ) {
        if (nn_cfg_size(a) != nn_cfg_size(b)) {
            snprintf(what, sizeof what, "%d entries -> %d", nn_cfg_size(a), nn_cfg_size(b));
            return describe(nn_cfg_path(b), what, out, size);
        }
        for (int i = 0; i < nn_cfg_size(a); i++)
            if (differ(nn_cfg_at(a, i), nn_cfg_at(b, i), NULL, out, size))
                return 1;
        return 0;
    }
    if (nn_cfg_kind_of(a) == NN_CFG_MAP) {
        for (int i = 0; i < nn_cfg_size(a); i++) {
            const char *key = nn_cfg_key_at(a, i);
            if (in_list(key, skip))
                continue;
            const nn_cfg *other = nn_cfg_get(b, key);
            if (!other) {
                search_flow_text(nn_cfg_at(a, i), ta, sizeof ta);
                snprintf(what, sizeof what, "%s -> (absent)", ta);
                return describe(nn_cfg_path(nn_cfg_at(a, i)), what, out, size);
            }
            if (differ(nn_cfg_at(a, i), other, NULL, out, size))
                return 1;
        }
        for (int i = 0; i < nn_cfg_size(b); i++) {
            const char *key = nn_cfg_key_at(b, i);
            if (in_list(key, skip) || nn_cfg_get(a, key))
                continue;
            search_flow_text(nn_cfg_at(b, i), tb, sizeof tb);
            snprintf(what, sizeof what, "(absent) -> %s", tb);
            return describe(nn_cfg_path(nn_cfg_at(b, i)), what, out, size);
        }
    }
    return 0;
}

int search_first_difference(const nn_cfg *a, const nn_cfg *b, const char *const *skip,
                            char *out, size_t size)
{
    out[0] = '\0';
    if (!a || !b)
        return a != b ? describe("", a ? "(present) -> (absent)" : "(absent) -> (present)",
                                 out, size)
                      : 0;
    return differ(a, b, skip, out, size);
}

/* ---- parsing ------------------------------------------------------------------------- */

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

static nn_status parse_param(nn_search *s, search_param *p, const char *key, const nn_cfg *spec,
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
        if (s->method == METHOD_HALVING && !strcmp(key, "train.epochs"))
            return nn_cfg_fail(err, nn_cfg_at(params, p), "halving sets train.epochs itself "
                               "(search.min_epochs, search.max_epochs)");
        if ((st = parse_param(s, &s->params[p], key, nn_cfg_at(params, p), err)))
            return st;
        if (!s->random_draws && s->params[p].kind != PARAM_VALUES)
            return nn_cfg_fail(err, nn_cfg_at(params, p), "a %s search takes values: [...] "
                               "for every parameter (distributions need method: random, or "
                               "search.trials for halving)", search_method_name(s));
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
        nn_status st = search_param_value(s, p, 1, &value, err);
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

static nn_status parse_rungs(nn_search *s, const nn_cfg *search, nn_error *err)
{
    s->n_rungs = 1;
    s->rung_epochs[0] = 0;
    s->rung_size[0] = s->n_trials;
    if (s->method != METHOD_HALVING) {
        static const char *const halving_only[] = {"min_epochs", "eta", "max_epochs", NULL};
        for (int i = 0; halving_only[i]; i++)
            if (nn_cfg_get(search, halving_only[i]))
                return nn_cfg_fail(err, nn_cfg_get(search, halving_only[i]),
                                   "only method: halving takes %s", halving_only[i]);
        return NN_OK;
    }
    int64_t epochs = 10, min_epochs, eta, max_epochs;
    nn_status st;
    if ((st = nn_cfg_read_int(nn_cfg_get(s->base, "train"), "epochs", 10, &epochs, err)) ||
        (st = nn_cfg_read_int(search, "min_epochs", 1, &min_epochs, err)) ||
        (st = nn_cfg_read_int(search, "eta", 3, &eta, err)) ||
        (st = nn_cfg_read_int(search, "max_epochs", epochs, &max_epochs, err)))
        return st;
    if (eta < 2)
        return nn_cfg_fail(err, nn_cfg_get(search, "eta"), "must be >= 2");
    if (min_epochs < 1 || max_epochs < min_epochs || max_epochs > 1000000)
        return nn_cfg_fail(err, nn_cfg_get(search, "min_epochs") ? nn_cfg_get(search, "min_epochs")
                                                                 : search,
                           "halving needs 1 <= min_epochs <= max_epochs (got %lld and %lld)",
                           (long long)min_epochs, (long long)max_epochs);
    s->eta = (int)eta;
    s->n_rungs = 0;
    for (int64_t e = min_epochs; e < max_epochs && s->n_rungs < SEARCH_MAX_RUNGS - 1; e *= eta)
        s->rung_epochs[s->n_rungs++] = (int)e;
    s->rung_epochs[s->n_rungs++] = (int)max_epochs;
    s->rung_size[0] = s->n_trials;
    for (int k = 1; k < s->n_rungs; k++)
        s->rung_size[k] = s->rung_size[k - 1] / s->eta > 0 ? s->rung_size[k - 1] / s->eta : 1;
    return NN_OK;
}

static void compute_hashes(nn_search *s)
{
    char line[1024];
    uint64_t h = NN_HASH_INIT;
    snprintf(line, sizeof line, "method=%s metric=%s maximize=%d trials=%d", search_method_name(s),
             s->metric, s->maximize, s->n_trials);
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
        search_flow_text(s->params[p].spec, line, sizeof line);
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
        return nn_fail(err, NN_ERR_CONFIG, "config: no 'search' section (see DESIGN.md: "
                       "search: {method, metric, parameters, ...})");
    /* The base: every top-level entry but the search section. */
    s->base = nn_cfg_new_map();
    if (!s->base)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st;
    for (int i = 0; i < nn_cfg_size(s->cfg); i++)
        if (strcmp(nn_cfg_key_at(s->cfg, i), "search") &&
            (st = nn_cfg_set_node(s->base, nn_cfg_key_at(s->cfg, i), nn_cfg_at(s->cfg, i), err)))
            return st;
    int method = 0;
    int64_t trials = 0, seed = 42, ranks = 1, restarts = 3;
    const char *dir = NULL;
    if ((st = nn_cfg_check_keys(search, search_keys, err)) ||
        (st = nn_cfg_read_choice(search, "method", method_names, "grid", &method, err)) ||
        (st = nn_cfg_read_int(s->base, "seed", 42, &seed, err)) ||
        (st = nn_cfg_read_int(search, "seed", seed, &seed, err)) ||
        (st = nn_cfg_read_int(search, "trials", 0, &trials, err)) ||
        (st = nn_cfg_read_int(search, "ranks_per_trial", 1, &ranks, err)) ||
        (st = nn_cfg_read_bool(search, "coordinator_trains", 1, &s->coordinator_trains, err)) ||
        (st = nn_cfg_read_int(search, "max_restarts", 3, &restarts, err)) ||
        (st = nn_cfg_read_string(search, "dir", NULL, &dir, err)))
        return st;
    s->method = (search_method)method;
    s->seed = (uint64_t)seed;
    if (ranks < 1 || ranks > 1 << 20)
        return nn_cfg_fail(err, nn_cfg_get(search, "ranks_per_trial"), "must be >= 1");
    if (restarts < 0 || restarts > 1000)
        return nn_cfg_fail(err, nn_cfg_get(search, "max_restarts"), "must be in [0, 1000]");
    s->ranks_per_trial = (int)ranks;
    s->max_restarts = (int)restarts;
    const nn_cfg *trials_node = nn_cfg_get(search, "trials");
    s->random_draws = s->method == METHOD_RANDOM || (s->method == METHOD_HALVING && trials_node);
    if (s->method == METHOD_GRID && trials_node)
        return nn_cfg_fail(err, trials_node, "a grid search runs every combination; trials "
                           "goes with method: random or halving");
    if (s->random_draws && (trials < 1 || trials > MAX_TRIALS))
        return nn_cfg_fail(err, trials_node ? trials_node : search, "%s needs trials: N "
                           "(1 to %d)", trials_node ? "search.trials" : "a random search",
                           MAX_TRIALS);
    if (dir && !dir[0])
        return nn_cfg_fail(err, nn_cfg_get(search, "dir"), "must not be empty");
    if (dir)
        snprintf(s->dir, sizeof s->dir, "%s", dir);
    else
        default_dir(s, config_name);
    if ((st = parse_metric(s, search, err)) || (st = parse_params(s, search, err)))
        return st;
    if (s->random_draws) {
        s->n_trials = (int)trials;
    } else {
        int64_t count = 1;
        for (int p = 0; p < s->n_params; p++) {
            count *= s->params[p].n_values;
            if (count > MAX_TRIALS)
                return nn_cfg_fail(err, nn_cfg_get(search, "parameters"), "the grid has more "
                                   "than %d combinations; use method: random with trials: N",
                                   MAX_TRIALS);
        }
        s->n_trials = (int)count;
    }
    if ((st = parse_rungs(s, search, err)) || (st = check_paths(s, err)))
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

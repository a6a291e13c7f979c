/* The search space turned into trials: parameter p's value in trial k (the method picks
 * it: a grid point, a draw), as a config node and as one line of text, and the trial
 * configurations built from the base config with the trial's values in place. */
#include <stdlib.h>
#include <string.h>

#include "search/method.h"

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
    for (int p = 0; s->params && p < s->n_params; p++)
        nn_cfg_free(s->params[p].own_values);
    free(s->params);
    nni_search_proposals_free(s->proposals);
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

void nni_search_flow_text(const nn_cfg *node, char *out, size_t size)
{
    size_t used = 0;
    if (size)
        out[0] = '\0';
    flow(node, out, size, &used);
}

int64_t nni_search_config_of(const nn_search *s, int64_t trial)
{
    return (trial - 1) / s->repeats + 1;
}

int nni_search_repeat_of(const nn_search *s, int64_t trial)
{
    return (int)((trial - 1) % s->repeats);
}

nn_status nni_search_config_param_value(const nn_search *s, int p, int64_t c, nn_cfg **out,
                                        nn_error *err)
{
    const nni_search_param *sp = &s->params[p];
    char text[64];
    int index = s->method->value(s, p, c, text, sizeof text);
    *out = NULL;
    if (index == SEARCH_UNDECIDED)
        return nn_fail(err, NN_ERR_CONFIG, "configuration %lld's search.parameters.%.400s is "
                       "chosen once the results of the trials before it are in", (long long)c,
                       sp->path);
    if (index >= 0) {
        *out = nn_cfg_clone(nn_cfg_at(sp->values, index));
        return *out ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    char name[700];
    snprintf(name, sizeof name, "configuration %lld's draw of search.parameters.%.400s (%.200s)",
             (long long)c, sp->path, nn_cfg_where(sp->spec));
    return nn_cfg_parse_value(text, name, out, err);
}

nn_status nni_search_param_value(const nn_search *s, int p, int64_t t, nn_cfg **out,
                                 nn_error *err)
{
    return nni_search_config_param_value(s, p, nni_search_config_of(s, t), out, err);
}

int nni_search_trial_decided(const nn_search *s, int64_t t)
{
    char text[64];
    for (int p = 0; p < s->n_params; p++)
        if (s->method->value(s, p, nni_search_config_of(s, t), text, sizeof text) ==
            SEARCH_UNDECIDED)
            return 0;
    return 1;
}

void nni_search_config_param_text(const nn_search *s, int p, int64_t c, char *out, size_t size)
{
    nn_cfg *value = NULL;
    nn_error ignored = {0};
    if (nni_search_config_param_value(s, p, c, &value, &ignored) == NN_OK)
        nni_search_flow_text(value, out, size);
    else
        snprintf(out, size, "?");
    nn_cfg_free(value);
}

void nni_search_param_text(const nn_search *s, int p, int64_t t, char *out, size_t size)
{
    nni_search_config_param_text(s, p, nni_search_config_of(s, t), out, size);
}

void nn_search_describe_trial(const nn_search *s, int trial, char *out, size_t size)
{
    size_t used = 0;
    if (size)
        out[0] = '\0';
    for (int p = 0; p < s->n_params; p++) {
        char value[256];
        nni_search_param_text(s, p, trial, value, sizeof value);
        if (p)
            append(out, size, &used, " ");
        append(out, size, &used, s->params[p].path);
        append(out, size, &used, "=");
        append(out, size, &used, value);
    }
    if (s->repeats > 1) {
        char seed[48];
        snprintf(seed, sizeof seed, "%sseed=%llu", s->n_params ? " " : "",
                 (unsigned long long)(s->base_seed + (uint64_t)nni_search_repeat_of(s, trial)));
        append(out, size, &used, seed);
    }
}

nn_status nni_search_build_config(const nn_search *s, int64_t t, nn_cfg **out, nn_error *err)
{
    *out = nn_cfg_clone(s->base);
    if (!*out)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st = NN_OK;
    for (int p = 0; p < s->n_params && !st; p++) {
        nn_cfg *value = NULL;
        st = nni_search_param_value(s, p, t, &value, err);
        if (!st)
            st = nn_cfg_set_node(*out, s->params[p].path, value, err);
        nn_cfg_free(value);
    }
    if (!st && s->method->adjust_config)
        st = s->method->adjust_config(s, *out, err);
    char assignment[96];
    if (!st && s->repeats > 1) {
        snprintf(assignment, sizeof assignment, "seed=%llu",
                 (unsigned long long)(s->base_seed + (uint64_t)nni_search_repeat_of(s, t)));
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
    return nni_search_build_config(s, trial, out, err);
}

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

void nni_search_flow_text(const nn_cfg *node, char *out, size_t size)
{
    size_t used = 0;
    if (size)
        out[0] = '\0';
    flow(node, out, size, &used);
}

nn_status nni_search_param_value(const nn_search *s, int p, int64_t t, nn_cfg **out,
                                 nn_error *err)
{
    const nni_search_param *sp = &s->params[p];
    char text[64];
    int index = s->method->value(s, p, t, text, sizeof text);
    if (index >= 0) {
        *out = nn_cfg_clone(nn_cfg_at(sp->values, index));
        return *out ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    char name[700];
    snprintf(name, sizeof name, "trial %lld's draw of search.parameters.%.400s (%.200s)",
             (long long)t, sp->path, nn_cfg_where(sp->spec));
    return nn_cfg_parse_value(text, name, out, err);
}

void nni_search_param_text(const nn_search *s, int p, int64_t t, char *out, size_t size)
{
    nn_cfg *value = NULL;
    nn_error ignored = {0};
    if (nni_search_param_value(s, p, t, &value, &ignored) == NN_OK)
        nni_search_flow_text(value, out, size);
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
        nni_search_param_text(s, p, trial, value, sizeof value);
        if (p)
            append(out, size, &used, " ");
        append(out, size, &used, s->params[p].path);
        append(out, size, &used, "=");
        append(out, size, &used, value);
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

/* Formulas and their named parameters as written in the config: the errors point at the
 * config text first and at the character of the formula second. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formula/graph.h"

static int is_function(const char *name)
{
    for (int op = 0; op < OP_COUNT; op++)
        if (nni_formula_op_table[op].name && strcmp(nni_formula_op_table[op].name, name) == 0)
            return 1;
    return strcmp(name, "pi") == 0;
}

static int is_identifier(const char *name)
{
    if (!name[0] || !(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z') ||
                      (name[0] >= 'A' && name[0] <= 'Z')))
        return 0;
    for (const char *c = name; *c; c++)
        if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9')))
            return 0;
    return 1;
}

nn_status nni_formula_read_params(const nn_cfg *params, const char *const *taken,
                                  nni_formula_params *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    if (!params)
        return NN_OK;
    if (nn_cfg_kind_of(params) != NN_CFG_MAP)
        return nn_cfg_fail(err, params, "expected a map of names and numbers, e.g. "
                           "{beta: 1.5}");
    int n_taken = 0;
    while (taken[n_taken])
        n_taken++;
    const int room = NNI_FORMULA_MAX_VARS - n_taken - 1; /* one left for an output gradient */
    if (nn_cfg_size(params) > room)
        return nn_cfg_fail(err, params, "at most %d parameters", room);
    for (int i = 0; i < nn_cfg_size(params); i++) {
        const char *name = nn_cfg_key_at(params, i);
        const nn_cfg *node = nn_cfg_at(params, i);
        for (int k = 0; taken[k]; k++)
            if (strcmp(taken[k], name) == 0)
                return nn_cfg_fail(err, node, "'%s' is a variable of the formula, not a "
                                   "parameter", name);
        if (is_function(name) || !is_identifier(name) || strlen(name) >= NNI_FORMULA_NAME_MAX)
            return nn_cfg_fail(err, node, "'%s' cannot be a parameter's name (a function, "
                               "not a name or too long)", name);
        double value = 0;
        nn_status st = nn_cfg_read_double(params, name, 0, &value, err);
        if (st)
            return st;
        if (!isfinite(value))
            return nn_cfg_fail(err, node, "parameter '%s' must be finite", name);
        snprintf(out->names[out->count], NNI_FORMULA_NAME_MAX, "%s", name);
        out->values[out->count] = value;
        out->count++;
    }
    return NN_OK;
}

nn_status nni_formula_parse_cfg(const nn_cfg *node, const char *const *vars, nni_formula **out,
                                nn_error *err)
{
    *out = NULL;
    const char *text = nn_cfg_scalar(node);
    if (!text)
        return nn_cfg_fail(err, node, "expected a formula in a string, e.g. \"x * "
                           "sigmoid(x)\"");
    nn_error inner = {0};
    nn_status st = nni_formula_parse(text, vars, out, &inner);
    if (st == NN_ERR_CONFIG)
        return nn_cfg_fail(err, node, "%s", inner.msg);
    if (st && err)
        *err = inner;
    return st;
}

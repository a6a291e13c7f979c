/* Named parameters of catalogue entries: reading, key checks and their help text (see
 * config/catalogue.h). */
#include "config/catalogue.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { MAX_ALLOWED_KEYS = 64 };

static const char *range_problem(nni_param_range range, double value)
{
    switch (range) {
    case NNI_RANGE_POSITIVE:
        return value > 0 ? NULL : "must be > 0";
    case NNI_RANGE_NON_NEGATIVE:
        return value >= 0 ? NULL : "must be >= 0";
    case NNI_RANGE_AT_LEAST_ONE:
        return value >= 1 ? NULL : "must be >= 1";
    case NNI_RANGE_UNIT_OPEN:
        return value >= 0 && value < 1 ? NULL : "must be in [0, 1)";
    case NNI_RANGE_UNIT_CLOSED:
        return value >= 0 && value <= 1 ? NULL : "must be in [0, 1]";
    case NNI_RANGE_UNIT_INTERIOR:
        return value > 0 && value < 1 ? NULL : "must be in (0, 1)";
    default:
        return NULL;
    }
}

static nn_status read_one(const nn_cfg *map, const nni_param *p, void *settings,
                          nn_error *err)
{
    char *field = (char *)settings + p->offset;
    double value = p->def;
    nn_status st = NN_OK;
    switch (p->type) {
    case NNI_PARAM_BOOL:
        return nn_cfg_read_bool(map, p->key, p->def != 0, (int *)(void *)field, err);
    case NNI_PARAM_INT: {
        int64_t whole = (int64_t)p->def;
        if ((st = nn_cfg_read_int(map, p->key, whole, &whole, err)))
            return st;
        value = (double)whole;
        *(int64_t *)(void *)field = whole;
        break;
    }
    case NNI_PARAM_NUMBER:
    case NNI_PARAM_FLOAT:
        if ((st = nn_cfg_read_double(map, p->key, p->def, &value, err)))
            return st;
        if (p->type == NNI_PARAM_FLOAT)
            *(float *)(void *)field = (float)value;
        else
            *(double *)(void *)field = value;
        break;
    default:
        return NN_OK;
    }
    const nn_cfg *at = nn_cfg_get(map, p->key);
    if (!isfinite(value))
        return nn_cfg_fail(err, at ? at : map, "%s must be a finite number, got %g", p->key,
                           value);
    const char *problem = range_problem(p->range, value);
    if (problem)
        return nn_cfg_fail(err, at ? at : map, "%s %s, got %g", p->key, problem, value);
    return NN_OK;
}

nn_status nni_params_read(const nn_cfg *map, const nni_param *params, void *settings,
                          nn_error *err)
{
    for (const nni_param *p = params; p && p->key; p++) {
        nn_status st = read_one(map, p, settings, err);
        if (st)
            return st;
    }
    return NN_OK;
}

nn_status nni_params_check_keys(const nn_cfg *map, const char *const *common,
                                const nni_param *params, const nni_param *more_params,
                                nn_error *err)
{
    const char *allowed[MAX_ALLOWED_KEYS + 1];
    int n = 0;
    for (const char *const *k = common; k && *k && n < MAX_ALLOWED_KEYS; k++)
        allowed[n++] = *k;
    for (const nni_param *p = params; p && p->key && n < MAX_ALLOWED_KEYS; p++)
        allowed[n++] = p->key;
    for (const nni_param *p = more_params; p && p->key && n < MAX_ALLOWED_KEYS; p++)
        allowed[n++] = p->key;
    allowed[n] = NULL;
    return nn_cfg_check_keys(map, allowed, err);
}

void nni_params_describe(const nni_param *params, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const nni_param *p = params; p && p->key && used < size; p++) {
        const char *sep = used ? " " : "";
        int n;
        if (p->shown)
            n = snprintf(buf + used, size - used, "%s%s=%s", sep, p->key, p->shown);
        else if (p->type == NNI_PARAM_BOOL)
            n = snprintf(buf + used, size - used, "%s%s=%s", sep, p->key,
                         p->def != 0 ? "true" : "false");
        else
            n = snprintf(buf + used, size - used, "%s%s=%g", sep, p->key, p->def);
        used += n > 0 ? (size_t)n : 0;
    }
}

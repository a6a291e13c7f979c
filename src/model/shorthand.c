/* Architecture shorthands, expanded into an ordinary layer list before the build:
 *   mlp: [256, 128, 64, 10]                      dense layers, relu between them
 *   mlp: {units: [256, 128, 10], activation: tanh, dropout: 0.2, batchnorm: true}
 * The expansion is written as YAML text and parsed, so the result is exactly what a user
 * would have written by hand (and shows up as such in the summary). */
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

static const char *const mlp_keys[] = {"units", "activation", "dropout", "batchnorm", NULL};

static int append(char **text, size_t *len, size_t *cap, const char *piece)
{
    size_t n = strlen(piece);
    if (*len + n + 1 > *cap) {
        size_t bigger = (*cap + n + 1) * 2;
        char *grown = realloc(*text, bigger);
        if (!grown)
            return -1;
        *text = grown;
        *cap = bigger;
    }
    memcpy(*text + *len, piece, n + 1);
    *len += n;
    return 0;
}

static nn_status expand_mlp(const nn_cfg *parent, const nn_cfg *mlp, nn_cfg **expanded,
                            nn_error *err)
{
    const nn_cfg *map = nn_cfg_kind_of(mlp) == NN_CFG_MAP ? mlp : NULL;
    const char *activation = "relu";
    double dropout = 0;
    int batchnorm = 0;
    int64_t units[256];
    int count = 256;
    nn_status st;
    if (map) {
        if ((st = nn_cfg_check_keys(map, mlp_keys, err)) ||
            (st = nn_cfg_read_string(map, "activation", "relu", &activation, err)) ||
            (st = nn_cfg_read_double(map, "dropout", 0, &dropout, err)) ||
            (st = nn_cfg_read_bool(map, "batchnorm", 0, &batchnorm, err)))
            return st;
        if (!nn_cfg_get(map, "units"))
            return nn_cfg_fail(err, map, "mlp needs 'units' (a list of layer widths)");
        st = nn_cfg_read_ints(map, "units", units, &count, err);
    } else {
        st = nn_cfg_read_ints(parent, "mlp", units, &count, err);
    }
    if (st)
        return st;
    if (count < 1 || count > 255)
        return nn_cfg_fail(err, mlp, "mlp needs 1 to 255 widths");
    for (int i = 0; i < count; i++)
        if (units[i] < 1)
            return nn_cfg_fail(err, mlp, "mlp widths must be >= 1");
    if (dropout < 0 || dropout >= 1)
        return nn_cfg_fail(err, nn_cfg_get(map, "dropout"), "dropout must be in [0, 1)");
    char *text = NULL;
    size_t len = 0, cap = 0;
    int failed = append(&text, &len, &cap, "");
    for (int i = 0; i < count && !failed; i++) {
        char line[256];
        int last = i == count - 1;
        if (last || !batchnorm) {
            snprintf(line, sizeof line, "- {name: dense%d, type: dense, units: %lld%s%s}\n",
                     i + 1, (long long)units[i], last ? "" : ", activation: ",
                     last ? "" : activation);
            failed |= append(&text, &len, &cap, line);
        } else {
            snprintf(line, sizeof line,
                     "- {name: dense%d, type: dense, units: %lld, bias: false}\n"
                     "- {name: bn%d, type: batchnorm, activation: %s}\n",
                     i + 1, (long long)units[i], i + 1, activation);
            failed |= append(&text, &len, &cap, line);
        }
        if (!last && dropout > 0 && !failed) {
            snprintf(line, sizeof line, "- {name: dropout%d, type: dropout, p: %g}\n", i + 1,
                     dropout);
            failed |= append(&text, &len, &cap, line);
        }
    }
    if (failed) {
        free(text);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    st = nn_cfg_parse_value(text, "mlp shorthand", expanded, err);
    free(text);
    return st;
}

nn_status nn_model_expand_shorthands(const nn_cfg *model_cfg, nn_cfg **expanded,
                                     nn_error *err)
{
    *expanded = NULL;
    const nn_cfg *mlp = nn_cfg_get(model_cfg, "mlp");
    if (!mlp)
        return NN_OK;
    if (nn_cfg_get(model_cfg, "layers"))
        return nn_cfg_fail(err, mlp, "give either 'mlp' or 'layers', not both");
    return expand_mlp(model_cfg, mlp, expanded, err);
}

/* Architecture shorthands, expanded into an ordinary layer list before the build:
 *   mlp: [256, 128, 64, 10]                      dense layers, relu between them
 *   mlp: {units: [256, 128, 10], activation: tanh, dropout: 0.2, batchnorm: true}
 *   mlp: {geometric: {base: 2, layers: 8}, units: [10]}   widths 2, 4, ..., 256, then 10
 *   layers: [..., {repeat: 3, layers: [...]}, ...]   three copies of a block of layers
 * The mlp expansion is written as YAML text and parsed, so the result is exactly what a user
 * would have written by hand (and shows up as such in the summary). Repeated blocks are
 * copies of the config nodes themselves, so errors inside still point at the block's text.
 *
 * In copy k (1-based) of a block, a layer named `n` becomes `n_k`, and `inputs:` naming a
 * layer of the block refer to that layer of the same copy; `block_input` names what enters
 * the copy (the layer before the block, or the previous copy's last layer), for residual
 * blocks. Blocks may be nested; unnamed layers get the usual automatic names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

static const char *const mlp_keys[] = {"units", "activation", "dropout", "batchnorm", "geometric",
                                       NULL};
static const char *const geometric_keys[] = {"base", "layers", NULL};

/* `geometric: {base: k, layers: n}`: the widths k, k^2, ..., k^n (the width-vs-depth
 * exercise's MLP whose i-th layer has k^i units). */
static nn_status geometric_widths(const nn_cfg *node, int64_t *units, int *count, nn_error *err)
{
    int64_t base = 0, layers = 0;
    nn_status st;
    if ((st = nn_cfg_check_keys(node, geometric_keys, err)) ||
        (st = nn_cfg_read_int(node, "base", 0, &base, err)) ||
        (st = nn_cfg_read_int(node, "layers", 0, &layers, err)))
        return st;
    if (base < 2 || layers < 1 || layers > 64)
        return nn_cfg_fail(err, node, "geometric needs base >= 2 and layers in [1, 64]");
    int64_t width = 1;
    for (int i = 0; i < layers; i++) {
        if (width > (1 << 24) / base)
            return nn_cfg_fail(err, node, "%lld^%d units is more than 2^24",
                               (long long)base, i + 1);
        width *= base;
        units[(*count)++] = width;
    }
    return NN_OK;
}

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
        const nn_cfg *geometric = nn_cfg_get(map, "geometric");
        if (!nn_cfg_get(map, "units") && !geometric)
            return nn_cfg_fail(err, map, "mlp needs 'units' (a list of layer widths) or "
                               "'geometric'");
        int first = 0;
        if (geometric && (st = geometric_widths(geometric, units, &first, err)))
            return st;
        count = 256 - first;
        if (nn_cfg_get(map, "units"))
            st = nn_cfg_read_ints(map, "units", units + first, &count, err);
        else
            count = 0;
        count += first;
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

/* ---- repeat blocks ---------------------------------------------------------------- */

static const char *const repeat_keys[] = {"repeat", "layers", NULL};

#define MAX_BLOCK_NAMES 256

static int is_block(const nn_cfg *item)
{
    return nn_cfg_kind_of(item) == NN_CFG_MAP && nn_cfg_get(item, "repeat") != NULL;
}

static const char *layer_name(const nn_cfg *layer)
{
    const nn_cfg *name = nn_cfg_get(layer, "name");
    return name ? nn_cfg_scalar(name) : NULL;
}

/* Name of what the next layer appended to `seq` takes as its default input; `start` when
 * seq is empty ("input" for the model, "block_input" inside a block body, which the
 * enclosing block resolves per copy). */
static const char *previous_name(const nn_cfg *seq, const char *start)
{
    int n = nn_cfg_size(seq);
    return n == 0 ? start : layer_name(nn_cfg_at(seq, n - 1));
}

static nn_status expand_list(const nn_cfg *layers, nn_cfg *out, const char *start,
                             nn_error *err);

/* Rewrites one `inputs:` reference of a copied layer. */
static nn_status rename_reference(nn_cfg *ref, const char *const *names, int n_names, int copy,
                                  const char *block_input, const nn_cfg *block, nn_error *err)
{
    const char *text = nn_cfg_scalar(ref);
    if (!text)
        return NN_OK; /* the build reports malformed inputs */
    if (strcmp(text, "block_input") == 0) {
        if (!block_input)
            return nn_cfg_fail(err, ref, "block_input needs the layer before this copy of the "
                                         "block to have a name (%s)", nn_cfg_where(block));
        return nn_cfg_set_text(ref, block_input, err);
    }
    for (int i = 0; i < n_names; i++)
        if (strcmp(names[i], text) == 0) {
            char renamed[NN_NAME_MAX + 16];
            snprintf(renamed, sizeof renamed, "%s_%d", text, copy);
            return nn_cfg_set_text(ref, renamed, err);
        }
    return NN_OK;
}

static nn_status expand_block(const nn_cfg *block, nn_cfg *out, const char *start,
                              nn_error *err)
{
    int64_t repeat = 0;
    nn_status st;
    if ((st = nn_cfg_check_keys(block, repeat_keys, err)) ||
        (st = nn_cfg_read_int(block, "repeat", 1, &repeat, err)))
        return st;
    if (repeat < 1 || repeat > 1000)
        return nn_cfg_fail(err, nn_cfg_get(block, "repeat"), "must be in [1, 1000] (copies of "
                                                             "the block)");
    const nn_cfg *inner = nn_cfg_get(block, "layers");
    if (!inner || nn_cfg_kind_of(inner) != NN_CFG_SEQ || nn_cfg_size(inner) == 0)
        return nn_cfg_fail(err, inner ? inner : block, "a repeat block needs 'layers', a "
                                                       "non-empty list of layers");
    nn_cfg_mark(block);
    /* Nested blocks first: the block body as plain layers. */
    nn_cfg *body = nn_cfg_new_seq();
    if (!body)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    st = expand_list(inner, body, "block_input", err);
    const char *names[MAX_BLOCK_NAMES];
    int n_names = 0;
    for (int i = 0; !st && i < nn_cfg_size(body); i++) {
        const nn_cfg *layer = nn_cfg_at(body, i);
        const char *name = nn_cfg_kind_of(layer) == NN_CFG_MAP ? layer_name(layer) : NULL;
        if (name && n_names == MAX_BLOCK_NAMES)
            st = nn_cfg_fail(err, block, "at most %d named layers in a block", MAX_BLOCK_NAMES);
        else if (name)
            names[n_names++] = name;
    }
    for (int copy = 1; !st && copy <= repeat; copy++) {
        char block_input[NN_NAME_MAX + 16];
        const char *before = previous_name(out, start);
        if (before)
            snprintf(block_input, sizeof block_input, "%s", before);
        for (int i = 0; !st && i < nn_cfg_size(body); i++) {
            nn_cfg *layer = nn_cfg_clone(nn_cfg_at(body, i));
            if (!layer) {
                st = nn_fail(err, NN_ERR_OTHER, "out of memory");
                break;
            }
            if (nn_cfg_kind_of(layer) == NN_CFG_MAP) {
                nn_cfg *name = nn_cfg_get(layer, "name");
                if (name && nn_cfg_scalar(name))
                    st = rename_reference(name, names, n_names, copy, NULL, block, err);
                nn_cfg *inputs = nn_cfg_get(layer, "inputs");
                if (!st && inputs && nn_cfg_kind_of(inputs) == NN_CFG_SCALAR)
                    st = rename_reference(inputs, names, n_names, copy,
                                          before ? block_input : NULL, block, err);
                for (int k = 0; !st && inputs && nn_cfg_kind_of(inputs) == NN_CFG_SEQ &&
                                k < nn_cfg_size(inputs); k++)
                    st = rename_reference(nn_cfg_at(inputs, k), names, n_names, copy,
                                          before ? block_input : NULL, block, err);
            }
            if (st || (st = nn_cfg_append(out, layer, err)))
                nn_cfg_free(layer);
        }
    }
    nn_cfg_free(body);
    return st;
}

/* Copies `layers` into out, expanding repeat blocks. */
static nn_status expand_list(const nn_cfg *layers, nn_cfg *out, const char *start,
                             nn_error *err)
{
    for (int i = 0; i < nn_cfg_size(layers); i++) {
        const nn_cfg *item = nn_cfg_at(layers, i);
        if (is_block(item)) {
            nn_status st = expand_block(item, out, start, err);
            if (st)
                return st;
            continue;
        }
        nn_cfg *copy = nn_cfg_clone(item);
        if (!copy)
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
        nn_status st = nn_cfg_append(out, copy, err);
        if (st) {
            nn_cfg_free(copy);
            return st;
        }
    }
    return NN_OK;
}

static nn_status expand_repeats(const nn_cfg *layers, nn_cfg **expanded, nn_error *err)
{
    int any = 0;
    for (int i = 0; i < nn_cfg_size(layers); i++)
        any |= is_block(nn_cfg_at(layers, i));
    if (!any)
        return NN_OK;
    nn_cfg *out = nn_cfg_new_seq();
    if (!out)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st = expand_list(layers, out, "input", err);
    if (st) {
        nn_cfg_free(out);
        return st;
    }
    *expanded = out;
    return NN_OK;
}

nn_status nni_model_expand_shorthands(const nn_cfg *model_cfg, nn_cfg **expanded,
                                      nn_error *err)
{
    *expanded = NULL;
    const nn_cfg *mlp = nn_cfg_get(model_cfg, "mlp");
    const nn_cfg *layers = nn_cfg_get(model_cfg, "layers");
    if (!mlp)
        return nn_cfg_kind_of(layers) == NN_CFG_SEQ ? expand_repeats(layers, expanded, err)
                                                    : NN_OK;
    if (layers)
        return nn_cfg_fail(err, mlp, "give either 'mlp' or 'layers', not both");
    return expand_mlp(model_cfg, mlp, expanded, err);
}

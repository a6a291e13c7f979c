/* The first difference between two config trees, for the message that refuses to resume a
 * search whose space or base config changed ("train.epochs: 5 -> 6"). */
#include <string.h>

#include "search/space.h"

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
        nni_search_flow_text(a, ta, sizeof ta);
        nni_search_flow_text(b, tb, sizeof tb);
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
                nni_search_flow_text(nn_cfg_at(a, i), ta, sizeof ta);
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
            nni_search_flow_text(nn_cfg_at(b, i), tb, sizeof tb);
            snprintf(what, sizeof what, "(absent) -> %s", tb);
            return describe(nn_cfg_path(nn_cfg_at(b, i)), what, out, size);
        }
    }
    return 0;
}

int nni_search_first_difference(const nn_cfg *a, const nn_cfg *b, const char *const *skip,
                                char *out, size_t size)
{
    out[0] = '\0';
    if (!a || !b)
        return a != b ? describe("", a ? "(present) -> (absent)" : "(absent) -> (present)",
                                 out, size)
                      : 0;
    return differ(a, b, skip, out, size);
}

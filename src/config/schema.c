/* Reading a configuration: typed readers of map entries, choices, key checks.
 *
 * Readers convert a scalar's text when asked and fail with the value's location and path
 * ("cfg.yaml:3:9: train.optimizer.lr: expected a number, got 'fast'"). A NULL map reads as
 * an empty one, so an absent section gives the defaults. Readers also leave marks (what
 * they read, which keys they asked for), which nn_cfg_check_unread() uses to find keys that
 * no consumer looked at. */
#include "config/cfg_internal.h"

#include <stdlib.h>
#include <string.h>

void nni_cfg_mark_read(const nn_cfg *node)
{
    if (node)
        ((nn_cfg *)node)->read = 1; /* bookkeeping only; the tree's content is unchanged */
}

void nn_cfg_mark(const nn_cfg *node)
{
    if (!node)
        return;
    nni_cfg_mark_read(node);
    for (int i = 0; i < node->count; i++)
        nn_cfg_mark(node->entries[i].value);
}

void nni_cfg_note_asked(const nn_cfg *map, const char *key)
{
    nn_cfg *m = (nn_cfg *)map;
    for (int i = 0; i < m->n_asked; i++)
        if (strcmp(m->asked[i], key) == 0)
            return;
    /* Out of memory only costs a suggestion. */
    char **grown = realloc(m->asked, (size_t)(m->n_asked + 1) * sizeof *grown);
    if (!grown)
        return;
    m->asked = grown;
    if ((m->asked[m->n_asked] = nni_cfg_strdup(key)))
        m->n_asked++;
}

static nn_status expect_map(const nn_cfg *map, nn_error *err)
{
    if (map->kind == NN_CFG_MAP)
        return NN_OK;
    char what[128];
    nni_cfg_describe(map, what, sizeof what);
    return nn_cfg_fail(err, map, "expected a mapping of keys, got %s", what);
}

/* The value of key in map, or NULL; marks both. */
static nn_status entry_value(const nn_cfg *map, const char *key, const nn_cfg **value,
                             nn_error *err)
{
    *value = NULL;
    if (!map)
        return NN_OK;
    nn_status st = expect_map(map, err);
    if (st)
        return st;
    nni_cfg_mark_read(map);
    nni_cfg_note_asked(map, key);
    *value = nn_cfg_get(map, key);
    nni_cfg_mark_read(*value);
    return NN_OK;
}

static nn_status expected(const nn_cfg *node, const char *what, nn_error *err)
{
    char got[128];
    nni_cfg_describe(node, got, sizeof got);
    return nn_cfg_fail(err, node, "expected %s, got %s", what, got);
}

nn_status nn_cfg_read_double(const nn_cfg *map, const char *key, double def, double *out,
                             nn_error *err)
{
    const nn_cfg *v;
    nn_status st = entry_value(map, key, &v, err);
    if (st)
        return st;
    if (!v) {
        *out = def;
        return NN_OK;
    }
    double value;
    int r = v->kind == NN_CFG_SCALAR ? nni_cfg_parse_double(v->text, &value) : 0;
    if (r == -1)
        return expected(v, "a number in double range", err);
    if (r != 1)
        return expected(v, "a number", err);
    *out = value;
    return NN_OK;
}

static nn_status scalar_int(const nn_cfg *v, int64_t *out, nn_error *err)
{
    long long value;
    int r = v->kind == NN_CFG_SCALAR ? nni_cfg_parse_int(v->text, &value) : 0;
    if (r == -1)
        return expected(v, "an integer in 64-bit range", err);
    if (r != 1) /* not a number, or one with a fraction */
        return expected(v, "an integer", err);
    *out = (int64_t)value;
    return NN_OK;
}

nn_status nn_cfg_read_int(const nn_cfg *map, const char *key, int64_t def, int64_t *out,
                          nn_error *err)
{
    const nn_cfg *v;
    nn_status st = entry_value(map, key, &v, err);
    if (st)
        return st;
    if (!v) {
        *out = def;
        return NN_OK;
    }
    return scalar_int(v, out, err);
}

nn_status nn_cfg_read_bool(const nn_cfg *map, const char *key, int def, int *out, nn_error *err)
{
    const nn_cfg *v;
    nn_status st = entry_value(map, key, &v, err);
    if (st)
        return st;
    if (!v) {
        *out = def;
        return NN_OK;
    }
    if (v->kind != NN_CFG_SCALAR || !nni_cfg_parse_bool(v->text, out))
        return expected(v, "true or false", err);
    return NN_OK;
}

nn_status nn_cfg_read_string(const nn_cfg *map, const char *key, const char *def, const char **out,
                             nn_error *err)
{
    const nn_cfg *v;
    nn_status st = entry_value(map, key, &v, err);
    if (st)
        return st;
    if (!v) {
        *out = def;
        return NN_OK;
    }
    if (v->kind != NN_CFG_SCALAR)
        return expected(v, "a string", err);
    *out = v->text;
    return NN_OK;
}

static int choice_index(const char *text, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(text, choices[i]) == 0)
            return i;
    /* "Adam" means adam; nobody writes two choices that differ only in case. */
    for (int i = 0; choices[i]; i++) {
        const char *a = text, *b = choices[i];
        while (*a && *b) {
            char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
            char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
            if (ca != cb)
                break;
            a++;
            b++;
        }
        if (!*a && !*b)
            return i;
    }
    return -1;
}

/* "a, b, c", shortened with "..." when it does not fit. */
static void join_names(const char *const *names, int count, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < count; i++) {
        size_t len = strlen(names[i]);
        if (n + len + 2 + 4 >= size) {
            memcpy(buf + n, "...", 4);
            return;
        }
        if (i) {
            memcpy(buf + n, ", ", 2);
            n += 2;
        }
        memcpy(buf + n, names[i], len + 1);
        n += len;
    }
}

static int count_names(const char *const *names)
{
    int n = 0;
    while (names[n])
        n++;
    return n;
}

nn_status nn_cfg_read_choice(const nn_cfg *map, const char *key, const char *const *choices,
                             const char *def, int *index, nn_error *err)
{
    const char *text = NULL;
    nn_status st = nn_cfg_read_string(map, key, def, &text, err);
    if (st)
        return st;
    *index = -1;
    if (!text)
        return NN_OK;
    *index = choice_index(text, choices);
    if (*index >= 0)
        return NN_OK;
    const nn_cfg *v = nn_cfg_get(map, key);
    if (!v) /* the default itself is not a choice: a bug in the caller */
        return nn_fail(err, NN_ERR_OTHER, "%s%s%s: default '%s' is not a valid choice",
                       map && map->path[0] ? map->path : "", map && map->path[0] ? "." : "", key,
                       def);
    char names[512], got[128];
    join_names(choices, count_names(choices), names, sizeof names);
    nni_cfg_describe(v, got, sizeof got);
    const char *close = nni_cfg_closest(text, choices);
    if (close)
        return nn_cfg_fail(err, v, "expected one of %s, got %s (did you mean '%s'?)", names, got,
                           close);
    return nn_cfg_fail(err, v, "expected one of %s, got %s", names, got);
}

nn_status nn_cfg_fail_unknown(nn_error *err, const nn_cfg *where, const char *what,
                              const char *name, const char *const *names)
{
    char list[900];
    join_names(names, count_names(names), list, sizeof list);
    const char *closest = nni_cfg_closest(name, names);
    if (closest)
        return nn_cfg_fail(err, where, "unknown %s '%s' (did you mean '%s'?); valid: %s", what,
                           name, closest, list);
    return nn_cfg_fail(err, where, "unknown %s '%s'; valid: %s", what, name, list);
}

nn_status nn_cfg_read_variant(const nn_cfg *node, const char *what, const char *const *names,
                              int *index, const nn_cfg **map, nn_error *err)
{
    *index = -1;
    *map = NULL;
    const char *name = nn_cfg_scalar(node);
    const nn_cfg *where = node;
    if (!name) {
        const char *article = strchr("aeiou", what[0]) ? "an" : "a";
        if (nn_cfg_kind_of(node) != NN_CFG_MAP)
            return nn_cfg_fail(err, node, "%s %s is a name or {type: name, ...}", article, what);
        nn_status st = nn_cfg_read_string(node, "type", NULL, &name, err);
        if (st)
            return st;
        if (!name)
            return nn_cfg_fail(err, node, "%s needs a 'type'", what);
        *map = node;
        where = nn_cfg_get(node, "type");
    }
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) {
            *index = i;
            return NN_OK;
        }
    return nn_cfg_fail_unknown(err, where, what, name, names);
}

nn_status nn_cfg_read_ints(const nn_cfg *map, const char *key, int64_t *values, int *count,
                           nn_error *err)
{
    const nn_cfg *v;
    nn_status st = entry_value(map, key, &v, err);
    if (st)
        return st;
    int capacity = *count;
    *count = 0;
    if (!v)
        return NN_OK;
    if (v->kind == NN_CFG_MAP)
        return expected(v, "an integer or a list of integers", err);
    if (v->kind == NN_CFG_SCALAR) {
        if (capacity < 1)
            return nn_cfg_fail(err, v, "expected no value here");
        if ((st = scalar_int(v, &values[0], err)))
            return st;
        *count = 1;
        return NN_OK;
    }
    if (v->count > capacity)
        return nn_cfg_fail(err, v, "expected at most %d integer%s, got %d", capacity,
                           capacity == 1 ? "" : "s", v->count);
    for (int i = 0; i < v->count; i++) {
        const nn_cfg *item = v->entries[i].value;
        nni_cfg_mark_read(item);
        if ((st = scalar_int(item, &values[i], err)))
            return st;
    }
    *count = v->count;
    return NN_OK;
}

static nn_status unknown_key(const nn_cfg *map, const cfg_entry *e, const char *const *known,
                             int n_known, nn_error *err)
{
    char key[128], names[512];
    nni_cfg_quote_text(e->key, key, sizeof key);
    const char *close = n_known ? nni_cfg_closest(e->key, known) : NULL;
    if (close)
        return nni_cfg_fail_at(err, e->key_where, map->path,
                               "unknown key '%s' (did you mean '%s'?)", key, close);
    if (!n_known)
        return nni_cfg_fail_at(err, e->key_where, map->path, "unknown key '%s'", key);
    join_names(known, n_known, names, sizeof names);
    return nni_cfg_fail_at(err, e->key_where, map->path, "unknown key '%s' (valid keys: %s)", key,
                           names);
}

nn_status nn_cfg_check_keys(const nn_cfg *map, const char *const *allowed, nn_error *err)
{
    if (!map)
        return NN_OK;
    nn_status st = expect_map(map, err);
    if (st)
        return st;
    nni_cfg_mark_read(map);
    int n_allowed = allowed ? count_names(allowed) : 0;
    for (int i = 0; i < n_allowed; i++)
        nni_cfg_note_asked(map, allowed[i]);
    for (int i = 0; i < map->count; i++) {
        int known = 0;
        for (int j = 0; j < n_allowed && !known; j++)
            known = strcmp(map->entries[i].key, allowed[j]) == 0;
        if (!known)
            return unknown_key(map, &map->entries[i], allowed, n_allowed, err);
    }
    return NN_OK;
}

static int subtree_read(const nn_cfg *node)
{
    if (node->read)
        return 1;
    for (int i = 0; i < node->count; i++)
        if (subtree_read(node->entries[i].value))
            return 1;
    return 0;
}

nn_status nn_cfg_check_unread(const nn_cfg *node, nn_error *err)
{
    if (!node || node->kind == NN_CFG_SCALAR)
        return NN_OK;
    for (int i = 0; i < node->count; i++) {
        const cfg_entry *e = &node->entries[i];
        if (!subtree_read(e->value)) {
            if (node->kind == NN_CFG_MAP) {
                /* The asked list is NULL-terminated for nni_cfg_closest(). */
                char **known = calloc((size_t)node->n_asked + 1, sizeof *known);
                if (!known)
                    return nni_cfg_oom(err);
                if (node->n_asked)
                    memcpy(known, node->asked, (size_t)node->n_asked * sizeof *known);
                nn_status st = unknown_key(node, e, (const char *const *)known, node->n_asked, err);
                free(known);
                return st;
            }
            return nn_cfg_fail(err, e->value, "this entry is not used");
        }
        nn_status st = nn_cfg_check_unread(e->value, err);
        if (st)
            return st;
    }
    return NN_OK;
}

/* The configuration tree: nodes, their paths and locations, navigation, cloning, freeing,
 * comparison and building trees in code. Parsing is in yaml.c, emitting in emit.c, command
 * line overrides in override.c, typed reading and validation in schema.c. */
#include "config/cfg_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *nni_cfg_strndup(const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

char *nni_cfg_strdup(const char *s)
{
    return nni_cfg_strndup(s, strlen(s));
}

char *nni_cfg_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

nn_cfg *nni_cfg_node_new(nn_cfg_kind kind, const char *path, const char *where)
{
    nn_cfg *node = calloc(1, sizeof *node);
    if (!node)
        return NULL;
    node->kind = kind;
    node->path = nni_cfg_strdup(path);
    node->where = nni_cfg_strdup(where);
    if (!node->path || !node->where) {
        nn_cfg_free(node);
        return NULL;
    }
    return node;
}

nn_cfg *nni_cfg_scalar_new(const char *text, int quoted, const char *path, const char *where)
{
    nn_cfg *node = nni_cfg_node_new(NN_CFG_SCALAR, path, where);
    if (!node)
        return NULL;
    node->quoted = quoted;
    node->text = nni_cfg_strdup(text);
    if (!node->text) {
        nn_cfg_free(node);
        return NULL;
    }
    return node;
}

int nni_cfg_append(nn_cfg *node, const char *key, const char *key_where, nn_cfg *value)
{
    if (node->count == node->cap) {
        int cap = node->cap ? 2 * node->cap : 4;
        cfg_entry *grown = realloc(node->entries, (size_t)cap * sizeof *grown);
        if (!grown)
            return 0;
        node->entries = grown;
        node->cap = cap;
    }
    cfg_entry *e = &node->entries[node->count];
    memset(e, 0, sizeof *e);
    if (key) {
        e->key = nni_cfg_strdup(key);
        e->key_where = nni_cfg_strdup(key_where ? key_where : "");
        if (!e->key || !e->key_where) {
            free(e->key);
            free(e->key_where);
            return 0;
        }
    }
    e->value = value;
    node->count++;
    return 1;
}

int nni_cfg_find(const nn_cfg *map, const char *key)
{
    if (!map || map->kind != NN_CFG_MAP)
        return -1;
    for (int i = 0; i < map->count; i++)
        if (strcmp(map->entries[i].key, key) == 0)
            return i;
    return -1;
}

char *nni_cfg_child_path(const char *parent, const char *key, int index)
{
    if (!key)
        return nni_cfg_printf("%s[%d]", parent, index);
    if (!parent[0])
        return nni_cfg_strdup(key);
    return nni_cfg_printf("%s.%s", parent, key);
}

int nni_cfg_rebase(nn_cfg *node, const char *path)
{
    char *new_path = nni_cfg_strdup(path);
    if (!new_path)
        return 0;
    free(node->path);
    node->path = new_path;
    for (int i = 0; i < node->count; i++) {
        cfg_entry *e = &node->entries[i];
        char *child = nni_cfg_child_path(path, e->key, i);
        int ok = child && nni_cfg_rebase(e->value, child);
        free(child);
        if (!ok)
            return 0;
    }
    return 1;
}

long nni_cfg_count_nodes(const nn_cfg *node)
{
    long n = 1;
    for (int i = 0; i < node->count; i++)
        n += nni_cfg_count_nodes(node->entries[i].value);
    return n;
}

void nn_cfg_free(nn_cfg *node)
{
    if (!node)
        return;
    for (int i = 0; i < node->count; i++) {
        free(node->entries[i].key);
        free(node->entries[i].key_where);
        nn_cfg_free(node->entries[i].value);
    }
    for (int i = 0; i < node->n_asked; i++)
        free(node->asked[i]);
    free(node->asked);
    free(node->entries);
    free(node->text);
    free(node->path);
    free(node->where);
    free(node);
}

/* A clone keeps paths and locations (they still describe where the text came from) and
 * starts with no read marks. */
nn_cfg *nn_cfg_clone(const nn_cfg *node)
{
    if (!node)
        return NULL;
    nn_cfg *copy = nni_cfg_node_new(node->kind, node->path, node->where);
    if (!copy)
        return NULL;
    copy->quoted = node->quoted;
    if (node->text && !(copy->text = nni_cfg_strdup(node->text)))
        goto oom;
    for (int i = 0; i < node->count; i++) {
        const cfg_entry *e = &node->entries[i];
        nn_cfg *child = nn_cfg_clone(e->value);
        if (!child)
            goto oom;
        if (!nni_cfg_append(copy, e->key, e->key_where, child)) {
            nn_cfg_free(child);
            goto oom;
        }
        copy->entries[copy->count - 1].merged = e->merged;
    }
    return copy;
oom:
    nn_cfg_free(copy);
    return NULL;
}

nn_cfg_kind nn_cfg_kind_of(const nn_cfg *node)
{
    return node ? node->kind : NN_CFG_SCALAR;
}

const char *nn_cfg_path(const nn_cfg *node)
{
    return node ? node->path : "";
}

const char *nn_cfg_where(const nn_cfg *node)
{
    return node ? node->where : "";
}

int nn_cfg_size(const nn_cfg *node)
{
    return node && node->kind != NN_CFG_SCALAR ? node->count : 0;
}

nn_cfg *nn_cfg_at(const nn_cfg *node, int i)
{
    if (!node || node->kind == NN_CFG_SCALAR || i < 0 || i >= node->count)
        return NULL;
    return node->entries[i].value;
}

const char *nn_cfg_key_at(const nn_cfg *map, int i)
{
    if (!map || map->kind != NN_CFG_MAP || i < 0 || i >= map->count)
        return NULL;
    return map->entries[i].key;
}

const char *nn_cfg_scalar(const nn_cfg *node)
{
    if (!node || node->kind != NN_CFG_SCALAR)
        return NULL;
    nni_cfg_mark_read(node);
    return node->text;
}

int nni_cfg_is_null_text(const char *text)
{
    return !text[0] || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

int nn_cfg_is_null(const nn_cfg *node)
{
    return node && node->kind == NN_CFG_SCALAR && !node->quoted && nni_cfg_is_null_text(node->text);
}

nn_cfg *nn_cfg_get(const nn_cfg *map, const char *key)
{
    int i = nni_cfg_find(map, key);
    return i < 0 ? NULL : map->entries[i].value;
}

int nni_cfg_next_step(const nn_cfg *node, const char **cursor, int first, cfg_step *step)
{
    const char *p = *cursor;
    if (!*p)
        return 0;
    memset(step, 0, sizeof *step);
    if (*p == '[') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        long index = 0;
        while (*p >= '0' && *p <= '9') {
            if (index > 100000000L)
                return -1;
            index = 10 * index + (*p++ - '0');
        }
        if (*p++ != ']')
            return -1;
        step->is_index = 1;
        step->index = index;
        *cursor = p;
        return 1;
    }
    if (!first) {
        if (*p != '.')
            return -1;
        p++;
    }
    /* The longest existing key that the path spells out wins; otherwise the key runs to
     * the next separator. */
    size_t best = 0;
    if (node && node->kind == NN_CFG_MAP) {
        for (int i = 0; i < node->count; i++) {
            size_t len = strlen(node->entries[i].key);
            if (len > best && strncmp(p, node->entries[i].key, len) == 0 &&
                (p[len] == '\0' || p[len] == '.' || p[len] == '['))
                best = len;
        }
    }
    if (!best)
        best = strcspn(p, ".[]");
    if (!best || p[best] == ']')
        return -1;
    step->key = p;
    step->key_len = best;
    *cursor = p + best;
    return 1;
}

nn_cfg *nn_cfg_lookup(const nn_cfg *root, const char *path)
{
    if (!root || !path)
        return NULL;
    const nn_cfg *node = root;
    const char *cursor = path;
    cfg_step step;
    int r, first = 1;
    while ((r = nni_cfg_next_step(node, &cursor, first, &step)) == 1) {
        first = 0;
        if (step.is_index) {
            if (node->kind != NN_CFG_SEQ || step.index >= node->count)
                return NULL;
            node = node->entries[step.index].value;
        } else {
            if (node->kind != NN_CFG_MAP)
                return NULL;
            const nn_cfg *next = NULL;
            for (int i = 0; i < node->count && !next; i++)
                if (strlen(node->entries[i].key) == step.key_len &&
                    strncmp(node->entries[i].key, step.key, step.key_len) == 0)
                    next = node->entries[i].value;
            if (!next)
                return NULL;
            node = next;
        }
    }
    return r == 0 ? (nn_cfg *)node : NULL;
}

int nn_cfg_equal(const nn_cfg *a, const nn_cfg *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->count != b->count)
        return 0;
    if (a->kind == NN_CFG_SCALAR)
        return strcmp(a->text, b->text) == 0;
    for (int i = 0; i < a->count; i++) {
        if (a->kind == NN_CFG_MAP && strcmp(a->entries[i].key, b->entries[i].key) != 0)
            return 0;
        if (!nn_cfg_equal(a->entries[i].value, b->entries[i].value))
            return 0;
    }
    return 1;
}

nn_cfg *nn_cfg_new_map(void)
{
    return nni_cfg_node_new(NN_CFG_MAP, "", "");
}

nn_status nn_cfg_put(nn_cfg *map, const char *key, const char *scalar_text, nn_error *err)
{
    if (!map || map->kind != NN_CFG_MAP)
        return nni_cfg_fail_at(err, map ? map->where : "", map ? map->path : "",
                               "cannot put key '%s': not a mapping", key);
    char *path = nni_cfg_child_path(map->path, key, 0);
    if (!path)
        return nni_cfg_oom(err);
    nn_cfg *value = nni_cfg_scalar_new(scalar_text, 0, path, "");
    free(path);
    if (!value)
        return nni_cfg_oom(err);
    int i = nni_cfg_find(map, key);
    if (i >= 0) {
        nn_cfg_free(map->entries[i].value);
        map->entries[i].value = value;
        map->entries[i].merged = 0;
        return NN_OK;
    }
    if (!nni_cfg_append(map, key, "", value)) {
        nn_cfg_free(value);
        return nni_cfg_oom(err);
    }
    return NN_OK;
}

nn_cfg *nn_cfg_new_seq(void)
{
    return nni_cfg_node_new(NN_CFG_SEQ, "", "");
}

nn_status nn_cfg_append(nn_cfg *seq, nn_cfg *value, nn_error *err)
{
    if (!seq || seq->kind != NN_CFG_SEQ || !value)
        return nn_fail(err, NN_ERR_OTHER, "appending needs a sequence and a value");
    if (!nni_cfg_append(seq, NULL, NULL, value))
        return nni_cfg_oom(err);
    return NN_OK;
}

nn_status nn_cfg_set_text(nn_cfg *scalar, const char *text, nn_error *err)
{
    if (!scalar || scalar->kind != NN_CFG_SCALAR)
        return nn_fail(err, NN_ERR_OTHER, "setting text needs a scalar");
    char *copy = nni_cfg_strdup(text);
    if (!copy)
        return nni_cfg_oom(err);
    free(scalar->text);
    scalar->text = copy;
    return NN_OK;
}

/* Command-line overrides, `--set train.optimizer.lr=0.01`, and placing a node at a path.
 *
 * The value is parsed as YAML, so `[1, 2]` and `{type: sgd}` are a list and a mapping. Its
 * nodes are located at "--set <path>", which is what later errors about them print:
 * "--set train.optimizer.lr: expected a number, got 'x'". Missing maps along the path are
 * created; a sequence index must exist. Errors about the path itself name the whole
 * override as the user typed it. */
#include "config/cfg_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *shown_path(const nn_cfg *node)
{
    return node->path[0] ? node->path : "the top level";
}

/* Undoes the maps place() created before it failed: they are all below the first one. */
static void remove_last_entry(nn_cfg *map)
{
    cfg_entry *e = &map->entries[--map->count];
    free(e->key);
    free(e->key_where);
    nn_cfg_free(e->value);
}

/* One step down from node towards value's place; *slot receives the entry to descend into
 * or to fill. Creates a missing map unless this is the last step (then *slot is NULL and
 * *key the key to add). */
static nn_status step_into(nn_cfg *node, const cfg_step *step, int last, const char *next,
                           const char *label, const char *where_new, cfg_entry **slot, char **key,
                           int *created, nn_error *err)
{
    *slot = NULL;
    *key = NULL;
    *created = 0;
    if (step->is_index) {
        if (node->kind != NN_CFG_SEQ)
            return nni_cfg_fail_at(err, label, "", "%s is not a list, it cannot take [%ld]",
                                   shown_path(node), step->index);
        if (step->index >= node->count)
            return nni_cfg_fail_at(err, label, "", "index %ld is past the end of %s (%d entr%s)",
                                   step->index, shown_path(node), node->count,
                                   node->count == 1 ? "y" : "ies");
        *slot = &node->entries[step->index];
        return NN_OK;
    }
    if (node->kind == NN_CFG_SEQ)
        return nni_cfg_fail_at(err, label, "", "%s is a list; use %s[N] to pick an entry",
                               shown_path(node), node->path);
    if (node->kind == NN_CFG_SCALAR) {
        char what[128];
        nni_cfg_describe(node, what, sizeof what);
        return nni_cfg_fail_at(err, label, "", "%s is %s, not a mapping", shown_path(node), what);
    }
    if (!(*key = nni_cfg_strndup(step->key, step->key_len)))
        return nni_cfg_oom(err);
    int i = nni_cfg_find(node, *key);
    if (i >= 0) {
        *slot = &node->entries[i];
        return NN_OK;
    }
    if (last)
        return NN_OK;
    char *child_path = nni_cfg_child_path(node->path, *key, 0);
    if (!child_path)
        return nni_cfg_oom(err);
    if (*next == '[') {
        nn_status st =
            nni_cfg_fail_at(err, label, "", "%s does not exist, it cannot be indexed", child_path);
        free(child_path);
        return st;
    }
    nn_cfg *child = nni_cfg_node_new(NN_CFG_MAP, child_path, where_new);
    free(child_path);
    if (!child || !nni_cfg_append(node, *key, where_new, child)) {
        nn_cfg_free(child);
        return nni_cfg_oom(err);
    }
    *slot = &node->entries[node->count - 1];
    *created = 1;
    return NN_OK;
}

/* Puts value at path below root, taking it only on success; on failure the tree is as it
 * was. Errors start with label; maps created on the way are located at where_new. */
static nn_status place(nn_cfg *root, const char *path, nn_cfg *value, const char *label,
                       const char *where_new, nn_error *err)
{
    nn_cfg *node = root, *created_below = NULL;
    const char *cursor = path;
    cfg_step step;
    nn_status st = NN_OK;
    int r = nni_cfg_next_step(node, &cursor, 1, &step);
    if (r == 0)
        return nni_cfg_fail_at(err, label, "", "missing the key to set");
    for (;;) {
        if (r < 0) {
            st = nni_cfg_fail_at(err, label, "",
                                 "malformed key path (expected names joined by '.', with [N] to "
                                 "index lists)");
            break;
        }
        int last = !*cursor, created;
        cfg_entry *slot;
        char *key;
        st = step_into(node, &step, last, cursor, label, where_new, &slot, &key, &created, err);
        if (!st && last) {
            char *child_path = nni_cfg_child_path(node->path, key, (int)step.index);
            if (!child_path || !nni_cfg_rebase(value, child_path)) {
                st = nni_cfg_oom(err);
            } else if (slot) {
                nn_cfg_free(slot->value);
                slot->value = value;
                slot->merged = 0;
            } else if (!nni_cfg_append(node, key, where_new, value)) {
                st = nni_cfg_oom(err);
            }
            free(child_path);
            free(key);
            if (!st)
                return NN_OK;
            break;
        }
        free(key);
        if (st)
            break;
        if (created && !created_below)
            created_below = node;
        node = slot->value;
        r = nni_cfg_next_step(node, &cursor, 0, &step);
    }
    if (created_below)
        remove_last_entry(created_below);
    return st;
}

static char *trimmed(const char *begin, const char *end)
{
    while (begin < end && (*begin == ' ' || *begin == '\t'))
        begin++;
    while (end > begin && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return nni_cfg_strndup(begin, (size_t)(end - begin));
}

/* 1 when s is well-formed UTF-8 as YAML reads it: no stray or missing continuation bytes, no
 * overlong forms, no surrogates, nothing above U+10FFFF. A key is taken as written (the value
 * goes through the YAML parser, which checks this itself); a key YAML would refuse could be
 * set here but not read back from the run's config.yaml. */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned lead = *p;
        int width = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3
                                    : (lead & 0xF8) == 0xF0 ? 4 : 0;
        if (!width)
            return 0;
        unsigned long value = width == 1 ? lead : lead & (0x7Fu >> width);
        for (int i = 1; i < width; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            value = value << 6 | (p[i] & 0x3Fu);
        }
        static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (value < least[width] || (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF)
            return 0;
        p += width;
    }
    return 1;
}

nn_status nn_cfg_set(nn_cfg *root, const char *assignment, nn_error *err)
{
    if (!root || root->kind != NN_CFG_MAP)
        return nn_fail(err, NN_ERR_OTHER, "overrides need a configuration mapping");
    char *label = nni_cfg_printf("--set %s", assignment), *path = NULL, *origin = NULL;
    nn_cfg *value = NULL;
    nn_status st = NN_OK;
    const char *eq = strchr(assignment, '=');
    if (!label) {
        st = nni_cfg_oom(err);
    } else if (!eq) {
        st = nni_cfg_fail_at(err, label, "", "expected KEY=VALUE, e.g. train.optimizer.lr=0.01");
    } else if (!(path = trimmed(assignment, eq)) || !(origin = nni_cfg_printf("--set %s", path))) {
        st = nni_cfg_oom(err);
    } else if (!path[0]) {
        st = nni_cfg_fail_at(err, label, "", "missing the key before '='");
    } else if (!utf8_valid(path)) {
        st = nni_cfg_fail_at(err, label, "", "the key is not valid UTF-8 text");
    } else {
        st = nni_cfg_parse(eq + 1, strlen(eq + 1), origin, origin, path, 1, &value, err);
        if (!st)
            st = place(root, path, value, label, origin, err);
        if (st)
            nn_cfg_free(value);
    }
    free(label);
    free(path);
    free(origin);
    return st;
}

nn_status nn_cfg_set_node(nn_cfg *root, const char *path, const nn_cfg *value, nn_error *err)
{
    if (!root || root->kind != NN_CFG_MAP || !value)
        return nn_fail(err, NN_ERR_OTHER,
                       "setting a configuration node needs a mapping and a value");
    nn_cfg *copy = nn_cfg_clone(value);
    if (!copy)
        return nni_cfg_oom(err);
    nn_status st = place(root, path, copy, path, copy->where, err);
    if (st)
        nn_cfg_free(copy);
    return st;
}

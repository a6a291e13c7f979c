/* YAML text to configuration tree, with libyaml's event parser.
 *
 * Every node records where its text starts (1-based line and column), map entries also where
 * their key starts, so errors found long after parsing can point at the text. Scalars keep
 * their text; nothing is converted here. Anchors and aliases are expanded into copies (with
 * a cap on the total size, so a few lines of nested aliases cannot exhaust memory), and the
 * merge key "<<" works as in YAML 1.1: explicit keys win over merged ones, earlier merges
 * over later ones. Duplicate keys are errors. */
#include "config/cfg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* More nodes than any real configuration; reached only by alias expansion gone wild. */
#define CFG_MAX_NODES 1000000L

typedef struct anchor {
    char *name;
    nn_cfg *node; /* a private copy of the anchored node */
    long size;
} anchor;

typedef struct parse_state {
    yaml_parser_t parser;
    const char *text;
    size_t len;
    const char *name;
    const char *origin;
    anchor *anchors;
    int n_anchors, cap_anchors;
    long nodes;
    nn_error *err;
} parse_state;

static char *where_of(const parse_state *s, yaml_mark_t mark)
{
    if (s->origin)
        return nni_cfg_strdup(s->origin);
    return nni_cfg_printf("%s:%zu:%zu", s->name, mark.line + 1, mark.column + 1);
}

static nn_status fail_at_mark(parse_state *s, yaml_mark_t mark, const char *path, const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));
static nn_status fail_at_mark(parse_state *s, yaml_mark_t mark, const char *path, const char *fmt,
                              ...)
{
    char *where = where_of(s, mark);
    if (!where)
        return nni_cfg_oom(s->err);
    va_list ap;
    va_start(ap, fmt);
    nn_status st = nni_cfg_vfail_at(s->err, where, path, fmt, ap);
    va_end(ap);
    free(where);
    return st;
}

static nn_status syntax_error(parse_state *s)
{
    yaml_parser_t *p = &s->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return nni_cfg_oom(s->err);
    yaml_mark_t mark = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset only. */
        mark.line = mark.column = 0;
        mark.index = p->problem_offset;
        for (size_t i = 0; i < p->problem_offset && i < s->len; i++) {
            if (s->text[i] == '\n') {
                mark.line++;
                mark.column = 0;
            } else if (((unsigned char)s->text[i] & 0xC0) != 0x80) {
                mark.column++;
            }
        }
    }
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (s->origin) {
        char value[128];
        nni_cfg_quote_text(s->text, value, sizeof value);
        /* Values are usually one line: say where in the text, not which line. */
        if (mark.index >= s->len)
            return nni_cfg_fail_at(s->err, s->origin, "",
                                   "invalid YAML value '%s': %s (at the end)", value, problem);
        return nni_cfg_fail_at(s->err, s->origin, "",
                               "invalid YAML value '%s': %s (at character %zu)", value, problem,
                               mark.index + 1);
    }
    if (p->context && p->error != YAML_READER_ERROR)
        return nn_fail(s->err, NN_ERR_CONFIG, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu)",
                       s->name, mark.line + 1, mark.column + 1, problem, p->context,
                       p->context_mark.line + 1);
    return nn_fail(s->err, NN_ERR_CONFIG, "%s:%zu:%zu: YAML syntax error: %s", s->name,
                   mark.line + 1, mark.column + 1, problem);
}

static nn_status next_event(parse_state *s, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&s->parser, ev))
        return syntax_error(s);
    return NN_OK;
}

static anchor *find_anchor(parse_state *s, const char *name)
{
    for (int i = 0; i < s->n_anchors; i++)
        if (strcmp(s->anchors[i].name, name) == 0)
            return &s->anchors[i];
    return NULL;
}

/* Keeps a private copy, so later changes to the tree (merges steal entries) cannot
 * affect what an alias expands to. A redefined anchor replaces the old one, as in YAML. */
static nn_status define_anchor(parse_state *s, const char *name, const nn_cfg *node)
{
    nn_cfg *copy = nn_cfg_clone(node);
    if (!copy)
        return nni_cfg_oom(s->err);
    anchor *a = find_anchor(s, name);
    if (a) {
        nn_cfg_free(a->node);
    } else {
        if (s->n_anchors == s->cap_anchors) {
            int cap = s->cap_anchors ? 2 * s->cap_anchors : 8;
            anchor *grown = realloc(s->anchors, (size_t)cap * sizeof *grown);
            if (!grown) {
                nn_cfg_free(copy);
                return nni_cfg_oom(s->err);
            }
            s->anchors = grown;
            s->cap_anchors = cap;
        }
        a = &s->anchors[s->n_anchors];
        if (!(a->name = nni_cfg_strdup(name))) {
            nn_cfg_free(copy);
            return nni_cfg_oom(s->err);
        }
        s->n_anchors++;
    }
    a->node = copy;
    a->size = nni_cfg_count_nodes(copy);
    return NN_OK;
}

static nn_status count_node(parse_state *s, yaml_mark_t mark, const char *path, long n)
{
    s->nodes += n;
    if (s->nodes > CFG_MAX_NODES)
        return fail_at_mark(s, mark, path,
                            "too many values after expanding aliases (more than %ld)",
                            CFG_MAX_NODES);
    return NN_OK;
}

static nn_status parse_node(parse_state *s, const yaml_event_t *ev, const char *path, nn_cfg **out);

static int is_str_tag(const yaml_char_t *tag)
{
    return tag && (strcmp((const char *)tag, "tag:yaml.org,2002:str") == 0 ||
                   strcmp((const char *)tag, "!!str") == 0);
}

static nn_status parse_scalar(parse_state *s, const yaml_event_t *ev, const char *path,
                              nn_cfg **out)
{
    char *where = where_of(s, ev->start_mark);
    char *text = nni_cfg_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    int quoted =
        ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_str_tag(ev->data.scalar.tag);
    *out = where && text ? nni_cfg_scalar_new(text, quoted, path, where) : NULL;
    free(where);
    free(text);
    return *out ? NN_OK : nni_cfg_oom(s->err);
}

static nn_status parse_alias(parse_state *s, const yaml_event_t *ev, const char *path, nn_cfg **out)
{
    const char *name = (const char *)ev->data.alias.anchor;
    anchor *a = find_anchor(s, name);
    if (!a)
        return fail_at_mark(s, ev->start_mark, path, "unknown alias '*%s'", name);
    nn_status st = count_node(s, ev->start_mark, path, a->size);
    if (st)
        return st;
    /* The copy keeps the anchored text's locations: that is where its values are written. */
    *out = nn_cfg_clone(a->node);
    if (!*out || !nni_cfg_rebase(*out, path)) {
        nn_cfg_free(*out);
        *out = NULL;
        return nni_cfg_oom(s->err);
    }
    return NN_OK;
}

static nn_status parse_seq(parse_state *s, const yaml_event_t *start, const char *path,
                           nn_cfg **out)
{
    char *where = where_of(s, start->start_mark);
    nn_cfg *seq = where ? nni_cfg_node_new(NN_CFG_SEQ, path, where) : NULL;
    free(where);
    if (!seq)
        return nni_cfg_oom(s->err);
    nn_status st;
    for (;;) {
        yaml_event_t ev;
        if ((st = next_event(s, &ev)))
            break;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            *out = seq;
            return NN_OK;
        }
        char *child_path = nni_cfg_child_path(path, NULL, seq->count);
        nn_cfg *child = NULL;
        st = child_path ? parse_node(s, &ev, child_path, &child) : nni_cfg_oom(s->err);
        free(child_path);
        yaml_event_delete(&ev);
        if (st)
            break;
        if (!nni_cfg_append(seq, NULL, NULL, child)) {
            nn_cfg_free(child);
            st = nni_cfg_oom(s->err);
            break;
        }
    }
    nn_cfg_free(seq);
    return st;
}

/* Line number in a "name:line:col" location, 0 when there is none. */
static long line_of(const char *where)
{
    const char *last = strrchr(where, ':');
    if (!last || last == where)
        return 0;
    const char *p = last - 1;
    while (p > where && *p >= '0' && *p <= '9')
        p--;
    return *p == ':' ? strtol(p + 1, NULL, 10) : 0;
}

static nn_status merge_from(parse_state *s, nn_cfg *map, nn_cfg *src, yaml_mark_t mark)
{
    if (src->kind != NN_CFG_MAP)
        return fail_at_mark(s, mark, map->path,
                            "the merge key '<<' takes a mapping or a list of mappings");
    for (int i = 0; i < src->count; i++) {
        cfg_entry *e = &src->entries[i];
        if (nni_cfg_find(map, e->key) >= 0)
            continue;
        char *child_path = nni_cfg_child_path(map->path, e->key, 0);
        int ok = child_path && nni_cfg_rebase(e->value, child_path) &&
                 nni_cfg_append(map, e->key, e->key_where, e->value);
        free(child_path);
        if (!ok)
            return nni_cfg_oom(s->err);
        map->entries[map->count - 1].merged = 1;
        e->value = NULL;
    }
    return NN_OK;
}

static nn_status merge_value(parse_state *s, nn_cfg *map, nn_cfg *value, yaml_mark_t mark)
{
    if (value->kind != NN_CFG_SEQ)
        return merge_from(s, map, value, mark);
    for (int i = 0; i < value->count; i++) {
        nn_status st = merge_from(s, map, value->entries[i].value, mark);
        if (st)
            return st;
    }
    return NN_OK;
}

static const char *kind_name(yaml_event_type_t type)
{
    switch (type) {
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "something else";
    }
}

/* One entry: key event already read. Returns the entry's status. */
static nn_status parse_entry(parse_state *s, nn_cfg *map, const yaml_event_t *key_ev)
{
    const char *key = (const char *)key_ev->data.scalar.value;
    int is_merge = key_ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                   !key_ev->data.scalar.tag && strcmp(key, "<<") == 0;
    char *key_where = where_of(s, key_ev->start_mark);
    char *child_path = nni_cfg_child_path(map->path, key, 0);
    nn_cfg *value = NULL;
    nn_status st;
    yaml_event_t ev;
    if (!key_where || !child_path) {
        st = nni_cfg_oom(s->err);
        goto done;
    }
    if ((st = next_event(s, &ev)))
        goto done;
    st = parse_node(s, &ev, is_merge ? map->path : child_path, &value);
    yaml_event_delete(&ev);
    if (st)
        goto done;
    if (is_merge) {
        st = merge_value(s, map, value, key_ev->start_mark);
        goto done;
    }
    int i = nni_cfg_find(map, key);
    if (i >= 0 && !map->entries[i].merged) {
        st = fail_at_mark(s, key_ev->start_mark, map->path,
                          "duplicate key '%s' at lines %ld and %zu", key,
                          line_of(map->entries[i].key_where), key_ev->start_mark.line + 1);
        goto done;
    }
    if (i >= 0) {
        /* An explicit key replaces what a merge brought in. */
        cfg_entry *e = &map->entries[i];
        free(e->key_where);
        nn_cfg_free(e->value);
        e->key_where = key_where;
        e->value = value;
        e->merged = 0;
        key_where = NULL;
        value = NULL;
    } else if (nni_cfg_append(map, key, key_where, value)) {
        value = NULL;
    } else {
        st = nni_cfg_oom(s->err);
    }
done:
    nn_cfg_free(value);
    free(key_where);
    free(child_path);
    return st;
}

static nn_status parse_map(parse_state *s, const yaml_event_t *start, const char *path,
                           nn_cfg **out)
{
    char *where = where_of(s, start->start_mark);
    nn_cfg *map = where ? nni_cfg_node_new(NN_CFG_MAP, path, where) : NULL;
    free(where);
    if (!map)
        return nni_cfg_oom(s->err);
    nn_status st;
    for (;;) {
        yaml_event_t ev;
        if ((st = next_event(s, &ev)))
            break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            *out = map;
            return NN_OK;
        }
        if (ev.type == YAML_SCALAR_EVENT)
            st = parse_entry(s, map, &ev);
        else
            st = fail_at_mark(s, ev.start_mark, path, "a key must be plain text, not %s",
                              kind_name(ev.type));
        yaml_event_delete(&ev);
        if (st)
            break;
    }
    nn_cfg_free(map);
    return st;
}

static nn_status parse_node(parse_state *s, const yaml_event_t *ev, const char *path, nn_cfg **out)
{
    *out = NULL;
    const yaml_char_t *anchor_name = NULL;
    nn_status st = NN_OK;
    if (ev->type != YAML_ALIAS_EVENT && (st = count_node(s, ev->start_mark, path, 1)))
        return st;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor_name = ev->data.scalar.anchor;
        st = parse_scalar(s, ev, path, out);
        break;
    case YAML_ALIAS_EVENT:
        return parse_alias(s, ev, path, out);
    case YAML_SEQUENCE_START_EVENT:
        anchor_name = ev->data.sequence_start.anchor;
        st = parse_seq(s, ev, path, out);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor_name = ev->data.mapping_start.anchor;
        st = parse_map(s, ev, path, out);
        break;
    default:
        return fail_at_mark(s, ev->start_mark, path, "unexpected YAML event");
    }
    if (!st && anchor_name)
        st = define_anchor(s, (const char *)anchor_name, *out);
    if (st) {
        nn_cfg_free(*out);
        *out = NULL;
    }
    return st;
}

static nn_status expect_event(parse_state *s, yaml_event_type_t type)
{
    yaml_event_t ev;
    nn_status st = next_event(s, &ev);
    if (st)
        return st;
    if (ev.type != type) {
        if (ev.type == YAML_DOCUMENT_START_EVENT)
            st = fail_at_mark(s, ev.start_mark, "",
                              "a configuration is one YAML document, found a second one");
        else
            st = fail_at_mark(s, ev.start_mark, "", "unexpected YAML structure");
    }
    yaml_event_delete(&ev);
    return st;
}

static nn_status parse_stream(parse_state *s, const char *path, int any_root, nn_cfg **out)
{
    nn_status st = expect_event(s, YAML_STREAM_START_EVENT);
    if (st)
        return st;
    yaml_event_t ev;
    if ((st = next_event(s, &ev)))
        return st;
    if (ev.type == YAML_STREAM_END_EVENT) {
        /* Nothing but comments: an empty configuration. */
        yaml_event_delete(&ev);
        char *where = where_of(s, (yaml_mark_t){0, 0, 0});
        if (where)
            *out = any_root ? nni_cfg_scalar_new("", 0, path, where)
                            : nni_cfg_node_new(NN_CFG_MAP, path, where);
        free(where);
        return *out ? NN_OK : nni_cfg_oom(s->err);
    }
    yaml_event_delete(&ev); /* document start */
    if ((st = next_event(s, &ev)))
        return st;
    nn_cfg *root = NULL;
    st = parse_node(s, &ev, path, &root);
    yaml_event_delete(&ev);
    if (!st && !any_root && root->kind != NN_CFG_MAP) {
        char what[128];
        nni_cfg_describe(root, what, sizeof what);
        st = nni_cfg_fail_at(s->err, root->where, "",
                             "a configuration must be a mapping of keys, got %s", what);
    }
    if (!st)
        st = expect_event(s, YAML_DOCUMENT_END_EVENT);
    if (!st)
        st = expect_event(s, YAML_STREAM_END_EVENT);
    if (st) {
        nn_cfg_free(root);
        return st;
    }
    *out = root;
    return NN_OK;
}

nn_status nni_cfg_parse(const char *text, size_t len, const char *name, const char *origin,
                        const char *path, int any_root, nn_cfg **out, nn_error *err)
{
    parse_state s;
    memset(&s, 0, sizeof s);
    s.text = text;
    s.len = len;
    s.name = name;
    s.origin = origin;
    s.err = err;
    *out = NULL;
    if (!yaml_parser_initialize(&s.parser))
        return nni_cfg_oom(err);
    yaml_parser_set_input_string(&s.parser, (const unsigned char *)text, len);
    nn_status st = parse_stream(&s, path, any_root, out);
    yaml_parser_delete(&s.parser);
    for (int i = 0; i < s.n_anchors; i++) {
        free(s.anchors[i].name);
        nn_cfg_free(s.anchors[i].node);
    }
    free(s.anchors);
    return st;
}

nn_status nn_cfg_load_string(const char *text, const char *name, nn_cfg **out, nn_error *err)
{
    *out = NULL;
    if (!text)
        return nn_fail(err, NN_ERR_CONFIG, "%s: no configuration text", name);
    return nni_cfg_parse(text, strlen(text), name ? name : "<string>", NULL, "", 0, out, err);
}

nn_status nn_cfg_parse_value(const char *text, const char *name, nn_cfg **out, nn_error *err)
{
    *out = NULL;
    if (!text)
        return nn_fail(err, NN_ERR_CONFIG, "%s: no text", name);
    return nni_cfg_parse(text, strlen(text), name ? name : "<string>", NULL, "", 1, out, err);
}

nn_status nn_cfg_load_file(const char *path, nn_cfg **out, nn_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(err, NN_ERR_CONFIG, "cannot open config '%s': %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 16384;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                return nni_cfg_oom(err);
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(text);
        return nn_fail(err, NN_ERR_CONFIG, "cannot read config '%s'", path);
    }
    nn_status st = nni_cfg_parse(text, len, path, NULL, "", 0, out, err);
    free(text);
    return st;
}

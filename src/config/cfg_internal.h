/* Inside of the configuration tree, shared by the files of src/config/ and nothing else.
 *
 * A node is a scalar (its text, as written), a map (ordered entries with keys) or a sequence
 * (entries without keys). Every node owns a copy of its dotted path and of its location
 * ("cfg.yaml:3:9", "--set train.x", or "" for nodes built in code), so a node can be moved,
 * cloned or reported on without looking at its parents. */
#ifndef NN_CFG_INTERNAL_H
#define NN_CFG_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "nn/config.h"

typedef struct cfg_entry {
    char *key;       /* NULL in sequences */
    char *key_where; /* location of the key text; NULL in sequences */
    nn_cfg *value;
    int merged; /* came from a YAML merge key ("<<"); an explicit key may replace it */
} cfg_entry;

struct nn_cfg {
    nn_cfg_kind kind;
    char *text; /* scalars only */
    int quoted; /* scalar was written quoted or as a block literal: a string, whatever it says */
    cfg_entry *entries; /* maps and sequences */
    int count, cap;
    char *path;
    char *where;
    /* Bookkeeping for nn_cfg_check_unread(); changed through const pointers by readers. */
    int read;
    char **asked; /* keys readers asked this map for, present or not */
    int n_asked;
};

/* Allocation; all return NULL when out of memory. */
char *nni_cfg_strdup(const char *s);
char *nni_cfg_strndup(const char *s, size_t n);
char *nni_cfg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
nn_cfg *nni_cfg_node_new(nn_cfg_kind kind, const char *path, const char *where);
nn_cfg *nni_cfg_scalar_new(const char *text, int quoted, const char *path, const char *where);
/* Appends an entry (key NULL for sequences); takes ownership of value. Returns 0 when out
 * of memory (value is then still the caller's). */
int nni_cfg_append(nn_cfg *node, const char *key, const char *key_where, nn_cfg *value);
/* Index of key in a map, or -1. */
int nni_cfg_find(const nn_cfg *map, const char *key);
/* Path of a child: "a.b" + "c" -> "a.b.c", "" + "c" -> "c", "a" + [2] -> "a[2]". */
char *nni_cfg_child_path(const char *parent, const char *key, int index);
/* Gives node and its subtree the paths they have when node sits at `path`. 0 on OOM. */
int nni_cfg_rebase(nn_cfg *node, const char *path);
/* Number of nodes in a subtree. */
long nni_cfg_count_nodes(const nn_cfg *node);

/* Walking a path ("a.b[2].c"). Keys may contain dots: at a map the longest existing key
 * that matches up to a '.', '[' or the end wins, so "search.parameters.train.lr" finds the
 * key "train.lr". */
typedef struct cfg_step {
    int is_index;
    long index;
    const char *key; /* points into the path; not terminated */
    size_t key_len;
} cfg_step;
/* Reads the next step of *cursor at `node` (which may be NULL when the path goes on below
 * a node that does not exist yet). Returns 1 and advances, 0 at the end, -1 when the
 * path is malformed. `first` is 1 for the first step. */
int nni_cfg_next_step(const nn_cfg *node, const char **cursor, int first, cfg_step *step);

/* Parses YAML text into a node tree. With origin == NULL, locations are
 * "<name>:line:col"; otherwise every node's location is `origin`. A document that is not a
 * mapping is an error unless any_root. An empty document is an empty map (or an empty
 * scalar when any_root). Messages of YAML syntax errors start with name:line:col (or with
 * origin). */
nn_status nni_cfg_parse(const char *text, size_t len, const char *name, const char *origin,
                        const char *path, int any_root, nn_cfg **out, nn_error *err);

/* Error composition: "<where>: <path>: <message>", skipping empty parts. When `where` is an
 * override ("--set a.b.c") naming a path at or below `path`, the path is left out. */
nn_status nni_cfg_fail_at(nn_error *err, const char *where, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
nn_status nni_cfg_vfail_at(nn_error *err, const char *where, const char *path, const char *fmt,
                           va_list ap);
nn_status nni_cfg_oom(nn_error *err);

/* For messages: 'text' (control characters escaped, long text shortened), "a mapping" or
 * "a list". */
void nni_cfg_describe(const nn_cfg *node, char *buf, size_t size);
/* Escapes control characters and shortens, so messages stay on one line. */
void nni_cfg_quote_text(const char *text, char *buf, size_t size);

/* Scalar syntax, shared by the readers and the emitter (which must quote strings that
 * would otherwise read as numbers, booleans or null). */
int nni_cfg_parse_double(const char *text, double *out); /* 1 ok, 0 not a number, -1 overflow */
int nni_cfg_parse_int(const char *text, long long *out); /* 1 ok, 0 not an int, -1 overflow,
                                                        -2 a number with a fraction */
int nni_cfg_parse_bool(const char *text, int *out);
int nni_cfg_is_null_text(const char *text);

/* nni_cfg_closest, for "did you mean". */
#include "config/suggest.h"

/* Marks used by readers (see nn_cfg_check_unread). */
void nni_cfg_mark_read(const nn_cfg *node);
void nni_cfg_note_asked(const nn_cfg *map, const char *key);

#endif

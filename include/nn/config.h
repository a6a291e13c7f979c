/* Configuration: a YAML document parsed with libyaml into a tree of nodes that remember
 * where they came from (file, line, column) and their dotted path ("train.optimizer.lr",
 * "model.layers[2].units"), so any consumer can report an error that points at the text.
 * Scalars keep their text as written; the typed readers convert it on demand.
 *
 * nn_cfg_check_keys() rejects keys a consumer does not know and suggests the closest valid
 * one. Readers also mark what they consume, so nn_cfg_check_unread() can catch keys nothing
 * looked at. Overrides from the command line (`--set train.optimizer.lr=0.01`) are applied
 * to the tree before anything reads it: they replace nodes, and pointers into the replaced
 * part become invalid.
 *
 * Every error is one line, "<where>: <path>: <what>", e.g.
 * "cfg.yaml:3:9: train.optimizer.lr: expected a number, got 'fast'" or
 * "--set train.optimizer.lr: expected a number, got 'x'". */
#ifndef NN_CONFIG_H
#define NN_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "nn/error.h"

typedef enum nn_cfg_kind { NN_CFG_SCALAR, NN_CFG_MAP, NN_CFG_SEQ } nn_cfg_kind;

typedef struct nn_cfg nn_cfg; /* one node; the root owns the whole tree */

/* Parse a file / a string (name is used in messages in place of a file name). */
nn_status nn_cfg_load_file(const char *path, nn_cfg **out, nn_error *err);
nn_status nn_cfg_load_string(const char *text, const char *name, nn_cfg **out, nn_error *err);
/* Any YAML value (scalar, list or map) as a tree of its own, e.g. a layer list. */
nn_status nn_cfg_parse_value(const char *text, const char *name, nn_cfg **out, nn_error *err);
void nn_cfg_free(nn_cfg *root);
/* A deep copy (NULL when out of memory) that keeps paths and locations and has no marks;
 * free it with nn_cfg_free. */
nn_cfg *nn_cfg_clone(const nn_cfg *node);
/* Same structure, keys and scalar texts (locations and marks do not count). */
int nn_cfg_equal(const nn_cfg *a, const nn_cfg *b);

/* Apply "a.b[2].c=value". The value is parsed as YAML, so "[1, 2]" or "{type: sgd}" work.
 * Missing intermediate maps are created; indexing past a sequence's end is an error. */
nn_status nn_cfg_set(nn_cfg *root, const char *assignment, nn_error *err);
/* Puts a copy of value at path (as nn_cfg_set does); the copy keeps value's locations, so
 * errors about it point where it was written (e.g. a search space entry). */
nn_status nn_cfg_set_node(nn_cfg *root, const char *path, const nn_cfg *value, nn_error *err);

/* Structure. */
nn_cfg_kind nn_cfg_kind_of(const nn_cfg *node);
const char *nn_cfg_path(const nn_cfg *node);  /* "train.optimizer" ("" for the root) */
const char *nn_cfg_where(const nn_cfg *node); /* "cfg.yaml:12:5" or "--set train.x" */
int nn_cfg_size(const nn_cfg *node);          /* entries of a map or sequence, 0 for scalars */
nn_cfg *nn_cfg_at(const nn_cfg *seq_or_map, int i); /* i-th value */
const char *nn_cfg_key_at(const nn_cfg *map, int i); /* i-th key of a map */
const char *nn_cfg_scalar(const nn_cfg *node);       /* text of a scalar, NULL otherwise;
                                                        marks the node as read */
/* An unquoted null: empty, "~" or "null" ("key:" with nothing after it). */
int nn_cfg_is_null(const nn_cfg *node);

/* Child of a map by key (NULL if absent or node is not a map). Marks nothing. */
nn_cfg *nn_cfg_get(const nn_cfg *map, const char *key);
/* Node by dotted path from the root, e.g. "train.optimizer.lr" or "model.layers[0]".
 * Keys containing dots work too ("search.parameters.train.lr" finds the key "train.lr"). */
nn_cfg *nn_cfg_lookup(const nn_cfg *root, const char *path);

/* Typed readers of a map entry. When the key is absent (or map is NULL: an absent
 * section), *out = default and NN_OK. When present but malformed: NN_ERR_CONFIG with
 * "<where>: <path>.<key>: expected ..., got '...'". Numbers take YAML forms (1e-3, .5, -2,
 * 1_000, .inf); integers also 0x1f and whole floats (1e3); booleans true/false, yes/no,
 * on/off in any case. Ranges are checked by the caller with nn_cfg_fail(). Readers mark the
 * value and the map as read. */
nn_status nn_cfg_read_double(const nn_cfg *map, const char *key, double def, double *out,
                             nn_error *err);
nn_status nn_cfg_read_int(const nn_cfg *map, const char *key, int64_t def, int64_t *out,
                          nn_error *err);
nn_status nn_cfg_read_bool(const nn_cfg *map, const char *key, int def, int *out,
                           nn_error *err);
/* The returned string is owned by the tree (or is def). */
nn_status nn_cfg_read_string(const nn_cfg *map, const char *key, const char *def,
                             const char **out, nn_error *err);
/* A scalar that must be one of `choices` (NULL-terminated, matched ignoring case); the
 * error lists them all and suggests the closest. *index receives the position in choices
 * (or -1 with def == NULL and key absent). */
nn_status nn_cfg_read_choice(const nn_cfg *map, const char *key, const char *const *choices,
                             const char *def, int *index, nn_error *err);
/* A catalogue entry (optimizer, loss, schedule, initializer, ...) written as a name
 * (`adam`) or as a map with a type (`{type: adam, lr: 0.01}`). `what` names the catalogue in
 * messages; names is NULL-terminated. *index receives the entry, *map the map (NULL for a
 * bare name; its other keys are the entry's to check). An unknown name fails where it was
 * written, suggesting the closest and listing every valid name. */
nn_status nn_cfg_read_variant(const nn_cfg *node, const char *what, const char *const *names,
                              int *index, const nn_cfg **map, nn_error *err);
/* "unknown <what> '<name>' (did you mean '<closest>'?); valid: <names>", at `where`. */
nn_status nn_cfg_fail_unknown(nn_error *err, const nn_cfg *where, const char *what,
                              const char *name, const char *const *names);
/* A scalar or a sequence of ints: "3" -> {3}, "[3, 5]" -> {3, 5}. *count in: capacity of
 * values, out: how many were read (0 when the key is absent). */
nn_status nn_cfg_read_ints(const nn_cfg *map, const char *key, int64_t *values, int *count,
                           nn_error *err);

/* Unknown keys are errors: every key of `map` must be in `allowed` (NULL-terminated); a
 * NULL map passes. The location is the key's:
 * "cfg.yaml:7:14: train.optimizer: unknown key 'lrr' (did you mean 'lr'?)". */
nn_status nn_cfg_check_keys(const nn_cfg *map, const char *const *allowed, nn_error *err);

/* Marks: the typed readers, nn_cfg_check_keys (on the map) and nn_cfg_scalar mark what they
 * touch; nn_cfg_get, nn_cfg_at and nn_cfg_lookup do not. nn_cfg_mark marks a whole subtree
 * (a section handed to someone else, or read with nn_cfg_at). nn_cfg_check_unread reports
 * the first map entry below node of which nothing at all was marked, as an unknown key,
 * suggesting among the keys readers asked that map for. Call it after everything that
 * consumes the tree has read it; clones start unmarked. */
void nn_cfg_mark(const nn_cfg *node);
nn_status nn_cfg_check_unread(const nn_cfg *node, nn_error *err);

/* An error about a node: "<where>: <path>: <message>" (parts that are empty are left out).
 * Returns NN_ERR_CONFIG. */
nn_status nn_cfg_fail(nn_error *err, const nn_cfg *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Emit the tree as YAML text (block style; short lists and flat maps inside lists, such as
 * layers, on one line), for runs/<name>/config.yaml and checkpoints. It parses back to an
 * equal tree; strings that were quoted and would read as numbers or booleans stay quoted.
 * Returns a malloc'ed string or NULL on failure. */
char *nn_cfg_to_yaml(const nn_cfg *root);

/* Tree building, for configs made in code (tests, search trials). nn_cfg_put stores the
 * text as is (not parsed as YAML), replacing an existing key; nodes made in code have no
 * location. */
nn_cfg *nn_cfg_new_map(void);
nn_status nn_cfg_put(nn_cfg *map, const char *key, const char *scalar_text, nn_error *err);
nn_cfg *nn_cfg_new_seq(void);
/* Appends value to a sequence, taking ownership. The value keeps its path and location, so
 * a node copied from elsewhere (nn_cfg_clone) still reports where it was written. */
nn_status nn_cfg_append(nn_cfg *seq, nn_cfg *value, nn_error *err);
/* Replaces the text of a scalar, keeping its location (e.g. renaming a copied layer). */
nn_status nn_cfg_set_text(nn_cfg *scalar, const char *text, nn_error *err);

#endif

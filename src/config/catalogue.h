/* A catalogue entry: one row of a table of named variants that the config chooses by name
 * (`loss: {type: huber, delta: 0.5}`): layer types, activations, losses, optimizers,
 * schedules, initializers. Two things every such row carries, so that nothing about an entry
 * is written anywhere but in its row:
 *
 *  - its named parameters, as a list of nni_param: the key, the type, the default, the valid
 *    range and where the value lands in the entry's settings struct. One reader
 *    (nni_params_read) reads and checks them all; the same list gives the keys the entry
 *    accepts and the "key=default" text of its help, so a default is written once;
 *
 *  - its help row (nni_catalogue_row): the name, that "key=default ..." text and one line
 *    saying what it computes (a formula, and the PyTorch name where there is one). Each
 *    catalogue hands its rows to an nni_catalogue_emit callback; `nntrain train
 *    --help-catalogue` prints them (src/cli/catalogue.c), and the tests read the names back
 *    from there instead of keeping their own lists.
 *
 * Adding a variant is adding a row: its parameters, its functions, its help. */
#ifndef NNI_CONFIG_CATALOGUE_H
#define NNI_CONFIG_CATALOGUE_H

#include <stddef.h>

#include "nn/config.h"
#include "nn/error.h"

typedef enum nni_param_type {
    NNI_PARAM_NUMBER, /* double */
    NNI_PARAM_FLOAT,  /* float (read as double, checked, then rounded) */
    NNI_PARAM_INT,    /* int64_t */
    NNI_PARAM_BOOL,   /* int, 0 or 1; the default is 0 or 1 */
    NNI_PARAM_OTHER,  /* read by the entry's own code (lists, names); listed here so the key is
                       * accepted and shown in the help */
} nni_param_type;

/* Valid values of a number. Numbers must also be finite. */
typedef enum nni_param_range {
    NNI_RANGE_ANY,
    NNI_RANGE_POSITIVE,      /* > 0 */
    NNI_RANGE_NON_NEGATIVE,  /* >= 0 */
    NNI_RANGE_AT_LEAST_ONE,  /* >= 1 */
    NNI_RANGE_UNIT_OPEN,     /* [0, 1) */
    NNI_RANGE_UNIT_CLOSED,   /* [0, 1] */
    NNI_RANGE_UNIT_INTERIOR, /* (0, 1) */
} nni_param_range;

typedef struct nni_param {
    const char *key;
    nni_param_type type;
    double def;            /* default (0 or 1 for booleans; unused for NNI_PARAM_OTHER) */
    size_t offset;         /* where the value goes in the settings struct (offsetof) */
    nni_param_range range;
    const char *shown;     /* the default as the help shows it, when it is not the plain
                            * number: "train.epochs", "[one per output]", "(required)" */
} nni_param;

/* Reads every parameter of `params` (ended by key NULL) from map into settings: the default
 * when the key is absent (map may be NULL: all defaults), an error at the value when it is
 * malformed or out of range ("<where>: <path>.delta: delta must be > 0, got -1").
 * NNI_PARAM_OTHER entries are skipped. Keys outside the list are not checked here. */
nn_status nni_params_read(const nn_cfg *map, const nni_param *params, void *settings,
                          nn_error *err);

/* Unknown keys are errors: every key of map must be one of `common` (NULL-terminated, may
 * be NULL) or of the two parameter lists (either may be NULL), e.g. a schedule's own and the
 * warmup keys every schedule takes. */
nn_status nni_params_check_keys(const nn_cfg *map, const char *const *common,
                                const nni_param *params, const nni_param *more_params,
                                nn_error *err);

/* "key=default key=default ..." for the help ("" for an empty list): numbers with %g,
 * booleans as true/false, `shown` where given. */
void nni_params_describe(const nni_param *params, char *buf, size_t size);

/* One entry of a catalogue as --help-catalogue shows it. */
typedef struct nni_catalogue_row {
    const char *name;   /* as written in the config */
    const char *params; /* "key=default ..." ("" when it takes none) */
    const char *help;   /* one line: what it computes, and the PyTorch name if it has one */
} nni_catalogue_row;

typedef void (*nni_catalogue_emit)(const nni_catalogue_row *row, void *ctx);

#endif

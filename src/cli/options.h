/* The command line of one verb as a table: every flag a verb accepts is one row, so the
 * parser (getopt_long underneath), `nntrain VERB --help` and the tests that check the help
 * against the parser all read the same rows and cannot drift apart. */
#ifndef NN_CLI_OPTIONS_H
#define NN_CLI_OPTIONS_H

#include <stdio.h>

#include "nn/error.h"

/* One flag: `--name` (and `-letter` when letter is not 0). A flag with a value names its
 * placeholder in `value` ("FILE"); a switch has value NULL. */
typedef struct nni_cli_flag {
    const char *name;
    char letter;
    const char *value;
    const char *help; /* one line */
} nni_cli_flag;

/* A verb's command line: `nntrain VERB OPERANDS [flags]`. */
typedef struct nni_cli_spec {
    const char *verb;
    const char *operands;      /* synopsis of the positional arguments, e.g. "CHECKPOINT" */
    const char *summary;       /* one line for `nntrain --help` */
    int min_operands;
    int max_operands;          /* -1: any number */
    const nni_cli_flag *flags; /* ends with a row whose name is NULL */
} nni_cli_spec;

enum { NNI_CLI_MAX_GIVEN = 128 };

/* What one command line said: the flags in the order given (a flag may repeat, e.g.
 * --set) and the operands. `help` is set when --help (-h) was given, or the hidden
 * --list-flags (every flag of the table, one a line: for the shell completion and the help
 * test); the text has then been printed and the verb should return 0. */
typedef struct nni_cli_args {
    const nni_cli_spec *spec;
    int n_given;
    int given_flag[NNI_CLI_MAX_GIVEN];          /* index into spec->flags */
    const char *given_value[NNI_CLI_MAX_GIVEN]; /* NULL for a switch */
    int n_operands;
    char **operands;
    int help;
} nni_cli_args;

/* Parses argv (argv[0] is the verb). Unknown flags, a missing value, a value given to a
 * switch and a wrong number of operands are one-line NN_ERR_CONFIG errors that name the
 * verb and point to --help. argv is permuted (operands move to the end). */
nn_status nni_cli_parse(int argc, char **argv, const nni_cli_spec *spec, nni_cli_args *args,
                        nn_error *err);
/* 1 when the last nni_cli_parse failed: nni_cli_report then prints the error on rank 0 only
 * (every rank has the same command line). */
int nni_cli_command_line_failed(void);

/* The value of the last `--name` given (a switch gives ""), or NULL when absent. */
const char *nni_cli_value(const nni_cli_args *args, const char *name);

/* How many times `--name` was given. */
int nni_cli_count(const nni_cli_args *args, const char *name);

/* The i-th value given to `--name` (for flags that repeat), or NULL. */
const char *nni_cli_nth_value(const nni_cli_args *args, const char *name, int i);

/* `usage: nntrain VERB OPERANDS [flags]`, the summary and one line per flag. */
void nni_cli_print_help(FILE *out, const nni_cli_spec *spec);

#endif

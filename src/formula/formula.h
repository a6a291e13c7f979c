/* Formulas written in the config: user-defined activations, losses and learning-rate
 * schedules without writing C.
 *
 * A formula is parsed once, at build, into an expression graph whose identical
 * subexpressions are one node (so f and its derivatives share their common work).
 * Derivatives are new nodes of the same graph, built by the rules of each operation
 * (ops.c), never by finite differences. A set of nodes (say f, dy * df/dx and
 * dy * df/dbeta) is then compiled into a program: a short list of array instructions run
 * over chunks of a few hundred values, each instruction a tight loop the compiler
 * vectorizes, instead of a walk of the tree per value.
 *
 * Grammar (lowest precedence first): c ? a : b; comparisons < <= > >= == != (1 or 0);
 * + -; * /; unary -; ^ (right-associative, binds tighter than unary minus: -x^2 = -(x^2));
 * numbers, names and calls f(a, ...). where(c, a, b) = c ? a : b (c != 0 picks a). */
#ifndef NN_FORMULA_FORMULA_H
#define NN_FORMULA_FORMULA_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"

#define NNI_FORMULA_MAX_VARS 16
#define NNI_FORMULA_MAX_TEXT 1000 /* characters */
#define NNI_FORMULA_MAX_DEPTH 64  /* nested parentheses, calls and operators */
#define NNI_FORMULA_MAX_NODES 2000
#define NNI_FORMULA_MAX_OUTPUTS 8

typedef struct nni_formula nni_formula;
typedef struct nni_formula_program nni_formula_program;

/* Parses text over the variables `vars` (NULL-terminated, at most NNI_FORMULA_MAX_VARS).
 * A failure is one line pointing at the character, "formula:1:7: unknown function 'sigmod'
 * (did you mean 'sigmoid'?)", with NN_ERR_CONFIG; callers prefix where the formula was
 * written. */
nn_status nni_formula_parse(const char *text, const char *const *vars, nni_formula **out,
                            nn_error *err);
void nni_formula_free(nni_formula *f);
const char *nni_formula_text(const nni_formula *f);

/* Nodes of the graph, by index: the parsed expression, a variable, a product, a
 * derivative. Each returns -1 when the graph is full (NNI_FORMULA_MAX_NODES). */
int nni_formula_root(const nni_formula *f);
int nni_formula_var(nni_formula *f, int var);
/* A variable the text cannot name (an output gradient dy, say): its index, -1 when the
 * formula already has NNI_FORMULA_MAX_VARS. */
int nni_formula_add_var(nni_formula *f);
int nni_formula_mul(nni_formula *f, int a, int b);
int nni_formula_derivative(nni_formula *f, int node, int var);
/* Whether the value of node depends on variable var. */
int nni_formula_uses(const nni_formula *f, int node, int var);

/* Compiles the nodes `outputs` into one program. Variables whose bit is set in
 * array_vars are arrays at run time, the others one number for all values. Fails (exit
 * code 2) when the formula needs more registers than the program has. */
nn_status nni_formula_compile(const nni_formula *f, const int *outputs, int n_outputs,
                              unsigned array_vars, nni_formula_program **out, nn_error *err);
void nni_formula_program_free(nni_formula_program *p);
/* Instructions of the program (for tests and the benchmark's notes). */
int nni_formula_program_length(const nni_formula_program *p);

/* What a run does with output k's values. */
typedef enum nni_formula_store {
    NNI_FORMULA_WRITE, /* out[i] = value */
    NNI_FORMULA_ADD,   /* out[i] += value */
    NNI_FORMULA_SUM,   /* *sum += sum over i of value (in double); out unused */
} nni_formula_store;

/* Runs the program over n values: arrays[v] are the array variables' values (n each),
 * scalars[v] the others'. Outputs as `stores` says; sums[k] is added to for SUM outputs.
 * Safe to call from several threads at once on different values. */
void nni_formula_run(const nni_formula_program *p, const float *const *arrays,
                     const float *scalars, int64_t n, float *const *outputs,
                     const nni_formula_store *stores, double *sums);
/* One value of every output, in double precision, every variable a number (schedules). */
void nni_formula_run_scalar(const nni_formula_program *p, const double *vars, double *outputs);

/* The parsed formula as one Python expression over torch (torch.c), for `nntrain export`:
 * variable v written as var_exprs[v], every operation as its row in ops.c says, constants
 * as Python numbers. Appends to out (its failed flag tells an allocation failure). */
struct nni_text;
void nni_formula_write_torch(const nni_formula *f, const char *const *var_exprs,
                             struct nni_text *out);

/* ---- reading formulas from the config (config.c) -------------------------------------- */

/* Named numbers a formula uses besides its variables (`params: {beta: 1.5}`). */
#define NNI_FORMULA_NAME_MAX 48
typedef struct nni_formula_params {
    int count;
    char names[NNI_FORMULA_MAX_VARS][NNI_FORMULA_NAME_MAX]; /* copies: the config goes away */
    double values[NNI_FORMULA_MAX_VARS];
} nni_formula_params;

/* Reads the map `params` (NULL: none) of names and numbers; a name that is one of `taken`
 * (the variables, NULL-terminated) or a function is an error at that key. At most
 * NNI_FORMULA_MAX_VARS - n_taken names. */
nn_status nni_formula_read_params(const nn_cfg *params, const char *const *taken,
                                  nni_formula_params *out, nn_error *err);
/* Parses the scalar `node` as a formula over `vars`; a syntax error is reported at the
 * node: "cfg.yaml:7:20: train.loss.per_output: formula:1:7: unknown function ...". */
nn_status nni_formula_parse_cfg(const nn_cfg *node, const char *const *vars, nni_formula **out,
                                nn_error *err);

#endif

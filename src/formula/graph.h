/* Inside of the formula module (src/formula/): the expression graph and the operation
 * table, shared by the parser (parse.c), the graph (graph.c), the rules of the operations
 * (ops.c) and the compiler (program.c). */
#ifndef NN_FORMULA_GRAPH_H
#define NN_FORMULA_GRAPH_H

#include "formula/formula.h"

/* Operation ids: the order of ops.c's table. */
typedef enum formula_op {
    OP_CONST, OP_VAR,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_NEG,
    OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_WHERE,
    OP_EXP, OP_LOG, OP_LOG1P, OP_SQRT, OP_ABS, OP_SIGN, OP_MIN, OP_MAX, OP_CLAMP,
    OP_SIN, OP_COS, OP_TANH, OP_ATAN, OP_ERF, OP_SIGMOID, OP_SOFTPLUS, OP_RELU,
    OP_FLOOR, OP_CEIL, OP_SQUARE, OP_SECH2,
    OP_COUNT
} formula_op;

/* One node: an operation on up to three earlier nodes, a constant or a variable. */
typedef struct formula_node {
    formula_op op;
    int arg[3];
    double value; /* OP_CONST: the number; OP_VAR: the variable's index */
} formula_node;

struct nni_formula {
    formula_node *nodes;
    int n_nodes, cap;
    int root;
    int n_vars;
    char *text;
};

/* Array kernel: out[i] = op(a[i], b[i], c[i]) for i < n (unused arguments ignored). */
typedef void (*formula_kernel)(float *out, const float *a, const float *b, const float *c,
                               int n);
/* The same for one value in double precision. */
typedef double (*formula_scalar)(double a, double b, double c);
/* d node = sum over arguments of (d node / d arg) * d arg; darg[k] is arg k's derivative
 * node (known to be 0 when it is the constant 0). Returns the derivative's node or -1. */
typedef int (*formula_rule)(nni_formula *f, int node, const int *darg);

typedef struct formula_op_row {
    const char *name; /* how it is called in a formula (NULL: an operator or internal) */
    int arity;
    formula_kernel kernel;
    formula_scalar scalar;
    formula_rule derivative;
    /* The same operation in PyTorch, for `nntrain export` (torch.c): a Python expression in
     * which $0, $1, $2 stand for the arguments' expressions (torch, F and the formula_*
     * helpers of model/export_torch.c in scope). */
    const char *torch;
} formula_op_row;

extern const formula_op_row nni_formula_op_table[OP_COUNT];

/* The node op(a, b, c) after simplification (constants folded, x + 0, x * 1, ...), shared
 * with an identical node already in the graph; -1 when the graph is full. */
int nni_formula_node(nni_formula *f, formula_op op, int a, int b, int c);
int nni_formula_const(nni_formula *f, double value);
int nni_formula_is_const(const nni_formula *f, int node, double value);

#endif

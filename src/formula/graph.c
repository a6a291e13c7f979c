/* The expression graph of a formula: nodes in creation order (every argument before the
 * node that uses it), each distinct expression stored once, simplified as it is made, and
 * derivatives built from each operation's rule in ops.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formula/graph.h"

static int is_const(const nni_formula *f, int node)
{
    return node >= 0 && f->nodes[node].op == OP_CONST;
}

int nni_formula_is_const(const nni_formula *f, int node, double value)
{
    return is_const(f, node) && f->nodes[node].value == value;
}

/* The node as given, shared with an identical one; -1 when the graph is full. */
static int intern(nni_formula *f, formula_op op, int a, int b, int c, double value)
{
    for (int i = 0; i < f->n_nodes; i++) {
        const formula_node *n = &f->nodes[i];
        if (n->op == op && n->arg[0] == a && n->arg[1] == b && n->arg[2] == c &&
            (n->value == value || (isnan(n->value) && isnan(value))))
            return i;
    }
    if (f->n_nodes == NNI_FORMULA_MAX_NODES)
        return -1;
    if (f->n_nodes == f->cap) {
        int cap = f->cap ? 2 * f->cap : 64;
        formula_node *grown = realloc(f->nodes, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        f->nodes = grown;
        f->cap = cap;
    }
    f->nodes[f->n_nodes] = (formula_node){op, {a, b, c}, value};
    return f->n_nodes++;
}

int nni_formula_const(nni_formula *f, double value)
{
    return intern(f, OP_CONST, -1, -1, -1, value);
}

int nni_formula_var(nni_formula *f, int var)
{
    return intern(f, OP_VAR, -1, -1, -1, var);
}

/* Identities that keep derivatives small: x + 0, x * 1, x * 0, a constant condition.
 * x * 0 = 0 even where x would be infinite: a derivative's zero term means "does not
 * depend on", not a product to evaluate. Returns -2 when nothing applies. */
static int simplify(nni_formula *f, formula_op op, int a, int b, int c)
{
    const int arity = nni_formula_op_table[op].arity;
    int all_const = 1;
    for (int k = 0; k < arity; k++)
        all_const &= is_const(f, k == 0 ? a : k == 1 ? b : c);
    if (all_const) {
        double va = f->nodes[a].value, vb = arity > 1 ? f->nodes[b].value : 0,
               vc = arity > 2 ? f->nodes[c].value : 0;
        return nni_formula_const(f, nni_formula_op_table[op].scalar(va, vb, vc));
    }
#define IS(node, v) nni_formula_is_const(f, node, v)
    switch (op) {
    case OP_ADD:
        return IS(a, 0) ? b : IS(b, 0) ? a : -2;
    case OP_SUB:
        if (IS(b, 0))
            return a;
        if (IS(a, 0))
            return nni_formula_node(f, OP_NEG, b, -1, -1);
        return a == b ? nni_formula_const(f, 0) : -2;
    case OP_MUL:
        if (IS(a, 0) || IS(b, 0))
            return nni_formula_const(f, 0);
        if (IS(a, -1))
            return nni_formula_node(f, OP_NEG, b, -1, -1);
        return IS(a, 1) ? b : IS(b, 1) ? a : -2;
    case OP_DIV:
        return IS(a, 0) ? nni_formula_const(f, 0) : IS(b, 1) ? a : -2;
    case OP_NEG:
        return f->nodes[a].op == OP_NEG ? f->nodes[a].arg[0] : -2;
    case OP_POW:
        if (IS(b, 0))
            return nni_formula_const(f, 1);
        if (IS(b, 1))
            return a;
        return IS(b, 2) ? nni_formula_node(f, OP_SQUARE, a, -1, -1) : -2;
    case OP_WHERE:
        if (is_const(f, a))
            return f->nodes[a].value != 0 ? b : c;
        return b == c ? b : -2;
    default:
        return -2;
    }
#undef IS
}

int nni_formula_node(nni_formula *f, formula_op op, int a, int b, int c)
{
    const int arity = nni_formula_op_table[op].arity;
    if (a < 0 || (arity > 1 && b < 0) || (arity > 2 && c < 0))
        return -1; /* an argument could not be made */
    if (arity < 3)
        c = -1;
    if (arity < 2)
        b = -1;
    /* Commutative operations in one order, so a * b and b * a are one node. */
    if ((op == OP_ADD || op == OP_MUL) && a > b) {
        int t = a;
        a = b, b = t;
    }
    int simple = simplify(f, op, a, b, c);
    return simple != -2 ? simple : intern(f, op, a, b, c, 0);
}

int nni_formula_add_var(nni_formula *f)
{
    return f->n_vars < NNI_FORMULA_MAX_VARS ? f->n_vars++ : -1;
}

int nni_formula_mul(nni_formula *f, int a, int b)
{
    return nni_formula_node(f, OP_MUL, a, b, -1);
}

int nni_formula_root(const nni_formula *f)
{
    return f->root;
}

const char *nni_formula_text(const nni_formula *f)
{
    return f->text;
}

/* Forward mode over the graph in creation order: every node's derivative from its
 * arguments' (already known, as arguments come first). */
int nni_formula_derivative(nni_formula *f, int node, int var)
{
    int *d = malloc((size_t)(node + 1) * sizeof *d);
    if (!d)
        return -1;
    const int zero = nni_formula_const(f, 0), one = nni_formula_const(f, 1);
    int result = 0;
    for (int i = 0; i <= node && result >= 0; i++) {
        const formula_node n = f->nodes[i];
        if (n.op == OP_CONST)
            d[i] = zero;
        else if (n.op == OP_VAR)
            d[i] = (int)n.value == var ? one : zero;
        else {
            int darg[3] = {zero, zero, zero}, all_zero = 1;
            for (int k = 0; k < nni_formula_op_table[n.op].arity; k++) {
                darg[k] = d[n.arg[k]];
                all_zero &= darg[k] == zero;
            }
            d[i] = all_zero ? zero : nni_formula_op_table[n.op].derivative(f, i, darg);
        }
        result = d[i];
    }
    free(d);
    return result;
}

int nni_formula_uses(const nni_formula *f, int node, int var)
{
    if (node < 0)
        return 0;
    /* In creation order, so a shared subexpression is looked at once. */
    char *depends = calloc((size_t)node + 1, 1);
    if (!depends)
        return 1; /* the safe answer */
    for (int i = 0; i <= node; i++) {
        const formula_node *n = &f->nodes[i];
        depends[i] = n->op == OP_VAR && (int)n->value == var;
        for (int k = 0; k < nni_formula_op_table[n->op].arity; k++)
            depends[i] |= depends[n->arg[k]];
    }
    int result = depends[node];
    free(depends);
    return result;
}

void nni_formula_free(nni_formula *f)
{
    if (!f)
        return;
    free(f->nodes);
    free(f->text);
    free(f);
}

/* A parsed formula as a PyTorch expression, for `nntrain export`: the expression graph
 * walked from its root, each operation written from its row's template in ops.c (so a new
 * operation brings its PyTorch form with it), each variable as the caller names it, each
 * constant as a Python number. Shared subexpressions are written out at each use, as the
 * formula's text wrote them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "formula/graph.h"

static void write_number(nni_text *out, double value)
{
    if (isnan(value))
        nni_text_puts(out, "math.nan");
    else if (isinf(value))
        nni_text_puts(out, value > 0 ? "math.inf" : "(-math.inf)");
    else {
        /* the shortest digits that read back as the same double, as a float literal */
        char digits[40];
        for (int precision = 9; precision <= 17; precision++) {
            snprintf(digits, sizeof digits, "%.*g", precision, value);
            if (strtod(digits, NULL) == value)
                break;
        }
        int integral = strspn(digits, "-0123456789") == strlen(digits);
        nni_text_printf(out, value < 0 ? "(%s%s)" : "%s%s", digits, integral ? ".0" : "");
    }
}

static void write_node(const nni_formula *f, int node, const char *const *var_exprs,
                       nni_text *out)
{
    const formula_node *n = &f->nodes[node];
    if (n->op == OP_CONST) {
        write_number(out, n->value);
        return;
    }
    if (n->op == OP_VAR) {
        nni_text_puts(out, var_exprs[(int)n->value]);
        return;
    }
    const char *t = nni_formula_op_table[n->op].torch;
    while (*t) {
        const char *mark = t;
        while (*t && !(t[0] == '$' && t[1] >= '0' && t[1] <= '2'))
            t++;
        nni_text_put(out, mark, (size_t)(t - mark));
        if (*t) {
            write_node(f, n->arg[t[1] - '0'], var_exprs, out);
            t += 2;
        }
    }
}

void nni_formula_write_torch(const nni_formula *f, const char *const *var_exprs,
                             nni_text *out)
{
    write_node(f, f->root, var_exprs, out);
}

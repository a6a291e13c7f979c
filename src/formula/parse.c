/* Formula text into the expression graph: a recursive-descent parser whose every error
 * names the line and column of the character it stopped at ("formula:1:7: ..."). The
 * grammar is in formula.h; `**` is accepted for `^` and `pi` is a constant unless a
 * variable has that name. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/suggest.h"
#include "formula/graph.h"

#define PI 3.14159265358979323846

typedef struct parser {
    nni_formula *f;
    const char *text;
    const char *at; /* next unread character */
    const char *const *vars;
    int depth;
    nn_error *err;
    int failed;
} parser;

static void position(const parser *p, const char *where, int *line, int *column)
{
    *line = 1, *column = 1;
    for (const char *c = p->text; c < where; c++) {
        if (*c == '\n')
            (*line)++, *column = 1;
        else
            (*column)++;
    }
}

/* The first error wins; every caller returns -1 after it. */
__attribute__((format(printf, 3, 4))) static int fail_at(parser *p, const char *where,
                                                          const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    int line, column;
    position(p, where, &line, &column);
    char message[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    nn_fail(p->err, NN_ERR_CONFIG, "formula:%d:%d: %s", line, column, message);
    return -1;
}

static int out_of_room(parser *p)
{
    return fail_at(p, p->at, "formula too large (more than %d operations with its "
                   "derivatives)", NNI_FORMULA_MAX_NODES);
}

static void skip_space(parser *p)
{
    while (isspace((unsigned char)*p->at))
        p->at++;
}

/* The next token is `op` (skipping space); consumes it when so. */
static int accept(parser *p, const char *op)
{
    skip_space(p);
    size_t n = strlen(op);
    if (strncmp(p->at, op, n) != 0)
        return 0;
    /* "<" must not take the first half of "<=", "*" of "**". */
    if (n == 1 && (op[0] == '<' || op[0] == '>' || op[0] == '=' || op[0] == '!') &&
        p->at[1] == '=')
        return 0;
    if (n == 1 && op[0] == '*' && p->at[1] == '*')
        return 0;
    p->at += n;
    return 1;
}

static int expression(parser *p);

static int enter(parser *p)
{
    if (++p->depth > NNI_FORMULA_MAX_DEPTH)
        return fail_at(p, p->at, "formula nested too deeply (more than %d levels)",
                       NNI_FORMULA_MAX_DEPTH);
    return 0;
}

static const char *const *function_names(void)
{
    static const char *names[OP_COUNT + 1];
    int n = 0;
    for (int op = 0; op < OP_COUNT; op++)
        if (nni_formula_op_table[op].name)
            names[n++] = nni_formula_op_table[op].name;
    names[n] = NULL;
    return names;
}

static int call(parser *p, const char *name_at, const char *name, int op)
{
    const int arity = nni_formula_op_table[op].arity;
    int args[3] = {-1, -1, -1}, count = 0;
    if (!accept(p, ")")) {
        do {
            skip_space(p);
            const char *arg_at = p->at;
            int node = expression(p);
            if (node < 0)
                return -1;
            if (count == arity)
                return fail_at(p, arg_at, "%s() takes %d argument%s", name, arity,
                               arity == 1 ? "" : "s");
            args[count++] = node;
        } while (accept(p, ","));
        if (!accept(p, ")"))
            return fail_at(p, p->at, "expected ',' or ')' in the arguments of %s()", name);
    }
    if (count != arity)
        return fail_at(p, name_at, "%s() takes %d argument%s, got %d", name, arity,
                       arity == 1 ? "" : "s", count);
    int node = nni_formula_node(p->f, (formula_op)op, args[0], args[1], args[2]);
    return node < 0 ? out_of_room(p) : node;
}

static int name_or_call(parser *p)
{
    const char *start = p->at;
    while (isalnum((unsigned char)*p->at) || *p->at == '_')
        p->at++;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(p->at - start), start);
    const char *const *functions = function_names();
    int var = -1, op = -1;
    for (int i = 0; p->vars[i]; i++)
        if (strcmp(p->vars[i], name) == 0)
            var = i;
    for (int i = 0; i < OP_COUNT; i++)
        if (nni_formula_op_table[i].name && strcmp(nni_formula_op_table[i].name, name) == 0)
            op = i;
    if (accept(p, "(")) {
        if (op >= 0)
            return call(p, start, name, op);
        const char *close = nni_cfg_closest(name, functions);
        if (var >= 0)
            return fail_at(p, start, "'%s' is a variable, not a function", name);
        if (close)
            return fail_at(p, start, "unknown function '%s' (did you mean '%s'?)", name, close);
        return fail_at(p, start, "unknown function '%s'", name);
    }
    if (var >= 0) {
        int node = nni_formula_var(p->f, var);
        return node < 0 ? out_of_room(p) : node;
    }
    if (strcmp(name, "pi") == 0)
        return nni_formula_const(p->f, PI);
    if (op >= 0)
        return fail_at(p, start, "%s is a function: write %s(...)", name, name);
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; p->vars[i] && used < sizeof list - 1; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 p->vars[i]);
    const char *close = nni_cfg_closest(name, p->vars);
    if (close)
        return fail_at(p, start, "unknown name '%s' (did you mean '%s'?); names here: %s",
                       name, close, list);
    return fail_at(p, start, "unknown name '%s'; names here: %s", name,
                   list[0] ? list : "none");
}

static int primary(parser *p)
{
    skip_space(p);
    const char *start = p->at;
    if (isdigit((unsigned char)*start) || (*start == '.' && isdigit((unsigned char)start[1]))) {
        char *end;
        double value = strtod(start, &end);
        p->at = end;
        return nni_formula_const(p->f, value);
    }
    if (isalpha((unsigned char)*start) || *start == '_')
        return name_or_call(p);
    if (accept(p, "(")) {
        int node = expression(p);
        if (node >= 0 && !accept(p, ")"))
            return fail_at(p, p->at, "expected ')' to close the '(' at column %d",
                           (int)(start - p->text) + 1);
        return node;
    }
    if (!*start)
        return fail_at(p, start, "the formula ends where a number, a name or '(' should "
                       "come");
    return fail_at(p, start, "unexpected '%c' where a number, a name or '(' should come",
                   *start);
}

static int unary(parser *p);

/* a ^ b ^ c = a ^ (b ^ c); the exponent may carry a sign (2 ^ -x). */
static int power(parser *p)
{
    int base = primary(p);
    if (base < 0 || !(accept(p, "^") || accept(p, "**")))
        return base;
    if (enter(p))
        return -1;
    int exponent = unary(p);
    p->depth--;
    if (exponent < 0)
        return -1;
    int node = nni_formula_node(p->f, OP_POW, base, exponent, -1);
    return node < 0 ? out_of_room(p) : node;
}

static int unary(parser *p)
{
    if (enter(p))
        return -1;
    int node;
    if (accept(p, "-")) {
        int operand = unary(p);
        node = operand < 0 ? -1 : nni_formula_node(p->f, OP_NEG, operand, -1, -1);
        if (operand >= 0 && node < 0)
            node = out_of_room(p);
    } else if (accept(p, "+")) {
        node = unary(p);
    } else {
        node = power(p);
    }
    p->depth--;
    return node;
}

/* Left-associative levels: each a list of (token, op) pairs and the level below. */
typedef struct binary_level {
    const char *token[6];
    formula_op op[6];
} binary_level;

static const binary_level product_level = {{"*", "/"}, {OP_MUL, OP_DIV}};
static const binary_level sum_level = {{"+", "-"}, {OP_ADD, OP_SUB}};
static const binary_level comparison_level = {{"<=", ">=", "==", "!=", "<", ">"},
                                              {OP_LE, OP_GE, OP_EQ, OP_NE, OP_LT, OP_GT}};

static int binary(parser *p, const binary_level *level, int (*below)(parser *))
{
    int left = below(p);
    while (left >= 0) {
        int k = 0;
        while (k < 6 && level->token[k] && !accept(p, level->token[k]))
            k++;
        if (k == 6 || !level->token[k])
            break;
        int right = below(p);
        if (right < 0)
            return -1;
        left = nni_formula_node(p->f, level->op[k], left, right, -1);
        if (left < 0)
            return out_of_room(p);
    }
    return left;
}

static int product(parser *p)
{
    return binary(p, &product_level, unary);
}

static int sum(parser *p)
{
    return binary(p, &sum_level, product);
}

static int comparison(parser *p)
{
    return binary(p, &comparison_level, sum);
}

/* c ? a : b, right-associative. */
static int expression(parser *p)
{
    if (enter(p))
        return -1;
    int node = comparison(p);
    if (node >= 0 && accept(p, "?")) {
        int then = expression(p);
        if (then >= 0 && !accept(p, ":"))
            return fail_at(p, p->at, "expected ':' of 'condition ? a : b'");
        int otherwise = then < 0 ? -1 : expression(p);
        node = otherwise < 0 ? -1 : nni_formula_node(p->f, OP_WHERE, node, then, otherwise);
        if (otherwise >= 0 && node < 0)
            node = out_of_room(p);
    }
    p->depth--;
    return node;
}

nn_status nni_formula_parse(const char *text, const char *const *vars, nni_formula **out,
                            nn_error *err)
{
    *out = NULL;
    size_t length = strlen(text);
    if (length > NNI_FORMULA_MAX_TEXT)
        return nn_fail(err, NN_ERR_CONFIG, "formula:1:%d: formula too long (%zu characters; "
                       "at most %d)", NNI_FORMULA_MAX_TEXT + 1, length, NNI_FORMULA_MAX_TEXT);
    nni_formula *f = calloc(1, sizeof *f);
    if (!f || !(f->text = strdup(text))) {
        free(f);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    for (f->n_vars = 0; vars[f->n_vars]; f->n_vars++)
        ;
    parser p = {.f = f, .text = text, .at = text, .vars = vars, .err = err};
    skip_space(&p);
    if (!*p.at)
        fail_at(&p, p.at, "empty formula");
    int root = p.failed ? -1 : expression(&p);
    skip_space(&p);
    if (root >= 0 && *p.at)
        fail_at(&p, p.at, "unexpected '%c' after a complete expression (a missing operator?)",
                *p.at);
    if (p.failed || root < 0) {
        if (!p.failed)
            out_of_room(&p);
        nni_formula_free(f);
        return err ? err->status : NN_ERR_CONFIG;
    }
    f->root = root;
    *out = f;
    return NN_OK;
}

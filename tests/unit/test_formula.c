/* The formula language (src/formula/): every function and operator's value and derivative
 * against its closed form over a grid with the edges (0, negatives, large magnitudes,
 * both branches of where), derivatives against central differences, two-variable rules,
 * the compiled program against the double-precision one across chunk boundaries and store
 * modes, shared subexpressions, and every kind of error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "formula/graph.h"

#define PI 3.14159265358979323846

static const char *const x_only[] = {"x", NULL};
static const char *const x_and_y[] = {"x", "y", NULL};

static nni_formula *parse(const char *text, const char *const *vars)
{
    nni_formula *f = NULL;
    nn_error err = {0};
    if (nni_formula_parse(text, vars, &f, &err))
        fail_msg("%s: %s", text, err.msg);
    return f;
}

/* The program of (f, df/dvar for each variable). */
static nni_formula_program *value_and_derivatives(nni_formula *f, int n_vars,
                                                  unsigned arrays)
{
    int outputs[1 + NNI_FORMULA_MAX_VARS] = {nni_formula_root(f)};
    for (int v = 0; v < n_vars; v++)
        outputs[1 + v] = nni_formula_derivative(f, nni_formula_root(f), v);
    nni_formula_program *p = NULL;
    nn_error err = {0};
    if (nni_formula_compile(f, outputs, 1 + n_vars, arrays, &p, &err))
        fail_msg("%s: %s", nni_formula_text(f), err.msg);
    return p;
}

/* ---- one variable: closed forms -------------------------------------------------------- */

typedef struct closed_form {
    const char *text;
    const char *covers; /* the function or operator this case is for */
    double (*value)(double x);
    double (*derivative)(double x);
} closed_form;

static double sigmoid(double x)
{
    return 1 / (1 + exp(-x));
}

static double sech2(double x)
{
    double c = cosh(x);
    return isfinite(c) ? 1 / (c * c) : 0;
}

#define CASE(NAME, VALUE, DERIVATIVE)                                                          \
    static double NAME##_value(double x)                                                       \
    {                                                                                          \
        return (VALUE);                                                                        \
    }                                                                                          \
    static double NAME##_derivative(double x)                                                  \
    {                                                                                          \
        (void)x;                                                                               \
        return (DERIVATIVE);                                                                   \
    }

CASE(add, x + 3, 1)
CASE(sub, 3 - x, -1)
CASE(mul, 2.5 * x * x, 5 * x)
CASE(div, 1 / (1 + x * x), -2 * x / ((1 + x * x) * (1 + x * x)))
CASE(power, x * x * x, 3 * x * x)
CASE(pow_call, pow(x, 4), 4 * x * x * x)
CASE(exp2, pow(2, x), log(2) * pow(2, x))
CASE(neg, -x, -1)
CASE(lt, x < 1, 0)
CASE(le, x <= 1, 0)
CASE(gt, x > 1, 0)
CASE(ge, x >= 1, 0)
CASE(eq, x == 1, 0)
CASE(ne, x != 1, 0)
CASE(where, x > 0 ? x * x : -x, x > 0 ? 2 * x : -1)
CASE(ternary, x >= 1 ? 3 * x : x * x, x >= 1 ? 3 : 2 * x)
CASE(exp, exp(x), exp(x))
CASE(log, log(x * x + 1), 2 * x / (x * x + 1))
CASE(log1p, log1p(x * x), 2 * x / (1 + x * x))
CASE(sqrt, sqrt(x * x + 1), x / sqrt(x * x + 1))
CASE(abs, fabs(x), (x > 0) - (x < 0))
CASE(sign, (x > 0) - (x < 0), 0)
CASE(min, x < 1 ? x : 1, x < 1 ? 1 : 0)
CASE(max, x > 0 ? x : 0, x > 0 ? 1 : 0)
CASE(clamp, x < -1 ? -1 : x > 2 ? 2 : x, x < -1 || x > 2 ? 0 : 1)
CASE(sin, sin(x), cos(x))
CASE(cos, cos(x), -sin(x))
CASE(tanh, tanh(x), sech2(x))
CASE(atan, atan(x), 1 / (1 + x * x))
CASE(erf, erf(x), 2 / sqrt(PI) * exp(-x * x))
CASE(sigmoid, sigmoid(x), sigmoid(x) * sigmoid(-x))
CASE(softplus, x > 20 ? x : log1p(exp(x)), sigmoid(x))
CASE(relu, x > 0 ? x : 0, x > 0)
CASE(floor, floor(x), 0)
CASE(ceil, ceil(x), 0)
CASE(pi, PI * x, PI)
CASE(swish, x * sigmoid(x), sigmoid(x) + x * sigmoid(x) * sigmoid(-x))

#define ROW(NAME, TEXT, COVERS) {TEXT, COVERS, NAME##_value, NAME##_derivative}

static const closed_form cases[] = {
    ROW(add, "x + 3", "+"),
    ROW(sub, "3 - x", "-"),
    ROW(mul, "2.5 * x * x", "*"),
    ROW(div, "1 / (1 + x * x)", "/"),
    ROW(power, "x ^ 3", "^"),
    ROW(power, "x ** 3", "**"),
    ROW(pow_call, "pow(x, 4)", "pow"),
    ROW(exp2, "2 ^ x", "^ (variable exponent)"),
    ROW(neg, "-x", "unary -"),
    ROW(lt, "x < 1", "<"),
    ROW(le, "x <= 1", "<="),
    ROW(gt, "x > 1", ">"),
    ROW(ge, "x >= 1", ">="),
    ROW(eq, "x == 1", "=="),
    ROW(ne, "x != 1", "!="),
    ROW(where, "where(x > 0, x ^ 2, -x)", "where"),
    ROW(ternary, "x >= 1 ? 3 * x : x * x", "?:"),
    ROW(exp, "exp(x)", "exp"),
    ROW(log, "log(x * x + 1)", "log"),
    ROW(log1p, "log1p(x * x)", "log1p"),
    ROW(sqrt, "sqrt(x * x + 1)", "sqrt"),
    ROW(abs, "abs(x)", "abs"),
    ROW(sign, "sign(x)", "sign"),
    ROW(min, "min(x, 1)", "min"),
    ROW(max, "max(x, 0)", "max"),
    ROW(clamp, "clamp(x, -1, 2)", "clamp"),
    ROW(sin, "sin(x)", "sin"),
    ROW(cos, "cos(x)", "cos"),
    ROW(tanh, "tanh(x)", "tanh"),
    ROW(atan, "atan(x)", "atan"),
    ROW(erf, "erf(x)", "erf"),
    ROW(sigmoid, "sigmoid(x)", "sigmoid"),
    ROW(softplus, "softplus(x)", "softplus"),
    ROW(relu, "relu(x)", "relu"),
    ROW(floor, "floor(x)", "floor"),
    ROW(ceil, "ceil(x)", "ceil"),
    ROW(pi, "x * pi", "pi"),
    ROW(swish, "x * sigmoid(x)", "x * sigmoid(x)"),
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* The edges: 0, kinks (-1, 1, 2), both signs, large magnitudes where functions saturate
 * or overflow. */
static const double grid[] = {0,    0.3,   -0.3, 1,    -1,   2,     -2,   2.5, -2.5,
                              7,    -7,    19.9, 20.1, 30,   -30,   88.5, 100, -100,
                              1e4,  -1e4,  1e19, -1e19};
enum { N_GRID = sizeof grid / sizeof grid[0] };

static int close_to(double got, double expect, double atol, double rtol)
{
    if (!isfinite(expect))
        return isnan(expect) ? isnan(got) : got == expect;
    return fabs(got - expect) <= atol + rtol * fabs(expect);
}

static void test_values_and_derivatives(void **state)
{
    (void)state;
    for (int c = 0; c < N_CASES; c++) {
        nni_formula *f = parse(cases[c].text, x_only);
        nni_formula_program *p = value_and_derivatives(f, 1, 1u);
        float x[N_GRID], value[N_GRID], slope[N_GRID];
        for (int i = 0; i < N_GRID; i++)
            x[i] = (float)grid[i];
        const float *arrays[] = {x};
        float *outputs[] = {value, slope};
        nni_formula_store stores[] = {NNI_FORMULA_WRITE, NNI_FORMULA_WRITE};
        nni_formula_run(p, arrays, NULL, N_GRID, outputs, stores, NULL);
        for (int i = 0; i < N_GRID; i++) {
            const double xi = x[i];
            double expect = cases[c].value(xi), dexpect = cases[c].derivative(xi);
            /* Only where the double closed form is representable as a float. */
            if (fabs(expect) < 1e37 && !close_to(value[i], expect, 1e-6, 2e-6))
                fail_msg("%s at x = %g: %.9g, expected %.9g", cases[c].text, xi, value[i],
                         expect);
            if (fabs(dexpect) < 1e37 && fabs(expect) < 1e37 &&
                !close_to(slope[i], dexpect, 1e-6, 2e-5))
                fail_msg("d/dx %s at x = %g: %.9g, expected %.9g", cases[c].text, xi, slope[i],
                         dexpect);
            double both[2];
            const double at[] = {xi};
            nni_formula_run_scalar(p, at, both);
            if (!close_to(both[0], expect, 1e-12, 1e-12) ||
                !close_to(both[1], dexpect, 1e-12, 1e-9))
                fail_msg("%s at x = %g in double: %.17g, %.17g; expected %.17g, %.17g",
                         cases[c].text, xi, both[0], both[1], expect, dexpect);
        }
        nni_formula_program_free(p);
        nni_formula_free(f);
    }
}

/* Central differences of the double-precision value, away from kinks and jumps (the
 * points are off the integers and 0). */
static void test_derivatives_against_differences(void **state)
{
    (void)state;
    static const double points[] = {-6.877, -2.377, -0.877, -0.177, 0.123, 0.623, 1.323,
                                    3.123, 8.123};
    for (int c = 0; c < N_CASES; c++) {
        nni_formula *f = parse(cases[c].text, x_only);
        nni_formula_program *p = value_and_derivatives(f, 1, 0);
        for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
            const double x0 = points[i], h = 1e-6;
            double up[2], down[2], here[2];
            const double xu[] = {x0 + h}, xd[] = {x0 - h}, xh[] = {x0};
            nni_formula_run_scalar(p, xu, up);
            nni_formula_run_scalar(p, xd, down);
            nni_formula_run_scalar(p, xh, here);
            double numeric = (up[0] - down[0]) / (2 * h);
            if (!close_to(here[1], numeric, 1e-6, 1e-6))
                fail_msg("d/dx %s at %g: %.12g, differences %.12g", cases[c].text, x0, here[1],
                         numeric);
        }
        nni_formula_program_free(p);
        nni_formula_free(f);
    }
}

/* Every function of the table and every operator has a case above: a new row without one
 * fails here. */
static void test_every_function_has_a_case(void **state)
{
    (void)state;
    for (int op = 0; op < OP_COUNT; op++) {
        const char *name = nni_formula_op_table[op].name;
        if (!name)
            continue;
        int found = 0;
        for (int c = 0; c < N_CASES && !found; c++)
            found = strcmp(cases[c].covers, name) == 0;
        if (!found)
            fail_msg("function %s() has no closed-form case", name);
    }
    static const char *const operators[] = {"+", "-", "*", "/", "^", "**", "unary -", "<",
                                            "<=", ">", ">=", "==", "!=", "?:", NULL};
    for (int k = 0; operators[k]; k++) {
        int found = 0;
        for (int c = 0; c < N_CASES && !found; c++)
            found = strcmp(cases[c].covers, operators[k]) == 0;
        if (!found)
            fail_msg("operator %s has no closed-form case", operators[k]);
    }
}

/* ---- the formula in PyTorch (torch.c) ------------------------------------------------ */

/* Every operation has a PyTorch template that names only its own arguments; a formula is
 * written from its parsed graph with the caller's variable names, constants as float
 * literals (the shortest digits that read back, negative ones in parentheses). The values
 * of these expressions are checked against nntrain's in tests/ref/test_export_torch.py. */
static void test_torch_expressions(void **state)
{
    (void)state;
    for (int op = OP_ADD; op < OP_COUNT; op++) {
        const char *t = nni_formula_op_table[op].torch;
        if (!t)
            fail_msg("operation %d has no PyTorch template", op);
        for (const char *c = strchr(t, '$'); c; c = strchr(c + 1, '$'))
            if (c[1] < '0' || c[1] - '0' >= nni_formula_op_table[op].arity)
                fail_msg("operation %d: template '%s' names a missing argument", op, t);
    }
    static const char *const torch_vars[] = {"x", "p[\"beta\"]"};
    static const char *const x_and_beta[] = {"x", "beta", NULL};
    static const struct {
        const char *formula, *torch;
    } cases[] = {
        {"x * sigmoid(beta * x)", "(x * torch.sigmoid((x * p[\"beta\"])))"},
        {"max(x, 0) + 0.1 * x / -4", "(formula_max(x, 0.0) + ((x * 0.1) / (-4.0)))"},
        {"where(x > beta, exp(-x^2), log1p(abs(x)))",
         "formula_where((x > p[\"beta\"]).float(), torch.exp((-formula_square(x))), "
         "torch.log1p(torch.abs(x)))"},
        {"clamp(x, -1, 2) + pow(2, tanh(x)) + 1e-30",
         "((formula_clamp(x, (-1.0), 2.0) + formula_pow(2.0, torch.tanh(x))) + 1e-30)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        nni_formula *f = parse(cases[k].formula, x_and_beta);
        nni_text text = {0};
        nni_formula_write_torch(f, torch_vars, &text);
        assert_false(text.failed);
        if (strcmp(text.data, cases[k].torch) != 0)
            fail_msg("%s: wrote %s, expected %s", cases[k].formula, text.data, cases[k].torch);
        nni_text_free(&text);
        nni_formula_free(f);
    }
}

/* ---- two variables: the rules of the second argument ------------------------------- */

static void test_two_variables(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "x ^ y", "x / y", "min(x, y)", "max(x, y)", "clamp(x, y, y + 1)",
        "where(x > y, x * y, y / x)", "x * y - exp(y) * sin(x)", "(x < y) * x + y ^ 2",
    };
    static const double points[][2] = {{1.3, 0.7}, {2.2, -0.4}, {0.6, 1.9}, {3.1, 2.8},
                                       {0.9, 0.25}};
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        nni_formula *f = parse(texts[t], x_and_y);
        nni_formula_program *p = value_and_derivatives(f, 2, 0);
        for (size_t i = 0; i < sizeof points / sizeof points[0]; i++)
            for (int v = 0; v < 2; v++) {
                const double h = 1e-6;
                double up[3], down[3], here[3];
                double at[2] = {points[i][0], points[i][1]};
                nni_formula_run_scalar(p, at, here);
                at[v] += h;
                nni_formula_run_scalar(p, at, up);
                at[v] -= 2 * h;
                nni_formula_run_scalar(p, at, down);
                double numeric = (up[0] - down[0]) / (2 * h);
                if (!close_to(here[1 + v], numeric, 1e-6, 1e-6))
                    fail_msg("d/d%s %s at (%g, %g): %.12g, differences %.12g", x_and_y[v],
                             texts[t], points[i][0], points[i][1], here[1 + v], numeric);
            }
        nni_formula_program_free(p);
        nni_formula_free(f);
    }
}

/* ---- the compiled program ------------------------------------------------------------ */

static void test_program_chunks_and_stores(void **state)
{
    (void)state;
    enum { N = 1000 }; /* several chunks and a partial one */
    nni_formula *f = parse("x * sigmoid(beta * x) + where(x > 1, y, -y)",
                           (const char *const[]){"x", "beta", "y", NULL});
    nni_formula_program *p = value_and_derivatives(f, 3, 1u | 4u);
    static float x[N], y[N], value[N], dx[N], dbeta_unused[N], dy[N];
    for (int i = 0; i < N; i++) {
        x[i] = -5.0f + 10.0f * (float)i / N;
        y[i] = 0.25f * (float)(i % 7);
        dx[i] = 1.0f; /* added to */
    }
    const float *arrays[] = {x, NULL, y};
    const float scalars[] = {0, 1.5f, 0};
    float *outputs[] = {value, dx, dbeta_unused, dy};
    nni_formula_store stores[] = {NNI_FORMULA_WRITE, NNI_FORMULA_ADD, NNI_FORMULA_SUM,
                                  NNI_FORMULA_WRITE};
    double sums[4] = {0, 0, 0.5, 0};
    nni_formula_run(p, arrays, scalars, N, outputs, stores, sums);
    double dbeta = 0.5;
    for (int i = 0; i < N; i++) {
        double expect[4];
        const double at[] = {x[i], 1.5, y[i]};
        nni_formula_run_scalar(p, at, expect);
        assert_true(close_to(value[i], expect[0], 1e-6, 1e-6));
        assert_true(close_to(dx[i], 1.0 + expect[1], 1e-6, 1e-6));
        assert_true(close_to(dy[i], expect[3], 0, 0));
        dbeta += expect[2];
    }
    assert_true(close_to(sums[2], dbeta, 1e-6, 1e-6));
    nni_formula_program_free(p);
    nni_formula_free(f);
}

/* Shared subexpressions: swish and its derivative need one sigmoid(x), not three. */
static void test_shared_subexpressions(void **state)
{
    (void)state;
    nni_formula *f = parse("x * sigmoid(x)", x_only);
    nni_formula_program *p = value_and_derivatives(f, 1, 1u);
    /* sigmoid(x), x * s, -x, sigmoid(-x), s * s(-x), x * that, s + that */
    assert_int_equal(nni_formula_program_length(p), 7);
    nni_formula_program_free(p);
    nni_formula_free(f);
    /* Constants fold; x + 0 and 1 * x vanish. */
    f = parse("(2 * 3 - 5) * x + 0 * exp(x) + (x + 0)", x_only);
    p = value_and_derivatives(f, 1, 1u);
    assert_int_equal(nni_formula_program_length(p), 1); /* x + x */
    nni_formula_program_free(p);
    nni_formula_free(f);
}

/* ---- errors -------------------------------------------------------------------------- */

static void expect_error(const char *text, const char *const *vars, const char *message)
{
    nni_formula *f = NULL;
    nn_error err = {0};
    nn_status st = nni_formula_parse(text, vars, &f, &err);
    if (st != NN_ERR_CONFIG || f)
        fail_msg("'%.60s' parsed (status %d)", text, (int)st);
    if (!strstr(err.msg, message))
        fail_msg("'%.60s': got \"%s\", expected \"%s\"", text, err.msg, message);
}

static void test_errors(void **state)
{
    (void)state;
    const char *const beta_vars[] = {"x", "beta", NULL};
    expect_error("x * sigmod(x)", x_only,
                 "formula:1:5: unknown function 'sigmod' (did you mean 'sigmoid'?)");
    expect_error("x * bta", beta_vars,
                 "formula:1:5: unknown name 'bta' (did you mean 'beta'?); names here: x, beta");
    expect_error("x * zzz", x_only, "formula:1:5: unknown name 'zzz'; names here: x");
    expect_error("x +", x_only, "formula:1:4: the formula ends where a number");
    expect_error("2 x", x_only, "formula:1:3: unexpected 'x' after a complete expression");
    expect_error("x $ 2", x_only, "formula:1:3: unexpected '$'");
    expect_error("exp(x, 1)", x_only, "formula:1:8: exp() takes 1 argument");
    expect_error("clamp(x)", x_only, "formula:1:1: clamp() takes 3 arguments, got 1");
    expect_error("(x + 1", x_only, "formula:1:7: expected ')' to close the '(' at column 1");
    expect_error("x > 0 ? x", x_only, "formula:1:10: expected ':'");
    expect_error("exp * 2", x_only, "formula:1:1: exp is a function: write exp(...)");
    expect_error("x(2)", x_only, "formula:1:1: 'x' is a variable, not a function");
    expect_error("   ", x_only, "formula:1:4: empty formula");
    expect_error("x +\n  foo(x)", x_only, "formula:2:3: unknown function 'foo'");
    char deep[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "(");
    strcat(deep, "x");
    for (int i = 0; i < 100; i++)
        strcat(deep, ")");
    expect_error(deep, x_only, "nested too deeply");
    char longer[1200];
    memset(longer, 0, sizeof longer);
    for (int i = 0; i < 550; i++)
        strcat(longer, "x+");
    strcat(longer, "x");
    expect_error(longer, x_only, "formula:1:1001: formula too long (1101 characters; at most");
}

/* More intermediate values alive at once than the program has registers: a clear error at
 * compile, not a crash. */
static void test_too_many_registers(void **state)
{
    (void)state;
    char text[1000] = "", piece[32];
    for (int k = 1; k <= 50; k++) {
        snprintf(piece, sizeof piece, "%ssin(%d*x)", k > 1 ? "+" : "", k);
        strcat(text, piece);
    }
    strcat(text, "+(");
    for (int k = 50; k >= 1; k--) {
        snprintf(piece, sizeof piece, "%ssin(%d*x)", k < 50 ? "*" : "", k);
        strcat(text, piece);
    }
    strcat(text, ")");
    nni_formula *f = parse(text, x_only);
    int root = nni_formula_root(f);
    nni_formula_program *p = NULL;
    nn_error err = {0};
    assert_int_equal(nni_formula_compile(f, &root, 1, 1u, &p, &err), NN_ERR_CONFIG);
    assert_null(p);
    assert_non_null(strstr(err.msg, "intermediate values are needed at once"));
    nni_formula_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_derivatives),
        cmocka_unit_test(test_derivatives_against_differences),
        cmocka_unit_test(test_every_function_has_a_case),
        cmocka_unit_test(test_torch_expressions),
        cmocka_unit_test(test_two_variables),
        cmocka_unit_test(test_program_chunks_and_stores),
        cmocka_unit_test(test_shared_subexpressions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_many_registers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

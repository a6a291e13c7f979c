/* The operations of the formula language, one table row each: the name it is called by,
 * its array kernel (float, a loop the compiler vectorizes where the function allows), its
 * double-precision value (constant folding, schedules) and its derivative rule, side by
 * side.
 *
 * Saturating functions use the forms activation.c uses, so a formula equal to a built-in
 * computes the same numbers: sigmoid in two branches (exp never overflows), softplus
 * linear above 20, tanh's derivative as sech^2 (1 - tanh^2 rounds to 0 long before the
 * true value underflows). Ties of min, max and relu take the derivative torch takes for
 * relu: max(x, 0) has derivative 0 at x = 0. */
#include <math.h>
#include <stddef.h>

#include "formula/graph.h"

static inline float sigmoid_f(float x)
{
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static inline double sigmoid_d(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static inline float sech2_f(float x)
{
    float e = expf(-2.0f * fabsf(x));
    return 4.0f * e / ((1.0f + e) * (1.0f + e));
}

static inline double sech2_d(double x)
{
    double e = exp(-2.0 * fabs(x));
    return 4.0 * e / ((1.0 + e) * (1.0 + e));
}

/* One operation's kernel and double value from one expression each over a, b, c. */
#define TERNARY(NAME, FLOAT_EXPR, DOUBLE_EXPR)                                               \
    static void NAME##_kernel(float *restrict out, const float *restrict as,                  \
                              const float *restrict bs, const float *restrict cs, int n)      \
    {                                                                                          \
        for (int i = 0; i < n; i++) {                                                          \
            const float a = as[i], b = bs[i], c = cs[i];                                       \
            out[i] = (FLOAT_EXPR);                                                             \
        }                                                                                      \
    }                                                                                          \
    static double NAME##_scalar(double a, double b, double c)                                  \
    {                                                                                          \
        (void)b, (void)c;                                                                      \
        return (DOUBLE_EXPR);                                                                  \
    }

#define UNARY(NAME, FLOAT_EXPR, DOUBLE_EXPR)                                                   \
    static void NAME##_kernel(float *restrict out, const float *restrict as,                  \
                              const float *restrict bs, const float *restrict cs, int n)      \
    {                                                                                          \
        (void)bs, (void)cs;                                                                    \
        for (int i = 0; i < n; i++) {                                                          \
            const float a = as[i];                                                             \
            out[i] = (FLOAT_EXPR);                                                             \
        }                                                                                      \
    }                                                                                          \
    static double NAME##_scalar(double a, double b, double c)                                  \
    {                                                                                          \
        (void)b, (void)c;                                                                      \
        return (DOUBLE_EXPR);                                                                  \
    }

#define BINARY(NAME, FLOAT_EXPR, DOUBLE_EXPR)                                                  \
    static void NAME##_kernel(float *restrict out, const float *restrict as,                  \
                              const float *restrict bs, const float *restrict cs, int n)      \
    {                                                                                          \
        (void)cs;                                                                              \
        for (int i = 0; i < n; i++) {                                                          \
            const float a = as[i], b = bs[i];                                                  \
            out[i] = (FLOAT_EXPR);                                                             \
        }                                                                                      \
    }                                                                                          \
    static double NAME##_scalar(double a, double b, double c)                                  \
    {                                                                                          \
        (void)c;                                                                               \
        return (DOUBLE_EXPR);                                                                  \
    }

/* Leaves are not instructions; their rows exist so every op id has one. */
static double leaf_scalar(double a, double b, double c)
{
    (void)b, (void)c;
    return a;
}

BINARY(add, a + b, a + b)
BINARY(sub, a - b, a - b)
BINARY(mul, a * b, a * b)
BINARY(div, a / b, a / b)
BINARY(pow, powf(a, b), pow(a, b))
UNARY(neg, -a, -a)
BINARY(lt, a < b ? 1.0f : 0.0f, a < b)
BINARY(le, a <= b ? 1.0f : 0.0f, a <= b)
BINARY(gt, a > b ? 1.0f : 0.0f, a > b)
BINARY(ge, a >= b ? 1.0f : 0.0f, a >= b)
BINARY(eq, a == b ? 1.0f : 0.0f, a == b)
BINARY(ne, a != b ? 1.0f : 0.0f, a != b)
TERNARY(where, a != 0.0f ? b : c, a != 0 ? b : c)
UNARY(exp, expf(a), exp(a))
UNARY(log, logf(a), log(a))
UNARY(log1p, log1pf(a), log1p(a))
UNARY(sqrt, sqrtf(a), sqrt(a))
UNARY(abs, fabsf(a), fabs(a))
UNARY(sign, (float)((a > 0.0f) - (a < 0.0f)), (a > 0) - (a < 0))
BINARY(min, a < b ? a : b, a < b ? a : b)
BINARY(max, a > b ? a : b, a > b ? a : b)
TERNARY(clamp, a < b ? b : a > c ? c : a, a < b ? b : a > c ? c : a)
UNARY(sin, sinf(a), sin(a))
UNARY(cos, cosf(a), cos(a))
UNARY(tanh, tanhf(a), tanh(a))
UNARY(atan, atanf(a), atan(a))
UNARY(erf, erff(a), erf(a))
UNARY(sigmoid, sigmoid_f(a), sigmoid_d(a))
UNARY(softplus, a > 20.0f ? a : log1pf(expf(a)), a > 20 ? a : log1p(exp(a)))
UNARY(relu, a > 0.0f ? a : 0.0f, a > 0 ? a : 0)
UNARY(floor, floorf(a), floor(a))
UNARY(ceil, ceilf(a), ceil(a))
UNARY(square, a * a, a * a)
UNARY(sech2, sech2_f(a), sech2_d(a))

/* ---- derivative rules: d node from the arguments' derivatives darg ------------------ */

#define ARG(k) (f->nodes[node].arg[k])
#define NODE(op, a, b, c) nni_formula_node(f, op, a, b, c)
#define MUL(a, b) nni_formula_mul(f, a, b)
#define CONST(v) nni_formula_const(f, v)

static int zero_rule(nni_formula *f, int node, const int *darg)
{
    (void)node, (void)darg;
    return CONST(0);
}

static int add_rule(nni_formula *f, int node, const int *darg)
{
    (void)node;
    return NODE(OP_ADD, darg[0], darg[1], -1);
}

static int sub_rule(nni_formula *f, int node, const int *darg)
{
    (void)node;
    return NODE(OP_SUB, darg[0], darg[1], -1);
}

static int mul_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_ADD, MUL(darg[0], ARG(1)), MUL(ARG(0), darg[1]), -1);
}

/* d(a / b) = (da - (a / b) db) / b */
static int div_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_DIV, NODE(OP_SUB, darg[0], MUL(node, darg[1]), -1), ARG(1), -1);
}

/* d(a^b) = b a^(b-1) da + a^b log(a) db; the second term only when b varies, so a
 * negative base with a constant exponent stays finite. */
static int pow_rule(nni_formula *f, int node, const int *darg)
{
    const int a = ARG(0), b = ARG(1);
    int base = NODE(OP_POW, a, NODE(OP_SUB, b, CONST(1), -1), -1);
    int term = MUL(MUL(b, base), darg[0]);
    if (nni_formula_is_const(f, darg[1], 0))
        return term;
    return NODE(OP_ADD, term, MUL(MUL(node, NODE(OP_LOG, a, -1, -1)), darg[1]), -1);
}

static int neg_rule(nni_formula *f, int node, const int *darg)
{
    (void)node;
    return NODE(OP_NEG, darg[0], -1, -1);
}

static int where_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_WHERE, ARG(0), darg[1], darg[2]);
}

static int exp_rule(nni_formula *f, int node, const int *darg)
{
    return MUL(node, darg[0]);
}

static int log_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_DIV, darg[0], ARG(0), -1);
}

static int log1p_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_DIV, darg[0], NODE(OP_ADD, CONST(1), ARG(0), -1), -1);
}

static int sqrt_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_DIV, darg[0], MUL(CONST(2), node), -1);
}

static int abs_rule(nni_formula *f, int node, const int *darg)
{
    return MUL(NODE(OP_SIGN, ARG(0), -1, -1), darg[0]);
}

static int min_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_WHERE, NODE(OP_LT, ARG(0), ARG(1), -1), darg[0], darg[1]);
}

static int max_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_WHERE, NODE(OP_GT, ARG(0), ARG(1), -1), darg[0], darg[1]);
}

/* clamp(x, lo, hi): lo's derivative below lo, hi's above hi, x's between. */
static int clamp_rule(nni_formula *f, int node, const int *darg)
{
    const int x = ARG(0), lo = ARG(1), hi = ARG(2);
    int inside = NODE(OP_WHERE, NODE(OP_GT, x, hi, -1), darg[2], darg[0]);
    return NODE(OP_WHERE, NODE(OP_LT, x, lo, -1), darg[1], inside);
}

static int sin_rule(nni_formula *f, int node, const int *darg)
{
    return MUL(NODE(OP_COS, ARG(0), -1, -1), darg[0]);
}

static int cos_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_NEG, MUL(NODE(OP_SIN, ARG(0), -1, -1), darg[0]), -1, -1);
}

static int tanh_rule(nni_formula *f, int node, const int *darg)
{
    return MUL(NODE(OP_SECH2, ARG(0), -1, -1), darg[0]);
}

static int atan_rule(nni_formula *f, int node, const int *darg)
{
    return NODE(OP_DIV, darg[0], NODE(OP_ADD, CONST(1), NODE(OP_SQUARE, ARG(0), -1, -1), -1),
                -1);
}

#define TWO_OVER_SQRT_PI 1.1283791670955126

static int erf_rule(nni_formula *f, int node, const int *darg)
{
    int gauss = NODE(OP_EXP, NODE(OP_NEG, NODE(OP_SQUARE, ARG(0), -1, -1), -1, -1), -1, -1);
    return MUL(MUL(CONST(TWO_OVER_SQRT_PI), gauss), darg[0]);
}

/* sigmoid' = sigmoid(x) sigmoid(-x), which does not cancel for large x as 1 - sigmoid does. */
static int sigmoid_rule(nni_formula *f, int node, const int *darg)
{
    int other = NODE(OP_SIGMOID, NODE(OP_NEG, ARG(0), -1, -1), -1, -1);
    return MUL(MUL(node, other), darg[0]);
}

static int softplus_rule(nni_formula *f, int node, const int *darg)
{
    return MUL(NODE(OP_SIGMOID, ARG(0), -1, -1), darg[0]);
}

static int relu_rule(nni_formula *f, int node, const int *darg)
{
    return MUL(NODE(OP_GT, ARG(0), CONST(0), -1), darg[0]);
}

static int square_rule(nni_formula *f, int node, const int *darg)
{
    return MUL(MUL(CONST(2), ARG(0)), darg[0]);
}

/* (sech^2 x)' = -2 sech^2(x) tanh(x) */
static int sech2_rule(nni_formula *f, int node, const int *darg)
{
    int slope = MUL(CONST(-2), MUL(node, NODE(OP_TANH, ARG(0), -1, -1)));
    return MUL(slope, darg[0]);
}

#define ENTRY(OP, name, NAME, ARITY, RULE, TORCH)                                              \
    [OP] = {NAME, ARITY, name##_kernel, name##_scalar, RULE, TORCH}

const formula_op_row nni_formula_op_table[OP_COUNT] = {
    [OP_CONST] = {NULL, 0, NULL, leaf_scalar, zero_rule},
    [OP_VAR] = {NULL, 0, NULL, leaf_scalar, zero_rule},
    ENTRY(OP_ADD, add, NULL, 2, add_rule, "($0 + $1)"),
    ENTRY(OP_SUB, sub, NULL, 2, sub_rule, "($0 - $1)"),
    ENTRY(OP_MUL, mul, NULL, 2, mul_rule, "($0 * $1)"),
    ENTRY(OP_DIV, div, NULL, 2, div_rule, "($0 / $1)"),
    ENTRY(OP_POW, pow, "pow", 2, pow_rule, "formula_pow($0, $1)"),
    ENTRY(OP_NEG, neg, NULL, 1, neg_rule, "(-$0)"),
    ENTRY(OP_LT, lt, NULL, 2, zero_rule, "($0 < $1).float()"),
    ENTRY(OP_LE, le, NULL, 2, zero_rule, "($0 <= $1).float()"),
    ENTRY(OP_GT, gt, NULL, 2, zero_rule, "($0 > $1).float()"),
    ENTRY(OP_GE, ge, NULL, 2, zero_rule, "($0 >= $1).float()"),
    ENTRY(OP_EQ, eq, NULL, 2, zero_rule, "($0 == $1).float()"),
    ENTRY(OP_NE, ne, NULL, 2, zero_rule, "($0 != $1).float()"),
    ENTRY(OP_WHERE, where, "where", 3, where_rule, "formula_where($0, $1, $2)"),
    ENTRY(OP_EXP, exp, "exp", 1, exp_rule, "torch.exp($0)"),
    ENTRY(OP_LOG, log, "log", 1, log_rule, "torch.log($0)"),
    ENTRY(OP_LOG1P, log1p, "log1p", 1, log1p_rule, "torch.log1p($0)"),
    ENTRY(OP_SQRT, sqrt, "sqrt", 1, sqrt_rule, "torch.sqrt($0)"),
    ENTRY(OP_ABS, abs, "abs", 1, abs_rule, "torch.abs($0)"),
    ENTRY(OP_SIGN, sign, "sign", 1, zero_rule, "torch.sign($0)"),
    ENTRY(OP_MIN, min, "min", 2, min_rule, "formula_min($0, $1)"),
    ENTRY(OP_MAX, max, "max", 2, max_rule, "formula_max($0, $1)"),
    ENTRY(OP_CLAMP, clamp, "clamp", 3, clamp_rule, "formula_clamp($0, $1, $2)"),
    ENTRY(OP_SIN, sin, "sin", 1, sin_rule, "torch.sin($0)"),
    ENTRY(OP_COS, cos, "cos", 1, cos_rule, "torch.cos($0)"),
    ENTRY(OP_TANH, tanh, "tanh", 1, tanh_rule, "torch.tanh($0)"),
    ENTRY(OP_ATAN, atan, "atan", 1, atan_rule, "torch.atan($0)"),
    ENTRY(OP_ERF, erf, "erf", 1, erf_rule, "torch.erf($0)"),
    ENTRY(OP_SIGMOID, sigmoid, "sigmoid", 1, sigmoid_rule, "torch.sigmoid($0)"),
    ENTRY(OP_SOFTPLUS, softplus, "softplus", 1, softplus_rule, "F.softplus($0)"),
    ENTRY(OP_RELU, relu, "relu", 1, relu_rule, "torch.relu($0)"),
    ENTRY(OP_FLOOR, floor, "floor", 1, zero_rule, "torch.floor($0)"),
    ENTRY(OP_CEIL, ceil, "ceil", 1, zero_rule, "torch.ceil($0)"),
    ENTRY(OP_SQUARE, square, NULL, 1, square_rule, "formula_square($0)"),
    ENTRY(OP_SECH2, sech2, NULL, 1, sech2_rule, "formula_sech2($0)"),
};

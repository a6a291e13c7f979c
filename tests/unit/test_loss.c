/* Losses: finite-difference gradient checks for every term and target kind, known values
 * (including the edges: saturated probabilities, huge logits, zero variance), weighted sums,
 * parameter penalties, and config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "model_fixture.h"
#include "nn/config.h"
#include "nn/loss.h"
#include "train/loss_internal.h"

enum { ROWS = 4, WIDTH = 5 };

static nn_loss *make_loss_sized(const char *yaml, int has_labels, int64_t out_width,
                               int64_t target_width)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_loss *loss = NULL;
    assert_int_equal(nn_cfg_parse_value(yaml, "loss.yaml", &cfg, &err), NN_OK);
    nn_status st = nn_loss_build(cfg, out_width, has_labels, target_width, WIDTH, &loss, &err);
    if (st)
        fail_msg("%s: %s", yaml, err.msg);
    nn_cfg_free(cfg);
    return loss;
}

static nn_loss *make_loss(const char *yaml, int has_labels, int64_t width)
{
    return make_loss_sized(yaml, has_labels, WIDTH, width);
}

typedef struct loss_ctx {
    nn_loss *loss;
    float *out;
    nn_targets targets;
} loss_ctx;

static double loss_objective(void *opaque)
{
    loss_ctx *c = opaque;
    return nn_loss_eval(c->loss, c->out, &c->targets, ROWS, 0, NULL);
}

/* One gradient check: outputs drawn from [out_lo, out_hi) (the loss's domain: probabilities
 * for bce, positive rates, positive variances in the second half for gaussian_nll), targets
 * from [y_lo, y_hi), rows normalized to distributions when soft. */
typedef struct loss_case {
    const char *yaml;
    int labels;
    float out_lo, out_hi, y_lo, y_hi;
    int soft;
    int two_heads; /* gaussian_nll: 2 * WIDTH outputs, second half variances in [0.2, 2) */
} loss_case;

static void check_case(const loss_case *lc)
{
    enum { MAX = ROWS * WIDTH * 2 };
    const int64_t out_width = lc->two_heads ? 2 * WIDTH : WIDTH;
    float out[MAX], dout[MAX], values[ROWS * WIDTH];
    int32_t labels[ROWS] = {0, 3, 4, 1};
    nn_test_fill(out, ROWS * out_width, 21, lc->out_lo, lc->out_hi);
    if (lc->two_heads)
        for (int r = 0; r < ROWS; r++)
            nn_test_fill(out + r * out_width + WIDTH, WIDTH, 40 + (uint64_t)r, 0.2f, 2.0f);
    nn_test_fill(values, ROWS * WIDTH, 22, lc->y_lo, lc->y_hi);
    if (lc->soft) {
        for (int r = 0; r < ROWS; r++) {
            float sum = 0;
            for (int c = 0; c < WIDTH; c++)
                sum += values[r * WIDTH + c];
            for (int c = 0; c < WIDTH; c++)
                values[r * WIDTH + c] /= sum;
        }
    }
    nn_loss *loss = make_loss_sized(lc->yaml, lc->labels, out_width, lc->labels ? 1 : WIDTH);
    loss_ctx ctx = {.loss = loss, .out = out,
                    .targets = {.labels = lc->labels ? labels : NULL,
                                .values = lc->labels ? NULL : values,
                                .width = lc->labels ? 1 : WIDTH}};
    double value = nn_loss_eval(loss, out, &ctx.targets, ROWS, 1.0f, dout);
    if (!isfinite(value))
        fail_msg("%s (labels=%d): loss %g", lc->yaml, lc->labels, value);
    char report[256];
    if (!nn_gradcheck(loss_objective, &ctx, out, dout, ROWS * out_width, 1e-3, 1e-4, 1e-2,
                      report, sizeof report))
        fail_msg("%s (labels=%d): %s", lc->yaml, lc->labels, report);
    nn_loss_free(loss);
}

static void check_loss_gradient(const char *yaml, int has_labels)
{
    loss_case lc = {yaml, has_labels, -2, 2, 0.05f, 1, strstr(yaml, "soft") != NULL, 0};
    check_case(&lc);
}

static const char *const with_labels[] = {
    "cross_entropy", "{type: cross_entropy, label_smoothing: 0.1}", "mse", "l1",
    "[{type: cross_entropy}, {type: mse, weight: 0.5}]"};
static const char *const with_values[] = {
    "cross_entropy # soft", "{type: cross_entropy, label_smoothing: 0.2} # soft", "mse", "l1"};

static void test_gradients(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof with_labels / sizeof with_labels[0]; i++)
        check_loss_gradient(with_labels[i], 1);
    for (size_t i = 0; i < sizeof with_values / sizeof with_values[0]; i++)
        check_loss_gradient(with_values[i], 0);
}

/* Every other loss, with label and float targets where it takes both. */
static const loss_case catalogue_cases[] = {
    {"{type: cross_entropy, class_weights: [1, 2, 0.5, 3, 1]}", 1, -2, 2, 0, 1, 0, 0},
    {"{type: cross_entropy, class_weights: [1, 2, 0.5, 3, 1], label_smoothing: 0.1}", 1,
     -2, 2, 0, 1, 0, 0},
    {"{type: cross_entropy, class_weights: [1, 2, 0.5, 3, 1], label_smoothing: 0.1}", 0,
     -2, 2, 0.05f, 1, 1, 0},
    {"nll", 1, -3, -0.1f, 0, 1, 0, 0},
    {"{type: nll, class_weights: [1, 2, 0.5, 3, 1]}", 1, -3, -0.1f, 0, 1, 0, 0},
    {"nll", 0, -3, -0.1f, 0.05f, 1, 1, 0},
    {"bce", 1, 0.05f, 0.95f, 0, 1, 0, 0},
    {"bce", 0, 0.05f, 0.95f, 0, 1, 0, 0},
    {"bce_with_logits", 1, -3, 3, 0, 1, 0, 0},
    {"bce_with_logits", 0, -3, 3, 0, 1, 0, 0},
    {"{type: bce_with_logits, pos_weight: 3}", 0, -3, 3, 0, 1, 0, 0},
    {"{type: bce_with_logits, pos_weight: [1, 2, 0.5, 3, 0]}", 1, -3, 3, 0, 1, 0, 0},
    {"huber", 0, -2, 2, -1, 1, 0, 0},
    {"{type: huber, delta: 0.4}", 0, -2, 2, -1, 1, 0, 0},
    {"{type: huber, delta: 0.4}", 1, -2, 2, 0, 1, 0, 0},
    {"smooth_l1", 0, -2, 2, -1, 1, 0, 0},
    {"{type: smooth_l1, beta: 0.3}", 0, -2, 2, -1, 1, 0, 0},
    {"kl_div", 0, -3, -0.1f, 0.05f, 1, 1, 0},
    {"kl_div", 1, -3, -0.1f, 0, 1, 0, 0},
    {"{type: kl_div, log_target: true}", 0, -3, -0.1f, -3, -0.1f, 0, 0},
    {"poisson_nll", 0, -2, 2, 0, 5, 0, 0},
    {"{type: poisson_nll, full: true}", 0, -2, 2, 0, 5, 0, 0},
    {"{type: poisson_nll, log_input: false}", 0, 0.2f, 3, 0, 5, 0, 0},
    {"{type: poisson_nll, log_input: false, full: true, eps: 1e-3}", 0, 0.2f, 3, 0, 5, 0,
     0},
    {"gaussian_nll", 0, -2, 2, -1, 1, 0, 1},
    {"{type: gaussian_nll, full: true}", 0, -2, 2, -1, 1, 0, 1},
    {"[{type: cross_entropy}, {type: huber, weight: 0.3}, {type: l2_penalty, weight: 1}]",
     1, -2, 2, 0, 1, 0, 0},
    {"[{type: kl_div}, {type: mse, weight: 2}]", 0, -3, -0.1f, 0.05f, 1, 1, 0},
    /* Formulas (more in test_formula_loss.c): over y and t, over p and logp, with params. */
    {"{type: formula, per_output: \"(y - t)^2 + 0.1 * sqrt(1 + y^2)\"}", 0, -2, 2, -1, 1, 0, 0},
    {"{type: formula, per_output: \"-t * logp + 0.1 * p * logp\", reduce: sum}", 1, -2, 2,
     0, 1, 0, 0},
    {"{type: formula, per_output: \"d * (sqrt(1 + ((y - t) / d)^2) - 1)\", params: {d: 0.4}}",
     0, -2, 2, -1, 1, 0, 0},
    {"[{type: formula, per_output: \"(p - t)^2\", weight: 0.5}, {type: cross_entropy}, "
     "{type: l2_penalty, weight: 1}]", 1, -2, 2, 0, 1, 0, 0},
};

static void test_gradients_catalogue(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof catalogue_cases / sizeof catalogue_cases[0]; i++)
        check_case(&catalogue_cases[i]);
}

static void test_known_values(void **state)
{
    (void)state;
    /* Uniform logits: cross-entropy = log(C) for any label. */
    float out[ROWS * WIDTH] = {0};
    int32_t labels[ROWS] = {0, 1, 2, 3};
    nn_targets t = {.labels = labels, .width = 1};
    nn_loss *ce = make_loss("cross_entropy", 1, 1);
    assert_float_equal(nn_loss_eval(ce, out, &t, ROWS, 0, NULL) / ROWS, log(WIDTH), 1e-6);
    /* Gradient of the mean: (softmax - onehot) / rows. */
    float d[ROWS * WIDTH];
    nn_loss_eval(ce, out, &t, ROWS, 1.0f / ROWS, d);
    assert_float_equal(d[0], (0.2 - 1) / ROWS, 1e-7);
    assert_float_equal(d[1], 0.2 / ROWS, 1e-7);
    nn_loss_free(ce);
    /* mse against one-hot labels of zero output: 1/C per sample. */
    nn_loss *mse = make_loss("mse", 1, 1);
    assert_float_equal(nn_loss_eval(mse, out, &t, ROWS, 0, NULL), ROWS * (1.0 / WIDTH), 1e-6);
    nn_loss_free(mse);
}

/* Values of the new losses at chosen points, including the edges where a naive formula
 * overflows or takes log(0). */
static double eval_one(const char *yaml, int has_labels, int64_t out_width, const float *out,
                       const nn_targets *t, int64_t rows, float *grad)
{
    nn_loss *loss = make_loss_sized(yaml, has_labels, out_width, t->width);
    double v = nn_loss_eval(loss, out, t, rows, 1.0f, grad);
    nn_loss_free(loss);
    return v;
}

static void assert_all_finite(const float *x, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            fail_msg("%s: element %lld is %g", what, (long long)i, x[i]);
}

static void test_known_values_catalogue(void **state)
{
    (void)state;
    float zeros[ROWS * WIDTH] = {0}, d[2 * ROWS * WIDTH];
    int32_t labels[ROWS] = {0, 1, 2, 3};
    nn_targets lt = {.labels = labels, .width = 1};
    /* Class weights scale each sample's loss; the sum is over samples (mean = sum / N). */
    double v = eval_one("{type: cross_entropy, class_weights: [1, 2, 0.5, 3, 1]}", 1, WIDTH,
                        zeros, &lt, ROWS, d);
    assert_float_equal(v, (1 + 2 + 0.5 + 3) * log(WIDTH), 1e-5);
    assert_float_equal(d[1 * WIDTH + 1], 2 * (0.2 - 1), 1e-6);
    assert_float_equal(d[1 * WIDTH + 0], 2 * 0.2, 1e-6);

    /* nll picks -x[label]. */
    float logp[ROWS * WIDTH];
    for (int i = 0; i < ROWS * WIDTH; i++)
        logp[i] = -0.1f * (float)(i + 1);
    v = eval_one("nll", 1, WIDTH, logp, &lt, ROWS, d);
    assert_float_equal(v, 0.1 * (1 + 7 + 13 + 19), 1e-5);
    assert_float_equal(d[0], -1, 0);
    assert_float_equal(d[1], 0, 0);
    /* nll of -inf log-probabilities of classes that are not the target stays finite. */
    logp[1] = -INFINITY;
    v = eval_one("nll", 1, WIDTH, logp, &lt, 1, d);
    assert_float_equal(v, 0.1, 1e-6);

    /* smooth_l1(beta) = huber(delta = beta) / beta. */
    float out[ROWS * WIDTH], y[ROWS * WIDTH];
    nn_test_fill(out, ROWS * WIDTH, 5, -2, 2);
    nn_test_fill(y, ROWS * WIDTH, 6, -1, 1);
    nn_targets vt = {.values = y, .width = WIDTH};
    double huber = eval_one("{type: huber, delta: 0.5}", 0, WIDTH, out, &vt, ROWS, d);
    double smooth = eval_one("{type: smooth_l1, beta: 0.5}", 0, WIDTH, out, &vt, ROWS, d);
    assert_float_equal(smooth * 0.5, huber, 1e-6);
    /* beta = 0 is l1. */
    assert_float_equal(eval_one("{type: smooth_l1, beta: 0}", 0, WIDTH, out, &vt, ROWS, d),
                       eval_one("l1", 0, WIDTH, out, &vt, ROWS, d), 1e-6);

    /* bce at saturated probabilities: each log clamps at -100. */
    float p[4] = {0, 1, 0, 1}, t4[4] = {1, 0, 0, 1};
    nn_targets bt = {.values = t4, .width = 4};
    nn_loss *bce = make_loss_sized("bce", 0, 4, 4);
    v = nn_loss_eval(bce, p, &bt, 1, 1.0f, d);
    nn_loss_free(bce);
    assert_float_equal(v, (100 + 100 + 0 + 0) / 4.0, 1e-6);
    assert_all_finite(d, 4, "bce gradient at 0 and 1");

    /* bce_with_logits at large |x|: no overflow, exact linear tails. */
    float x6[6] = {1e4f, -1e4f, 30, -30, 0, 1e4f}, t6[6] = {0, 1, 0, 1, 1, 1};
    nn_targets bt6 = {.values = t6, .width = 6};
    nn_loss *bcel = make_loss_sized("bce_with_logits", 0, 6, 6);
    v = nn_loss_eval(bcel, x6, &bt6, 1, 1.0f, d);
    nn_loss_free(bcel);
    assert_float_equal(v, (1e4 + 1e4 + 30 + 30 + log(2) + 0) / 6, 1e-4);
    assert_all_finite(d, 6, "bce_with_logits gradient");
    assert_float_equal(d[0], 1.0 / 6, 1e-7);
    assert_float_equal(d[1], -1.0 / 6, 1e-7);
    assert_float_equal(d[4], -0.5 / 6, 1e-7);

    /* One output with int labels: the label is the 0/1 target. */
    float prob[2] = {0.8f, 0.3f};
    int32_t bin[2] = {1, 0};
    nn_targets blt = {.labels = bin, .width = 1};
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_loss *one = NULL;
    assert_int_equal(nn_cfg_parse_value("bce", "l", &cfg, &err), NN_OK);
    assert_int_equal(nn_loss_build(cfg, 1, 1, 1, 2, &one, &err), NN_OK);
    nn_cfg_free(cfg);
    assert_float_equal(nn_loss_eval(one, prob, &blt, 2, 0, NULL), -log(0.8) - log(0.7), 1e-6);
    assert_false(nn_loss_is_classification(one)); /* argmax of one output means nothing */
    nn_loss_free(one);

    /* kl_div: zero targets contribute nothing (0 log 0 = 0). */
    float q[3] = {logf(0.5f), logf(0.25f), logf(0.25f)}, pt[3] = {0.5f, 0.5f, 0};
    nn_targets kt = {.values = pt, .width = 3};
    nn_loss *kl = make_loss_sized("kl_div", 0, 3, 3);
    v = nn_loss_eval(kl, q, &kt, 1, 1.0f, d);
    nn_loss_free(kl);
    assert_float_equal(v, 0.5 * log(2), 1e-6);
    assert_float_equal(d[2], 0, 0);

    /* poisson_nll, full: Stirling's term only where the target exceeds 1. */
    float rate[2] = {0.5f, 1.0f}, counts[2] = {3, 1};
    nn_targets pt2 = {.values = counts, .width = 2};
    nn_loss *po = make_loss_sized("{type: poisson_nll, full: true}", 0, 2, 2);
    v = nn_loss_eval(po, rate, &pt2, 1, 0, NULL);
    nn_loss_free(po);
    double expect = (exp(0.5) - 3 * 0.5 + 3 * log(3.0) - 3 + 0.5 * log(2 * 3.14159265358979 * 3) +
                     exp(1.0) - 1) / 2;
    assert_float_equal(v, expect, 1e-5);

    /* gaussian_nll: the variance head is clamped at eps, so zero variance is finite. */
    float gauss[4] = {1, 2, 0, 4}, gy[2] = {1, 0};
    nn_targets gt = {.values = gy, .width = 2};
    nn_loss *gn = make_loss_sized("gaussian_nll", 0, 4, 2);
    v = nn_loss_eval(gn, gauss, &gt, 1, 1.0f, d);
    nn_loss_free(gn);
    assert_float_equal(v, (0.5 * log(1e-6) + 0.5 * (log(4.0) + 4 / 4.0)) / 2, 1e-5);
    assert_all_finite(d, 4, "gaussian_nll gradient");
}

/* Penalties: value and gradient over trained weights; biases and frozen layers excluded
 * unless asked; added on top of gradients already there. */
static const char *const penalty_specs[] = {
    "[{type: mse}, {type: l2_penalty, weight: 0.1}]",
    "[{type: mse}, {type: l1_penalty, weight: 0.5, include_bias: true}, "
    "{type: l2_penalty, weight: 0.1}]"};

static void test_penalties(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [3], layers: [{name: a, type: dense, units: 2},"
                                    " {name: f, type: dense, units: 2, trainable: false}]}",
                                    2, 1);
    assert_non_null(model);
    float *w = nn_model_param_data(model, nn_model_find_param(model, "a/weight"));
    float *b = nn_model_param_data(model, nn_model_find_param(model, "a/bias"));
    float *gw = nn_model_param_grad(model, nn_model_find_param(model, "a/weight"));
    float *gb = nn_model_param_grad(model, nn_model_find_param(model, "a/bias"));
    float *gf = nn_model_param_grad(model, nn_model_find_param(model, "f/weight"));
    const float wv[6] = {1, -2, 0, 0.5f, 3, -1};
    memcpy(w, wv, sizeof wv);
    b[0] = 2;
    b[1] = -4;
    memset(model->grad_data, 0, (size_t)model->n_param_floats * sizeof(float));
    gw[0] = 10;

    nn_loss *l2 = make_loss(penalty_specs[0], 0, WIDTH);
    assert_float_equal(nn_loss_add_penalties(l2, model), 0.1 * (1 + 4 + 0 + 0.25 + 9 + 1),
                       1e-6);
    assert_float_equal(gw[0], 10 + 0.2 * 1, 1e-6);
    assert_float_equal(gw[1], 0.2 * -2, 1e-6);
    assert_float_equal(gb[0], 0, 0);
    assert_float_equal(gf[0], 0, 0);
    nn_loss_free(l2);

    memset(model->grad_data, 0, (size_t)model->n_param_floats * sizeof(float));
    nn_loss *l1 = make_loss(penalty_specs[1], 0, WIDTH);
    assert_float_equal(nn_loss_add_penalties(l1, model),
                       0.5 * (1 + 2 + 0 + 0.5 + 3 + 1 + 2 + 4) + 0.1 * 15.25, 1e-5);
    assert_float_equal(gw[1], -0.5 + 0.2 * -2, 1e-6);
    assert_float_equal(gw[2], 0, 0); /* sign(0) = 0 */
    assert_float_equal(gb[1], -0.5, 1e-6);
    assert_float_equal(gf[0], 0, 0);
    /* Penalty terms do not enter the per-sample loss. */
    float out[ROWS * WIDTH] = {0}, y[ROWS * WIDTH] = {0};
    nn_targets t = {.values = y, .width = WIDTH};
    assert_float_equal(nn_loss_eval(l1, out, &t, ROWS, 0, NULL), 0, 0);
    nn_loss_free(l1);
    nn_model_free(model);
}

static void expect_config_error(const char *yaml, const char *expect)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_loss *loss = NULL;
    assert_int_equal(nn_cfg_parse_value(yaml, "loss.yaml", &cfg, &err), NN_OK);
    nn_status st = nn_loss_build(cfg, WIDTH, 1, 1, WIDTH, &loss, &err);
    if (st != NN_ERR_CONFIG || !strstr(err.msg, expect))
        fail_msg("'%s': status %d, message '%s'", yaml, st, err.msg);
    nn_cfg_free(cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"cross_entropi", "did you mean 'cross_entropy'"},
        {"{type: cross_entropy, label_smoothing: 1.5}", "label_smoothing"},
        {"{type: mse, weight: -1}", "weight"},
        {"{type: mse, delta: 1}", "delta"},
        {"hubber", "did you mean 'huber'"},
        {"{type: cross_entropy, class_weights: [1, 2]}", "class_weights"},
        {"{type: nll, class_weights: [1, 2, -1, 1, 1]}", "class_weights must be >= 0"},
        {"{type: cross_entropy, class_weights: [1, 2, x, 1, 1]}", "expected a number, got 'x'"},
        {"{type: huber, delta: 0}", "delta must be > 0"},
        {"{type: smooth_l1, beta: -1}", "beta must be >= 0"},
        {"{type: poisson_nll, eps: 0}", "eps must be > 0"},
        {"{type: poisson_nll, log_inputs: true}", "did you mean 'log_input'"},
        {"{type: gaussian_nll, eps: -1}", "eps must be > 0"},
        {"gaussian_nll", "float targets"},
        {"{type: bce_with_logits, pos_weight: [1, 2]}", "pos_weight"},
        {"{type: bce_with_logits, pos_weight: -1}", "pos_weight must be >= 0"},
        {"{type: kl_div, log_target: maybe}", "log_target"},
        {"l2_penalty", "needs 'weight'"},
        {"[{type: l2_penalty, weight: 0.1}]", "needs a term on the data"},
        {"[{type: mse}, {type: l1_penalty, weight: 0.1, include_biases: true}]",
         "did you mean 'include_bias'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_config_error(cases[i].yaml, cases[i].expect);
    /* An unknown name lists every loss of the table, in its order. */
    char valid[1024];
    fixture_valid_list(nni_loss_catalogue, valid, sizeof valid);
    expect_config_error("nope", valid);
}

/* Every loss of the table has a gradient check above (a new row without one fails here). */
static void mark_checked(const nni_catalogue_row *row, void *ctx)
{
    int *unchecked = ctx;
    const char *specs[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof with_labels / sizeof with_labels[0]; i++)
        specs[n++] = with_labels[i];
    for (size_t i = 0; i < sizeof with_values / sizeof with_values[0]; i++)
        specs[n++] = with_values[i];
    for (size_t i = 0; i < sizeof catalogue_cases / sizeof catalogue_cases[0]; i++)
        specs[n++] = catalogue_cases[i].yaml;
    for (size_t i = 0; i < sizeof penalty_specs / sizeof penalty_specs[0]; i++)
        specs[n++] = penalty_specs[i];
    /* ctc's targets are label sequences: its checks are tests/unit/test_ctc.c's */
    specs[n++] = "ctc";
    for (size_t i = 0; i < n; i++)
        if (fixture_mentions(specs[i], row->name))
            return;
    print_error("loss '%s' has no gradient check\n", row->name);
    (*unchecked)++;
}

static void test_every_loss_checked(void **state)
{
    (void)state;
    int unchecked = 0;
    nni_loss_catalogue(mark_checked, &unchecked);
    assert_int_equal(unchecked, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_gradients_catalogue),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_known_values_catalogue),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_every_loss_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The ctc loss: finite-difference gradient checks on random scores with repeated labels,
 * empty targets, targets as long as the steps allow, another blank index and zero_infinity;
 * values computed by hand (every path of a two-step input, an empty target); the target
 * checks (a blank label, ids out of range or not integral, padding inside a sequence, a
 * target the steps cannot emit), config errors, and greedy decoding checked by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/config.h"
#include "nn/loss.h"

static nn_loss *make_loss(const char *yaml, int64_t out_width, int64_t target_width,
                          nn_error *err)
{
    nn_cfg *cfg = NULL;
    nn_loss *loss = NULL;
    assert_int_equal(nn_cfg_parse_value(yaml, "loss.yaml", &cfg, err), NN_OK);
    nn_status st = nn_loss_build(cfg, out_width, 0, target_width, 0, &loss, err);
    nn_cfg_free(cfg);
    return st ? NULL : loss;
}

typedef struct ctc_ctx {
    nn_loss *loss;
    float *out;
    nn_targets targets;
    int64_t rows;
} ctc_ctx;

static double ctc_objective(void *opaque)
{
    ctc_ctx *c = opaque;
    return nn_loss_eval(c->loss, c->out, &c->targets, c->rows, 0, NULL);
}

typedef struct ctc_case {
    const char *yaml;
    int64_t steps, classes, width, rows;
    float targets[6 * 6];
} ctc_case;

static const ctc_case gradient_cases[] = {
    /* repeats, an empty target, a full-width target */
    {"{type: ctc, classes: 4}", 6, 4, 3, 5,
     {1, 2, 3, 2, 2, -1, -1, -1, -1, 3, 3, 3, 1, -1, -1}},
    /* as long as the steps allow: 1 1 1 needs 5 steps, 1 2 3 1 needs 4 */
    {"{type: ctc, classes: 4}", 5, 4, 4, 2, {1, 1, 1, -1, 1, 2, 3, 1}},
    {"{type: ctc, classes: 4}", 4, 4, 4, 1, {1, 2, 3, 1}},
    /* blank 2: labels 0, 1, 3 */
    {"{type: ctc, classes: 4, blank: 2}", 5, 4, 3, 3, {0, 1, 3, 3, 3, -1, 0, -1, -1}},
    /* one step */
    {"{type: ctc, classes: 3}", 1, 3, 2, 3, {1, -1, -1, -1, 2, -1}},
    /* zero_infinity: row 0 cannot be emitted in 3 steps (1 1 1 needs 5): loss and gradient 0 */
    {"{type: ctc, classes: 3, zero_infinity: true}", 3, 3, 3, 2, {1, 1, 1, 2, 1, -1}},
    /* weighted beside another term */
    {"[{type: ctc, classes: 3, weight: 0.5}]", 4, 3, 2, 2, {1, 2, 2, -1}},
};

static void test_ctc_gradients(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof gradient_cases / sizeof gradient_cases[0]; i++) {
        const ctc_case *c = &gradient_cases[i];
        const int64_t width = c->steps * c->classes;
        float out[64 * 6], dout[64 * 6];
        nn_test_fill(out, c->rows * width, 30 + i, -2.0f, 2.0f);
        nn_error err = {0};
        nn_loss *loss = make_loss(c->yaml, width, c->width, &err);
        if (!loss)
            fail_msg("%s: %s", c->yaml, err.msg);
        ctc_ctx ctx = {.loss = loss, .out = out, .rows = c->rows,
                       .targets = {.values = c->targets, .width = c->width}};
        if (nn_loss_check_targets(loss, &ctx.targets, c->rows, "case", &err))
            fail_msg("case %zu: %s", i, err.msg);
        double value = nn_loss_eval(loss, out, &ctx.targets, c->rows, 1.0f, dout);
        if (!isfinite(value) || value <= 0)
            fail_msg("case %zu: loss %g", i, value);
        char report[256];
        if (!nn_gradcheck(ctc_objective, &ctx, out, dout, c->rows * width, 1e-3, 1e-4, 1e-2,
                          report, sizeof report))
            fail_msg("case %zu (%s): %s", i, c->yaml, report);
        nn_loss_free(loss);
    }
}

static void softmax(const float *x, int n, double *p)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp(x[i]);
    for (int i = 0; i < n; i++)
        p[i] = exp(x[i]) / sum;
}

static void test_ctc_known_values(void **state)
{
    (void)state;
    nn_error err = {0};
    /* Two steps, classes {blank, a}, target "a": paths a a, _ a, a _. */
    const float x[4] = {0.3f, -0.2f, -0.5f, 0.9f};
    double p0[2], p1[2];
    softmax(x, 2, p0);
    softmax(x + 2, 2, p1);
    nn_loss *loss = make_loss("{type: ctc, classes: 2}", 4, 2, &err);
    assert_non_null(loss);
    const float one[2] = {1, -1}, none[2] = {-1, -1}, twice[2] = {1, 1};
    nn_targets t = {.values = one, .width = 2};
    double expect = -log(p0[1] * p1[1] + p0[0] * p1[1] + p0[1] * p1[0]);
    assert_float_equal(nn_loss_eval(loss, x, &t, 1, 0, NULL), expect, 1e-6);
    /* The empty target: all blanks, divided by max(length, 1) = 1. */
    t.values = none;
    assert_float_equal(nn_loss_eval(loss, x, &t, 1, 0, NULL), -log(p0[0] * p1[0]), 1e-6);
    /* "a a" needs a blank between: 3 steps, so two cannot emit it. */
    t.values = twice;
    assert_true(isinf(nn_loss_eval(loss, x, &t, 1, 0, NULL)));
    nn_loss_free(loss);
    /* reduction mean divides by the target length: "a a" over three steps has the single
     * path a _ a. */
    const float x3[6] = {0.1f, 0.7f, 0.4f, -0.3f, -1.0f, 0.2f};
    double q0[2], q1[2], q2[2];
    softmax(x3, 2, q0);
    softmax(x3 + 2, 2, q1);
    softmax(x3 + 4, 2, q2);
    loss = make_loss("{type: ctc, classes: 2}", 6, 2, &err);
    t.values = twice;
    assert_float_equal(nn_loss_eval(loss, x3, &t, 1, 0, NULL), -log(q0[1] * q1[0] * q2[1]) / 2,
                       1e-6);
    nn_loss_free(loss);
}

static void test_ctc_target_checks(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        float y[3];
        const char *expect;
    } cases[] = {
        {"{type: ctc, classes: 4}", {1, 0, 2}, "row 0 position 1: label 0 is the blank"},
        {"{type: ctc, classes: 4, blank: 3}", {1, 3, -1}, "label 3 is the blank"},
        {"{type: ctc, classes: 4}", {1, 4, -1}, "label 4 is not a class id in [0, 4)"},
        {"{type: ctc, classes: 4}", {1.5f, -1, -1}, "label 1.5 is not a class id"},
        {"{type: ctc, classes: 4}", {1, -1, 2}, "label 2 after the padding at position 1"},
        {"{type: ctc, classes: 4}", {2, 2, 2}, "3 labels (2 repeated) need at least 5 steps "
                                               "but the model outputs 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_error err = {0};
        nn_loss *loss = make_loss(cases[i].yaml, 16, 3, &err);
        assert_non_null(loss);
        nn_targets t = {.values = cases[i].y, .width = 3};
        assert_int_equal(nn_loss_check_targets(loss, &t, 1, "data.h5 /train/y", &err),
                         NN_ERR_DATA);
        if (!strstr(err.msg, cases[i].expect) || !strstr(err.msg, "data.h5 /train/y"))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].expect);
        nn_loss_free(loss);
    }
    /* zero_infinity accepts what cannot be emitted */
    nn_error err = {0};
    nn_loss *loss = make_loss("{type: ctc, classes: 4, zero_infinity: true}", 16, 3, &err);
    const float y[3] = {2, 2, 2};
    nn_targets t = {.values = y, .width = 3};
    assert_int_equal(nn_loss_check_targets(loss, &t, 1, "x", &err), NN_OK);
    nn_loss_free(loss);
}

static void test_ctc_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int64_t out_width;
        int has_labels;
        const char *expect;
    } cases[] = {
        {"ctc", 12, 0, "needs 'classes'"},
        {"{type: ctc, classes: 5}", 12, 0, "12 values per sample, not a whole number of steps "
                                          "of 5 classes"},
        {"{type: ctc, classes: 4, blank: 4}", 12, 0, "blank 4 is not one of the 4 classes"},
        {"{type: ctc, classes: 4}", 12, 1, "needs label sequences as float targets"},
        {"{type: ctc, classes: 4, blanks: 1}", 12, 0, "unknown key 'blanks'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_cfg *cfg = NULL;
        nn_error err = {0};
        nn_loss *loss = NULL;
        assert_int_equal(nn_cfg_parse_value(cases[i].yaml, "loss.yaml", &cfg, &err), NN_OK);
        assert_int_equal(nn_loss_build(cfg, cases[i].out_width, cases[i].has_labels, 3, 4, &loss,
                                       &err), NN_ERR_CONFIG);
        if (!strstr(err.msg, cases[i].expect))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].expect);
        nn_cfg_free(cfg);
    }
}

/* Greedy decoding by hand: best class per step, repeats merged, blanks dropped (a blank
 * between two equal labels keeps both). */
static void test_ctc_greedy_decoding(void **state)
{
    (void)state;
    nn_error err = {0};
    nn_loss *loss = make_loss("{type: ctc, classes: 3}", 7 * 3, 4, &err);
    assert_non_null(loss);
    /* best per step: 1 1 0 1 2 2 0  ->  1 1 2 */
    const float x[21] = {0, 5, 1, 0, 3, 2, 4, 0, 1, 0, 2, 1, 0, 1, 3, 1, 0, 2, 9, 8, 7};
    int32_t labels[21];
    assert_int_equal(nn_loss_decode(loss, x, 0, labels), 3);
    assert_int_equal(labels[0], 1);
    assert_int_equal(labels[1], 1);
    assert_int_equal(labels[2], 2);
    const float blanks[21] = {1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0};
    assert_int_equal(nn_loss_decode(loss, blanks, 0, labels), 0);
    assert_true(nn_loss_decodes(loss));
    nn_loss_free(loss);
    /* blank 2: class 0 is a label */
    loss = make_loss("{type: ctc, classes: 3, blank: 2}", 7 * 3, 4, &err);
    assert_int_equal(nn_loss_decode(loss, x, 0, labels), 4); /* 1 0 1 ; then 2 2 blank, 0 */
    assert_int_equal(labels[0], 1);
    assert_int_equal(labels[1], 0);
    assert_int_equal(labels[2], 1);
    assert_int_equal(labels[3], 0);
    nn_loss_free(loss);
    /* other losses do not decode */
    loss = make_loss("mse", 4, 4, &err);
    assert_false(nn_loss_decodes(loss));
    assert_int_equal(nn_loss_decode(loss, x, 0, labels), -1);
    nn_loss_free(loss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctc_gradients),
        cmocka_unit_test(test_ctc_known_values),
        cmocka_unit_test(test_ctc_target_checks),
        cmocka_unit_test(test_ctc_config_errors),
        cmocka_unit_test(test_ctc_greedy_decoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Formula losses (src/train/loss_formula.c): formulas equal to mse, huber and cross_entropy
 * give the built-ins' values and gradients, and train to the same weights within 1e-5 (the
 * built-ins' PyTorch references are in tests/ref); label targets become one-hot vectors;
 * weighted terms; a division by zero shows as a non-finite loss (the trainer's exit 4);
 * config errors point at the formula's character. Gradient checks are in test_loss.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "model_fixture.h"
#include "nn/config.h"
#include "nn/loss.h"

enum { ROWS = 6, WIDTH = 4 };

static nn_status build(const char *yaml, int has_labels, nn_loss **loss, nn_error *err)
{
    nn_cfg *cfg = NULL;
    nn_status st = nn_cfg_parse_value(yaml, "loss.yaml", &cfg, err);
    if (!st)
        st = nn_loss_build(cfg, WIDTH, has_labels, has_labels ? 1 : WIDTH, WIDTH, loss, err);
    nn_cfg_free(cfg);
    return st;
}

/* Value and gradient of two losses on the same outputs and targets. */
static void expect_same(const char *builtin, const char *formula, int has_labels)
{
    float out[ROWS * WIDTH], values[ROWS * WIDTH], da[ROWS * WIDTH], db[ROWS * WIDTH];
    int32_t labels[ROWS] = {0, 3, 2, 1, 1, 0};
    nn_test_fill(out, ROWS * WIDTH, 5, -3, 3);
    nn_test_fill(values, ROWS * WIDTH, 6, -2, 2);
    nn_targets t = {.labels = has_labels ? labels : NULL, .values = has_labels ? NULL : values,
                    .width = has_labels ? 1 : WIDTH};
    nn_loss *a = NULL, *b = NULL;
    nn_error err = {0};
    if (build(builtin, has_labels, &a, &err) || build(formula, has_labels, &b, &err))
        fail_msg("%s", err.msg);
    double va = nn_loss_eval(a, out, &t, ROWS, 0.25f, da);
    double vb = nn_loss_eval(b, out, &t, ROWS, 0.25f, db);
    if (fabs(va - vb) > 1e-6 * fabs(va))
        fail_msg("%s: %.9g, %s: %.9g", builtin, va, formula, vb);
    for (int i = 0; i < ROWS * WIDTH; i++)
        if (fabs(da[i] - db[i]) > 1e-6 + 1e-5 * fabs(da[i]))
            fail_msg("%s against %s: gradient %d: %.9g and %.9g", builtin, formula, i, da[i],
                     db[i]);
    nn_loss_free(a);
    nn_loss_free(b);
}

static void test_same_as_builtins(void **state)
{
    (void)state;
    expect_same("mse", "{type: formula, per_output: \"(y - t)^2\"}", 0);
    expect_same("mse", "{type: formula, per_output: \"(y - t)^2\"}", 1); /* one-hot labels */
    expect_same("l1", "{type: formula, per_output: \"abs(y - t)\", reduce: mean}", 0);
    expect_same("{type: huber, delta: 0.7}",
                "{type: formula, per_output: \"abs(y - t) < d ? 0.5 * (y - t)^2 : d * (abs(y - "
                "t) - 0.5 * d)\", params: {d: 0.7}}", 0);
    expect_same("cross_entropy", "{type: formula, per_output: \"-t * logp\", reduce: sum}", 1);
    expect_same("cross_entropy", "{type: formula, per_output: \"-t * log(p)\", reduce: sum}", 1);
    expect_same("[{type: mse, weight: 0.3}, {type: cross_entropy}]",
                "[{type: formula, per_output: \"(y - t)^2\", weight: 0.3}, "
                "{type: formula, per_output: \"-t * logp\", reduce: sum}]", 1);
}

static void expect_same_training(const char *builtin, const char *formula, int one_hot)
{
    const char *model = "{input: [5], layers: [{type: dense, units: 7, activation: tanh},"
                        " {type: dense, units: 3}]}";
    int64_t n_a = 0, n_b = 0, n_s = 0;
    float *a = fixture_train_steps(model, builtin, 8, 5, one_hot, &n_a);
    float *b = fixture_train_steps(model, formula, 8, 5, one_hot, &n_b);
    float *start = fixture_train_steps(model, builtin, 8, 0, one_hot, &n_s);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(start);
    double worst = 0, moved = 0;
    for (int64_t i = 0; i < n_a; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        moved = fmax(moved, fabs((double)a[i] - start[i]));
    }
    if (!(worst <= 1e-5))
        fail_msg("%s against %s: weights differ by %g after 5 steps", formula, builtin, worst);
    if (!(moved > 1e-3))
        fail_msg("%s: the weights did not move (%g)", builtin, moved);
    free(a), free(b), free(start);
}

static void test_same_training(void **state)
{
    (void)state;
    expect_same_training("mse", "{type: formula, per_output: \"(y - t)^2\"}", 0);
    expect_same_training("{type: huber, delta: 0.5}",
                         "{type: formula, per_output: \"where(abs(y - t) < 0.5, 0.5 * (y - t)^2,"
                         " 0.5 * (abs(y - t) - 0.25))\"}", 0);
    expect_same_training("cross_entropy",
                         "{type: formula, per_output: \"-t * logp\", reduce: sum}", 1);
}

/* 1 / (y - t) where y == t: the loss is not finite, which the trainer reports with exit 4
 * (tests/e2e/test_formula.sh runs that). */
static void test_non_finite(void **state)
{
    (void)state;
    nn_loss *loss = NULL;
    nn_error err = {0};
    assert_int_equal(build("{type: formula, per_output: \"1 / (y - t)\"}", 0, &loss, &err),
                     NN_OK);
    float out[ROWS * WIDTH] = {0}, values[ROWS * WIDTH] = {0}, d[ROWS * WIDTH];
    nn_targets t = {.values = values, .width = WIDTH};
    assert_false(isfinite(nn_loss_eval(loss, out, &t, ROWS, 1.0f, d)));
    nn_loss_free(loss);
}

static void expect_error(const char *yaml, int has_labels, const char *message)
{
    nn_loss *loss = NULL;
    nn_error err = {0};
    nn_status st = build(yaml, has_labels, &loss, &err);
    if (st != NN_ERR_CONFIG || loss)
        fail_msg("%s: built (status %d)", yaml, (int)st);
    if (!strstr(err.msg, message))
        fail_msg("%s: got \"%s\", expected \"%s\"", yaml, err.msg, message);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("{type: formula, per_output: \"(y - t)^2 + lamda * abs(y)\", params: "
                 "{lambda: 0.1}}", 0,
                 "loss.yaml:1:29: per_output: formula:1:13: unknown name 'lamda' (did you mean "
                 "'lambda'?); names here: y, t, p, logp, lambda");
    expect_error("{type: formula, per_output: \"(y - t)^2 +\"}", 0,
                 "formula:1:12: the formula ends where a number, a name or '(' should come");
    expect_error("{type: formula}", 0, "loss formula needs 'per_output'");
    expect_error("{type: formula, per_output: \"y\", reduce: max}", 0, "reduce");
    expect_error("{type: formula, per_output: \"y\", params: {t: 1}}", 0,
                 "'t' is a variable of the formula, not a parameter");
    expect_error("{type: formula, per_output: \"y\", per_outputs: 1}", 0,
                 "unknown key 'per_outputs'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_builtins),
        cmocka_unit_test(test_same_training),
        cmocka_unit_test(test_non_finite),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

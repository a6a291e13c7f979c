/* Losses: finite-difference gradient checks for every term and target kind, known values,
 * weighted sums, and config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/config.h"
#include "nn/loss.h"

enum { ROWS = 4, WIDTH = 5 };

static nn_loss *make_loss(const char *yaml, int has_labels, int64_t width)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_loss *loss = NULL;
    assert_int_equal(nn_cfg_parse_value(yaml, "loss.yaml", &cfg, &err), NN_OK);
    nn_status st = nn_loss_build(cfg, WIDTH, has_labels, width, WIDTH, &loss, &err);
    if (st)
        fail_msg("%s: %s", yaml, err.msg);
    nn_cfg_free(cfg);
    return loss;
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

static void check_loss_gradient(const char *yaml, int has_labels)
{
    float out[ROWS * WIDTH], dout[ROWS * WIDTH], values[ROWS * WIDTH];
    int32_t labels[ROWS] = {0, 3, 4, 1};
    nn_test_fill(out, ROWS * WIDTH, 21, -2, 2);
    nn_test_fill(values, ROWS * WIDTH, 22, 0.05f, 1);
    if (strstr(yaml, "soft")) { /* rows of a probability distribution */
        for (int r = 0; r < ROWS; r++) {
            float sum = 0;
            for (int c = 0; c < WIDTH; c++)
                sum += values[r * WIDTH + c];
            for (int c = 0; c < WIDTH; c++)
                values[r * WIDTH + c] /= sum;
        }
    }
    nn_loss *loss = make_loss(yaml, has_labels, has_labels ? 1 : WIDTH);
    loss_ctx ctx = {.loss = loss, .out = out,
                    .targets = {.labels = has_labels ? labels : NULL,
                                .values = has_labels ? NULL : values,
                                .width = has_labels ? 1 : WIDTH}};
    nn_loss_eval(loss, out, &ctx.targets, ROWS, 1.0f, dout);
    char report[256];
    if (!nn_gradcheck(loss_objective, &ctx, out, dout, ROWS * WIDTH, 1e-3, 1e-4, 1e-2, report,
                      sizeof report))
        fail_msg("%s (labels=%d): %s", yaml, has_labels, report);
    nn_loss_free(loss);
}

static void test_gradients(void **state)
{
    (void)state;
    static const char *const with_labels[] = {
        "cross_entropy", "{type: cross_entropy, label_smoothing: 0.1}", "mse", "l1",
        "[{type: cross_entropy}, {type: mse, weight: 0.5}]"};
    static const char *const with_values[] = {
        "cross_entropy # soft", "{type: cross_entropy, label_smoothing: 0.2} # soft", "mse",
        "l1"};
    for (size_t i = 0; i < sizeof with_labels / sizeof with_labels[0]; i++)
        check_loss_gradient(with_labels[i], 1);
    for (size_t i = 0; i < sizeof with_values / sizeof with_values[0]; i++)
        check_loss_gradient(with_values[i], 0);
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
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_cfg *cfg = NULL;
        nn_error err = {0};
        nn_loss *loss = NULL;
        assert_int_equal(nn_cfg_parse_value(cases[i].yaml, "loss.yaml", &cfg, &err), NN_OK);
        nn_status st = nn_loss_build(cfg, WIDTH, 1, 1, WIDTH, &loss, &err);
        if (st != NN_ERR_CONFIG || !strstr(err.msg, cases[i].expect))
            fail_msg("'%s': status %d, message '%s'", cases[i].yaml, st, err.msg);
        nn_cfg_free(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

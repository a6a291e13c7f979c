/* batchnorm: gradient checks in training (through the batch statistics) and evaluation
 * (running statistics), dense and spatial; running statistics after steps; numerics with
 * a large mean; parameter flags; config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "model_fixture.h"
#include "nn/config.h"

static float *param(nn_model *model, const char *name)
{
    nn_param *p = nn_model_find_param(model, name);
    if (!p)
        fail_msg("no parameter %s", name);
    return nn_model_param_data(model, p);
}

/* Non-trivial scale, shift and running statistics, so no term of the gradient hides
 * behind a 1 or a 0. */
static void randomize_bn(nn_model *model, const char *layer, int64_t channels)
{
    char name[128];
    snprintf(name, sizeof name, "%s/weight", layer);
    nn_test_fill(param(model, name), channels, 21, 0.5f, 1.5f);
    snprintf(name, sizeof name, "%s/bias", layer);
    nn_test_fill(param(model, name), channels, 22, -0.5f, 0.5f);
    snprintf(name, sizeof name, "%s/running_mean", layer);
    nn_test_fill(param(model, name), channels, 23, -0.5f, 0.5f);
    snprintf(name, sizeof name, "%s/running_var", layer);
    nn_test_fill(param(model, name), channels, 24, 0.5f, 2.0f);
}

static void check_bn(const char *yaml, int64_t batch, int64_t channels, int training)
{
    nn_model *model = fixture_model(yaml, batch, 3);
    if (!model)
        fail_msg("build failed: %s", yaml);
    randomize_bn(model, "bn", channels);
    int ok = fixture_gradcheck(model, batch, training, 1e-3, 1e-2);
    nn_model_free(model);
    if (!ok)
        fail_msg("gradient check (%s) failed for: %s", training ? "training" : "evaluation",
                 yaml);
}

static void test_batchnorm_gradients(void **state)
{
    (void)state;
    for (int training = 1; training >= 0; training--) {
        /* dense, on the input itself and after a dense layer without bias */
        check_bn("{input: [4], layers: [{name: bn, type: batchnorm}]}", 5, 4, training);
        check_bn("{input: [5], layers: [{type: dense, units: 3, bias: false},"
                 " {name: bn, type: batchnorm, momentum: 0.3}, {type: dense, units: 2}]}",
                 6, 3, training);
        /* spatial, odd sizes, after a conv, with a following layer mixing channels */
        check_bn("{input: [3, 3, 5], layers: [{name: bn, type: batchnorm}]}", 2, 3, training);
        check_bn("{input: [2, 5, 4], layers: [{type: conv2d, filters: 3, kernel: 3,"
                 " padding: same, bias: false}, {name: bn, type: batchnorm, eps: 0.01},"
                 " {type: tanh}, {type: conv2d, filters: 2, kernel: 1}]}", 3, 3, training);
    }
}

static void test_batchnorm_fan_out(void **state)
{
    (void)state;
    /* The normalized input also feeds the add directly: input_accumulate in backward. */
    check_bn("{input: [2, 4, 4], layers: [{name: bn, type: batchnorm},"
             " {name: c, type: conv2d, filters: 2, kernel: 3, padding: same},"
             " {type: add, inputs: [bn, c]}, {type: global_avgpool}]}", 3, 2, 1);
}

static void forward(nn_model *model, const float *x, int64_t batch, int training)
{
    memcpy(nn_model_input(model), x, (size_t)(batch * nn_model_input_size(model)) * sizeof *x);
    nn_pass pass = {.batch = batch, .training = training};
    nn_model_forward(model, &pass);
}

static void test_running_statistics(void **state)
{
    (void)state;
    /* 4 rows of 2 features; momentum 0.25. */
    const float x[8] = {1, 10, 2, 20, 4, 30, 5, 60};
    const double mean[2] = {3, 30}, var_biased[2] = {2.5, 350}, eps = 1e-5, m = 0.25;
    nn_model *model = fixture_model("{input: [2], layers: [{name: bn, type: batchnorm,"
                                    " momentum: 0.25}]}", 4, 1);
    assert_non_null(model);
    float *rm = param(model, "bn/running_mean"), *rv = param(model, "bn/running_var");
    assert_float_equal(rm[0], 0.0f, 0);
    assert_float_equal(rv[0], 1.0f, 0);
    forward(model, x, 4, 1);
    double expect_rm[2], expect_rv[2];
    for (int c = 0; c < 2; c++) {
        expect_rm[c] = m * mean[c];
        expect_rv[c] = (1 - m) * 1.0 + m * var_biased[c] * 4.0 / 3.0;
        assert_float_equal(rm[c], expect_rm[c], 1e-5 * fabs(expect_rm[c]));
        assert_float_equal(rv[c], expect_rv[c], 1e-5 * fabs(expect_rv[c]));
        /* training output: normalized with the batch's biased variance */
        double y0 = (x[c] - mean[c]) / sqrt(var_biased[c] + eps);
        assert_float_equal(model->output->out[c], y0, 1e-5);
    }
    /* second step: the running values move again from where they are */
    forward(model, x, 4, 1);
    for (int c = 0; c < 2; c++) {
        double rm2 = (1 - m) * expect_rm[c] + m * mean[c];
        double rv2 = (1 - m) * expect_rv[c] + m * var_biased[c] * 4.0 / 3.0;
        assert_float_equal(rm[c], rm2, 1e-5 * fabs(rm2));
        assert_float_equal(rv[c], rv2, 1e-5 * fabs(rv2));
        expect_rm[c] = rm2;
        expect_rv[c] = rv2;
    }
    /* evaluation: running statistics, which stay as they are */
    float *w = param(model, "bn/weight"), *b = param(model, "bn/bias");
    w[1] = 2.0f;
    b[1] = -1.0f;
    forward(model, x, 4, 0);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 2; c++) {
            double y = (x[r * 2 + c] - expect_rm[c]) / sqrt(expect_rv[c] + eps) * w[c] + b[c];
            assert_float_equal(model->output->out[r * 2 + c], y, 1e-5 * fmax(1, fabs(y)));
        }
    assert_float_equal(rm[1], expect_rm[1], 1e-5 * fabs(expect_rm[1]));
    nn_model_free(model);
}

static void test_spatial_statistics_large_mean(void **state)
{
    (void)state;
    /* Channel values 1000 + small noise: a one-pass float sum of squares would lose the
     * variance entirely. */
    const int64_t batch = 4, C = 2, S = 7 * 9, n = batch * C * S;
    float x[4 * 2 * 63];
    nn_test_fill(x, n, 31, -0.05f, 0.05f);
    for (int64_t i = 0; i < n; i++)
        x[i] += 1000.0f + (float)((i / S) % C);
    nn_model *model = fixture_model("{input: [2, 7, 9], layers: [{name: bn, type: batchnorm,"
                                    " momentum: 1.0}]}", batch, 1);
    assert_non_null(model);
    forward(model, x, batch, 1);
    const float *rm = param(model, "bn/running_mean"), *rv = param(model, "bn/running_var");
    for (int64_t c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int64_t b = 0; b < batch; b++)
            for (int64_t i = 0; i < S; i++)
                sum += x[(b * C + c) * S + i];
        double mean = sum / (double)(batch * S);
        for (int64_t b = 0; b < batch; b++)
            for (int64_t i = 0; i < S; i++) {
                double d = x[(b * C + c) * S + i] - mean;
                sq += d * d;
            }
        double var_unbiased = sq / (double)(batch * S - 1);
        assert_float_equal(rm[c], mean, 1e-4);
        if (fabs(rv[c] - var_unbiased) > 1e-3 * var_unbiased)
            fail_msg("channel %lld: running_var %.9g, expected %.9g", (long long)c, rv[c],
                     var_unbiased);
    }
    nn_model_free(model);
}

static void test_large_spatial_matches_definition(void **state)
{
    (void)state;
    /* Large enough for the threaded loops: outputs and input gradient against the formulas
     * evaluated in double. */
    enum { N = 3, C = 5, S = 40 * 50 };
    static float x[N * C * S], dy[N * C * S];
    nn_test_fill(x, N * C * S, 41, -1.0f, 3.0f);
    nn_test_fill(dy, N * C * S, 42, -1.0f, 1.0f);
    nn_model *model = fixture_model("{input: [5, 40, 50], layers: [{name: bn, type: batchnorm}]}",
                                    N, 1);
    randomize_bn(model, "bn", C);
    const float *w = param(model, "bn/weight"), *b = param(model, "bn/bias");
    forward(model, x, N, 1);
    memcpy(model->output->dout, dy, sizeof dy);
    nn_pass pass = {.batch = N, .training = 1};
    nn_model_backward(model, &pass);
    double worst_y = 0, worst_dx = 0;
    for (int c = 0; c < C; c++) {
        double mean = 0, var = 0, mdy = 0, mdyx = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++)
                mean += x[(n * C + c) * S + i];
        mean /= N * S;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) {
                double d = x[(n * C + c) * S + i] - mean;
                var += d * d;
                mdy += dy[(n * C + c) * S + i];
                mdyx += dy[(n * C + c) * S + i] * d;
            }
        var /= N * S;
        mdy /= N * S;
        mdyx /= N * S;
        const double inv = 1.0 / sqrt(var + 1e-5);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) {
                const int at = (n * C + c) * S + i;
                const double xc = x[at] - mean;
                const double y = xc * inv * w[c] + b[c];
                const double dx = w[c] * inv * (dy[at] - mdy - xc * inv * inv * mdyx);
                worst_y = fmax(worst_y, fabs(model->output->out[at] - y));
                worst_dx = fmax(worst_dx, fabs(model->layers[0]->dout[at] - dx));
            }
    }
    if (worst_y > 1e-5 || worst_dx > 1e-5)
        fail_msg("largest differences: output %g, input gradient %g", worst_y, worst_dx);
    nn_model_free(model);
}

static void test_single_row_batch(void **state)
{
    (void)state;
    /* A last batch of one row: the output is the bias, the running variance stays finite. */
    nn_model *model = fixture_model("{input: [3], layers: [{name: bn, type: batchnorm}]}", 1, 1);
    const float x[3] = {1, 2, 3};
    forward(model, x, 1, 1);
    for (int c = 0; c < 3; c++) {
        assert_float_equal(model->output->out[c], 0.0f, 1e-6);
        assert_true(isfinite(param(model, "bn/running_var")[c]));
    }
    nn_model_free(model);
}

static void test_parameters_and_flags(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [2, 4, 4], train_only_batchnorm: true, layers: ["
                                    "{name: c, type: conv2d, filters: 3, kernel: 3, bias: false},"
                                    " {name: bn, type: batchnorm}]}", 2, 1);
    assert_non_null(model);
    nn_param *w = nn_model_find_param(model, "bn/weight");
    nn_param *b = nn_model_find_param(model, "bn/bias");
    nn_param *rm = nn_model_find_param(model, "bn/running_mean");
    nn_param *rv = nn_model_find_param(model, "bn/running_var");
    assert_non_null(w);
    assert_non_null(b);
    assert_non_null(rm);
    assert_non_null(rv);
    assert_true(w->flags & NN_PARAM_NO_DECAY);
    assert_true(w->flags & NN_PARAM_NORM);
    assert_true(b->flags & NN_PARAM_NORM);
    assert_true(rm->flags & NN_PARAM_STATE);
    assert_true(rv->flags & NN_PARAM_STATE);
    assert_int_equal(rm->size, 3);
    assert_false(w->frozen);
    assert_true(nn_model_find_param(model, "c/weight")->frozen);
    assert_int_equal(nn_model_count_trainable(model), 6);
    assert_int_equal(model->n_state_floats >= 6, 1);
    assert_float_equal(nn_model_param_data(model, w)[2], 1.0f, 0);
    assert_float_equal(nn_model_param_data(model, rv)[2], 1.0f, 0);
    /* summary FLOPs: conv 2 * 3 * 4 * 18 (no bias) + batchnorm 2 per value */
    assert_int_equal(nn_model_flops_per_sample(model), 2 * 3 * 4 * 18 + 2 * 3 * 4);
    nn_model_free(model);
}

static void test_batchnorm_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{input: [3], layers: [{type: batchnorm, momentum: 1.5}]}", "momentum must be in [0, 1]"},
        {"{input: [3], layers: [{type: batchnorm, eps: 0}]}", "eps must be > 0"},
        {"{input: [3], layers: [{type: batchnorm, sync: maybe}]}", "sync"},
        {"{input: [3], layers: [{type: batchnorm, mommentum: 0.1}]}", "did you mean 'momentum'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fixture_config_error(cases[i].yaml, cases[i].expect))
            fail_msg("config error case %zu", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm_gradients),
        cmocka_unit_test(test_batchnorm_fan_out),
        cmocka_unit_test(test_running_statistics),
        cmocka_unit_test(test_spatial_statistics_large_mean),
        cmocka_unit_test(test_large_spatial_matches_definition),
        cmocka_unit_test(test_single_row_batch),
        cmocka_unit_test(test_parameters_and_flags),
        cmocka_unit_test(test_batchnorm_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

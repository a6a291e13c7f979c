/* The recurrent layers rnn (tanh, relu), lstm and gru: finite-difference gradient checks of
 * the input and every parameter through time, one- and bidirectional, with and without
 * return_sequences, stacked and followed by dense layers (per step on sequences); the lstm's forward against a step
 * by step evaluation of its equations; output shapes, parameter names and config errors;
 * the embedding layer's gradients (at integer ids) and values; padded sequences (lengths):
 * gradient checks, padded steps that change nothing, and the final state of a row equal to
 * that of its valid steps run alone. */
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

static void check_model(const char *yaml, int64_t batch)
{
    nn_model *model = fixture_model(yaml, batch, 3);
    if (!model)
        fail_msg("build failed: %s", yaml);
    if (!fixture_gradcheck(model, batch, 1, 1e-3, 1e-2)) {
        nn_model_free(model);
        fail_msg("gradient check failed for: %s", yaml);
    }
    nn_model_free(model);
}

static const char *const cells[] = {"rnn", "rnn, nonlinearity: relu", "lstm", "gru"};

static void test_recurrent_gradients(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
        for (int bi = 0; bi <= 1; bi++)
            for (int seq = 0; seq <= 1; seq++) {
                char yaml[512];
                snprintf(yaml, sizeof yaml, "{input: [5, 3], layers: [{type: %s, units: 4, "
                         "bidirectional: %s, return_sequences: %s}]}", cells[c],
                         bi ? "true" : "false", seq ? "true" : "false");
                check_model(yaml, 3);
            }
}

static void test_recurrent_stacked(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "{input: [6, 2], layers: [{type: %s, units: 3, "
                 "return_sequences: true, bidirectional: true}, {type: %s, units: 5}, "
                 "{type: dense, units: 2}]}", cells[c], cells[c]);
        check_model(yaml, 2);
    }
    /* dense on a sequence applies per step (with a fused activation) */
    check_model("{input: [5, 3], layers: [{type: gru, units: 4, return_sequences: true},"
                " {type: dense, units: 3, activation: tanh}, {type: dense, units: 2}]}", 3);
    nn_model *m = fixture_model("{input: [5, 3], layers: [{type: dense, units: 4}]}", 1, 1);
    assert_int_equal(m->output->out_shape.ndim, 2);
    assert_int_equal(m->output->out_shape.dim[0], 5);
    assert_int_equal(m->output->out_shape.dim[1], 4);
    assert_int_equal(nn_model_find_param(m, "dense1/weight")->dims[1], 3);
    nn_model_free(m);
    /* one step, one unit, batch 1 */
    check_model("{input: [1, 1], layers: [{type: lstm, units: 1, bidirectional: true}]}", 1);
    check_model("{input: [1, 1], layers: [{type: gru, units: 1}]}", 1);
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* lstm forward, step by step from its definition (double accumulation). */
static void test_lstm_forward_matches_equations(void **state)
{
    (void)state;
    const int64_t T = 4, F = 3, H = 2, B = 2;
    nn_model *model = fixture_model("{input: [4, 3], layers: [{name: l, type: lstm, units: 2,"
                                    " return_sequences: true}]}", B, 7);
    assert_non_null(model);
    float *w_ih = nn_model_param_data(model, nn_model_find_param(model, "l/weight_ih"));
    float *w_hh = nn_model_param_data(model, nn_model_find_param(model, "l/weight_hh"));
    float *b_ih = nn_model_param_data(model, nn_model_find_param(model, "l/bias_ih"));
    float *b_hh = nn_model_param_data(model, nn_model_find_param(model, "l/bias_hh"));
    nn_test_fill(b_ih, 4 * H, 3, -0.5f, 0.5f);
    nn_test_fill(b_hh, 4 * H, 4, -0.5f, 0.5f);
    float *x = nn_model_input(model);
    nn_test_fill(x, B * T * F, 5, -1.0f, 1.0f);
    nn_pass pass = {.batch = B, .training = 1};
    nn_model_forward(model, &pass);
    for (int64_t n = 0; n < B; n++) {
        double h[2] = {0, 0}, c[2] = {0, 0};
        for (int64_t t = 0; t < T; t++) {
            double a[8];
            for (int64_t g = 0; g < 4 * H; g++) {
                a[g] = b_ih[g] + b_hh[g];
                for (int64_t f = 0; f < F; f++)
                    a[g] += (double)w_ih[g * F + f] * x[(n * T + t) * F + f];
                for (int64_t k = 0; k < H; k++)
                    a[g] += (double)w_hh[g * H + k] * h[k];
            }
            for (int64_t j = 0; j < H; j++) {
                double i = sigmoid((float)a[j]), f = sigmoid((float)a[H + j]);
                double g = tanh(a[2 * H + j]), o = sigmoid((float)a[3 * H + j]);
                c[j] = f * c[j] + i * g;
                h[j] = o * tanh(c[j]);
                float got = model->output->out[(n * T + t) * H + j];
                if (fabs(got - h[j]) > 1e-5)
                    fail_msg("sample %lld step %lld unit %lld: %g, expected %g", (long long)n,
                             (long long)t, (long long)j, got, h[j]);
            }
        }
    }
    nn_model_free(model);
}

static void test_shapes_and_errors(void **state)
{
    (void)state;
    nn_model *m = fixture_model("{input: [7, 3], layers: [{name: g, type: gru, units: 5, "
                                "bidirectional: true, return_sequences: true}]}", 1, 1);
    assert_int_equal(m->output->out_shape.ndim, 2);
    assert_int_equal(m->output->out_shape.dim[0], 7);
    assert_int_equal(m->output->out_shape.dim[1], 10);
    nn_param *w = nn_model_find_param(m, "g/weight_hh_reverse");
    assert_non_null(w);
    assert_int_equal(w->dims[0], 15);
    assert_int_equal(w->dims[1], 5);
    assert_non_null(nn_model_find_param(m, "g/bias_ih"));
    nn_model_free(m);
    m = fixture_model("{input: [7, 3], layers: [{type: lstm, units: 4}]}", 1, 1);
    assert_int_equal(m->output->out_shape.ndim, 1);
    assert_int_equal(m->output->out_shape.dim[0], 4);
    nn_model_free(m);

    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{input: [8], layers: [{name: r, type: lstm, units: 2}]}",
         "lstm layer 'r' needs a (steps, features) input, but its input 'input' has shape (8)"},
        {"{input: [3, 4], layers: [{name: r, type: gru}]}", "gru layer 'r' needs 'units' >= 1"},
        {"{input: [3, 4], layers: [{type: rnn, units: 2, nonlinearity: sigmoid}]}", "sigmoid"},
        {"{input: [3, 4], layers: [{type: lstm, units: 2, nonlinearity: relu}]}",
         "unknown key 'nonlinearity'"},
        {"{input: [3, 4, 5, 6], layers: [{type: lstm, units: 2}]}", "got 4 dimensions"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fixture_config_error(cases[i].yaml, cases[i].expect))
            fail_msg("config error case %zu", i);
}

/* embedding: gradients of the vectors through an lstm, at integer ids (where the id's
 * rounding makes the input gradient 0 on both sides); values are the weight rows. */
static void test_embedding(void **state)
{
    (void)state;
    nn_model *m = fixture_model("{input: [6], layers: [{name: e, type: embedding, num: 5, "
                                "dim: 3}, {type: lstm, units: 4}]}", 2, 3);
    const float ids[12] = {0, 4, 2, 2, 1, 3, 4, 4, 0, 1, 3, 2};
    if (!fixture_gradcheck_at(m, 2, 1, 1e-3, 1e-2, ids))
        fail_msg("embedding gradient check failed");
    nn_model_free(m);
    m = fixture_model("{input: [3], layers: [{name: e, type: embedding, num: 4, dim: 2}]}", 1, 3);
    assert_int_equal(m->output->out_shape.ndim, 2);
    assert_int_equal(m->output->out_shape.dim[0], 3);
    assert_int_equal(m->output->out_shape.dim[1], 2);
    const float *w = nn_model_param_data(m, nn_model_find_param(m, "e/weight"));
    float *x = nn_model_input(m);
    x[0] = 3, x[1] = 0, x[2] = 1.0000001f;
    nn_pass pass = {.batch = 1, .training = 0};
    nn_model_forward(m, &pass);
    const int rows[3] = {3, 0, 1};
    for (int p = 0; p < 3; p++)
        for (int j = 0; j < 2; j++)
            assert_float_equal(m->output->out[p * 2 + j], w[rows[p] * 2 + j], 0);
    nn_model_free(m);
    assert_true(fixture_config_error("{input: [3], layers: [{name: e, type: embedding, dim: 2}]}",
                                     "embedding layer 'e' needs 'num' >= 1"));
    assert_true(fixture_config_error("{input: [3, 2], layers: [{name: e, type: embedding, "
                                     "num: 3, dim: 2}]}", "needs a (steps) input of ids"));
}

/* Padded sequences: finite differences with lengths (the input gradient of padded steps must
 * come out 0 like their numerical one), for every cell, both directions, sequences or the
 * final state, stacked. */
static void test_recurrent_lengths_gradients(void **state)
{
    (void)state;
    const int32_t lengths[3] = {5, 2, 1};
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
        for (int bi = 0; bi <= 1; bi++)
            for (int seq = 0; seq <= 1; seq++) {
                char yaml[512];
                snprintf(yaml, sizeof yaml, "{input: [5, 3], layers: [{type: %s, units: 3, "
                         "bidirectional: %s, return_sequences: true}, {type: %s, units: 4, "
                         "bidirectional: %s, return_sequences: %s}]}", cells[c],
                         bi ? "true" : "false", cells[c], bi ? "true" : "false",
                         seq ? "true" : "false");
                nn_model *model = fixture_model(yaml, 3, 4);
                assert_non_null(model);
                if (!fixture_gradcheck_lengths(model, 3, 1, 1e-3, 1e-2, NULL, lengths))
                    fail_msg("gradient check with lengths failed for: %s", yaml);
                nn_model_free(model);
            }
}

/* A row padded from 2 to 6 steps gives the final state (both directions) and the valid
 * outputs of the row run alone as a 2-step sequence; its padded outputs are 0. */
static void test_lengths_match_short_sequence(void **state)
{
    (void)state;
    const char *padded_yaml = "{input: [6, 3], layers: [{name: l, type: lstm, units: 4, "
                              "bidirectional: true, return_sequences: %s}]}";
    const char *short_yaml = "{input: [2, 3], layers: [{name: l, type: lstm, units: 4, "
                             "bidirectional: true, return_sequences: %s}]}";
    for (int seq = 0; seq <= 1; seq++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, padded_yaml, seq ? "true" : "false");
        nn_model *padded = fixture_model(yaml, 1, 9);
        snprintf(yaml, sizeof yaml, short_yaml, seq ? "true" : "false");
        nn_model *alone = fixture_model(yaml, 1, 9);
        assert_true(padded && alone);
        memcpy(alone->param_data, padded->param_data,
               (size_t)padded->n_param_floats * sizeof(float));
        float *x = nn_model_input(padded);
        nn_test_fill(x, 18, 4, -1.0f, 1.0f);
        memcpy(nn_model_input(alone), x, 6 * sizeof(float));
        const int32_t length = 2;
        nn_pass pass = {.batch = 1, .lengths = &length}, plain = {.batch = 1};
        nn_model_forward(padded, &pass);
        nn_model_forward(alone, &plain);
        const int64_t valid = seq ? 2 * 8 : 8, total = seq ? 6 * 8 : 8;
        for (int64_t i = 0; i < total; i++)
            assert_float_equal(padded->output->out[i], i < valid ? alone->output->out[i] : 0.0f,
                               1e-6);
        nn_model_free(padded);
        nn_model_free(alone);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recurrent_gradients),
        cmocka_unit_test(test_recurrent_stacked),
        cmocka_unit_test(test_lstm_forward_matches_equations),
        cmocka_unit_test(test_shapes_and_errors),
        cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_recurrent_lengths_gradients),
        cmocka_unit_test(test_lengths_match_short_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Finite-difference gradient checks of dense, every elementwise activation, softmax and
 * log_softmax, and of the DAG plumbing (a layer feeding two consumers, frozen layers, an
 * activation fused into add). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model_fixture.h"

static void check_model(const char *yaml, int64_t batch, int training, double atol,
                        double rtol)
{
    nn_model *model = fixture_model(yaml, batch, 3);
    assert_non_null(model);
    if (!fixture_gradcheck(model, batch, training, atol, rtol)) {
        nn_model_free(model);
        fail_msg("gradient check failed for: %s", yaml);
    }
    nn_model_free(model);
}

static void test_dense(void **state)
{
    (void)state;
    check_model("{input: [5], layers: [{type: dense, units: 4}]}", 3, 1, 1e-3, 1e-2);
    check_model("{input: [2, 2, 3], layers: [{type: dense, units: 3, bias: false}]}", 2, 1,
                1e-3, 1e-2);
    check_model("{input: [4], layers: [{type: dense, units: 6, activation: tanh},"
                " {type: dense, units: 3}]}", 4, 1, 1e-3, 1e-2);
}

/* Points are drawn in [-2, 2); kinks (relu at 0, sqnl at +-2) are measure-zero. */
static const char *const activations[] = {
    "identity", "sigmoid", "tanh", "arctan", "relu", "{type: leaky_relu, alpha: 0.1}",
    "{type: elu, alpha: 0.7}", "selu", "softsign", "{type: isru, alpha: 0.5}",
    "{type: isrlu, alpha: 2.0}", "sqnl", "bipolar_relu", "{type: softplus, beta: 2.0}",
    "swish", "silu", "gelu", "mish", "hard_sigmoid", "binary_step", "softmax", "log_softmax",
};

static void test_activations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "{input: [7], layers: [{type: dense, units: 5, activation: %s}]}",
                 activations[i]);
        check_model(yaml, 3, 1, 2e-3, 2e-2);
    }
}

static void test_activation_as_layer(void **state)
{
    (void)state;
    check_model("{input: [6], layers: [{type: gelu}, {type: dense, units: 2}]}", 2, 1, 1e-3,
                1e-2);
    check_model("{input: [6], layers: [{type: leaky_relu, alpha: 0.3}]}", 2, 1, 1e-3, 1e-2);
}

static void test_fan_out_accumulates(void **state)
{
    (void)state;
    /* h feeds a, b, c and e: its gradient is the sum over four paths. */
    check_model("{input: [4], layers: ["
                "{name: h, type: dense, units: 5, activation: tanh},"
                "{name: a, type: dense, units: 5, inputs: [h]},"
                "{name: b, type: sigmoid, inputs: [h]},"
                "{name: c, type: add, inputs: [a, b, h]},"
                "{name: e, type: concat, inputs: [c, h, a]},"
                "{name: d, type: dense, units: 2, inputs: [e]}]}",
                3, 1, 1e-3, 1e-2);
}

/* An activation fused into add (its only consumer, a residual sum's relu) computes what the
 * separate pass did, bit for bit: the output is relu of the plain sum, the gradients those of
 * the plain sum for the output gradient relu lets through. A fused tanh passes the gradient
 * check, and so does a fused relu whose inputs' gradients other layers have begun. */
static void test_add_fused_activation(void **state)
{
    (void)state;
    const int64_t batch = 3;
    nn_model *fused = fixture_model("{input: [6], layers: [{name: a, type: dense, units: 5},"
                                    " {name: b, type: dense, units: 5, inputs: [input]},"
                                    " {name: s, type: add, inputs: [a, b], activation: relu}]}",
                                    batch, 2);
    nn_model *plain = fixture_model("{input: [6], layers: [{name: a, type: dense, units: 5},"
                                    " {name: b, type: dense, units: 5, inputs: [input]},"
                                    " {name: s, type: add, inputs: [a, b]}]}", batch, 2);
    assert_non_null(fused);
    assert_non_null(plain);
    assert_int_equal(fused->output->fused, 1);
    const int64_t in = batch * nn_model_input_size(plain);
    const int64_t out = batch * nn_model_output_size(plain);
    for (int64_t i = 0; i < in; i++)
        nn_model_input(plain)[i] = nn_model_input(fused)[i] = (float)((i * 7) % 11) / 5 - 1;
    nn_pass pass = {.batch = batch, .training = 1};
    nn_model_forward(fused, &pass);
    nn_model_forward(plain, &pass);
    for (int64_t i = 0; i < out; i++) {
        const float y = plain->output->out[i];
        assert_true(fused->output->out[i] == (y > 0.0f ? y : 0.0f));
        fused->output->dout[i] = (float)((i * 5) % 7) / 3 - 1;
        plain->output->dout[i] = y > 0.0f ? fused->output->dout[i] : 0.0f;
    }
    nn_model_backward(fused, &pass);
    nn_model_backward(plain, &pass);
    for (int k = 0; k < plain->n_params; k++) {
        const float *want = nn_model_param_grad(plain, &plain->params[k]);
        const float *got = nn_model_param_grad(fused, &fused->params[k]);
        for (int64_t i = 0; i < plain->params[k].size; i++)
            assert_true(got[i] == want[i]);
    }
    for (int64_t i = 0; i < in; i++)
        assert_true(fused->layers[0]->dout[i] == plain->layers[0]->dout[i]);
    nn_model_free(fused);
    nn_model_free(plain);
    check_model("{input: [4], layers: [{name: h, type: dense, units: 5},"
                " {name: a, type: dense, units: 5, inputs: [h]},"
                " {name: c, type: add, inputs: [a, h], activation: tanh},"
                " {type: dense, units: 2}]}", 3, 1, 1e-3, 1e-2);
    /* The fused gradient goes to the first input that takes it whole: here h's gradient is
     * already begun by d (later in the net, so earlier in backward), and a takes it... */
    check_model("{input: [4], layers: [{name: h, type: dense, units: 5},"
                " {name: a, type: dense, units: 5, inputs: [h]},"
                " {name: s, type: add, inputs: [h, a], activation: relu},"
                " {name: d, type: dense, units: 5, inputs: [h]},"
                " {name: e, type: add, inputs: [s, d]}, {type: dense, units: 2}]}",
                3, 1, 1e-3, 1e-2);
    /* ... and when every input's gradient is begun elsewhere, to the add's own. */
    check_model("{input: [4], layers: [{name: h, type: dense, units: 5},"
                " {name: g, type: dense, units: 5, inputs: [input]},"
                " {name: s, type: add, inputs: [h, g], activation: relu},"
                " {name: d, type: dense, units: 5, inputs: [h]},"
                " {name: f, type: dense, units: 5, inputs: [g]},"
                " {name: e, type: add, inputs: [s, d, f]}, {type: dense, units: 2}]}",
                3, 1, 1e-3, 1e-2);
}

static void test_frozen_layer_gets_no_update(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [3], layers: [{name: f, type: dense, units: 4,"
                                    " trainable: false}, {type: dense, units: 2}]}", 2, 1);
    assert_non_null(model);
    nn_param *frozen = nn_model_find_param(model, "f/weight");
    assert_non_null(frozen);
    assert_true(frozen->frozen);
    assert_int_equal(nn_model_count_trainable(model), 4 * 2 + 2);
    nn_model_free(model);
}

static void test_config_errors_name_layers(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{input: [3], layers: [{type: dens, units: 2}]}", "did you mean 'dense'"},
        {"{input: [3], layers: [{type: dense}]}", "needs 'units'"},
        {"{input: [3], layers: [{type: dense, units: 2, activation: rleu}]}", "relu"},
        {"{input: [3], layers: [{type: dense, units: 2, inputs: [nope]}]}", "'nope'"},
        {"{input: [3], layers: [{type: dense, units: 2, unitz: 3}]}", "unitz"},
        {"{input: [3], layers: [{name: a, type: dense, units: 2},"
         " {name: a, type: dense, units: 2}]}", "used twice"},
        {"{input: [3], layers: [{name: a, type: dense, units: 2},"
         " {name: b, type: dense, units: 2, inputs: [input]}]}", "does not lead"},
        {"{input: [3], layers: [{type: dense, units: 2, activation: {type: relu, alpha: 1}}]}",
         "no parameter 'alpha'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fixture_config_error(cases[i].yaml, cases[i].expect))
            fail_msg("config error case %zu", i);
}

static void test_mlp_shorthand(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [784], mlp: [256, 128, 64, 10]}", 2, 1);
    assert_non_null(model);
    assert_int_equal(nn_model_count_params(model),
                     784 * 256 + 256 + 256 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
    assert_int_equal(nn_model_output_size(model), 10);
    assert_string_equal(model->output->name, "dense4");
    nn_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_activation_as_layer),
        cmocka_unit_test(test_fan_out_accumulates),
        cmocka_unit_test(test_add_fused_activation),
        cmocka_unit_test(test_frozen_layer_gets_no_update),
        cmocka_unit_test(test_config_errors_name_layers),
        cmocka_unit_test(test_mlp_shorthand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

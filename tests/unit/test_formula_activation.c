/* Formula activations (src/layers/formula_activation.c): gradient checks as a layer, as a
 * dense layer's fused activation and with learned parameters; formulas equal to swish,
 * gelu, elu and relu train to the same weights as the built-ins (whose PyTorch references
 * are in tests/ref); the learned parameter's place in the model; config errors that point
 * at the formula's character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "nn/config.h"

static void check_model(const char *yaml, int64_t batch, double atol, double rtol)
{
    for (int training = 0; training <= 1; training++) {
        nn_model *model = fixture_model(yaml, batch, 3);
        if (!model)
            fail_msg("build failed: %s", yaml);
        if (!fixture_gradcheck(model, batch, training, atol, rtol)) {
            nn_model_free(model);
            fail_msg("gradient check failed (training=%d) for: %s", training, yaml);
        }
        nn_model_free(model);
    }
}

static void test_gradients(void **state)
{
    (void)state;
    /* A layer of its own, over an image (several chunks of values). */
    check_model("{input: [2, 9, 9], layers: [{type: formula, formula: \"x * tanh(softplus(x))\"}]}",
                3, 1e-3, 1e-2);
    /* Fused into the dense layer before it. */
    check_model("{input: [4], layers: [{type: dense, units: 6, activation: {formula: "
                "\"where(x > 0, x, 0.5 * (exp(x) - 1))\"}}, {type: dense, units: 2}]}",
                3, 1e-3, 1e-2);
    /* Learned parameters (one and two), checked with the weights. */
    check_model("{input: [4], layers: [{type: dense, units: 6, activation: {formula: "
                "\"x * sigmoid(beta * x)\", params: {beta: 1.5}, learn: [beta]}},"
                " {type: dense, units: 2}]}", 3, 1e-3, 1e-2);
    check_model("{input: [5], layers: [{type: dense, units: 7, activation: {formula: "
                "\"a * x + b * sin(x) ^ 2 + c\", params: {a: 0.8, b: 0.3, c: 0.1}, "
                "learn: [a, b]}}, {type: dense, units: 3}]}", 4, 1e-3, 1e-2);
    /* One per channel: after a dense layer (parameters as arrays over a sample) and over an
     * image (a channel's 4 x 4 values at a time). */
    check_model("{input: [5], layers: [{type: dense, units: 6, activation: {formula: "
                "\"x * sigmoid(beta * x) + c * x\", params: {beta: 1.5, c: 0.2}, "
                "learn: [beta, c], per_channel: true}}, {type: dense, units: 2}]}",
                3, 1e-3, 1e-2);
    check_model("{input: [3, 4, 4], layers: [{type: formula, formula: \"a * tanh(x) + x\", "
                "params: {a: 0.7}, learn: [a], per_channel: true}]}", 2, 1e-3, 1e-2);
}

static void expect_same_training(const char *builtin, const char *formula)
{
    char yaml_a[512], yaml_b[512];
    const char *shape = "{input: [5], layers: [{type: dense, units: 7, activation: %s},"
                        " {type: dense, units: 6, activation: %s}, {type: dense, units: 3}]}";
    snprintf(yaml_a, sizeof yaml_a, shape, builtin, builtin);
    snprintf(yaml_b, sizeof yaml_b, shape, formula, formula);
    int64_t n_a = 0, n_b = 0;
    float *a = fixture_train_steps(yaml_a, "mse", 8, 5, 0, &n_a);
    float *b = fixture_train_steps(yaml_b, "mse", 8, 5, 0, &n_b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(n_a, n_b);
    double worst = 0, moved = 0;
    float *start = fixture_train_steps(yaml_a, "mse", 8, 0, 0, &n_a);
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

static void test_same_training_as_builtins(void **state)
{
    (void)state;
    expect_same_training("swish", "{formula: \"x * sigmoid(x)\"}");
    expect_same_training("gelu", "{formula: \"0.5 * x * (1 + erf(x / sqrt(2)))\"}");
    expect_same_training("{type: elu, alpha: 0.7}",
                         "{formula: \"x > 0 ? x : alpha * (exp(x) - 1)\", params: {alpha: 0.7}}");
    expect_same_training("relu", "{formula: \"max(x, 0)\"}");
    expect_same_training("tanh", "{type: formula, formula: \"tanh(x)\"}");
}

static void test_learned_parameter(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [3], layers: [{name: d, type: dense, units: 4, "
                                    "activation: {formula: \"x * sigmoid(beta * x)\", params: "
                                    "{beta: 1.5}, learn: [beta]}}, {name: e, type: dense, "
                                    "units: 2, activation: {formula: \"max(x, 0)\"}}]}", 2, 1);
    assert_non_null(model);
    nn_param *beta = nn_model_find_param(model, "d.formula/beta");
    assert_non_null(beta);
    assert_int_equal(beta->size, 1);
    assert_true(beta->flags & NN_PARAM_NO_DECAY);
    assert_float_equal(nn_model_param_data(model, beta)[0], 1.5f, 0);
    /* With a learned parameter the layer runs on its own; without, the dense layer computes
     * it. */
    int fused_learned = -1, fused_plain = -1;
    for (int i = 0; i < model->n_layers; i++) {
        if (strcmp(model->layers[i]->name, "d.formula") == 0)
            fused_learned = model->layers[i]->fused;
        if (strcmp(model->layers[i]->name, "e.formula") == 0)
            fused_plain = model->layers[i]->fused;
    }
    assert_int_equal(fused_learned, 0);
    assert_int_equal(fused_plain, 1);
    /* The value the model holds is the one the forward uses. */
    nn_model_param_data(model, beta)[0] = 0.0f; /* x * sigmoid(0) = x / 2 */
    float *x = nn_model_input(model);
    for (int i = 0; i < 6; i++)
        x[i] = 0.5f * (float)i - 1.0f;
    nn_pass pass = {.batch = 2, .training = 0};
    nn_model_forward(model, &pass);
    const nn_layer *d = NULL, *act = NULL;
    for (int i = 0; i < model->n_layers; i++) {
        if (strcmp(model->layers[i]->name, "d") == 0)
            d = model->layers[i];
        if (strcmp(model->layers[i]->name, "d.formula") == 0)
            act = model->layers[i];
    }
    for (int i = 0; i < 8; i++)
        assert_float_equal(act->out[i], 0.5f * d->out[i], 1e-6);
    nn_model_free(model);

    /* Per channel: one value per channel of an image, channel c's used on its values. */
    model = fixture_model("{input: [3, 2, 2], layers: [{name: f, type: formula, formula: "
                          "\"a * x\", params: {a: 0.5}, learn: [a], per_channel: true}]}", 2, 1);
    assert_non_null(model);
    nn_param *a = nn_model_find_param(model, "f/a");
    assert_non_null(a);
    assert_int_equal(a->size, 3);
    float *slopes = nn_model_param_data(model, a);
    assert_float_equal(slopes[2], 0.5f, 0);
    slopes[0] = 1, slopes[1] = 2, slopes[2] = 3;
    x = nn_model_input(model);
    for (int i = 0; i < 24; i++)
        x[i] = 1.0f;
    nn_model_forward(model, &pass);
    for (int i = 0; i < 24; i++)
        assert_float_equal(model->output->out[i], (float)((i % 12) / 4 + 1), 0);
    nn_model_free(model);
}

static void test_config_errors(void **state)
{
    (void)state;
    assert_true(fixture_config_error(
        "{input: [3], layers: [{type: dense, units: 2, activation: {formula: \"x * sigmod(x)\"}}]}",
        "m.yaml:1:69: layers[0].activation.formula: formula:1:5: unknown function 'sigmod' "
        "(did you mean 'sigmoid'?)"));
    assert_true(fixture_config_error(
        "{input: [3], layers: [{type: formula, formula: \"x * bta\", params: {beta: 1}}]}",
        "formula:1:5: unknown name 'bta' (did you mean 'beta'?); names here: x, beta"));
    assert_true(fixture_config_error(
        "{input: [3], layers: [{type: formula, formula: \"x * beta\", params: {beta: 1}, "
        "learn: [gamma]}]}",
        "'gamma' is not a parameter of the formula"));
    assert_true(fixture_config_error(
        "{input: [3], layers: [{type: formula, formula: \"x\", params: {x: 1}}]}",
        "'x' is a variable of the formula, not a parameter"));
    assert_true(fixture_config_error(
        "{input: [3], layers: [{type: formula, formula: \"x\", params: {exp: 1}}]}",
        "'exp' cannot be a parameter's name"));
    assert_true(fixture_config_error("{input: [3], layers: [{type: formula}]}",
                                     "a formula activation needs 'formula'"));
    assert_true(fixture_config_error(
        "{input: [3], layers: [{type: formula, formula: \"x\", per_channel: true}]}",
        "per_channel is for learned parameters"));
    assert_true(fixture_config_error(
        "{input: [3], layers: [{type: formula, formula: \"x\", param: {a: 1}}]}",
        "unknown key 'param' (did you mean 'params'?)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_same_training_as_builtins),
        cmocka_unit_test(test_learned_parameter),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

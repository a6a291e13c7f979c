/* The geometric MLP shorthand: widths k, k^2, ..., k^n followed by the listed units, the
 * same model as the hand-written list, and bad settings refused with the key's place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model_fixture.h"

static void test_widths(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [6], mlp: {geometric: {base: 3, layers: 3}, "
                                    "units: [2], activation: tanh}}", 2, 1);
    nn_model *by_hand = fixture_model("{input: [6], mlp: {units: [3, 9, 27, 2], "
                                      "activation: tanh}}", 2, 1);
    assert_int_equal(nn_model_count_params(model),
                     6 * 3 + 3 + 3 * 9 + 9 + 9 * 27 + 27 + 27 * 2 + 2);
    assert_int_equal(model->n_layers, by_hand->n_layers);
    for (int i = 0; i < model->n_layers; i++)
        assert_string_equal(model->layers[i]->name, by_hand->layers[i]->name);
    assert_memory_equal(model->param_data, by_hand->param_data,
                        (size_t)model->n_param_floats * sizeof(float));
    nn_model_free(model);
    nn_model_free(by_hand);

    model = fixture_model("{input: [4], mlp: {geometric: {base: 2, layers: 5}}}", 2, 1);
    assert_int_equal(nn_model_output_size(model), 32);
    nn_model_free(model);
}

static void test_errors(void **state)
{
    (void)state;
    assert_true(fixture_config_error("{input: [4], mlp: {geometric: {base: 1, layers: 3}}}",
                                     "base >= 2"));
    assert_true(fixture_config_error("{input: [4], mlp: {geometric: {base: 2, layers: 0}}}",
                                     "layers in [1, 64]"));
    assert_true(fixture_config_error("{input: [4], mlp: {geometric: {base: 4, layers: 13}}}",
                                     "4^13 units is more than 2^24"));
    assert_true(fixture_config_error("{input: [4], mlp: {geometric: {base: 2, depth: 3}}}",
                                     "depth"));
    assert_true(fixture_config_error("{input: [4], mlp: {activation: relu}}", "geometric"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

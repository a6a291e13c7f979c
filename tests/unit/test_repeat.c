/* Repeat blocks in model.layers: {repeat: N, layers: [...]} expands to N copies with the
 * names of copy k suffixed _k, inputs inside a copy referring to the same copy, block_input
 * for residual blocks, nesting, gradients through the expanded model, and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "model_fixture.h"
#include "nn/config.h"

static nn_layer *find_layer(const nn_model *model, const char *name)
{
    for (int i = 0; i < model->n_layers; i++)
        if (strcmp(model->layers[i]->name, name) == 0)
            return model->layers[i];
    return NULL;
}

/* "input fc_1 fc_1.relu drop_1 ..." */
static void layer_names(const nn_model *model, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < model->n_layers && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "",
                                 model->layers[i]->name);
}

static void test_copies_and_names(void **state)
{
    (void)state;
    nn_model *model = fixture_model(
        "{input: [10], layers: ["
        "{name: stem, type: dense, units: 64},"
        "{repeat: 3, layers: [{name: fc, type: dense, units: 64, activation: relu},"
        "                     {name: drop, type: dropout, p: 0.1}]},"
        "{name: out, type: dense, units: 4}]}",
        2, 1);
    assert_non_null(model);
    char names[1024];
    layer_names(model, names, sizeof names);
    assert_string_equal(names, "input stem fc_1 fc_1.relu drop_1 fc_2 fc_2.relu drop_2 fc_3 "
                               "fc_3.relu drop_3 out");
    /* 10*64+64 + 3 (64*64+64) + 64*4+4 */
    assert_int_equal(nn_model_count_params(model), 704 + 3 * 4160 + 260);
    /* Each copy takes the previous copy's output. */
    assert_ptr_equal(find_layer(model, "fc_2")->inputs[0], find_layer(model, "drop_1"));
    assert_ptr_equal(find_layer(model, "fc_1")->inputs[0], find_layer(model, "stem"));
    assert_ptr_equal(find_layer(model, "out")->inputs[0], find_layer(model, "drop_3"));
    /* Copies are initialized independently. */
    const float *w1 = nn_model_param_data(model, nn_model_find_param(model, "fc_1/weight"));
    const float *w2 = nn_model_param_data(model, nn_model_find_param(model, "fc_2/weight"));
    assert_true(memcmp(w1, w2, 64 * 64 * sizeof(float)) != 0);
    nn_model_free(model);

    /* Unnamed layers get the automatic names. */
    model = fixture_model("{input: [3], layers: [{repeat: 2, layers: [{type: dense, units: 3}]}]}",
                          1, 1);
    assert_non_null(model);
    layer_names(model, names, sizeof names);
    assert_string_equal(names, "input dense1 dense2");
    nn_model_free(model);
}

static void test_residual_block(void **state)
{
    (void)state;
    /* inputs inside a copy name that copy's layers; block_input is what enters the copy. */
    const char *yaml =
        "{input: [6], layers: ["
        "{name: stem, type: dense, units: 5, activation: tanh},"
        "{repeat: 2, layers: ["
        "  {name: a, type: dense, units: 5, activation: tanh},"
        "  {name: b, type: dense, units: 5},"
        "  {name: side, type: dense, units: 5, inputs: a},"
        "  {name: sum, type: add, inputs: [b, block_input, side], activation: tanh}]},"
        "{name: out, type: dense, units: 2}]}";
    nn_model *model = fixture_model(yaml, 3, 2);
    assert_non_null(model);
    nn_layer *sum1 = find_layer(model, "sum_1"), *sum2 = find_layer(model, "sum_2");
    assert_non_null(sum1);
    assert_non_null(sum2);
    assert_ptr_equal(sum1->inputs[0], find_layer(model, "b_1"));
    assert_ptr_equal(sum1->inputs[1], find_layer(model, "stem.tanh"));
    assert_ptr_equal(sum1->inputs[2], find_layer(model, "side_1"));
    assert_ptr_equal(sum2->inputs[0], find_layer(model, "b_2"));
    assert_ptr_equal(sum2->inputs[1], find_layer(model, "sum_1.tanh")); /* copy 1's output */
    assert_ptr_equal(sum2->inputs[2], find_layer(model, "side_2"));
    assert_ptr_equal(find_layer(model, "side_2")->inputs[0], find_layer(model, "a_2.tanh"));
    assert_ptr_equal(find_layer(model, "a_2")->inputs[0], find_layer(model, "sum_1.tanh"));
    assert_ptr_equal(find_layer(model, "out")->inputs[0], find_layer(model, "sum_2.tanh"));
    assert_true(fixture_gradcheck(model, 3, 1, 1e-3, 1e-2));
    nn_model_free(model);
}

static void test_nested(void **state)
{
    (void)state;
    nn_model *model = fixture_model(
        "{input: [4], layers: [{repeat: 2, layers: ["
        "  {repeat: 2, layers: [{name: d, type: dense, units: 4, activation: relu}]},"
        "  {name: skip, type: add, inputs: [d_2, block_input]}]},"
        " {type: dense, units: 2}]}",
        2, 1);
    assert_non_null(model);
    char names[1024];
    layer_names(model, names, sizeof names);
    assert_string_equal(names, "input d_1_1 d_1_1.relu d_2_1 d_2_1.relu skip_1 d_1_2 d_1_2.relu "
                               "d_2_2 d_2_2.relu skip_2 dense1");
    assert_ptr_equal(find_layer(model, "skip_1")->inputs[1], model->layers[0]);
    assert_ptr_equal(find_layer(model, "skip_2")->inputs[1], find_layer(model, "skip_1"));
    assert_ptr_equal(find_layer(model, "d_1_2")->inputs[0], find_layer(model, "skip_1"));
    nn_model_free(model);
}

static void expect_error(const char *yaml, const char *expect)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_model *model = NULL;
    assert_int_equal(nn_cfg_load_string(yaml, "m.yaml", &cfg, &err), NN_OK);
    nn_status st = nn_model_build(cfg, 1, 1, 0, &model, &err);
    nn_cfg_free(cfg);
    if (st != NN_ERR_CONFIG || !strstr(err.msg, expect))
        fail_msg("'%s': status %d, message '%s'", yaml, st, err.msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("input: [3]\nlayers:\n  - {repeat: 0, layers: [{type: dense, units: 2}]}\n",
                 "m.yaml:3:14: layers[0].repeat: must be in [1, 1000]");
    expect_error("input: [3]\nlayers:\n  - {repeat: -2, layers: [{type: dense, units: 2}]}\n",
                 "repeat: must be in [1, 1000]");
    expect_error("input: [3]\nlayers: [{repeat: two, layers: [{type: dense, units: 2}]}]\n",
                 "repeat: expected an integer");
    expect_error("input: [3]\nlayers: [{repeat: 2}]\n", "needs 'layers'");
    expect_error("input: [3]\nlayers: [{repeat: 2, layers: []}]\n", "needs 'layers'");
    expect_error("input: [3]\nlayers: [{repeat: 2, type: dense, layers: [{type: dense, "
                 "units: 2}]}]\n", "unknown key 'type'");
    /* An error inside a copy points at the block's text. */
    expect_error("input: [3]\nlayers:\n  - repeat: 2\n    layers:\n"
                 "      - {type: dense, units: -1}\n", "m.yaml:5:");
    /* Names outside the block are not renamed; duplicates across copies cannot happen, but
     * a name reused outside is reported. */
    expect_error("input: [3]\nlayers: [{repeat: 2, layers: [{name: x, type: dense, units: 3}]},"
                 " {name: x_1, type: dense, units: 2}]\n", "'x_1' is used twice");
    expect_error("input: [3]\nlayers: [{type: dense, units: 3},"
                 " {repeat: 2, layers: [{type: add, inputs: [block_input, block_input]}]}]\n",
                 "block_input needs the layer before");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_and_names),
        cmocka_unit_test(test_residual_block),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

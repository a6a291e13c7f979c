/* What train.reproducible: bitwise rests on (src/train/reproducible.c):
 *  - a sample's forward output does not depend on the other rows of the batch: the first
 *    43 rows of a 128-row forward are the bits of a 43-row forward of the same rows, and so
 *    are the last 43 (dense layers whose products hit the tile edges, split by rows or by
 *    output units, and convolutions), at 1 and 2 threads;
 *  - backward with nn_pass.unit_rows writes each unit's parameter gradients into its slot,
 *    the bits of a plain backward over that unit's rows alone, at 1 and 2 threads (dense
 *    layers write a unit's weight gradient a block of rows at a time: widths that end in a
 *    part block, and a dense layer on a sequence, whose units are several rows each);
 *  - the exact sums of batchnorm's statistics and the metrics (parallel/exact_sum.h) give
 *    the same bits for any split of the terms into units and any order, and agree with a
 *    double sum to float precision (the gradients' tree: test_unit_tree.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "gradcheck.h"
#include "model/model_internal.h"
#include "model_fixture.h"
#include "parallel/exact_sum.h"

static const char mlp[] =
    "{input: [37], layers: [{name: fc1, type: dense, units: 300, activation: relu},"
    " {name: fc2, type: dense, units: 19, activation: tanh},"
    " {name: fc3, type: dense, units: 33, bias: false},"
    " {name: out, type: dense, units: 5}]}";
static const char cnn[] =
    "{input: [3, 11, 13], layers: [{name: c1, type: conv2d, filters: 6, kernel: 3,"
    " padding: same, activation: relu}, {name: c2, type: conv2d, filters: 5, kernel: 2,"
    " stride: 2}, {name: c3, type: conv2d, filters: 4, kernel: 1},"
    " {name: out, type: dense, units: 7}]}";

/* 3x3 convolutions with 8 channels or more run as F(2x2, 3x3) (core/winograd.h). */
static const char cnn_winograd[] =
    "{input: [8, 9, 10], layers: [{name: c1, type: conv2d, filters: 8, kernel: 3,"
    " padding: same, activation: relu}, {name: c2, type: conv2d, filters: 8, kernel: 3},"
    " {name: out, type: dense, units: 5}]}";

/* A dense layer on a sequence (5 steps of 40 features: each sample is 5 rows of its
 * products) with 131 units, 10 blocks of 12 rows and a part block, then one on its
 * flattened output. */
static const char dense_rows[] =
    "{input: [5, 40], layers: [{name: seq, type: dense, units: 131, activation: relu},"
    " {name: out, type: dense, units: 3}]}";

static void assert_bits(const float *a, const float *b, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s[%lld]: %.9g vs %.9g", what, (long long)i, (double)a[i],
                     (double)b[i]);
}

/* Forward of `rows` rows starting at row `first` of `input`; a copy of the output. */
static float *forward_rows(nn_model *model, const float *input, int64_t first, int64_t rows)
{
    const int64_t in = nn_model_input_size(model), out = nn_model_output_size(model);
    memcpy(nn_model_input(model), input + first * in, (size_t)(rows * in) * sizeof(float));
    nn_pass pass = {.batch = rows, .training = 1, .seed = 3};
    nn_model_forward(model, &pass);
    float *copy = malloc((size_t)(rows * out) * sizeof *copy);
    memcpy(copy, model->output->out, (size_t)(rows * out) * sizeof *copy);
    return copy;
}

static void check_rows_independent(const char *yaml)
{
    for (int threads = 1; threads <= 2; threads++) {
        nni_set_threads(threads);
        nn_model *model = fixture_model(yaml, 128, 5);
        const int64_t in = nn_model_input_size(model), out = nn_model_output_size(model);
        float *input = malloc((size_t)(128 * in) * sizeof *input);
        nn_test_fill(input, 128 * in, 17, -2.0f, 2.0f);
        float *all = forward_rows(model, input, 0, 128);
        float *head = forward_rows(model, input, 0, 43);
        float *tail = forward_rows(model, input, 85, 43);
        assert_bits(all, head, 43 * out, "rows 0..42");
        assert_bits(all + 85 * out, tail, 43 * out, "rows 85..127");
        free(all);
        free(head);
        free(tail);
        free(input);
        nn_model_free(model);
    }
}

static void test_forward_mlp(void **state)
{
    (void)state;
    check_rows_independent(mlp);
}

static void test_forward_cnn(void **state)
{
    (void)state;
    check_rows_independent(cnn);
}

/* Each unit's slot after a unit backward equals a plain backward over the unit's rows. */
static void check_unit_slots(const char *yaml, int64_t batch, int64_t unit, int threads)
{
    nni_set_threads(threads);
    nn_model *model = fixture_model(yaml, batch, 5);
    const int64_t in = nn_model_input_size(model), out = nn_model_output_size(model);
    const int64_t n = model->n_param_floats, units = (batch + unit - 1) / unit;
    const int64_t stride = n + NN_GRAD_ROOM;
    float *input = malloc((size_t)(batch * in) * sizeof *input);
    float *dout = malloc((size_t)(batch * out) * sizeof *dout);
    float *slots = calloc((size_t)(units * stride), sizeof *slots);
    nn_test_fill(input, batch * in, 23, -2.0f, 2.0f);
    nn_test_fill(dout, batch * out, 29, -1.0f, 1.0f);
    /* Stale values, as the slots hold after a step: every slot is written, not added to. */
    nn_test_fill(slots, units * stride, 37, -5.0f, 5.0f);
    nni_model_use_grads(model, slots);
    memcpy(nn_model_input(model), input, (size_t)(batch * in) * sizeof *input);
    nn_pass pass = {.batch = batch, .training = 1, .seed = 3, .unit_rows = unit,
                    .unit_stride = stride, .units_total = units};
    nn_model_forward(model, &pass);
    memcpy(model->output->dout, dout, (size_t)(batch * out) * sizeof *dout);
    nn_model_backward(model, &pass);
    nni_model_use_grads(model, NULL);
    for (int64_t j = 0; j < units; j++) {
        const int64_t first = j * unit, rows = batch - first < unit ? batch - first : unit;
        memcpy(nn_model_input(model), input + first * in, (size_t)(rows * in) * sizeof *input);
        nn_pass plain = {.batch = rows, .training = 1, .seed = 3};
        nn_model_forward(model, &plain);
        memcpy(model->output->dout, dout + first * out, (size_t)(rows * out) * sizeof *dout);
        nni_set_threads(1); /* the plain conv sums its samples in order on one thread */
        nn_model_backward(model, &plain);
        nni_set_threads(threads);
        for (int k = 0; k < model->n_params; k++) /* each tensor, not the padding after it */
            if (!(model->params[k].flags & NN_PARAM_STATE))
                assert_bits(model->grad_data + model->params[k].offset,
                            slots + j * stride + model->params[k].offset,
                            model->params[k].size, model->params[k].name);
    }
    free(input);
    free(dout);
    free(slots);
    nn_model_free(model);
}

static void test_unit_slots_mlp(void **state)
{
    (void)state;
    check_unit_slots(mlp, 50, 8, 1);
    check_unit_slots(mlp, 50, 8, 2);
}

static void test_unit_slots_cnn(void **state)
{
    (void)state;
    check_unit_slots(cnn, 21, 4, 1);
    check_unit_slots(cnn, 21, 4, 2);
    check_unit_slots(cnn_winograd, 13, 4, 1);
    check_unit_slots(cnn_winograd, 13, 4, 2);
}

static void test_unit_slots_dense_rows(void **state)
{
    (void)state;
    check_unit_slots(dense_rows, 19, 4, 1);
    check_unit_slots(dense_rows, 19, 4, 2);
}

/* The exact sum of 24 units of 5 columns split over "ranks" in three ways, with the units
 * of each part in reverse order: the same bits, close to the double sum. */
static void test_exact_sum_any_split(void **state)
{
    (void)state;
    enum { UNITS = 24, WIDTH = 5 };
    double parts[UNITS * WIDTH];
    float noise[UNITS * WIDTH];
    nn_test_fill(noise, UNITS * WIDTH, 31, -1.0f, 1.0f);
    for (int i = 0; i < UNITS * WIDTH; i++) /* magnitudes from 1e-6 to 1e6 across columns */
        parts[i] = noise[i] * pow(1000.0, i % WIDTH - 2);
    double reference[WIDTH] = {0}, maxes[WIDTH], factors[WIDTH], out[WIDTH], first[WIDTH];
    int64_t fixed[WIDTH];
    for (int i = 0; i < UNITS * WIDTH; i++)
        reference[i % WIDTH] += parts[i];
    const int splits[3][4] = {{24, 0, 0, 0}, {7, 5, 12, 0}, {1, 1, 1, 21}};
    for (int s = 0; s < 3; s++) {
        int64_t acc[WIDTH] = {0};
        double global_max[WIDTH] = {0};
        for (int i = 0; i < UNITS * WIDTH; i++)
            global_max[i % WIDTH] = fmax(global_max[i % WIDTH], fabs(parts[i]));
        memcpy(maxes, global_max, sizeof maxes);
        assert_int_equal(nni_exact_scales(NULL, maxes, WIDTH, UNITS, factors), 0);
        /* Each "rank" adds its units last to first. */
        for (int r = 0, at = 0; r < 4; at += splits[s][r], r++)
            for (int j = at + splits[s][r] - 1; j >= at; j--)
                for (int c = 0; c < WIDTH; c++)
                    acc[c] += nni_exact_fixed(parts[j * WIDTH + c], factors[c]);
        for (int c = 0; c < WIDTH; c++)
            out[c] = nni_exact_value(acc[c], factors[c]);
        if (s == 0)
            memcpy(first, out, sizeof first);
        assert_memory_equal(first, out, sizeof out);
        for (int c = 0; c < WIDTH; c++)
            assert_true(fabs(out[c] - reference[c]) <= 1e-9 * global_max[c]);
    }
    /* The helper over one "rank" agrees with the hand-made sum, and reports NaN. */
    assert_int_equal(nni_exact_sum_doubles(NULL, parts, UNITS, WIDTH, UNITS, maxes, factors,
                                           fixed, out), 0);
    assert_memory_equal(first, out, sizeof out);
    parts[7] = NAN;
    assert_int_equal(nni_exact_sum_doubles(NULL, parts, UNITS, WIDTH, UNITS, maxes, factors,
                                           fixed, out), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_mlp),
        cmocka_unit_test(test_forward_cnn),
        cmocka_unit_test(test_unit_slots_mlp),
        cmocka_unit_test(test_unit_slots_cnn),
        cmocka_unit_test(test_unit_slots_dense_rows),
        cmocka_unit_test(test_exact_sum_any_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

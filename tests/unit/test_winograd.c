/* The F(2x2, 3x3) and F(2x2, 5x5) convolutions (core/winograd.h) against the direct products
 * of the same layer (model->direct_conv): output, input gradient and weight and bias
 * gradients, over paddings, odd sizes, images wider than one vector's tile row, groups, two
 * consumers of one input, a fused activation (a relu stored with the output: relu's bits), and
 * the bf16 products; and a finite-difference
 * check of a Winograd layer (the per-unit sums of train.reproducible: bitwise are checked in
 * test_unit_grads.c). Under NN_KERNELS=generic (the generic-kernels copy of this test) the
 * transforms are the scalar loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm_bf16.h"
#include "core/threads.h"
#include "gradcheck.h"
#include "layers/conv_util.h"
#include "model_fixture.h"

/* The largest |got - want| over n values, relative to the largest |want| (at least 1). */
static double relative_gap(const float *got, const float *want, int64_t n)
{
    double gap = 0, scale = 1;
    for (int64_t i = 0; i < n; i++) {
        gap = fabs((double)got[i] - want[i]) > gap ? fabs((double)got[i] - want[i]) : gap;
        scale = fabs((double)want[i]) > scale ? fabs((double)want[i]) : scale;
    }
    return gap / scale;
}

/* The gaps between a model's Winograd and direct runs, each relative to its tensor's scale:
 * output, the largest over the parameter gradients, input gradient; whether the outputs
 * differ in any bit (a layer took the Winograd path); the convolutions that run Winograd's
 * products. */
typedef struct path_gaps {
    double out, grads, dx;
    int differ, winograd;
} path_gaps;

/* Runs forward and backward of the model in yaml with Winograd (its products in bf16 when
 * bf16 is set, on the emulated path that every CPU has and that gives the native path's bits,
 * test_conv_bf16.c) and with the float direct products, from the same input, output gradient
 * and random parameters. */
static path_gaps run_paths(const char *yaml, int64_t batch, int bf16)
{
    path_gaps gaps = {0};
    nn_model *fast = fixture_model(yaml, batch, 7);
    nn_model *direct = fixture_model(yaml, batch, 7);
    assert_non_null(fast);
    assert_non_null(direct);
    direct->direct_conv = 1;
    for (int k = 0; k < fast->n_params; k++) { /* biases too (they start at zero) */
        nn_param *p = &fast->params[k];
        nn_test_fill(nn_model_param_data(fast, p), p->size, 50 + (uint64_t)k, -0.5f, 0.5f);
        memcpy(nn_model_param_data(direct, &direct->params[k]), nn_model_param_data(fast, p),
               (size_t)p->size * sizeof(float));
    }
    if (bf16) {
        setenv("NN_BF16", "emulated", 1);
        nn_error err = {0};
        if (nn_model_use_bf16(fast, 1, &err))
            fail_msg("bf16: %s", err.msg);
        unsetenv("NN_BF16");
    }
    for (int i = 0; i < fast->n_layers; i++)
        gaps.winograd += fast->layers[i]->ops && nni_conv2d_winograd(fast->layers[i]);
    const int64_t in = batch * nn_model_input_size(fast);
    const int64_t out = batch * nn_model_output_size(fast);
    nn_test_fill(nn_model_input(fast), in, 31, -1.0f, 1.0f);
    memcpy(nn_model_input(direct), nn_model_input(fast), (size_t)in * sizeof(float));
    nn_pass pass = {.batch = batch, .training = 1};
    nn_model_forward(fast, &pass);
    nn_model_forward(direct, &pass);
    gaps.out = relative_gap(fast->output->out, direct->output->out, out);
    gaps.differ = memcmp(fast->output->out, direct->output->out, (size_t)out * sizeof(float));
    nn_test_fill(fast->output->dout, out, 32, -1.0f, 1.0f);
    memcpy(direct->output->dout, fast->output->dout, (size_t)out * sizeof(float));
    nn_model_backward(fast, &pass);
    nn_model_backward(direct, &pass);
    for (int k = 0; k < fast->n_params; k++) {
        const nn_param *p = &fast->params[k];
        const double gap = relative_gap(nn_model_param_grad(fast, p),
                                        nn_model_param_grad(direct, &direct->params[k]),
                                        p->size);
        gaps.grads = gap > gaps.grads ? gap : gaps.grads;
    }
    gaps.dx = relative_gap(fast->layers[0]->dout, direct->layers[0]->dout, in);
    nn_model_free(fast);
    nn_model_free(direct);
    return gaps;
}

/* Every output and gradient within 2e-5 of its scale, and the Winograd path taken. */
static void compare_paths(const char *yaml, int64_t batch)
{
    const path_gaps gaps = run_paths(yaml, batch, 0);
    if (!(gaps.out <= 2e-5 && gaps.grads <= 2e-5 && gaps.dx <= 2e-5 && gaps.differ))
        fail_msg("%s: Winograd against direct: output %g, parameter gradients %g, input "
                 "gradient %g of their scales%s", yaml, gaps.out, gaps.grads, gaps.dx,
                 gaps.differ ? "" : "; the outputs have the same bits (no Winograd layer)");
}

static void test_winograd_geometries(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "{input: [8, 7, 9], layers: [{type: conv2d, filters: 8, kernel: 3, padding: same}]}",
        "{input: [9, 12, 12], layers: [{type: conv2d, filters: 10, kernel: 3}]}",
        "{input: [8, 6, 5], layers: [{type: conv2d, filters: 12, kernel: 3, "
        "padding: [0, 2, 1, 0]}]}",
        "{input: [8, 5, 6], layers: [{type: conv2d, filters: 8, kernel: 3, padding: 2}]}",
        /* rows up to 16 wide take two tile rows a vector (AVX-512), wider ones chunks */
        "{input: [8, 5, 41], layers: [{type: conv2d, filters: 9, kernel: 3, padding: same}]}",
        "{input: [8, 4, 32], layers: [{type: conv2d, filters: 8, kernel: 3, padding: same}]}",
        "{input: [16, 6, 6], layers: [{type: conv2d, filters: 16, kernel: 3, groups: 2, "
        "padding: same, bias: false}]}",
        "{input: [8, 28, 28], layers: [{type: conv2d, filters: 16, kernel: 3, padding: same, "
        "activation: relu}]}",
        /* F(2x2, 5x5) */
        "{input: [8, 7, 9], layers: [{type: conv2d, filters: 8, kernel: 5, padding: same}]}",
        "{input: [9, 11, 10], layers: [{type: conv2d, filters: 10, kernel: 5}]}",
        "{input: [8, 14, 14], layers: [{type: conv2d, filters: 16, kernel: 5, padding: same, "
        "activation: relu}]}",
        "{input: [8, 6, 45], layers: [{type: conv2d, filters: 8, kernel: 5, padding: same}]}",
        "{input: [8, 6, 7], layers: [{type: conv2d, filters: 8, kernel: 5, "
        "padding: [1, 3, 0, 2]}]}",
        "{input: [16, 7, 6], layers: [{type: conv2d, filters: 24, kernel: 5, groups: 2, "
        "padding: same}]}",
        /* A block of tile rows runs on from one sample into the next: a pair of rows (13 x 13:
         * 7 tile rows) or a block (256 channels: 17 rows on 3x3, 9 on 5x5, 5 on rows of 21
         * tiles) that starts in one image and ends in the next. */
        "{input: [8, 13, 13], layers: [{type: conv2d, filters: 8, kernel: 3, padding: same}]}",
        "{input: [256, 13, 13], layers: [{type: conv2d, filters: 8, kernel: 3, "
        "padding: same}]}",
        "{input: [256, 11, 11], layers: [{type: conv2d, filters: 8, kernel: 5, "
        "padding: same}]}",
        "{input: [256, 5, 41], layers: [{type: conv2d, filters: 8, kernel: 3, "
        "padding: same}]}",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        compare_paths(specs[i], 3);
}

/* A fused relu, written by the output transform as it stores each vector of the output:
 * relu's bits (x > 0 ? x : 0, so +0 for -0 and for NaN) at every output, with a NaN among
 * the inputs, rows of tiles per vector, two tile rows a vector, groups, 1 and 2 threads. */
static void test_winograd_relu(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "{input: [8, 28, 28], layers: [{type: conv2d, filters: 16, kernel: 3, padding: same, "
        "activation: relu}]}",
        "{input: [8, 14, 14], layers: [{type: conv2d, filters: 9, kernel: 5, padding: same, "
        "activation: relu}]}",
        "{input: [8, 5, 41], layers: [{type: conv2d, filters: 8, kernel: 5, activation: relu}]}",
        "{input: [16, 7, 6], layers: [{type: conv2d, filters: 16, kernel: 3, groups: 2, "
        "padding: same, activation: relu}]}",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        for (int threads = 1; threads <= 2; threads++) {
            nni_set_threads(threads);
            nn_model *model = fixture_model(specs[i], 3, 9);
            assert_non_null(model);
            assert_true(nni_conv2d_winograd(model->layers[1]));
            const int ok = fixture_fused_relu_bits(model, 3, (int64_t)i * 11 + 5, specs[i]);
            nn_model_free(model);
            assert_true(ok);
        }
    nni_set_threads(1);
}

/* Two Winograd convolutions read one input: the second adds its input gradient; on one
 * thread and on two (each transforms its run of samples together). */
static void test_winograd_accumulated_input_grad(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        nni_set_threads(threads);
        compare_paths("{input: [8, 9, 10], layers: ["
                      "{name: a, type: conv2d, filters: 8, kernel: 3, padding: same},"
                      "{name: b, type: conv2d, filters: 8, kernel: 3, padding: same, "
                      "inputs: [input]},"
                      "{type: add, inputs: [a, b]},"
                      "{type: conv2d, filters: 8, kernel: 5, padding: same}]}", 5);
    }
    nni_set_threads(1);
}

/* train.precision: bf16 runs Winograd's F(2x2, 3x3) with bf16 products, on a 28 x 28 image
 * (a row of tiles per vector) and a 14 x 14 one (two rows a vector): within bf16's rounding
 * of the float direct convolution, and not the float products' bits. A 5x5 kernel stays on
 * the direct bf16 products, and so within that rounding too: F(2x2, 5x5)'s transforms, whose
 * B^T has coefficients up to 5 and whose A^T cancels them, made gaps of 4% (output) to 10%
 * (weight gradient) of their scales in bf16, where 3x3 keeps them near 0.4%. */
static void test_winograd_bf16(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int winograd;
    } cases[] = {
        {"{input: [16, 28, 28], layers: [{type: conv2d, filters: 16, kernel: 3, "
         "padding: same}]}", 1},
        {"{input: [16, 14, 14], layers: [{type: conv2d, filters: 16, kernel: 3, "
         "padding: same}]}", 1},
        {"{input: [16, 28, 28], layers: [{type: conv2d, filters: 16, kernel: 5, "
         "padding: same}]}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const path_gaps gaps = run_paths(cases[i].yaml, 2, 1);
        if (gaps.winograd != cases[i].winograd)
            fail_msg("%s: %d Winograd layers in bf16, expected %d", cases[i].yaml,
                     gaps.winograd, cases[i].winograd);
        if (!(gaps.out > 1e-5 && gaps.out < 1e-2 && gaps.grads < 1e-2 && gaps.dx > 1e-5 &&
              gaps.dx < 1e-2))
            fail_msg("%s: bf16 against float direct: output %g, weight gradient %g, input "
                     "gradient %g of their scales", cases[i].yaml, gaps.out, gaps.grads,
                     gaps.dx);
    }
}

/* Central differences of the Winograd forward itself. F(2x2, 5x5) rounds each output to about
 * 1.5e-6 of its scale (3x3: 2e-7, the direct sum: 1e-7), which the differences of a float
 * loss over 480 outputs turn into about 0.01 of noise: its tolerances are wider, still far
 * below what a wrong transform gives (the gradients differ by their own size). */
static void test_winograd_gradcheck(void **state)
{
    (void)state;
    for (int kernel = 3; kernel <= 5; kernel += 2) {
        const double atol = kernel == 3 ? 1e-3 : 2e-2, rtol = kernel == 3 ? 1e-2 : 5e-2;
        char yaml[128];
        snprintf(yaml, sizeof yaml, "{input: [8, 5, 6], layers: [{type: conv2d, filters: 8, "
                 "kernel: %d, padding: same}]}", kernel);
        nn_model *model = fixture_model(yaml, 2, 3);
        assert_non_null(model);
        assert_true(fixture_gradcheck(model, 2, 1, atol, rtol));
        nn_model_free(model);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winograd_geometries),
        cmocka_unit_test(test_winograd_accumulated_input_grad),
        cmocka_unit_test(test_winograd_relu),
        cmocka_unit_test(test_winograd_bf16),
        cmocka_unit_test(test_winograd_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

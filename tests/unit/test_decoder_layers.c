/* The decoder layers of autoencoders: conv2d_transpose (stride, padding, output_padding,
 * dilation, non-square kernels, no bias, stacked after a convolution) and upsample (nearest
 * and bilinear, with and without align_corners): finite-difference gradient checks, the
 * transposed convolution's forward against its scatter definition, upsample's values on a
 * hand-computed case, output shapes and config errors. */
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

static const char *const transpose_geometries[] = {
    "kernel: 3",
    "kernel: 2, stride: 2",
    "kernel: 3, stride: 2, padding: 1, output_padding: 1",
    "kernel: [2, 3], stride: [1, 2], padding: [0, 1]",
    "kernel: 3, stride: 3, padding: 1, output_padding: [2, 0]",
    "kernel: 3, dilation: 2, padding: 1",
    "kernel: 3, dilation: 2, stride: 1, output_padding: 1",
    "kernel: 1, stride: 2, output_padding: 1",
    "kernel: 4, stride: 2, padding: 1, bias: false",
};

static void test_transpose_gradients(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof transpose_geometries / sizeof transpose_geometries[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "{input: [3, 4, 5], layers: [{type: conv2d_transpose, "
                 "filters: 2, %s}]}", transpose_geometries[i]);
        check_model(yaml, 2);
    }
    /* The input gradient is accumulated when the input also feeds another layer. */
    check_model("{input: [2, 5, 5], layers: ["
                "{name: c, type: conv2d, filters: 3, kernel: 3, stride: 2, activation: tanh},"
                "{name: t, type: conv2d_transpose, filters: 2, kernel: 3, stride: 2},"
                "{name: u, type: conv2d_transpose, filters: 2, kernel: 2, stride: 2,"
                " output_padding: 1, inputs: [c]},"
                "{type: add, inputs: [t, u]}, {type: dense, units: 3}]}", 2);
}

/* y[o][iy * s - p + ki * d][ix * s - p + kj * d] += x[i][iy][ix] * w[i][o][ki][kj]. */
static void test_transpose_forward_matches_scatter(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int64_t kh, kw, sh, sw, ph, pw, oph, opw, dh, dw;
    } cases[] = {
        {"kernel: 3, stride: 2, padding: 1, output_padding: 1", 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
        {"kernel: [2, 3], stride: [3, 1], padding: [1, 0], output_padding: [2, 0]", 2, 3, 3, 1,
         1, 0, 2, 0, 1, 1},
        {"kernel: 3, dilation: [2, 1], padding: 2", 3, 3, 1, 1, 2, 2, 0, 0, 2, 1},
    };
    const int64_t C = 3, H = 4, W = 5, O = 2, batch = 2;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "{input: [%lld, %lld, %lld], layers: [{name: t, type: "
                 "conv2d_transpose, filters: %lld, %s}]}", (long long)C, (long long)H,
                 (long long)W, (long long)O, cases[t].spec);
        nn_model *model = fixture_model(yaml, batch, 5);
        assert_non_null(model);
        float *w = nn_model_param_data(model, nn_model_find_param(model, "t/weight"));
        float *b = nn_model_param_data(model, nn_model_find_param(model, "t/bias"));
        nn_test_fill(b, O, 9, -1.0f, 1.0f);
        float *x = nn_model_input(model);
        nn_test_fill(x, batch * C * H * W, 8, -1.0f, 1.0f);
        nn_pass pass = {.batch = batch, .training = 1};
        nn_model_forward(model, &pass);
        const int64_t oh = (H - 1) * cases[t].sh - 2 * cases[t].ph +
                           cases[t].dh * (cases[t].kh - 1) + cases[t].oph + 1;
        const int64_t ow = (W - 1) * cases[t].sw - 2 * cases[t].pw +
                           cases[t].dw * (cases[t].kw - 1) + cases[t].opw + 1;
        const nn_shape out = model->output->out_shape;
        assert_int_equal(out.dim[0], O);
        assert_int_equal(out.dim[1], oh);
        assert_int_equal(out.dim[2], ow);
        double *expect = calloc((size_t)(batch * O * oh * ow), sizeof *expect);
        for (int64_t n = 0; n < batch; n++) {
            double *y = expect + n * O * oh * ow;
            for (int64_t o = 0; o < O; o++)
                for (int64_t p = 0; p < oh * ow; p++)
                    y[o * oh * ow + p] = b[o];
            for (int64_t i = 0; i < C; i++)
                for (int64_t iy = 0; iy < H; iy++)
                    for (int64_t ix = 0; ix < W; ix++)
                        for (int64_t o = 0; o < O; o++)
                            for (int64_t ki = 0; ki < cases[t].kh; ki++)
                                for (int64_t kj = 0; kj < cases[t].kw; kj++) {
                                    int64_t yy = iy * cases[t].sh - cases[t].ph + ki * cases[t].dh;
                                    int64_t yx = ix * cases[t].sw - cases[t].pw + kj * cases[t].dw;
                                    if (yy < 0 || yy >= oh || yx < 0 || yx >= ow)
                                        continue;
                                    y[(o * oh + yy) * ow + yx] +=
                                        (double)x[((n * C + i) * H + iy) * W + ix] *
                                        w[((i * O + o) * cases[t].kh + ki) * cases[t].kw + kj];
                                }
        }
        for (int64_t k = 0; k < batch * O * oh * ow; k++)
            if (fabs(expect[k] - model->output->out[k]) > 1e-5 * (1 + fabs(expect[k])))
                fail_msg("case %zu element %lld: %g, expected %g", t, (long long)k,
                         model->output->out[k], expect[k]);
        free(expect);
        nn_model_free(model);
    }
}

static void test_upsample_gradients(void **state)
{
    (void)state;
    check_model("{input: [2, 3, 4], layers: [{type: upsample}]}", 2);
    check_model("{input: [2, 3, 4], layers: [{type: upsample, scale: [3, 2]}]}", 2);
    check_model("{input: [2, 3, 4], layers: [{type: upsample, mode: bilinear}]}", 2);
    check_model("{input: [2, 3, 4], layers: [{type: upsample, scale: [2, 3], mode: bilinear,"
                " align_corners: true}]}", 2);
    check_model("{input: [1, 1, 3], layers: [{type: upsample, scale: 4, mode: bilinear}]}", 3);
    check_model("{input: [2, 3, 3], layers: [{type: conv2d, filters: 2, kernel: 1},"
                " {type: upsample, mode: bilinear}, {type: conv2d, filters: 1, kernel: 3}]}",
                2);
}

static void test_upsample_values(void **state)
{
    (void)state;
    /* One row [1, 2, 4] doubled. Nearest repeats; bilinear (half-pixel centres) reads
     * source positions max(o/2 - 1/4, 0) = 0, 1/4, 3/4, 5/4, 7/4, 9/4 -> clamped to the
     * last pixel; align_corners spreads 6 outputs over [0, 2] in steps of 2/5. */
    static const struct {
        const char *spec;
        float expect[6];
    } cases[] = {
        {"mode: nearest", {1, 1, 2, 2, 4, 4}},
        {"mode: bilinear", {1, 1.25f, 1.75f, 2.5f, 3.5f, 4}},
        {"mode: bilinear, align_corners: true", {1, 1.4f, 1.8f, 2.4f, 3.2f, 4}},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 "{input: [1, 1, 3], layers: [{type: upsample, scale: [1, 2], %s}]}",
                 cases[t].spec);
        nn_model *model = fixture_model(yaml, 1, 1);
        assert_non_null(model);
        float *x = nn_model_input(model);
        x[0] = 1, x[1] = 2, x[2] = 4;
        nn_pass pass = {.batch = 1, .training = 0};
        nn_model_forward(model, &pass);
        for (int i = 0; i < 6; i++)
            if (fabsf(model->output->out[i] - cases[t].expect[i]) > 1e-6f)
                fail_msg("%s: element %d is %g, expected %g", cases[t].spec, i,
                         model->output->out[i], cases[t].expect[i]);
        nn_model_free(model);
    }
}

static void test_shapes_and_errors(void **state)
{
    (void)state;
    nn_model *m = fixture_model("{input: [8, 7, 7], layers: [{type: conv2d_transpose, "
                                "filters: 4, kernel: 3, stride: 2, padding: 1, "
                                "output_padding: 1}, {type: upsample, scale: [2, 1]}]}", 1, 1);
    assert_int_equal(m->output->out_shape.dim[0], 4);
    assert_int_equal(m->output->out_shape.dim[1], 28);
    assert_int_equal(m->output->out_shape.dim[2], 14);
    /* weight[in][out][kh][kw], as torch */
    nn_param *w = nn_model_find_param(m, "conv2d_transpose1/weight");
    assert_non_null(w);
    assert_int_equal(w->dims[0], 8);
    assert_int_equal(w->dims[1], 4);
    nn_model_free(m);

    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{input: [1, 4, 4], layers: [{type: conv2d_transpose, filters: 2, kernel: 3, "
         "stride: 2, output_padding: 2}]}", "output_padding (2) must be smaller than the stride"},
        {"{input: [1, 2, 2], layers: [{type: conv2d_transpose, filters: 2, kernel: 1, "
         "padding: 1}]}", "leaves an empty output"},
        {"{input: [8], layers: [{name: t, type: conv2d_transpose, filters: 2, kernel: 2}]}",
         "conv2d_transpose layer 't' needs a (channels, height, width) input"},
        {"{input: [1, 4, 4], layers: [{type: conv2d_transpose, kernel: 2}]}",
         "needs 'filters' >= 1"},
        {"{input: [1, 4, 4], layers: [{type: conv2d_transpose, filters: 2, kernel: 2, "
         "padding: -1}]}", "'padding' must be >= 0"},
        {"{input: [1, 4, 4], layers: [{type: conv2d_transpose, filters: 2, kernel: 2, "
         "groups: 2}]}", "unknown key 'groups'"},
        {"{input: [1, 4, 4], layers: [{type: upsample, mode: bicubic}]}", "bicubic"},
        {"{input: [1, 4, 4], layers: [{type: upsample, scale: 0}]}", "'scale' must be >= 1"},
        {"{input: [1, 4, 4], layers: [{name: u, type: upsample, align_corners: true}]}",
         "upsample layer 'u': align_corners applies to mode bilinear only"},
        {"{input: [4], layers: [{name: u, type: upsample}]}",
         "upsample layer 'u' needs a (channels, height, width) input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fixture_config_error(cases[i].yaml, cases[i].expect))
            fail_msg("config error case %zu", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_gradients),
        cmocka_unit_test(test_transpose_forward_matches_scatter),
        cmocka_unit_test(test_upsample_gradients),
        cmocka_unit_test(test_upsample_values),
        cmocka_unit_test(test_shapes_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

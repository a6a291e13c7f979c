/* conv2d: finite-difference gradient checks over the geometry space (stride, padding
 * same/valid/explicit with odd and even kernels, dilation, groups, non-square kernels, odd
 * sizes, the 1x1 GEMM path), the forward against a direct six-loop convolution, output
 * shapes, FLOPs, and config errors that name the layers and shapes involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/im2col.h"
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

static const char *const geometries[] = {
    "kernel: 3",
    "kernel: 3, padding: same",
    "kernel: 2, padding: same",                       /* even kernel: odd pixel bottom/right */
    "kernel: 4, padding: same",
    "kernel: [2, 3], padding: same",                  /* non-square */
    "kernel: [3, 1], stride: [1, 2]",
    "kernel: 3, padding: [1, 2]",                     /* explicit (h, w) */
    "kernel: 3, padding: [0, 2, 1, 0]",               /* explicit top, bottom, left, right */
    "kernel: 3, padding: [0, 0, 1, 1]",               /* rows as wide as the input: flat */
    "kernel: [4, 3], padding: [3, 0, 1, 1]",
    "kernel: 3, padding: valid, stride: 2",
    "kernel: 3, padding: 1, stride: 2",
    "kernel: 3, padding: same, stride: 2",            /* TensorFlow-style asymmetric */
    "kernel: 2, stride: [2, 3], padding: same",
    "kernel: 3, dilation: 2",
    "kernel: 3, dilation: [2, 1], padding: same",
    "kernel: 1",                                      /* direct GEMM */
    "kernel: 1, stride: 2",                           /* 1x1 that needs im2col */
    "kernel: 1, padding: 1",
    "kernel: 5, padding: 2",
    "kernel: 3, padding: same, bias: false",
};

static void test_conv_geometries(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof geometries / sizeof geometries[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "{input: [3, 7, 6], layers: [{type: conv2d, filters: 4, %s}]}", geometries[i]);
        check_model(yaml, 2);
    }
}

static void test_conv_groups(void **state)
{
    (void)state;
    check_model("{input: [4, 5, 5], layers: [{type: conv2d, filters: 6, kernel: 3, groups: 2,"
                " padding: same}]}", 2);
    check_model("{input: [4, 5, 6], layers: [{type: conv2d, filters: 4, kernel: 1, groups: 2}]}",
                2);
    /* depthwise, strided, odd size */
    check_model("{input: [3, 7, 5], layers: [{type: conv2d, filters: 6, kernel: 3, groups: 3,"
                " stride: 2, padding: 1}]}", 3);
}

static void test_conv_stacks(void **state)
{
    (void)state;
    /* A residual block in small: the input feeds two convolutions, so its gradient is
     * accumulated (input_accumulate) by a direct-GEMM conv and an im2col conv. */
    check_model("{input: [2, 6, 5], layers: ["
                "{name: a, type: conv2d, filters: 3, kernel: 3, padding: same, activation: tanh},"
                "{name: b, type: conv2d, filters: 3, kernel: 3, padding: same},"
                "{name: p, type: conv2d, filters: 3, kernel: 1, inputs: [input]},"
                "{name: q, type: conv2d, filters: 3, kernel: 2, padding: same, inputs: [input]},"
                "{type: add, inputs: [b, p, q]},"
                "{type: dense, units: 3}]}", 2);
}

/* An activation fused into the convolution (its only consumer) computes what the separate
 * pass did, bit for bit: the fused model's output is relu of the plain convolution's, and its
 * gradients are the plain convolution's for the output gradient relu lets through. Flat (3x3
 * same), strided and 1x1 geometries, on 3 channels (sums of shifted planes, which store the
 * relu with the outputs, but for the strided one) and 8 (the products, and a pass). */
static void test_conv_fused_relu_same_bits(void **state)
{
    (void)state;
    static const char *const specs[] = {"kernel: 3, padding: same", "kernel: 3, stride: 2",
                                        "kernel: 1"};
    const int64_t batch = 3;
    for (size_t t = 0; t < 2 * sizeof specs / sizeof *specs; t++) {
        const int channels = t % 2 ? 8 : 3;
        char fused_yaml[256], plain_yaml[256];
        snprintf(fused_yaml, sizeof fused_yaml, "{input: [%d, 6, 7], layers: [{name: c, type: "
                 "conv2d, filters: 4, %s, activation: relu}]}", channels, specs[t / 2]);
        snprintf(plain_yaml, sizeof plain_yaml, "{input: [%d, 6, 7], layers: [{name: c, type: "
                 "conv2d, filters: 4, %s}]}", channels, specs[t / 2]);
        nn_model *fused = fixture_model(fused_yaml, batch, 4);
        nn_model *plain = fixture_model(plain_yaml, batch, 4);
        assert_non_null(fused);
        assert_non_null(plain);
        assert_int_equal(fused->output->fused, 1);
        const int64_t in = batch * nn_model_input_size(plain);
        const int64_t out = batch * nn_model_output_size(plain);
        nn_test_fill(nn_model_input(plain), in, 21, -1.0f, 1.0f);
        memcpy(nn_model_input(fused), nn_model_input(plain), (size_t)in * sizeof(float));
        nn_pass pass = {.batch = batch, .training = 1};
        nn_model_forward(fused, &pass);
        nn_model_forward(plain, &pass);
        nn_test_fill(fused->output->dout, out, 22, -1.0f, 1.0f);
        for (int64_t i = 0; i < out; i++) {
            const float y = plain->output->out[i];
            assert_true(fused->output->out[i] == (y > 0.0f ? y : 0.0f));
            plain->output->dout[i] = y > 0.0f ? fused->output->dout[i] : 0.0f;
        }
        nn_model_backward(fused, &pass);
        nn_model_backward(plain, &pass);
        for (int k = 0; k < plain->n_params; k++) {
            const nn_param *p = &plain->params[k];
            const float *want = nn_model_param_grad(plain, p);
            const float *got = nn_model_param_grad(fused, &fused->params[k]);
            for (int64_t i = 0; i < p->size; i++)
                if (!(got[i] == want[i]))
                    fail_msg("%s: %s gradient [%lld] %g, unfused %g", fused_yaml, p->name,
                             (long long)i, got[i], want[i]);
        }
        for (int64_t i = 0; i < in; i++)
            assert_true(fused->layers[0]->dout[i] == plain->layers[0]->dout[i]);
        nn_model_free(fused);
        nn_model_free(plain);
    }
}

/* ---- forward against the definition ------------------------------------------------ */

typedef struct direct_case {
    const char *spec;
    int64_t in_c, in_h, in_w, out_c, kh, kw, sh, sw, dh, dw, groups, pt, pl;
} direct_case;

static void test_conv_forward_matches_direct(void **state)
{
    (void)state;
    static const direct_case cases[] = {
        {"filters: 5, kernel: 3", 2, 6, 7, 5, 3, 3, 1, 1, 1, 1, 1, 0, 0},
        {"filters: 4, kernel: [2, 3], padding: same", 2, 5, 6, 4, 2, 3, 1, 1, 1, 1, 1, 0, 1},
        {"filters: 4, kernel: 3, stride: 2, padding: same", 2, 6, 7, 4, 3, 3, 2, 2, 1, 1, 1,
         0, 1},
        {"filters: 6, kernel: 3, dilation: 2, padding: 2, groups: 2", 4, 6, 6, 6, 3, 3, 1, 1, 2,
         2, 2, 2, 2},
        {"filters: 3, kernel: 1", 4, 3, 5, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0},
        {"filters: 2, kernel: 4, padding: [0, 2, 1, 0], stride: [1, 3]", 3, 5, 8, 2, 4, 4, 1, 3,
         1, 1, 1, 0, 1},
        {"filters: 3, kernel: [4, 3], padding: [3, 0, 1, 1]", 2, 5, 7, 3, 4, 3, 1, 1, 1, 1, 1, 3,
         1},
        {"filters: 3, kernel: 5, padding: same", 3, 4, 3, 3, 5, 5, 1, 1, 1, 1, 1, 2, 2},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const direct_case *c = &cases[t];
        char yaml[512];
        snprintf(yaml, sizeof yaml, "{input: [%lld, %lld, %lld], layers: [{type: conv2d, %s}]}",
                 (long long)c->in_c, (long long)c->in_h, (long long)c->in_w, c->spec);
        const int64_t batch = 2;
        nn_model *model = fixture_model(yaml, batch, 5);
        assert_non_null(model);
        nn_param *w = nn_model_find_param(model, "conv2d1/weight");
        nn_param *b = nn_model_find_param(model, "conv2d1/bias");
        assert_non_null(w);
        assert_non_null(b);
        float *wd = nn_model_param_data(model, w), *bd = nn_model_param_data(model, b);
        nn_test_fill(bd, b->size, 9, -1.0f, 1.0f);
        float *x = nn_model_input(model);
        nn_test_fill(x, batch * nn_model_input_size(model), 8, -1.0f, 1.0f);
        nn_pass pass = {.batch = batch, .training = 1};
        nn_model_forward(model, &pass);
        const nn_shape out = model->output->out_shape;
        const int64_t oh = out.dim[1], ow = out.dim[2], cin_g = c->in_c / c->groups;
        const int64_t cout_g = c->out_c / c->groups;
        double worst = 0;
        for (int64_t n = 0; n < batch; n++)
            for (int64_t o = 0; o < c->out_c; o++)
                for (int64_t oy = 0; oy < oh; oy++)
                    for (int64_t ox = 0; ox < ow; ox++) {
                        double sum = bd[o];
                        int64_t g = o / cout_g;
                        for (int64_t ci = 0; ci < cin_g; ci++)
                            for (int64_t ki = 0; ki < c->kh; ki++)
                                for (int64_t kj = 0; kj < c->kw; kj++) {
                                    int64_t iy = oy * c->sh - c->pt + ki * c->dh;
                                    int64_t ix = ox * c->sw - c->pl + kj * c->dw;
                                    if (iy < 0 || iy >= c->in_h || ix < 0 || ix >= c->in_w)
                                        continue;
                                    sum += (double)wd[((o * cin_g + ci) * c->kh + ki) * c->kw +
                                                      kj] *
                                           x[((n * c->in_c + g * cin_g + ci) * c->in_h + iy) *
                                                 c->in_w + ix];
                                }
                        float got = model->output->out[((n * c->out_c + o) * oh + oy) * ow + ox];
                        worst = fmax(worst, fabs(got - sum));
                    }
        if (worst > 1e-5)
            fail_msg("case %zu (%s): forward differs from the direct sum by %g", t, c->spec,
                     worst);
        nn_model_free(model);
    }
}

/* ---- shapes, FLOPs, errors ---------------------------------------------------------- */

static void test_conv_shapes_and_flops(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int64_t c, h, w;
    } cases[] = {
        {"filters: 8, kernel: 3", 8, 5, 4},
        {"filters: 8, kernel: 3, padding: same", 8, 7, 6},
        {"filters: 8, kernel: 4, padding: same", 8, 7, 6},
        {"filters: 8, kernel: 3, padding: same, stride: 2", 8, 4, 3},
        {"filters: 8, kernel: 3, stride: 2", 8, 3, 2},
        {"filters: 8, kernel: 3, dilation: 2", 8, 3, 2},
        {"filters: 8, kernel: [1, 3], padding: [0, 0, 2, 1]", 8, 7, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "{input: [2, 7, 6], layers: [{type: conv2d, %s}]}",
                 cases[i].spec);
        nn_model *model = fixture_model(yaml, 1, 1);
        assert_non_null(model);
        nn_shape s = model->output->out_shape;
        if (s.ndim != 3 || s.dim[0] != cases[i].c || s.dim[1] != cases[i].h ||
            s.dim[2] != cases[i].w)
            fail_msg("%s: shape (%lld, %lld, %lld)", cases[i].spec, (long long)s.dim[0],
                     (long long)s.dim[1], (long long)s.dim[2]);
        nn_model_free(model);
    }
    nn_model *model = fixture_model("{input: [3, 8, 8], layers: [{type: conv2d, filters: 4,"
                                    " kernel: 3, padding: same}]}", 1, 1);
    assert_non_null(model);
    /* 2 * out_c * pixels * (in_c * 9) + bias adds */
    assert_int_equal(nn_model_flops_per_sample(model), 2 * 4 * 64 * 27 + 4 * 64);
    assert_int_equal(nn_model_count_params(model), 4 * 3 * 9 + 4);
    nn_model_free(model);
}

static void test_conv_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{input: [784], layers: [{name: c, type: conv2d, filters: 2, kernel: 3}]}",
         "conv2d layer 'c' needs a (channels, height, width) input, but its input 'input' has "
         "shape (784)"},
        {"{input: [1, 8, 8], layers: [{name: d, type: dense, units: 4},"
         " {name: c, type: conv2d, filters: 2, kernel: 3}]}", "input 'd' has shape (4)"},
        {"{input: [1, 8, 8], layers: [{type: conv2d, kernel: 3}]}", "needs 'filters'"},
        {"{input: [1, 8, 8], layers: [{type: conv2d, filters: 2}]}", "needs 'kernel'"},
        {"{input: [1, 8, 8], layers: [{type: conv2d, filters: 2, kernel: 0}]}", "'kernel' must"},
        {"{input: [1, 8, 8], layers: [{type: conv2d, filters: 2, kernel: [1, 2, 3]}]}",
         "at most 2"},
        {"{input: [1, 4, 4], layers: [{name: c, type: conv2d, filters: 2, kernel: 5}]}",
         "does not fit its input 'input' of shape (1, 4, 4)"},
        {"{input: [1, 8, 8], layers: [{type: conv2d, filters: 2, kernel: 3, padding: sme}]}",
         "padding is same, valid"},
        {"{input: [1, 8, 8], layers: [{type: conv2d, filters: 2, kernel: 3, padding: -1}]}",
         "padding must be >= 0"},
        {"{input: [3, 8, 8], layers: [{type: conv2d, filters: 4, kernel: 3, groups: 2}]}",
         "groups (2) must divide"},
        {"{input: [1, 8, 8], layers: [{type: conv2d, filters: 2, kernel: 3, strides: 2}]}",
         "did you mean 'stride'"},
        {"{input: [1, 8, 8], layers: [{name: a, type: conv2d, filters: 2, kernel: 3},"
         " {name: b, type: conv2d, filters: 2, kernel: 3, padding: same, inputs: [input]},"
         " {type: add, inputs: [a, b]}]}", "input 'a' has shape (2, 6, 6) but 'b' has (2, 8, 8)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fixture_config_error(cases[i].yaml, cases[i].expect))
            fail_msg("config error case %zu", i);
}

/* Dense after conv flattens the (C, H, W) output; the gradient flows back through it. */
static void test_dense_after_conv(void **state)
{
    (void)state;
    check_model("{input: [1, 6, 6], layers: [{type: conv2d, filters: 2, kernel: 3, stride: 2,"
                " activation: relu}, {type: dense, units: 3}]}", 2);
}

/* The blocked transpose behind the channels-last lowering: whole tiles and both edges. */
static void test_transpose(void **state)
{
    (void)state;
    static const int64_t sizes[][2] = {{1, 784}, {16, 16}, {37, 50}, {64, 196}, {3, 17}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        const int64_t rows = sizes[t][0], cols = sizes[t][1], lds = cols + 3, ldd = rows + 5;
        float *src = malloc((size_t)(rows * lds) * sizeof *src);
        float *dst = malloc((size_t)(cols * ldd) * sizeof *dst);
        for (int64_t i = 0; i < rows * lds; i++)
            src[i] = (float)i;
        nni_transpose(src, rows, cols, lds, dst, ldd);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                if (dst[c * ldd + r] != src[r * lds + c])
                    fail_msg("%lldx%lld: element (%lld, %lld)", (long long)rows, (long long)cols,
                             (long long)r, (long long)c);
        free(src);
        free(dst);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_geometries),
        cmocka_unit_test(test_conv_groups),
        cmocka_unit_test(test_conv_stacks),
        cmocka_unit_test(test_conv_fused_relu_same_bits),
        cmocka_unit_test(test_conv_forward_matches_direct),
        cmocka_unit_test(test_conv_shapes_and_flops),
        cmocka_unit_test(test_conv_config_errors),
        cmocka_unit_test(test_dense_after_conv),
        cmocka_unit_test(test_transpose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Convolutions of 1 to 4 channels as sums of shifted planes (core/conv_shifted.h), through the
 * conv2d layer: the output equals im2col followed by nni_gemm_nn from the bias bit for bit;
 * the weight and bias gradients (lane sums) and the input gradient (still the products over
 * im2col) agree with float64 sums within float accumulation error; in a bf16 model the layer
 * keeps these float products, bit for bit; a fused relu, stored with the output, has relu's
 * bits; and central differences check a layer with a fused activation. Shapes: 1x1 to 5x5 and uneven kernels (one column: the plane as one
 * row), padding same, valid and explicit, rows narrower than a vector, of exactly one and
 * ending in a part vector (5, 14, 16, 17, 28 and 33 pixels), outputs in blocks of 6 and a
 * part block (1, 7, 13, 64), at 1 and 2 threads.
 * Under NN_KERNELS=generic (the generic-kernels copy of this test) the vectors are 4 lanes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv_shifted.h"
#include "core/gemm.h"
#include "core/im2col.h"
#include "core/threads.h"
#include "gradcheck.h"
#include "model_fixture.h"

typedef struct shifted_case {
    const char *spec;
    int64_t in_c, in_h, in_w, out_c, kh, kw, pad_top, pad_left;
} shifted_case;

static const shifted_case cases[] = {
    {"filters: 64, kernel: 3, padding: same", 1, 28, 28, 64, 3, 3, 1, 1},
    {"filters: 7, kernel: 3, padding: same", 3, 9, 17, 7, 3, 3, 1, 1},
    {"filters: 13, kernel: 5, padding: same", 1, 6, 33, 13, 5, 5, 2, 2},
    {"filters: 1, kernel: 5", 2, 9, 14, 1, 5, 5, 0, 0},
    {"filters: 64, kernel: 1", 1, 14, 14, 64, 1, 1, 0, 0},
    {"filters: 5, kernel: [3, 1], padding: same", 2, 9, 13, 5, 3, 1, 1, 0},
    {"filters: 5, kernel: [2, 3], padding: same", 4, 7, 16, 5, 2, 3, 0, 1},
    {"filters: 6, kernel: 3, padding: [2, 0]", 2, 5, 5, 6, 3, 3, 2, 0},
    {"filters: 8, kernel: 3, padding: [1, 2, 0, 3]", 3, 11, 28, 8, 3, 3, 1, 0},
};

enum { BATCH = 3 };

/* The layer's output from im2col and nni_gemm_nn, started from the bias: the products the
 * shifted planes replace. */
static void check_forward(const shifted_case *c, nn_model *model, const char *what)
{
    const nn_shape out = model->output->out_shape;
    const nni_conv_geom g = {.channels = c->in_c, .in_h = c->in_h, .in_w = c->in_w,
                             .out_h = out.dim[1], .out_w = out.dim[2], .kernel_h = c->kh,
                             .kernel_w = c->kw, .stride_h = 1, .stride_w = 1,
                             .dilation_h = 1, .dilation_w = 1, .pad_top = c->pad_top,
                             .pad_left = c->pad_left};
    assert_true(nni_conv_shifted_fits(&g));
    const int64_t K = nni_conv_geom_col_rows(&g), P = g.out_h * g.out_w;
    const float *w = nn_model_param_data(model, nn_model_find_param(model, "conv2d1/weight"));
    const float *b = nn_model_param_data(model, nn_model_find_param(model, "conv2d1/bias"));
    float *col = malloc((size_t)(K * P) * sizeof *col);
    float *y = malloc((size_t)(c->out_c * P) * sizeof *y);
    for (int64_t n = 0; n < BATCH; n++) {
        nni_im2col(&g, nn_model_input(model) + n * c->in_c * c->in_h * c->in_w, col);
        for (int64_t o = 0; o < c->out_c; o++)
            for (int64_t p = 0; p < P; p++)
                y[o * P + p] = b[o];
        nni_gemm_nn(c->out_c, P, K, w, K, 1, col, P, y, P, 1);
        const float *got = model->output->out + n * c->out_c * P;
        for (int64_t i = 0; i < c->out_c * P; i++)
            if (memcmp(&got[i], &y[i], sizeof *y))
                fail_msg("%s (%s): output %lld of sample %lld is %a, im2col + nni_gemm_nn %a",
                         c->spec, what, (long long)i, (long long)n, (double)got[i],
                         (double)y[i]);
    }
    free(col);
    free(y);
}

/* |got - exact| within n terms' float rounding of the sum of magnitudes. */
static void check_sum(const char *spec, const char *what, int64_t index, float got,
                      double exact, double magnitude, int64_t terms)
{
    const double bound = (double)terms * 0x1p-24 * magnitude * 1.0001 + 1e-30;
    if (fabs(got - exact) > bound)
        fail_msg("%s: %s[%lld] %.9g, float64 %.9g, bound %.3g", spec, what, (long long)index,
                 (double)got, exact, bound);
}

/* Weight, bias and input gradients against float64 sums over the batch. */
static void check_grads(const shifted_case *c, nn_model *model)
{
    const nn_shape out = model->output->out_shape;
    const int64_t oh = out.dim[1], ow = out.dim[2], P = oh * ow, kk = c->kh * c->kw;
    const int64_t in_size = c->in_c * c->in_h * c->in_w, out_size = c->out_c * P;
    const float *x = nn_model_input(model), *dy = model->output->dout;
    nn_param *wp = nn_model_find_param(model, "conv2d1/weight");
    nn_param *bp = nn_model_find_param(model, "conv2d1/bias");
    const float *w = nn_model_param_data(model, wp);
    const float *dw = nn_model_param_grad(model, wp), *db = nn_model_param_grad(model, bp);
    double *dx = calloc((size_t)(BATCH * in_size), sizeof *dx);
    double *dx_mag = calloc((size_t)(BATCH * in_size), sizeof *dx_mag);
    for (int64_t o = 0; o < c->out_c; o++) {
        double bias = 0, bias_mag = 0;
        for (int64_t n = 0; n < BATCH; n++)
            for (int64_t p = 0; p < P; p++) {
                bias += dy[n * out_size + o * P + p];
                bias_mag += fabs(dy[n * out_size + o * P + p]);
            }
        check_sum(c->spec, "db", o, db[o], bias, bias_mag, BATCH * P);
        for (int64_t ci = 0; ci < c->in_c; ci++)
            for (int64_t t = 0; t < kk; t++) {
                double sum = 0, mag = 0;
                for (int64_t n = 0; n < BATCH; n++)
                    for (int64_t oy = 0; oy < oh; oy++)
                        for (int64_t ox = 0; ox < ow; ox++) {
                            const int64_t iy = oy + t / c->kw - c->pad_top;
                            const int64_t ix = ox + t % c->kw - c->pad_left;
                            if (iy < 0 || iy >= c->in_h || ix < 0 || ix >= c->in_w)
                                continue;
                            const int64_t xi = n * in_size + (ci * c->in_h + iy) * c->in_w + ix;
                            const double g = dy[n * out_size + o * P + oy * ow + ox];
                            sum += g * x[xi];
                            mag += fabs(g * x[xi]);
                            dx[xi] += g * w[(o * c->in_c + ci) * kk + t];
                            dx_mag[xi] += fabs(g * w[(o * c->in_c + ci) * kk + t]);
                        }
                const int64_t i = (o * c->in_c + ci) * kk + t;
                check_sum(c->spec, "dw", i, dw[i], sum, mag, BATCH * P);
            }
    }
    const float *got_dx = model->layers[0]->dout;
    for (int64_t i = 0; got_dx && i < BATCH * in_size; i++)
        check_sum(c->spec, "dx", i, got_dx[i], dx[i], dx_mag[i], c->out_c * kk);
    free(dx);
    free(dx_mag);
}

/* Builds the case's model with random weights and biases, input and output gradient. */
static nn_model *case_model(const shifted_case *c)
{
    char yaml[256];
    snprintf(yaml, sizeof yaml, "{input: [%lld, %lld, %lld], layers: [{type: conv2d, %s}]}",
             (long long)c->in_c, (long long)c->in_h, (long long)c->in_w, c->spec);
    nn_model *model = fixture_model(yaml, BATCH, 5);
    assert_non_null(model);
    for (int k = 0; k < model->n_params; k++) {
        nn_param *p = &model->params[k];
        nn_test_fill(nn_model_param_data(model, p), p->size, 40 + (uint64_t)k, -0.5f, 0.5f);
    }
    nn_test_fill(nn_model_input(model), BATCH * nn_model_input_size(model), 41, -1.0f, 1.0f);
    return model;
}

static void run_case(const shifted_case *c, int threads)
{
    nni_set_threads(threads);
    nn_model *model = case_model(c);
    nn_pass pass = {.batch = BATCH, .training = 1};
    nn_model_forward(model, &pass);
    check_forward(c, model, "float");
    nn_test_fill(model->output->dout, BATCH * nn_model_output_size(model), 42, -1.0f, 1.0f);
    nn_model_backward(model, &pass);
    check_grads(c, model);
    nn_model_free(model);
    nni_set_threads(1);
}

static void test_shifted_geometries(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++)
        for (int threads = 1; threads <= 2; threads++)
            run_case(&cases[t], threads);
}

/* A bf16 model keeps the float products for these layers: the same output bits. */
static void test_shifted_in_bf16_model(void **state)
{
    (void)state;
    const shifted_case *c = &cases[1];
    nn_model *model = case_model(c);
    setenv("NN_BF16", "emulated", 1);
    nn_error err = {0};
    if (nn_model_use_bf16(model, 1, &err))
        fail_msg("bf16: %s", err.msg);
    unsetenv("NN_BF16");
    nn_pass pass = {.batch = BATCH, .training = 1};
    nn_model_forward(model, &pass);
    check_forward(c, model, "bf16 model");
    nn_model_free(model);
}

/* A fused relu, written as each vector of the output is stored: relu's bits (x > 0 ? x : 0,
 * so +0 for -0 and for NaN) at every output of every geometry, with a NaN among the inputs. */
static void test_shifted_relu(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        shifted_case c = cases[t];
        char spec[128];
        snprintf(spec, sizeof spec, "%s, activation: relu", cases[t].spec);
        c.spec = spec;
        nni_set_threads(1 + (int)(t % 2));
        nn_model *model = case_model(&c);
        const int ok = fixture_fused_relu_bits(model, BATCH,
                                               (int64_t)t * 7 % nn_model_input_size(model), spec);
        nn_model_free(model);
        assert_true(ok);
    }
    nni_set_threads(1);
}

/* Central differences through the layer with a fused activation (tanh: smooth, where relu's
 * kinks would meet the differences' steps), 1 and 3 channels. */
static void test_shifted_gradcheck(void **state)
{
    (void)state;
    static const char *const models[] = {
        "{input: [1, 6, 19], layers: [{type: conv2d, filters: 7, kernel: 3, padding: same,"
        " activation: tanh}]}",
        "{input: [3, 5, 6], layers: [{type: conv2d, filters: 4, kernel: [3, 2]}]}",
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        nn_model *model = fixture_model(models[i], 2, 3);
        assert_non_null(model);
        assert_true(fixture_gradcheck(model, 2, 1, 1e-3, 1e-2));
        nn_model_free(model);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shifted_geometries),
        cmocka_unit_test(test_shifted_in_bf16_model),
        cmocka_unit_test(test_shifted_relu),
        cmocka_unit_test(test_shifted_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

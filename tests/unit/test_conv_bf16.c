/* conv2d with train.precision: bf16. The forward, which lowers x straight into bf16 pairs,
 * equals im2col followed by nni_gemm_bf16 bit for bit; the input gradient of a flat
 * convolution (stride 1, padding same: the turned weights times dy lowered likewise) matches
 * the float64 sum of the bf16-rounded weights and dy within float accumulation error, a bound
 * the float products miss; the emulated path (NN_BF16=emulated) gives the native path's bits
 * for the output and every gradient, and AMX's path (where the CPU has it) passes the first
 * two checks; on every path the weight gradient matches the float64 sum of bf16(x) bf16(dy)
 * within float accumulation error. Shapes include a product longer than one K block (more
 * than 256 rows) and wider than one N block (more than 256 pixels), even and odd kernels,
 * groups, dilation, and a strided (not flat) layer. Stride-1 layers reading 4 or fewer
 * channels have float products in bf16 models too (tests/unit/test_conv_shifted.c): the
 * cases here read more, or have groups or a stride. */
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
#include "core/gemm_bf16_amx.h"
#include "core/im2col.h"
#include "gradcheck.h"
#include "model_fixture.h"

typedef struct bf16_case {
    const char *spec;
    int64_t in_c, in_h, in_w, out_c, kh, kw, stride, dilation, groups, pad_top, pad_left;
    int flat;
} bf16_case;

static const bf16_case cases[] = {
    {"filters: 5, kernel: 3, padding: same", 6, 9, 10, 5, 3, 3, 1, 1, 1, 1, 1, 1},
    {"filters: 4, kernel: [2, 3], padding: same", 5, 7, 6, 4, 2, 3, 1, 1, 1, 0, 1, 1},
    {"filters: 6, kernel: 3, padding: same, dilation: 2, groups: 2", 4, 8, 8, 6, 3, 3, 1, 2, 2,
     2, 2, 1},
    {"filters: 30, kernel: 3, padding: same", 31, 17, 17, 30, 3, 3, 1, 1, 1, 1, 1, 1},
    {"filters: 3, kernel: 5, padding: same", 5, 6, 6, 3, 5, 5, 1, 1, 1, 2, 2, 1},
    {"filters: 4, kernel: 3, stride: 2", 3, 9, 9, 4, 3, 3, 2, 1, 1, 0, 0, 0},
};

enum { BATCH = 2 };

static float rounded(float x)
{
    return nni_bf16_to_float(nni_bf16_from_float(x));
}

static void select_path(nn_model *model, const char *path)
{
    setenv("NN_BF16", path, 1);
    nn_error err = {0};
    if (nn_model_use_bf16(model, 1, &err))
        fail_msg("bf16 (%s): %s", path, err.msg);
}

static nni_conv_geom geometry(const bf16_case *c, const nn_shape *out)
{
    nni_conv_geom g = {.channels = c->in_c / c->groups, .in_h = c->in_h, .in_w = c->in_w,
                       .out_h = out->dim[1], .out_w = out->dim[2], .kernel_h = c->kh,
                       .kernel_w = c->kw, .stride_h = c->stride, .stride_w = c->stride,
                       .dilation_h = c->dilation, .dilation_w = c->dilation,
                       .pad_top = c->pad_top, .pad_left = c->pad_left};
    return g;
}

/* The forward through a float im2col and nni_gemm_bf16 (the path before the packed
 * lowering), compared bit for bit. */
static void check_forward(const bf16_case *c, nn_model *model)
{
    const nn_shape out = model->output->out_shape;
    const nni_conv_geom g = geometry(c, &out);
    const int64_t K = nni_conv_geom_col_rows(&g), P = g.out_h * g.out_w;
    const int64_t go = c->out_c / c->groups, in_size = c->in_c * c->in_h * c->in_w;
    const float *w = nn_model_param_data(model, nn_model_find_param(model, "conv2d1/weight"));
    const float *b = nn_model_param_data(model, nn_model_find_param(model, "conv2d1/bias"));
    float *col = malloc((size_t)(K * P) * sizeof *col);
    float *y = malloc((size_t)(c->out_c * P) * sizeof *y);
    for (int64_t n = 0; n < BATCH; n++) {
        for (int64_t grp = 0; grp < c->groups; grp++) {
            nni_im2col(&g, nn_model_input(model) + n * in_size + grp * g.channels * c->in_h *
                           c->in_w, col);
            float *yg = y + grp * go * P;
            for (int64_t o = 0; o < go; o++)
                for (int64_t p = 0; p < P; p++)
                    yg[o * P + p] = b[grp * go + o];
            nni_gemm_bf16(go, P, K, w + grp * go * K, K, 1, col, P, 1, yg, P, 1);
        }
        const float *got = model->output->out + n * c->out_c * P;
        for (int64_t i = 0; i < c->out_c * P; i++)
            if (memcmp(&got[i], &y[i], sizeof *y))
                fail_msg("%s: output %lld of sample %lld is %a, im2col + nni_gemm_bf16 %a",
                         c->spec, (long long)i, (long long)n, (double)got[i], (double)y[i]);
    }
    free(col);
    free(y);
}

/* dx of a flat convolution against the float64 sum of bf16(w) bf16(dy): its terms are exact
 * in float, so only the float additions (at most one unit roundoff of the running sum of
 * magnitudes each) separate the two. */
static void check_input_grad(const bf16_case *c, nn_model *model)
{
    const nn_shape out = model->output->out_shape;
    const int64_t oh = out.dim[1], ow = out.dim[2], C = c->in_c / c->groups;
    const int64_t go = c->out_c / c->groups;
    const float *w = nn_model_param_data(model, nn_model_find_param(model, "conv2d1/weight"));
    const float *dy = model->output->dout, *dx = model->layers[0]->dout;
    for (int64_t n = 0; n < BATCH; n++)
        for (int64_t ch = 0; ch < c->in_c; ch++)
            for (int64_t iy = 0; iy < c->in_h; iy++)
                for (int64_t ix = 0; ix < c->in_w; ix++) {
                    const int64_t grp = ch / C, ci = ch % C;
                    double exact = 0.0, magnitude = 0.0;
                    for (int64_t o = grp * go; o < (grp + 1) * go; o++)
                        for (int64_t ki = 0; ki < c->kh; ki++)
                            for (int64_t kj = 0; kj < c->kw; kj++) {
                                const int64_t oy = iy + c->pad_top - ki * c->dilation;
                                const int64_t ox = ix + c->pad_left - kj * c->dilation;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
                                    continue;
                                const double t =
                                    (double)rounded(w[((o * C + ci) * c->kh + ki) * c->kw + kj]) *
                                    rounded(dy[((n * c->out_c + o) * oh + oy) * ow + ox]);
                                exact += t;
                                magnitude += fabs(t);
                            }
                    const double bound = (double)(go * c->kh * c->kw) * 0x1p-24 * magnitude *
                                         1.0001;
                    const float got =
                        dx[((n * c->in_c + ch) * c->in_h + iy) * c->in_w + ix];
                    if (fabs(got - exact) > bound)
                        fail_msg("%s: dx[%lld][%lld][%lld][%lld] %.9g, float64 of the bf16 "
                                 "factors %.9g, bound %.3g", c->spec, (long long)n,
                                 (long long)ch, (long long)iy, (long long)ix, (double)got,
                                 exact, bound);
                }
}

/* The weight gradient against the float64 sum over samples and pixels of bf16(x) bf16(dy),
 * within float accumulation error, as check_input_grad (AMX's path turns this product
 * around: im2col(x) dy^T, conv2d.c's weight_grad_turned). */
static void check_weight_grad(const bf16_case *c, nn_model *model)
{
    const nn_shape out = model->output->out_shape;
    const int64_t oh = out.dim[1], ow = out.dim[2], C = c->in_c / c->groups;
    const int64_t go = c->out_c / c->groups;
    const float *x = nn_model_input(model), *dy = model->output->dout;
    const float *dw = nn_model_param_grad(model, nn_model_find_param(model, "conv2d1/weight"));
    for (int64_t o = 0; o < c->out_c; o++)
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t ki = 0; ki < c->kh; ki++)
                for (int64_t kj = 0; kj < c->kw; kj++) {
                    const int64_t ch = o / go * C + ci;
                    double exact = 0.0, magnitude = 0.0;
                    for (int64_t n = 0; n < BATCH; n++)
                        for (int64_t oy = 0; oy < oh; oy++)
                            for (int64_t ox = 0; ox < ow; ox++) {
                                const int64_t iy =
                                    oy * c->stride - c->pad_top + ki * c->dilation;
                                const int64_t ix =
                                    ox * c->stride - c->pad_left + kj * c->dilation;
                                if (iy < 0 || iy >= c->in_h || ix < 0 || ix >= c->in_w)
                                    continue;
                                const double t =
                                    (double)rounded(x[((n * c->in_c + ch) * c->in_h + iy) *
                                                      c->in_w + ix]) *
                                    rounded(dy[((n * c->out_c + o) * oh + oy) * ow + ox]);
                                exact += t;
                                magnitude += fabs(t);
                            }
                    const double bound = (double)(BATCH * oh * ow + 1) * 0x1p-24 * magnitude *
                                         1.0001;
                    const float got = dw[((o * C + ci) * c->kh + ki) * c->kw + kj];
                    if (fabs(got - exact) > bound)
                        fail_msg("%s: dw[%lld][%lld][%lld][%lld] %.9g, float64 of the bf16 "
                                 "factors %.9g, bound %.3g", c->spec, (long long)o,
                                 (long long)ci, (long long)ki, (long long)kj, (double)got,
                                 exact, bound);
                }
}

/* Output, dx and the parameter gradients of one forward and backward. */
static float *run_pass(nn_model *model, int64_t *count)
{
    nn_pass pass = {.batch = BATCH, .training = 1};
    nn_model_forward(model, &pass);
    const int64_t out = BATCH * nn_model_output_size(model);
    const int64_t in = BATCH * nn_model_input_size(model);
    nn_test_fill(model->output->dout, out, 31, -1.0f, 1.0f);
    nn_model_backward(model, &pass);
    int64_t total = out + in;
    for (int k = 0; k < model->n_params; k++)
        total += model->params[k].size;
    float *all = malloc((size_t)total * sizeof *all), *at = all;
    memcpy(at, model->output->out, (size_t)out * sizeof *at);
    at += out;
    memcpy(at, model->layers[0]->dout, (size_t)in * sizeof *at);
    at += in;
    for (int k = 0; k < model->n_params; k++) {
        memcpy(at, nn_model_param_grad(model, &model->params[k]),
               (size_t)model->params[k].size * sizeof *at);
        at += model->params[k].size;
    }
    *count = total;
    return all;
}

static void test_conv_bf16(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const bf16_case *c = &cases[t];
        char yaml[256];
        snprintf(yaml, sizeof yaml, "{input: [%lld, %lld, %lld], layers: [{type: conv2d, %s}]}",
                 (long long)c->in_c, (long long)c->in_h, (long long)c->in_w, c->spec);
        nn_model *model = fixture_model(yaml, BATCH, 6);
        assert_non_null(model);
        model->direct_conv = 1; /* Winograd's bf16 products: test_winograd.c */
        nn_param *b = nn_model_find_param(model, "conv2d1/bias");
        assert_non_null(b);
        nn_test_fill(nn_model_param_data(model, b), b->size, 7, -1.0f, 1.0f);
        nn_test_fill(nn_model_input(model), BATCH * nn_model_input_size(model), 8, -1.0f, 1.0f);
        select_path(model, "emulated");
        int64_t count = 0, native_count = 0;
        float *emulated = run_pass(model, &count);
        check_forward(c, model);
        if (c->flat)
            check_input_grad(c, model);
        check_weight_grad(c, model);
        if (nni_bf16_native_supported()) {
            select_path(model, "native");
            float *native = run_pass(model, &native_count);
            assert_int_equal(count, native_count);
            for (int64_t i = 0; i < count; i++)
                if (memcmp(&native[i], &emulated[i], sizeof *native))
                    fail_msg("%s: value %lld native %a, emulated %a", c->spec, (long long)i,
                             (double)native[i], (double)emulated[i]);
            free(native);
        }
        /* AMX's own sums (core/gemm_bf16_amx.h): the same checks, not the same bits. */
        if (nni_amx_bf16_supported()) {
            select_path(model, "amx");
            int64_t amx_count = 0;
            free(run_pass(model, &amx_count));
            check_forward(c, model);
            if (c->flat)
                check_input_grad(c, model);
            check_weight_grad(c, model);
        }
        free(emulated);
        nn_model_free(model);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

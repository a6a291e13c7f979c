/* maxpool, avgpool, global_avgpool and flatten: gradient checks with padding, overlapping
 * windows, non-square windows and odd sizes; forward values against the definitions
 * (torch's count_include_pad divisor, the first-maximum tie rule); shapes and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "gradcheck.h"
#include "model_fixture.h"
#include "nn/config.h"

/* Distinct values 0.01 apart in random order: a +-1e-3 probe never changes which element
 * of a window is the maximum. */
static float *spaced_input(int64_t n, uint64_t seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    nni_rng_permutation(seed, NNI_RNG_NOISE, 0, perm, n);
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.01f * (float)perm[i] - 0.005f * (float)n;
    free(perm);
    return x;
}

static void check_model(const char *yaml, int64_t batch)
{
    nn_model *model = fixture_model(yaml, batch, 3);
    if (!model)
        fail_msg("build failed: %s", yaml);
    float *x = spaced_input(batch * nn_model_input_size(model), 17);
    int ok = fixture_gradcheck_at(model, batch, 1, 1e-3, 1e-2, x);
    free(x);
    nn_model_free(model);
    if (!ok)
        fail_msg("gradient check failed for: %s", yaml);
}

static const char *const pools[] = {
    "size: 2",
    "size: 3, stride: 1, padding: same",  /* the inception branch */
    "size: 3, stride: 2, padding: 1",     /* overlapping windows with padding */
    "size: 3, stride: 2",
    "size: 2, stride: 1",
    "size: [2, 3], stride: [1, 2]",
    "size: 2, padding: same",             /* odd input: one padded row/column at the end */
    "size: 2, stride: 1, padding: same",  /* stride 1, padded at the bottom/right only */
    "size: 3, stride: 1",                 /* stride 1 on the input itself */
    "size: 4, stride: 3, padding: [2, 1, 0, 2]",
};

static void test_pool_gradients(void **state)
{
    (void)state;
    const char *types[] = {"maxpool", "avgpool",
                           "{type: avgpool, count_include_pad: false}"};
    for (size_t t = 0; t < 3; t++)
        for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
            char yaml[512];
            if (t < 2)
                snprintf(yaml, sizeof yaml, "{input: [2, 7, 5], layers: [{type: %s, %s}]}",
                         types[t], pools[i]);
            else
                snprintf(yaml, sizeof yaml, "{input: [2, 7, 5], layers: [{type: avgpool, %s,"
                         " count_include_pad: false}]}", pools[i]);
            check_model(yaml, 2);
        }
}

static void test_global_avgpool_and_flatten(void **state)
{
    (void)state;
    check_model("{input: [3, 5, 4], layers: [{type: global_avgpool}]}", 2);
    check_model("{input: [3, 5, 4], layers: [{type: flatten}, {type: dense, units: 2}]}", 2);
    /* fan-out: the same input pooled twice and concatenated (gradients accumulate). */
    check_model("{input: [2, 6, 6], layers: ["
                "{name: a, type: maxpool, size: 3, stride: 1, padding: same},"
                "{name: b, type: avgpool, size: 3, stride: 1, padding: same, inputs: [input]},"
                "{name: c, type: concat, inputs: [a, b, input]},"
                "{type: global_avgpool}, {type: flatten}]}", 2);
}

static nn_model *run_forward(const char *yaml, const float *x, int64_t batch)
{
    nn_model *model = fixture_model(yaml, batch, 1);
    assert_non_null(model);
    memcpy(nn_model_input(model), x, (size_t)(batch * nn_model_input_size(model)) * sizeof *x);
    nn_pass pass = {.batch = batch, .training = 1};
    nn_model_forward(model, &pass);
    return model;
}

static void test_pool_values(void **state)
{
    (void)state;
    /* 1 x 3 x 3 input 1..9 */
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* avgpool 2x2 stride 1 padding 1: corner window holds one real value out of 4. */
    nn_model *m = run_forward("{input: [1, 3, 3], layers: [{type: avgpool, size: 2, stride: 1,"
                              " padding: 1}]}", x, 1);
    assert_int_equal(m->output->out_shape.dim[1], 4);
    assert_float_equal(m->output->out[0], 1.0f / 4, 1e-6);
    assert_float_equal(m->output->out[1], (1.0f + 2) / 4, 1e-6);
    assert_float_equal(m->output->out[5], (1.0f + 2 + 4 + 5) / 4, 1e-6);
    nn_model_free(m);
    m = run_forward("{input: [1, 3, 3], layers: [{type: avgpool, size: 2, stride: 1,"
                    " padding: 1, count_include_pad: false}]}", x, 1);
    assert_float_equal(m->output->out[0], 1.0f, 1e-6);
    assert_float_equal(m->output->out[1], 1.5f, 1e-6);
    nn_model_free(m);
    /* maxpool 3x3 same, stride 1: padding never wins even when the input is negative. */
    float neg[9];
    for (int i = 0; i < 9; i++)
        neg[i] = -x[i];
    m = run_forward("{input: [1, 3, 3], layers: [{type: maxpool, size: 3, stride: 1,"
                    " padding: same}]}", neg, 1);
    assert_float_equal(m->output->out[0], -1.0f, 0);
    assert_float_equal(m->output->out[8], -5.0f, 0);
    nn_model_free(m);
    /* global average */
    m = run_forward("{input: [1, 3, 3], layers: [{type: global_avgpool}]}", x, 1);
    assert_int_equal(m->output->out_shape.ndim, 1);
    assert_float_equal(m->output->out[0], 5.0f, 1e-6);
    nn_model_free(m);
}

static void test_maxpool_ties_go_to_first(void **state)
{
    (void)state;
    /* One 2x2 window of equal values (and the fast 2x2 path): the gradient goes to the
     * first element, as torch does. The same through the general path (stride 1). */
    const char *yamls[] = {"{input: [1, 2, 2], layers: [{type: maxpool, size: 2}]}",
                           "{input: [1, 2, 2], layers: [{type: maxpool, size: 2, stride: 1}]}"};
    for (int k = 0; k < 2; k++) {
        const float x[4] = {3, 3, 3, 3};
        nn_model *m = run_forward(yamls[k], x, 1);
        m->output->dout[0] = 1.0f;
        nn_pass pass = {.batch = 1, .training = 1};
        nn_model_backward(m, &pass);
        const float *dx = m->layers[0]->dout;
        assert_float_equal(dx[0], 1.0f, 0);
        assert_float_equal(dx[1] + dx[2] + dx[3], 0.0f, 0);
        nn_model_free(m);
    }
}

static void test_maxpool_nan_takes_the_gradient(void **state)
{
    (void)state;
    /* As in torch, a NaN is the maximum of its window and receives the gradient; the other
     * windows of the plane are unaffected. */
    const char *yamls[] = {"{input: [1, 2, 4], layers: [{type: maxpool, size: 2}]}",
                           "{input: [1, 2, 4], layers: [{type: maxpool, size: 2, stride: [1, 2],"
                           " padding: [0, 1, 0, 0]}]}"};
    for (int k = 0; k < 2; k++) {
        const float x[8] = {1, NAN, 5, 2, 3, 4, 0, 1};
        nn_model *m = run_forward(yamls[k], x, 1);
        assert_true(isnan(m->output->out[0]));
        assert_float_equal(m->output->out[1], 5.0f, 0);
        m->output->dout[0] = 1.0f;
        m->output->dout[1] = 2.0f;
        for (int64_t i = 2; i < nn_model_output_size(m); i++)
            m->output->dout[i] = 0.0f;
        nn_pass pass = {.batch = 1, .training = 1};
        nn_model_backward(m, &pass);
        const float *dx = m->layers[0]->dout;
        const float expect[8] = {0, 1, 2, 0, 0, 0, 0, 0};
        for (int i = 0; i < 8; i++)
            if (dx[i] != expect[i])
                fail_msg("%s: dx[%d] = %g, expected %g", yamls[k], i, dx[i], expect[i]);
        nn_model_free(m);
    }
}

static void test_maxpool_matches_definition(void **state)
{
    (void)state;
    /* The 2x2/2 fast path (even and odd sizes, the latter padded by `same`) and the general
     * path against the definition; a NaN propagates like in torch. */
    static const struct {
        const char *spec;
        int64_t h, w, k, s, pt, pl;
    } cases[] = {
        {"size: 2", 6, 8, 2, 2, 0, 0},
        {"size: 2", 7, 5, 2, 2, 0, 0},
        {"size: 2, padding: same", 7, 5, 2, 2, 0, 0},
        {"size: 3, stride: 2, padding: 1", 7, 6, 3, 2, 1, 1},
        {"size: 3, stride: 1, padding: same", 6, 7, 3, 1, 1, 1},
        {"size: 3, stride: 1", 6, 7, 3, 1, 0, 0},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t batch = 2, C = 3, h = cases[t].h, w = cases[t].w;
        const int64_t n = batch * C * h * w;
        float *x = malloc((size_t)n * sizeof *x);
        nn_test_fill(x, n, 4, -1.0f, 1.0f);
        x[0] = NAN;
        char yaml[256];
        snprintf(yaml, sizeof yaml, "{input: [3, %lld, %lld], layers: [{type: maxpool, %s}]}",
                 (long long)h, (long long)w, cases[t].spec);
        nn_model *m = run_forward(yaml, x, batch);
        const int64_t oh = m->output->out_shape.dim[1], ow = m->output->out_shape.dim[2];
        for (int64_t p = 0; p < batch * C; p++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    float best = -INFINITY;
                    for (int64_t i = 0; i < cases[t].k; i++)
                        for (int64_t j = 0; j < cases[t].k; j++) {
                            int64_t iy = oy * cases[t].s - cases[t].pt + i;
                            int64_t ix = ox * cases[t].s - cases[t].pl + j;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                continue;
                            float v = x[(p * h + iy) * w + ix];
                            if (v > best || isnan(v))
                                best = isnan(best) ? best : v;
                        }
                    float got = m->output->out[(p * oh + oy) * ow + ox];
                    if (!(got == best || (isnan(got) && isnan(best))))
                        fail_msg("%s on %lldx%lld: plane %lld (%lld, %lld): %g, expected %g",
                                 cases[t].spec, (long long)h, (long long)w, (long long)p,
                                 (long long)oy, (long long)ox, got, best);
                }
        assert_true(isnan(m->output->out[0]));
        free(x);
        nn_model_free(m);
    }
}

static void test_pool_shapes_and_errors(void **state)
{
    (void)state;
    nn_model *m = fixture_model("{input: [4, 7, 7], layers: [{type: maxpool, size: 2}]}", 1, 1);
    assert_int_equal(m->output->out_shape.dim[1], 3);
    assert_int_equal(nn_model_flops_per_sample(m), 4 * 3 * 3 * 4);
    nn_model_free(m);
    m = fixture_model("{input: [4, 7, 7], layers: [{type: maxpool, size: 2, padding: same}]}",
                      1, 1);
    assert_int_equal(m->output->out_shape.dim[1], 4);
    nn_model_free(m);

    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{input: [1, 4, 4], layers: [{type: maxpool, size: 2, padding: 2}]}",
         "padding must be at most half the window"},
        {"{input: [8], layers: [{name: p, type: maxpool, size: 2}]}",
         "maxpool layer 'p' needs a (channels, height, width) input, but its input 'input' has "
         "shape (8)"},
        {"{input: [1, 4, 4], layers: [{type: avgpool}]}", "needs 'size'"},
        {"{input: [1, 4, 4], layers: [{type: maxpool, size: 2, count_include_pad: false}]}",
         "unknown key 'count_include_pad'"},
        {"{input: [8], layers: [{name: g, type: global_avgpool}]}", "input 'input' has shape (8)"},
        {"{input: [1, 3, 3], layers: [{type: maxpool, size: 4}]}", "does not fit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fixture_config_error(cases[i].yaml, cases[i].expect))
            fail_msg("config error case %zu", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_gradients),
        cmocka_unit_test(test_global_avgpool_and_flatten),
        cmocka_unit_test(test_pool_values),
        cmocka_unit_test(test_maxpool_ties_go_to_first),
        cmocka_unit_test(test_maxpool_nan_takes_the_gradient),
        cmocka_unit_test(test_maxpool_matches_definition),
        cmocka_unit_test(test_pool_shapes_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Kernel sets (core/kernel_set.h): NN_KERNELS forces a set and a bad value is an error that
 * says what is valid; every set this CPU can run computes the products within float
 * rounding of a float64 loop, adds the bias and relu in the product's pass with the bits of
 * separate passes, lowers images and updates Adam's moments to the same bits as the generic
 * set, and pools stride-1 planes to a plain loop's bits.
 *
 * Run twice by ctest: as unit.test_kernel_set with the CPU's choice, and under the
 * generic-kernels label with NN_KERNELS=generic, where the first test checks that the
 * forced set is the one in use (the label's other tests then really ran generic code). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernel_set.h"
#include "core/rng.h"

static float *random_floats(int64_t n, uint64_t key)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    nni_rng rng = nni_rng_stream(11, NNI_RNG_INIT, key, 0, 0);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)nni_rng_uniform_double(&rng) - 0.5f;
    return p;
}

/* The first row this CPU supports: the widest. */
static const char *widest_supported(void)
{
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (int i = 0; i < count; i++)
        if (sets[i].supported())
            return sets[i].name;
    fail_msg("no kernel set runs here, not even generic");
    return NULL;
}

/* Before anything selects: the set in use is the one the environment forces (ctest's
 * generic-kernels label), or the widest this CPU supports. */
static void test_environment_decides_first_use(void **state)
{
    (void)state;
    const char *forced = getenv("NN_KERNELS");
    const char *want = forced && *forced && strcmp(forced, "auto") ? forced
                                                                    : widest_supported();
    assert_string_equal(nni_kernels()->name, want);
    char text[160];
    nni_kernels_describe(text, sizeof text);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, want == forced ? "forced by NN_KERNELS" : "from the CPU"));
}

static void test_forcing_and_bad_names(void **state)
{
    (void)state;
    char *saved = getenv("NN_KERNELS") ? strdup(getenv("NN_KERNELS")) : NULL;
    nn_error err = {0};
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    assert_string_equal(sets[count - 1].name, "generic");
    for (int i = 0; i < count; i++) {
        setenv("NN_KERNELS", sets[i].name, 1);
        nn_status st = nni_kernels_select(&err);
        if (sets[i].supported()) {
            assert_int_equal(st, NN_OK);
            assert_string_equal(nni_kernels()->name, sets[i].name);
        } else {
            /* A CPU without the set's instructions: refused, naming them. */
            assert_int_equal(st, NN_ERR_CONFIG);
            assert_non_null(strstr(err.msg, sets[i].needs));
        }
    }
    setenv("NN_KERNELS", "generic", 1);
    assert_int_equal(nni_kernels_select(&err), NN_OK);
    setenv("NN_KERNELS", "avx1024", 1);
    assert_int_equal(nni_kernels_select(&err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "NN_KERNELS=avx1024: unknown kernel set (valid: auto, "));
    assert_non_null(strstr(err.msg, "generic"));
    assert_string_equal(nni_kernels()->name, "generic"); /* unchanged by the error */
    unsetenv("NN_KERNELS");
    assert_int_equal(nni_kernels_select(&err), NN_OK);
    assert_string_equal(nni_kernels()->name, widest_supported());
    if (saved)
        setenv("NN_KERNELS", saved, 1);
    assert_int_equal(nni_kernels_select(&err), NN_OK);
    free(saved);
}

/* |got - want| within a few float roundings of the sum of |terms|. */
static void assert_close(float got, double want, double magnitude, int64_t k)
{
    const double bound = 4.0 * (double)(k + 2) * 0x1p-24 * (magnitude + fabs(want)) + 1e-30;
    if (!(fabs((double)got - want) <= bound))
        fail_msg("got %.9g, want %.9g (bound %.3g)", (double)got, want, bound);
}

/* check(set, m, n, k) for every set this CPU runs and every shape {m, n, k}. */
typedef void shape_check(const nni_kernel_set *set, int64_t m, int64_t n, int64_t k);
static void every_set_and_shape(const int64_t (*shapes)[3], size_t n_shapes, shape_check *check)
{
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (int s = 0; s < count; s++)
        for (size_t i = 0; sets[s].supported() && i < n_shapes; i++)
            check(&sets[s], shapes[i][0], shapes[i][1], shapes[i][2]);
}

static void check_products(const nni_kernel_set *set, int64_t m, int64_t n, int64_t k)
{
    float *a = random_floats(m * k, 1), *b = random_floats(k * n, 2);
    float *bt = random_floats(n * k, 3), *c = random_floats(m * n, 4);
    float *c_nt = random_floats(m * n, 5);
    set->gemm_nn(m, n, k, a, k, 1, b, n, c, n, 0);
    set->gemm_nt(m, n, k, a, k, bt, k, c_nt, n, 0);
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++) {
            double want = 0, mag = 0, want_nt = 0, mag_nt = 0;
            for (int64_t q = 0; q < k; q++) {
                const double t = (double)a[r * k + q] * b[q * n + j];
                const double t_nt = (double)a[r * k + q] * bt[j * k + q];
                want += t;
                mag += fabs(t);
                want_nt += t_nt;
                mag_nt += fabs(t_nt);
            }
            assert_close(c[r * n + j], want, mag, k);
            assert_close(c_nt[r * n + j], want_nt, mag_nt, k);
        }
    free(a);
    free(b);
    free(bt);
    free(c);
    free(c_nt);
}

/* Tile edges of every set's tiles (4, 6, 12 rows; 8, 16, 32 columns), K over a block. */
static void test_every_set_products(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {13, 33, 17}, {25, 70, 300},
                                        {64, 196, 576}};
    every_set_and_shape(shapes, sizeof shapes / sizeof *shapes, check_products);
}

static void check_bias_relu(const nni_kernel_set *set, int64_t m, int64_t n, int64_t k)
{
    float *a = random_floats(m * k, 6), *b = random_floats(k * n, 7);
    float *bias = random_floats(m, 8);
    bias[0] = -0.0f;
    if (k > 0 && n > 2)
        b[n / 2] = NAN;
    float *want = malloc((size_t)(m * n) * sizeof *want);
    float *want_relu = malloc((size_t)(m * n) * sizeof *want_relu);
    assert_non_null(want);
    assert_non_null(want_relu);
    for (int variant = 0; variant < 6; variant++) {
        const int with_bias = variant & 1, relu_kind = variant / 2; /* none, relu, relu only */
        for (int64_t r = 0; r < m; r++)
            for (int64_t j = 0; j < n; j++)
                want[r * n + j] = with_bias ? bias[r] : 0.0f;
        set->gemm_nn(m, n, k, a, k, 1, b, n, want, n, with_bias);
        for (int64_t e = 0; e < m * n; e++)
            want_relu[e] = want[e] > 0.0f ? want[e] : 0.0f;
        float *c = random_floats(m * n, 9), *relu = random_floats(m * n, 10);
        set->gemm_nn_bias_relu(m, n, k, a, k, 1, b, n, c, n, with_bias ? bias : NULL,
                               relu_kind ? relu : NULL, relu_kind == 2);
        if (relu_kind != 2 && memcmp(c, want, (size_t)(m * n) * sizeof *c))
            fail_msg("%s: C of %lld x %lld x %lld (variant %d) differs", set->name,
                     (long long)m, (long long)n, (long long)k, variant);
        if (relu_kind && memcmp(relu, want_relu, (size_t)(m * n) * sizeof *relu))
            fail_msg("%s: relu of %lld x %lld x %lld (variant %d) differs", set->name,
                     (long long)m, (long long)n, (long long)k, variant);
        free(c);
        free(relu);
    }
    free(a);
    free(b);
    free(bias);
    free(want);
    free(want_relu);
}

/* nni_gemm_nn_bias_relu's one pass against its three (C filled with the bias, the product
 * added, relu of the result), bit for bit in every set: with and without a bias, relu, or
 * C kept beside it; tile edges, K past a block and K = 0. A bias of -0 stays -0 in C and
 * relu gives +0 for it and for a NaN column. */
static void test_every_set_bias_relu_same_bits(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{1, 1, 1},    {5, 7, 3},     {13, 33, 17},
                                        {25, 70, 300}, {64, 196, 64}, {16, 196, 64},
                                        {32, 196, 64}, {7, 20, 0},    {12, 300, 260}};
    every_set_and_shape(shapes, sizeof shapes / sizeof *shapes, check_bias_relu);
}

/* The lowerings only copy and add in a fixed order per element: every set gives the
 * generic set's bits, for a padded stride-1 (shifted-plane) and a strided dilated case. */
static void test_every_set_lowering_same_bits(void **state)
{
    (void)state;
    static const nni_conv_geom geoms[] = {
        {.channels = 3, .in_h = 14, .in_w = 14, .out_h = 14, .out_w = 14, .kernel_h = 5,
         .kernel_w = 5, .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
         .pad_top = 2, .pad_left = 2},
        {.channels = 2, .in_h = 11, .in_w = 9, .out_h = 5, .out_w = 4, .kernel_h = 3,
         .kernel_w = 2, .stride_h = 2, .stride_w = 2, .dilation_h = 1, .dilation_w = 2,
         .pad_top = 1, .pad_left = 0},
    };
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    const nni_kernel_set *generic = &sets[count - 1];
    for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) {
        const nni_conv_geom *g = &geoms[i];
        const int64_t in = g->channels * g->in_h * g->in_w;
        const int64_t lowered = nni_conv_geom_col_rows(g) * g->out_h * g->out_w;
        float *x = random_floats(in, 6), *want = malloc(sizeof(float) * (size_t)lowered);
        float *got = malloc(sizeof(float) * (size_t)lowered);
        float *dx_want = random_floats(in, 7), *dx_got = random_floats(in, 7);
        float *t_want = malloc(sizeof(float) * (size_t)in);
        float *t_got = malloc(sizeof(float) * (size_t)in);
        assert_true(want && got && t_want && t_got);
        for (int s = 0; s < count - 1; s++) {
            if (!sets[s].supported())
                continue;
            generic->im2col(g, x, want);
            sets[s].im2col(g, x, got);
            assert_memory_equal(want, got, sizeof(float) * (size_t)lowered);
            generic->col2im(g, want, dx_want);
            sets[s].col2im(g, got, dx_got);
            assert_memory_equal(dx_want, dx_got, sizeof(float) * (size_t)in);
            generic->transpose(x, g->channels, g->in_h * g->in_w, g->in_h * g->in_w, t_want,
                               g->channels);
            sets[s].transpose(x, g->channels, g->in_h * g->in_w, g->in_h * g->in_w, t_got,
                              g->channels);
            assert_memory_equal(t_want, t_got, sizeof(float) * (size_t)in);
            generic->im2row(g, t_want, want);
            sets[s].im2row(g, t_want, got);
            assert_memory_equal(want, got, sizeof(float) * (size_t)lowered);
        }
        free(x);
        free(want);
        free(got);
        free(dx_want);
        free(dx_got);
        free(t_want);
        free(t_got);
    }
}

/* The forward product built panel by panel from the image has the bits of im2col followed
 * by the product, on every set, for 'same' padding with odd, even and dilated kernels, and
 * with accumulate (the bias already in y). */
static void test_every_set_conv_flat_same_bits(void **state)
{
    (void)state;
    static const nni_conv_geom geoms[] = {
        {.channels = 5, .in_h = 14, .in_w = 14, .out_h = 14, .out_w = 14, .kernel_h = 5,
         .kernel_w = 5, .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
         .pad_top = 2, .pad_left = 2},
        {.channels = 3, .in_h = 9, .in_w = 11, .out_h = 9, .out_w = 11, .kernel_h = 2,
         .kernel_w = 4, .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
         .pad_top = 0, .pad_left = 1},
        {.channels = 60, .in_h = 7, .in_w = 7, .out_h = 7, .out_w = 7, .kernel_h = 3,
         .kernel_w = 3, .stride_h = 1, .stride_w = 1, .dilation_h = 2, .dilation_w = 2,
         .pad_top = 2, .pad_left = 2},
    };
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) {
        const nni_conv_geom *g = &geoms[i];
        assert_true(nni_conv_geom_flat(g));
        const int64_t M = 13, K = nni_conv_geom_col_rows(g), P = g->out_h * g->out_w;
        float *x = random_floats(g->channels * g->in_h * g->in_w, 12);
        float *w = random_floats(M * K, 13), *col = malloc(sizeof(float) * (size_t)(K * P));
        float *want = random_floats(M * P, 14), *got = random_floats(M * P, 14);
        assert_non_null(col);
        for (int s = 0; s < count; s++) {
            if (!sets[s].supported())
                continue;
            for (int accumulate = 1; accumulate >= 0; accumulate--) {
                sets[s].im2col(g, x, col);
                sets[s].gemm_nn(M, P, K, w, K, 1, col, P, want, P, accumulate);
                sets[s].conv_flat_product(g, M, w, x, got, accumulate);
                assert_memory_equal(want, got, sizeof(float) * (size_t)(M * P));
            }
        }
        free(x);
        free(w);
        free(col);
        free(want);
        free(got);
    }
}

/* Adam's update is correctly rounded arithmetic without contraction: the same bits on
 * every set, on a length that leaves a tail after every vector width. */
static void test_every_set_adam_same_bits(void **state)
{
    (void)state;
    enum { N = 1000 + 13 };
    const nni_adam_coefs coefs = {0.9f, 0.999f, 0.1f, 0.001f, 1e-8f, 1e-3f / 0.271f, 0.0447f};
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    float *g = random_floats(N, 8);
    float *want[3] = {random_floats(N, 9), random_floats(N, 10), random_floats(N, 11)};
    for (int64_t i = 0; i < N; i++)
        want[2][i] = fabsf(want[2][i]); /* a second moment is not negative */
    float *got[3];
    for (int k = 0; k < 3; k++) {
        got[k] = malloc(sizeof(float) * N);
        assert_non_null(got[k]);
    }
    for (int s = 0; s < count - 1; s++) {
        if (!sets[s].supported())
            continue;
        for (int k = 0; k < 3; k++)
            memcpy(got[k], want[k], sizeof(float) * N);
        sets[s].adam_plain(&coefs, N, got[0], got[1], got[2], g);
        float *ref[3];
        for (int k = 0; k < 3; k++) {
            ref[k] = malloc(sizeof(float) * N);
            assert_non_null(ref[k]);
            memcpy(ref[k], want[k], sizeof(float) * N);
        }
        sets[count - 1].adam_plain(&coefs, N, ref[0], ref[1], ref[2], g);
        for (int k = 0; k < 3; k++) {
            assert_memory_equal(ref[k], got[k], sizeof(float) * N);
            assert_memory_not_equal(ref[k], want[k], sizeof(float) * N); /* it did update */
            free(ref[k]);
        }
    }
    for (int k = 0; k < 3; k++) {
        free(want[k]);
        free(got[k]);
    }
    free(g);
}

/* Every set's blocked transpose against the element-by-element definition, with leading
 * dimensions wider than the block: whole 16 x 16 tiles (in registers with AVX-512), their
 * right and bottom edges, and a 1x1 convolution's input (64 channels x 196 pixels). */
static void test_every_set_transpose(void **state)
{
    (void)state;
    static const int64_t shapes[][2] = {{64, 196}, {37, 45}, {16, 16}, {5, 3}, {17, 33}};
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int64_t rows = shapes[i][0], cols = shapes[i][1], lds = cols + 3, ldd = rows + 2;
        float *src = random_floats(rows * lds, 15);
        for (int s = 0; s < count; s++) {
            if (!sets[s].supported())
                continue;
            float *dst = random_floats(cols * ldd, 16), *fill = random_floats(cols * ldd, 16);
            sets[s].transpose(src, rows, cols, lds, dst, ldd);
            for (int64_t c = 0; c < cols; c++)
                for (int64_t r = 0; r < ldd; r++)
                    assert_true(dst[c * ldd + r] ==
                                (r < rows ? src[r * lds + c] : fill[c * ldd + r]));
            free(dst);
            free(fill);
        }
        free(src);
    }
}

/* Stride-1 pooling (layers/pool_stride1.c) on every set against a plain loop over the
 * windows: max pooling with many ties (values from five levels), so the first maximum of a
 * window in row-major order must win, and average pooling; a padded 16 x 16 plane (14 x 14,
 * 3x3 'same') and a 9 x 11 one with a 2x3 window. The gradients are multiples of 1/8 and the
 * averages' divisors powers of two, so every sum is exact in any order, and all sets give the
 * same bits. */
static void test_every_set_pool_stride1(void **state)
{
    (void)state;
    static const int64_t shapes[][4] = {{16, 16, 3, 3}, {9, 11, 2, 3}}; /* h, w, kh, kw */
    static const float counts[] = {2.0f, 4.0f, 1.0f, 2.0f, 4.0f, 2.0f, 1.0f, 4.0f, 2.0f,
                                   1.0f, 2.0f, 4.0f, 1.0f, 2.0f, 4.0f, 2.0f};
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int max = 0; max < 2; max++) {
            const int64_t h = shapes[i][0], w = shapes[i][1], kh = shapes[i][2];
            const int64_t kw = shapes[i][3], oh = h - kh + 1, ow = w - kw + 1;
            const nni_pool_plane plane = {.kernel_h = kh, .kernel_w = kw, .out_h = oh,
                                          .out_w = ow, .pitch = w, .max = max,
                                          .row_count = counts, .col_count = counts};
            float *src = random_floats(h * w, 20 + i), *dy = random_floats(oh * ow, 22 + i);
            for (int64_t k = 0; k < h * w; k++)
                src[k] = floorf(src[k] * 5.0f);
            for (int64_t k = 0; k < oh * ow; k++)
                dy[k] = floorf(dy[k] * 16.0f) / 8.0f;
            float *want_y = calloc((size_t)(oh * ow), sizeof *want_y);
            float *want_dx = calloc((size_t)(h * w), sizeof *want_dx);
            assert_true(want_y && want_dx);
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    float best = -INFINITY, sum = 0.0f;
                    int64_t first = -1;
                    for (int64_t a = 0; a < kh; a++)
                        for (int64_t b = 0; b < kw; b++) {
                            const int64_t at = (oy + a) * w + ox + b;
                            sum += src[at];
                            if (src[at] > best) {
                                best = src[at];
                                first = at;
                            }
                        }
                    const float divisor = counts[oy] * counts[ox];
                    want_y[oy * ow + ox] = max ? best : sum / divisor;
                    for (int64_t a = 0; !max && a < kh; a++)
                        for (int64_t b = 0; b < kw; b++)
                            want_dx[(oy + a) * w + ox + b] += dy[oy * ow + ox] / divisor;
                    if (max)
                        want_dx[first] += dy[oy * ow + ox];
                }
            for (int s = 0; s < count; s++) {
                if (!sets[s].supported())
                    continue;
                float *y = calloc((size_t)(oh * ow), sizeof *y);
                float *dx = calloc((size_t)(h * w), sizeof *dx);
                float *scratch = calloc((size_t)(4 * h * w), sizeof *scratch);
                assert_true(y && dx && scratch);
                sets[s].pool_stride1_forward(&plane, src, y, scratch, scratch + h * w);
                assert_memory_equal(y, want_y, sizeof *y * (size_t)(oh * ow));
                sets[s].pool_stride1_backward(&plane, src, y, dy, dx, scratch,
                                              scratch + h * w,
                                              (int32_t *)(scratch + 2 * h * w));
                assert_memory_equal(dx, want_dx, sizeof *dx * (size_t)(h * w));
                free(y);
                free(dx);
                free(scratch);
            }
            free(src);
            free(dy);
            free(want_y);
            free(want_dx);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_environment_decides_first_use),
        cmocka_unit_test(test_forcing_and_bad_names),
        cmocka_unit_test(test_every_set_products),
        cmocka_unit_test(test_every_set_bias_relu_same_bits),
        cmocka_unit_test(test_every_set_lowering_same_bits),
        cmocka_unit_test(test_every_set_transpose),
        cmocka_unit_test(test_every_set_conv_flat_same_bits),
        cmocka_unit_test(test_every_set_adam_same_bits),
        cmocka_unit_test(test_every_set_pool_stride1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

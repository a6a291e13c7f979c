/* bf16 products (core/gemm_bf16.h): the rounding to bf16; the product against a float64 sum
 * of the bf16-rounded factors (within float accumulation error) and against the float
 * product of the unrounded factors (within bf16 rounding error); the same bits whatever
 * row or column range a caller computes; the native path (vdpbf16ps) and the emulated one
 * agreeing bit for bit, on every packing route (rows of B contiguous, columns contiguous,
 * neither), odd K, edge tiles, accumulation, and tiny values that the instructions flush
 * to zero, with the emulated path also checked against the stated arithmetic written out
 * element by element (on every CPU: without AVX512_BF16 only the native comparison is left
 * out); a flat convolution's lowered matrix made straight from the image
 * (nni_gemm_bf16_flat_conv, and on AMX's path the weight gradient's) giving the bits of im2col
 * and nni_gemm_bf16 on every path; AMX's path (where the CPU has it) against vdpbf16ps's
 * within their roundings, with the same bits for any range; and NN_BF16 choosing the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bf16_rate.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/gemm_bf16_amx.h"
#include "core/im2col.h"
#include "core/rng.h"

static uint32_t bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Uniform in [-0.5, 0.5), or with `wide` a spread of magnitudes 2^-140 .. 2^10 (denormal
 * bf16 inputs and products that underflow included), one in 16 exactly zero. */
static float *random_floats(int64_t n, uint64_t key, int wide)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    nni_rng rng = nni_rng_stream(17, NNI_RNG_INIT, key, 0, 0);
    for (int64_t i = 0; i < n; i++) {
        const double u = nni_rng_uniform_double(&rng) - 0.5;
        p[i] = (float)u;
        if (wide) {
            const double e = nni_rng_uniform_double(&rng);
            p[i] = e < 1.0 / 16 ? 0.0f : (float)ldexp(u, (int)(e * 150.0) - 140);
        }
    }
    return p;
}

/* Whether the CPU runs a path: the emulated one everywhere. */
static int path_supported(const char *path)
{
    if (!strcmp(path, "amx"))
        return nni_amx_bf16_supported();
    if (!strcmp(path, "native"))
        return nni_bf16_native_supported();
    return 1;
}

static const char *const paths[] = {"emulated", "native", "amx"};
enum { N_PATHS = sizeof paths / sizeof paths[0] };

static void select_path(const char *path)
{
    setenv("NN_BF16", path, 1);
    nn_error err = {0};
    assert_int_equal(nni_bf16_select(&err), NN_OK);
    assert_int_equal(nni_gemm_bf16_plan(1, &err), NN_OK);
}

static void test_rounding(void **state)
{
    (void)state;
    assert_int_equal(nni_bf16_from_float(1.0f), 0x3f80);
    assert_int_equal(nni_bf16_from_float(-2.0f), 0xc000);
    /* Halfway cases go to the even neighbour; just above halfway rounds up. */
    assert_int_equal(nni_bf16_from_float(from_bits(0x3f808000u)), 0x3f80);
    assert_int_equal(nni_bf16_from_float(from_bits(0x3f818000u)), 0x3f82);
    assert_int_equal(nni_bf16_from_float(from_bits(0x3f808001u)), 0x3f81);
    /* Denormals become zero with their sign; NaN stays NaN; the largest floats round to
     * infinity. */
    assert_int_equal(nni_bf16_from_float(from_bits(0x00400000u)), 0x0000);
    assert_int_equal(nni_bf16_from_float(from_bits(0x80000001u)), 0x8000);
    assert_true(isnan(nni_bf16_to_float(nni_bf16_from_float(NAN))));
    assert_true(isinf(nni_bf16_to_float(nni_bf16_from_float(FLT_MAX))));
    assert_true(nni_bf16_to_float(0x3f80) == 1.0f);
}

/* C = A B with A(m, k) = A[m * K + k], B[k][n] row-major: both the float64 sum of the
 * bf16-rounded factors and the float product of the factors as given must be close. */
static void check_against_references(int64_t M, int64_t N, int64_t K)
{
    float *A = random_floats(M * K, 1, 0), *B = random_floats(K * N, 2, 0);
    float *C = malloc((size_t)(M * N) * sizeof *C), *F = malloc((size_t)(M * N) * sizeof *F);
    nni_gemm_bf16(M, N, K, A, K, 1, B, N, 1, C, N, 0);
    nni_gemm_nn(M, N, K, A, K, 1, B, N, F, N, 0);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double exact = 0.0, magnitude = 0.0, magnitude_raw = 0.0;
            for (int64_t k = 0; k < K; k++) {
                const double a = nni_bf16_to_float(nni_bf16_from_float(A[m * K + k]));
                const double b = nni_bf16_to_float(nni_bf16_from_float(B[k * N + n]));
                exact += a * b;
                magnitude += fabs(a * b);
                magnitude_raw += fabs((double)A[m * K + k] * B[k * N + n]);
            }
            /* K float additions of exact products: at most K unit roundoffs of the sum of
             * magnitudes (recursive summation in any order). */
            const double tight = (double)K * 0x1p-24 * magnitude * 1.0001;
            const double got = C[m * N + n];
            if (fabs(got - exact) > tight)
                fail_msg("%lldx%lldx%lld at (%lld, %lld): %.9g, float64 of bf16 inputs %.9g, "
                         "bound %.3g", (long long)M, (long long)N, (long long)K, (long long)m,
                         (long long)n, got, exact, tight);
            /* Each factor rounded to 8 significant bits: at most 2^-8 relative each. */
            const double loose = 0x1p-7 * 1.01 * magnitude_raw + tight;
            if (fabs(got - F[m * N + n]) > loose)
                fail_msg("%lldx%lldx%lld at (%lld, %lld): %.9g, float product %.9g, bound %.3g",
                         (long long)M, (long long)N, (long long)K, (long long)m, (long long)n,
                         got, (double)F[m * N + n], loose);
        }
    free(A);
    free(B);
    free(C);
    free(F);
}

static void test_against_references(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{1, 1, 1},   {3, 5, 7},    {8, 32, 2},  {9, 33, 255},
                                        {64, 96, 300}, {17, 300, 513}, {100, 40, 64}};
    for (int p = 0; p < N_PATHS; p++) {
        if (!path_supported(paths[p]))
            continue;
        select_path(paths[p]);
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            check_against_references(shapes[i][0], shapes[i][1], shapes[i][2]);
    }
}

/* A product through strides: A as given or transposed, B's rows or columns contiguous, or
 * neither (a sub-matrix of a wider array read with a column stride of 2). */
typedef struct product_case {
    int64_t M, N, K;
    int a_transposed, b_layout; /* 0: rows contiguous, 1: columns contiguous, 2: strided */
    int accumulate, wide;
} product_case;

static void run_case(const product_case *pc, float *C)
{
    const int64_t M = pc->M, N = pc->N, K = pc->K;
    float *A = random_floats(M * K, 3, pc->wide), *B = random_floats(2 * K * N, 4, pc->wide);
    float *start = random_floats(M * N, 5, pc->wide);
    memcpy(C, start, (size_t)(M * N) * sizeof *C);
    const int64_t a_rs = pc->a_transposed ? 1 : K, a_cs = pc->a_transposed ? M : 1;
    int64_t b_rs = N, b_cs = 1;
    if (pc->b_layout == 1) {
        b_rs = 1;
        b_cs = K;
    } else if (pc->b_layout == 2) {
        b_rs = 2 * N;
        b_cs = 2;
    }
    nni_gemm_bf16(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, N, pc->accumulate);
    free(A);
    free(B);
    free(start);
}

static const product_case cases[] = {
    {37, 70, 301, 0, 0, 1, 0}, {37, 70, 301, 1, 1, 0, 0}, {5, 33, 9, 0, 2, 1, 0},
    {96, 256, 512, 1, 0, 0, 0}, {100, 260, 520, 0, 1, 1, 0}, {13, 45, 31, 1, 2, 0, 0},
    {24, 48, 64, 0, 0, 1, 1},  {24, 48, 65, 1, 1, 0, 1},  {9, 17, 3, 0, 2, 1, 1},
};

/* The arithmetic gemm_bf16.h states, element by element in plain C: for each pair in
 * order, the high terms' product added (rounded once, fmaf), then the low terms'; denormal
 * sums flushed to zero with their sign; an odd K's last pair has a zero high term. */
static float flushed(float x)
{
    return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x;
}

static float rounded(float x)
{
    return nni_bf16_to_float(nni_bf16_from_float(x));
}

static void reference_case(const product_case *pc, float *C)
{
    const int64_t M = pc->M, N = pc->N, K = pc->K;
    float *A = random_floats(M * K, 3, pc->wide), *B = random_floats(2 * K * N, 4, pc->wide);
    float *start = random_floats(M * N, 5, pc->wide);
    const int64_t a_rs = pc->a_transposed ? 1 : K, a_cs = pc->a_transposed ? M : 1;
    const int64_t b_rs = pc->b_layout == 0 ? N : pc->b_layout == 1 ? 1 : 2 * N;
    const int64_t b_cs = pc->b_layout == 0 ? 1 : pc->b_layout == 1 ? K : 2;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            float sum = pc->accumulate ? flushed(start[m * N + n]) : 0.0f;
            for (int64_t k = 0; k < K; k += 2) {
                const float a_hi = k + 1 < K ? rounded(A[m * a_rs + (k + 1) * a_cs]) : 0.0f;
                const float b_hi = k + 1 < K ? rounded(B[(k + 1) * b_rs + n * b_cs]) : 0.0f;
                sum = flushed(fmaf(a_hi, b_hi, sum));
                sum = flushed(fmaf(rounded(A[m * a_rs + k * a_cs]),
                                   rounded(B[k * b_rs + n * b_cs]), sum));
            }
            C[m * N + n] = sum;
        }
    free(A);
    free(B);
    free(start);
}

static void assert_same_bits(const float *got, const float *want, int64_t n, const char *what,
                             size_t case_index)
{
    for (int64_t j = 0; j < n; j++)
        if (bits(got[j]) != bits(want[j]))
            fail_msg("case %zu element %lld: %s %a, expected %a", case_index, (long long)j,
                     what, (double)got[j], (double)want[j]);
}

/* The emulated path against the stated arithmetic on every CPU; the native path against the
 * emulated one where the CPU has the instructions (elsewhere that comparison alone is left
 * out). */
static void test_native_equals_emulated(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const product_case *pc = &cases[i];
        float *want = malloc((size_t)(pc->M * pc->N) * sizeof *want);
        float *emulated = malloc((size_t)(pc->M * pc->N) * sizeof *emulated);
        reference_case(pc, want);
        select_path("emulated");
        run_case(pc, emulated);
        assert_same_bits(emulated, want, pc->M * pc->N, "emulated", i);
        if (nni_bf16_native_supported()) {
            float *native = malloc((size_t)(pc->M * pc->N) * sizeof *native);
            select_path("native");
            run_case(pc, native);
            assert_same_bits(native, emulated, pc->M * pc->N, "native", i);
            free(native);
        }
        free(want);
        free(emulated);
    }
}

/* AMX's sums against vdpbf16ps's on every packing route, edge, odd K and accumulation:
 * both add the same exact products of bf16 factors into float sums, so they may differ only
 * by their roundings, at most K unit roundoffs each of the sum of the terms' magnitudes
 * (plus the flushing of sums below FLT_MIN to zero). Not bit for bit: AMX rounds its own
 * way (core/gemm_bf16_amx.h). */
static void test_amx_close_to_native(void **state)
{
    (void)state;
    if (!nni_amx_bf16_supported())
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const product_case *pc = &cases[i];
        const int64_t MN = pc->M * pc->N;
        float *native = malloc((size_t)MN * sizeof *native);
        float *amx = malloc((size_t)MN * sizeof *amx);
        select_path("native");
        run_case(pc, native);
        select_path("amx");
        run_case(pc, amx);
        float *A = random_floats(pc->M * pc->K, 3, pc->wide);
        float *B = random_floats(2 * pc->K * pc->N, 4, pc->wide);
        float *start = random_floats(MN, 5, pc->wide);
        for (int64_t j = 0; j < MN; j++) {
            const int64_t m = j / pc->N, n = j % pc->N;
            const int64_t a_rs = pc->a_transposed ? 1 : pc->K;
            const int64_t a_cs = pc->a_transposed ? pc->M : 1;
            const int64_t b_rs = pc->b_layout == 0 ? pc->N : pc->b_layout == 1 ? 1 : 2 * pc->N;
            const int64_t b_cs = pc->b_layout == 0 ? 1 : pc->b_layout == 1 ? pc->K : 2;
            double sum = pc->accumulate ? fabs((double)start[j]) : 0.0;
            for (int64_t k = 0; k < pc->K; k++)
                sum += fabs((double)rounded(A[m * a_rs + k * a_cs]) *
                            rounded(B[k * b_rs + n * b_cs]));
            const double bound = 2.0 * (double)(pc->K + 1) * 0x1p-24 * sum * 1.0001 +
                                 2.0 * FLT_MIN;
            if (fabs((double)amx[j] - native[j]) > bound)
                fail_msg("case %zu element %lld: AMX %a, vdpbf16ps %a, bound %.3g", i,
                         (long long)j, (double)amx[j], (double)native[j], bound);
        }
        free(A);
        free(B);
        free(start);
        free(native);
        free(amx);
    }
}

/* A flat convolution's product made straight from the image (nni_gemm_bf16_flat_conv)
 * against nni_im2col then nni_gemm_bf16, bit for bit. */
static void check_flat_conv(int64_t M, nni_conv_geom g, int accumulate)
{
    assert_true(nni_conv_geom_flat(&g));
    const int64_t K = nni_conv_geom_col_rows(&g), P = g.out_h * g.out_w;
    float *x = random_floats(g.channels * g.in_h * g.in_w, 11, 1);
    float *A = random_floats(M * K, 12, 0), *start = random_floats(M * P, 13, 0);
    float *col = malloc((size_t)(K * P) * sizeof *col);
    float *want = malloc((size_t)(M * P) * sizeof *want);
    float *got = malloc((size_t)(M * P) * sizeof *got);
    nni_im2col(&g, x, col);
    memcpy(want, start, (size_t)(M * P) * sizeof *want);
    nni_gemm_bf16(M, P, K, A, K, 1, col, P, 1, want, P, accumulate);
    memcpy(got, start, (size_t)(M * P) * sizeof *got);
    const nni_bf16_flat_conv conv = {&g, x};
    nni_gemm_bf16_flat_conv(M, A, K, &conv, got, accumulate);
    for (int64_t j = 0; j < M * P; j++)
        if (bits(got[j]) != bits(want[j]))
            fail_msg("%lld channels %lldx%lld, kernel %lldx%lld: element %lld: from the image "
                     "%a, from im2col %a", (long long)g.channels, (long long)g.in_h,
                     (long long)g.in_w, (long long)g.kernel_h, (long long)g.kernel_w,
                     (long long)j, (double)got[j], (double)want[j]);
    /* The weight gradient turned, on AMX's path: the lowered matrix times dy^T (dy: M rows
     * of P pixels), against the product over im2col; the other paths decline it. */
    float *dy = random_floats(M * P, 14, 0), *dw_start = random_floats(K * M, 15, 0);
    float *dw_want = malloc((size_t)(K * M) * sizeof *dw_want);
    float *dw_got = malloc((size_t)(K * M) * sizeof *dw_got);
    memcpy(dw_want, dw_start, (size_t)(K * M) * sizeof *dw_want);
    nni_gemm_bf16(K, M, P, col, P, 1, dy, 1, P, dw_want, M, 1);
    memcpy(dw_got, dw_start, (size_t)(K * M) * sizeof *dw_got);
    const int done = nni_gemm_bf16_flat_conv_weight_grad(M, &conv, dy, dw_got, M);
    assert_int_equal(done, nni_bf16_amx_chosen());
    for (int64_t j = 0; done && j < K * M; j++)
        if (bits(dw_got[j]) != bits(dw_want[j]))
            fail_msg("%lld channels %lldx%lld, kernel %lldx%lld: weight gradient element %lld: "
                     "from the image %a, from im2col %a", (long long)g.channels,
                     (long long)g.in_h, (long long)g.in_w, (long long)g.kernel_h,
                     (long long)g.kernel_w, (long long)j, (double)dw_got[j],
                     (double)dw_want[j]);
    free(dy);
    free(dw_start);
    free(dw_want);
    free(dw_got);
    free(x);
    free(A);
    free(start);
    free(col);
    free(want);
    free(got);
}

static nni_conv_geom flat_geom(int64_t channels, int64_t h, int64_t w, int64_t out_h,
                               int64_t kh, int64_t kw, int64_t dilation, int64_t pad_top,
                               int64_t pad_left)
{
    nni_conv_geom g = {.channels = channels, .in_h = h, .in_w = w, .out_h = out_h, .out_w = w,
                       .kernel_h = kh, .kernel_w = kw, .stride_h = 1, .stride_w = 1,
                       .dilation_h = dilation, .dilation_w = dilation, .pad_top = pad_top,
                       .pad_left = pad_left};
    return g;
}

static void test_flat_conv_equals_im2col(void **state)
{
    (void)state;
    for (int p = 0; p < N_PATHS; p++) {
        if (!path_supported(paths[p]))
            continue;
        select_path(paths[p]);
        /* 3x3 same on 17x17 (289 pixels: two column blocks; 279 rows: two K blocks), an
         * even kernel, dilation, images narrower than 16 pixels, an odd K, more rows than
         * one row block (300 > 256), padding on top only (out_h > in_h), a kernel of more
         * taps than the packing's table of lane masks. */
        check_flat_conv(9, flat_geom(31, 17, 17, 17, 3, 3, 1, 1, 1), 1);
        check_flat_conv(5, flat_geom(3, 7, 6, 7, 2, 3, 1, 0, 1), 0);
        check_flat_conv(6, flat_geom(4, 8, 8, 8, 3, 3, 2, 2, 2), 1);
        check_flat_conv(3, flat_geom(5, 6, 5, 6, 5, 5, 1, 2, 2), 0);
        check_flat_conv(300, flat_geom(3, 9, 9, 9, 3, 3, 1, 1, 1), 1);
        check_flat_conv(4, flat_geom(2, 5, 7, 7, 3, 1, 1, 2, 0), 0);
        check_flat_conv(3, flat_geom(2, 10, 11, 10, 9, 9, 1, 4, 4), 1); /* 81 taps */
    }
}

/* On every path the CPU runs: AMX's panels of 32 rows and 16 pairs, too, must not make an
 * element's sum depend on where its row or column falls in them. */
static void test_ranges_give_the_same_bits(void **state)
{
    (void)state;
    const int64_t M = 70, N = 90, K = 333;
    float *A = random_floats(M * K, 6, 0), *B = random_floats(K * N, 7, 0);
    float *whole = malloc((size_t)(M * N) * sizeof *whole);
    float *parts = malloc((size_t)(M * N) * sizeof *parts);
    for (int p = 0; p < N_PATHS; p++) {
        if (!path_supported(paths[p]))
            continue;
        select_path(paths[p]);
        nni_gemm_bf16(M, N, K, A, K, 1, B, N, 1, whole, N, 0);
        const int64_t cuts_m[] = {0, 7, 31, M}, cuts_n[] = {0, 45, 61, N};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                nni_gemm_bf16(cuts_m[i + 1] - cuts_m[i], cuts_n[j + 1] - cuts_n[j], K,
                              A + cuts_m[i] * K, K, 1, B + cuts_n[j], N, 1,
                              parts + cuts_m[i] * N + cuts_n[j], N, 0);
        assert_memory_equal(whole, parts, (size_t)(M * N) * sizeof *whole);
    }
    free(A);
    free(B);
    free(whole);
    free(parts);
}

static void test_path_choice(void **state)
{
    (void)state;
    nn_error err = {0};
    setenv("NN_BF16", "fast", 1);
    assert_int_equal(nni_bf16_select(&err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "valid: auto, amx, native, emulated"));
    setenv("NN_BF16", "emulated", 1);
    assert_int_equal(nni_bf16_select(&err), NN_OK);
    assert_non_null(strstr(nni_bf16_describe(), "slow"));
    setenv("NN_BF16", "native", 1);
    const nn_status st = nni_bf16_select(&err);
    if (nni_bf16_native_supported()) {
        assert_int_equal(st, NN_OK);
        assert_non_null(strstr(nni_bf16_describe(), "vdpbf16ps"));
    } else {
        assert_int_equal(st, NN_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "AVX512_BF16"));
    }
    /* AMX when asked for, and by default, where the CPU and kernel offer it. */
    setenv("NN_BF16", "amx", 1);
    if (nni_amx_bf16_supported()) {
        assert_int_equal(nni_bf16_select(&err), NN_OK);
        assert_true(nni_bf16_amx_chosen());
        setenv("NN_BF16", "auto", 1);
        assert_int_equal(nni_bf16_select(&err), NN_OK);
        assert_non_null(strstr(nni_bf16_describe(), "AMX"));
    } else {
        assert_int_equal(nni_bf16_select(&err), NN_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "AMX-BF16"));
    }
}

/* The start-up note: written when bf16's rate is under 1.2x float's (an Intel core without
 * AMX runs vdpbf16ps at half the FMAs' flops), not where it pays (Zen 4: about 2x) nor
 * without a measurement; the measurement itself, where the instructions exist, gives two
 * positive rates within a factor of 4 of each other (whatever the build's optimization), and
 * AMX's rate where the CPU has it. */
static void test_rate_note(void **state)
{
    (void)state;
    char note[256] = "";
    assert_int_equal(nni_bf16_rate_note((nni_bf16_rate){178.9, 89.4, 0.0}, note,
                                         sizeof note), 1);
    assert_non_null(strstr(note, "bf16 is slower than fp32"));
    assert_non_null(strstr(note, "89 GFLOP/s a core against 179"));
    assert_non_null(strstr(note, "0.50x"));
    assert_int_equal(nni_bf16_rate_note((nni_bf16_rate){249.0, 124.5, 3883.0}, note,
                                         sizeof note), 1);
    assert_non_null(strstr(note, "AMX tiles (3883 GFLOP/s) are NN_BF16=auto's choice"));
    assert_int_equal(nni_bf16_rate_note((nni_bf16_rate){100.0, 119.0, 0.0}, note,
                                         sizeof note), 1);
    assert_int_equal(nni_bf16_rate_note((nni_bf16_rate){117.0, 233.0, 0.0}, note,
                                         sizeof note), 0);
    assert_int_equal(nni_bf16_rate_note((nni_bf16_rate){100.0, 121.0, 0.0}, note,
                                         sizeof note), 0);
    assert_int_equal(nni_bf16_rate_note((nni_bf16_rate){0.0, 0.0, 0.0}, note,
                                         sizeof note), 0);
    const nni_bf16_rate rate = nni_bf16_rate_measure();
    if (!nni_bf16_native_supported()) {
        assert_true(rate.fma_gflops == 0.0 && rate.bf16_gflops == 0.0);
        return;
    }
    /* positive and finite (0.46 and 0.92 GFLOP/s in the unoptimized sanitizer build) */
    assert_true(rate.fma_gflops > 0.0 && rate.bf16_gflops > 0.0);
    assert_true(isfinite(rate.fma_gflops) && isfinite(rate.bf16_gflops));
    assert_true(rate.bf16_gflops < 4 * rate.fma_gflops && rate.fma_gflops < 4 * rate.bf16_gflops);
    const nni_bf16_rate again = nni_bf16_rate_measure(); /* kept, not measured again */
    assert_true(again.fma_gflops == rate.fma_gflops && again.bf16_gflops == rate.bf16_gflops);
    /* AMX's tiles: measured where the CPU has them (15.6x the float FMAs' rate on the Xeon
     * of the README's figures), faster than vdpbf16ps even unoptimized; else zero. */
    if (nni_amx_bf16_supported())
        assert_true(isfinite(rate.amx_gflops) && rate.amx_gflops > rate.bf16_gflops);
    else
        assert_true(rate.amx_gflops == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_against_references),
        cmocka_unit_test(test_native_equals_emulated),
        cmocka_unit_test(test_amx_close_to_native),
        cmocka_unit_test(test_flat_conv_equals_im2col),
        cmocka_unit_test(test_ranges_give_the_same_bits),
        cmocka_unit_test(test_path_choice),
        cmocka_unit_test(test_rate_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

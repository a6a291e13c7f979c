/* bf16 products (core/gemm_bf16.h): the rounding to bf16; the product against a float64 sum
 * of the bf16-rounded factors (within float accumulation error) and against the float
 * product of the unrounded factors (within bf16 rounding error); the same bits whatever
 * row or column range a caller computes; the native path (vdpbf16ps) and the emulated one
 * agreeing bit for bit, on every packing route (rows of B contiguous, columns contiguous,
 * neither), odd K, edge tiles, accumulation, and tiny values that the instructions flush
 * to zero; and NN_BF16 choosing the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/gemm_bf16.h"
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
    const char *paths[] = {"emulated", "native"};
    for (int p = 0; p < 2; p++) {
        if (p == 1 && !nni_bf16_native_supported())
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

static void test_native_equals_emulated(void **state)
{
    (void)state;
    if (!nni_bf16_native_supported())
        skip();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const product_case *pc = &cases[i];
        float *native = malloc((size_t)(pc->M * pc->N) * sizeof *native);
        float *emulated = malloc((size_t)(pc->M * pc->N) * sizeof *emulated);
        select_path("native");
        run_case(pc, native);
        select_path("emulated");
        run_case(pc, emulated);
        for (int64_t j = 0; j < pc->M * pc->N; j++)
            if (bits(native[j]) != bits(emulated[j]))
                fail_msg("case %zu element %lld: native %a, emulated %a", i, (long long)j,
                         (double)native[j], (double)emulated[j]);
        free(native);
        free(emulated);
    }
}

/* Rows [m0, m1) x columns [n0, n1) computed alone give the bits of the whole product. */
static void test_ranges_give_the_same_bits(void **state)
{
    (void)state;
    select_path(nni_bf16_native_supported() ? "native" : "emulated");
    const int64_t M = 50, N = 90, K = 333;
    float *A = random_floats(M * K, 6, 0), *B = random_floats(K * N, 7, 0);
    float *whole = malloc((size_t)(M * N) * sizeof *whole);
    float *parts = malloc((size_t)(M * N) * sizeof *parts);
    nni_gemm_bf16(M, N, K, A, K, 1, B, N, 1, whole, N, 0);
    const int64_t cuts_m[] = {0, 7, 31, M}, cuts_n[] = {0, 45, 61, N};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            nni_gemm_bf16(cuts_m[i + 1] - cuts_m[i], cuts_n[j + 1] - cuts_n[j], K,
                          A + cuts_m[i] * K, K, 1, B + cuts_n[j], N, 1,
                          parts + cuts_m[i] * N + cuts_n[j], N, 0);
    assert_memory_equal(whole, parts, (size_t)(M * N) * sizeof *whole);
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
    assert_non_null(strstr(err.msg, "valid: auto, native, emulated"));
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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_against_references),
        cmocka_unit_test(test_native_equals_emulated),
        cmocka_unit_test(test_ranges_give_the_same_bits),
        cmocka_unit_test(test_path_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

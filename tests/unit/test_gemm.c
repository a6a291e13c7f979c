/* The layers' matrix products (core/gemm.h) against a float64 loop: every shape class
 * (tile edges in M, N and K, k blocks, strided and transposed A, accumulate), and the
 * same bits for a product cut into row or column ranges as for the whole, which is what
 * makes the dense layer's results independent of the thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/product_time.h"
#include "core/rng.h"

static float *random_floats(int64_t n, uint64_t key)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    nni_rng rng = nni_rng_stream(7, NNI_RNG_INIT, key, 0, 0);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)nni_rng_uniform_double(&rng) - 0.5f;
    return p;
}

/* |got - want| within a few float roundings of the sum of |terms|. */
static void assert_close(float got, double want, double magnitude, int64_t k)
{
    const double bound = 4.0 * (double)(k + 2) * 0x1p-24 * (magnitude + fabs(want)) + 1e-30;
    if (!(fabs((double)got - want) <= bound))
        fail_msg("got %.9g, want %.9g (bound %.3g)", (double)got, want, bound);
}

typedef struct dims {
    int64_t m, n, k;
} dims;

/* Tile edges (M not a multiple of the row tile, N of the column tile), K beyond one k
 * block (256; 128 for the AVX-512 wide tiles, whose last panel of 33 to 64 columns is
 * masked), K = 1, and the dense layers' shapes. */
static const dims shapes[] = {
    {1, 1, 1},     {5, 7, 3},     {13, 33, 17},   {24, 16, 256}, {7, 50, 600},
    {16, 10, 176}, {32, 64, 513}, {128, 256, 20}, {3, 100, 1},   {64, 252, 64},
    {13, 100, 300}, {6, 90, 129},
};

static void test_nt_matches_float64(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const dims d = shapes[s];
        const int64_t lda = d.k + 3, ldb = d.k + 1, ldc = d.n + 5;
        float *a = random_floats(d.m * lda, 1), *b = random_floats(d.n * ldb, 2);
        for (int accumulate = 0; accumulate <= 1; accumulate++) {
            float *c = random_floats(d.m * ldc, 3), *c0 = random_floats(d.m * ldc, 3);
            nni_gemm_nt(d.m, d.n, d.k, a, lda, b, ldb, c, ldc, accumulate);
            for (int64_t i = 0; i < d.m; i++)
                for (int64_t j = 0; j < ldc; j++) {
                    if (j >= d.n) { /* columns beyond N are left alone */
                        assert_true(c[i * ldc + j] == c0[i * ldc + j]);
                        continue;
                    }
                    double want = accumulate ? c0[i * ldc + j] : 0, mag = fabs(want);
                    for (int64_t q = 0; q < d.k; q++) {
                        want += (double)a[i * lda + q] * b[j * ldb + q];
                        mag += fabs((double)a[i * lda + q] * b[j * ldb + q]);
                    }
                    assert_close(c[i * ldc + j], want, mag, d.k);
                }
            free(c);
            free(c0);
        }
        free(a);
        free(b);
    }
}

static void test_nn_matches_float64(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const dims d = shapes[s];
        const int64_t ldb = d.n + 2, ldc = d.n + 5;
        float *a = random_floats(d.m * d.k, 4), *b = random_floats(d.k * ldb, 5);
        /* A read as stored (rows of length K) and as the transpose of a K x M matrix. */
        for (int transposed = 0; transposed <= 1; transposed++) {
            const int64_t a_rs = transposed ? 1 : d.k, a_cs = transposed ? d.m : 1;
            for (int accumulate = 0; accumulate <= 1; accumulate++) {
                float *c = random_floats(d.m * ldc, 6), *c0 = random_floats(d.m * ldc, 6);
                nni_gemm_nn(d.m, d.n, d.k, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
                for (int64_t i = 0; i < d.m; i++)
                    for (int64_t j = 0; j < d.n; j++) {
                        double want = accumulate ? c0[i * ldc + j] : 0, mag = fabs(want);
                        for (int64_t q = 0; q < d.k; q++) {
                            const double t = (double)a[i * a_rs + q * a_cs] * b[q * ldb + j];
                            want += t;
                            mag += fabs(t);
                        }
                        assert_close(c[i * ldc + j], want, mag, d.k);
                    }
                free(c);
                free(c0);
            }
        }
        free(a);
        free(b);
    }
}

/* Rows [0, cut) and [cut, M), or columns [0, cut) and [cut, N), computed apart give the
 * whole product's bits. */
static void test_cut_products_same_bits(void **state)
{
    (void)state;
    const int64_t m = 37, n = 45, k = 300;
    float *a = random_floats(m * k, 7), *b = random_floats(n * k, 8), *bt = random_floats(k * n, 9);
    float *whole = malloc(sizeof(float) * (size_t)(m * n));
    float *parts = malloc(sizeof(float) * (size_t)(m * n));
    assert_non_null(whole);
    assert_non_null(parts);
    for (int64_t cut = 1; cut < 20; cut += 3) {
        nni_gemm_nt(m, n, k, a, k, b, k, whole, n, 0);
        nni_gemm_nt(cut, n, k, a, k, b, k, parts, n, 0);
        nni_gemm_nt(m - cut, n, k, a + cut * k, k, b, k, parts + cut * n, n, 0);
        assert_memory_equal(whole, parts, sizeof(float) * (size_t)(m * n));
        nni_gemm_nt(m, cut, k, a, k, b, k, parts, n, 0);
        nni_gemm_nt(m, n - cut, k, a, k, b + cut * k, k, parts + cut, n, 0);
        assert_memory_equal(whole, parts, sizeof(float) * (size_t)(m * n));

        nni_gemm_nn(m, n, k, a, k, 1, bt, n, whole, n, 0);
        nni_gemm_nn(cut, n, k, a, k, 1, bt, n, parts, n, 0);
        nni_gemm_nn(m - cut, n, k, a + cut * k, k, 1, bt, n, parts + cut * n, n, 0);
        assert_memory_equal(whole, parts, sizeof(float) * (size_t)(m * n));
        nni_gemm_nn(m, cut, k, a, k, 1, bt, n, parts, n, 0);
        nni_gemm_nn(m, n - cut, k, a, k, 1, bt + cut, n, parts + cut, n, 0);
        assert_memory_equal(whole, parts, sizeof(float) * (size_t)(m * n));
    }
    free(a);
    free(b);
    free(bt);
    free(whole);
    free(parts);
}

/* The right edge of a product that also has full panels runs in place (AVX-512: masked
 * loads and stores of B and C); a product narrower than a panel packs its columns and goes
 * through a private tile. Columns [0, 32) and [32, N) computed apart (the second piece is
 * then narrower than a panel) give the whole product's bits, with and without accumulate,
 * and nothing beyond N is written: 1x1 convolutions on 14 x 14 images (N = 196 ends in 4
 * columns), small M, and with AVX-512 the wide tiles (6 x 64) against the 12 x 32 ones:
 * Winograd's 252 tiles (a masked last wide panel of 60), 100 columns over three of their
 * k blocks. */
static void test_edge_in_place_same_bits(void **state)
{
    (void)state;
    static const dims edge_shapes[] = {{16, 196, 64}, {64, 45, 32}, {5, 33, 300}, {11, 63, 7},
                                       {64, 252, 64}, {13, 100, 300}, {7, 128, 129},
                                       {6, 97, 5}};
    for (size_t s = 0; s < sizeof edge_shapes / sizeof *edge_shapes; s++) {
        const dims d = edge_shapes[s];
        const int64_t ldc = d.n + 5;
        float *a = random_floats(d.m * d.k, 20), *b = random_floats(d.k * d.n, 21);
        for (int accumulate = 0; accumulate <= 1; accumulate++) {
            float *whole = random_floats(d.m * ldc, 22), *parts = random_floats(d.m * ldc, 22);
            nni_gemm_nn(d.m, d.n, d.k, a, d.k, 1, b, d.n, whole, ldc, accumulate);
            nni_gemm_nn(d.m, 32, d.k, a, d.k, 1, b, d.n, parts, ldc, accumulate);
            nni_gemm_nn(d.m, d.n - 32, d.k, a, d.k, 1, b + 32, d.n, parts + 32, ldc, accumulate);
            assert_memory_equal(whole, parts, sizeof(float) * (size_t)(d.m * ldc));
            float *untouched = random_floats(d.m * ldc, 22);
            for (int64_t i = 0; i < d.m; i++)
                for (int64_t j = d.n; j < ldc; j++)
                    assert_true(whole[i * ldc + j] == untouched[i * ldc + j]);
            free(untouched);
            free(whole);
            free(parts);
        }
        free(a);
        free(b);
    }
}

/* The products' timing (core/product_time.h, for bench_step): nothing is counted while it
 * is off, products are while it is on, and turning it on starts the sum from zero. */
static void test_product_time(void **state)
{
    (void)state;
    enum { M = 64, N = 196, K = 64 };
    float *a = random_floats(M * K, 1), *b = random_floats(K * N, 2);
    float *c = malloc(M * N * sizeof *c);
    assert_non_null(c);
    nni_product_time_enable(0);
    nni_gemm_nn(M, N, K, a, K, 1, b, N, c, N, 0);
    nni_product_time_enable(1);
    assert_true(nni_product_time_seconds() == 0.0);
    for (int i = 0; i < 20; i++) {
        nni_gemm_nn(M, N, K, a, K, 1, b, N, c, N, 0);
        nni_gemm_nt(M, N, K, a, K, b, K, c, N, 0);
    }
    const double counted = nni_product_time_seconds();
    assert_true(counted > 0.0 && counted < 60.0);
    nni_product_time_enable(0);
    nni_gemm_nn(M, N, K, a, K, 1, b, N, c, N, 0);
    assert_true(nni_product_time_seconds() == 0.0);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nt_matches_float64),
        cmocka_unit_test(test_nn_matches_float64),
        cmocka_unit_test(test_cut_products_same_bits),
        cmocka_unit_test(test_edge_in_place_same_bits),
        cmocka_unit_test(test_product_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

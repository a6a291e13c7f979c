/* CKA's defining properties, on random matrices: CKA(X, X) = 1; invariance to an orthogonal
 * transform and to isotropic scaling of X (linear and RBF); near 0 for two independent
 * matrices; minibatch CKA approaches the full value as the batch grows; CKA is symmetric.
 * (Agreement with a NumPy reference is tests/ref/test_study_cka_ref.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "study/cka.h"

static float *random_matrix(int64_t n, int64_t p, uint64_t seed)
{
    float *x = malloc((size_t)(n * p) * sizeof *x);
    nni_rng rng = nni_rng_stream(seed, NNI_RNG_NOISE, 0, 0, 0);
    for (int64_t i = 0; i < n * p; i++)
        x[i] = nni_rng_normal(&rng);
    return x;
}

/* A random p x p orthogonal matrix: Gram-Schmidt on a random one. */
static float *random_orthogonal(int64_t p, uint64_t seed)
{
    double *q = malloc((size_t)(p * p) * sizeof *q);
    nni_rng rng = nni_rng_stream(seed, NNI_RNG_NOISE, 1, 0, 0);
    for (int64_t i = 0; i < p * p; i++)
        q[i] = nni_rng_normal(&rng);
    for (int64_t r = 0; r < p; r++) {
        for (int64_t s = 0; s < r; s++) {
            double d = 0;
            for (int64_t c = 0; c < p; c++)
                d += q[r * p + c] * q[s * p + c];
            for (int64_t c = 0; c < p; c++)
                q[r * p + c] -= d * q[s * p + c];
        }
        double norm = 0;
        for (int64_t c = 0; c < p; c++)
            norm += q[r * p + c] * q[r * p + c];
        for (int64_t c = 0; c < p; c++)
            q[r * p + c] /= sqrt(norm);
    }
    float *out = malloc((size_t)(p * p) * sizeof *out);
    for (int64_t i = 0; i < p * p; i++)
        out[i] = (float)q[i];
    free(q);
    return out;
}

/* scale * x q for x (n x p), q (p x p). */
static float *transform(const float *x, int64_t n, int64_t p, const float *q, float scale)
{
    float *y = calloc((size_t)(n * p), sizeof *y);
    for (int64_t r = 0; r < n; r++)
        for (int64_t k = 0; k < p; k++)
            for (int64_t c = 0; c < p; c++)
                y[r * p + c] += scale * x[r * p + k] * q[k * p + c];
    return y;
}

/* A representation that depends on x: tanh(x w) plus noise (n x q). */
static float *related(const float *x, int64_t n, int64_t p, int64_t q, uint64_t seed)
{
    float *w = random_matrix(p, q, seed);
    float *noise = random_matrix(n, q, seed + 1);
    float *y = malloc((size_t)(n * q) * sizeof *y);
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < q; c++) {
            double s = 0;
            for (int64_t k = 0; k < p; k++)
                s += x[r * p + k] * w[k * q + c];
            y[r * q + c] = (float)tanh(s / sqrt((double)p)) + 0.5f * noise[r * q + c];
        }
    free(w);
    free(noise);
    return y;
}

static double cka2(const float *x, int64_t p, const float *y, int64_t q, int64_t n,
                   nni_cka_kernel kernel, int64_t minibatch)
{
    nni_cka_input a = {x, p}, b = {y, q};
    double value = NAN;
    nn_error err = {0};
    assert_int_equal(nni_cka_matrix(&a, 1, &b, 1, n, kernel, minibatch, &value, &err), NN_OK);
    return value;
}

static void test_self_is_one(void **state)
{
    (void)state;
    const int64_t n = 400, p = 12;
    float *x = random_matrix(n, p, 1);
    assert_true(fabs(cka2(x, p, x, p, n, NNI_CKA_LINEAR, 0) - 1) < 1e-6);
    assert_true(fabs(cka2(x, p, x, p, n, NNI_CKA_RBF, 0) - 1) < 1e-6);
    assert_true(fabs(cka2(x, p, x, p, n, NNI_CKA_LINEAR, 100) - 1) < 1e-6);
    /* The matrix of a list against itself: ones on the diagonal, symmetric. */
    float *y = related(x, n, p, 7, 3);
    nni_cka_input in[2] = {{x, p}, {y, 7}};
    double m[4];
    nn_error err = {0};
    assert_int_equal(nni_cka_matrix(in, 2, in, 2, n, NNI_CKA_LINEAR, 0, m, &err), NN_OK);
    assert_true(fabs(m[0] - 1) < 1e-6 && fabs(m[3] - 1) < 1e-6);
    assert_true(m[1] == m[2] && m[1] > 0.1 && m[1] < 0.99);
    free(x);
    free(y);
}

static void test_orthogonal_and_scale_invariance(void **state)
{
    (void)state;
    const int64_t n = 300, p = 10, q = 6;
    float *x = random_matrix(n, p, 4);
    float *y = related(x, n, p, q, 5);
    float *rot = random_orthogonal(p, 6);
    float *x_rotated = transform(x, n, p, rot, 3.5f);
    for (int k = 0; k < 2; k++) {
        nni_cka_kernel kernel = k ? NNI_CKA_RBF : NNI_CKA_LINEAR;
        double base = cka2(x, p, y, q, n, kernel, 0);
        double moved = cka2(x_rotated, p, y, q, n, kernel, 0);
        assert_true(base > 0.1);
        assert_true(fabs(base - moved) < 1e-5);
        assert_true(fabs(cka2(x, p, x_rotated, p, n, kernel, 0) - 1) < 1e-5);
        /* Symmetric in its arguments. */
        assert_true(fabs(base - cka2(y, q, x, p, n, kernel, 0)) < 1e-6);
    }
    free(x);
    free(y);
    free(rot);
    free(x_rotated);
}

static void test_independent_near_zero(void **state)
{
    (void)state;
    const int64_t n = 4000, p = 8, q = 8;
    float *x = random_matrix(n, p, 7);
    float *y = random_matrix(n, q, 8);
    /* Biased linear CKA of independent data shrinks like p q / n; the unbiased minibatch
     * estimator is centred on 0. */
    assert_true(cka2(x, p, y, q, n, NNI_CKA_LINEAR, 0) < 0.02);
    assert_true(fabs(cka2(x, p, y, q, n, NNI_CKA_LINEAR, 500)) < 0.01);
    assert_true(cka2(x, p, y, q, 2000, NNI_CKA_RBF, 0) < 0.03);
    free(x);
    free(y);
}

/* The unbiased estimator on all n rows at once is the value the batch averages approach
 * (the biased full-data CKA differs from it by O(1/n)). */
static void test_minibatch_converges(void **state)
{
    (void)state;
    const int64_t n = 4000, p = 16, q = 8;
    float *x = random_matrix(n, p, 9);
    float *y = related(x, n, p, q, 10);
    double whole = cka2(x, p, y, q, n, NNI_CKA_LINEAR, n);
    double prev = INFINITY;
    static const int64_t sizes[] = {8, 100, 1000};
    for (int i = 0; i < 3; i++) {
        double err = fabs(cka2(x, p, y, q, n, NNI_CKA_LINEAR, sizes[i]) - whole);
        print_message("minibatch %lld: |CKA - CKA(n)| = %.2e\n", (long long)sizes[i], err);
        assert_true(err < prev);
        prev = err;
    }
    assert_true(fabs(whole - cka2(x, p, y, q, n, NNI_CKA_LINEAR, 0)) < 5e-3);
    free(x);
    free(y);
}

static void test_bad_minibatch(void **state)
{
    (void)state;
    float x[40] = {0};
    nni_cka_input a = {x, 4};
    double value;
    nn_error err = {0};
    assert_int_equal(nni_cka_matrix(&a, 1, &a, 1, 10, NNI_CKA_LINEAR, 3, &value, &err),
                     NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "--minibatch"));
    assert_int_equal(nni_cka_matrix(&a, 1, &a, 1, 10, NNI_CKA_LINEAR, 11, &value, &err),
                     NN_ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_is_one),
        cmocka_unit_test(test_orthogonal_and_scale_invariance),
        cmocka_unit_test(test_independent_near_zero),
        cmocka_unit_test(test_minibatch_converges),
        cmocka_unit_test(test_bad_minibatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

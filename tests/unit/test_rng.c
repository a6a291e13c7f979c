/* Counter-based RNG: streams are pure functions of their key, distinct keys differ, and the
 * distributions have the right moments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "core/rng.h"

static void test_same_key_same_stream(void **state)
{
    (void)state;
    nni_rng a = nni_rng_stream(42, NNI_RNG_DROPOUT, 3, 1234, 7);
    nni_rng b = nni_rng_stream(42, NNI_RNG_DROPOUT, 3, 1234, 7);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(nni_rng_u32(&a), nni_rng_u32(&b));
}

static void test_keys_differ(void **state)
{
    (void)state;
    nni_rng base = nni_rng_stream(42, NNI_RNG_DROPOUT, 3, 1234, 7);
    nni_rng variants[5] = {
        nni_rng_stream(43, NNI_RNG_DROPOUT, 3, 1234, 7),
        nni_rng_stream(42, NNI_RNG_AUGMENT, 3, 1234, 7),
        nni_rng_stream(42, NNI_RNG_DROPOUT, 4, 1234, 7),
        nni_rng_stream(42, NNI_RNG_DROPOUT, 3, 1235, 7),
        nni_rng_stream(42, NNI_RNG_DROPOUT, 3, 1234, 8),
    };
    uint32_t first = nni_rng_u32(&base);
    uint32_t second = nni_rng_u32(&base);
    for (int v = 0; v < 5; v++) {
        uint32_t a = nni_rng_u32(&variants[v]), b = nni_rng_u32(&variants[v]);
        assert_false(a == first && b == second);
    }
}

static void test_known_answer(void **state)
{
    /* Philox4x32-10 known-answer vector from the Random123 distribution: counter and key
     * all zero give 6627e8d5 e169c58d bc57ac4c 9b00dbd8. */
    (void)state;
    nni_rng rng = nni_rng_stream(0, 0, 0, 0, 0);
    assert_int_equal(nni_rng_u32(&rng), 0x6627e8d5u);
    assert_int_equal(nni_rng_u32(&rng), 0xe169c58du);
    assert_int_equal(nni_rng_u32(&rng), 0xbc57ac4cu);
    assert_int_equal(nni_rng_u32(&rng), 0x9b00dbd8u);
}

static void test_uniform_and_normal_moments(void **state)
{
    (void)state;
    nni_rng rng = nni_rng_stream(1, NNI_RNG_NOISE, 0, 0, 0);
    const int n = 200000;
    double su = 0, su2 = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < n; i++) {
        double u = nni_rng_uniform(&rng);
        assert_true(u >= 0 && u < 1);
        su += u;
        su2 += u * u;
        double z = nni_rng_normal(&rng);
        sn += z;
        sn2 += z * z;
    }
    assert_true(fabs(su / n - 0.5) < 0.005);
    assert_true(fabs(su2 / n - su / n * su / n - 1.0 / 12) < 0.002);
    assert_true(fabs(sn / n) < 0.01);
    assert_true(fabs(sn2 / n - 1) < 0.02);
}

static void test_permutation(void **state)
{
    (void)state;
    enum { N = 1000 };
    int64_t p1[N], p2[N], p3[N];
    nni_rng_permutation(5, NNI_RNG_SHUFFLE, 0, p1, N);
    nni_rng_permutation(5, NNI_RNG_SHUFFLE, 0, p2, N);
    nni_rng_permutation(5, NNI_RNG_SHUFFLE, 1, p3, N);
    int seen[N] = {0}, same_as_next_epoch = 0, fixed = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(p1[i], p2[i]);
        assert_true(p1[i] >= 0 && p1[i] < N);
        seen[p1[i]]++;
        same_as_next_epoch += p1[i] == p3[i];
        fixed += p1[i] == i;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_true(same_as_next_epoch < 20);
    assert_true(fixed < 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_key_same_stream),
        cmocka_unit_test(test_keys_differ),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_uniform_and_normal_moments),
        cmocka_unit_test(test_permutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

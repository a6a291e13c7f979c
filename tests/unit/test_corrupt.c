/* Random labels and shuffled pixels: the fraction of redrawn labels is p within sampling
 * error and about p (K-1)/K of them change, unlisted rows keep their labels, a row's new
 * label is the same however the split is sharded, shuffled samples hold the same values in
 * another order (one order for all with `fixed`, one per sample with `random`), and data
 * without class labels is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/corrupt.h"

enum { ROWS = 20000, CLASSES = 10, SIZE = 12 };

static nn_dataset make_labels(int64_t first, int64_t n)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    strcpy(ds.split, "train");
    ds.first = first;
    ds.n = n;
    ds.target_kind = NN_TARGET_LABELS;
    ds.num_classes = CLASSES;
    ds.labels = malloc((size_t)n * sizeof *ds.labels);
    for (int64_t i = 0; i < n; i++)
        ds.labels[i] = (int32_t)((first + i) % CLASSES);
    return ds;
}

static int64_t *range_rows(int64_t n)
{
    int64_t *rows = malloc((size_t)n * sizeof *rows);
    for (int64_t i = 0; i < n; i++)
        rows[i] = i;
    return rows;
}

static void test_fraction_redrawn(void **state)
{
    (void)state;
    const double ps[] = {0.0, 0.1, 0.5, 1.0};
    int64_t *rows = range_rows(ROWS);
    for (int k = 0; k < 4; k++) {
        nn_dataset ds = make_labels(0, ROWS);
        nn_error err = {0};
        int64_t redrawn = -1, changed = 0;
        assert_int_equal(nni_label_noise(&ds, rows, ROWS, ps[k], 7, &redrawn, &err), NN_OK);
        for (int64_t i = 0; i < ROWS; i++)
            changed += ds.labels[i] != (int32_t)(i % CLASSES);
        double p = ps[k], sd = sqrt(p * (1 - p) / ROWS) + 1e-12;
        double expect_changed = p * (CLASSES - 1) / CLASSES;
        double sd_changed = sqrt(expect_changed * (1 - expect_changed) / ROWS) + 1e-12;
        assert_true(fabs((double)redrawn / ROWS - p) <= 5 * sd);
        assert_true(fabs((double)changed / ROWS - expect_changed) <= 5 * sd_changed);
        assert_true(changed <= redrawn);
        for (int64_t i = 0; i < ROWS; i++)
            assert_true(ds.labels[i] >= 0 && ds.labels[i] < CLASSES);
        nn_dataset_free(&ds);
    }
    free(rows);
}

static void test_unlisted_rows_kept(void **state)
{
    (void)state;
    nn_dataset ds = make_labels(0, 1000);
    int64_t rows[500];
    for (int i = 0; i < 500; i++)
        rows[i] = 2 * i; /* even rows train, odd rows are the validation rows */
    nn_error err = {0};
    int64_t redrawn;
    assert_int_equal(nni_label_noise(&ds, rows, 500, 1.0, 3, &redrawn, &err), NN_OK);
    assert_int_equal(redrawn, 500);
    for (int64_t i = 1; i < 1000; i += 2)
        assert_int_equal(ds.labels[i], i % CLASSES);
    nn_dataset_free(&ds);
}

/* Two shards holding rows [0, 700) and [700, 2000) of the file get the labels one process
 * holding all 2000 rows gets. */
static void test_same_labels_in_shards(void **state)
{
    (void)state;
    nn_error err = {0};
    int64_t redrawn, *rows = range_rows(2000);
    nn_dataset whole = make_labels(0, 2000), a = make_labels(0, 700), b = make_labels(700, 1300);
    assert_int_equal(nni_label_noise(&whole, rows, 2000, 0.4, 11, &redrawn, &err), NN_OK);
    assert_int_equal(nni_label_noise(&a, rows, 700, 0.4, 11, &redrawn, &err), NN_OK);
    assert_int_equal(nni_label_noise(&b, rows, 1300, 0.4, 11, &redrawn, &err), NN_OK);
    assert_memory_equal(whole.labels, a.labels, 700 * sizeof *a.labels);
    assert_memory_equal(whole.labels + 700, b.labels, 1300 * sizeof *b.labels);
    /* Another seed gives other labels. */
    nn_dataset other = make_labels(0, 2000);
    assert_int_equal(nni_label_noise(&other, rows, 2000, 0.4, 12, &redrawn, &err), NN_OK);
    assert_true(memcmp(whole.labels, other.labels, 2000 * sizeof *other.labels) != 0);
    nn_dataset_free(&whole);
    nn_dataset_free(&a);
    nn_dataset_free(&b);
    nn_dataset_free(&other);
    free(rows);
}

static void test_values_refused(void **state)
{
    (void)state;
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    strcpy(ds.split, "train");
    ds.target_kind = NN_TARGET_VALUES;
    int64_t row = 0, redrawn;
    nn_error err = {0};
    assert_int_equal(nni_label_noise(&ds, &row, 1, 0.5, 1, &redrawn, &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "label_noise"));
}

static nn_dataset make_images(const char *split, int64_t n)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    strcpy(ds.split, split);
    ds.n = n;
    ds.sample_size = SIZE;
    ds.x_f32 = malloc((size_t)(n * SIZE) * sizeof *ds.x_f32);
    for (int64_t i = 0; i < n * SIZE; i++)
        ds.x_f32[i] = (float)(i % SIZE); /* every sample: 0, 1, ..., SIZE-1 */
    return ds;
}

/* Where each sample's value 0..SIZE-1 went: the permutation, read back. */
static void read_perm(const nn_dataset *ds, int64_t row, int *perm)
{
    int seen[SIZE] = {0};
    for (int i = 0; i < SIZE; i++) {
        perm[i] = (int)ds->x_f32[row * SIZE + i];
        assert_true(perm[i] >= 0 && perm[i] < SIZE);
        seen[perm[i]]++;
    }
    for (int i = 0; i < SIZE; i++)
        assert_int_equal(seen[i], 1);
}

static void test_shuffle_pixels(void **state)
{
    (void)state;
    nn_error err = {0};
    nn_dataset fixed = make_images("train", 50), random = make_images("train", 50),
               test = make_images("test", 50);
    assert_int_equal(nni_shuffle_pixels(&fixed, NNI_PIXELS_FIXED, 5, &err), NN_OK);
    assert_int_equal(nni_shuffle_pixels(&random, NNI_PIXELS_RANDOM, 5, &err), NN_OK);
    assert_int_equal(nni_shuffle_pixels(&test, NNI_PIXELS_RANDOM, 5, &err), NN_OK);
    int first[SIZE], perm[SIZE], identity = 1, distinct_rows = 0, distinct_splits = 0;
    read_perm(&fixed, 0, first);
    for (int i = 0; i < SIZE; i++)
        identity &= first[i] == i;
    assert_false(identity);
    for (int64_t r = 1; r < 50; r++) {
        read_perm(&fixed, r, perm);
        assert_memory_equal(perm, first, sizeof perm);
    }
    int previous[SIZE];
    read_perm(&random, 0, previous);
    for (int64_t r = 1; r < 50; r++) {
        read_perm(&random, r, perm);
        distinct_rows += memcmp(perm, previous, sizeof perm) != 0;
        memcpy(previous, perm, sizeof perm);
        int other[SIZE];
        read_perm(&test, r, other);
        distinct_splits += memcmp(perm, other, sizeof perm) != 0;
    }
    assert_true(distinct_rows >= 45);
    assert_true(distinct_splits >= 45);
    nn_dataset_free(&fixed);
    nn_dataset_free(&random);
    nn_dataset_free(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fraction_redrawn),
        cmocka_unit_test(test_unlisted_rows_kept),
        cmocka_unit_test(test_same_labels_in_shards),
        cmocka_unit_test(test_values_refused),
        cmocka_unit_test(test_shuffle_pixels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

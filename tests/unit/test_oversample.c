/* data.oversample: every class below ratio x the largest gets exactly the rows it lacks;
 * each smote row lies on the segment from a row of its class to one of that row's k nearest
 * rows of the class (found here by brute force), among the listed training rows only (the
 * rest, validation, never serve); random adds repeats of the class's rows; the same seed
 * gives the same rows, another seed others; bad settings and data are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/oversample.h"
#include "gradcheck.h"

enum { ROWS = 260, FEATURES = 3 };

/* Class 0: 200 rows, class 1: 40, class 2: 20, interleaved. */
static nn_dataset make_table(void)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    strcpy(ds.split, "train");
    ds.n = ROWS;
    ds.sample_ndim = 1;
    ds.sample_shape[0] = ds.sample_size = FEATURES;
    ds.scale = 1;
    ds.target_kind = NN_TARGET_LABELS;
    ds.num_classes = 3;
    ds.x_f32 = malloc(ROWS * FEATURES * sizeof *ds.x_f32);
    ds.labels = malloc(ROWS * sizeof *ds.labels);
    nn_test_fill(ds.x_f32, ROWS * FEATURES, 7, -2.0f, 2.0f);
    for (int i = 0; i < ROWS; i++)
        ds.labels[i] = i % 13 == 0 ? 2 : i % 13 < 3 ? 1 : 0;
    return ds;
}

static int64_t *rows_except_every(int skip, int64_t *n)
{
    int64_t *rows = malloc(ROWS * sizeof *rows);
    *n = 0;
    for (int64_t i = 0; i < ROWS; i++)
        if (i % skip != 5)
            rows[(*n)++] = i;
    return rows;
}

static double dist2(const float *a, const float *b)
{
    double s = 0;
    for (int f = 0; f < FEATURES; f++)
        s += ((double)a[f] - b[f]) * ((double)a[f] - b[f]);
    return s;
}

/* Is p = a + u (b - a) for some u in [0, 1]? */
static int on_segment(const float *p, const float *a, const float *b)
{
    double ab = dist2(a, b);
    if (ab == 0)
        return dist2(p, a) < 1e-10;
    double u = 0;
    for (int f = 0; f < FEATURES; f++)
        u += ((double)p[f] - a[f]) * ((double)b[f] - a[f]);
    u /= ab;
    if (u < -1e-6 || u > 1 + 1e-6)
        return 0;
    for (int f = 0; f < FEATURES; f++)
        if (fabs(a[f] + u * (b[f] - a[f]) - p[f]) > 1e-5)
            return 0;
    return 1;
}

/* Whether b is among the k nearest of a within `members` (ties allowed either way). */
static int among_nearest(const nn_dataset *ds, const int64_t *members, int64_t n, int64_t a,
                         int64_t b, int64_t k)
{
    const float *xa = ds->x_f32 + a * FEATURES;
    const double d = dist2(xa, ds->x_f32 + b * FEATURES);
    int64_t closer = 0;
    for (int64_t i = 0; i < n; i++)
        if (members[i] != a && dist2(xa, ds->x_f32 + members[i] * FEATURES) < d)
            closer++;
    return closer < k;
}

static void test_smote_rows_and_counts(void **state)
{
    (void)state;
    nn_dataset ds = make_table();
    int64_t n_rows, added;
    int64_t *rows = rows_except_every(10, &n_rows); /* every 10th row is validation */
    int64_t count[3] = {0};
    for (int64_t i = 0; i < n_rows; i++)
        count[ds.labels[rows[i]]]++;
    const nni_oversample o = {.method = NNI_OVERSAMPLE_SMOTE, .k = 5, .ratio = 0.5};
    const int64_t old_rows = n_rows;
    assert_int_equal(nni_oversample_apply(&o, &ds, &rows, &n_rows, 42, &added, NULL), NN_OK);
    const int64_t goal = (int64_t)floor(0.5 * (double)count[0]);
    const int64_t want = (goal - count[1]) + (goal - count[2]);
    assert_int_equal(added, want);
    assert_int_equal(n_rows, old_rows + want);
    assert_int_equal(ds.n, ROWS + want);
    int64_t after[3] = {0};
    for (int64_t i = 0; i < n_rows; i++)
        after[ds.labels[rows[i]]]++;
    assert_int_equal(after[0], count[0]);
    assert_int_equal(after[1], goal);
    assert_int_equal(after[2], goal);
    for (int64_t i = old_rows; i < n_rows; i++) {
        const int64_t r = rows[i];
        assert_true(r >= ROWS); /* appended */
        const int32_t c = ds.labels[r];
        int64_t members[ROWS], m = 0;
        for (int64_t j = 0; j < old_rows; j++)
            if (ds.labels[rows[j]] == c)
                members[m++] = rows[j];
        int found = 0;
        for (int64_t a = 0; a < m && !found; a++)
            for (int64_t b = 0; b < m && !found; b++)
                found = a != b && among_nearest(&ds, members, m, members[a], members[b], 5) &&
                        on_segment(ds.x_f32 + r * FEATURES, ds.x_f32 + members[a] * FEATURES,
                                   ds.x_f32 + members[b] * FEATURES);
        if (!found)
            fail_msg("synthetic row %lld (class %d) is on no segment to a 5-nearest neighbour "
                     "among the training rows of its class", (long long)r, c);
    }
    free(rows);
    nn_dataset_free(&ds);
}

static void test_same_seed_same_rows(void **state)
{
    (void)state;
    float *first = NULL;
    int64_t first_n = 0;
    for (int run = 0; run < 3; run++) {
        nn_dataset ds = make_table();
        int64_t n_rows, added;
        int64_t *rows = rows_except_every(ROWS, &n_rows);
        const nni_oversample o = {.method = NNI_OVERSAMPLE_SMOTE, .k = 3, .ratio = 1.0};
        assert_int_equal(nni_oversample_apply(&o, &ds, &rows, &n_rows, run < 2 ? 7 : 8, &added,
                                              NULL), NN_OK);
        assert_int_equal(added, (199 - 40) + (199 - 20)); /* row 5 (class 0) left out */
        if (run == 0) {
            first_n = ds.n * FEATURES;
            first = malloc((size_t)first_n * sizeof *first);
            memcpy(first, ds.x_f32, (size_t)first_n * sizeof *first);
        } else {
            assert_int_equal(ds.n * FEATURES, first_n);
            int same = memcmp(first, ds.x_f32, (size_t)first_n * sizeof *first) == 0;
            assert_int_equal(same, run == 1);
        }
        free(rows);
        nn_dataset_free(&ds);
    }
    free(first);
}

static void test_random_repeats(void **state)
{
    (void)state;
    nn_dataset ds = make_table();
    int64_t n_rows, added;
    int64_t *rows = rows_except_every(10, &n_rows);
    const int64_t old_rows = n_rows;
    const nni_oversample o = {.method = NNI_OVERSAMPLE_RANDOM, .k = 5, .ratio = 1.0};
    assert_int_equal(nni_oversample_apply(&o, &ds, &rows, &n_rows, 1, &added, NULL), NN_OK);
    assert_int_equal(ds.n, ROWS); /* no new samples: repeated indices */
    int64_t after[3] = {0};
    for (int64_t i = 0; i < n_rows; i++)
        after[ds.labels[rows[i]]]++;
    assert_int_equal(after[1], after[0]);
    assert_int_equal(after[2], after[0]);
    for (int64_t i = old_rows; i < n_rows; i++) {
        int listed = 0;
        for (int64_t j = 0; j < old_rows && !listed; j++)
            listed = rows[j] == rows[i];
        assert_true(listed); /* a training row, never a validation row */
    }
    free(rows);
    nn_dataset_free(&ds);
}

static void test_refusals(void **state)
{
    (void)state;
    nn_dataset ds = make_table();
    /* rows 0, 1, 4, 3: classes 2, 1, 0, 0: one row of class 1 */
    int64_t *list = malloc(4 * sizeof *list), n = 4, added;
    list[0] = 0, list[1] = 1, list[2] = 4, list[3] = 3;
    nn_error err = {0};
    const nni_oversample o = {.method = NNI_OVERSAMPLE_SMOTE, .k = 5, .ratio = 1.0};
    assert_int_equal(nni_oversample_apply(&o, &ds, &list, &n, 1, &added, &err), NN_ERR_DATA);
    assert_non_null(strstr(err.msg, "class 1 has 1 training row: smote needs 2 or more"));
    free(list);
    free(ds.x_f32);
    ds.x_f32 = NULL;
    ds.x_is_uint8 = 1;
    ds.x_u8 = calloc(ROWS * FEATURES, 1);
    int64_t m;
    list = rows_except_every(ROWS, &m);
    assert_int_equal(nni_oversample_apply(&o, &ds, &list, &m, 1, &added, &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "uint8 samples (method: random repeats rows instead)"));
    free(list);
    nn_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smote_rows_and_counts),
        cmocka_unit_test(test_same_seed_same_rows),
        cmocka_unit_test(test_random_repeats),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

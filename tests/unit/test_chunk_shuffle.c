/* data.shuffle: chunks: each epoch's order is a permutation of the training rows; every
 * window of W chunks' rows in the order comes from W chunks only (rows of one chunk never
 * scattered over the epoch); the chunks come in another order each epoch and the rows of a
 * window are mixed (not in file order); the same seed and epoch give the same order; training
 * rows with gaps (a validation carve-out) group by the chunk their file rows lie in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "data/chunk_shuffle.h"

enum { ROWS = 1000, CHUNK = 64, WINDOW = 3, FIRST = 40 };

static int64_t *all_rows(int64_t n, int every_tenth_missing, int64_t *count)
{
    int64_t *rows = malloc((size_t)n * sizeof *rows);
    *count = 0;
    for (int64_t i = 0; i < n; i++)
        if (!every_tenth_missing || i % 10 != 3)
            rows[(*count)++] = i;
    return rows;
}

static void check_order(int gaps)
{
    int64_t n = 0;
    int64_t *rows = all_rows(ROWS, gaps, &n);
    nni_chunk_shuffle cs = {.enabled = 1, .chunk_rows = CHUNK, .window = WINDOW};
    nn_error err = {0};
    assert_int_equal(nni_chunk_shuffle_plan(&cs, rows, n, FIRST, &err), NN_OK);
    /* file rows 40..1039 in chunks of 64: rows 0-23 in chunk 0, then full chunks, then 15 */
    assert_int_equal(cs.n_groups, (FIRST + ROWS - 1) / CHUNK + 1);
    int64_t *perm = malloc((size_t)n * sizeof *perm), *again = malloc((size_t)n * sizeof *again);
    int64_t *next = malloc((size_t)n * sizeof *next);
    char *seen = calloc((size_t)n, 1);
    nni_chunk_shuffle_epoch(&cs, 7, 0, perm);
    for (int64_t i = 0; i < n; i++) {
        assert_true(perm[i] >= 0 && perm[i] < n);
        assert_false(seen[perm[i]]);
        seen[perm[i]] = 1;
    }
    /* Walking the order, the chunks met so far number at most WINDOW more than the windows
     * completed: a chunk's rows all lie inside one window. */
    int64_t chunk_first_seen[64], n_seen = 0, in_file_order = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t chunk = (FIRST + rows[perm[i]]) / CHUNK;
        int known = 0;
        for (int64_t c = 0; c < n_seen; c++)
            known |= chunk_first_seen[c] == chunk;
        if (!known)
            chunk_first_seen[n_seen++] = chunk;
        if (!known && n_seen % WINDOW == 1 && n_seen > 1) /* a new window opens: the last */
            for (int64_t j = i; j < n; j++)                /* window's chunks are done */
                for (int64_t c = 0; c + 1 < n_seen; c++)
                    assert_int_not_equal((FIRST + rows[perm[j]]) / CHUNK, chunk_first_seen[c]);
        in_file_order += i > 0 && perm[i] == perm[i - 1] + 1;
    }
    assert_int_equal(n_seen, cs.n_groups);
    assert_true(in_file_order < n / 10); /* rows mixed inside the windows */
    int chunks_in_order = 1;
    for (int64_t c = 1; c < n_seen; c++)
        chunks_in_order &= chunk_first_seen[c] == chunk_first_seen[c - 1] + 1;
    assert_false(chunks_in_order);
    nni_chunk_shuffle_epoch(&cs, 7, 0, again);
    assert_memory_equal(perm, again, (size_t)n * sizeof *perm);
    nni_chunk_shuffle_epoch(&cs, 7, 1, next);
    assert_memory_not_equal(perm, next, (size_t)n * sizeof *perm);
    nni_chunk_shuffle_epoch(&cs, 8, 0, next);
    assert_memory_not_equal(perm, next, (size_t)n * sizeof *perm);
    free(perm);
    free(again);
    free(next);
    free(seen);
    free(rows);
    nni_chunk_shuffle_free(&cs);
}

static void test_order_all_rows(void **state)
{
    (void)state;
    check_order(0);
}

static void test_order_with_gaps(void **state)
{
    (void)state;
    check_order(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_all_rows),
        cmocka_unit_test(test_order_with_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

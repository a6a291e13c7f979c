/* The bitwise mode's fixed order of sums over units (src/parallel/unit_tree.h):
 *  - the stack of nni_tree_sum gives the tree's definition, written out here recursively:
 *    the blocks of the unit count's binary expansion, each a perfect tree of left + right,
 *    added left to right;
 *  - the covers of any split of the units into consecutive runs ("ranks"), pushed in unit
 *    order, finish to the same bits as every unit pushed alone, also with runs that hold
 *    several separate stretches (micro-batches);
 *  - the order matters: a plain running sum gives other bits for the same values (so the
 *    tests above could fail), and cover sizes are as small as stated;
 *  - nni_gemm_nn_units (a dense layer's weight gradient summed over units inside the product)
 *    gives the bits of nni_gemm_nn per unit pushed into the tree, in every kernel set, at the
 *    right edge of the tiles, with units longer than the product's k block, and for a run of
 *    units that starts inside the tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernel_set.h"
#include "gradcheck.h"
#include "parallel/unit_tree.h"

enum { LEN = 37, MAX_UNITS = 70 };

/* The perfect tree over units [first, first + 2^level): left + right. */
static void perfect(const float *units, int64_t first, int level, float *out)
{
    if (level == 0) {
        memcpy(out, units + first * LEN, LEN * sizeof *out);
        return;
    }
    float left[LEN], right[LEN];
    perfect(units, first, level - 1, left);
    perfect(units, first + ((int64_t)1 << (level - 1)), level - 1, right);
    for (int i = 0; i < LEN; i++)
        out[i] = left[i] + right[i];
}

/* The definition: U's binary expansion, biggest block first, blocks added left to right. */
static void by_definition(const float *units, int64_t count, float *out)
{
    int64_t first = 0;
    int started = 0;
    for (int level = 62; level >= 0; level--) {
        if (!(count >> level & 1))
            continue;
        float block[LEN];
        perfect(units, first, level, block);
        for (int i = 0; i < LEN; i++)
            out[i] = started ? out[i] + block[i] : block[i];
        started = 1;
        first += (int64_t)1 << level;
    }
}

/* Every unit pushed on its own. */
static void pushed(nni_tree_sum *sum, const float *units, int64_t count, float *out)
{
    nni_tree_sum_start(sum);
    for (int64_t j = 0; j < count; j++)
        nni_tree_sum_push(sum, (nni_tree_node){.first = j}, units + j * LEN);
    nni_tree_sum_finish(sum, out);
}

/* "Ranks" holding the units whose owner[] is theirs: each adds up its cover, whose nodes
 * (copied out) are then pushed in unit order into one sum. */
static void by_ranks(const float *units, int64_t count, const int *owner, int ranks,
                     float *out)
{
    static float nodes[MAX_UNITS][LEN];
    nni_tree_node node[MAX_UNITS];
    int n = 0;
    nni_tree_sum local, global;
    assert_true(nni_tree_sum_alloc(&local, MAX_UNITS + 2, LEN));
    assert_true(nni_tree_sum_alloc(&global, MAX_UNITS + 2, LEN));
    for (int r = 0; r < ranks; r++) {
        nni_tree_sum_start(&local);
        for (int64_t j = 0; j < count; j++)
            if (owner[j] == r)
                nni_tree_sum_push(&local, (nni_tree_node){.first = j}, units + j * LEN);
        for (int k = 0; k < local.depth; k++, n++) {
            node[n] = local.node[k];
            memcpy(nodes[n], local.value[k], sizeof nodes[n]);
        }
    }
    /* in unit order, as the trainer sorts them */
    nni_tree_sum_start(&global);
    for (int64_t j = 0; j < count; j++)
        for (int k = 0; k < n; k++)
            if (node[k].first == j)
                nni_tree_sum_push(&global, node[k], nodes[k]);
    nni_tree_sum_finish(&global, out);
    nni_tree_sum_free(&local);
    nni_tree_sum_free(&global);
}

static float *unit_values(int64_t count, uint64_t seed)
{
    float *units = malloc((size_t)(count * LEN) * sizeof *units);
    nn_test_fill(units, count * LEN, seed, -1.0f, 1.0f);
    for (int64_t i = 0; i < count * LEN; i++) /* magnitudes spread so that order shows */
        units[i] *= (float)(1 << (i * 7 % 13));
    return units;
}

static void test_stack_is_the_definition(void **state)
{
    (void)state;
    nni_tree_sum sum;
    assert_true(nni_tree_sum_alloc(&sum, 66, LEN));
    for (int64_t count = 1; count <= MAX_UNITS; count++) {
        float *units = unit_values(count, (uint64_t)count);
        float want[LEN], got[LEN];
        by_definition(units, count, want);
        pushed(&sum, units, count, got);
        assert_memory_equal(want, got, sizeof got);
        free(units);
    }
    nni_tree_sum_free(&sum);
}

static void test_any_split_same_bits(void **state)
{
    (void)state;
    int owner[MAX_UNITS];
    for (int64_t count = 1; count <= MAX_UNITS; count += 3) {
        float *units = unit_values(count, 100 + (uint64_t)count);
        float want[LEN], got[LEN];
        by_definition(units, count, want);
        for (int ranks = 1; ranks <= 8; ranks++) {
            /* consecutive even shares, as the sampler gives */
            for (int64_t j = 0; j < count; j++)
                owner[j] = (int)(j * ranks / count);
            by_ranks(units, count, owner, ranks, got);
            assert_memory_equal(want, got, sizeof got);
            /* three micro-batches: each rank holds one stretch of each third */
            for (int64_t j = 0; j < count; j++) {
                const int64_t third = (count + 2) / 3, in = j % third;
                const int64_t size = j / third < 2 ? third : count - 2 * third;
                owner[j] = (int)(in * ranks / (size > 0 ? size : 1));
            }
            by_ranks(units, count, owner, ranks, got);
            assert_memory_equal(want, got, sizeof got);
        }
        free(units);
    }
}

/* The nodes of units [first, end)'s cover (nodes only: no values). */
static int cover_size(int64_t first, int64_t end)
{
    nni_tree_sum sum;
    assert_true(nni_tree_sum_alloc(&sum, 66, 0));
    nni_tree_sum_start(&sum);
    for (int64_t j = first; j < end; j++)
        nni_tree_sum_push(&sum, (nni_tree_node){.first = j}, NULL);
    const int depth = sum.depth;
    nni_tree_sum_free(&sum);
    return depth;
}

static void test_order_matters_and_covers_are_small(void **state)
{
    (void)state;
    enum { COUNT = 12 };
    float *units = unit_values(COUNT, 7);
    float tree[LEN], running[LEN];
    by_definition(units, COUNT, tree);
    memcpy(running, units, sizeof running);
    for (int j = 1; j < COUNT; j++)
        for (int i = 0; i < LEN; i++)
            running[i] += units[j * LEN + i];
    assert_true(memcmp(tree, running, sizeof tree) != 0);
    free(units);
    assert_int_equal(cover_size(0, 8), 1);
    assert_int_equal(cover_size(0, 12), 2); /* [0, 8) [8, 12) */
    assert_int_equal(cover_size(3, 8), 2);  /* [3, 4) [4, 8) */
    assert_int_equal(cover_size(1, 15), 6); /* 1, 2-3, 4-7, 8-11, 12-13, 14 */
    assert_int_equal(cover_size(5, 5), 0);
}

/* One shape: M x N, K rows in units of unit_k, the units numbered from first_id. */
static void check_units_product(const nni_kernel_set *set, int64_t M, int64_t N, int64_t K,
                                int64_t unit_k, int64_t first_id)
{
    const int64_t units = (K + unit_k - 1) / unit_k, a_rs = 1, a_cs = M + 3, ldb = N + 5;
    float *A = malloc((size_t)(K * a_cs) * sizeof *A), *B = malloc((size_t)(K * ldb) * sizeof *B);
    nn_test_fill(A, K * a_cs, 11, -1.0f, 1.0f);
    nn_test_fill(B, K * ldb, 12, -1.0f, 1.0f);
    int64_t ids[64];
    for (int64_t u = 0; u < units; u++)
        ids[u] = first_id + u;
    /* the reference: each unit's product alone, then the tree over the whole matrix */
    float *products = malloc((size_t)(units * M * N) * sizeof *products);
    for (int64_t u = 0; u < units; u++) {
        const int64_t k0 = u * unit_k, kc = K - k0 < unit_k ? K - k0 : unit_k;
        set->gemm_nn(M, N, kc, A + k0 * a_cs, a_rs, a_cs, B + k0 * ldb, ldb,
                     products + u * M * N, N, 0);
    }
    nni_tree_sum tree;
    assert_true(nni_tree_sum_alloc(&tree, 66, M * N));
    nni_tree_sum_start(&tree);
    for (int64_t u = 0; u < units; u++)
        nni_tree_sum_push(&tree, (nni_tree_node){.first = ids[u]}, products + u * M * N);
    const int64_t stride = M * N + 7;
    float *nodes = calloc((size_t)(tree.depth * stride), sizeof *nodes);
    set->gemm_nn_units(M, N, K, unit_k, ids, A, a_rs, a_cs, B, ldb, nodes, stride, N);
    for (int k = 0; k < tree.depth; k++)
        if (memcmp(nodes + k * stride, tree.value[k], (size_t)(M * N) * sizeof *nodes) != 0)
            fail_msg("%s: %lld x %lld, K %lld in units of %lld from %lld: node %d differs",
                     set->name, (long long)M, (long long)N, (long long)K, (long long)unit_k,
                     (long long)first_id, k);
    assert_true(tree.depth >= 1);
    nni_tree_sum_free(&tree);
    free(nodes);
    free(products);
    free(A);
    free(B);
}

static void test_units_product_same_bits(void **state)
{
    (void)state;
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (int s = 0; s < count; s++) {
        if (!sets[s].supported())
            continue;
        check_units_product(&sets[s], 13, 45, 100, 7, 0);   /* 15 units, a right edge */
        check_units_product(&sets[s], 64, 784, 128, 32, 4); /* the MLP's fc1 on rank 1 of 2 */
        check_units_product(&sets[s], 5, 9, 37, 4, 3);      /* a run from unit 3 */
        check_units_product(&sets[s], 12, 32, 700, 300, 1); /* units beyond one k block */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_is_the_definition),
        cmocka_unit_test(test_any_split_same_bits),
        cmocka_unit_test(test_order_matters_and_covers_are_small),
        cmocka_unit_test(test_units_product_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

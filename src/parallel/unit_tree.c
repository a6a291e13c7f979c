/* The canonical tree of the bitwise mode's sums over units (see unit_tree.h). */
#include "unit_tree.h"

#include <stdlib.h>
#include <string.h>

static void add(const float *a, const float *b, int64_t len, float *out)
{
    for (int64_t i = 0; i < len; i++)
        out[i] = a[i] + b[i];
}

int nni_tree_sum_alloc(nni_tree_sum *sum, int capacity, int64_t len)
{
    memset(sum, 0, sizeof *sum);
    sum->add = add;
    sum->capacity = capacity;
    sum->len = len;
    sum->node = malloc((size_t)capacity * sizeof *sum->node);
    sum->value = malloc((size_t)capacity * sizeof *sum->value);
    sum->scratch = malloc(((size_t)capacity * (size_t)len + 1) * sizeof *sum->scratch);
    return sum->node && sum->value && sum->scratch;
}

void nni_tree_sum_free(nni_tree_sum *sum)
{
    free(sum->node);
    free(sum->value);
    free(sum->scratch);
    memset(sum, 0, sizeof *sum);
}

void nni_tree_sum_start(nni_tree_sum *sum)
{
    sum->depth = 0;
}

/* The top two waiting nodes are the two children of one node. */
static int siblings(const nni_tree_sum *sum)
{
    if (sum->depth < 2)
        return 0;
    const nni_tree_node left = sum->node[sum->depth - 2], right = sum->node[sum->depth - 1];
    return left.level == right.level && ((left.first >> left.level) & 1) == 0 &&
           right.first == left.first + ((int64_t)1 << left.level);
}

void nni_tree_sum_push(nni_tree_sum *sum, nni_tree_node node, const float *value)
{
    sum->node[sum->depth] = node;
    sum->value[sum->depth] = value;
    sum->depth++;
    while (siblings(sum)) {
        const int at = sum->depth - 2;
        /* Into the left child's place in the scratch (where it may be already). */
        float *out = sum->scratch + (int64_t)at * sum->len;
        sum->add(sum->value[at], sum->value[at + 1], sum->len, out);
        sum->value[at] = out;
        sum->node[at].level++;
        sum->depth--;
    }
}

void nni_tree_sum_finish(nni_tree_sum *sum, float *out)
{
    if (sum->depth == 0) {
        memset(out, 0, (size_t)sum->len * sizeof *out);
        return;
    }
    if (sum->value[0] != out)
        memmove(out, sum->value[0], (size_t)sum->len * sizeof *out);
    for (int k = 1; k < sum->depth; k++)
        sum->add(out, sum->value[k], sum->len, out);
}

/* The fixed order in which train.reproducible: bitwise adds the gradients of a step's units
 * (train/reproducible.c), wherever they were computed.
 *
 * The units of a step, numbered 0 .. U-1 in global order, are the leaves of one binary tree
 * that depends on U alone: a node of level L is the sum of the 2^L units from a multiple of
 * 2^L, left child + right child; the top is the blocks of U's binary expansion, largest
 * first ([0, 8) and [8, 12) for U = 12), added left to right. A rank that holds units
 * [a, b) adds up the largest whole nodes inside them (its cover: [3, 4) and [4, 8) for
 * units 3 .. 7), and any set of ranks whose covers together cover [0, U) finishes the tree
 * from them: the sum is the same floats, in the same order, for any number of ranks.
 *
 * Sums are taken over `len` elements at a time (a chunk of a tensor): nni_tree_sum_push
 * takes nodes in unit order and adds each pair of siblings as soon as both are there, so
 * at most one node per level (and one per gap between a rank's units) waits. */
#ifndef NN_PARALLEL_UNIT_TREE_H
#define NN_PARALLEL_UNIT_TREE_H

#include <stdint.h>

typedef struct nni_tree_node {
    int64_t first; /* first unit */
    int level;     /* 2^level units */
} nni_tree_node;

typedef struct nni_tree_sum {
    int depth, capacity; /* nodes waiting, and room for */
    nni_tree_node *node;
    const float **value; /* len floats each */
    float *scratch;      /* capacity x len: the sums made */
    int64_t len;
    /* out[i] = a[i] + b[i] for i < len (out may be a): elementwise, so any vector width
     * gives the same bits; a product kernel sets its own. */
    void (*add)(const float *a, const float *b, int64_t len, float *out);
} nni_tree_sum;

/* Room for `capacity` waiting nodes of len values: the cover of the units pushed so far,
 * plus one (a prefix of all units leaves at most 64). Returns 0 when out of memory. */
int nni_tree_sum_alloc(nni_tree_sum *sum, int capacity, int64_t len);
void nni_tree_sum_free(nni_tree_sum *sum);

void nni_tree_sum_start(nni_tree_sum *sum);
/* The next node in unit order, and its len values (read until the sum is finished or the
 * node is added to a sibling). */
void nni_tree_sum_push(nni_tree_sum *sum, nni_tree_node node, const float *value);
/* After the last node of every unit: the nodes left (the top blocks) added left to right
 * into out (len floats). */
void nni_tree_sum_finish(nni_tree_sum *sum, float *out);

#endif

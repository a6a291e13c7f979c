/* Which ranks of a group share a node, and one leader per node: the layout behind the node
 * shared memory (shm.h), the sums between nodes (shared_sum.h) and the node's copy of the
 * data (data/node_cache.h).
 *
 * Nodes are what MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) finds. For tests only, the
 * environment variable NN_TEST_RANKS_PER_NODE=k cuts them further into simulated nodes of k
 * consecutive world ranks, so that one machine runs the code paths of a job on several
 * nodes (np=4 with k=2: 2 nodes x 2 ranks). Every rank of the job must see the same value
 * (mpirun -x NN_TEST_RANKS_PER_NODE). */
#ifndef NN_PARALLEL_NODE_GROUP_H
#define NN_PARALLEL_NODE_GROUP_H

#include "nn/parallel.h"

typedef struct nni_node_group {
    nn_comm node;    /* the group's ranks on this node, in group order */
    nn_comm leaders; /* the first rank of every node, in group order; size 0 on the others */
    int nodes;       /* nodes the group spans */
    int open;
} nni_node_group;

/* NN_TEST_RANKS_PER_NODE: 0 when not set; NN_ERR_CONFIG when it is not a whole number >= 1. */
nn_status nni_node_simulated_ranks(int *ranks_per_node, nn_error *err);

/* Collective over the group: its ranks on this node (real or simulated). */
nn_status nni_node_split(const nn_comm *group, nn_comm *node, nn_error *err);

/* Collective over the group: the node, the leaders and the count of nodes. */
nn_status nni_node_group_open(const nn_comm *group, nni_node_group *out, nn_error *err);
void nni_node_group_close(nni_node_group *group);

#endif

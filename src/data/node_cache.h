/* One read-only copy of each data split per node (`data.cache: node`): the ranks of a node
 * share it in node shared memory (the mechanism of the gradient sums, parallel/shm.h)
 * instead of holding a copy each. */
#ifndef NNI_DATA_NODE_CACHE_H
#define NNI_DATA_NODE_CACHE_H

#include <stdint.h>

#include "data/file_list.h"
#include "nn/data.h"
#include "nn/error.h"
#include "nn/parallel.h"

typedef struct nni_node_cache {
    const nn_comm *group; /* the training group */
    nn_comm node;         /* its ranks on this node */
    int nodes;            /* nodes the group spans */
    int open;
} nni_node_cache;

/* Collective over the group: finds the ranks that share this node. */
nn_status nni_node_cache_open(const nn_comm *group, nni_node_cache *cache, nn_error *err);
void nni_node_cache_close(nni_node_cache *cache);
/* 1 on the node's first rank, which alone changes shared data before nni_node_cache_seal
 * (label noise, pixel shuffles). */
int nni_node_cache_leader(const nni_node_cache *cache);

/* Collective over the group: loads rows [first, first + count) of a split (count < 0: the
 * whole split, first 0) into one mapping shared by the node's ranks, each rank reading its
 * contiguous share of the rows from the files (every value checked as nni_file_list_load
 * does). On return ds looks like a loaded dataset whose x and targets point into the mapping
 * (ds->mapping); nn_dataset_free unmaps it. A failure on any rank fails every rank: the rank
 * that met it with its own message, the others with the status it had. */
nn_status nni_node_cache_load(nni_node_cache *cache, const nni_file_list *files,
                              const char *split,
                              const nn_dataset_source *src, int64_t first, int64_t count,
                              nn_dataset *ds, nn_error *err);

/* Collective over the node: waits until the leader's changes are done, then maps the splits'
 * shared arrays read-only in this rank. */
void nni_node_cache_seal(const nni_node_cache *cache, nn_dataset *const *splits, int n);

#endif

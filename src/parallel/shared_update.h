/* The optimizer update shared by the ranks of one node.
 *
 * Every rank of a data-parallel group holds the same parameters and, after the gradient
 * sum, the same gradients; updating all of them on every rank repeats the same work (for
 * Adam, a pass over five buffers the size of the model) once per rank. Here the optimizer's
 * slots live in memory shared by the ranks, and each rank updates only its own range of the
 * parameters: the update costs each rank 1/size of the time. The ranks then exchange their
 * ranges through the mapping. Results are the same bits as a whole update on every rank
 * (the update is elementwise, or per tensor for optimizers that read whole tensors: their
 * ranges hold whole tensors). */
#ifndef NN_SHARED_UPDATE_H
#define NN_SHARED_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/parallel.h"

typedef struct nni_shared_update nni_shared_update;

/* Collective over the group. `floats` parameters and `slots` buffers of as many floats;
 * the ranks' ranges are cut only at the offsets in `cuts` (sorted, each < floats). Sets
 * *out to NULL and returns NN_OK when the shared memory cannot be had; `why` then says why. */
nn_status nni_shared_update_create(const nn_comm *comm, int64_t floats, int slots,
                                   const int64_t *cuts, int n_cuts, nni_shared_update **out,
                                   char *why, size_t why_size, nn_error *err);
/* Local: unmaps this rank's view. */
void nni_shared_update_free(nni_shared_update *update);
float *nni_shared_update_slot(const nni_shared_update *update, int k);
/* This rank's range of parameter offsets. */
void nni_shared_update_range(const nni_shared_update *update, int64_t *first, int64_t *end);
/* The ranges of every rank: rank r's is [starts[r], starts[r + 1]), size + 1 entries. */
const int64_t *nni_shared_update_starts(const nni_shared_update *update);
/* After this rank has updated its range of `params` (its own copy): hands the range to the
 * other ranks, waits until every rank has, and copies theirs into `params`. */
void nni_shared_update_exchange(nni_shared_update *update, float *params);

#endif

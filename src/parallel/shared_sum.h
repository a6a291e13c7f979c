/* Gradient sums through memory shared by the ranks of one node.
 *
 * Every rank's gradient buffer lives in one shared mapping, beside the others'. When a
 * bucket's gradients are final on every rank, each rank sums its own slice of the bucket
 * over all the buffers (in rank order, so every rank gets the same bits) and writes the sum
 * back into every buffer. Nothing is copied through message queues, no rank waits for
 * another to make progress inside an MPI call, and a rank that is ahead sums its slices as
 * soon as the others' gradients are there. For a group on one node, or, when the group spans
 * nodes, for the ranks of one node: the node's first rank then sums each bucket over the
 * nodes among one leader per node (MPI_Iallreduce, started as soon as the node has summed the
 * bucket, so during backward) and the other ranks of the node copy the result. */
#ifndef NN_SHARED_SUM_H
#define NN_SHARED_SUM_H

#include <stddef.h>
#include <stdint.h>

#include "nn/parallel.h"

typedef struct nni_shared_sum nni_shared_sum;

/* Collective over `comm` (the group, or this node's ranks of it). Maps `floats` floats per
 * rank; bucket b is [bounds[2b], bounds[2b + 1]). `leaders`: NULL when comm is the whole
 * group; else the group of every node's first rank, read on this node's first rank only (the
 * pointer must stay valid). Sets *out to NULL and returns NN_OK when the ranks do not share a
 * node or the shared memory cannot be had; `why` then says which. */
nn_status nni_shared_sum_create(const nn_comm *comm, const nn_comm *leaders, int64_t floats,
                                int n_buckets, const int64_t *bounds, nni_shared_sum **out,
                                char *why, size_t why_size, nn_error *err);
/* Local: unmaps this rank's view (the memory goes when the last rank lets go of it). */
void nni_shared_sum_free(nni_shared_sum *sum);
/* This rank's gradient buffer inside the mapping. */
float *nni_shared_sum_buffer(const nni_shared_sum *sum);
/* A new step: every rank calls it once per step. */
void nni_shared_sum_begin(nni_shared_sum *sum);
/* Bucket b is final on this rank (buckets are published in index order). Then sums this
 * rank's slice of every bucket that all ranks have published, without waiting. */
void nni_shared_sum_publish(nni_shared_sum *sum, int b);
/* Without publishing: sums this rank's slice of every bucket that all ranks have published
 * since, and on the leader of a node moves the sums between nodes on (without waiting). */
void nni_shared_sum_progress(nni_shared_sum *sum);
/* Publishes what is left, sums this rank's remaining slices (waiting for the other ranks as
 * needed) and waits until every rank has summed its slices: on return this rank's buffer
 * holds the sums. Aborts the job after the watchdog's time, naming the ranks that never
 * came. With owned ranges (below) it does not wait for the others to finish: the private
 * gradients hold the sums over this rank's range, nni_shared_sum_common the common part, and
 * the caller must not publish again before every rank has returned from here. */
void nni_shared_sum_finish(nni_shared_sum *sum);
/* Every rank calls it alike, before the first step: rank r sums only [starts[r],
 * starts[r + 1]), and every rank sums [common_from, floats) into private memory. A rank's
 * gradients then stay in its own memory (`grads`, instead of its buffer); publishing a
 * bucket streams the part that other ranks sum into its buffer, with stores that do not
 * wait on the cores that read it last. For an update split over the ranks, where each reads
 * only its own range of the sums. Not with `leaders` (NN_ERR_OTHER). */
nn_status nni_shared_sum_own_ranges(nni_shared_sum *sum, const int64_t *starts,
                                    int64_t common_from, float *grads, nn_error *err);
/* With owned ranges: the sums of [common_from, floats) of the last finished step. */
const float *nni_shared_sum_common(const nni_shared_sum *sum);
/* With owned ranges: after a finished step that no rank goes past (a failed step's report),
 * every rank calls it; it fills the private gradients with every sum. */
void nni_shared_sum_gather(nni_shared_sum *sum);

#endif

/* One buffer per rank in memory shared by the ranks of one node, each written by its rank
 * and read by all: how train.reproducible: bitwise exchanges its units' sums (for
 * train.allreduce: auto; MPI otherwise). Each rank fills its buffer, publishes it, and
 * reads the others' once all are published: one meeting per operation, and no MPI call, so
 * no rank waits inside MPI for another to progress. */
#ifndef NN_PARALLEL_RANK_BUFFERS_H
#define NN_PARALLEL_RANK_BUFFERS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/parallel.h"

typedef struct nni_rank_buffers nni_rank_buffers;

/* Collective. n 64-bit words per rank. Sets *out to NULL (and says why) when the ranks do
 * not share a node or the memory cannot be had. */
nn_status nni_rank_buffers_create(const nn_comm *comm, int64_t n, nni_rank_buffers **out,
                                  char *why, size_t why_size, nn_error *err);
void nni_rank_buffers_free(nni_rank_buffers *buffers);
/* Starts an operation: waits until every rank has finished reading this rank's buffer of
 * the last one, and returns that buffer (page-aligned), to be filled before
 * nni_rank_buffers_gather. */
int64_t *nni_rank_buffers_begin(nni_rank_buffers *buffers);
/* Collective: publishes this rank's buffer and returns every rank's (buffers[r]) once all
 * are published. Call nni_rank_buffers_done after the last read. */
const int64_t *const *nni_rank_buffers_gather(nni_rank_buffers *buffers);
void nni_rank_buffers_done(nni_rank_buffers *buffers);

#endif

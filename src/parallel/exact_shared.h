/* The exact sums of parallel/exact_sum.h through memory shared by the ranks of one node,
 * for train.allreduce: auto (MPI otherwise). Each rank writes its fixed-point values into
 * its own buffer in the mapping; each then adds its slice over every rank's buffer (integer
 * sums: the order does not matter) into one common result. The per-tensor maxima go the
 * same way. No MPI call is made, so no rank waits inside MPI for another to progress. */
#ifndef NN_PARALLEL_EXACT_SHARED_H
#define NN_PARALLEL_EXACT_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "nn/parallel.h"

typedef struct nni_exact_shared nni_exact_shared;

/* Collective. Room for n fixed-point values and n_max maxima per rank. Sets *out to NULL
 * (and says why) when the ranks do not share a node or the memory cannot be had. */
nn_status nni_exact_shared_create(const nn_comm *comm, int64_t n, int n_max,
                                  nni_exact_shared **out, char *why, size_t why_size,
                                  nn_error *err);
void nni_exact_shared_free(nni_exact_shared *shared);
/* Starts an operation: waits until every rank has finished reading this rank's buffer of
 * the last one, and returns that buffer of n values, to be filled before
 * nni_exact_shared_sum. */
int64_t *nni_exact_shared_begin(nni_exact_shared *shared);
/* Collective, optional between begin and sum: maxes[g] (g < n_max) becomes the largest over
 * the ranks. */
void nni_exact_shared_max(nni_exact_shared *shared, double *maxes);
/* Collective: the sums over the ranks of every buffer (valid until this rank
 * publishes its next values). */
const int64_t *nni_exact_shared_sum(nni_exact_shared *shared);

/* Collective, instead of nni_exact_shared_sum: publishes this rank's buffer and returns every
 * rank's (buffers[r], n values each) once all are published, for the caller to add up
 * itself: one meeting instead of two. Call nni_exact_shared_done after the last read. */
const int64_t *const *nni_exact_shared_gather(nni_exact_shared *shared);
void nni_exact_shared_done(nni_exact_shared *shared);

#endif

/* Memory shared by the ranks of a group that sits on one node, and the flags through which
 * they wait for one another in it (src/parallel only). */
#ifndef NN_SHM_H
#define NN_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/parallel.h"

#define NN_SHM_CACHE_LINE 64
#define NN_SHM_PAGE 4096

/* A step number that one rank writes (release) and the others read (acquire). */
typedef _Atomic uint64_t nni_shm_flag;

/* Collective over the group: maps `bytes` of zeroed memory shared by all its ranks. Returns
 * the mapping, or NULL when the ranks are on more than one node or the memory cannot be had;
 * every rank gets the same answer, and `why` says which. The memory goes with the last rank
 * that unmaps it (munmap), however the job ends. */
void *nni_shm_map(const nn_comm *comm, size_t bytes, char *why, size_t why_size);

/* Waits until flags[r][index] == step for every rank r. Spins (the other ranks normally
 * run on other cores and arrive within microseconds), yielding the core when it takes longer
 * in case ranks share cores; after the watchdog's time, names the ranks that never came and
 * aborts the job, saying `what` they were waiting for. */
void nni_shm_wait_all(const nn_comm *comm, nni_shm_flag *const *flags, int index, uint64_t step,
                      const char *what);
/* The same for one rank's flag only. */
void nni_shm_wait_rank(const nn_comm *comm, nni_shm_flag *const *flags, int rank, int index,
                       uint64_t step, const char *what);
/* 1 when every rank's flags[r][index] has reached step (without waiting). */
int nni_shm_all_arrived(const nn_comm *comm, nni_shm_flag *const *flags, int index,
                        uint64_t step);

/* Copies n floats with streaming stores, which write around the caches: the lines are not
 * fetched first, and the other cores' copies of them are dropped without each store waiting
 * for that. For data that another core reads next and that this core will write again
 * (writing lines another core holds costs a round trip per line). Returns after a store
 * fence, so a release store after it publishes the data. */
void nni_shm_stream_copy(float *dst, const float *src, int64_t n);
/* The same for n 64-bit integers. */
void nni_shm_stream_copy_int64(int64_t *dst, const int64_t *src, int64_t n);

static inline size_t nni_shm_round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

#endif

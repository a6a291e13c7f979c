/* Threads for nntrain's parallel loops.
 *
 * All parallel work runs in OpenMP teams of nni_threads() threads, each thread running
 * single-threaded kernels on its share: of the samples (convolutions, pools), of the batch
 * rows or of the output units (dense layers). OpenBLAS's own thread pool is kept at one
 * thread: two pools on the same cores spin against each other, and the split done here
 * keeps a thread's rows in its own cache from one layer to the next (the dense forward
 * writes rows the next activation reads on the same thread, the weight-gradient rows a
 * thread computes are the ones it updates in the optimizer). */
#ifndef NN_CORE_THREADS_H
#define NN_CORE_THREADS_H

#include <stdint.h>

/* Sets the team size (values below 1 count as 1) and keeps OpenBLAS single-threaded. The
 * trainer calls it with `train.threads`, or CPUs / ranks on the node. */
void nni_set_threads(int threads);

/* The team size: the last nni_set_threads, or OpenBLAS's default (the CPUs available) when
 * it was never called. */
int nni_threads(void);

/* Thread t's share [*first, *end) of `total` items: contiguous, in order, as equal as can
 * be. Every pass splits with it, so consecutive passes hand a thread the same rows. */
static inline void nni_thread_share(int64_t total, int t, int threads, int64_t *first,
                                    int64_t *end)
{
    *first = total * t / threads;
    *end = total * (t + 1) / threads;
}

#endif

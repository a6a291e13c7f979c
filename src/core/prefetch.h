/* Software prefetches over a run of floats, one per 64-byte line, in address order. The
 * layers' loops that read or write a sample a few short pieces at a time from many rows or
 * channels at once (Winograd's transforms, the flat convolution's panels, a 1x1 layer's
 * backward) run more streams than the hardware prefetchers follow, and each piece then
 * waited on its own miss; one pass of these first brings the sample in. */
#ifndef NN_CORE_PREFETCH_H
#define NN_CORE_PREFETCH_H

#include <stdint.h>

/* x[0 .. n) into the caches, to be read. */
static inline void nni_prefetch_read(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16)
        __builtin_prefetch(x + i, 0, 2);
}

/* x[0 .. n) into the caches, to be written (or read and written). */
static inline void nni_prefetch_write(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16)
        __builtin_prefetch(x + i, 1, 2);
}

#endif

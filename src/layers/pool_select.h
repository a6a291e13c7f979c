/* The selects of the pooling loops (layers/pool.c and its stride-1 kernels,
 * layers/pool_stride1.c), written so that the loops stay branch-free and vectorize. */
#ifndef NN_LAYERS_POOL_SELECT_H
#define NN_LAYERS_POOL_SELECT_H

#include <stdint.h>
#include <string.h>

/* The fast loops use the plain maximum, a single vector instruction. torch's maximum lets
 * a NaN win and stay; planes holding a NaN (rare: a diverged model) are redone by the
 * general loop of layers/pool.c, which follows that rule exactly. */
static inline float nni_pool_max_plain(float m, float v)
{
    return v > m ? v : m;
}

/* v where on is 1, +0 where it is 0, as a bit mask: compilers keep this branch-free even in
 * the scalar remainder of a vectorized loop, where `on ? v : 0` becomes an unpredictable
 * jump. */
static inline float nni_pool_keep(float v, int32_t on)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    bits &= -(uint32_t)on;
    memcpy(&v, &bits, sizeof v);
    return v;
}

#endif

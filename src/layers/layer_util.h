/* Small helpers shared by layer implementations. */
#ifndef NN_LAYER_UTIL_H
#define NN_LAYER_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "layers/layer_internal.h"
#include "nn/model.h"

void nni_layer_free_priv(nn_layer *layer);

/* sums[c] (+)= sum over r < rows of m[r * ld + c], for the columns first <= c < end. */
void nni_layer_column_sums(const float *m, int64_t rows, int64_t ld, int64_t first, int64_t end,
                           float *sums, int accumulate);

/* Writes (or adds when accumulate) src into dst. */
void nni_layer_store(float *dst, const float *src, int64_t n, int accumulate);

/* Threads for an elementwise pass over `values` floats: nni_threads() unless the pass is too
 * small to pay for the team (a few microseconds at one thread), else 1. Split the batch into
 * contiguous sample ranges with nni_thread_share, as the dense layers split theirs, so each
 * thread finds the rows it wrote in its own cache. */
int nni_layer_elementwise_threads(int64_t values, int64_t batch);

/* Reductions written with 16 independent partial sums, so they vectorize without
 * -ffast-math (which we do not use: it would change results between builds). */
float nni_layer_sum(const float *x, int64_t n);
/* sum of dy[i] * (x[i] - center) */
float nni_layer_dot_dev(const float *dy, const float *x, int64_t n, float center);

#endif

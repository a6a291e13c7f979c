/* Matrix products for the convolution and dense layers.
 *
 * nni_gemm_nn is a single-threaded register-blocked product written with portable vector
 * types (AVX-512, AVX2 or SSE from the same source); the layers run one per thread on
 * separate samples. It reads A through two strides, so A, A^T and a row range of either
 * need no copies, and it streams the rows of B directly (no packing): the three products of
 * a convolution step (forward, weight gradient, input gradient) all have a long, contiguous
 * B and a small A. */
#ifndef NN_CORE_GEMM_H
#define NN_CORE_GEMM_H

#include <stdint.h>

#include "core/im2col.h"

/* C[m][n] (+)= sum_k A(m, k) * B[k][n] for m < M, n < N, k < K, where
 * A(m, k) = A[m * a_rs + k * a_cs], B[k][n] = B[k * ldb + n], C[m][n] = C[m * ldc + n].
 * accumulate = 0 overwrites C (which may then hold anything, even NaN). */
void nni_gemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs, int64_t a_cs,
                 const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate);

/* C = bias + A B, row m starting from bias[m] (bias NULL: from zero), and relu(C) stored at
 * relu (row stride ldc; NULL: not) as the relu activation computes it: a convolution's
 * forward with its bias and a relu that is its only reader, in one pass over C instead of
 * three. With relu_only (and relu) C may be left holding anything. The bits of filling C
 * with the bias, nni_gemm_nn accumulating onto it, then relu; one pass where the backend
 * has it (nntrain's), those three where not. */
void nni_gemm_nn_bias_relu(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                           int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                           const float *bias, float *relu, int relu_only);

/* train.reproducible: bitwise: the products over consecutive units of k, unit u being
 * k in [u x unit_k, min((u + 1) x unit_k, K)), each summed as nni_gemm_nn would (from zero,
 * k in order) and added up in the unit tree's order (parallel/unit_tree.h, the units being
 * unit_ids[u] there) without writing any unit's product out: the nodes of their cover go
 * to nodes + k x node_stride (row-major, row stride ldc). The bits of nni_gemm_nn per unit
 * followed by nni_tree_sum_push of each, in every kernel set that has nni_gemm_nn's. */
void nni_gemm_nn_units(int64_t M, int64_t N, int64_t K, int64_t unit_k, const int64_t *unit_ids,
                       const float *A, int64_t a_rs, int64_t a_cs, const float *B, int64_t ldb,
                       float *nodes, int64_t node_stride, int64_t ldc);

/* C[m][n] (+)= sum_k A[m * lda + k] * B[n * ldb + k]: A B^T with both read along rows
 * (x W^T for W[out][in]). accumulate as in nni_gemm_nn. */
void nni_gemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float *C, int64_t ldc, int accumulate);

/* y[m][p] (+)= sum_k w[m * K + k] * im2col(x)[k][p] for m < M, K = the lowered rows of g, for
 * a geometry with nni_conv_geom_flat(g): a convolution's forward product without the
 * lowered matrix, with the bits of nni_im2col followed by nni_gemm_nn. */
void nni_conv_flat_product(const nni_conv_geom *g, int64_t M, const float *w, const float *x,
                           float *y, int accumulate);

/* The OpenBLAS kernel family in use ("SkylakeX", "Haswell", ...), for reports. */
const char *nni_gemm_core(void);

#endif

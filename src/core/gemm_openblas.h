/* The products of core/gemm.h computed by OpenBLAS's cblas_sgemm (train.gemm: openblas).
 *
 * Same arguments and meaning as nni_gemm_nn, nni_gemm_nt and nni_conv_flat_product; each
 * call runs on the calling thread (OpenBLAS kept at one thread, core/gemm_backend.h).
 * accumulate = 0 overwrites C (beta = 0: whatever C held, NaN included, is not read). */
#ifndef NN_CORE_GEMM_OPENBLAS_H
#define NN_CORE_GEMM_OPENBLAS_H

#include <stddef.h>
#include <stdint.h>

#include "core/im2col.h"

void nni_openblas_gemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                          int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                          int accumulate);

void nni_openblas_gemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate);

/* y (+)= w im2col(x) for one image and group: nni_im2col into a buffer of the calling thread
 * (grown on its first call, kept), then one cblas_sgemm; where that buffer cannot grow, a
 * block of rows and columns at a time on the stack. Any geometry. */
void nni_openblas_conv_product(const nni_conv_geom *g, int64_t M, const float *w,
                               const float *x, float *y, int accumulate);

/* The same a block at a time (what nni_openblas_conv_product falls back to; for the tests). */
void nni_openblas_conv_product_blocked(const nni_conv_geom *g, int64_t M, const float *w,
                                       const float *x, float *y, int accumulate);

/* A one-line note (no newline) into buf when OpenBLAS's kernels (`core`, as
 * openblas_get_corename names them) use narrower vectors than the CPU has (`cpu_set`, the
 * widest of nntrain's kernel sets it runs: "avx512", "avx2" or "generic"), naming the
 * OPENBLAS_CORETYPE that picks wider ones; returns whether it wrote one. An OpenBLAS older
 * than the CPU does not know it and falls back to its Prescott (SSE3) kernels. */
int nni_openblas_core_note(const char *core, const char *cpu_set, char *buf, size_t size);

#endif

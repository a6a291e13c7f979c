/* The backend of the matrix products (train.gemm: auto | nntrain | openblas).
 *
 * nni_gemm_nn, nni_gemm_nt and nni_conv_flat_product (core/gemm.h) go through the backend in
 * use: `nntrain` runs the kernel set's own loops (core/kernel_set.h), `openblas` runs
 * cblas_sgemm, one OpenBLAS thread per call (core/gemm_openblas.h). `auto` takes nntrain's
 * where the CPU has a tuned kernel set (x86 with AVX2 or AVX-512) and OpenBLAS where only
 * the generic loops would run (aarch64, x86 without AVX2). Forcing NN_KERNELS=generic does
 * not make `auto` pick OpenBLAS: the choice follows what the CPU can run.
 *
 * Until a run chooses (the trainer does, from train.gemm), the backend is `auto`. */
#ifndef NN_CORE_GEMM_BACKEND_H
#define NN_CORE_GEMM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/im2col.h"

typedef struct nni_gemm_backend {
    const char *name; /* the value train.gemm takes */
    /* 1: a product cut into row or column ranges gives the whole product's bits (nntrain's
     * kernels sum every element in order, core/gemm.c); 0: the bits depend on the cut
     * (OpenBLAS's kernels sum an element differently by its place in their tiles and by the
     * product's size). */
    int cut_invariant;
    void (*gemm_nn)(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                    int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                    int accumulate);
    void (*gemm_nt)(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate);
    void (*conv_flat_product)(const nni_conv_geom *g, int64_t M, const float *w, const float *x,
                              float *y, int accumulate);
    /* nni_gemm_nn_bias_relu in one pass over C, or NULL: then the bias, the product and
     * relu run one after the other (core/kernel_set.c). */
    void (*gemm_nn_bias_relu)(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                              int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                              const float *bias, float *relu, int relu_only);
} nni_gemm_backend;

/* The values of train.gemm, in the order nni_gemm_backend_choose takes them (NULL-ended,
 * for nn_cfg_read_choice). */
extern const char *const nni_gemm_choices[];
enum { NNI_GEMM_AUTO, NNI_GEMM_NNTRAIN, NNI_GEMM_OPENBLAS };

/* Makes choice (an index into nni_gemm_choices) the backend of every product from now on.
 * Choosing OpenBLAS also keeps its thread pool at one thread: the layers split their
 * products over nntrain's own threads (core/threads.h). */
void nni_gemm_backend_choose(int choice);

/* The backend in use. */
const nni_gemm_backend *nni_gemm_backend_current(void);

/* The pieces a layer cuts a product over rows or output units into for `threads` threads,
 * each piece one call and each thread whole pieces: one piece per thread when the backend is
 * cut invariant; else NNI_GEMM_FIXED_PIECES (or `threads` beyond that), so that the same
 * calls run whatever the thread count and the results do not depend on it. */
enum { NNI_GEMM_FIXED_PIECES = 8 };
int nni_gemm_pieces(int threads);

/* "nntrain (avx512 kernels; train.gemm: auto)" or "openblas (Haswell kernels, one thread
 * per call; train.gemm: openblas)", for the start-up line and the benchmarks. */
void nni_gemm_backend_describe(char *buf, size_t size);

#endif

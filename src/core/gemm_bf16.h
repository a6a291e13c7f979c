/* Matrix products in bfloat16 with float accumulation, for train.precision: bf16.
 *
 * Both factors are rounded to bf16 (round to nearest even, denormals to zero, as the
 * instruction vcvtne2ps2bf16 does) while they are packed into panels, and the product sums
 * pairs of terms into float accumulators as AVX512_BF16's vdpbf16ps does:
 *   c = ftz(c + a[2p+1] b[2p+1]);  c = ftz(c + a[2p] b[2p])    for p = 0, 1, ... in order,
 * each addition of the exact product rounded once to nearest even, denormal results flushed
 * to zero (tests/unit/test_gemm_bf16.c checks this against the instruction, sign of zero
 * included). An odd K is padded with a zero pair. Every element of
 * C sums its terms in this order however the product is cut into row or column ranges, so,
 * as with core/gemm.h, the thread count does not change the results.
 *
 * Two paths give the same bits: the native one (vdpbf16ps, CPUs with AVX512_BF16) and an
 * emulated one in plain C, many times slower, for CPUs without the instructions and for the
 * test that checks the two agree. A third, AMX's tiles (core/gemm_bf16_amx.h), is many times
 * faster than vdpbf16ps where the CPU has it, with its own last bits. The path is chosen by
 * nni_bf16_select from the environment variable NN_BF16=amx|native|emulated (empty or
 * `auto`: AMX where the CPU and kernel offer it, else native, an error when the CPU lacks
 * AVX512_BF16).
 *
 * The packing panels are per thread, allocated once by nni_gemm_bf16_plan before the first
 * product (at the trainer's setup), never inside a step. */
#ifndef NN_CORE_GEMM_BF16_H
#define NN_CORE_GEMM_BF16_H

#include <stdint.h>

#include "core/im2col.h"
#include "nn/error.h"

/* Whether this CPU runs vdpbf16ps (AVX512_BF16 with AVX-512 F, and the OS saving the
 * registers). */
int nni_bf16_native_supported(void);

/* Chooses the path from NN_BF16 and the CPU; a configuration error names what is missing. */
nn_status nni_bf16_select(nn_error *err);

/* Whether the native path (vdpbf16ps) was chosen; whether AMX's was (none yet: 0). */
int nni_bf16_native_chosen(void);
int nni_bf16_amx_chosen(void);

/* The chosen path in words, e.g. "native (AVX512_BF16 vdpbf16ps)". */
const char *nni_bf16_describe(void);

/* Packing panels for products run from `threads` OpenMP threads at once (thread numbers
 * 0 .. threads - 1); keeps the larger of the plans made so far (AMX's longer K blocks, once
 * chosen, make them anew). Call it after nni_bf16_select: the panels' size depends on the
 * path. */
nn_status nni_gemm_bf16_plan(int threads, nn_error *err);

/* C[m][n] (+)= sum_k bf16(A(m, k)) * bf16(B(k, n)) summed as above, for m < M, n < N, where
 * A(m, k) = A[m * a_rs + k * a_cs], B(k, n) = B[k * b_rs + n * b_cs], C[m][n] =
 * C[m * ldc + n]. accumulate = 0 overwrites C. Runs on the calling thread with the panels of
 * its OpenMP thread number (planned by nni_gemm_bf16_plan). */
void nni_gemm_bf16(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                   int64_t a_cs, const float *B, int64_t b_rs, int64_t b_cs, float *C,
                   int64_t ldc, int accumulate);

/* The forward product of a flat convolution (nni_conv_geom_flat: stride 1, output rows as
 * wide as the input's) with its lowered matrix made straight from the image x: C (M x
 * out_h out_w, rows contiguous) (+)= A (M x col_rows, row stride lda) times im2col(x), each
 * block of bf16 pairs written from x as the product needs it, without im2col's float matrix
 * (and its trip through memory) or a second packing pass. The same bits as nni_im2col
 * followed by nni_gemm_bf16. */
typedef struct nni_bf16_flat_conv {
    const nni_conv_geom *geom;
    const float *x;
} nni_bf16_flat_conv;
void nni_gemm_bf16_flat_conv(int64_t M, const float *A, int64_t lda,
                             const nni_bf16_flat_conv *conv, float *C, int accumulate);

/* The weight gradient of the same convolution, turned, on AMX's path: C (col_rows x N, row
 * stride ldc) += im2col(x) (col_rows x out_h out_w) times dy^T (dy: N rows of out_h out_w),
 * the lowered matrix's rows written from x as the product needs them. Returns 0, doing
 * nothing, on the other paths (their panels interleave rows, where AMX's take the image's
 * runs as they stand). The same bits as nni_im2col followed by nni_gemm_bf16. */
int nni_gemm_bf16_flat_conv_weight_grad(int64_t N, const nni_bf16_flat_conv *conv,
                                        const float *dy, float *C, int64_t ldc);

/* The layers' products in the model's precision: nni_gemm_nn / nni_gemm_nt (core/gemm.h),
 * or with bf16 set the same product through nni_gemm_bf16. */
void nni_product_nn(int bf16, int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                    int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                    int accumulate);
void nni_product_nt(int bf16, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate);

/* x rounded to bf16 (nearest even, denormals to zero, NaN kept quiet), as its 16 bits. */
uint16_t nni_bf16_from_float(float x);
float nni_bf16_to_float(uint16_t h);

#endif

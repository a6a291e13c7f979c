/* nntrain's products through OpenBLAS (see gemm_openblas.h): the strided operands of
 * nni_gemm_nn mapped onto cblas_sgemm's transposes, and the convolution's lowered matrix
 * built for it (nntrain's own flat product never builds it).
 *
 * Every layer calls the products with A or B contiguous along one index; a layout that is
 * neither (no caller has one) still gives the right answer, one cblas_sgemv per row. */
#include "core/gemm_openblas.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* When the whole lowered matrix cannot be had: blocks of CONV_KB rows x CONV_NB columns,
 * 128 KiB of stack. */
#define CONV_KB 128
#define CONV_NB 256

/* Products with nothing to multiply, which BLAS may reject (a zero dimension): an empty C, or
 * K = 0, where C is cleared unless accumulating. Returns 1 when it handled the call. */
static int empty_product(int64_t M, int64_t N, int64_t K, float *C, int64_t ldc, int accumulate)
{
    if (M > 0 && N > 0 && K > 0)
        return 0;
    for (int64_t m = 0; M > 0 && N > 0 && !accumulate && m < M; m++)
        memset(C + m * ldc, 0, (size_t)N * sizeof *C);
    return 1;
}

void nni_openblas_gemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                          int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                          int accumulate)
{
    if (empty_product(M, N, K, C, ldc, accumulate))
        return;
    const float beta = accumulate ? 1.0f : 0.0f;
    /* A's rows contiguous (row-major A, lda = a_rs) or its columns (A stored transposed,
     * lda = a_cs). A single row or column fits either; BLAS then wants lda >= its width. */
    CBLAS_TRANSPOSE ta;
    int64_t lda;
    if (a_cs == 1 && (M == 1 || a_rs >= K)) {
        ta = CblasNoTrans;
        lda = M == 1 ? K : a_rs;
    } else if (a_rs == 1 && (K == 1 || a_cs >= M)) {
        ta = CblasTrans;
        lda = K == 1 ? M : a_cs;
    } else {
        for (int64_t m = 0; m < M; m++)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, 1.0f, B, (int)ldb,
                        A + m * a_rs, (int)a_cs, beta, C + m * ldc, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, A, (int)lda, B,
                (int)ldb, beta, C, (int)ldc);
}

void nni_openblas_gemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    if (empty_product(M, N, K, C, ldc, accumulate))
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, A,
                (int)(M == 1 ? K : lda), B, (int)(N == 1 ? K : ldb), accumulate ? 1.0f : 0.0f,
                C, (int)ldc);
}

/* block[r][q] = im2col(x)[k0 + r][j + q] for r < kb, q < nb (im2col.h's index map). */
static void lower_block(const nni_conv_geom *g, const float *restrict x, int64_t k0,
                        int64_t kb, int64_t j, int64_t nb, float *restrict block)
{
    const int64_t kk = g->kernel_h * g->kernel_w;
    int64_t c = k0 / kk, ki = k0 % kk / g->kernel_w, kj = k0 % g->kernel_w;
    for (int64_t r = 0; r < kb; r++) {
        const float *xc = x + c * g->in_h * g->in_w;
        const int64_t y_off = ki * g->dilation_h - g->pad_top;
        const int64_t x_off = kj * g->dilation_w - g->pad_left;
        int64_t oy = j / g->out_w, ox = j % g->out_w;
        float *dst = block + r * nb;
        for (int64_t q = 0; q < nb; q++) {
            const int64_t iy = oy * g->stride_h + y_off, ix = ox * g->stride_w + x_off;
            dst[q] = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w ? xc[iy * g->in_w + ix]
                                                                        : 0.0f;
            if (++ox == g->out_w) {
                ox = 0;
                oy++;
            }
        }
        if (++kj == g->kernel_w) {
            kj = 0;
            if (++ki == g->kernel_h) {
                ki = 0;
                c++;
            }
        }
    }
}

/* The calling thread's lowered matrix of at least `floats`, or NULL when it cannot grow. Kept
 * for the thread's life and grown only by a larger layer, so that steps after the first
 * allocate nothing, as OpenBLAS does with its own packing buffers. */
static float *thread_lowered(int64_t floats)
{
    static _Thread_local float *lowered;
    static _Thread_local int64_t capacity;
    if (floats > capacity) {
        float *grown = realloc(lowered, (size_t)floats * sizeof *grown);
        if (!grown)
            return NULL;
        lowered = grown;
        capacity = floats;
    }
    return lowered;
}

void nni_openblas_conv_product(const nni_conv_geom *g, int64_t M, const float *w,
                               const float *x, float *y, int accumulate)
{
    const int64_t K = nni_conv_geom_col_rows(g), P = g->out_h * g->out_w;
    /* The whole lowered matrix and one product: OpenBLAS runs twice as fast on that as on
     * blocks (it packs w again for every call); blocks only when memory is short. */
    float *col = thread_lowered(K * P);
    if (!col) {
        nni_openblas_conv_product_blocked(g, M, w, x, y, accumulate);
        return;
    }
    nni_im2col(g, x, col);
    nni_openblas_gemm_nn(M, P, K, w, K, 1, col, P, y, P, accumulate);
}

void nni_openblas_conv_product_blocked(const nni_conv_geom *g, int64_t M, const float *w,
                                       const float *x, float *y, int accumulate)
{
    const int64_t K = nni_conv_geom_col_rows(g), P = g->out_h * g->out_w;
    float block[CONV_KB * CONV_NB];
    for (int64_t j = 0; j < P; j += CONV_NB) {
        const int64_t nb = P - j < CONV_NB ? P - j : CONV_NB;
        for (int64_t k0 = 0; k0 < K; k0 += CONV_KB) {
            const int64_t kb = K - k0 < CONV_KB ? K - k0 : CONV_KB;
            lower_block(g, x, k0, kb, j, nb, block);
            nni_openblas_gemm_nn(M, nb, kb, w + k0, K, 1, block, nb, y + j, P,
                                 accumulate || k0 > 0);
        }
    }
}

int nni_openblas_core_note(const char *core, const char *cpu_set, char *buf, size_t size)
{
    /* OpenBLAS's x86 cores without AVX2 (its fallback for a CPU it does not know is
     * Prescott). */
    static const char *const narrow[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                         "Sandybridge", "Atom", "Barcelona", "Opteron",
                                         "Opteron_SSE3", "Bobcat", "Bulldozer", "Piledriver",
                                         "Steamroller", "Katmai", "Coppermine", "Northwood",
                                         "Banias"};
    const char *wider = !strcmp(cpu_set, "avx512") ? "SkylakeX (AVX-512)"
                        : !strcmp(cpu_set, "avx2") ? "Haswell (AVX2)" : NULL;
    int old = 0;
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++)
        old |= !strcmp(core, narrow[i]);
    if (!old || !wider)
        return 0;
    snprintf(buf, size, "note: OpenBLAS runs its %s kernels on this CPU, without the %s "
             "vectors it has (an OpenBLAS that does not know a CPU falls back to Prescott's); "
             "OPENBLAS_CORETYPE=%s in the environment picks faster ones", core,
             !strcmp(cpu_set, "avx512") ? "AVX-512" : "AVX2", wider);
    return 1;
}

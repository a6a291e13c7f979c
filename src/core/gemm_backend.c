/* The backend table of the matrix products and the choice between its rows (see
 * gemm_backend.h). The choice is an atomic pointer, as the kernel set's: the first product
 * may come from several OpenMP threads at once, and each resolves `auto` the same way. */
#include "core/gemm_backend.h"

#include <cblas.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/gemm.h"
#include "core/gemm_openblas.h"
#include "core/kernel_set.h"

const char *const nni_gemm_choices[] = {"auto", "nntrain", "openblas", NULL};

static void nntrain_gemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                            int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                            int accumulate)
{
    nni_kernels()->gemm_nn(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, accumulate);
}

static void nntrain_gemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                            const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    nni_kernels()->gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

static void nntrain_conv_flat_product(const nni_conv_geom *g, int64_t M, const float *w,
                                      const float *x, float *y, int accumulate)
{
    nni_kernels()->conv_flat_product(g, M, w, x, y, accumulate);
}

static void nntrain_gemm_nn_bias_relu(int64_t M, int64_t N, int64_t K, const float *A,
                                      int64_t a_rs, int64_t a_cs, const float *B, int64_t ldb,
                                      float *C, int64_t ldc, const float *bias, float *relu,
                                      int relu_only)
{
    nni_kernels()->gemm_nn_bias_relu(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, bias, relu,
                                     relu_only);
}

static const nni_gemm_backend backends[] = {
    {.name = "nntrain", .cut_invariant = 1, .gemm_nn = nntrain_gemm_nn,
     .gemm_nt = nntrain_gemm_nt, .conv_flat_product = nntrain_conv_flat_product,
     .gemm_nn_bias_relu = nntrain_gemm_nn_bias_relu},
    {.name = "openblas", .cut_invariant = 0, .gemm_nn = nni_openblas_gemm_nn,
     .gemm_nt = nni_openblas_gemm_nt, .conv_flat_product = nni_openblas_conv_product},
};

static const nni_gemm_backend *_Atomic current;
static atomic_int current_choice; /* NNI_GEMM_AUTO until a run chooses */

/* nntrain's kernels are tuned where the CPU runs a set beyond the generic loops. */
static int cpu_has_tuned_kernels(void)
{
    int count;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (int i = 0; i < count; i++)
        if (sets[i].supported())
            return strcmp(sets[i].name, "generic") != 0;
    return 0;
}

static const nni_gemm_backend *resolve(int choice)
{
    if (choice == NNI_GEMM_AUTO)
        choice = cpu_has_tuned_kernels() ? NNI_GEMM_NNTRAIN : NNI_GEMM_OPENBLAS;
    return &backends[choice == NNI_GEMM_OPENBLAS];
}

void nni_gemm_backend_choose(int choice)
{
    if (choice < NNI_GEMM_AUTO || choice > NNI_GEMM_OPENBLAS)
        choice = NNI_GEMM_AUTO;
    const nni_gemm_backend *backend = resolve(choice);
    if (backend->gemm_nn == nni_openblas_gemm_nn)
        openblas_set_num_threads(1);
    atomic_store(&current_choice, choice);
    atomic_store(&current, backend);
}

const nni_gemm_backend *nni_gemm_backend_current(void)
{
    const nni_gemm_backend *backend = atomic_load_explicit(&current, memory_order_acquire);
    if (backend)
        return backend;
    nni_gemm_backend_choose(NNI_GEMM_AUTO);
    return atomic_load(&current);
}

int nni_gemm_pieces(int threads)
{
    if (nni_gemm_backend_current()->cut_invariant || threads > NNI_GEMM_FIXED_PIECES)
        return threads;
    return NNI_GEMM_FIXED_PIECES;
}

void nni_gemm_backend_describe(char *buf, size_t size)
{
    const nni_gemm_backend *backend = nni_gemm_backend_current();
    const char *choice = nni_gemm_choices[atomic_load(&current_choice)];
    if (backend->gemm_nn == nni_openblas_gemm_nn)
        snprintf(buf, size, "openblas (%s kernels, one thread per call; train.gemm: %s)",
                 nni_gemm_core(), choice);
    else
        snprintf(buf, size, "nntrain (%s kernels; train.gemm: %s)", nni_kernels()->name,
                 choice);
}

/* The kernel-set table, the choice between its rows, and the functions the layers call,
 * which forward to the chosen row (see kernel_set.h); the products go through the chosen
 * backend (core/gemm_backend.h), whose `nntrain` row is the kernel set's.
 *
 * The choice is kept in an atomic pointer: the first use may come from several OpenMP
 * threads at once, and every one of them computes the same answer. */
#include "core/kernel_set.h"

#include <cblas.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv_shifted.h"
#include "core/gemm.h"
#include "core/gemm_backend.h"
#include "core/product_time.h"
#include "core/relu.h"
#include "core/winograd.h"

/* One set's copies of the kernels (compiled from NN_KERNEL_SOURCES, see CMakeLists.txt). */
#define DECLARE_KERNELS(set)                                                                   \
    void nni_gemm_nn_##set(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,      \
                           int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,   \
                           int accumulate);                                                    \
    void nni_gemm_nt_##set(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,       \
                           const float *B, int64_t ldb, float *C, int64_t ldc,                 \
                           int accumulate);                                                    \
    void nni_gemm_nn_bias_relu_##set(int64_t M, int64_t N, int64_t K, const float *A,          \
                                     int64_t a_rs, int64_t a_cs, const float *B, int64_t ldb,  \
                                     float *C, int64_t ldc, const float *bias, float *relu,    \
                                     int relu_only);                                           \
    void nni_im2col_##set(const nni_conv_geom *g, const float *x, float *col);                 \
    void nni_col2im_##set(const nni_conv_geom *g, float *col, float *x);                       \
    void nni_im2row_##set(const nni_conv_geom *g, const float *xt, float *rows);               \
    void nni_transpose_##set(const float *src, int64_t rows, int64_t cols, int64_t lds,        \
                             float *dst, int64_t ldd);                                         \
    void nni_conv_flat_product_##set(const nni_conv_geom *g, int64_t M, const float *w,       \
                                     const float *x, float *y, int accumulate);                \
    void nni_adam_plain_##set(const nni_adam_coefs *c, int64_t n, float *w, float *m1,         \
                              float *m2, const float *grad);                                   \
    void nni_gemm_nn_units_##set(int64_t M, int64_t N, int64_t K, int64_t unit_k,              \
                                 const int64_t *unit_ids, const float *A, int64_t a_rs,        \
                                 int64_t a_cs, const float *B, int64_t ldb, float *nodes,      \
                                 int64_t node_stride, int64_t ldc);                            \
    void nni_winograd_conv_##set(const nni_conv_geom *g, int64_t M, const float *u,            \
                                 int64_t samples, const float *x, int64_t x_stride,            \
                                 const nni_winograd_out *out, int bf16, float *scratch);       \
    void nni_winograd_weight_grad_##set(const nni_conv_geom *g, int64_t M, int64_t samples,    \
                                        const float *x, int64_t x_stride, const float *dy,     \
                                        int64_t dy_stride, float *du, int bf16,                \
                                        float *scratch);                                   \
    void nni_conv_shifted_forward_##set(const nni_conv_geom *g, int64_t M, const float *w,     \
                                        const float *bias, const float *x, float *y,           \
                                        float *relu, float *scratch);                          \
    void nni_conv_shifted_weight_grad_##set(const nni_conv_geom *g, int64_t M, const float *x, \
                                            const float *dy, float *lanes, float *scratch);    \
    void nni_conv_shifted_weight_grad_finish_##set(const nni_conv_geom *g, int64_t M,          \
                                                   const float *lanes, float *dw, int64_t ldw); \
    void nni_pool_stride1_forward_##set(const nni_pool_plane *p, const float *src, float *y,   \
                                        float *rows, float *grid);                             \
    void nni_pool_stride1_backward_##set(const nni_pool_plane *p, const float *src,            \
                                         const float *y, const float *dy, float *dx,           \
                                         float *grad, float *max, int32_t *found);

#define KERNELS(set)                                                                           \
    .gemm_nn = nni_gemm_nn_##set, .gemm_nt = nni_gemm_nt_##set, .im2col = nni_im2col_##set,    \
    .gemm_nn_bias_relu = nni_gemm_nn_bias_relu_##set,                                        \
    .col2im = nni_col2im_##set, .im2row = nni_im2row_##set, .transpose = nni_transpose_##set,  \
    .conv_flat_product = nni_conv_flat_product_##set, .adam_plain = nni_adam_plain_##set,     \
    .gemm_nn_units = nni_gemm_nn_units_##set, .winograd_conv = nni_winograd_conv_##set,   \
    .winograd_weight_grad = nni_winograd_weight_grad_##set,                                  \
    .conv_shifted_forward = nni_conv_shifted_forward_##set,                                  \
    .conv_shifted_weight_grad = nni_conv_shifted_weight_grad_##set,                          \
    .conv_shifted_weight_grad_finish = nni_conv_shifted_weight_grad_finish_##set,            \
    .pool_stride1_forward = nni_pool_stride1_forward_##set,                                  \
    .pool_stride1_backward = nni_pool_stride1_backward_##set

DECLARE_KERNELS(generic)
#if defined(NN_KERNEL_SETS_X86)
DECLARE_KERNELS(avx2)
DECLARE_KERNELS(avx512)

/* The flags each set is compiled with (CMakeLists.txt) name exactly these features. The
 * compiler's CPU check also asks the OS whether it saves the vector registers. */
static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx512(void)
{
    return has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
#endif

static int always(void)
{
    return 1;
}

/* Widest first: the first supported row is the CPU's choice. */
static const nni_kernel_set kernel_sets[] = {
#if defined(NN_KERNEL_SETS_X86)
    {.name = "avx512", .needs = "AVX-512 F/CD/BW/DQ/VL, FMA", .supported = has_avx512,
     KERNELS(avx512)},
    {.name = "avx2", .needs = "AVX2, FMA", .supported = has_avx2, KERNELS(avx2)},
#endif
    {.name = "generic", .needs = "the base instruction set", .supported = always,
     KERNELS(generic)},
};
enum { N_SETS = sizeof kernel_sets / sizeof *kernel_sets };

static const nni_kernel_set *_Atomic current;
static atomic_int current_forced;

const nni_kernel_set *nni_kernel_sets(int *count)
{
    *count = N_SETS;
    return kernel_sets;
}

static const nni_kernel_set *widest_supported(void)
{
    for (int i = 0; i < N_SETS; i++)
        if (kernel_sets[i].supported())
            return &kernel_sets[i];
    return &kernel_sets[N_SETS - 1];
}

const char *nni_kernels_widest(void)
{
    return widest_supported()->name;
}

/* "avx512, avx2, generic": the names of the rows (only those this CPU supports when
 * supported_only is set). */
static void list_names(char *buf, size_t size, int supported_only)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_SETS && used < size; i++)
        if (!supported_only || kernel_sets[i].supported())
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                     kernel_sets[i].name);
}

nn_status nni_kernels_select(nn_error *err)
{
    const char *wanted = getenv("NN_KERNELS");
    if (!wanted || !*wanted || !strcmp(wanted, "auto")) {
        atomic_store(&current, widest_supported());
        atomic_store(&current_forced, 0);
        return NN_OK;
    }
    for (int i = 0; i < N_SETS; i++) {
        const nni_kernel_set *set = &kernel_sets[i];
        if (strcmp(wanted, set->name))
            continue;
        if (!set->supported()) {
            char names[128];
            list_names(names, sizeof names, 1);
            return nn_fail(err, NN_ERR_CONFIG,
                           "NN_KERNELS=%s: this CPU lacks the instructions of that kernel set "
                           "(%s); it can run: %s", wanted, set->needs, names);
        }
        atomic_store(&current, set);
        atomic_store(&current_forced, 1);
        return NN_OK;
    }
    char names[128];
    list_names(names, sizeof names, 0);
    return nn_fail(err, NN_ERR_CONFIG, "NN_KERNELS=%s: unknown kernel set (valid: auto, %s)",
                   wanted, names);
}

const nni_kernel_set *nni_kernels(void)
{
    const nni_kernel_set *set = atomic_load_explicit(&current, memory_order_acquire);
    if (set)
        return set;
    if (nni_kernels_select(NULL))
        atomic_store(&current, widest_supported());
    return atomic_load(&current);
}

void nni_kernels_describe(char *buf, size_t size)
{
    const nni_kernel_set *set = nni_kernels();
    snprintf(buf, size, "%s (%s; %s)", set->name, set->needs,
             atomic_load(&current_forced) ? "forced by NN_KERNELS" : "chosen from the CPU");
}

void nni_gemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs, int64_t a_cs,
                 const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    const int64_t begin = nni_product_time_begin();
    nni_gemm_backend_current()->gemm_nn(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, accumulate);
    nni_product_time_end(begin);
}

void nni_gemm_nn_bias_relu(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                           int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                           const float *bias, float *relu, int relu_only)
{
    const nni_gemm_backend *backend = nni_gemm_backend_current();
    if (backend->gemm_nn_bias_relu) {
        const int64_t begin = nni_product_time_begin();
        backend->gemm_nn_bias_relu(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, bias, relu,
                                   relu_only);
        nni_product_time_end(begin);
        return;
    }
    for (int64_t m = 0; bias && m < M; m++)
        for (int64_t n = 0; n < N; n++)
            C[m * ldc + n] = bias[m];
    nni_gemm_nn(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, bias != NULL);
    for (int64_t m = 0; relu && m < M; m++)
        for (int64_t n = 0; n < N; n++)
            relu[m * ldc + n] = nni_relu(C[m * ldc + n]);
}

void nni_gemm_nn_units(int64_t M, int64_t N, int64_t K, int64_t unit_k, const int64_t *unit_ids,
                       const float *A, int64_t a_rs, int64_t a_cs, const float *B, int64_t ldb,
                       float *nodes, int64_t node_stride, int64_t ldc)
{
    const int64_t begin = nni_product_time_begin();
    nni_kernels()->gemm_nn_units(M, N, K, unit_k, unit_ids, A, a_rs, a_cs, B, ldb, nodes,
                                 node_stride, ldc);
    nni_product_time_end(begin);
}

void nni_gemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    const int64_t begin = nni_product_time_begin();
    nni_gemm_backend_current()->gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    nni_product_time_end(begin);
}

void nni_conv_flat_product(const nni_conv_geom *g, int64_t M, const float *w, const float *x,
                           float *y, int accumulate)
{
    const int64_t begin = nni_product_time_begin();
    nni_gemm_backend_current()->conv_flat_product(g, M, w, x, y, accumulate);
    nni_product_time_end(begin);
}

void nni_winograd_conv(const nni_conv_geom *g, int64_t M, const float *u, int64_t samples,
                       const float *x, int64_t x_stride, const nni_winograd_out *out, int bf16,
                       float *scratch)
{
    nni_kernels()->winograd_conv(g, M, u, samples, x, x_stride, out, bf16, scratch);
}

void nni_winograd_weight_grad(const nni_conv_geom *g, int64_t M, int64_t samples,
                              const float *x, int64_t x_stride, const float *dy,
                              int64_t dy_stride, float *du, int bf16, float *scratch)
{
    nni_kernels()->winograd_weight_grad(g, M, samples, x, x_stride, dy, dy_stride, du, bf16,
                                        scratch);
}

void nni_conv_shifted_forward(const nni_conv_geom *g, int64_t M, const float *w,
                              const float *bias, const float *x, float *y, float *relu,
                              float *scratch)
{
    nni_kernels()->conv_shifted_forward(g, M, w, bias, x, y, relu, scratch);
}

void nni_conv_shifted_weight_grad(const nni_conv_geom *g, int64_t M, const float *x,
                                  const float *dy, float *lanes, float *scratch)
{
    nni_kernels()->conv_shifted_weight_grad(g, M, x, dy, lanes, scratch);
}

void nni_conv_shifted_weight_grad_finish(const nni_conv_geom *g, int64_t M,
                                         const float *lanes, float *dw, int64_t ldw)
{
    nni_kernels()->conv_shifted_weight_grad_finish(g, M, lanes, dw, ldw);
}

void nni_im2col(const nni_conv_geom *g, const float *x, float *col)
{
    nni_kernels()->im2col(g, x, col);
}

void nni_col2im(const nni_conv_geom *g, float *col, float *x)
{
    nni_kernels()->col2im(g, col, x);
}

void nni_im2row(const nni_conv_geom *g, const float *xt, float *rows)
{
    nni_kernels()->im2row(g, xt, rows);
}

void nni_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                   int64_t ldd)
{
    nni_kernels()->transpose(src, rows, cols, lds, dst, ldd);
}

const char *nni_gemm_core(void)
{
    const char *core = openblas_get_corename();
    return core ? core : "unknown";
}

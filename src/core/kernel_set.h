/* Kernel sets: the hot loops (matrix products, image lowering, Adam's update, stride-1
 * pooling) built once per instruction set and chosen at run time, so one binary runs on
 * every x86-64 machine of a cluster and still uses AVX-512 where the CPU has it.
 *
 * The sources listed as NN_KERNEL_SOURCES in CMakeLists.txt (core/gemm.c, core/im2col.c,
 * core/winograd.c, core/conv_shifted.c, train/adam_kernel.c, layers/pool_stride1.c) are
 * compiled once per set with that set's instruction flags and NNI_KERNEL_SET defined to its
 * name; NNI_KERNEL(f) gives each copy of f its own symbol (f_generic, f_avx2, f_avx512). The
 * functions the layers call (nni_gemm_nn, nni_im2col, ...) go through the selected set's
 * table.
 *
 * The set is chosen from the CPU (the widest it supports), or forced with the environment
 * variable NN_KERNELS=generic|avx2|avx512 (`auto` or empty: from the CPU). Forcing a set the
 * CPU lacks is an error, not an illegal instruction later. */
#ifndef NN_CORE_KERNEL_SET_H
#define NN_CORE_KERNEL_SET_H

#include <stddef.h>
#include <stdint.h>

#include "core/im2col.h"
#include "core/winograd.h"
#include "nn/error.h"

#define NNI_KERNEL_CAT_(name, set) name##_##set
#define NNI_KERNEL_CAT(name, set) NNI_KERNEL_CAT_(name, set)
#ifdef NNI_KERNEL_SET
#define NNI_KERNEL(name) NNI_KERNEL_CAT(name, NNI_KERNEL_SET)
#endif

/* Adam's coefficients for one step, rounded to float as train/optim.c's adam_update does. */
typedef struct nni_adam_coefs {
    float beta1, beta2, one_minus_beta1, one_minus_beta2, eps, step_size, bias2_sqrt;
} nni_adam_coefs;

/* One plane of a stride-1 pooling as its kernels see it (layers/pool_stride1.c): the window,
 * the output plane, the row pitch of the (padded) input plane the windows read, and for
 * average pooling the divisors, row_count[oy] * col_count[ox]. */
typedef struct nni_pool_plane {
    int64_t kernel_h, kernel_w, out_h, out_w, pitch;
    int max; /* max pooling, else average */
    const float *row_count, *col_count;
} nni_pool_plane;

typedef struct nni_kernel_set {
    const char *name;  /* the value NN_KERNELS takes */
    const char *needs; /* its instructions, for messages */
    int (*supported)(void);
    void (*gemm_nn)(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                    int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                    int accumulate);
    void (*gemm_nt)(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate);
    void (*gemm_nn_bias_relu)(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                              int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                              const float *bias, float *relu, int relu_only);
    void (*gemm_nn_units)(int64_t M, int64_t N, int64_t K, int64_t unit_k,
                          const int64_t *unit_ids, const float *A, int64_t a_rs, int64_t a_cs,
                          const float *B, int64_t ldb, float *nodes, int64_t node_stride,
                          int64_t ldc);
    void (*im2col)(const nni_conv_geom *g, const float *x, float *col);
    void (*col2im)(const nni_conv_geom *g, float *col, float *x);
    void (*im2row)(const nni_conv_geom *g, const float *xt, float *rows);
    void (*transpose)(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                      int64_t ldd);
    void (*conv_flat_product)(const nni_conv_geom *g, int64_t M, const float *w, const float *x,
                              float *y, int accumulate);
    void (*winograd_conv)(const nni_conv_geom *g, int64_t M, const float *u, int64_t samples,
                          const float *x, int64_t x_stride, const nni_winograd_out *out,
                          int bf16, float *scratch);
    void (*winograd_weight_grad)(const nni_conv_geom *g, int64_t M, int64_t samples,
                                 const float *x, int64_t x_stride, const float *dy,
                                 int64_t dy_stride, float *du, int bf16, float *scratch);
    /* core/conv_shifted.c */
    void (*conv_shifted_forward)(const nni_conv_geom *g, int64_t M, const float *w,
                                 const float *bias, const float *x, float *y, float *relu,
                                 float *scratch);
    void (*conv_shifted_weight_grad)(const nni_conv_geom *g, int64_t M, const float *x,
                                     const float *dy, float *lanes, float *scratch);
    void (*conv_shifted_weight_grad_finish)(const nni_conv_geom *g, int64_t M,
                                            const float *lanes, float *dw, int64_t ldw);
    /* train/adam_kernel.c: w, m1, m2 updated from grad over n parameters (distinct buffers). */
    void (*adam_plain)(const nni_adam_coefs *c, int64_t n, float *w, float *m1, float *m2,
                       const float *grad);
    /* layers/pool_stride1.c: y of one plane from its padded input (rows, grid: scratch), and
     * the gradient routed back into the padded dx (grad, max, found: scratch). */
    void (*pool_stride1_forward)(const nni_pool_plane *p, const float *src, float *y,
                                 float *rows, float *grid);
    void (*pool_stride1_backward)(const nni_pool_plane *p, const float *src, const float *y,
                                  const float *dy, float *dx, float *grad, float *max,
                                  int32_t *found);
} nni_kernel_set;

/* Chooses the set from NN_KERNELS and the CPU (read again on every call). An unknown name,
 * or a set whose instructions the CPU lacks, is a configuration error; the set in use is
 * then left as it was. */
nn_status nni_kernels_select(nn_error *err);

/* The set in use; chosen as nni_kernels_select does on first use (the CPU's widest when
 * NN_KERNELS is not valid, which nni_kernels_select reports). */
const nni_kernel_set *nni_kernels(void);

/* Every set compiled into this build, widest first; *count receives their number. */
const nni_kernel_set *nni_kernel_sets(int *count);

/* The name of the widest set this CPU runs (whatever NN_KERNELS chose). */
const char *nni_kernels_widest(void);

/* "avx512 (AVX-512 F/CD/BW/DQ/VL, FMA; from the CPU)" or "... forced by NN_KERNELS", for
 * the start-up line and the benchmarks. */
void nni_kernels_describe(char *buf, size_t size);

#endif

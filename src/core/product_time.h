/* Time inside the matrix products, for benchmarks that ask how much of a training step they
 * take: the part of the step that faster products (or bf16 ones, which speed up nothing
 * else) can shorten, and so the most they can gain (Amdahl's bound).
 *
 * Off unless a benchmark turns it on; then every product entry point (nni_gemm_nn,
 * nni_gemm_nt, nni_gemm_nn_units, nni_conv_flat_product and the bf16 products) adds its
 * wall time, summed over the threads that run products. Winograd's products between its
 * transforms count; the transforms do not. */
#ifndef NN_CORE_PRODUCT_TIME_H
#define NN_CORE_PRODUCT_TIME_H

#include <stdatomic.h>
#include <stdint.h>

extern atomic_int nni_product_timing;

/* Turns the timing on (and the sum to zero) or off. */
void nni_product_time_enable(int on);

/* Seconds inside products since the timing was turned on. */
double nni_product_time_seconds(void);

/* The products' entry points: begin returns a start to hand to end, 0 when the timing is
 * off (one relaxed load). */
int64_t nni_product_time_now(void);
void nni_product_time_add(int64_t begin);

static inline int64_t nni_product_time_begin(void)
{
    return atomic_load_explicit(&nni_product_timing, memory_order_relaxed)
               ? nni_product_time_now() : 0;
}

static inline void nni_product_time_end(int64_t begin)
{
    if (begin)
        nni_product_time_add(begin);
}

#endif

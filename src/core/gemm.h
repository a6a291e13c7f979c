/* OpenBLAS set-up shared by every layer that multiplies matrices. */
#ifndef NN_CORE_GEMM_H
#define NN_CORE_GEMM_H

/* Once per process, before the first product: lets OpenBLAS use its AVX-512 kernels on
 * CPUs it does not know yet (see gemm.c). Safe to call any number of times. */
void nn_gemm_init(void);

/* The OpenBLAS kernel family in use ("SkylakeX", "Haswell", ...), for reports. */
const char *nn_gemm_core(void);

#endif

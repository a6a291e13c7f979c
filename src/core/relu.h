/* relu as the relu activation computes it (layers/activation.c: x > 0 ? x : 0, so +0 for -0
 * and for NaN), for the kernels that store a fused relu as they store their outputs
 * (core/gemm.c, core/winograd.c, core/conv_shifted.c) and for their fallback
 * (core/kernel_set.c). */
#ifndef NN_CORE_RELU_H
#define NN_CORE_RELU_H

#include <string.h>

static inline float nni_relu(float v)
{
    return v > 0.0f ? v : 0.0f;
}

/* Defines `static inline VT name(VT v)`: nni_relu lane by lane on the kernel file's vector
 * type VT of N floats, the lanes where v > 0 kept and the others cleared. */
#define NNI_DEFINE_VECTOR_RELU(name, VT, N)                                                    \
    static inline VT name(VT v)                                                                \
    {                                                                                          \
        typedef int name##_bits __attribute__((vector_size((N) * sizeof(int))));               \
        name##_bits bits;                                                                      \
        memcpy(&bits, &v, sizeof bits);                                                        \
        bits &= (name##_bits)(v > (VT){0});                                                    \
        memcpy(&v, &bits, sizeof v);                                                           \
        return v;                                                                              \
    }

#endif

/* The loops of the exact sums (parallel/exact_sum.h) over a tensor: its largest magnitude,
 * its values into 64-bit fixed point, and back. Compiled once per kernel set
 * (core/kernel_set.h) so that they vectorize to the CPU's width in a portable build; the
 * conversions are plain double arithmetic (exact products by powers of two and the
 * 1.5 x 2^52 rounding addition), so every set gives the same bits. */
#include <math.h>
#include <string.h>

#include "core/kernel_set.h"
#include "parallel/exact_sum.h"

float NNI_KERNEL(nni_exact_abs_max)(const float *x, int64_t n)
{
    /* On the bits of |x|, which order as the magnitudes do; NaN and infinity are the
     * largest. An integer max vectorizes; a float one would not, without fast math. */
    int32_t top = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        bits &= 0x7fffffff;
        top = bits > top ? bits : top;
    }
    if (top >= 0x7f800000)
        return INFINITY;
    float value;
    memcpy(&value, &top, sizeof value);
    return value;
}

void NNI_KERNEL(nni_exact_add_fixed)(const float *restrict x, int64_t n, double factor,
                                     int64_t *restrict fixed, int accumulate)
{
    if (accumulate)
        for (int64_t i = 0; i < n; i++)
            fixed[i] += nni_exact_fixed(x[i], factor);
    else
        for (int64_t i = 0; i < n; i++)
            fixed[i] = nni_exact_fixed(x[i], factor);
}

void NNI_KERNEL(nni_exact_to_floats)(const int64_t *restrict fixed, int64_t n, double factor,
                                     float *restrict x)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)nni_exact_value(fixed[i], factor);
}

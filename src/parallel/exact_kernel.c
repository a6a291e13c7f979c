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

/* Elements per block: the block's sums stay in registers (8 AVX-512 vectors) while every
 * slot is added to them, and are stored once. */
#define SUM_BLOCK 64

void NNI_KERNEL(nni_exact_add_fixed)(const float *restrict x, int64_t stride, int64_t slots,
                                     int64_t n, double factor, int64_t *restrict fixed)
{
    int64_t i0 = 0;
    for (; i0 + SUM_BLOCK <= n; i0 += SUM_BLOCK) {
        int64_t sum[SUM_BLOCK] = {0};
        for (int64_t j = 0; j < slots; j++) {
            const float *xj = x + j * stride + i0;
            for (int i = 0; i < SUM_BLOCK; i++)
                sum[i] += nni_exact_fixed(xj[i], factor);
        }
        memcpy(fixed + i0, sum, sizeof sum);
    }
    for (int64_t i = i0; i < n; i++) {
        int64_t sum = 0;
        for (int64_t j = 0; j < slots; j++)
            sum += nni_exact_fixed(x[j * stride + i], factor);
        fixed[i] = sum;
    }
}

void NNI_KERNEL(nni_exact_to_floats)(const int64_t *restrict fixed, int64_t n, double factor,
                                     float *restrict x)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)nni_exact_value(fixed[i], factor);
}

/* The wide sums (parallel/exact_sum.h): one pass over the slots that also finds the largest
 * magnitude, so that no separate pass (and no agreement on a scale) comes first. Blocks of
 * 32 elements: hi and lo sums in 8 AVX-512 registers. */
#define WIDE_BLOCK 32

float NNI_KERNEL(nni_exact_add_wide)(const float *restrict x, int64_t stride, int64_t slots,
                                     int64_t n, int64_t *restrict hi, int64_t *restrict lo)
{
    /* The largest magnitude per lane, on the bits (as in nni_exact_abs_max), reduced once at
     * the end: a reduction per block and slot would cost as much as the sums. */
    int32_t tops[WIDE_BLOCK] = {0};
    int64_t i0 = 0;
    for (; i0 + WIDE_BLOCK <= n; i0 += WIDE_BLOCK) {
        uint64_t sum_hi[WIDE_BLOCK] = {0}, sum_lo[WIDE_BLOCK] = {0};
        for (int64_t j = 0; j < slots; j++) {
            const float *xj = x + j * stride + i0;
            for (int i = 0; i < WIDE_BLOCK; i++) {
                int32_t bits;
                memcpy(&bits, xj + i, sizeof bits);
                bits &= 0x7fffffff;
                tops[i] = bits > tops[i] ? bits : tops[i];
                uint64_t h, l;
                nni_exact_wide(xj[i], &h, &l);
                sum_hi[i] += h;
                sum_lo[i] += l;
            }
        }
        memcpy(hi + i0, sum_hi, sizeof sum_hi);
        memcpy(lo + i0, sum_lo, sizeof sum_lo);
    }
    for (int64_t i = i0; i < n; i++) {
        uint64_t sum_hi = 0, sum_lo = 0;
        for (int64_t j = 0; j < slots; j++) {
            int32_t bits;
            memcpy(&bits, x + j * stride + i, sizeof bits);
            bits &= 0x7fffffff;
            tops[0] = bits > tops[0] ? bits : tops[0];
            uint64_t h, l;
            nni_exact_wide(x[j * stride + i], &h, &l);
            sum_hi += h;
            sum_lo += l;
        }
        hi[i] = (int64_t)sum_hi;
        lo[i] = (int64_t)sum_lo;
    }
    int32_t top = 0;
    for (int i = 0; i < WIDE_BLOCK; i++)
        top = tops[i] > top ? tops[i] : top;
    if (top >= 0x7f800000)
        return INFINITY;
    float value;
    memcpy(&value, &top, sizeof value);
    return value;
}

void NNI_KERNEL(nni_exact_wide_to_floats)(const int64_t *restrict hi, const int64_t *restrict lo,
                                          int64_t n, float *restrict x)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)nni_exact_wide_value(hi[i], lo[i]);
}

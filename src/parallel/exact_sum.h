/* Sums whose bits do not depend on how the terms are split over ranks and threads, nor on
 * the order MPI adds them in (train.reproducible: bitwise).
 *
 * Each term is rounded once to 64-bit fixed point, with a scale shared by a group of terms
 * (a tensor, a statistic), and the integers are added: two's-complement addition is
 * associative and exact, so any split and any order give the same integer, which is turned
 * back into a float once. The scale of a group is a power of two chosen from the largest
 * |term| of the group over every rank (an MPI MAX, which is exact and order-free), with
 * room for `terms` terms of that size below 2^51: every term is kept to about
 * 2^-(51 - log2 terms) of the group's largest (2^-48 for 8 terms), far below a float's
 * precision (2^-24) for every term that matters beside it. The wide fixed point below needs
 * no agreed scale (a fixed grid, two integers per value) but has a bounded range. */
#ifndef NN_PARALLEL_EXACT_SUM_H
#define NN_PARALLEL_EXACT_SUM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/parallel.h"

/* maxes[g] (this rank's largest |term| of group g, n groups) becomes the largest over the
 * group of ranks (comm NULL: this rank alone); factors[g] is then the power of two that
 * takes terms of group g into fixed point, with room for `terms` of them. Returns 1 when a
 * max is not finite (a NaN term counts: the caller passes NaN or infinity), the same on
 * every rank; factors are then meaningless. Collective. */
int nni_exact_scales(const nn_comm *comm, double *maxes, int n, int64_t terms, double *factors);
/* The fixed-point values stay below 2^51 in magnitude, sums included: then adding and
 * subtracting 1.5 x 2^52 converts between double and int64 in plain double arithmetic, which
 * the compiler vectorizes on every instruction set (cvtsd2si and cvtsi2sd it does not). */
#define NNI_EXACT_MAGIC 6755399441055744.0 /* 1.5 x 2^52 */
#define NNI_EXACT_MAGIC_BITS INT64_C(0x4338000000000000)

/* The two halves of nni_exact_scales, for a caller that agrees on the maxima otherwise
 * (exact_shared.h): NaN maxima become infinity (before agreeing), and the factors from the
 * agreed maxima (returns 1 when one is not finite). */
void nni_exact_local_max_ready(double *maxes, int n);
int nni_exact_factors(const double *maxes, int n, int64_t terms, double *factors);
/* One term in fixed point: x * factor is exact (a power of two), then rounded to nearest
 * (even on ties) by the addition; |x| <= the group's max keeps it below 2^51. */
static inline int64_t nni_exact_fixed(double x, double factor)
{
    const double shifted = x * factor + NNI_EXACT_MAGIC;
    int64_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return bits - NNI_EXACT_MAGIC_BITS;
}
/* The fixed-point value back as a double: v / factor, exact (|v| < 2^51, factor a power of
 * two) unless it underflows. */
static inline double nni_exact_value(int64_t v, double factor)
{
    const int64_t bits = v + NNI_EXACT_MAGIC_BITS;
    double shifted;
    memcpy(&shifted, &bits, sizeof shifted);
    return (shifted - NNI_EXACT_MAGIC) / factor;
}
/* The wide fixed point: a fixed grid of 2^-NNI_EXACT_WIDE_GRID_BITS, no scale to agree on.
 * A value v becomes two integers, hi x 2^NNI_EXACT_WIDE_SPLIT + lo (hi rounded to nearest,
 * then lo the exact remainder, itself rounded to the grid): every float from 2^-57 up keeps
 * all its bits, smaller ones are kept to 2^-80. The sums of `terms` values stay exact while
 * every |value| is below nni_exact_wide_bound(terms); above it (or for a non-finite value)
 * the caller sums with a shared scale instead (nni_exact_scales). */
#define NNI_EXACT_WIDE_GRID_BITS 80
#define NNI_EXACT_WIDE_SPLIT 50
/* The parts as two's-complement bit patterns: out of range (the caller's sums are then
 * discarded) they wrap instead of overflowing. */
static inline void nni_exact_wide(double x, uint64_t *hi, uint64_t *lo)
{
    const double v = x * 0x1p80; /* exact: a power of two */
    const double high = v * 0x1p-50 + NNI_EXACT_MAGIC;
    uint64_t bits;
    memcpy(&bits, &high, sizeof bits);
    *hi = bits - (uint64_t)NNI_EXACT_MAGIC_BITS;
    /* v - hi x 2^50 is exact (|.| <= 2^49, and it needs no more bits than v has below
     * 2^50); the addition rounds it to the grid. */
    const double low = (v - (high - NNI_EXACT_MAGIC) * 0x1p50) + NNI_EXACT_MAGIC;
    memcpy(&bits, &low, sizeof bits);
    *lo = bits - (uint64_t)NNI_EXACT_MAGIC_BITS;
}
/* The summed pair back as a double: the carry of lo moved into hi first (integer shifts), so
 * that hi x 2^50 + lo with 0 <= lo < 2^50 is rounded once. */
static inline double nni_exact_wide_value(int64_t hi, int64_t lo)
{
    const int64_t carry = lo >> NNI_EXACT_WIDE_SPLIT; /* floor: arithmetic shift */
    hi += carry;
    lo -= (int64_t)((uint64_t)carry << NNI_EXACT_WIDE_SPLIT);
    return ((double)hi * 0x1p50 + (double)lo) * 0x1p-80;
}
/* The bound below which `terms` wide values sum exactly (0: none do, too many terms). */
double nni_exact_wide_bound(int64_t terms);
/* hi[i], lo[i] = the wide sum over j < slots of x[j * stride + i] (nni_exact_wide); returns
 * the largest |x| read (infinity when one is not finite): the sums are exact only when it is
 * below nni_exact_wide_bound. */
float nni_exact_add_wide(const float *x, int64_t stride, int64_t slots, int64_t n, int64_t *hi,
                         int64_t *lo);
/* x[i] = the float nearest nni_exact_wide_value(hi[i], lo[i]). */
void nni_exact_wide_to_floats(const int64_t *hi, const int64_t *lo, int64_t n, float *x);
/* The largest |x[i]|, or infinity when some x[i] is not finite. */
float nni_exact_abs_max(const float *x, int64_t n);
/* fixed[i] = the sum over j < slots of x[j * stride + i] in fixed point (nni_exact_fixed):
 * every slot's value of element i added in one pass. */
void nni_exact_add_fixed(const float *x, int64_t stride, int64_t slots, int64_t n,
                         double factor, int64_t *fixed);
/* x[i] = the float nearest fixed[i] / factor. */
void nni_exact_to_floats(const int64_t *fixed, int64_t n, double factor, float *x);
/* In-place sum of n fixed-point values over the group (no-op for one rank or NULL).
 * Collective. */
void nni_exact_sum(const nn_comm *comm, int64_t *values, int64_t n);

/* The exact sum over every unit of every rank of parts[j * width + i] (j < n_units, this
 * rank's units) into out[i], each column i its own group; `terms`: units over all ranks.
 * Scratch: maxes and factors (width each), fixed (width). Returns 1 (on every rank) when a
 * part is not finite. Collective (comm NULL: this rank alone). */
int nni_exact_sum_doubles(const nn_comm *comm, const double *parts, int64_t n_units, int width,
                          int64_t terms, double *maxes, double *factors, int64_t *fixed,
                          double *out);

#endif

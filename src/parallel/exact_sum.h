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
 * precision (2^-24) for every term that matters beside it. Batchnorm's synced statistics
 * and the evaluation metrics of the bitwise mode are summed so. */
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

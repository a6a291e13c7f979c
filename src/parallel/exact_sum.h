/* Sums whose bits do not depend on how the terms are split over ranks and threads, nor on
 * the order MPI adds them in (train.reproducible: bitwise).
 *
 * Each term is rounded once to 64-bit fixed point, with a scale shared by a group of terms
 * (a tensor, a statistic), and the integers are added: two's-complement addition is
 * associative and exact, so any split and any order give the same integer, which is turned
 * back into a float once. The scale of a group is a power of two chosen from the largest
 * |term| of the group over every rank (an MPI MAX, which is exact and order-free), with
 * room for `terms` terms of that size: a term of magnitude m is kept to about
 * 2^-(62 - log2 terms) of the group's largest, far below a float's precision for every
 * term that matters beside it. */
#ifndef NN_PARALLEL_EXACT_SUM_H
#define NN_PARALLEL_EXACT_SUM_H

#include <math.h>
#include <stdint.h>

#include "nn/parallel.h"

/* maxes[g] (this rank's largest |term| of group g, n groups) becomes the largest over the
 * group of ranks (comm NULL: this rank alone); factors[g] is then the power of two that
 * takes terms of group g into fixed point, with room for `terms` of them. Returns 1 when a
 * max is not finite (a NaN term counts: the caller passes NaN or infinity), the same on
 * every rank; factors are then meaningless. Collective. */
int nni_exact_scales(const nn_comm *comm, double *maxes, int n, int64_t terms, double *factors);
/* One term in fixed point: x * factor is exact (a power of two), then rounded to nearest
 * (even on ties); |x| <= the group's max keeps it below 2^62. */
static inline int64_t nni_exact_fixed(double x, double factor)
{
    return llrint(x * factor);
}
/* The fixed-point value back as a double: v / factor, rounded once. */
static inline double nni_exact_value(int64_t v, double factor)
{
    return (double)v / factor;
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

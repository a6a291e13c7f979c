/* Fixed-point sums with a scale agreed over the group (see exact_sum.h). */
#include "exact_sum.h"

#include "parallel_internal.h"
#include "watchdog.h"

/* Headroom for `terms` values: ceil(log2(terms)) bits. */
static int headroom_bits(int64_t terms)
{
    int bits = 0;
    while (bits < 40 && ((int64_t)1 << bits) < terms)
        bits++;
    return bits;
}

static void local_max_ready(double *maxes, int n)
{
    for (int g = 0; g < n; g++) /* MPI's MAX need not keep a NaN; it keeps infinity */
        if (maxes[g] != maxes[g])
            maxes[g] = INFINITY;
}

static int factors_of(const double *maxes, int n, int64_t terms, double *factors)
{
    const int top = 51 - headroom_bits(terms);
    int bad = 0;
    for (int g = 0; g < n; g++) {
        if (!isfinite(maxes[g])) {
            bad = 1;
            factors[g] = 1;
            continue;
        }
        /* max < 2^(e + 1), so max * 2^(top - e - 1) < 2^top, and the sum of `terms` such
         * values < 2^51. */
        factors[g] = maxes[g] > 0 ? ldexp(1.0, top - ilogb(maxes[g]) - 1) : 1.0;
    }
    return bad;
}

int nni_exact_scales(const nn_comm *comm, double *maxes, int n, int64_t terms, double *factors)
{
    local_max_ready(maxes, n);
    if (comm && comm->size > 1) {
        MPI_Request request;
        MPI_Iallreduce(MPI_IN_PLACE, maxes, n, MPI_DOUBLE, MPI_MAX, nni_comm_mpi(comm),
                       &request);
        nni_comm_wait(comm, 1, &request, "allreduce");
    }
    return factors_of(maxes, n, terms, factors);
}

void nni_exact_sum(const nn_comm *comm, int64_t *values, int64_t n)
{
    if (!comm || comm->size == 1 || n == 0)
        return;
    MPI_Request request;
    MPI_Iallreduce(MPI_IN_PLACE, values, (int)n, MPI_INT64_T, MPI_SUM, nni_comm_mpi(comm),
                   &request);
    nni_comm_wait(comm, 1, &request, "allreduce");
}

int nni_exact_sum_doubles(const nn_comm *comm, const double *parts, int64_t n_units, int width,
                          int64_t terms, double *maxes, double *factors, int64_t *fixed,
                          double *out)
{
    for (int i = 0; i < width; i++)
        maxes[i] = 0;
    for (int64_t j = 0; j < n_units; j++)
        for (int i = 0; i < width; i++) {
            const double a = fabs(parts[j * width + i]);
            maxes[i] = a > maxes[i] || a != a ? a : maxes[i];
        }
    if (nni_exact_scales(comm, maxes, width, terms, factors))
        return 1;
    for (int i = 0; i < width; i++)
        fixed[i] = 0;
    for (int64_t j = 0; j < n_units; j++)
        for (int i = 0; i < width; i++)
            fixed[i] += nni_exact_fixed(parts[j * width + i], factors[i]);
    nni_exact_sum(comm, fixed, width);
    for (int i = 0; i < width; i++)
        out[i] = nni_exact_value(fixed[i], factors[i]);
    return 0;
}

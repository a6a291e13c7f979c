/* Mean, spread and 95% interval of a configuration's metric over its repeats. Results
 * vary with the seed even when everything else is fixed; two configurations whose
 * intervals overlap are not told apart by the search. The t quantile is exact to 9 digits
 * from a table up to 30 degrees of freedom, and from the Cornish-Fisher expansion in 1/df
 * beyond (error below 1e-7 there). */
#include <math.h>

#include "search/interval.h"

static const double t975_table[31] = {
    NAN,         12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836,
    2.446911851, 2.364624252,  2.306004135, 2.262157163, 2.228138852, 2.200985160,
    2.178812830, 2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578,
    2.100922040, 2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610,
    2.063898562, 2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642,
    2.042272456};

double nni_t_quantile_975(int df)
{
    if (df < 1)
        return NAN;
    if (df <= 30)
        return t975_table[df];
    const double z = 1.959963984540054, v = df;
    const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z;
    double g1 = (z3 + z) / 4;
    double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
    double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
    double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
    return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

nni_mean_interval nni_mean_interval_of(const double *values, int n)
{
    nni_mean_interval r = {.mean = NAN, .sd = NAN, .low = NAN, .high = NAN};
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(values[i])) {
            sum += values[i];
            r.n++;
        }
    if (r.n == 0)
        return r;
    r.mean = sum / r.n;
    if (r.n < 2)
        return r;
    double sq = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(values[i]))
            sq += (values[i] - r.mean) * (values[i] - r.mean);
    r.sd = sqrt(sq / (r.n - 1));
    double half = nni_t_quantile_975(r.n - 1) * r.sd / sqrt((double)r.n);
    r.low = r.mean - half;
    r.high = r.mean + half;
    return r;
}

int nni_intervals_overlap(const nni_mean_interval *a, const nni_mean_interval *b)
{
    if (a->n < 2 || b->n < 2)
        return 0;
    return a->low <= b->high && b->low <= a->high;
}

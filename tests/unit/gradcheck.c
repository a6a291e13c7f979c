/* Finite-difference gradient checks (see gradcheck.h). */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>

#include "core/rng.h"

int nn_gradcheck(nn_objective_fn f, void *ctx, float *x, const float *analytic, int64_t n,
                 double eps, double atol, double rtol, char *report, size_t report_size)
{
    double worst_excess = 0;
    int64_t worst = -1;
    double worst_num = 0, worst_ana = 0;
    for (int64_t i = 0; i < n; i++) {
        float saved = x[i];
        x[i] = (float)(saved + eps);
        double up_h = (double)x[i] - saved;
        double f_up = f(ctx);
        x[i] = (float)(saved - eps);
        double down_h = saved - (double)x[i];
        double f_down = f(ctx);
        x[i] = saved;
        /* The float perturbation is not exactly eps; divide by the step actually taken. */
        double numeric = (f_up - f_down) / (up_h + down_h);
        double ana = analytic[i];
        double bound = atol + rtol * fmax(fabs(numeric), fabs(ana));
        double excess = fabs(numeric - ana) - bound;
        if (excess > worst_excess || !isfinite(ana)) {
            worst_excess = isfinite(ana) ? excess : INFINITY;
            worst = i;
            worst_num = numeric;
            worst_ana = ana;
        }
    }
    if (worst >= 0) {
        snprintf(report, report_size, "element %lld: numeric %.8g, analytic %.8g",
                 (long long)worst, worst_num, worst_ana);
        return 0;
    }
    return 1;
}

void nn_test_fill(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    nni_rng rng = nni_rng_stream(seed, NNI_RNG_NOISE, 0, 0, 0);
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nni_rng_uniform(&rng);
}

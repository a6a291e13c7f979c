/* Finite-difference gradient checking shared by the unit tests (kann's kad_check_grad idea):
 * compare an analytic gradient with central differences of a scalar function. */
#ifndef NN_TEST_GRADCHECK_H
#define NN_TEST_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Returns the scalar objective for the current contents of the buffers that ctx points to. */
typedef double (*nn_objective_fn)(void *ctx);

/* For each of x[0..n): perturb by +-eps (in double precision where the objective allows),
 * compare (f(x+eps) - f(x-eps)) / 2eps with analytic[i]. Passes when
 * |num - ana| <= atol + rtol * max(|num|, |ana|) for every element. On failure, writes the
 * worst element into report and returns 0; returns 1 on success. */
int nn_gradcheck(nn_objective_fn f, void *ctx, float *x, const float *analytic, int64_t n,
                 double eps, double atol, double rtol, char *report, size_t report_size);

/* Fill with deterministic pseudo-random values in [lo, hi). */
void nn_test_fill(float *x, int64_t n, uint64_t seed, float lo, float hi);

#endif

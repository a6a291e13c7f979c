/* The Gaussian process that --predict fits to finished trials (src/search/gp.c): a
 * squared-exponential kernel on encoded parameters; its length scale and noise are chosen
 * by marginal likelihood, targets are standardized. */
#ifndef NNI_SEARCH_GP_H
#define NNI_SEARCH_GP_H

#include "nn/error.h"

typedef struct nni_gp nni_gp;

/* x: n rows of d features. */
nn_status nni_gp_fit(const double *x, const double *y, int n, int d, nni_gp **out,
                     nn_error *err);
void nni_gp_predict(const nni_gp *gp, const double *x, double *mean, double *sd);
/* Root mean squared leave-one-out error, in the units of y. */
double nni_gp_loo_rmse(const nni_gp *gp);
double nni_gp_length_scale(const nni_gp *gp);
void nni_gp_free(nni_gp *gp);

#endif

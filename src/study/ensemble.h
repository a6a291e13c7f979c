/* Ensembles: the outputs (logits) of several models on the same rows combined into one
 * prediction. Each way of combining is one row of a table (ensemble.c). */
#ifndef NN_STUDY_ENSEMBLE_H
#define NN_STUDY_ENSEMBLE_H

#include <stdint.h>

#include "nn/error.h"

typedef struct nni_ensemble_method nni_ensemble_method;

/* By name: mean_prob, mean_logit or vote; unknown names fail listing the valid ones. */
nn_status nni_ensemble_find(const char *name, const nni_ensemble_method **out, nn_error *err);
const char *nni_ensemble_name(const nni_ensemble_method *method);

/* probs (rows x classes) = the ensemble's class probabilities from the members' logits
 * (members arrays of rows x classes). For vote, the share of members voting for each class,
 * ties broken towards the class of larger mean probability by a small addition. */
void nni_ensemble_combine(const nni_ensemble_method *method, const float *const *logits,
                          int members, int64_t rows, int64_t classes, double *probs);

/* Softmax of each row of logits into probs. */
void nni_softmax_rows(const float *logits, int64_t rows, int64_t classes, double *probs);

/* Accuracy (argmax against labels) and mean negative log-likelihood of probabilities. */
void nni_ensemble_score(const double *probs, const int32_t *labels, int64_t rows,
                        int64_t classes, double *accuracy, double *nll);

#endif

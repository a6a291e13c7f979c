/* Coresets: k rows of a split chosen to stand for all n (Sener and Savarese, ICLR 2018, for
 * k-center greedy; Welling, ICML 2009, for herding), against the trivial random choice of
 * the same size. Features are the inputs or a trained layer's outputs. */
#ifndef NNI_STUDY_CORESET_H
#define NNI_STUDY_CORESET_H

#include <stdint.h>

#include "nn/error.h"

typedef enum nni_coreset_method {
    NNI_CORESET_KCENTER = 0, /* the row farthest from every row chosen so far, in turn */
    NNI_CORESET_HERDING = 1, /* the row that brings the chosen rows' mean nearest the mean */
    NNI_CORESET_RANDOM = 2,  /* k rows uniformly without replacement, keyed by the seed */
} nni_coreset_method;

/* The method's names in enum order, NULL-terminated. */
extern const char *const nni_coreset_method_names[];

/* Chooses k of the n rows of `features` (n x d, row-major) into chosen[0..k), in the order
 * chosen. Only `rows` (n_rows indices into features; NULL: all n) are candidates. Ties go to
 * the lower row. k-center starts from the candidate nearest the candidates' mean. */
nn_status nni_coreset_select(const float *features, int64_t d, const int64_t *rows,
                             int64_t n_rows, int64_t k, nni_coreset_method method,
                             uint64_t seed, int64_t *chosen, nn_error *err);

#endif

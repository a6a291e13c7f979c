/* Centered kernel alignment (Kornblith et al., "Similarity of Neural Network
 * Representations Revisited", ICML 2019) between the representations of two layers on the
 * same n samples, X (n x p) and Y (n x q), row-major:
 *   CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)),  K, L the samples' Gram matrices.
 * Linear kernel: computed in feature space, ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)
 * with Xc, Yc the column-centered matrices, so the cost grows with n p q, not n^2 (when a
 * layer is wider than the rows, through the n x n Gram matrices instead, the same value).
 * RBF kernel: exp(-d^2 / (2 median(d^2))) over the n x n squared distances d^2.
 * Minibatch CKA (Nguyen, Raghu and Kornblith, ICLR 2021): the unbiased HSIC estimator
 * averaged over consecutive batches of m rows, for sample counts whose Gram matrices do not
 * fit. */
#ifndef NN_STUDY_CKA_H
#define NN_STUDY_CKA_H

#include <stdint.h>

#include "nn/error.h"
#include "study/represent.h"

typedef enum nni_cka_kernel { NNI_CKA_LINEAR, NNI_CKA_RBF } nni_cka_kernel;

/* One layer's matrix. */
typedef struct nni_cka_input {
    const float *values; /* n x width */
    int64_t width;
} nni_cka_input;

/* matrix[i * n_b + j] = CKA(a[i], b[j]) over n rows; minibatch 0: the whole n at once
 * (the biased estimator of the paper's eq. 2), else batches of `minibatch` rows (the rows
 * past the last whole batch are left out). b may equal a (n_b == n_a). */
nn_status nni_cka_matrix(const nni_cka_input *a, int n_a, const nni_cka_input *b, int n_b,
                         int64_t n, nni_cka_kernel kernel, int64_t minibatch, double *matrix,
                         nn_error *err);

/* The same for the layers of two extractions. */
nn_status nni_cka_reps(const nni_reps *a, const nni_reps *b, nni_cka_kernel kernel,
                       int64_t minibatch, double *matrix, nn_error *err);

#endif

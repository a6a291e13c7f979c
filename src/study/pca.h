/* Principal components of a dataset split, in the form of a dense layer: y = x W^T + b
 * with W (k x features) the top k eigenvectors of the covariance as rows and b = -W mean,
 * so the layer computes the projection of the centered input. Written to HDF5 so that
 * `init: {type: file, path: pca.h5, dataset: /weight}` and `bias_init: {type: file, ...,
 * dataset: /bias}` load it into a frozen (`trainable: false`) first layer. */
#ifndef NN_STUDY_PCA_H
#define NN_STUDY_PCA_H

#include <stdint.h>

#include "nn/data.h"
#include "nn/error.h"
#include "nn/parallel.h"

typedef struct nni_pca {
    int64_t features, rows;
    int components;
    double *mean;         /* features */
    float *weight;        /* components x features, unit rows, largest variance first */
    float *bias;          /* components: -weight mean */
    double *variance;     /* components: variance along each (eigenvalue, divisor rows - 1) */
    double total_variance;
} nni_pca;

/* Rows [first, end) of ds; each rank sums its share, so any rank count gives the same
 * components (up to rounding). Each component's sign makes its largest entry positive. */
nn_status nni_pca_fit(const nn_dataset *ds, int64_t first, int64_t end, int components,
                      const nn_comm *comm, nni_pca *out, nn_error *err);
nn_status nni_pca_write(const char *path, const nni_pca *pca, nn_error *err);
void nni_pca_free(nni_pca *pca);

#endif

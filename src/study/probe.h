/* A linear probe: a softmax classifier (one dense layer and cross-entropy) trained with
 * nntrain's own model, loss and optimizer on frozen representations, to measure how
 * linearly separable the classes are at a layer. The features are standardized with the
 * training rows' mean and standard deviation first, so one learning rate suits every layer. */
#ifndef NN_STUDY_PROBE_H
#define NN_STUDY_PROBE_H

#include <stdint.h>

#include "nn/error.h"

typedef struct nni_probe_options {
    int epochs;
    int64_t batch;
    double lr;     /* Adam's */
    uint64_t seed; /* the shuffles */
} nni_probe_options;

/* Representations (rows x width) and labels of the rows a probe learns from or is scored on. */
typedef struct nni_probe_data {
    const float *x;
    const int32_t *labels;
    int64_t rows;
} nni_probe_data;

/* Trains on `train` and reports the accuracy on both. */
nn_status nni_probe_fit(const nni_probe_data *train, const nni_probe_data *eval, int64_t width,
                        int num_classes, const nni_probe_options *opts, double *train_accuracy,
                        double *eval_accuracy, nn_error *err);

#endif

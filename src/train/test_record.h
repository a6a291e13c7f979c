/* The end-of-run test evaluation of a classification run, written to the run directory as
 * test-confusion.csv and test-misclassified.csv (see test_record.c) for the report. */
#ifndef NNI_TRAIN_TEST_RECORD_H
#define NNI_TRAIN_TEST_RECORD_H

#include <stdint.h>

#include "nn/error.h"
#include "nn/parallel.h"

enum { NNI_TEST_RECORD_ROWS = 24 }; /* misclassified rows kept (the report's image grid) */

typedef struct nni_test_record {
    int classes, ranks;
    int n_wrong;       /* this rank's misclassified rows so far */
    double *values;    /* classes x classes counts, then ranks x ROWS x (row + 1, true, pred) */
    int64_t n_values;
} nni_test_record;

nn_status nni_test_record_init(nni_test_record *r, int classes, int ranks, nn_error *err);
void nni_test_record_free(nni_test_record *r);

/* Counts n evaluated rows (`rows`: their indices in the split) of this rank. */
void nni_test_record_tally(nni_test_record *r, int rank, const float *out, int64_t width,
                           const int32_t *labels, const int64_t *rows, int64_t n);

/* Sums over the ranks (a collective); rank 0 writes the two files atomically. */
nn_status nni_test_record_write(nni_test_record *r, const nn_comm *comm, const char *run_dir,
                                const char *const *class_names, int n_class_names,
                                nn_error *err);

#endif

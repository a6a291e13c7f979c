/* The test evaluation at the end of a classification run, kept in the run directory:
 * test-confusion.csv (counts, true class by row, predicted class by column) and
 * test-misclassified.csv (the first misclassified rows of the split). The evaluation runs
 * anyway to print the test line; keeping what it saw lets `nntrain report` draw the
 * confusion matrix without running the model again, which for a convolutional net is tens
 * of seconds of CPU.
 *
 * Every rank evaluates a contiguous share of the split in row order (nn_comm_share), so
 * each rank's first misclassified rows, taken in rank order, are the split's first ones. */
#include "train/test_record.h"

#include <stdlib.h>
#include <string.h>

#include "core/files.h"
#include "core/text.h"
#include "train/train_internal.h"

nn_status nni_test_record_init(nni_test_record *r, int classes, int ranks, nn_error *err)
{
    memset(r, 0, sizeof *r);
    r->classes = classes;
    r->ranks = ranks;
    /* one buffer for the single sum over ranks: counts, then every rank's wrong rows */
    r->n_values = (int64_t)classes * classes + (int64_t)ranks * NNI_TEST_RECORD_ROWS * 3;
    r->values = calloc((size_t)r->n_values, sizeof *r->values);
    if (!r->values)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    return NN_OK;
}

void nni_test_record_free(nni_test_record *r)
{
    free(r->values);
    memset(r, 0, sizeof *r);
}

void nni_test_record_tally(nni_test_record *r, int rank, const float *out, int64_t width,
                           const int32_t *labels, const int64_t *rows, int64_t n)
{
    double *wrong = r->values + (int64_t)r->classes * r->classes +
                    (int64_t)rank * NNI_TEST_RECORD_ROWS * 3;
    for (int64_t i = 0; i < n; i++) {
        const float *o = out + i * width;
        int best = 0;
        for (int c = 1; c < width; c++)
            if (o[c] > o[best])
                best = c;
        int truth = labels[i];
        if (truth < 0 || truth >= r->classes || best >= r->classes)
            continue;
        r->values[truth * r->classes + best] += 1;
        if (best != truth && r->n_wrong < NNI_TEST_RECORD_ROWS) {
            double *w = wrong + 3 * r->n_wrong++;
            w[0] = (double)rows[i] + 1; /* 0 marks an empty slot after the sum */
            w[1] = truth;
            w[2] = best;
        }
    }
}

/* sep and the class's name (its number when the file names no class or the name would need
 * quoting) */
static void put_class_name(nni_text *t, const char *sep, int c, const char *const *names,
                           int n_names)
{
    if (c < n_names && names[c] && names[c][0] && !strpbrk(names[c], ",\"\r\n"))
        nni_text_printf(t, "%s%s", sep, names[c]);
    else
        nni_text_printf(t, "%s%d", sep, c);
}

nn_status nni_test_record_write(nni_test_record *r, const nn_comm *comm, const char *run_dir,
                                const char *const *class_names, int n_class_names,
                                nn_error *err)
{
    nn_comm_sum_doubles(comm, r->values, r->n_values);
    if (comm->rank != 0)
        return NN_OK;
    const int k = r->classes;
    nni_text t = {0};
    nni_text_puts(&t, "true\\predicted");
    for (int c = 0; c < k; c++)
        put_class_name(&t, ",", c, class_names, n_class_names);
    nni_text_puts(&t, "\n");
    for (int a = 0; a < k; a++) {
        put_class_name(&t, "", a, class_names, n_class_names);
        for (int b = 0; b < k; b++)
            nni_text_printf(&t, ",%.0f", r->values[a * k + b]);
        nni_text_puts(&t, "\n");
    }
    char path[700];
    snprintf(path, sizeof path, "%s/test-confusion.csv", run_dir);
    nn_status st = t.failed ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                            : nni_write_file_atomic(path, t.data, t.len, err);
    nni_text_free(&t);
    if (st)
        return st;
    nni_text_puts(&t, "row,true,predicted\n");
    const double *wrong = r->values + (int64_t)k * k;
    int shown = 0;
    for (int64_t i = 0; i < (int64_t)r->ranks * NNI_TEST_RECORD_ROWS && shown < NNI_TEST_RECORD_ROWS;
         i++) {
        const double *w = wrong + 3 * i;
        if (w[0] == 0)
            continue;
        nni_text_printf(&t, "%.0f,%.0f,%.0f\n", w[0] - 1, w[1], w[2]);
        shown++;
    }
    snprintf(path, sizeof path, "%s/test-misclassified.csv", run_dir);
    st = t.failed ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                  : nni_write_file_atomic(path, t.data, t.len, err);
    nni_text_free(&t);
    return st;
}

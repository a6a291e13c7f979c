/* What the report shows of a checkpoint's predictions on a dataset split: the confusion
 * matrix, per-class precision and recall and a few misclassified samples of a
 * classification run; predicted against true values of a regression run. */
#ifndef NNI_REPORT_EVALUATION_H
#define NNI_REPORT_EVALUATION_H

#include <stdint.h>

#include "nn/error.h"
#include "core/text.h"

enum { NNI_EVAL_MAX_SHOWN = 24, NNI_EVAL_MAX_POINTS = 2000 };

typedef struct nni_evaluation {
    char split[64];
    int64_t samples;
    int classification;
    int classes;
    char **class_names;  /* classes names ("0", "1", ... when the file has none) */
    long long *confusion; /* classes x classes: [true][predicted] */
    /* misclassified samples, in row order, as PNG data URIs (images only) */
    int n_wrong_shown;
    int64_t wrong_row[NNI_EVAL_MAX_SHOWN];
    int wrong_true[NNI_EVAL_MAX_SHOWN], wrong_pred[NNI_EVAL_MAX_SHOWN];
    nni_text wrong_image[NNI_EVAL_MAX_SHOWN];
    nni_text wrong_grid; /* the same samples as one PNG file (8 a row), for beside the page */
    /* regression: the first output against its target, every k-th sample */
    int n_points;
    double *predicted, *truth;
} nni_evaluation;

/* Runs the checkpoint over the split of the data file its config names. */
nn_status nni_evaluation_run(const char *checkpoint, const char *split, nni_evaluation *e,
                             nn_error *err);
/* The test evaluation the run recorded when it ended (test-confusion.csv and
 * test-misclassified.csv in dir, written with the weights of `checkpoint`): 1 when loaded. */
int nni_evaluation_recorded(const char *dir, const char *checkpoint, nni_evaluation *e);
/* Draws the misclassified samples (wrong_image, wrong_grid) from the split's data, without
 * running the model: for an evaluation read back from report-eval.txt. */
void nni_evaluation_draw_samples(const char *checkpoint, nni_evaluation *e);
void nni_evaluation_free(nni_evaluation *e);

/* The last evaluation of this checkpoint (same file, size and time) and split, kept in
 * report-eval.txt beside it (evaluation_cache.c): 1 when loaded into e. */
int nni_evaluation_cache_load(const char *checkpoint, const char *split, nni_evaluation *e);
void nni_evaluation_cache_store(const char *checkpoint, const nni_evaluation *e);

#endif

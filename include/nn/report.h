/* Reports: one self-contained HTML page (inline CSS and SVG, images as data URIs, no
 * network reference) of a training run, of several runs side by side, or of a
 * hyperparameter search, or of a study command's output, built from the files they leave (metrics.csv, metrics-steps.csv,
 * config.yaml, log.txt, checkpoints, trials.csv, the trials' run directories). Each figure
 * is also written beside the page as SVG. */
#ifndef NN_REPORT_H
#define NN_REPORT_H

#include "nn/error.h"

typedef struct nn_report_options {
    int evaluate;        /* run the best checkpoint over the test split (confusion matrix) */
    int refresh_seconds; /* > 0: the page reloads itself this often (a run being watched) */
} nn_report_options;

/* What a directory holds, as the report sees it. */
typedef enum nn_report_kind {
    NN_REPORT_NONE,   /* neither */
    NN_REPORT_RUN,    /* metrics.csv or config.yaml: a training run */
    NN_REPORT_SEARCH, /* trials.csv: a hyperparameter search */
    NN_REPORT_STUDY,  /* cka.csv, probe.csv or a CSV of nntrain compare: a study output */
} nn_report_kind;

nn_report_kind nn_report_kind_of(const char *dir);

/* One run, several runs (compared), one search or one study output, written to `output`. A
 * path that is none of these, or a search or study beside other paths, is NN_ERR_CONFIG;
 * nothing is written then. */
nn_status nn_report_write(const char *const *paths, int n_paths, const char *output,
                          const nn_report_options *options, nn_error *err);

#endif

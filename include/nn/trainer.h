/* Training a model described by a whole config: data, model, loss, optimizer, schedule, the
 * epoch loop, evaluation and the run directory. Used by `nntrain train` and by each search
 * trial. */
#ifndef NN_TRAINER_H
#define NN_TRAINER_H

#include <signal.h>
#include <stdio.h>

#include "nn/config.h"
#include "nn/dist.h"
#include "nn/error.h"

typedef struct nn_train_options {
    const char *config_name;   /* file name of the config, for the default run name */
    const char *run_dir;       /* explicit run directory (else <runs_dir>/<name>[-k]) */
    int quiet;                 /* no per-epoch lines (search trials) */
    int progress;              /* -1 auto (terminal), 0 off, 1 on */
    FILE *log;                 /* where rank 0 prints (stdout by default) */
    const char *resume_dir;    /* --resume: continue the run in this directory */
    const volatile sig_atomic_t *stop_flag; /* set by a signal handler: checkpoint, stop */
} nn_train_options;

typedef struct nn_train_result {
    int epochs_run;
    double best_metric;        /* of the monitored metric (early stopping / search) */
    int best_epoch;
    double final_val_loss, final_val_accuracy;
    double test_loss, test_accuracy; /* NaN when no test split was evaluated */
    double train_seconds;
    double samples_per_second;
    int stopped_by_signal;     /* a requeue checkpoint was written; resume to continue */
    char run_dir[512];
} nn_train_result;

nn_status nn_train(const nn_cfg *cfg, const nn_comm *comm, const nn_train_options *opts,
                   nn_train_result *result, nn_error *err);

#endif

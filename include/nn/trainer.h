/* Training a model described by a whole config: data, model, loss, optimizer, schedule, the
 * epoch loop, evaluation and the run directory. Used by `nntrain train` and by each search
 * trial. */
#ifndef NN_TRAINER_H
#define NN_TRAINER_H

#include <signal.h>
#include <stdio.h>

#include "nn/config.h"
#include "nn/parallel.h"
#include "nn/data.h"
#include "nn/error.h"
#include "nn/loss.h"
#include "nn/model.h"

typedef struct nn_train_options {
    const char *config_name;   /* file name of the config, for the default run name */
    const char *run_dir;       /* explicit run directory (else <runs_dir>/<name>[-k]) */
    int quiet;                 /* no per-epoch lines (search trials) */
    int progress;              /* -1 auto (terminal), 0 off, 1 on */
    FILE *log;                 /* where rank 0 prints (stdout by default) */
    const char *resume_dir;    /* --resume: continue the run in this directory */
    int skip_test;             /* never evaluate the test split (search trials) */
    const char *metric;        /* result->best_metric tracks this metric ... */
    int metric_maximize;       /* ... in this direction */
    /* Called on every rank after every optimizer step (the search coordinator serves its
     * queue from here while its own group trains). */
    void (*on_step)(void *ctx);
    void *on_step_ctx;
    const volatile sig_atomic_t *stop_flag; /* set by a signal handler: checkpoint, stop */
    /* Pause after this many epochs (0: never): write last.h5 and return with result->paused
     * set; resuming the run continues it exactly as if it had not stopped (successive
     * halving continues its best trials this way). */
    int stop_after_epochs;
    int threads; /* BLAS threads when train.threads is unset (0: the node's CPUs divided
                    among comm's ranks on it; a search divides them among all its ranks) */
} nn_train_options;

typedef struct nn_train_result {
    int epochs_run;
    double best_metric;        /* of opts.metric (or early stopping's monitor) */
    int best_epoch;
    double final_val_loss, final_val_accuracy;
    double test_loss, test_accuracy; /* NaN when no test split was evaluated */
    double train_seconds;
    double samples_per_second;
    int stopped_by_signal;     /* a requeue checkpoint was written; resume to continue */
    int paused;                /* stopped after opts.stop_after_epochs; resume to continue */
    double allreduce_wait_fraction; /* of step time, with several ranks */
    char run_dir[512];
} nn_train_result;

nn_status nn_train(const nn_cfg *cfg, const nn_comm *comm, const nn_train_options *opts,
                   nn_train_result *result, nn_error *err);

/* A model, its loss and a data split rebuilt from a checkpoint alone (eval, predict, the
 * search's final test). */
typedef struct nn_ckpt_runner {
    nn_cfg *cfg;
    nn_model *model;
    nn_loss *loss;
    nn_dataset data;
    int64_t capacity;
} nn_ckpt_runner;

/* data_path NULL: the data file named in the checkpoint's config. */
nn_status nn_ckpt_runner_open(const char *checkpoint, const char *split, const char *data_path,
                              nn_ckpt_runner *runner, nn_error *err);
/* Forward passes over the whole split; visit() sees each chunk's outputs. */
void nn_ckpt_runner_run(nn_ckpt_runner *runner,
                        void (*visit)(void *ctx, const float *out, int64_t first, int64_t count),
                        void *ctx);
void nn_ckpt_runner_close(nn_ckpt_runner *runner);
/* Mean loss and accuracy (NaN unless classification) of a split. */
nn_status nn_evaluate_checkpoint(const char *checkpoint, const char *split, const char *data_path,
                                 double *loss, double *accuracy, int64_t *samples, nn_error *err);

#endif

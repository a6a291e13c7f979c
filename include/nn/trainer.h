/* Training a model described by a whole config: data, model, loss, optimizer, schedule, the
 * epochs (in one call, or one optimizer step at a time), evaluation and the run directory;
 * and evaluating or predicting from a checkpoint alone. Used by `nntrain train`, `eval`,
 * `predict` and by each search trial. */
#ifndef NN_TRAINER_H
#define NN_TRAINER_H

#include <signal.h>
#include <stdio.h>

#include "nn/config.h"
#include "nn/data.h"
#include "nn/error.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/parallel.h"

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

/* A whole run: nn_trainer_open, nn_trainer_step until nn_trainer_done, nn_trainer_finish,
 * nn_trainer_close. Collective over the group, as every function below. */
nn_status nn_train(const nn_cfg *cfg, const nn_comm *comm, const nn_train_options *opts,
                   nn_train_result *result, nn_error *err);

/* The same run one optimizer step at a time, for a caller with work of its own between
 * steps (the search's rank 0 answers the other groups there). */
typedef struct nn_trainer nn_trainer;
/* Builds data, model, loss, optimizer and schedule from the config, prepares the run
 * directory (or resumes the run in it) and prints the start-up lines. On failure *out is
 * NULL and nothing is left to free. */
nn_status nn_trainer_open(const nn_cfg *cfg, const nn_comm *comm, const nn_train_options *opts,
                          nn_trainer **out, nn_error *err);
/* One optimizer step; after the last step of an epoch also the epoch's end (validation, the
 * epoch line, metrics.csv, checkpoints, early stopping). */
nn_status nn_trainer_step(nn_trainer *trainer, nn_error *err);
/* 1 when no step is left: every epoch ran, early stopping or a signal ended the run, it
 * paused (opts.stop_after_epochs), or a step failed. */
int nn_trainer_done(const nn_trainer *trainer);
/* After the last step of a run that did not fail: restores the best weights when early
 * stopping asks for them and evaluates the test split (nothing for a stopped or paused
 * run, which is to be resumed). */
nn_status nn_trainer_finish(nn_trainer *trainer, nn_error *err);
/* What the run achieved so far into *result (NULL: not wanted; a NULL trainer gives an empty
 * result), then frees everything. */
void nn_trainer_close(nn_trainer *trainer, nn_train_result *result);

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
/* Only the config and the split (model and loss NULL): for reading samples as the model
 * sees them. Close it with nn_ckpt_runner_close(). */
nn_status nn_ckpt_runner_open_data(const char *checkpoint, const char *split,
                                   const char *data_path, nn_ckpt_runner *runner, nn_error *err);
/* Forward passes over the whole split; visit() sees each chunk's outputs. */
void nn_ckpt_runner_run(nn_ckpt_runner *runner,
                        void (*visit)(void *ctx, const float *out, int64_t first, int64_t count),
                        void *ctx);
/* Mean loss and accuracy (NaN without class labels) of the runner's model on its split. */
void nn_ckpt_runner_evaluate(nn_ckpt_runner *runner, double *loss, double *accuracy);
void nn_ckpt_runner_close(nn_ckpt_runner *runner);
/* What evaluating a split gives: the mean loss, the accuracy (NaN unless classification)
 * and, for losses that read label sequences (ctc), the label error rate: the edit distance
 * of the greedy decodings to the targets, summed over the rows, over the number of target
 * labels (NaN for other losses). */
typedef struct nn_eval_result {
    double loss, accuracy, label_error_rate;
    int64_t samples;
} nn_eval_result;
nn_status nn_evaluate_split(const char *checkpoint, const char *split, const char *data_path,
                            nn_eval_result *result, nn_error *err);
/* Mean loss and accuracy (NaN unless classification) of a split. */
nn_status nn_evaluate_checkpoint(const char *checkpoint, const char *split, const char *data_path,
                                 double *loss, double *accuracy, int64_t *samples, nn_error *err);

#endif

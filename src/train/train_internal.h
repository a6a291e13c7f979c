/* The trainer's state, shared by its files: trainer.c (the run, step by step), setup.c and
 * data_splits.c (building it from the config), clip.c, early_stopping.c, run_checkpoints.c,
 * resume.c, run_dir.c and messages.c. */
#ifndef NN_TRAIN_INTERNAL_H
#define NN_TRAIN_INTERNAL_H

#include <stdio.h>

#include "data/augment.h"
#include "data/batch.h"
#include "data/node_cache.h"
#include "data/stream.h"
#include "data/sampler.h"
#include "nn/data.h"
#include "nn/history.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "parallel/unit_tree.h"
#include "nn/parallel.h"
#include "nn/sched.h"
#include "nn/trainer.h"
#include "parallel/grad_sync.h"
#include "parallel/watchdog.h"
#include "train/optim_internal.h"
#include "train/step_log.h"
#include "train/test_record.h"

/* data.cache: a copy of every split per rank, one per node shared by its ranks, or none
 * (samples streamed from the files batch by batch). */
enum { DATA_CACHE_MEMORY, DATA_CACHE_NODE, DATA_CACHE_NONE };

typedef struct step_totals {
    double loss_sum, correct;
    int64_t samples;
} step_totals;

typedef struct early_stopping {
    int enabled;
    char monitor[64];
    int maximize, patience, restore_best;
    double min_delta;
    double best;
    int best_epoch, bad_epochs;
    float *best_params, *best_state; /* copies for restore_best */
} early_stopping;

typedef struct clip_options {
    double norm;  /* 0: off */
    double value; /* 0: off */
} clip_options;

/* train.reproducible: bitwise (reproducible.c); unit 0 in the default mode. */
typedef struct reproducible {
    int64_t unit;          /* samples per unit */
    int64_t slots;         /* units per step on this rank at most */
    int64_t stride;        /* floats per unit slot */
    float *partials;       /* slots x stride: each unit's gradients; slot 0 gets the sums */
    int64_t *unit_id;      /* slots: each slot's unit, numbered over the step */
    int max_nodes;         /* of a rank's cover of its units (parallel/unit_tree.h) */
    nni_tree_sum tree;     /* the sums in the tree's order, a chunk at a time */
    nni_tree_sum cover;    /* this rank's cover: nodes only */
    struct tree_item *items; /* the step's nodes in unit order (reproducible.c) */
    double *losses;        /* (unit, loss) pairs of the step over the group */
    int64_t head_words;    /* a rank's header: its cover, scalars, units' losses */
    float *nodes;          /* max_nodes x stride: this rank's cover of its units */
    uint8_t *fused;        /* per parameter: its layer wrote its cover into `nodes` itself */
    float *send, *recv;    /* MPI: the covers sent and received by slices */
    int64_t *heads, *my_head;     /* MPI: every rank's header, and this rank's */
    int *counts;                  /* MPI: counts and displacements of the exchange */
    int n_groups;          /* trained tensors */
    int *group_param;      /* their parameter indices */
    double *unit_loss;     /* slots */
    int64_t *unit_correct; /* slots */
    double *eval_parts;    /* evaluation: loss and correct count of each of this rank's blocks */
    double wait_seconds;   /* in the sums over the ranks */
    int transport;         /* train.allreduce (nni_grad_transport) */
    struct nni_rank_buffers *shared; /* the sums through node shared memory, or NULL: MPI */
    char why[128];         /* why not shared memory */
    int mutate;            /* test hook NN_TEST_MUTATE_SUM_ORDER (reproducible.c) */
    /* The summed gradients this rank reads (its range of a shared optimizer update; all of
     * them when clipping or gradient logs read every one): [own_first, own_end). */
    int64_t own_first, own_end;
} reproducible;

/* The step's sums over the group. */
typedef struct step_sums {
    double loss_sum, correct;
    int stop_requested;
    int64_t rows;
} step_sums;

struct nn_trainer {
    const nn_cfg *cfg;
    const nn_comm *comm;
    nn_train_options opts;
    uint64_t seed;
    int is_root; /* prints and writes files */

    nn_dataset train, val, test;
    int has_val, has_test, val_from_train;
    int64_t *train_rows, n_train; /* rows of `train` used for training */
    int64_t oversampled;          /* of them, added by data.oversample */
    int64_t *val_rows, n_val;     /* rows of `val` (or of `train` when carved from it) */
    nni_sampler sampler;
    nni_chunk_shuffle chunk_shuffle; /* data.shuffle: chunks */
    nni_sampling sampling;
    nni_file_list data_files;      /* data.path */
    nn_dataset_source data_source; /* data.x, data.y, data.layout */
    int data_cache;                /* data.cache as resolved: DATA_CACHE_MEMORY or _NODE */
    nni_node_cache node_cache;     /* the ranks of this node, for data.cache: node */
    nni_stream *train_stream, *val_stream, *test_stream; /* data.cache: none */
    int64_t *ahead_rows;           /* the next batch's rows, read ahead while a step runs */
    int streamed_target_input;     /* data.target: input, streamed: targets copied from x */
    const char *loading_split;     /* the split being loaded, for the progress line */
    double loading_start;
    nni_grad_sync *sync;
    int64_t accumulate;          /* micro-batches per optimizer step */
    int overlap;                 /* allreduce overlapped with backward */
    reproducible repro;          /* train.reproducible */
    double step_seconds;         /* time inside train_step, summed */

    nn_model *model;
    nn_loss *loss;
    nn_optim *opt;
    nn_sched *sched;
    int classification;
    nni_test_record *test_record; /* set while the final test evaluation runs */
    int64_t global_batch, capacity;
    int epochs, start_epoch;
    double lr_scale;
    clip_options clip;
    int log_grad_norms;
    nni_step_log step_log;       /* train.log_every_steps */
    early_stopping early;
    int stop_requested;

    /* Where the run is (trainer.c). */
    int epoch;                   /* 0-based */
    int in_epoch;                /* the epoch has begun */
    int64_t step;                /* the epoch's next step */
    step_totals totals;          /* of the epoch's steps so far */
    double lr;                   /* of the latest step */
    double run_start, epoch_start;
    int done;                    /* no step left */
    nn_train_result result;      /* filled in as the run goes */

    int64_t *batch_rows, *sample_ids;
    target_buffer targets_buf;
    nni_augment augment; /* training batches only */
    /* data.label_noise with an epoch window: both sets of training labels, and which one
     * train.labels holds now (data_splits.c). NULL when the noise has no window. */
    int32_t *clean_labels, *noisy_labels;
    int labels_noisy;
    nni_epoch_window label_noise_epochs;

    char run_dir[512];
    int run_dir_lock; /* rank 0's lock on run_dir (core/dir_lock.h), -1 when none */
    int metrics_fd; /* rank 0's metrics.csv, appended a row per epoch; -1 when none */
    /* rank 0's log.txt, appended a line at a time; -1 when none. The first failed write
     * closes it and is kept in log_failure, which stops the run at the next check
     * (nni_trainer_log_status) like any other failed write. */
    int log_fd;
    char log_path[600];
    nn_error log_failure;
    FILE *out;
    int progress; /* draw a progress bar */
    double last_progress;
    int threads;
    char layout[256]; /* ranks per node, for the banner */

    /* Checkpoints (run_checkpoints.c) and resuming (resume.c). */
    int ckpt_every, ckpt_keep, ckpt_best;
    int ckpt_keep_initial;        /* epoch-000.h5: the weights before the first step */
    int64_t ckpt_every_steps;
    char ckpt_monitor[64];
    int ckpt_monitor_max;
    double ckpt_best_value;
    int64_t start_step;           /* first step of start_epoch (resume mid-epoch) */
    step_totals start_totals;     /* totals of start_epoch's steps done before resuming */
    nn_epoch_record *history;     /* one per epoch run */
    int n_history;
    uint64_t data_hash;
    char data_fingerprint[512];
    char *config_yaml;
    int resumed;
    char resume_note[1400]; /* what resuming found and changed, for the log */
};

/* setup.c: everything from the config, and back. */
nn_status nni_trainer_setup(nn_trainer *t, const nn_cfg *cfg, const nn_comm *comm,
                            const nn_train_options *opts, nn_error *err);
void nni_trainer_teardown(nn_trainer *t);

/* data_splits.c: `data.shuffle_pixels` (an nni_pixel_shuffle), also for evaluation. */
nn_status nni_data_read_pixel_shuffle(const nn_cfg *data, int *mode, nn_error *err);
/* data_splits.c: `data:` into t->train, t->val, t->test and the rows used of them. */
nn_status nni_trainer_setup_data(nn_trainer *t, const nn_cfg *data, nn_error *err);
/* data_splits.c: as epoch t->epoch begins, the training labels it uses (noisy inside
 * data.label_noise's epoch window, clean outside). */
void nni_trainer_label_noise_epoch(nn_trainer *t);

/* trainer.c: rows of `out` (width scores each) whose largest score is at their label. */
int64_t nni_trainer_count_correct(const float *out, int64_t width, const int32_t *labels,
                                  int64_t rows);
/* trainer.c: mean loss and accuracy (NaN unless classification) of rows of ds (NULL: every
 * row), split over the group. */
nn_status nni_trainer_evaluate(nn_trainer *t, const nn_dataset *ds, const int64_t *rows,
                               int64_t n_rows, double *loss, double *accuracy, nn_error *err);

/* reproducible.c: train.reproducible. parse reads the mode and the unit (before the model
 * is built: it may raise t->capacity); setup checks the model and plans the unit slots. */
nn_status nni_repro_parse(nn_trainer *t, const nn_cfg *train_cfg, nn_error *err);
nn_status nni_repro_setup(nn_trainer *t, nn_error *err);
void nni_repro_free(nn_trainer *t);

/* precision.c: train.precision (fp32 or bf16); after the model is built. */
nn_status nni_precision_setup(nn_trainer *t, const nn_cfg *train_cfg, nn_error *err);
/* The gradients of `micro` global batches from first_batch, summed exactly over the group
 * into the model's gradients; the loss sum is NaN when anything was not finite. */
nn_status nni_repro_gradients(nn_trainer *t, int epoch, int64_t first_batch, int64_t micro,
                              float scale, step_sums *out);
nn_status nni_repro_evaluate(nn_trainer *t, const nn_dataset *ds, const int64_t *rows,
                             int64_t n_rows, double *loss, double *accuracy);

/* clip.c: train.clip. */
nn_status nni_clip_parse(const nn_cfg *node, clip_options *clip, nn_error *err);
int nni_clip_enabled(const clip_options *clip);
/* Clips model->grad_data in place (every summed gradient). */
void nni_clip_gradients(const clip_options *clip, nn_model *model);

/* early_stopping.c: train.early_stopping. */
nn_status nni_early_stopping_parse(const nn_cfg *node, int has_val, const nn_model *model,
                                   early_stopping *e, nn_error *err);
void nni_early_stopping_free(early_stopping *e);
/* After an epoch: records its metric (and the weights, for restore_best); 1 when training
 * should stop now. */
int nni_early_stopping_update(early_stopping *e, const nn_epoch_record *m, const nn_model *model);
/* At the end of the run: puts the best epoch's weights back when restore_best asks for them;
 * 1 when it did. */
int nni_early_stopping_restore(const early_stopping *e, nn_model *model);

/* run_checkpoints.c: train.checkpoint. */
nn_status nni_trainer_setup_checkpoints(nn_trainer *t, nn_error *err);
/* After an epoch (step == 0) or mid-epoch (step > 0, totals of the epoch so far). */
nn_status nni_trainer_checkpoint(nn_trainer *t, int epoch, int64_t step, const step_totals *tot,
                                 const nn_epoch_record *record, nn_error *err);
/* After restore_best: rewrites last.h5 so that it holds the weights the run ends with. */
nn_status nni_trainer_checkpoint_final(nn_trainer *t, nn_error *err);
/* Averages running statistics computed per rank (batchnorm without sync) over the group, as
 * DDP users do by hand, before evaluating or saving them. */
void nni_trainer_average_state(nn_trainer *t);
/* Best value of a history column over the epochs run so far (NaN, 0 when none). */
void nni_trainer_best_of(const nn_trainer *t, const char *metric, int maximize, double *value,
                         int *epoch);

/* run_checkpoints.c: epoch-000.h5 before training when train.checkpoint.keep_initial asks
 * for it (for `nntrain reinit`); nothing on resume. */
nn_status nni_trainer_checkpoint_initial(nn_trainer *t, nn_error *err);
/* resume.c: continue the run in t->run_dir from its newest good checkpoint. */
nn_status nni_trainer_resume(nn_trainer *t, nn_error *err);

/* run_dir.c: the run directory, log.txt, config.yaml and metrics.csv. */
nn_status nni_trainer_prepare_run_dir(nn_trainer *t, nn_error *err);
/* Appends the epoch's row; a failed write leaves the rows before it and stops the run. */
nn_status nni_trainer_write_metrics(nn_trainer *t, const nn_epoch_record *record,
                                    nn_error *err);
/* metrics.csv rewritten from the history (a resumed run). */
nn_status nni_trainer_rewrite_metrics(nn_trainer *t, nn_error *err);

/* messages.c: what rank 0 prints (and logs). */
/* printf to rank 0's output and the run log. */
void nni_trainer_say(nn_trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first failed write of log.txt since the run began (its file and reason in err), or
 * NN_OK: checked where the run can stop with the files before it whole. */
nn_status nni_trainer_log_status(const nn_trainer *t, nn_error *err);
void nni_trainer_print_start(nn_trainer *t);
/* Collective: each rank's peak resident and proportional memory, printed by rank 0. */
void nni_trainer_print_memory(nn_trainer *t);
void nni_trainer_print_epoch(nn_trainer *t, const nn_epoch_record *m);
/* The share of step time spent waiting for gradient sums (collective). */
void nni_trainer_report_allreduce_wait(nn_trainer *t, nn_train_result *result);
/* The error for a non-finite loss, naming the layer with the largest gradient norm
 * (collective: every rank fails the same step). */
nn_status nni_trainer_numeric_failure(nn_trainer *t, int epoch, int64_t batch, nn_error *err);
void nni_progress_update(nn_trainer *t, int epoch, int64_t done, int64_t total,
                         const step_totals *tot, double epoch_start);
void nni_progress_clear(nn_trainer *t);
/* nn_dataset_source.progress while a split loads (ctx: the trainer): one line on rank 0's
 * terminal, redrawn at most every 0.1 s, left standing once the split is read. */
void nni_trainer_load_progress(void *ctx, int64_t rows_read, int64_t rows, size_t row_bytes);
/* Whether f ends on a terminal someone watches (under a launcher: the launcher's). */
int nni_is_terminal(FILE *f);

/* The keys each config section accepts, NULL-terminated: the lists its reader checks the
 * section against, also read by `nntrain train --list-config-keys` (cli/config_keys.c). */
extern const char *const nni_top_keys[];            /* trainer.c */
extern const char *const nni_train_keys[];          /* trainer.c: train: */
extern const char *const nni_data_keys[];           /* data_splits.c: data: */
extern const char *const nni_data_val_keys[];       /* data_splits.c: data.val: */
extern const char *const nni_clip_keys[];           /* clip.c: train.clip: */
extern const char *const nni_early_stopping_keys[]; /* early_stopping.c */
extern const char *const nni_checkpoint_keys[];     /* run_checkpoints.c: train.checkpoint: */

#endif

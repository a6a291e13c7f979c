/* train.log_every_steps: N: every N optimizer steps rank 0 appends one row to the run's
 * metrics-steps.csv (columns in io/step_record.h) with one write, so a report or another
 * tool can follow a run while it trains. A failed write leaves the rows before it and stops
 * the run (core/files.h, nni_append_fd). */
#ifndef NN_TRAIN_STEP_LOG_H
#define NN_TRAIN_STEP_LOG_H

#include <stdio.h>

#include "io/step_record.h"
#include "nn/config.h"
#include "nn/error.h"
#include "nn/model.h"

typedef struct nni_step_log {
    int64_t every;           /* 0: off */
    int fd;                  /* rank 0's metrics-steps.csv; -1 when not logging */
    char path[600];
    nni_step_record row;     /* the step being recorded */
    int64_t samples;         /* training samples since the previous row */
    double seconds_at_row;   /* the trainer's summed step time at the previous row */
} nni_step_log;

nn_status nni_step_log_parse(const nn_cfg *train_cfg, nni_step_log *log, nn_error *err);

/* Opens (rank 0) run_dir/metrics-steps.csv. A fresh run starts it with the header; a
 * resumed run keeps the rows up to the position it resumes from (`epochs_done` whole epochs
 * and `steps_done` steps of the next) and appends after them. */
nn_status nni_step_log_open(nni_step_log *log, const char *run_dir, int resume, int epochs_done,
                            int64_t steps_done, nn_error *err);

/* Inside the step, once the gradients are summed and before clipping: counts the step's
 * samples and, when this step is logged, measures its loss, accuracy and gradient norm. */
void nni_step_log_measure(nni_step_log *log, const nn_model *model, int64_t step,
                          double loss_sum, double correct, int64_t samples, int classification);

/* After the step: writes the row when this step is logged. */
nn_status nni_step_log_write(nni_step_log *log, int epoch, int64_t step, double lr,
                             double step_seconds, nn_error *err);

void nni_step_log_close(nni_step_log *log);

#endif

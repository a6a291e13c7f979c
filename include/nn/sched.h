/* Learning-rate schedules (`train.schedule`): constant, step, multistep, exponential (per
 * epoch), cosine, reduce_on_plateau, a formula, each optionally preceded by linear warmup
 * (`warmup_epochs` or `warmup_steps`). The lr is a pure function of (epoch, step) plus, for
 * reduce_on_plateau, a small state that checkpoints save. */
#ifndef NN_SCHED_H
#define NN_SCHED_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"

typedef struct nn_sched nn_sched;

typedef struct nn_sched_state {
    double plateau_scale; /* product of reduce_on_plateau factors so far */
    double plateau_best;
    int plateau_bad_epochs;
    int plateau_cooldown;
} nn_sched_state;

nn_status nn_sched_build(const nn_cfg *sched_cfg, double base_lr, int64_t steps_per_epoch,
                         int epochs, nn_sched **out, nn_error *err);
void nn_sched_free(nn_sched *sched);
/* lr for the step `step_in_epoch` of `epoch` (both 0-based). */
double nn_sched_lr(const nn_sched *sched, int epoch, int64_t step_in_epoch);
/* After each epoch: feeds reduce_on_plateau its monitored metric. */
void nn_sched_epoch_end(nn_sched *sched, double metric);
/* The metric reduce_on_plateau (or a formula reading best or since_best) watches, NULL for
 * other schedules, and its goal. */
const char *nn_sched_monitor(const nn_sched *sched, int *maximize);
nn_sched_state *nn_sched_state_of(nn_sched *sched);

#endif

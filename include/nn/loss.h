/* Losses: a weighted sum of terms written in the config, `loss: cross_entropy`,
 * `loss: {type: huber, delta: 0.5}` or `loss: [{type: cross_entropy}, {type: mse,
 * weight: 0.1}, {type: l2_penalty, weight: 1e-4}]`. A loss is a mean over the GLOBAL batch:
 * each rank evaluates its rows, scales gradients by 1 / global batch, and the allreduce
 * sums them, so the result does not depend on how the batch is split.
 *
 * Penalty terms (l1_penalty, l2_penalty) depend on the weights, not on the samples: they
 * are added once per step, after the gradient sum, by nn_loss_add_penalties. */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"

struct nn_model;

typedef struct nn_targets {
    const int32_t *labels; /* rows, or NULL */
    const float *values;   /* rows x width, or NULL */
    int64_t width;
    /* Label sequences (ctc): the labels of each row (the data's y_lengths), or NULL: up to
     * the first -1. */
    const int32_t *lengths;
    /* When the model outputs a sequence over the input's steps (steps_total of them) and the
     * input sequences are padded: the valid steps of each row (the data's x_lengths). The
     * padded steps' outputs then cost nothing and get no gradient. NULL: every step counts. */
    const int32_t *steps;
    int64_t steps_total;
} nn_targets;

typedef struct nn_loss nn_loss;

/* output_size: features per sample of the model output; has_labels: targets are integer
 * labels (else float values of `target_width` per row); num_classes for label targets. */
nn_status nn_loss_build(const nn_cfg *loss_cfg, int64_t output_size, int has_labels,
                        int64_t target_width, int num_classes, nn_loss **out, nn_error *err);
void nn_loss_free(nn_loss *loss);

/* Returns the sum over rows of the per-sample loss. When dout != NULL, writes
 * grad_scale * d(loss)/d(output) into dout (rows x output_size). */
double nn_loss_eval(nn_loss *loss, const float *output, const nn_targets *targets, int64_t rows,
                    float grad_scale, float *dout);

/* Adds the gradients of the loss's penalty terms into model->grad_data and returns their
 * value (0 without penalties). Call once per step, after the gradients were summed over
 * the ranks, so every rank adds the same amount whatever their number. */
double nn_loss_add_penalties(const nn_loss *loss, struct nn_model *model);

/* Checks the targets of a dataset against what the loss's terms accept (ctc: label ids in
 * range, never the blank, emittable in the model's steps); NN_ERR_DATA naming `where` and the
 * row. Terms without such rules accept any targets. */
nn_status nn_loss_check_targets(const nn_loss *loss, const nn_targets *targets, int64_t rows,
                                const char *where, nn_error *err);

/* For a loss that reads label sequences (ctc): decodes one row of model outputs (greedy
 * best path) into labels, which needs room for one label per output value, and returns how
 * many; -1 for the other losses. Only the first `steps` steps are read (<= 0: all). */
int64_t nn_loss_decode(const nn_loss *loss, const float *row, int64_t steps, int32_t *labels);
/* Whether nn_loss_decode applies. */
int nn_loss_decodes(const nn_loss *loss);

/* Whether accuracy makes sense (classification by argmax of logits). */
int nn_loss_is_classification(const nn_loss *loss);

#endif

/* A batch gathered from a dataset for a training step or an evaluation: the rows' samples go
 * straight into the model's input, their targets into a buffer planned once for the largest
 * batch (nothing is allocated per batch). */
#ifndef NN_DATA_BATCH_H
#define NN_DATA_BATCH_H

#include <stdint.h>

#include "nn/data.h"
#include "nn/error.h"
#include "nn/loss.h"

/* Targets of the rows currently in the model input. */
typedef struct target_buffer {
    int32_t *labels; /* `capacity` rows of labels, for label targets (else NULL) */
    float *values;   /* `capacity` rows of target_width values, for float targets */
    int32_t *target_lengths; /* `capacity` rows of the data's y_lengths */
    int32_t *steps;  /* `capacity` rows of the data's x_lengths */
    int has_steps;   /* the rows fetched last have x_lengths (steps is filled) */
    /* The model outputs a sequence of this many steps over the input's, to be masked with
     * x_lengths (0: it does not); set by the owner after the allocation. */
    int64_t output_steps;
    nn_targets view; /* what the loss reads */
} target_buffer;

/* The valid steps of the rows fetched last, for nn_pass.lengths (NULL: all steps). */
static inline const int32_t *nni_batch_steps(const target_buffer *tb)
{
    return tb->has_steps ? tb->steps : NULL;
}

/* Room for the targets of `capacity` rows of datasets shaped like ds. */
nn_status nni_target_buffer_alloc(target_buffer *tb, const nn_dataset *ds, int64_t capacity,
                                  nn_error *err);
void nni_target_buffer_free(target_buffer *tb);

/* Gathers rows of ds into x (count x sample_size) and their targets into tb, with the
 * sequence lengths when ds has them. */
void nni_data_fetch(const nn_dataset *ds, const int64_t *rows, int64_t count, float *x,
                    target_buffer *tb);
/* Only the targets (the samples of a streamed split come from nni_stream_read). */
void nni_data_fetch_targets(const nn_dataset *ds, const int64_t *rows, int64_t count,
                            target_buffer *tb);

/* data.target: input on a streamed split: the targets are the samples just read into x
 * (count x tb's width), copied before augmentation changes x. */
void nni_data_targets_from_input(const float *x, int64_t count, target_buffer *tb);

#endif

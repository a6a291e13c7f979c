/* What a model costs: its parameters, the bytes they take in a checkpoint, its FLOPs and
 * its measured forward latency (`nntrain summary --measure`, `nntrain compare`). */
#ifndef NNI_MODEL_MEASURE_H
#define NNI_MODEL_MEASURE_H

#include <stdint.h>

#include "nn/model.h"

typedef struct nni_model_size {
    int64_t params;            /* trained and frozen (nn_model_count_params) */
    int64_t state;             /* running statistics and other saved state */
    int64_t bytes;             /* float32 parameters + state: /params and /state of a
                                * checkpoint (without the optimizer's slots) */
    int64_t flops_per_sample;  /* forward */
} nni_model_size;

nni_model_size nni_model_size_of(const nn_model *model);

enum { NNI_LATENCY_MIN_REPEATS = 3 };

/* Forward latency of one batch, measured `repeats` times after a warm-up. Each repeat times
 * enough back-to-back forwards to last min_seconds (1 when one forward takes longer) and
 * keeps the time per forward, so the clock's resolution never dominates; the median is the
 * figure to quote, min and max show the spread (a loaded machine widens it). */
typedef struct nni_latency {
    int64_t batch;
    int repeats;
    int64_t forwards_per_repeat;
    double median, min, max; /* seconds per forward of the whole batch */
} nni_latency;

/* batch <= model->capacity; repeats >= NNI_LATENCY_MIN_REPEATS. The input is filled with
 * fixed pseudo-random values. */
nni_latency nni_model_latency(nn_model *model, int64_t batch, int repeats, double min_seconds);

#endif

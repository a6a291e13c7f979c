/* What `nntrain summary --measure` and `nntrain compare` share: a model from a config, a
 * checkpoint or a run directory, and the flags and figures of its measured cost
 * (model/measure.h). */
#ifndef NNI_CLI_MODEL_COST_H
#define NNI_CLI_MODEL_COST_H

#include "cli/options.h"
#include "model/measure.h"
#include "nn/config.h"
#include "nn/model.h"

/* The flag rows both verbs take. */
#define NNI_CLI_COST_FLAGS                                                                   \
    {"batch", 0, "B1,B2,...", "batch sizes to time (default: 1 and train.batch_size)"},      \
    {"threads", 0, "T", "threads of the forward passes (default: every CPU allowed)"},       \
    {"repeats", 0, "R", "timed repeats per batch size, at least 3 (default 15); the "        \
                        "median is reported"}

enum { NNI_CLI_MAX_BATCHES = 16 };

typedef struct nni_cost_options {
    int64_t batches[NNI_CLI_MAX_BATCHES]; /* empty: 1 and the training batch */
    int n_batches;
    int threads; /* 0: as is */
    int repeats;
} nni_cost_options;

nn_status nni_cost_options_read(const nni_cli_args *args, nni_cost_options *o, nn_error *err);

/* A model to measure: built from a config file (with the command line's --set overrides)
 * or from the config inside a checkpoint, with its weights (a run directory means its
 * last.h5). */
typedef struct nni_cost_model {
    char name[256];     /* what the operand was, for tables */
    nn_cfg *cfg;
    nn_model *model;
    int from_checkpoint;
    int64_t train_batch;
    double val_accuracy; /* the checkpoint's last recorded one, NaN otherwise */
    int64_t batches[NNI_CLI_MAX_BATCHES]; /* the batch sizes to time */
    int n_batches;
} nni_cost_model;

/* Built with room for the largest batch of o. */
nn_status nni_cost_model_open(const char *path, const nni_cli_args *args,
                              const nni_cost_options *o, nni_cost_model *m, nn_error *err);
void nni_cost_model_close(nni_cost_model *m);

#endif

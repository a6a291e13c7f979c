/* Checkpoints (HDF5), laid out for h5py and PyTorch users:
 *   /params/<layer>/<name>          parameters in PyTorch layouts
 *   /state/<layer>/<name>           non-trained state (batchnorm running statistics)
 *   /optim/<layer>/<name>/<slot>    optimizer slots (exp_avg, exp_avg_sq, momentum, ...)
 *   /meta                           attributes: format_version, epoch, step, optim_steps,
 *                                   seed, world_size, hashes, schedule and early-stopping
 *                                   state; datasets: config (resolved YAML text), history
 *                                   (one row per epoch, its `columns` attribute naming
 *                                   the columns; see nn/history.h), data_fingerprint
 * Every dataset carries HDF5's Fletcher-32 checksum and the file uses the object-header
 * format with metadata checksums, so corruption is found on load. A checkpoint is written to
 * a temporary file in the same directory, flushed, fsync'ed and renamed: it is complete or
 * absent. */
#ifndef NN_CKPT_H
#define NN_CKPT_H

#include <stdint.h>

#include "nn/error.h"
#include "nn/history.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/sched.h"

#define NN_CKPT_FORMAT_VERSION 1

typedef struct nn_ckpt_meta {
    int format_version;
    int epoch;                  /* epochs completed */
    int64_t step;               /* optimizer steps done in the epoch after `epoch` (0: none) */
    int64_t optim_steps;
    int world_size;
    uint64_t seed;
    double partial[3];          /* loss sum, correct, samples of a partly done epoch */
    nn_sched_state sched;
    double early_best;
    int early_best_epoch, early_bad_epochs;
    uint64_t model_hash;        /* parameter names and shapes (nn_ckpt_write computes it) */
    uint64_t data_hash;         /* dataset fingerprint */
    char data_fingerprint[512]; /* human-readable: path, sizes */
    char *config_yaml;          /* malloc'ed */
    int n_history;
    nn_epoch_record *history;   /* malloc'ed, n_history records */
} nn_ckpt_meta;

nn_status nn_ckpt_write(const char *path, const nn_model *model, nn_optim *opt,
                        const nn_ckpt_meta *meta, nn_error *err);
/* Reads /meta only (the config text and the counters), verifying its checksums. */
nn_status nn_ckpt_read_meta(const char *path, nn_ckpt_meta *meta, nn_error *err);
/* Loads parameters, state and (when opt != NULL) optimizer slots into a model built from
 * the same config. A checkpoint of a different model is refused naming the first
 * difference (missing parameter, shape). Data errors (corruption) are NN_ERR_DATA. */
nn_status nn_ckpt_load(const char *path, nn_model *model, nn_optim *opt, nn_error *err);
/* Opens the file and reads every dataset: NN_OK only for a complete, uncorrupted checkpoint. */
nn_status nn_ckpt_verify(const char *path, nn_error *err);
void nn_ckpt_meta_free(nn_ckpt_meta *meta);

#endif

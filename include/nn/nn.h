/* nntrain as a library: one include for everything a program calls.
 *
 *   config    nn/config.h   load a YAML config, apply key=value settings, read values
 *   data      nn/data.h     read and write HDF5 datasets, import IDX and CSV
 *   model     nn/model.h    build a model from its config, forward, backward, views of its
 *                           parameters (nn/layer.h, nn/init.h, nn/tensor.h below)
 *   training  nn/loss.h, nn/optim.h, nn/sched.h   the pieces of a training step
 *             nn/trainer.h  a whole run from a config (nn_train, or step by step), and
 *                           evaluation or prediction from a checkpoint
 *   files     nn/ckpt.h     read and write checkpoints; nn/history.h their epoch records
 *   parallel  nn/parallel.h MPI groups and their collectives
 *   search    nn/search.h   hyperparameter searches over MPI groups
 *   version   nn/version.h  the library's version and git commit
 *
 * Every call that can fail returns an nn_status and fills an nn_error (nn/error.h). */
#ifndef NN_NN_H
#define NN_NN_H

#include "nn/ckpt.h"
#include "nn/config.h"
#include "nn/data.h"
#include "nn/error.h"
#include "nn/history.h"
#include "nn/init.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/parallel.h"
#include "nn/report.h"
#include "nn/sched.h"
#include "nn/search.h"
#include "nn/tensor.h"
#include "nn/trainer.h"
#include "nn/version.h"

#endif

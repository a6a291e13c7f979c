/* Optimizers over the model's collated parameter buffer. `train.optimizer` picks one by
 * name ({type: adam, lr: 0.001, ...}); per-parameter flags from the model (frozen,
 * no-decay) are honoured here, so no optimizer knows about layer types. Slots (momentum,
 * Adam moments, ...) are buffers parallel to the parameters; checkpoints save them as
 * /optim/<layer>/<param>/<slot>. Hyperparameters and update rules follow torch.optim. How
 * the slots are laid out and shared between ranks is src/train/optim_internal.h's. */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"
#include "nn/model.h"

typedef struct nn_optim nn_optim;

nn_status nn_optim_build(const nn_cfg *optim_cfg, const nn_model *model, nn_optim **out,
                         nn_error *err);
void nn_optim_free(nn_optim *opt);

/* One update of every trainable parameter from the model's gradient buffer. */
void nn_optim_step(nn_optim *opt, nn_model *model, double lr);
double nn_optim_base_lr(const nn_optim *opt);
const char *nn_optim_name(const nn_optim *opt);
int64_t nn_optim_steps(const nn_optim *opt); /* updates done so far */

#endif

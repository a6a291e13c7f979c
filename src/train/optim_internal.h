/* What the trainer, the shared optimizer update and checkpoints know of an optimizer beyond
 * nn/optim.h: its slot buffers (how many, their names, where they are and how they are laid
 * out), the update over a range of the parameters, and its step counter. */
#ifndef NN_TRAIN_OPTIM_INTERNAL_H
#define NN_TRAIN_OPTIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "config/catalogue.h"
#include "nn/optim.h"

#define NN_MAX_OPTIM_SLOTS 3
/* Where slot k starts within a page (bytes). An update stores to one buffer and then loads
 * from the next at the same index; when the buffers start at the same offset within a page,
 * the CPU takes each such load for a possible reload of the store just made (4K aliasing)
 * and holds it back. With the parameters, gradients and slots all page-aligned alike, the
 * Adam update ran three to four times slower. Memory given to nni_optim_use_slots should
 * follow the same offsets. */
#define NN_OPTIM_SLOT_PAGE_OFFSET(k) ((size_t)((k) + 1) * 1024)
/* Bytes from one slot buffer of `floats` values to the next when buffers start on pages and
 * slot k begins NN_OPTIM_SLOT_PAGE_OFFSET(k) into its own: whole pages, and one more. */
static inline size_t nni_optim_slot_stride(int64_t floats)
{
    return ((size_t)floats * sizeof(float) + 4095) / 4096 * 4096 + 4096;
}

/* The same step for the parameter offsets in [first, end) only: ranks that share one copy
 * of the parameters each update their own range. Counts as a step like nn_optim_step. */
void nni_optim_step_range(nn_optim *opt, nn_model *model, double lr, int64_t first,
                          int64_t end);
/* 1 when the update reads whole tensors (norms): a range must then hold whole tensors. */
int nni_optim_whole_tensors(const nn_optim *opt);
/* Uses memory[k] (n_param_floats each, already holding the values) for the slots from now
 * on; NULL goes back to the optimizer's own buffers, copying the values into them. */
void nni_optim_use_slots(nn_optim *opt, float *const *memory);

/* The epoch (from 0) the next steps belong to: weight_decay and l1 act only inside
 * `decay_epochs` (every epoch when it is not given). */
void nni_optim_set_epoch(nn_optim *opt, int epoch);
void nni_optim_set_steps(nn_optim *opt, int64_t steps);
int nni_optim_slot_count(const nn_optim *opt);
const char *nni_optim_slot_name(const nn_optim *opt, int k);
float *nni_optim_slot(nn_optim *opt, int k); /* parallel to model->param_data */

/* Every optimizer's help row, in table order (for --help-catalogue). */
void nni_optim_catalogue(nni_catalogue_emit emit, void *ctx);

#endif

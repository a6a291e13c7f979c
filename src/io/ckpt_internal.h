/* Where a checkpoint keeps each tensor (see include/nn/ckpt.h), for the writer and the
 * reader alike. */
#ifndef NN_IO_CKPT_INTERNAL_H
#define NN_IO_CKPT_INTERNAL_H

#include <stdio.h>

#include "nn/model.h"

/* /params/<layer>/<name> for a trained parameter, /state/<layer>/<name> for state. */
static inline void nni_ckpt_tensor_path(char *out, size_t size, const nn_param *p)
{
    snprintf(out, size, "/%s/%s", (p->flags & NN_PARAM_STATE) ? "state" : "params", p->name);
}

/* /optim/<layer>/<name>/<slot>: an optimizer slot of a trained parameter. */
static inline void nni_ckpt_slot_path(char *out, size_t size, const nn_param *p,
                                      const char *slot)
{
    snprintf(out, size, "/optim/%s/%s", p->name, slot);
}

#endif

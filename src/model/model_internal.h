/* Internal interfaces between the model builder, the layers and the engine. */
#ifndef NN_MODEL_INTERNAL_H
#define NN_MODEL_INTERNAL_H

#include "layers/layer_internal.h"
#include "nn/model.h"

/* 64-byte aligned, zeroed float buffer; release with free(). */
float *nni_alloc_floats(int64_t count);

/* The model takes ownership of a config tree made during the build. */
void nni_model_keep_cfg(nn_model *model, nn_cfg *cfg);

/* After the layers are built: gradients, memory, initial parameter values and activation
 * fusion (src/model/plan.c). input_grad: also d loss / d input. */
nn_status nni_model_plan(nn_model *model, int input_grad, nn_error *err);

/* Architecture shorthands (`mlp: [256, 128, 10]`, `repeat:` blocks): *expanded receives a
 * new layer list owned by the caller, or NULL when the config has none. */
nn_status nni_model_expand_shorthands(const nn_cfg *model_cfg, nn_cfg **expanded,
                                      nn_error *err);

#endif

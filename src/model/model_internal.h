/* Internal interfaces between the model builder, the layers and the engine. */
#ifndef NN_MODEL_INTERNAL_H
#define NN_MODEL_INTERNAL_H

#include "layers/layer_internal.h"
#include "nn/model.h"

/* Floats the gradient buffer holds after the gradients: the data-parallel step sums its
 * scalars (loss, accuracy, stop request) there, with the last gradient bucket, instead of
 * in a second collective (src/parallel/grad_sync.h). */
#define NN_GRAD_ROOM 16

/* Backward writes the gradients into `memory` (n_param_floats + NN_GRAD_ROOM floats, page
 * or cache aligned, given the current gradients) from now on; NULL goes back to the model's
 * own buffer, copying the gradients into it. */
void nni_model_use_grads(nn_model *model, float *memory);

/* A hash of the parameter table (names and shapes): a checkpoint's model_hash, which resuming
 * compares. */
uint64_t nni_model_hash(const nn_model *model);

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
/* The keys model: accepts, and those every layer accepts besides its type's own
 * (ops->keys), NULL-terminated. */
extern const char *const nni_model_keys[];
extern const char *const nni_layer_common_keys[];

#endif

/* The layer catalogue (src/layers/registry.c): layer types looked up by the config's `type:`,
 * activation functions by a layer's `activation:`, and the help rows of both. */
#ifndef NNI_LAYERS_REGISTRY_H
#define NNI_LAYERS_REGISTRY_H

#include "config/catalogue.h"
#include "layers/layer_internal.h"

/* The layer type named by a config's `type:` (an elementwise activation's name gives the
 * activation layer type); NULL if there is none. */
const nn_layer_ops *nni_layer_find(const char *type);
/* The layer type that computes `function` as a layer's `activation:`; NULL if none. */
const nn_layer_ops *nni_activation_layer_ops(const char *function);
/* "unknown activation 'x' (did you mean ...); valid: ..." at `where`. */
nn_status nni_activation_unknown(nn_error *err, const nn_cfg *where, const char *function);

/* NULL-terminated names of every layer type: the table's, then the elementwise activations
 * (for messages). */
const char *const *nni_layer_type_names(void);
/* NULL-terminated names of everything a layer's `activation:` takes: the layer types that
 * work as activations, then the elementwise functions. */
const char *const *nni_activation_names(void);

/* Every layer type's help row, in table order; the elementwise activations, which are layer
 * types too, are listed by nni_activation_catalogue instead. */
void nni_layer_catalogue(nni_catalogue_emit emit, void *ctx);
/* Every elementwise activation's help row (src/layers/activation.c). */
void nni_activation_catalogue(nni_catalogue_emit emit, void *ctx);

#endif

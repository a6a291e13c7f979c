/* The formula activation (formula_activation.c) as activation.c's fusion sees it: an
 * elementwise function a layer before it may apply on its own rows. */
#ifndef NN_LAYERS_FORMULA_ACTIVATION_H
#define NN_LAYERS_FORMULA_ACTIVATION_H

#include "layers/layer_internal.h"

extern const nn_layer_ops nni_formula_ops;

/* A formula layer without learned parameters: each value on its own. */
int nni_formula_activation_fusable(const nn_layer *layer);
/* y = f(x) and dx (+)= f'(x) dy over n values. */
void nni_formula_activation_apply(const nn_layer *layer, const float *x, float *y, int64_t n);
void nni_formula_activation_apply_backward(const nn_layer *layer, const float *x,
                                           const float *dy, float *dx, int64_t n,
                                           int accumulate);

#endif

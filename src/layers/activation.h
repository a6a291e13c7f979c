/* Elementwise activations run by another layer: a dense, conv2d or add layer whose only
 * consumer is one applies it to its own thread shares or samples, right after computing them
 * (nn_layer_ops fuse_activation), instead of the model running a separate pass. */
#ifndef NN_LAYERS_ACTIVATION_H
#define NN_LAYERS_ACTIVATION_H

#include "layers/layer_internal.h"

/* The elementwise functions of the table: whether a name is one, how many, the i-th name. */
int nni_activation_is_elementwise(const char *function);
int nni_activation_count(void);
const char *nni_activation_name(int i);

/* An activation layer (or a formula layer without learned parameters) whose function reads
 * each value alone (not its position in the
 * sample), so any contiguous piece of a batch can be computed on its own. */
int nni_activation_fusable(const nn_layer *layer);

/* Whether it is the plain relu (x > 0 ? x : 0), which some kernels write as they store x
 * (nni_conv_shifted_forward's relu): a fused relu without a pass of its own. */
int nni_activation_is_relu(const nn_layer *layer);

/* y = f(x) and dx (+)= f'(x, y) dy over n values, as the layer's own forward and backward. */
void nni_activation_apply(const nn_layer *layer, const float *x, float *y, int64_t n);
void nni_activation_apply_backward(const nn_layer *layer, const float *x, const float *y,
                                   const float *dy, float *dx, int64_t n, int accumulate);

#endif

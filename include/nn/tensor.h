/* Shapes and tensors. Activations are float32, NCHW, contiguous, batch first; a shape here
 * describes ONE sample (F) or (C, H, W) and the batch size travels separately, because the
 * memory plan fixes the batch capacity once while each step may run fewer rows. */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define NN_MAX_DIMS 4

typedef struct nn_shape {
    int ndim;
    int64_t dim[NN_MAX_DIMS];
} nn_shape;

static inline int64_t nn_shape_size(nn_shape s)
{
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++)
        n *= s.dim[i];
    return n;
}

nn_shape nn_shape_1d(int64_t f);
nn_shape nn_shape_3d(int64_t c, int64_t h, int64_t w);
int nn_shape_equal(nn_shape a, nn_shape b);
/* "(64, 28, 28)" */
const char *nn_shape_format(nn_shape s, char *buf, size_t size);

#endif

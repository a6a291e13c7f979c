/* Shape helpers (see include/nn/tensor.h). */
#include "nn/tensor.h"

#include <stdio.h>

nn_shape nn_shape_1d(int64_t f)
{
    nn_shape s = {1, {f, 0, 0, 0}};
    return s;
}

nn_shape nn_shape_3d(int64_t c, int64_t h, int64_t w)
{
    nn_shape s = {3, {c, h, w, 0}};
    return s;
}

int nn_shape_equal(nn_shape a, nn_shape b)
{
    if (a.ndim != b.ndim)
        return 0;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i])
            return 0;
    return 1;
}

const char *nn_shape_format(nn_shape s, char *buf, size_t size)
{
    size_t used = 0;
    used += (size_t)snprintf(buf + used, size - used, "(");
    for (int i = 0; i < s.ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld",
                                 (long long)s.dim[i]);
    if (used < size)
        snprintf(buf + used, size - used, ")");
    return buf;
}

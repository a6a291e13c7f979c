/* Helpers shared by layer implementations. */
#include "layers/layer_util.h"

#include <string.h>

void nn_layer_free_priv(nn_layer *layer)
{
    free(layer->priv);
    layer->priv = NULL;
}

void nn_column_sums(const float *m, int64_t rows, int64_t cols, float *sums, int accumulate)
{
    if (!accumulate)
        memset(sums, 0, (size_t)cols * sizeof *sums);
    for (int64_t r = 0; r < rows; r++) {
        const float *row = m + r * cols;
        for (int64_t c = 0; c < cols; c++)
            sums[c] += row[c];
    }
}

void nn_store(float *dst, const float *src, int64_t n, int accumulate)
{
    if (accumulate)
        for (int64_t i = 0; i < n; i++)
            dst[i] += src[i];
    else
        memcpy(dst, src, (size_t)n * sizeof *dst);
}

/* Helpers shared by layer implementations. */
#include "layers/layer_util.h"

#include <string.h>

#include "core/threads.h"

void nni_layer_free_priv(nn_layer *layer)
{
    free(layer->priv);
    layer->priv = NULL;
}

int nni_layer_elementwise_threads(int64_t values, int64_t batch)
{
    if (values < (int64_t)1 << 13 || batch < 2)
        return 1;
    int threads = nni_threads();
    return batch < threads ? (int)batch : threads;
}

void nni_layer_column_sums(const float *m, int64_t rows, int64_t ld, int64_t first, int64_t end,
                           float *sums, int accumulate)
{
    if (!accumulate)
        memset(sums + first, 0, (size_t)(end - first) * sizeof *sums);
    for (int64_t r = 0; r < rows; r++) {
        const float *row = m + r * ld;
        for (int64_t c = first; c < end; c++)
            sums[c] += row[c];
    }
}

void nni_layer_store(float *dst, const float *src, int64_t n, int accumulate)
{
    if (accumulate)
        for (int64_t i = 0; i < n; i++)
            dst[i] += src[i];
    else
        memcpy(dst, src, (size_t)n * sizeof *dst);
}

enum { LANES = 16 };

float nni_layer_sum(const float *restrict x, int64_t n)
{
    float acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += x[i + j];
    float sum = 0.0f;
    for (; i < n; i++)
        sum += x[i];
    for (int j = 0; j < LANES; j++)
        sum += acc[j];
    return sum;
}

float nni_layer_dot_dev(const float *restrict dy, const float *restrict x, int64_t n, float center)
{
    float acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += dy[i + j] * (x[i + j] - center);
    float sum = 0.0f;
    for (; i < n; i++)
        sum += dy[i] * (x[i] - center);
    for (int j = 0; j < LANES; j++)
        sum += acc[j];
    return sum;
}

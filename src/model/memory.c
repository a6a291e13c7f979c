/* Memory the model owns besides its plan's views: 64-byte aligned float buffers (every
 * planned buffer, here and in the layers, comes from nni_alloc_floats) and the config nodes a
 * build makes for implicit layers. */
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

float *nni_alloc_floats(int64_t count)
{
    size_t bytes = ((size_t)count * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void nni_model_keep_cfg(nn_model *model, nn_cfg *cfg)
{
    nn_cfg **grown = realloc(model->owned_cfgs, (size_t)(model->n_owned_cfgs + 1) * sizeof *grown);
    if (!grown) {
        nn_cfg_free(cfg); /* the build fails later on the missing node's consumer */
        return;
    }
    model->owned_cfgs = grown;
    model->owned_cfgs[model->n_owned_cfgs++] = cfg;
}

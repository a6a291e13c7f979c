/* Gradient clipping (`train.clip: {norm, value}`): applied to the summed gradients, before
 * the optimizer step, on every rank alike, as torch.nn.utils.clip_grad_value_ and
 * clip_grad_norm_ do (value first when both are set). */
#include <math.h>

#include "train/train_internal.h"

const char *const nni_clip_keys[] = {"norm", "value", NULL};

nn_status nni_clip_parse(const nn_cfg *node, clip_options *clip, nn_error *err)
{
    clip->norm = clip->value = 0;
    if (!node)
        return NN_OK;
    nn_status st = nn_cfg_check_keys(node, nni_clip_keys, err);
    if (st || (st = nn_cfg_read_double(node, "norm", 0, &clip->norm, err)) ||
        (st = nn_cfg_read_double(node, "value", 0, &clip->value, err)))
        return st;
    if (!(clip->norm >= 0))
        return nn_cfg_fail(err, nn_cfg_get(node, "norm"), "must be > 0 (0: no clipping)");
    if (!(clip->value >= 0))
        return nn_cfg_fail(err, nn_cfg_get(node, "value"), "must be > 0 (0: no clipping)");
    return NN_OK;
}

int nni_clip_enabled(const clip_options *clip)
{
    return clip->value > 0 || clip->norm > 0;
}

void nni_clip_gradients(const clip_options *clip, nn_model *model)
{
    float *g = model->grad_data;
    const int64_t n = model->n_param_floats;
    if (clip->value > 0) {
        const float v = (float)clip->value;
        for (int64_t i = 0; i < n; i++)
            g[i] = g[i] > v ? v : g[i] < -v ? -v : g[i];
    }
    if (clip->norm > 0) {
        double sq = 0;
        for (int64_t i = 0; i < n; i++)
            sq += (double)g[i] * g[i];
        double norm = sqrt(sq);
        /* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when above. */
        if (norm > clip->norm) {
            const float scale = (float)(clip->norm / (norm + 1e-6));
            for (int64_t i = 0; i < n; i++)
                g[i] *= scale;
        }
    }
}

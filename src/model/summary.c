/* Keras-style model summary: one row per layer with its type, output shape, parameters,
 * forward FLOPs per sample and the layers it reads from. */
#include <string.h>

#include "model/model_internal.h"

void nn_model_summary(const nn_model *model, FILE *out)
{
    char shape[64], inputs[160], desc[96];
    fprintf(out, "%-22s %-12s %-16s %12s %14s  %s\n", "layer", "type", "output", "params",
            "FLOPs/sample", "inputs / settings");
    fprintf(out, "%.*s\n", 110, "----------------------------------------------------------"
                                "----------------------------------------------------------");
    int64_t activation_floats = 0;
    for (int i = 0; i < model->n_layers; i++) {
        const nn_layer *layer = model->layers[i];
        int64_t params = 0;
        for (int k = 0; k < layer->n_params; k++) {
            const nn_param *p = &model->params[layer->param_ids[k]];
            if (!(p->flags & NN_PARAM_STATE))
                params += p->size;
        }
        size_t used = 0;
        inputs[0] = '\0';
        for (int j = 0; j < layer->n_inputs && used < sizeof inputs; j++)
            used += (size_t)snprintf(inputs + used, sizeof inputs - used, "%s%s", j ? ", " : "",
                                     layer->inputs[j]->name);
        desc[0] = '\0';
        if (layer->ops->describe)
            layer->ops->describe(layer, desc, sizeof desc);
        int64_t flops = layer->ops->flops ? layer->ops->flops(layer) : 0;
        fprintf(out, "%-22s %-12s %-16s %12lld %14lld  %s%s%s%s\n", layer->name,
                layer->ops->type, nn_shape_format(layer->out_shape, shape, sizeof shape),
                (long long)params, (long long)flops, inputs, desc[0] && inputs[0] ? "; " : "",
                desc, layer->trainable ? "" : " (frozen)");
        activation_floats += nn_shape_size(layer->out_shape) * (layer->dout ? 2 : 1);
    }
    fprintf(out, "%.*s\n", 110, "----------------------------------------------------------"
                                "----------------------------------------------------------");
    fprintf(out, "parameters: %lld total, %lld trainable, %lld state\n",
            (long long)nn_model_count_params(model), (long long)nn_model_count_trainable(model),
            (long long)model->n_state_floats);
    fprintf(out, "FLOPs per sample (forward): %lld (%.2f MFLOP)\n",
            (long long)nn_model_flops_per_sample(model),
            (double)nn_model_flops_per_sample(model) / 1e6);
    fprintf(out, "activation memory: %.2f MiB per sample (with gradients), %.2f MiB at batch "
                 "%lld\n", (double)activation_floats * 4 / (1 << 20),
            (double)activation_floats * 4 * (double)model->capacity / (1 << 20),
            (long long)model->capacity);
    fprintf(out, "parameter memory: %.2f MiB (weights + gradients)\n",
            (double)model->n_param_floats * 8 / (1 << 20));
}

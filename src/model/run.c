/* Running the model: rows in at the input layer, forward in topological order, backward
 * in reverse (whole, or layer by layer for a caller that acts as each layer finishes), the
 * output out; and the scratch workspace the layers share while they run. */
#include "model/model_internal.h"

float *nni_layer_workspace(const nn_layer *layer)
{
    return layer->model->workspace;
}

float *nn_model_input(nn_model *model)
{
    return model->layers[0]->out;
}

int64_t nn_model_input_size(const nn_model *model)
{
    return nn_shape_size(model->input_shape);
}

int64_t nn_model_output_size(const nn_model *model)
{
    return nn_shape_size(model->output->out_shape);
}

int64_t nn_model_output_steps(const nn_model *model)
{
    const nn_shape in = model->input_shape, out = model->output->out_shape;
    return (in.ndim == 1 || in.ndim == 2) && out.ndim == 2 && out.dim[0] == in.dim[0]
               ? out.dim[0] : 0;
}

void nn_model_forward(nn_model *model, const nn_pass *pass)
{
    for (int i = 1; i < model->n_layers; i++)
        if (!model->layers[i]->fused)
            model->layers[i]->ops->forward(model->layers[i], pass);
}

void nn_model_backward_layer(nn_model *model, int i, const nn_pass *pass)
{
    nn_layer *layer = model->layers[i];
    if (layer->dout && !layer->fused)
        layer->ops->backward(layer, pass);
}

void nn_model_backward(nn_model *model, const nn_pass *pass)
{
    for (int i = model->n_layers - 1; i > 0; i--)
        nn_model_backward_layer(model, i, pass);
}

int64_t nn_model_flops_per_sample(const nn_model *model)
{
    int64_t flops = 0;
    for (int i = 1; i < model->n_layers; i++)
        if (model->layers[i]->ops->flops)
            flops += model->layers[i]->ops->flops(model->layers[i]);
    return flops;
}

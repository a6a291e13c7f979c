/* The model's plan, once its layers are built: which nodes carry gradients and whether each
 * edge overwrites or adds to them, one allocation for all activations and their gradients,
 * one for the parameters, one for their gradients and one for the state, the parameters'
 * initial values, and which activations their producing layer computes (fusion). Nothing is
 * allocated after this: forward and backward run on these buffers only. */
#include <stdlib.h>
#include <string.h>

#include "layers/activation.h"
#include "model/init_internal.h"
#include "model/model_internal.h"

/* Mark which nodes need gradients, reject dead branches, decide overwrite/add per edge. */
static nn_status plan_gradients(nn_model *model, int *needs_grad, nn_error *err)
{
    int n = model->n_layers;
    int *used = calloc((size_t)n, sizeof *used);
    if (!used)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int i = 1; i < n; i++) {
        nn_layer *layer = model->layers[i];
        int need = 0;
        for (int k = 0; k < layer->n_params; k++) {
            const nn_param *p = &model->params[layer->param_ids[k]];
            if (!(p->flags & NN_PARAM_STATE) && !p->frozen)
                need = 1;
        }
        for (int j = 0; j < layer->n_inputs; j++)
            need |= needs_grad[layer->inputs[j]->id];
        needs_grad[i] = need;
    }
    /* Reachability from the output, in reverse topological order. */
    used[model->output->id] = 1;
    for (int i = n - 1; i >= 0; i--)
        if (used[i])
            for (int j = 0; j < model->layers[i]->n_inputs; j++)
                used[model->layers[i]->inputs[j]->id] = 1;
    for (int i = 1; i < n; i++)
        if (!used[i]) {
            nn_layer *layer = model->layers[i];
            free(used);
            return nn_cfg_fail(err, layer->cfg, "layer '%s' does not lead to the model output "
                                                "'%s'", layer->name, model->output->name);
        }
    /* Backward runs in reverse topological order; the first consumer of a node to run
     * overwrites its gradient and the others add to it. */
    int *written = used;
    memset(written, 0, (size_t)n * sizeof *written);
    for (int i = n - 1; i > 0; i--) {
        nn_layer *layer = model->layers[i];
        if (!needs_grad[i])
            continue;
        for (int j = 0; j < layer->n_inputs; j++) {
            int src = layer->inputs[j]->id;
            layer->input_accumulate[j] = written[src];
            written[src] = 1;
        }
    }
    free(used);
    return NN_OK;
}

static nn_status plan_memory(nn_model *model, const int *needs_grad, nn_error *err)
{
    int64_t arena = 0, workspace = 0;
    for (int i = 0; i < model->n_layers; i++) {
        nn_layer *layer = model->layers[i];
        int64_t size = nn_shape_size(layer->out_shape) * model->capacity;
        arena += size + (needs_grad[i] ? size : 0);
        if (layer->workspace_floats > workspace)
            workspace = layer->workspace_floats;
    }
    int64_t trained = 0, state = 0;
    for (int k = 0; k < model->n_params; k++) {
        nn_param *p = &model->params[k];
        int64_t *cursor = (p->flags & NN_PARAM_STATE) ? &state : &trained;
        p->offset = *cursor;
        /* 16-float alignment keeps every view on its own 64-byte boundary. */
        *cursor += (p->size + 15) & ~(int64_t)15;
    }
    model->arena_floats = arena;
    model->workspace_floats = workspace;
    model->n_param_floats = trained;
    model->n_state_floats = state;
    model->arena = nni_alloc_floats(arena);
    model->workspace = nni_alloc_floats(workspace ? workspace : 1);
    model->param_data = nni_alloc_floats(trained ? trained : 1);
    model->grad_data = model->own_grad_data = nni_alloc_floats(trained + NN_GRAD_ROOM);
    model->state_data = nni_alloc_floats(state ? state : 1);
    if (!model->arena || !model->workspace || !model->param_data || !model->grad_data ||
        !model->state_data)
        return nn_fail(err, NN_ERR_OTHER, "out of memory planning %.1f MiB of activations",
                       (double)arena * 4 / (1 << 20));
    float *cursor = model->arena;
    for (int i = 0; i < model->n_layers; i++) {
        nn_layer *layer = model->layers[i];
        int64_t size = nn_shape_size(layer->out_shape) * model->capacity;
        layer->out = cursor;
        cursor += size;
        layer->dout = needs_grad[i] ? cursor : NULL;
        cursor += needs_grad[i] ? size : 0;
    }
    return NN_OK;
}

static nn_status init_params(nn_model *model, nn_error *err)
{
    for (int k = 0; k < model->n_params; k++) {
        nn_param *p = &model->params[k];
        float *data = (p->flags & NN_PARAM_STATE) ? model->state_data + p->offset
                                                  : model->param_data + p->offset;
        int index = 0;
        for (int j = 0; j < p->layer->n_params; j++)
            if (p->layer->param_ids[j] == k)
                index = j;
        nn_status st = nni_init_fill(&p->init, data, p->ndim, p->dims, p->fan_in, p->fan_out,
                                     model->seed, (uint32_t)p->layer->id, (uint32_t)index, err);
        if (st)
            return nn_fail_prefix(err, "layer '%s', parameter '%s': ", p->layer->name,
                                  p->param_name);
    }
    return NN_OK;
}

/* Offers every elementwise activation to the layer before it when it is that layer's only
 * consumer and both carry gradients (or neither does): a dense layer then applies the
 * function on its own thread shares, while they are in cache, instead of a separate pass. */
static void fuse_activations(nn_model *model)
{
    for (int i = 1; i < model->n_layers; i++) {
        nn_layer *act = model->layers[i];
        if (!nni_activation_fusable(act))
            continue;
        nn_layer *producer = act->inputs[0];
        if (!producer->ops->fuse_activation || (producer->dout == NULL) != (act->dout == NULL) ||
            act->input_accumulate[0])
            continue;
        int consumers = 0;
        for (int j = 1; j < model->n_layers; j++)
            for (int k = 0; k < model->layers[j]->n_inputs; k++)
                consumers += model->layers[j]->inputs[k] == producer;
        if (consumers == 1 && producer != model->output)
            act->fused = producer->ops->fuse_activation(producer, act);
    }
}

nn_status nni_model_plan(nn_model *model, int input_grad, nn_error *err)
{
    int *needs_grad = calloc((size_t)model->n_layers, sizeof *needs_grad);
    if (!needs_grad)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    needs_grad[0] = input_grad;
    nn_status st = plan_gradients(model, needs_grad, err);
    if (!st)
        st = plan_memory(model, needs_grad, err);
    free(needs_grad);
    if (st || (st = init_params(model, err)))
        return st;
    fuse_activations(model);
    return NN_OK;
}

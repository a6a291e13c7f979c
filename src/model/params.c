/* The parameter table: every trained parameter is a named view (layer, name, shape, offset,
 * flags) into the model's one parameter buffer, its gradient the same view into the one
 * gradient buffer, and non-trained state (batchnorm running statistics) views into the state
 * buffer. The optimizer, the gradient sums, clipping, checkpoints and the summary iterate
 * over this table and never look at layer types. */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "model/model_internal.h"

int nni_layer_add_param(nn_layer *layer, const char *name, int ndim, const int64_t *dims,
                       int64_t fan_in, int64_t fan_out, const nn_init *init, unsigned flags)
{
    nn_model *model = layer->model;
    if (layer->n_params >= NN_MAX_LAYER_PARAMS)
        return -1;
    nn_param *grown = realloc(model->params, (size_t)(model->n_params + 1) * sizeof *grown);
    if (!grown)
        return -1;
    model->params = grown;
    nn_param *p = &model->params[model->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s/%s", layer->name, name);
    snprintf(p->param_name, sizeof p->param_name, "%s", name);
    p->layer = layer;
    p->ndim = ndim;
    p->size = 1;
    for (int i = 0; i < ndim; i++) {
        p->dims[i] = dims[i];
        p->size *= dims[i];
    }
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    p->flags = flags;
    p->init = init ? *init : layer->weight_init;
    layer->param_ids[layer->n_params] = model->n_params++;
    return layer->n_params++;
}

float *nni_layer_param(const nn_layer *layer, int k)
{
    const nn_param *p = &layer->model->params[layer->param_ids[k]];
    return nn_model_param_data(layer->model, p);
}

float *nni_layer_grad(const nn_layer *layer, int k)
{
    const nn_param *p = &layer->model->params[layer->param_ids[k]];
    return nn_model_param_grad(layer->model, p);
}

int nni_layer_param_frozen(const nn_layer *layer, int k)
{
    return layer->model->params[layer->param_ids[k]].frozen;
}

float *nn_model_param_data(const nn_model *model, const nn_param *p)
{
    return (p->flags & NN_PARAM_STATE) ? model->state_data + p->offset
                                       : model->param_data + p->offset;
}

float *nn_model_param_grad(const nn_model *model, const nn_param *p)
{
    return (p->flags & NN_PARAM_STATE) ? NULL : model->grad_data + p->offset;
}

nn_param *nn_model_find_param(nn_model *model, const char *name)
{
    for (int k = 0; k < model->n_params; k++)
        if (strcmp(model->params[k].name, name) == 0)
            return &model->params[k];
    return NULL;
}

int64_t nn_model_count_trainable(const nn_model *model)
{
    int64_t count = 0;
    for (int k = 0; k < model->n_params; k++)
        if (!(model->params[k].flags & NN_PARAM_STATE) && !model->params[k].frozen)
            count += model->params[k].size;
    return count;
}

int64_t nn_model_count_params(const nn_model *model)
{
    int64_t count = 0;
    for (int k = 0; k < model->n_params; k++)
        if (!(model->params[k].flags & NN_PARAM_STATE))
            count += model->params[k].size;
    return count;
}

void nni_model_use_grads(nn_model *model, float *memory)
{
    float *target = memory ? memory : model->own_grad_data;
    if (target != model->grad_data)
        memcpy(target, model->grad_data,
               (size_t)(model->n_param_floats + NN_GRAD_ROOM) * sizeof(float));
    model->grad_data = target;
}

uint64_t nni_model_hash(const nn_model *model)
{
    uint64_t hash = NN_HASH_INIT;
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        hash = nni_hash_bytes(hash, p->name, strlen(p->name) + 1);
        hash = nni_hash_bytes(hash, &p->ndim, sizeof p->ndim);
        hash = nni_hash_bytes(hash, p->dims, (size_t)p->ndim * sizeof p->dims[0]);
    }
    return hash;
}

/* Model construction: config -> DAG of layers with their shapes and parameters; the memory
 * plan that follows is in plan.c.
 *
 * Layers appear in the config in an order where every `inputs:` reference points to an
 * earlier layer, so the config order is already a topological order; a reference to a
 * later or unknown layer is a config error. A layer's `activation:` becomes a separate
 * activation node named "<layer>.<function>", and later references to the layer's name
 * mean its activated output, as in Keras. */
#include "nn/model.h"

#include <stdlib.h>
#include <string.h>

#include "core/kernel_set.h"
#include "layers/registry.h"
#include "model/init_internal.h"
#include "model/model_internal.h"

const char *const nni_layer_common_keys[] = {
    "name", "type", "inputs", "activation", "trainable", "init", "bias_init", NULL};

static void input_forward(nn_layer *layer, const nn_pass *pass)
{
    (void)layer;
    (void)pass;
}

static const nn_layer_ops input_ops = {
    .type = "input",
    .forward = input_forward,
};

static nn_status grow_layers(nn_model *model, int *capacity)
{
    if (model->n_layers < *capacity)
        return NN_OK;
    int bigger = *capacity ? *capacity * 2 : 16;
    nn_layer **grown = realloc(model->layers, (size_t)bigger * sizeof *grown);
    if (!grown)
        return NN_ERR_OTHER;
    model->layers = grown;
    *capacity = bigger;
    return NN_OK;
}

static nn_layer *new_layer(nn_model *model, const nn_layer_ops *ops, const char *name)
{
    nn_layer *layer = calloc(1, sizeof *layer);
    if (!layer)
        return NULL;
    layer->ops = ops;
    layer->model = model;
    layer->trainable = 1;
    layer->weight_init = model->default_init;
    nni_init_named("zeros", &layer->bias_init, NULL);
    snprintf(layer->name, sizeof layer->name, "%s", name);
    layer->id = model->n_layers;
    return layer;
}

/* The name lookup: the most recent node that carries a given visible name. Visible names
 * map to the post-activation node. */
typedef struct name_entry {
    char name[NN_NAME_MAX];
    nn_layer *node;
} name_entry;

static nn_layer *find_name(const name_entry *names, int n, const char *name)
{
    for (int i = n - 1; i >= 0; i--)
        if (strcmp(names[i].name, name) == 0)
            return names[i].node;
    return NULL;
}

static nn_status read_input_shape(const nn_cfg *model_cfg, nn_shape *shape, nn_error *err)
{
    const nn_cfg *node = nn_cfg_get(model_cfg, "input");
    if (!node)
        return nn_cfg_fail(err, model_cfg, "missing key 'input' (the sample shape, e.g. [784] "
                                           "or [1, 28, 28])");
    int64_t dims[NN_MAX_DIMS];
    int count = NN_MAX_DIMS;
    nn_status st = nn_cfg_read_ints(model_cfg, "input", dims, &count, err);
    if (st)
        return st;
    if (count < 1 || count > 3)
        return nn_cfg_fail(err, node, "expected [features], [steps, features] or [channels, "
                                      "height, width], got %d dimensions", count);
    for (int i = 0; i < count; i++)
        if (dims[i] <= 0)
            return nn_cfg_fail(err, node, "dimensions must be positive");
    *shape = count == 3 ? nn_shape_3d(dims[0], dims[1], dims[2]) : nn_shape_1d(dims[0]);
    if (count == 2) { /* a sequence: steps x features */
        shape->ndim = 2;
        shape->dim[1] = dims[1];
    }
    return NN_OK;
}

/* Gather the layer's input nodes from `inputs:` or take the previous node. */
static nn_status resolve_inputs(nn_layer *layer, const nn_cfg *cfg, const name_entry *names,
                                int n_names, nn_layer *previous, nn_error *err)
{
    const nn_cfg *inputs = nn_cfg_get(cfg, "inputs");
    if (!inputs) {
        layer->n_inputs = 1;
        layer->inputs[0] = previous;
        return NN_OK;
    }
    if (nn_cfg_kind_of(inputs) == NN_CFG_SCALAR) {
        const char *ref = nn_cfg_scalar(inputs);
        nn_layer *node = find_name(names, n_names, ref);
        if (!node)
            return nn_cfg_fail(err, inputs, "layer '%s' takes input '%s', which is not a layer "
                                            "defined before it", layer->name, ref);
        layer->n_inputs = 1;
        layer->inputs[0] = node;
        return NN_OK;
    }
    if (nn_cfg_kind_of(inputs) != NN_CFG_SEQ || nn_cfg_size(inputs) == 0)
        return nn_cfg_fail(err, inputs, "expected a layer name or a list of layer names");
    if (nn_cfg_size(inputs) > NN_MAX_INPUTS)
        return nn_cfg_fail(err, inputs, "at most %d inputs", NN_MAX_INPUTS);
    layer->n_inputs = nn_cfg_size(inputs);
    for (int i = 0; i < layer->n_inputs; i++) {
        const nn_cfg *item = nn_cfg_at(inputs, i);
        const char *ref = nn_cfg_scalar(item);
        nn_layer *node = ref ? find_name(names, n_names, ref) : NULL;
        if (!node)
            return nn_cfg_fail(err, item, "layer '%s' takes input '%s', which is not a layer "
                                          "defined before it", layer->name, ref ? ref : "?");
        layer->inputs[i] = node;
    }
    return NN_OK;
}

static nn_status build_one(nn_model *model, nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    model->layers[model->n_layers++] = layer;
    nn_status st = layer->ops->build(layer, cfg, err);
    if (st)
        return st;
    if (nn_shape_size(layer->out_shape) <= 0) {
        char shape[64];
        return nn_cfg_fail(err, cfg, "layer '%s' has an empty output %s", layer->name,
                           nn_shape_format(layer->out_shape, shape, sizeof shape));
    }
    return NN_OK;
}

/* `activation: relu`, `activation: {type: leaky_relu, alpha: 0.2}` or `activation:
 * {formula: "x * sigmoid(x)"}` after a layer. */
static nn_status add_activation(nn_model *model, nn_layer *producer, const nn_cfg *act_cfg,
                                int *layer_capacity, nn_layer **out, nn_error *err)
{
    const nn_cfg *spec = act_cfg;
    const char *function = nn_cfg_scalar(act_cfg);
    if (function) {
        /* Give the activation layer a config map of its own, {type: <function>}, so it is
         * built exactly like a layer written out in full. */
        nn_cfg *map = nn_cfg_new_map();
        if (!map || nn_cfg_put(map, "type", function, err)) {
            nn_cfg_free(map);
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
        }
        nni_model_keep_cfg(model, map);
        spec = map;
    } else {
        nn_cfg_read_string(act_cfg, "type", NULL, &function, err);
        if (!function && nn_cfg_get(act_cfg, "formula"))
            function = "formula"; /* {formula: "x * sigmoid(x)"} */
        if (!function)
            return nn_cfg_fail(err, act_cfg, "activation needs a 'type' (or a 'formula')");
    }
    const nn_layer_ops *ops = nni_activation_layer_ops(function);
    if (!ops) {
        const nn_cfg *type_node = nn_cfg_get(act_cfg, "type");
        return nni_activation_unknown(err, type_node ? type_node : act_cfg, function);
    }
    if (spec == act_cfg) {
        /* A map: `type` plus the function's own parameters. */
        const char *allowed[32] = {"type"};
        int n_allowed = 1;
        for (const char *const *k = ops->keys; k && *k && n_allowed < 31; k++)
            allowed[n_allowed++] = *k;
        allowed[n_allowed] = NULL;
        nn_status st = nn_cfg_check_keys(act_cfg, allowed, err);
        if (st)
            return st;
    }
    char name[NN_NAME_MAX];
    snprintf(name, sizeof name, "%.40s.%.20s", producer->name, function);
    if (grow_layers(model, layer_capacity))
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_layer *layer = new_layer(model, ops, name);
    if (!layer)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->cfg = spec;
    layer->n_inputs = 1;
    layer->inputs[0] = producer;
    layer->trainable = producer->trainable;
    nn_status st = build_one(model, layer, spec, err);
    *out = layer;
    return st;
}

static nn_status build_layers(nn_model *model, const nn_cfg *layers_cfg, nn_error *err)
{
    int capacity = 0;
    if (grow_layers(model, &capacity))
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_layer *input = new_layer(model, &input_ops, "input");
    if (!input)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    input->out_shape = model->input_shape;
    input->n_inputs = 0;
    model->layers[model->n_layers++] = input;

    int n_cfg = nn_cfg_size(layers_cfg);
    name_entry *names = calloc((size_t)n_cfg + 1, sizeof *names);
    if (!names)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    int n_names = 0;
    snprintf(names[n_names].name, NN_NAME_MAX, "input");
    names[n_names++].node = input;

    nn_status st = NN_OK;
    nn_layer *previous = input;
    for (int i = 0; i < n_cfg && !st; i++) {
        const nn_cfg *cfg = nn_cfg_at(layers_cfg, i);
        if (nn_cfg_kind_of(cfg) != NN_CFG_MAP) {
            st = nn_cfg_fail(err, cfg, "a layer is a map such as {type: dense, units: 10}");
            break;
        }
        const char *type = NULL;
        if ((st = nn_cfg_read_string(cfg, "type", NULL, &type, err)))
            break;
        if (!type) {
            st = nn_cfg_fail(err, cfg, "layer needs a 'type'");
            break;
        }
        const nn_layer_ops *ops = nni_layer_find(type);
        if (!ops) {
            st = nn_cfg_fail_unknown(err, nn_cfg_get(cfg, "type"), "layer type", type,
                                     nni_layer_type_names());
            break;
        }
        /* Unknown keys are errors: the common keys plus the type's own. */
        const char *allowed[64];
        int n_allowed = 0;
        for (const char *const *k = nni_layer_common_keys; *k; k++)
            allowed[n_allowed++] = *k;
        for (const char *const *k = ops->keys; k && *k && n_allowed < 63; k++)
            allowed[n_allowed++] = *k;
        allowed[n_allowed] = NULL;
        if ((st = nn_cfg_check_keys(cfg, allowed, err)))
            break;

        const char *name = NULL;
        char auto_name[NN_NAME_MAX];
        if ((st = nn_cfg_read_string(cfg, "name", NULL, &name, err)))
            break;
        if (!name) {
            /* Keras-style automatic names: dense1, dense2, ... */
            int count = 1;
            do
                snprintf(auto_name, sizeof auto_name, "%.50s%d", type, count++);
            while (find_name(names, n_names, auto_name));
            name = auto_name;
        } else if (find_name(names, n_names, name) || strchr(name, '/')) {
            st = nn_cfg_fail(err, nn_cfg_get(cfg, "name"),
                             strchr(name, '/') ? "layer name '%s' must not contain '/'"
                                               : "layer name '%s' is used twice", name);
            break;
        }
        if ((st = grow_layers(model, &capacity))) {
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
            break;
        }
        nn_layer *layer = new_layer(model, ops, name);
        if (!layer) {
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
            break;
        }
        layer->cfg = cfg;
        int trainable = 1;
        if ((st = nn_cfg_read_bool(cfg, "trainable", 1, &trainable, err)) ||
            (st = resolve_inputs(layer, cfg, names, n_names, previous, err))) {
            free(layer);
            break;
        }
        layer->trainable = trainable;
        const nn_cfg *init_cfg = nn_cfg_get(cfg, "init");
        const nn_cfg *bias_cfg = nn_cfg_get(cfg, "bias_init");
        if ((init_cfg && (st = nni_init_parse(init_cfg, &layer->weight_init, err))) ||
            (bias_cfg && (st = nni_init_parse(bias_cfg, &layer->bias_init, err)))) {
            free(layer);
            break;
        }
        if ((st = build_one(model, layer, cfg, err)))
            break;
        nn_layer *visible = layer;
        const nn_cfg *act = nn_cfg_get(cfg, "activation");
        if (act && (st = add_activation(model, layer, act, &capacity, &visible, err)))
            break;
        snprintf(names[n_names].name, NN_NAME_MAX, "%s", name);
        names[n_names++].node = visible;
        previous = visible;
    }
    free(names);
    if (!st)
        model->output = previous;
    return st;
}

const char *const nni_model_keys[] = {"input", "layers", "init", "train_only_batchnorm",
                                         "mlp", "output", NULL};

nn_status nn_model_build(const nn_cfg *model_cfg, int64_t capacity, uint64_t seed,
                         unsigned flags, nn_model **out, nn_error *err)
{
    *out = NULL;
    if (!model_cfg || nn_cfg_kind_of(model_cfg) != NN_CFG_MAP)
        return nn_fail(err, NN_ERR_CONFIG, "config: missing 'model' section");
    /* The kernel set is checked here, where a bad NN_KERNELS can still be reported. */
    nn_status st = nni_kernels_select(err);
    if (!st)
        st = nn_cfg_check_keys(model_cfg, nni_model_keys, err);
    if (st)
        return st;
    nn_model *model = calloc(1, sizeof *model);
    if (!model)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    model->capacity = capacity;
    model->seed = seed;
    nni_init_named("glorot_uniform", &model->default_init, NULL);
    const nn_cfg *init_cfg = nn_cfg_get(model_cfg, "init");
    const nn_cfg *layers_cfg = NULL;
    nn_cfg *expanded = NULL;
    if ((st = read_input_shape(model_cfg, &model->input_shape, err)) ||
        (init_cfg && (st = nni_init_parse(init_cfg, &model->default_init, err))) ||
        (st = nn_cfg_read_bool(model_cfg, "train_only_batchnorm", 0, &model->train_only_norm,
                               err)) ||
        (st = nni_model_expand_shorthands(model_cfg, &expanded, err)))
        goto fail;
    if (expanded)
        nni_model_keep_cfg(model, expanded);
    layers_cfg = expanded ? expanded : nn_cfg_get(model_cfg, "layers");
    if (!layers_cfg || nn_cfg_kind_of(layers_cfg) != NN_CFG_SEQ || nn_cfg_size(layers_cfg) == 0) {
        st = nn_cfg_fail(err, layers_cfg ? layers_cfg : model_cfg,
                         "'layers' must be a non-empty list of layers");
        goto fail;
    }
    if ((st = build_layers(model, layers_cfg, err)))
        goto fail;
    for (int k = 0; k < model->n_params; k++) {
        nn_param *p = &model->params[k];
        p->frozen = !p->layer->trainable ||
                    (model->train_only_norm && !(p->flags & NN_PARAM_NORM));
    }
    if ((st = nni_model_plan(model, (flags & NN_MODEL_INPUT_GRAD) != 0, err)))
        goto fail;
    /* The caller owns the config; layers must not hold on to it after the build. */
    for (int i = 0; i < model->n_layers; i++)
        model->layers[i]->cfg = NULL;
    *out = model;
    return NN_OK;
fail:
    nn_model_free(model);
    return st;
}

void nn_model_free(nn_model *model)
{
    if (!model)
        return;
    for (int i = 0; i < model->n_layers; i++) {
        nn_layer *layer = model->layers[i];
        if (layer->ops->destroy)
            layer->ops->destroy(layer);
        free(layer);
    }
    free(model->layers);
    free(model->params);
    free(model->arena);
    free(model->workspace);
    free(model->param_data);
    free(model->own_grad_data);
    free(model->state_data);
    for (int i = 0; i < model->n_owned_cfgs; i++)
        nn_cfg_free(model->owned_cfgs[i]);
    free(model->owned_cfgs);
    free(model);
}

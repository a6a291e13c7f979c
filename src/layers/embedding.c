/* embedding: integer token ids to learned vectors, as torch.nn.Embedding. The input holds
 * ids as float values (the dataset's x), one per position: a sequence (steps) of ids becomes
 * (steps, dim), ready for a recurrent layer; an id is read as the nearest integer.
 * weight[num][dim]. Backward adds each position's output gradient to its id's row; the ids
 * get no gradient. An id outside [0, num) is a data error the layer cannot report from a
 * step: its output is zero and it contributes no gradient (the dataset checks should keep
 * such ids out). */
#include <math.h>
#include <string.h>

#include "layers/layer_util.h"
#include "model/init_internal.h"

typedef struct embedding {
    int64_t num, dim, positions;
} embedding;

static const char *const embedding_keys[] = {"num", "dim", NULL};

static nn_status embedding_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "embedding layer '%s' takes exactly one input",
                           layer->name);
    embedding *e = calloc(1, sizeof *e);
    if (!e)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = e;
    nn_status st;
    if ((st = nn_cfg_read_int(cfg, "num", 0, &e->num, err)) ||
        (st = nn_cfg_read_int(cfg, "dim", 0, &e->dim, err)))
        return st;
    if (e->num < 1 || e->dim < 1) {
        const char *key = e->num < 1 ? "num" : "dim";
        return nn_cfg_fail(err, nn_cfg_get(cfg, key) ? nn_cfg_get(cfg, key) : cfg,
                           "embedding layer '%s' needs '%s' >= 1 (num: the number of ids, "
                           "dim: the vector size)", layer->name, key);
    }
    const nn_shape in = layer->inputs[0]->out_shape;
    if (in.ndim != 1) {
        char shape[64];
        return nn_cfg_fail(err, cfg, "embedding layer '%s' needs a (steps) input of ids, but "
                           "its input '%s' has shape %s", layer->name, layer->inputs[0]->name,
                           nn_shape_format(in, shape, sizeof shape));
    }
    e->positions = in.dim[0];
    layer->out_shape = nn_shape_1d(e->positions);
    layer->out_shape.ndim = 2;
    layer->out_shape.dim[1] = e->dim;
    /* torch's default: N(0, 1) */
    nn_init normal = {0};
    nn_status init_st = nni_init_named("normal", &normal, err);
    if (init_st)
        return init_st;
    normal.b = 1.0; /* std */
    int64_t dims[2] = {e->num, e->dim};
    nni_layer_add_param(layer, "weight", 2, dims, e->num, e->dim,
                        nn_cfg_get(cfg, "init") ? NULL : &normal, 0);
    return NN_OK;
}

static int64_t id_at(const embedding *e, float value)
{
    const float rounded = nearbyintf(value);
    return rounded >= 0 && rounded < (float)e->num ? (int64_t)rounded : -1;
}

static void embedding_forward(nn_layer *layer, const nn_pass *pass)
{
    const embedding *e = layer->priv;
    const float *w = nni_layer_param(layer, 0), *ids = layer->inputs[0]->out;
    for (int64_t p = 0; p < pass->batch * e->positions; p++) {
        const int64_t id = id_at(e, ids[p]);
        float *y = layer->out + p * e->dim;
        if (id < 0)
            memset(y, 0, (size_t)e->dim * sizeof *y);
        else
            memcpy(y, w + id * e->dim, (size_t)e->dim * sizeof *y);
    }
}

static void embedding_backward(nn_layer *layer, const nn_pass *pass)
{
    const embedding *e = layer->priv;
    float *dids = layer->inputs[0]->dout;
    if (dids && !layer->input_accumulate[0])
        memset(dids, 0, (size_t)(pass->batch * e->positions) * sizeof *dids);
    if (nni_layer_param_frozen(layer, 0))
        return;
    float *dw = nni_layer_grad(layer, 0);
    if (!pass->grad_accumulate)
        memset(dw, 0, (size_t)(e->num * e->dim) * sizeof *dw);
    const float *ids = layer->inputs[0]->out;
    for (int64_t p = 0; p < pass->batch * e->positions; p++) {
        const int64_t id = id_at(e, ids[p]);
        const float *dy = layer->dout + p * e->dim;
        for (int64_t j = 0; id >= 0 && j < e->dim; j++)
            dw[id * e->dim + j] += dy[j];
    }
}

static void embedding_describe(const nn_layer *layer, char *buf, int size)
{
    const embedding *e = layer->priv;
    snprintf(buf, (size_t)size, "%lld ids x %lld", (long long)e->num, (long long)e->dim);
}

/* model/export_torch.c's Embedding: ids rounded as here, an id out of range gives zeros. */
static void embedding_torch(const nn_layer *layer, char *buf, int size)
{
    const embedding *e = layer->priv;
    snprintf(buf, (size_t)size, "Embedding(%lld, %lld)", (long long)e->num, (long long)e->dim);
}

const nn_layer_ops nni_embedding_ops = {
    .type = "embedding",
    .keys = embedding_keys,
    .params = "num dim",
    .help = "token ids (steps) -> (steps, dim) vectors as torch Embedding, weight[num][dim] "
            "(default init normal(0, 1)); ids get no gradient",
    .build = embedding_build,
    .forward = embedding_forward,
    .backward = embedding_backward,
    .destroy = nni_layer_free_priv,
    .describe = embedding_describe,
    .torch_module = embedding_torch,
};

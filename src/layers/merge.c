/* Merging layers: add (residual connections) and concat along channels (inception).
 *
 * add: y = sum of inputs, all of the same shape; each input's gradient is dy.
 * concat: inputs of equal spatial size (or flat vectors) stacked along the channel axis
 * (axis 1 of NCHW); each input's gradient is its slice of dy.
 *
 * An elementwise activation that is add's only consumer (`activation: relu` on a residual
 * sum) runs inside it, sample by sample while the sum is in cache: the forward applies it
 * right after summing, the backward makes dy from the activation's output gradient right
 * before handing it to the inputs. The arithmetic is that of the separate pass: same bits.
 * It saves the activation's own passes' thread-team meetings; on one core of the residual
 * net the time of add and relu together stayed the same (memory traffic is what they cost,
 * and the pre-activation sum is still written for the derivative). */
#include <string.h>

#include "layers/activation.h"
#include "layers/layer_util.h"

static const char *const no_keys[] = {NULL};

static nn_status add_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs < 2)
        return nn_cfg_fail(err, cfg, "add layer '%s' needs at least two inputs", layer->name);
    nn_shape shape = layer->inputs[0]->out_shape;
    for (int i = 1; i < layer->n_inputs; i++)
        if (!nn_shape_equal(shape, layer->inputs[i]->out_shape)) {
            char a[64], b[64];
            return nn_cfg_fail(err, cfg, "add layer '%s': input '%s' has shape %s but '%s' has "
                               "%s", layer->name, layer->inputs[0]->name,
                               nn_shape_format(shape, a, sizeof a), layer->inputs[i]->name,
                               nn_shape_format(layer->inputs[i]->out_shape, b, sizeof b));
        }
    layer->out_shape = shape;
    return NN_OK;
}

/* The activation fused into an add layer (add_fuse_activation), or NULL. add has no other
 * private state: priv points at the activation layer, which the model owns. */
static const nn_layer *add_activation(const nn_layer *layer)
{
    return layer->priv;
}

/* relu(x0 + x1 + ...) into a, the sum not stored: each element's sum in the order of
 * add_forward's passes, so the same bits. */
static void add_relu_only(const nn_layer *layer, int64_t first, int64_t n, float *restrict a)
{
    const float *restrict x0 = layer->inputs[0]->out;
    const float *restrict x1 = layer->inputs[1]->out;
    if (layer->n_inputs == 2) {
        for (int64_t k = first; k < n; k++) {
            const float v = x0[k] + x1[k];
            a[k] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
    for (int64_t k = first; k < n; k++) {
        float v = x0[k] + x1[k];
        for (int i = 2; i < layer->n_inputs; i++)
            v += layer->inputs[i]->out[k];
        a[k] = v > 0.0f ? v : 0.0f;
    }
}

/* add and concat split large batches over threads by samples (nni_layer_elementwise_threads).
 * A fused relu in a training pass gets the sums and the add's own output is not written:
 * nothing reads it there (the relu's derivative is read from relu's output, add_backward),
 * and the store cost as much as the rest (the residual+inception net's res_add, 6.4 MB a
 * step: forward 2.05-2.15 ms with it, 1.25-1.27 without, bench_step, 1 core). */
static void add_forward(nn_layer *layer, const nn_pass *pass)
{
    const int64_t size = nni_layer_out_size(layer), batch = pass->batch;
    const int threads = nni_layer_elementwise_threads(batch * size, batch);
    const nn_layer *act = add_activation(layer);
    const int relu_only = act && pass->training && nni_activation_is_relu(act);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; t++) {
        for (int64_t r = batch * t / threads; r < batch * (t + 1) / threads; r++) {
            const int64_t first = r * size, n = first + size;
            if (relu_only) {
                add_relu_only(layer, first, n, act->out);
                continue;
            }
            float *restrict y = layer->out;
            const float *restrict x0 = layer->inputs[0]->out;
            const float *restrict x1 = layer->inputs[1]->out;
            for (int64_t k = first; k < n; k++) /* the first two in one pass */
                y[k] = x0[k] + x1[k];
            for (int i = 2; i < layer->n_inputs; i++) {
                const float *restrict x = layer->inputs[i]->out;
                for (int64_t k = first; k < n; k++)
                    y[k] += x[k];
            }
            if (act)
                nni_activation_apply(act, y + first, act->out + first, size);
        }
    }
}

/* With a fused activation its gradient is written straight into the first input that takes
 * the gradient whole (does not accumulate) and copied from there to the others: the add's own
 * dout, one more tensor written through memory (6.4 MB a step in the residual+inception
 * net), only when every input accumulates. The same values, added in the same order. */
static void add_backward(nn_layer *layer, const nn_pass *pass)
{
    const int64_t size = nni_layer_out_size(layer), batch = pass->batch;
    const int threads = nni_layer_elementwise_threads(batch * size, batch);
    const nn_layer *act = add_activation(layer);
    /* relu's derivative at the sum is the same at relu's output (> 0 exactly where the sum
     * is), which every pass writes: the sum itself a training pass leaves out. */
    const int relu = act && nni_activation_is_relu(act);
    int primary = -1;
    for (int i = 0; act && primary < 0 && i < layer->n_inputs; i++)
        if (layer->inputs[i]->dout && !layer->input_accumulate[i])
            primary = i;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; t++) {
        for (int64_t r = batch * t / threads; r < batch * (t + 1) / threads; r++) {
            const int64_t first = r * size;
            float *grad = primary >= 0 ? layer->inputs[primary]->dout + first
                                       : layer->dout + first;
            if (act)
                nni_activation_apply_backward(act, (relu ? act->out : layer->out) + first,
                                              act->out + first, act->dout + first, grad, size,
                                              0);
            for (int i = 0; i < layer->n_inputs; i++)
                if (layer->inputs[i]->dout && i != primary)
                    nni_layer_store(layer->inputs[i]->dout + first, grad, size,
                                    layer->input_accumulate[i]);
        }
    }
}

static int add_fuse_activation(nn_layer *layer, nn_layer *activation)
{
    layer->priv = activation;
    return 1;
}

static int64_t add_flops(const nn_layer *layer)
{
    return (layer->n_inputs - 1) * nni_layer_out_size(layer);
}

static void add_torch(const nn_layer *layer, char *buf, int size)
{
    (void)layer;
    snprintf(buf, (size_t)size, "Add()");
}

const nn_layer_ops nni_add_ops = {
    .type = "add",
    .keys = no_keys,
    .params = "inputs=[a, b, ...]",
    .help = "elementwise sum of inputs of one shape (residual connections)",
    .build = add_build,
    .forward = add_forward,
    .backward = add_backward,
    .flops = add_flops,
    .fuse_activation = add_fuse_activation,
    .torch_module = add_torch,
};

static nn_status concat_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs < 2)
        return nn_cfg_fail(err, cfg, "concat layer '%s' needs at least two inputs",
                           layer->name);
    nn_shape shape = layer->inputs[0]->out_shape;
    int64_t channels = 0;
    for (int i = 0; i < layer->n_inputs; i++) {
        nn_shape s = layer->inputs[i]->out_shape;
        int same = s.ndim == shape.ndim;
        for (int d = 1; same && d < s.ndim; d++)
            same = s.dim[d] == shape.dim[d];
        if (!same) {
            char a[64], b[64];
            return nn_cfg_fail(err, cfg, "concat layer '%s': input '%s' has shape %s but '%s' "
                               "has %s (all but the channel count must match)", layer->name,
                               layer->inputs[0]->name, nn_shape_format(shape, a, sizeof a),
                               layer->inputs[i]->name, nn_shape_format(s, b, sizeof b));
        }
        channels += s.dim[0];
    }
    shape.dim[0] = channels;
    layer->out_shape = shape;
    return NN_OK;
}

static void concat_forward(nn_layer *layer, const nn_pass *pass)
{
    const int64_t out_size = nni_layer_out_size(layer), batch = pass->batch;
    const int threads = nni_layer_elementwise_threads(batch * out_size, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t r = 0; r < batch; r++) {
        int64_t offset = 0;
        for (int i = 0; i < layer->n_inputs; i++) {
            const int64_t in_size = nni_layer_in_size(layer, i);
            memcpy(layer->out + r * out_size + offset, layer->inputs[i]->out + r * in_size,
                   (size_t)in_size * sizeof *layer->out);
            offset += in_size;
        }
    }
}

static void concat_backward(nn_layer *layer, const nn_pass *pass)
{
    const int64_t out_size = nni_layer_out_size(layer), batch = pass->batch;
    const int threads = nni_layer_elementwise_threads(batch * out_size, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t r = 0; r < batch; r++) {
        int64_t offset = 0;
        for (int i = 0; i < layer->n_inputs; i++) {
            const int64_t in_size = nni_layer_in_size(layer, i);
            float *dx = layer->inputs[i]->dout;
            if (dx)
                nni_layer_store(dx + r * in_size, layer->dout + r * out_size + offset, in_size,
                                layer->input_accumulate[i]);
            offset += in_size;
        }
    }
}

static void concat_torch(const nn_layer *layer, char *buf, int size)
{
    (void)layer;
    snprintf(buf, (size_t)size, "Concat()");
}

const nn_layer_ops nni_concat_ops = {
    .type = "concat",
    .keys = no_keys,
    .params = "inputs=[a, b, ...]",
    .help = "inputs stacked along channels (features of flat inputs); spatial sizes must "
            "match (inception)",
    .build = concat_build,
    .forward = concat_forward,
    .backward = concat_backward,
    .torch_module = concat_torch,
};

/* Dropout (inverted, as torch.nn.Dropout): in training each value is zeroed with
 * probability p and the survivors are scaled by 1 / (1 - p), so the expected activation is
 * unchanged and evaluation is the identity.
 *
 * The mask of a sample comes from the stream (seed, NNI_RNG_DROPOUT, epoch, global sample
 * index, layer): the same sample gets the same mask whichever rank runs it, and backward
 * re-draws the forward's mask instead of storing it (one uniform per value: cheaper than
 * a capacity-sized mask buffer written and read back).
 *
 * `epochs: [a, b]` keeps the layer on only in training epochs a <= e < b (counted from 0,
 * config/epoch_window.h); in the other epochs it is the identity, as in evaluation. */
#include "config/epoch_window.h"
#include "core/rng.h"
#include "layers/layer_util.h"

typedef struct dropout {
    float p;
    int64_t sample_size;
    nni_epoch_window epochs; /* training epochs in which values are dropped */
} dropout;

static const char *const dropout_keys[] = {"p", "epochs", NULL};

static nn_status dropout_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "dropout layer '%s' takes exactly one input",
                           layer->name);
    dropout *d = calloc(1, sizeof *d);
    if (!d)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = d;
    double p = 0.5;
    nn_status st = nn_cfg_read_double(cfg, "p", p, &p, err);
    if (!st)
        st = nni_epoch_window_read(cfg, "epochs", nni_epoch_window_always(), &d->epochs, err);
    if (st)
        return st;
    if (!(p >= 0 && p < 1))
        return nn_cfg_fail(err, nn_cfg_get(cfg, "p"),
                           "p (the drop probability) must be in [0, 1), got %g", p);
    d->p = (float)p;
    layer->out_shape = layer->inputs[0]->out_shape;
    d->sample_size = nn_shape_size(layer->out_shape);
    return NN_OK;
}

static nni_rng dropout_stream(const nn_layer *layer, const nn_pass *pass, int64_t row)
{
    uint64_t sample = pass->sample_ids ? (uint64_t)pass->sample_ids[row] : (uint64_t)row;
    return nni_rng_stream(pass->seed, NNI_RNG_DROPOUT, pass->epoch, sample, (uint32_t)layer->id);
}

/* y = mask(x) * scale in training, or copy; the same loop serves forward (x -> y) and
 * backward (dy -> dx), which apply the same mask. */
static void dropout_apply(const nn_layer *layer, const nn_pass *pass, const float *src,
                          float *dst, int accumulate)
{
    const dropout *d = layer->priv;
    const int64_t n = d->sample_size;
    if (!pass->training || d->p == 0.0f || !nni_epoch_window_contains(d->epochs, pass->epoch)) {
        nni_layer_store(dst, src, pass->batch * n, accumulate);
        return;
    }
    const float keep_scale = 1.0f / (1.0f - d->p);
    for (int64_t r = 0; r < pass->batch; r++) {
        nni_rng rng = dropout_stream(layer, pass, r);
        for (int64_t i = r * n; i < (r + 1) * n; i++) {
            const float v = nni_rng_uniform(&rng) < d->p ? 0.0f : src[i] * keep_scale;
            dst[i] = accumulate ? dst[i] + v : v;
        }
    }
}

static void dropout_forward(nn_layer *layer, const nn_pass *pass)
{
    dropout_apply(layer, pass, layer->inputs[0]->out, layer->out, 0);
}

static void dropout_backward(nn_layer *layer, const nn_pass *pass)
{
    if (layer->inputs[0]->dout)
        dropout_apply(layer, pass, layer->dout, layer->inputs[0]->dout,
                      layer->input_accumulate[0]);
}

static int64_t dropout_flops(const nn_layer *layer)
{
    return nni_layer_out_size(layer);
}

static void dropout_describe(const nn_layer *layer, char *buf, int size)
{
    const dropout *d = layer->priv;
    if (d->epochs.end == INT64_MAX && d->epochs.first == 0)
        snprintf(buf, (size_t)size, "p=%g", d->p);
    else
        snprintf(buf, (size_t)size, "p=%g in epochs [%lld, %lld)", d->p,
                 (long long)d->epochs.first, (long long)d->epochs.end);
}

static void dropout_torch(const nn_layer *layer, char *buf, int size)
{
    const dropout *d = layer->priv;
    snprintf(buf, (size_t)size, "nn.Dropout(%.9g)", d->p);
}

const nn_layer_ops nni_dropout_ops = {
    .type = "dropout",
    .keys = dropout_keys,
    .params = "p=0.5 epochs=[first, end) (default: every epoch)",
    .help = "zero each value with probability p in training, scale the rest by 1/(1-p); "
            "identity in evaluation and in training epochs outside `epochs` (from 0)",
    .build = dropout_build,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .flops = dropout_flops,
    .destroy = nni_layer_free_priv,
    .describe = dropout_describe,
    .torch_module = dropout_torch,
};

/* ReLU variants whose negative slope is not a fixed constant (the fixed ones, relu and
 * leaky_relu, are rows of activation.c's table):
 *
 *  prelu  y = x > 0 ? x : a[c] x, with a learned slope per channel (dim 0 of the sample
 *         shape: the features of a vector, the channels of an image), or one shared slope
 *         with `shared: true`. The parameter is `weight` as in torch.nn.PReLU, initialized
 *         to 0.25 (a layer's `init:` overrides it), exempt from weight decay.
 *         Gradients: dx = x > 0 ? dy : a dy; da[c] = sum over x <= 0 of x dy.
 *
 *  rrelu  y = x > 0 ? x : s x (Xu et al., 2015; torch.nn.RReLU). Training: s ~ U(lower,
 *         upper) for every element, drawn from the stream (seed, NNI_RNG_RRELU, epoch,
 *         global sample index, layer), so a sample gets the same slopes whichever rank runs
 *         it, and backward re-draws the forward's slopes instead of storing them.
 *         Evaluation: s = (lower + upper) / 2.
 *
 * Both are also usable as a layer's `activation:`. */
#include <string.h>

#include "core/rng.h"
#include "layers/layer_util.h"
#include "model/init_internal.h"

/* ---- prelu ------------------------------------------------------------------------ */

typedef struct prelu {
    int64_t channels;    /* slopes */
    int64_t inner;       /* values per channel in one sample */
    int64_t sample_size; /* channels_in_sample * inner */
    int shared;
} prelu;

static const char *const prelu_keys[] = {"shared", NULL};

static nn_status prelu_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "prelu layer '%s' takes exactly one input", layer->name);
    prelu *p = calloc(1, sizeof *p);
    if (!p)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = p;
    nn_status st = nn_cfg_read_bool(cfg, "shared", 0, &p->shared, err);
    if (st)
        return st;
    layer->out_shape = layer->inputs[0]->out_shape;
    p->sample_size = nn_shape_size(layer->out_shape);
    p->channels = p->shared ? 1 : layer->out_shape.dim[0];
    p->inner = p->shared ? p->sample_size : p->sample_size / layer->out_shape.dim[0];
    nn_init slope_init;
    if (nn_cfg_get(cfg, "init")) {
        slope_init = layer->weight_init; /* the layer's own init: */
    } else {
        nni_init_named("constant", &slope_init, NULL);
        slope_init.a = 0.25;
    }
    nni_layer_add_param(layer, "weight", 1, &p->channels, 1, 1, &slope_init, NN_PARAM_NO_DECAY);
    return NN_OK;
}

static void prelu_forward(nn_layer *layer, const nn_pass *pass)
{
    const prelu *p = layer->priv;
    const float *slope = nni_layer_param(layer, 0);
    const float *x = layer->inputs[0]->out;
    float *y = layer->out;
    const int64_t per_sample = p->shared ? 1 : p->channels;
    for (int64_t r = 0; r < pass->batch; r++)
        for (int64_t c = 0; c < per_sample; c++) {
            const float a = slope[c];
            const int64_t base = r * p->sample_size + c * p->inner;
            for (int64_t i = base; i < base + p->inner; i++)
                y[i] = x[i] > 0.0f ? x[i] : a * x[i];
        }
}

static void prelu_backward(nn_layer *layer, const nn_pass *pass)
{
    const prelu *p = layer->priv;
    const float *slope = nni_layer_param(layer, 0);
    const float *x = layer->inputs[0]->out, *dy = layer->dout;
    float *dx = layer->inputs[0]->dout;
    const int accumulate = layer->input_accumulate[0];
    const int learn = !nni_layer_param_frozen(layer, 0);
    float *dslope = learn ? nni_layer_grad(layer, 0) : NULL;
    if (learn && !pass->grad_accumulate)
        memset(dslope, 0, (size_t)p->channels * sizeof *dslope);
    const int64_t per_sample = p->shared ? 1 : p->channels;
    for (int64_t c = 0; c < per_sample; c++) {
        const float a = slope[c];
        double da = 0;
        for (int64_t r = 0; r < pass->batch; r++) {
            const int64_t base = r * p->sample_size + c * p->inner;
            for (int64_t i = base; i < base + p->inner; i++) {
                if (x[i] <= 0.0f)
                    da += (double)x[i] * dy[i];
                if (dx) {
                    float g = x[i] > 0.0f ? dy[i] : a * dy[i];
                    dx[i] = accumulate ? dx[i] + g : g;
                }
            }
        }
        if (learn)
            dslope[c] += (float)da;
    }
}

static int64_t prelu_flops(const nn_layer *layer)
{
    return nni_layer_out_size(layer);
}

static void prelu_describe(const nn_layer *layer, char *buf, int size)
{
    const prelu *p = layer->priv;
    if (p->shared)
        snprintf(buf, (size_t)size, "one shared slope");
    else
        snprintf(buf, (size_t)size, "%lld slopes", (long long)p->channels);
}

static void prelu_torch(const nn_layer *layer, char *buf, int size)
{
    const prelu *p = layer->priv;
    snprintf(buf, (size_t)size, "nn.PReLU(%lld)", (long long)p->channels);
}

const nn_layer_ops nni_prelu_ops = {
    .type = "prelu",
    .keys = prelu_keys,
    .params = "shared=false",
    .help = "x > 0 ? x : a x, learned slope a per channel (dim 0 of the sample shape) or one "
            "shared; parameter 'weight', init 0.25 (torch PReLU)",
    .build = prelu_build,
    .forward = prelu_forward,
    .backward = prelu_backward,
    .flops = prelu_flops,
    .destroy = nni_layer_free_priv,
    .describe = prelu_describe,
    .torch_module = prelu_torch,
};

/* ---- rrelu ------------------------------------------------------------------------ */

typedef struct rrelu {
    float lower, upper;
    int64_t sample_size;
} rrelu;

static const char *const rrelu_keys[] = {"lower", "upper", NULL};

static nn_status rrelu_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "rrelu layer '%s' takes exactly one input", layer->name);
    rrelu *p = calloc(1, sizeof *p);
    if (!p)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = p;
    double lower = 1.0 / 8, upper = 1.0 / 3;
    nn_status st = nn_cfg_read_double(cfg, "lower", lower, &lower, err);
    if (!st)
        st = nn_cfg_read_double(cfg, "upper", upper, &upper, err);
    if (st)
        return st;
    if (!(lower >= 0 && lower <= 1))
        return nn_cfg_fail(err, nn_cfg_get(cfg, "lower"), "lower must be in [0, 1], got %g",
                           lower);
    if (!(upper >= lower && upper <= 1))
        return nn_cfg_fail(err, nn_cfg_get(cfg, "upper") ? nn_cfg_get(cfg, "upper") : cfg,
                           "upper must be in [lower, 1] = [%g, 1], got %g", lower, upper);
    p->lower = (float)lower;
    p->upper = (float)upper;
    layer->out_shape = layer->inputs[0]->out_shape;
    p->sample_size = nn_shape_size(layer->out_shape);
    return NN_OK;
}

/* The slope stream of one row; draws happen for every element, negative or not, so the
 * k-th element's slope depends only on (sample, k). */
static nni_rng rrelu_stream(const nn_layer *layer, const nn_pass *pass, int64_t row)
{
    uint64_t sample = pass->sample_ids ? (uint64_t)pass->sample_ids[row] : (uint64_t)row;
    return nni_rng_stream(pass->seed, NNI_RNG_RRELU, pass->epoch, sample, (uint32_t)layer->id);
}

static void rrelu_forward(nn_layer *layer, const nn_pass *pass)
{
    const rrelu *p = layer->priv;
    const float *x = layer->inputs[0]->out;
    float *y = layer->out;
    const int64_t n = p->sample_size;
    if (!pass->training) {
        const float s = 0.5f * (p->lower + p->upper);
        for (int64_t i = 0; i < pass->batch * n; i++)
            y[i] = x[i] > 0.0f ? x[i] : s * x[i];
        return;
    }
    const float width = p->upper - p->lower;
    for (int64_t r = 0; r < pass->batch; r++) {
        nni_rng rng = rrelu_stream(layer, pass, r);
        for (int64_t i = r * n; i < (r + 1) * n; i++) {
            const float s = p->lower + width * nni_rng_uniform(&rng);
            y[i] = x[i] > 0.0f ? x[i] : s * x[i];
        }
    }
}

static void rrelu_backward(nn_layer *layer, const nn_pass *pass)
{
    const rrelu *p = layer->priv;
    const float *x = layer->inputs[0]->out, *dy = layer->dout;
    float *dx = layer->inputs[0]->dout;
    if (!dx)
        return;
    const int accumulate = layer->input_accumulate[0];
    const int64_t n = p->sample_size;
    const float width = p->upper - p->lower;
    for (int64_t r = 0; r < pass->batch; r++) {
        nni_rng rng = rrelu_stream(layer, pass, r);
        for (int64_t i = r * n; i < (r + 1) * n; i++) {
            const float s = pass->training ? p->lower + width * nni_rng_uniform(&rng)
                                           : 0.5f * (p->lower + p->upper);
            const float g = x[i] > 0.0f ? dy[i] : s * dy[i];
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }
}

static int64_t rrelu_flops(const nn_layer *layer)
{
    return nni_layer_out_size(layer);
}

static void rrelu_describe(const nn_layer *layer, char *buf, int size)
{
    const rrelu *p = layer->priv;
    snprintf(buf, (size_t)size, "slope U(%g, %g)", p->lower, p->upper);
}

/* In evaluation both use the mean slope (lower + upper) / 2. */
static void rrelu_torch(const nn_layer *layer, char *buf, int size)
{
    const rrelu *p = layer->priv;
    snprintf(buf, (size_t)size, "nn.RReLU(%.9g, %.9g)", p->lower, p->upper);
}

const nn_layer_ops nni_rrelu_ops = {
    .type = "rrelu",
    .keys = rrelu_keys,
    .params = "lower=1/8 upper=1/3",
    .help = "x > 0 ? x : s x, s ~ U(lower, upper) per value in training, (lower+upper)/2 in "
            "evaluation (torch RReLU)",
    .build = rrelu_build,
    .forward = rrelu_forward,
    .backward = rrelu_backward,
    .flops = rrelu_flops,
    .destroy = nni_layer_free_priv,
    .describe = rrelu_describe,
    .torch_module = rrelu_torch,
};

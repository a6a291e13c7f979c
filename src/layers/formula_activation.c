/* An activation written as a formula in the config, as a layer or as a layer's
 * `activation:`:
 *
 *   activation: {formula: "x * sigmoid(beta * x)", params: {beta: 1.5}, learn: [beta]}
 *   - {type: formula, formula: "max(x, 0)"}
 *
 * The formula is over the input x and the named parameters. Its derivatives come from the
 * formula module's rules (src/formula/), compiled at build into two programs: forward
 * (f) and backward (dy * df/dx, and dy * df/dp summed over the batch for every learned
 * parameter p). A learned parameter is one number per layer, or with `per_channel: true`
 * one per channel (dim 0 of the sample shape, as prelu's slopes): a model parameter named
 * after it ("fc1.formula/beta"), initialized to its `params:` value and exempt from weight
 * decay; checkpoints, the gradient sum and the optimizer treat it like any other. Per
 * channel, a channel's values are contiguous (inner of them per sample), so the programs
 * run over one channel at a time with the parameters as numbers, or over a whole sample
 * with them as arrays when each channel is one value (after a dense layer). Without learned
 * parameters the activation is elementwise and the layer before it may compute it
 * (activation.c's fusion). */
#include <string.h>

#include "core/text.h"
#include "core/threads.h"
#include "formula/formula.h"
#include "layers/formula_activation.h"
#include "layers/layer_util.h"
#include "model/init_internal.h"

#define MAX_THREADS 64

typedef struct formula_activation {
    nni_formula *formula;
    nni_formula_program *forward, *backward;
    nni_formula_params params;
    int learned[NNI_FORMULA_MAX_VARS]; /* parameter slot of params.names[k], or -1 */
    int n_learned;
    int dy_var;                        /* the output gradient's variable in backward */
    int per_channel;                   /* learned parameters: one per channel */
    int64_t channels, inner, sample_size;
} formula_activation;

static const char *const formula_keys[] = {"formula", "params", "learn", "per_channel", NULL};
static const char *const input_var[] = {"x", NULL};

static void formula_destroy(nn_layer *layer)
{
    formula_activation *a = layer->priv;
    if (a) {
        nni_formula_program_free(a->forward);
        nni_formula_program_free(a->backward);
        nni_formula_free(a->formula);
    }
    nni_layer_free_priv(layer);
}

/* `learn: [beta]`: each name a parameter of `params:`, made a model parameter. */
static nn_status read_learned(nn_layer *layer, formula_activation *a, const nn_cfg *learn,
                              nn_error *err)
{
    for (int k = 0; k < a->params.count; k++)
        a->learned[k] = -1;
    if (!learn)
        return NN_OK;
    if (nn_cfg_kind_of(learn) != NN_CFG_SEQ)
        return nn_cfg_fail(err, learn, "expected a list of parameter names, e.g. [beta]");
    for (int i = 0; i < nn_cfg_size(learn); i++) {
        const nn_cfg *item = nn_cfg_at(learn, i);
        const char *name = nn_cfg_scalar(item);
        int k = 0;
        while (name && k < a->params.count && strcmp(a->params.names[k], name) != 0)
            k++;
        if (!name || k == a->params.count)
            return nn_cfg_fail(err, item, "'%s' is not a parameter of the formula (give it a "
                               "starting value in params:)", name ? name : "?");
        if (a->learned[k] >= 0)
            return nn_cfg_fail(err, item, "'%s' is listed twice", name);
        nn_init start;
        nni_init_named("constant", &start, NULL);
        start.a = a->params.values[k];
        const int64_t count = a->per_channel ? a->channels : 1;
        a->learned[k] = nni_layer_add_param(layer, name, 1, &count, 1, 1, &start,
                                            NN_PARAM_NO_DECAY);
        a->n_learned++;
    }
    return NN_OK;
}

static nn_status compile(formula_activation *a, nn_error *err)
{
    nni_formula *f = a->formula;
    const int root = nni_formula_root(f);
    nn_status st = nni_formula_compile(f, &root, 1, 1u, &a->forward, err);
    if (st)
        return st;
    a->dy_var = nni_formula_add_var(f);
    const int dy = nni_formula_var(f, a->dy_var);
    int outputs[NNI_FORMULA_MAX_OUTPUTS], n = 0;
    outputs[n++] = nni_formula_mul(f, dy, nni_formula_derivative(f, root, 0));
    for (int k = 0; k < a->params.count; k++)
        if (a->learned[k] >= 0) {
            if (n == NNI_FORMULA_MAX_OUTPUTS)
                return nn_fail(err, NN_ERR_CONFIG, "at most %d learned parameters",
                               NNI_FORMULA_MAX_OUTPUTS - 1);
            outputs[n++] = nni_formula_mul(f, dy, nni_formula_derivative(f, root, 1 + k));
        }
    for (int k = 0; k < n; k++)
        if (outputs[k] < 0)
            return nn_fail(err, NN_ERR_CONFIG, "formula '%s': its derivatives are too large",
                           nni_formula_text(f));
    return nni_formula_compile(f, outputs, n, 1u | (1u << a->dy_var), &a->backward, err);
}

static nn_status formula_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "formula layer '%s' takes exactly one input", layer->name);
    formula_activation *a = calloc(1, sizeof *a);
    if (!a)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = a;
    const nn_cfg *text = nn_cfg_get(cfg, "formula");
    if (!text)
        return nn_cfg_fail(err, cfg, "a formula activation needs 'formula', e.g. "
                           "{formula: \"x * sigmoid(x)\"}");
    nn_status st = nni_formula_read_params(nn_cfg_get(cfg, "params"), input_var, &a->params,
                                           err);
    if (st)
        return st;
    const char *vars[NNI_FORMULA_MAX_VARS + 1] = {"x"};
    for (int k = 0; k < a->params.count; k++)
        vars[1 + k] = a->params.names[k];
    layer->out_shape = layer->inputs[0]->out_shape;
    a->sample_size = nn_shape_size(layer->out_shape);
    a->channels = layer->out_shape.dim[0];
    a->inner = a->sample_size / a->channels;
    if ((st = nn_cfg_read_bool(cfg, "per_channel", 0, &a->per_channel, err)) ||
        (st = nni_formula_parse_cfg(text, vars, &a->formula, err)) ||
        (st = read_learned(layer, a, nn_cfg_get(cfg, "learn"), err)))
        return st;
    if (a->per_channel && !nn_cfg_get(cfg, "learn"))
        return nn_cfg_fail(err, nn_cfg_get(cfg, "per_channel"), "per_channel is for learned "
                           "parameters: add learn: [name]");
    nn_cfg_mark(nn_cfg_get(cfg, "learn"));
    if ((st = compile(a, err)))
        return nn_fail_prefix(err, "%s: ", nn_cfg_where(text));
    return NN_OK;
}

/* The parameters' current values: learned ones from the model, the others as written. */
static void parameter_values(const nn_layer *layer, const formula_activation *a, float *vars)
{
    vars[0] = 0;
    for (int k = 0; k < a->params.count; k++)
        vars[1 + k] = a->learned[k] >= 0 ? nni_layer_param(layer, a->learned[k])[0]
                                         : (float)a->params.values[k];
}

void nni_formula_activation_apply(const nn_layer *layer, const float *x, float *y, int64_t n)
{
    const formula_activation *a = layer->priv;
    float scalars[NNI_FORMULA_MAX_VARS] = {0};
    parameter_values(layer, a, scalars);
    const float *arrays[NNI_FORMULA_MAX_VARS] = {x};
    const nni_formula_store store = NNI_FORMULA_WRITE;
    nni_formula_run(a->forward, arrays, scalars, n, &y, &store, NULL);
}

/* dx (+)= dy f'(x); sums[j] += sum of dy df/dp_j over these values, for the learned ones. */
static void backward_values(const nn_layer *layer, const float *x, const float *dy, float *dx,
                            int64_t n, int accumulate, double *sums)
{
    const formula_activation *a = layer->priv;
    float scalars[NNI_FORMULA_MAX_VARS] = {0};
    parameter_values(layer, a, scalars);
    const float *arrays[NNI_FORMULA_MAX_VARS] = {x};
    arrays[a->dy_var] = dy;
    float *outputs[NNI_FORMULA_MAX_OUTPUTS] = {dx};
    nni_formula_store stores[NNI_FORMULA_MAX_OUTPUTS];
    stores[0] = accumulate ? NNI_FORMULA_ADD : NNI_FORMULA_WRITE;
    for (int k = 1; k <= a->n_learned; k++)
        stores[k] = NNI_FORMULA_SUM;
    if (!dx) /* only the parameters' gradients: dx goes into a sum nobody reads */
        stores[0] = NNI_FORMULA_SUM;
    double unused[NNI_FORMULA_MAX_OUTPUTS] = {0};
    nni_formula_run(a->backward, arrays, scalars, n, outputs, stores, sums ? sums : unused);
}

void nni_formula_activation_apply_backward(const nn_layer *layer, const float *x,
                                           const float *dy, float *dx, int64_t n,
                                           int accumulate)
{
    backward_values(layer, x, dy, dx, n, accumulate, NULL);
}

int nni_formula_activation_fusable(const nn_layer *layer)
{
    const formula_activation *a = layer->priv;
    return layer->ops == &nni_formula_ops && a->n_learned == 0;
}

/* ---- per-channel parameters: one channel (or one sample) at a time ---------------- */

/* The variables of sample r, channel c (c < 0: the whole sample, each channel one value):
 * the learned parameters as arrays over the channels or as channel c's numbers. */
static void channel_variables(const nn_layer *layer, const formula_activation *a, int64_t c,
                              float *scalars, const float **arrays)
{
    parameter_values(layer, a, scalars);
    for (int k = 0; k < a->params.count; k++) {
        if (a->learned[k] < 0)
            continue;
        const float *values = nni_layer_param(layer, a->learned[k]);
        arrays[1 + k] = c < 0 ? values : NULL;
        scalars[1 + k] = c < 0 ? 0.0f : values[c];
    }
}

static void per_channel_forward(const nn_layer *layer, int64_t rows)
{
    const formula_activation *a = layer->priv;
    const float *x = layer->inputs[0]->out;
    const nni_formula_store store = NNI_FORMULA_WRITE;
    const int whole = a->inner == 1; /* a sample at a time, parameters as arrays */
    float scalars[NNI_FORMULA_MAX_VARS] = {0};
    const float *arrays[NNI_FORMULA_MAX_VARS] = {NULL};
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < (whole ? 1 : a->channels); c++) {
            const int64_t first = r * a->sample_size + c * a->inner;
            channel_variables(layer, a, whole ? -1 : c, scalars, arrays);
            arrays[0] = x + first;
            float *y = layer->out + first;
            nni_formula_run(a->forward, arrays, scalars, whole ? a->sample_size : a->inner, &y,
                            &store, NULL);
        }
}

/* In sample order on one thread, so the parameters' gradients sum in one order. */
static void per_channel_backward(const nn_layer *layer, const nn_pass *pass)
{
    const formula_activation *a = layer->priv;
    const float *x = layer->inputs[0]->out;
    float *dx = layer->inputs[0]->dout;
    const int whole = a->inner == 1;
    float *grads[NNI_FORMULA_MAX_VARS] = {NULL};
    int n = 0;
    for (int k = 0; k < a->params.count; k++)
        if (a->learned[k] >= 0) {
            int frozen = nni_layer_param_frozen(layer, a->learned[k]);
            grads[n] = frozen ? NULL : nni_layer_grad(layer, a->learned[k]);
            if (grads[n] && !pass->grad_accumulate)
                memset(grads[n], 0, (size_t)a->channels * sizeof *grads[n]);
            n++;
        }
    float scalars[NNI_FORMULA_MAX_VARS] = {0};
    const float *arrays[NNI_FORMULA_MAX_VARS] = {NULL};
    float *outputs[NNI_FORMULA_MAX_OUTPUTS] = {NULL};
    nni_formula_store stores[NNI_FORMULA_MAX_OUTPUTS];
    stores[0] = !dx ? NNI_FORMULA_SUM
                : layer->input_accumulate[0] ? NNI_FORMULA_ADD : NNI_FORMULA_WRITE;
    for (int64_t r = 0; r < pass->batch; r++)
        for (int64_t c = 0; c < (whole ? 1 : a->channels); c++) {
            const int64_t first = r * a->sample_size + c * a->inner;
            channel_variables(layer, a, whole ? -1 : c, scalars, arrays);
            arrays[0] = x + first;
            arrays[a->dy_var] = layer->dout + first;
            outputs[0] = dx ? dx + first : NULL;
            for (int k = 0; k < n; k++) { /* a sample: add per channel; a channel: its sum */
                outputs[1 + k] = whole ? grads[k] : NULL;
                stores[1 + k] = whole && grads[k] ? NNI_FORMULA_ADD : NNI_FORMULA_SUM;
            }
            double sums[NNI_FORMULA_MAX_OUTPUTS] = {0};
            nni_formula_run(a->backward, arrays, scalars, whole ? a->sample_size : a->inner,
                            outputs, stores, sums);
            for (int k = 0; k < n && !whole; k++)
                if (grads[k])
                    grads[k][c] += (float)sums[1 + k];
        }
}

static void formula_forward(nn_layer *layer, const nn_pass *pass)
{
    const formula_activation *fa = layer->priv;
    if (fa->per_channel) {
        per_channel_forward(layer, pass->batch);
        return;
    }
    const int64_t size = nni_layer_out_size(layer), batch = pass->batch;
    const int threads = nni_layer_elementwise_threads(batch * size, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; t++) {
        const int64_t first = batch * t / threads, end = batch * (t + 1) / threads;
        nni_formula_activation_apply(layer, layer->inputs[0]->out + first * size,
                                     layer->out + first * size, (end - first) * size);
    }
}

/* With learned parameters one thread runs the whole batch, so their gradients are summed
 * in the same order whatever train.threads says (a run resumed at another thread count
 * continues bit for bit); without, the batch is split over threads like any activation. */
static void formula_backward(nn_layer *layer, const nn_pass *pass)
{
    const formula_activation *a = layer->priv;
    if (a->per_channel) {
        per_channel_backward(layer, pass);
        return;
    }
    float *dx = layer->inputs[0]->dout;
    int learn = 0;
    for (int k = 0; k < a->params.count; k++)
        learn |= a->learned[k] >= 0 && !nni_layer_param_frozen(layer, a->learned[k]);
    if (!dx && !learn)
        return;
    const int64_t size = nni_layer_out_size(layer), batch = pass->batch;
    int threads = learn ? 1 : nni_layer_elementwise_threads(batch * size, batch);
    threads = threads > MAX_THREADS ? MAX_THREADS : threads;
    double sums[MAX_THREADS][NNI_FORMULA_MAX_OUTPUTS] = {{0}};
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; t++) {
        const int64_t first = batch * t / threads, end = batch * (t + 1) / threads;
        backward_values(layer, layer->inputs[0]->out + first * size, layer->dout + first * size,
                        dx ? dx + first * size : NULL, (end - first) * size,
                        layer->input_accumulate[0], sums[t]);
    }
    int output = 1;
    for (int k = 0; k < a->params.count; k++) {
        if (a->learned[k] < 0)
            continue;
        double total = 0;
        for (int t = 0; t < threads; t++)
            total += sums[t][output];
        output++;
        if (nni_layer_param_frozen(layer, a->learned[k]))
            continue;
        float *grad = nni_layer_grad(layer, a->learned[k]);
        grad[0] = pass->grad_accumulate ? grad[0] + (float)total : (float)total;
    }
}

static int64_t formula_flops(const nn_layer *layer)
{
    const formula_activation *a = layer->priv;
    return nni_layer_out_size(layer) * nni_formula_program_length(a->forward);
}

static void formula_describe(const nn_layer *layer, char *buf, int size)
{
    const formula_activation *a = layer->priv;
    int used = snprintf(buf, (size_t)size, "%s", nni_formula_text(a->formula));
    for (int k = 0; k < a->params.count && used < size; k++) {
        float value = a->learned[k] >= 0 ? nni_layer_param(layer, a->learned[k])[0]
                                         : (float)a->params.values[k];
        const char *learned = a->learned[k] < 0 ? "" : a->per_channel ? " (learned per channel)"
                                                                       : " (learned)";
        used += snprintf(buf + used, (size_t)(size - used), "%s %s=%g%s", k ? "," : ";",
                         a->params.names[k], value, learned);
    }
}

/* model/export_torch.c's Formula: the formula as a torch function of x and the parameters
 * p["name"] (formula/torch.c writes it from the parsed graph), their values, which of them
 * are learned and whether per channel. */
static void formula_torch(const nn_layer *layer, char *buf, int size)
{
    const formula_activation *a = layer->priv;
    char names[NNI_FORMULA_MAX_VARS][NNI_FORMULA_NAME_MAX + 8];
    const char *vars[NNI_FORMULA_MAX_VARS] = {"x"};
    for (int k = 0; k < a->params.count; k++) {
        snprintf(names[k], sizeof names[k], "p[\"%s\"]", a->params.names[k]);
        vars[1 + k] = names[k];
    }
    nni_text t = {0};
    nni_text_puts(&t, "Formula(\"");
    for (const char *c = nni_formula_text(a->formula); *c; c++) {
        if (*c == '"' || *c == '\\')
            nni_text_put(&t, "\\", 1);
        nni_text_put(&t, c, 1);
    }
    nni_text_puts(&t, "\", lambda x, p: ");
    nni_formula_write_torch(a->formula, vars, &t);
    nni_text_puts(&t, ", {");
    for (int k = 0; k < a->params.count; k++)
        nni_text_printf(&t, "%s\"%s\": %.17g", k ? ", " : "", a->params.names[k],
                        a->params.values[k]);
    nni_text_puts(&t, "}, learned=[");
    for (int k = 0, n = 0; k < a->params.count; k++)
        if (a->learned[k] >= 0)
            nni_text_printf(&t, "%s\"%s\"", n++ ? ", " : "", a->params.names[k]);
    nni_text_printf(&t, "], channels=%lld)", a->per_channel ? (long long)a->channels : 0LL);
    /* a text that does not fit (or failed) is cut, which the exporter reports */
    snprintf(buf, (size_t)size, "%s", t.failed || !t.data ? "" : t.data);
    nni_text_free(&t);
}

const nn_layer_ops nni_formula_ops = {
    .type = "formula",
    .keys = formula_keys,
    .params = "formula=\"...\" params={name: value} learn=[name] per_channel=false",
    .help = "an activation written as a formula of x and named parameters, e.g. "
            "\"x * sigmoid(beta * x)\"; derivatives derived from the formula; learn: makes "
            "parameters trainable (one per layer, or per channel as prelu's); as a layer's "
            "activation written "
            "{formula: ...}",
    .build = formula_build,
    .forward = formula_forward,
    .backward = formula_backward,
    .flops = formula_flops,
    .destroy = formula_destroy,
    .describe = formula_describe,
    .torch_module = formula_torch,
};

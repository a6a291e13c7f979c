/* Elementwise activation functions, as layers (`type: relu`) and as a layer's
 * `activation:` field. One table entry per function: a forward and a backward array kernel
 * generated from scalar expressions, so each loop is tight and the compiler can vectorize
 * what it can. Backward expressions may use x (input), y (output) and dy.
 *
 * Functions that need more than an elementwise rule live elsewhere: softmax and log_softmax
 * (softmax.c), prelu (learned slope) and rrelu (random slope) in relu_family.c. */
#include <math.h>
#include <string.h>

#include "layers/activation.h"
#include "layers/formula_activation.h"
#include "layers/layer_util.h"
#include "layers/registry.h"
#include "model/model_internal.h"

typedef struct act_params {
    float alpha, beta;
    int64_t sample_size;
} act_params;

typedef void (*act_forward_fn)(const float *x, float *y, int64_t n, const act_params *p);
typedef void (*act_backward_fn)(const float *x, const float *y, const float *dy, float *dx,
                                int64_t n, int accumulate, const act_params *p);

typedef struct act_entry {
    const char *name;
    act_forward_fn forward;
    act_backward_fn backward;
    const char *alpha_key, *beta_key; /* parameter names in the config (NULL: none) */
    float default_alpha, default_beta;
    const char *formula;
    const char *torch; /* the same function in PyTorch: a Python expression of x, alpha, beta */
} act_entry;

/* The generated loops read these names: x, y, dy, i, alpha, beta, size. */
#define ACTIVATION(NAME, FORWARD, BACKWARD)                                                    \
    static void NAME##_forward(const float *restrict xs, float *restrict ys, int64_t n,       \
                               const act_params *p)                                            \
    {                                                                                          \
        const float alpha = p->alpha, beta = p->beta;                                          \
        const int64_t size = p->sample_size;                                                   \
        (void)alpha, (void)beta, (void)size;                                                   \
        for (int64_t i = 0; i < n; i++) {                                                      \
            const float x = xs[i];                                                             \
            ys[i] = (FORWARD);                                                                 \
        }                                                                                      \
    }                                                                                          \
    static void NAME##_backward(const float *restrict xs, const float *restrict ys,           \
                                const float *restrict dys, float *restrict dxs, int64_t n,    \
                                int accumulate, const act_params *p)                           \
    {                                                                                          \
        const float alpha = p->alpha, beta = p->beta;                                          \
        const int64_t size = p->sample_size;                                                   \
        (void)alpha, (void)beta, (void)size, (void)xs, (void)ys;                               \
        if (accumulate)                                                                        \
            for (int64_t i = 0; i < n; i++) {                                                  \
                const float x = xs[i], y = ys[i], dy = dys[i];                                 \
                (void)x, (void)y;                                                              \
                dxs[i] += (BACKWARD);                                                          \
            }                                                                                  \
        else                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                  \
                const float x = xs[i], y = ys[i], dy = dys[i];                                 \
                (void)x, (void)y;                                                              \
                dxs[i] = (BACKWARD);                                                           \
            }                                                                                  \
    }

static inline float sigmoidf(float x)
{
    /* Two branches so exp never overflows. */
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* 1 - tanh(x)^2 = 4 e / (1 + e)^2 with e = exp(-2|x|): no cancellation for large |x|. */
static inline float sech2f(float x)
{
    float e = expf(-2.0f * fabsf(x));
    return 4.0f * e / ((1.0f + e) * (1.0f + e));
}

static inline float softplusf(float x, float beta)
{
    /* PyTorch's rule: linear above beta*x > 20, where exp would overflow and the log term
     * is below float resolution anyway. */
    float bx = beta * x;
    return bx > 20.0f ? x : log1pf(expf(bx)) / beta;
}

/* 1 / sqrt(1 + alpha x^2) in double: x^2 overflows float beyond |x| ~ 1.8e19, which would
 * turn isru(x) = x * scale into 0 * huge instead of its limit 1 / sqrt(alpha). */
static inline float isru_scale(float x, float alpha)
{
    return (float)(1.0 / sqrt(1.0 + (double)alpha * x * x));
}

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f
#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT2PI 0.39894228040143268f

ACTIVATION(identity, x, dy)
/* Derivatives of saturating functions are computed where they do not cancel: 1 - y for
 * sigmoid(x > 0) and 1 - y^2 for tanh(|x| large) would round to 0 long before the true
 * value underflows. */
ACTIVATION(sigmoid, sigmoidf(x), dy * y * (x > 0.0f ? sigmoidf(-x) : 1.0f - y))
ACTIVATION(tanh, tanhf(x), dy * (fabsf(x) < 0.5f ? 1.0f - y * y : sech2f(x)))
ACTIVATION(arctan, atanf(x), dy / (1.0f + x * x))
ACTIVATION(relu, x > 0.0f ? x : 0.0f, x > 0.0f ? dy : 0.0f)
ACTIVATION(leaky_relu, x > 0.0f ? x : alpha * x, x > 0.0f ? dy : alpha * dy)
ACTIVATION(binary_step, x >= 0.0f ? 1.0f : 0.0f, 0.0f * dy)
ACTIVATION(elu, x > 0.0f ? x : alpha * expm1f(x), x > 0.0f ? dy : dy * alpha * expf(x))
ACTIVATION(selu, x > 0.0f ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * expm1f(x),
           x > 0.0f ? SELU_SCALE * dy : dy * (SELU_SCALE * SELU_ALPHA) * expf(x))
ACTIVATION(softsign, x / (1.0f + fabsf(x)), dy / ((1.0f + fabsf(x)) * (1.0f + fabsf(x))))
ACTIVATION(isru, x * isru_scale(x, alpha),
           dy * isru_scale(x, alpha) * isru_scale(x, alpha) * isru_scale(x, alpha))
ACTIVATION(isrlu, x >= 0.0f ? x : x * isru_scale(x, alpha),
           x >= 0.0f ? dy : dy * isru_scale(x, alpha) * isru_scale(x, alpha) * isru_scale(x, alpha))
ACTIVATION(sqnl,
           x > 2.0f ? 1.0f : x >= 0.0f ? x - 0.25f * x * x : x >= -2.0f ? x + 0.25f * x * x : -1.0f,
           x > 2.0f || x < -2.0f ? 0.0f
           : x >= 0.0f          ? dy * (1.0f - 0.5f * x)
                                : dy * (1.0f + 0.5f * x))
/* Bipolar ReLU (Eidnes & Nokland, 2017): even units relu(x), odd units -relu(-x), so the
 * layer's mean activation stays near zero. */
ACTIVATION(bipolar_relu,
           (i % size) % 2 == 0 ? (x > 0.0f ? x : 0.0f) : (x < 0.0f ? x : 0.0f),
           (i % size) % 2 == 0 ? (x > 0.0f ? dy : 0.0f) : (x < 0.0f ? dy : 0.0f))
ACTIVATION(softplus, softplusf(x, beta), beta * x > 20.0f ? dy : dy * sigmoidf(beta * x))
ACTIVATION(swish, x * sigmoidf(x), dy * (sigmoidf(x) * (1.0f + x * (1.0f - sigmoidf(x)))))
/* Phi(x) = erfc(-x / sqrt 2) / 2: 1 + erf(x / sqrt 2) cancels for negative x. */
ACTIVATION(gelu, 0.5f * x * erfcf(-x * INV_SQRT2),
           dy * (0.5f * erfcf(-x * INV_SQRT2) + x * INV_SQRT2PI * expf(-0.5f * x * x)))
ACTIVATION(mish, x * tanhf(softplusf(x, 1.0f)),
           dy * (tanhf(softplusf(x, 1.0f)) +
                 x * (1.0f - tanhf(softplusf(x, 1.0f)) * tanhf(softplusf(x, 1.0f))) * sigmoidf(x)))
ACTIVATION(hard_sigmoid, x <= -3.0f ? 0.0f : x >= 3.0f ? 1.0f : x / 6.0f + 0.5f,
           x > -3.0f && x < 3.0f ? dy / 6.0f : 0.0f)

#define ENTRY(NAME, A, B, DA, DB, FORMULA, TORCH) \
    {#NAME, NAME##_forward, NAME##_backward, A, B, DA, DB, FORMULA, TORCH}

static const act_entry act_table[] = {
    ENTRY(identity, NULL, NULL, 0, 0, "x",
          "x"),
    ENTRY(sigmoid, NULL, NULL, 0, 0, "1 / (1 + exp(-x))",
          "torch.sigmoid(x)"),
    ENTRY(tanh, NULL, NULL, 0, 0, "tanh(x)",
          "torch.tanh(x)"),
    ENTRY(arctan, NULL, NULL, 0, 0, "atan(x)",
          "torch.atan(x)"),
    ENTRY(relu, NULL, NULL, 0, 0, "max(0, x)",
          "torch.relu(x)"),
    ENTRY(leaky_relu, "alpha", NULL, 0.01f, 0, "x > 0 ? x : alpha x",
          "F.leaky_relu(x, alpha)"),
    ENTRY(binary_step, NULL, NULL, 0, 0, "x >= 0 ? 1 : 0 (zero gradient)",
          "(x >= 0).to(x.dtype)"),
    ENTRY(elu, "alpha", NULL, 1.0f, 0, "x > 0 ? x : alpha (exp(x) - 1)",
          "F.elu(x, alpha)"),
    ENTRY(selu, NULL, NULL, 0, 0, "scale * elu(x, 1.6733), scale = 1.0507",
          "F.selu(x)"),
    ENTRY(softsign, NULL, NULL, 0, 0, "x / (1 + |x|)",
          "F.softsign(x)"),
    ENTRY(isru, "alpha", NULL, 1.0f, 0, "x / sqrt(1 + alpha x^2)",
          "x / torch.sqrt(1 + alpha * x * x)"),
    ENTRY(isrlu, "alpha", NULL, 1.0f, 0, "x >= 0 ? x : x / sqrt(1 + alpha x^2)",
          "torch.where(x >= 0, x, x / torch.sqrt(1 + alpha * x * x))"),
    ENTRY(sqnl, NULL, NULL, 0, 0, "square nonlinearity, saturating at +-1 beyond |x| = 2",
          "torch.where(x > 2, torch.ones_like(x), torch.where(x >= 0, x - 0.25 * x * x, "
          "torch.where(x >= -2, x + 0.25 * x * x, -torch.ones_like(x))))"),
    ENTRY(bipolar_relu, NULL, NULL, 0, 0, "even units max(0, x), odd units min(0, x)",
          "torch.where((torch.arange(x[0].numel()) % 2 == 0).reshape(x.shape[1:]), "
          "x.clamp(min=0), x.clamp(max=0))"),
    ENTRY(softplus, NULL, "beta", 0, 1.0f, "log(1 + exp(beta x)) / beta",
          "F.softplus(x, beta)"),
    ENTRY(swish, NULL, NULL, 0, 0, "x sigmoid(x) (also: silu)",
          "F.silu(x)"),
    ENTRY(gelu, NULL, NULL, 0, 0, "x Phi(x), exact erf form",
          "F.gelu(x)"),
    ENTRY(mish, NULL, NULL, 0, 0, "x tanh(softplus(x))",
          "x * torch.tanh(F.softplus(x))"),
    ENTRY(hard_sigmoid, NULL, NULL, 0, 0, "clamp(x / 6 + 1/2, 0, 1)",
          "F.hardsigmoid(x)"),
};
enum { N_ACTS = sizeof act_table / sizeof act_table[0] };

static const act_entry *find_activation(const char *name)
{
    if (strcmp(name, "silu") == 0)
        name = "swish";
    for (int i = 0; i < N_ACTS; i++)
        if (strcmp(act_table[i].name, name) == 0)
            return &act_table[i];
    return NULL;
}

typedef struct activation {
    const act_entry *entry;
    act_params params;
} activation;

static const char *const activation_keys[] = {"alpha", "beta", NULL};

static nn_status activation_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "activation layer '%s' takes exactly one input",
                           layer->name);
    const char *type = NULL;
    nn_cfg_read_string(cfg, "type", NULL, &type, err);
    activation *a = calloc(1, sizeof *a);
    if (!a)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = a;
    a->entry = type ? find_activation(type) : NULL;
    if (!a->entry)
        return nni_activation_unknown(err, cfg, type ? type : "?");
    const act_entry *e = a->entry;
    /* Only the parameters this function has; layers written out in full carry the common
     * layer keys too, which the builder has checked already. */
    for (int k = 0; activation_keys[k]; k++) {
        const char *key = activation_keys[k];
        int known = (e->alpha_key && !strcmp(e->alpha_key, key)) ||
                    (e->beta_key && !strcmp(e->beta_key, key));
        if (nn_cfg_get(cfg, key) && !known)
            return nn_cfg_fail(err, nn_cfg_get(cfg, key), "activation '%s' has no parameter "
                               "'%s'", e->name, key);
    }
    double alpha = e->default_alpha, beta = e->default_beta;
    nn_status st = NN_OK;
    if (e->alpha_key)
        st = nn_cfg_read_double(cfg, e->alpha_key, alpha, &alpha, err);
    if (!st && e->beta_key)
        st = nn_cfg_read_double(cfg, e->beta_key, beta, &beta, err);
    if (st)
        return st;
    if (e->beta_key && beta <= 0)
        return nn_cfg_fail(err, nn_cfg_get(cfg, e->beta_key), "%s must be > 0", e->beta_key);
    if ((e->forward == isru_forward || e->forward == isrlu_forward) && alpha < 0)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "alpha"), "alpha must be >= 0");
    a->params.alpha = (float)alpha;
    a->params.beta = (float)beta;
    layer->out_shape = layer->inputs[0]->out_shape;
    a->params.sample_size = nn_shape_size(layer->out_shape);
    return NN_OK;
}

/* Large activations (after convolutions) are split over threads in whole samples, so
 * functions that look at a value's position in its sample (bipolar_relu) see the same. */
static void activation_forward(nn_layer *layer, const nn_pass *pass)
{
    const activation *a = layer->priv;
    const int64_t size = a->params.sample_size, batch = pass->batch;
    const int threads = nni_layer_elementwise_threads(batch * size, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; t++) {
        const int64_t first = batch * t / threads, end = batch * (t + 1) / threads;
        a->entry->forward(layer->inputs[0]->out + first * size, layer->out + first * size,
                          (end - first) * size, &a->params);
    }
}

static void activation_backward(nn_layer *layer, const nn_pass *pass)
{
    const activation *a = layer->priv;
    float *dx = layer->inputs[0]->dout;
    if (!dx)
        return;
    const int64_t size = a->params.sample_size, batch = pass->batch;
    const int threads = nni_layer_elementwise_threads(batch * size, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; t++) {
        const int64_t first = batch * t / threads, end = batch * (t + 1) / threads;
        a->entry->backward(layer->inputs[0]->out + first * size, layer->out + first * size,
                           layer->dout + first * size, dx + first * size, (end - first) * size,
                           layer->input_accumulate[0], &a->params);
    }
}

static void activation_describe(const nn_layer *layer, char *buf, int size)
{
    const activation *a = layer->priv;
    const act_entry *e = a->entry;
    if (e->alpha_key)
        snprintf(buf, (size_t)size, "%s %s=%g", e->name, e->alpha_key, a->params.alpha);
    else if (e->beta_key)
        snprintf(buf, (size_t)size, "%s %s=%g", e->name, e->beta_key, a->params.beta);
    else
        snprintf(buf, (size_t)size, "%s", e->name);
}

static int64_t activation_flops(const nn_layer *layer)
{
    return nni_layer_out_size(layer);
}

static void activation_torch(const nn_layer *layer, char *buf, int size)
{
    const activation *a = layer->priv;
    snprintf(buf, (size_t)size, "Elementwise(\"%s\", lambda x, alpha=%.9g, beta=%.9g: %s)",
             a->entry->name, a->params.alpha, a->params.beta, a->entry->torch);
}

const nn_layer_ops nni_activation_ops = {
    .type = "activation",
    .keys = activation_keys,
    .build = activation_build,
    .forward = activation_forward,
    .backward = activation_backward,
    .flops = activation_flops,
    .destroy = nni_layer_free_priv,
    .describe = activation_describe,
    .torch_module = activation_torch,
};

int nni_activation_fusable(const nn_layer *layer)
{
    if (layer->ops == &nni_formula_ops)
        return layer->n_inputs == 1 && nni_formula_activation_fusable(layer);
    if (layer->ops != &nni_activation_ops || layer->n_inputs != 1)
        return 0;
    const activation *a = layer->priv;
    return a->entry->forward != bipolar_relu_forward; /* alternates by position */
}

int nni_activation_is_relu(const nn_layer *layer)
{
    return layer->ops == &nni_activation_ops &&
           ((const activation *)layer->priv)->entry->forward == relu_forward;
}

void nni_activation_apply(const nn_layer *layer, const float *x, float *y, int64_t n)
{
    if (layer->ops == &nni_formula_ops) {
        nni_formula_activation_apply(layer, x, y, n);
        return;
    }
    const activation *a = layer->priv;
    a->entry->forward(x, y, n, &a->params);
}

void nni_activation_apply_backward(const nn_layer *layer, const float *x, const float *y,
                                   const float *dy, float *dx, int64_t n, int accumulate)
{
    if (layer->ops == &nni_formula_ops) {
        nni_formula_activation_apply_backward(layer, x, dy, dx, n, accumulate);
        return;
    }
    const activation *a = layer->priv;
    a->entry->backward(x, y, dy, dx, n, accumulate, &a->params);
}

int nni_activation_is_elementwise(const char *function)
{
    return find_activation(function) != NULL;
}

int nni_activation_count(void)
{
    return N_ACTS;
}

const char *nni_activation_name(int i)
{
    return act_table[i].name;
}

void nni_activation_catalogue(nni_catalogue_emit emit, void *ctx)
{
    for (int i = 0; i < N_ACTS; i++) {
        const act_entry *e = &act_table[i];
        char params[64] = "";
        if (e->alpha_key)
            snprintf(params, sizeof params, "%s=%g", e->alpha_key, e->default_alpha);
        else if (e->beta_key)
            snprintf(params, sizeof params, "%s=%g", e->beta_key, e->default_beta);
        nni_catalogue_row row = {e->name, params, e->formula};
        emit(&row, ctx);
    }
}

/* Loss terms and their weighted sum. Each term is a table entry with a parser and one
 * function that returns the summed per-sample loss and writes the scaled gradient; the sum
 * of terms calls them in turn, the first overwriting dout and the rest adding to it. */
#include "nn/loss.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "train/loss_internal.h"

#define TWO_PI 6.283185307179586

static void store(float *d, int64_t i, float g, int accumulate)
{
    d[i] = accumulate ? d[i] + g : g;
}

/* Per-class weights (`class_weights: [...]`, one per model output) multiply each class's
 * share of a sample's loss: loss = sum_c w_c t_c (log_z - x_c). The mean divides the
 * weighted sum by the number of samples in the global batch. For target distributions
 * this is exactly torch's reduction='mean'; for hard labels torch divides by the sum of
 * the weights of the batch's labels instead, a normalizer that would need a collective
 * before the gradients could be scaled, so here it is torch's reduction='sum' / N. */
static nn_status read_floats(loss_term *t, const nn_cfg *cfg, const char *key, int64_t len,
                             int allow_scalar, nn_error *err)
{
    const nn_cfg *node = nn_cfg_get(cfg, key);
    if (!node)
        return NN_OK;
    int scalar = nn_cfg_kind_of(node) == NN_CFG_SCALAR;
    int64_t count = scalar ? 1 : nn_cfg_size(node);
    if (nn_cfg_kind_of(node) == NN_CFG_MAP || (scalar && !allow_scalar) ||
        (count != len && !(allow_scalar && count == 1)))
        return nn_cfg_fail(err, node, "expected %s%lld numbers (one per model output), got %s",
                           allow_scalar ? "a number or a list of " : "a list of ",
                           (long long)len, scalar ? "a scalar" : "a list of another length");
    t->vec = malloc((size_t)count * sizeof *t->vec);
    if (!t->vec)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    t->vec_len = count;
    for (int64_t i = 0; i < count; i++) {
        const nn_cfg *item = scalar ? node : nn_cfg_at(node, (int)i);
        const char *text = nn_cfg_scalar(item);
        char *end = NULL;
        double v = text ? strtod(text, &end) : NAN;
        if (!text || end == text || *end || !isfinite(v))
            return nn_cfg_fail(err, item, "%s: expected a number, got '%s'", key,
                               text ? text : "a list or map");
        if (v < 0)
            return nn_cfg_fail(err, item, "%s must be >= 0, got %g", key, v);
        t->vec[i] = (float)v;
    }
    return NN_OK;
}

/* Checks shared by the losses over class scores (cross_entropy, nll). */
static nn_status class_targets_check(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    const char *name = t->kind->name;
    if (t->out_size < 2)
        return nn_cfg_fail(err, t->node, "loss %s needs a model output of at least 2 "
                           "classes, got %lld", name, (long long)t->out_size);
    if (t->has_labels && t->num_classes > t->out_size)
        return nn_cfg_fail(err, t->node, "loss %s: the data has %d classes but the model "
                           "outputs %lld values", name, t->num_classes, (long long)t->out_size);
    if (!t->has_labels && t->target_width != t->out_size)
        return nn_cfg_fail(err, t->node, "loss %s: targets have width %lld but the model "
                           "outputs %lld values", name, (long long)t->target_width,
                           (long long)t->out_size);
    return read_floats(t, cfg, "class_weights", t->out_size, 0, err);
}

/* The target of class c: the label's one-hot vector or the given distribution, smoothed. */
static double class_target(const loss_term *t, const nn_targets *tg, int64_t r, int64_t c,
                           double eps)
{
    double onehot = tg->labels ? (double)(c == tg->labels[r]) : tg->values[r * tg->width + c];
    return (1 - eps) * onehot + eps / (double)t->out_size;
}

static double cross_entropy_eval(const loss_term *t, const float *out, const nn_targets *tg,
                                 int64_t rows, float scale, float *dout, int accumulate)
{
    const int64_t classes = t->out_size;
    const double eps = t->settings.label_smoothing;
    const float *w = t->vec;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = out + r * classes;
        float max = x[0];
        for (int64_t c = 1; c < classes; c++)
            max = x[c] > max ? x[c] : max;
        double sum = 0;
        for (int64_t c = 0; c < classes; c++)
            sum += exp((double)(x[c] - max));
        double log_z = max + log(sum);
        /* loss = sum_c w_c t_c (log_z - x_c); grad_c = softmax_c sum(w t) - w_c t_c */
        double loss = 0, weighted_sum = 0;
        for (int64_t c = 0; c < classes; c++) {
            double wt = class_target(t, tg, r, c, eps) * (w ? w[c] : 1.0);
            loss += wt * (log_z - x[c]);
            weighted_sum += wt;
        }
        total += loss;
        if (!dout)
            continue;
        float *d = dout + r * classes;
        for (int64_t c = 0; c < classes; c++) {
            double p = exp((double)x[c] - log_z);
            double wt = class_target(t, tg, r, c, eps) * (w ? w[c] : 1.0);
            store(d, c, (float)(scale * (p * weighted_sum - wt)), accumulate);
        }
    }
    return total;
}

/* ---- nll: the model outputs log-probabilities (e.g. after log_softmax); loss = -sum_c
 * w_c t_c x_c, with t the label's one-hot vector or a given distribution. */

static double nll_eval(const loss_term *t, const float *out, const nn_targets *tg,
                       int64_t rows, float scale, float *dout, int accumulate)
{
    const int64_t classes = t->out_size;
    double total = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < classes; c++) {
            double wt = class_target(t, tg, r, c, 0) * (t->vec ? t->vec[c] : 1.0);
            if (wt != 0)
                total -= wt * out[r * classes + c];
            if (dout)
                store(dout, r * classes + c, (float)(-scale * wt), accumulate);
        }
    return total;
}

/* ---- Regression losses on (output - target). Label targets become one-hot vectors, except
 * for a model with one output, where the label's value is the target (0/1 for binary
 * classification with bce, counts for poisson_nll). */

float nni_loss_target_at(const loss_term *t, const nn_targets *tg, int64_t r, int64_t c)
{
    if (tg->labels)
        return t->out_size == 1 ? (float)tg->labels[r] : c == tg->labels[r] ? 1.0f : 0.0f;
    return tg->values[r * tg->width + c];
}

static nn_status regression_check(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    (void)cfg;
    if (t->has_labels && t->out_size > 1 && t->num_classes > t->out_size)
        return nn_cfg_fail(err, t->node, "loss %s: labels become one-hot vectors of %d "
                           "classes but the model outputs %lld values", t->kind->name,
                           t->num_classes, (long long)t->out_size);
    if (!t->has_labels && t->target_width != t->out_size)
        return nn_cfg_fail(err, t->node, "loss %s: targets have width %lld but the model "
                           "outputs %lld values", t->kind->name, (long long)t->target_width,
                           (long long)t->out_size);
    return NN_OK;
}

/* Mean over a sample's outputs, as PyTorch's reduction='mean' averages over all elements. */
static double mse_eval(const loss_term *t, const float *out, const nn_targets *tg, int64_t rows,
                       float scale, float *dout, int accumulate)
{
    const int64_t width = t->out_size;
    const float gscale = 2.0f * scale / (float)width;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        double row = 0;
        for (int64_t c = 0; c < width; c++) {
            float diff = out[r * width + c] - nni_loss_target_at(t, tg, r, c);
            row += (double)diff * diff;
            if (dout)
                store(dout, r * width + c, gscale * diff, accumulate);
        }
        total += row / (double)width;
    }
    return total;
}

static double l1_eval(const loss_term *t, const float *out, const nn_targets *tg, int64_t rows,
                      float scale, float *dout, int accumulate)
{
    const int64_t width = t->out_size;
    const float gscale = scale / (float)width;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        double row = 0;
        for (int64_t c = 0; c < width; c++) {
            float diff = out[r * width + c] - nni_loss_target_at(t, tg, r, c);
            row += fabs((double)diff);
            if (dout)
                store(dout, r * width + c,
                      diff > 0 ? gscale : diff < 0 ? -gscale : 0.0f, accumulate);
        }
        total += row / (double)width;
    }
    return total;
}

/* Elementwise losses: per-sample loss = mean (or sum) over the outputs of kind->pointwise. */
static double pointwise_eval(const loss_term *t, const float *out, const nn_targets *tg,
                             int64_t rows, float scale, float *dout, int accumulate)
{
    const int64_t width = t->out_size;
    const double norm = t->kind->sum_over_outputs ? 1.0 : 1.0 / (double)width;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        double row = 0;
        for (int64_t c = 0; c < width; c++) {
            double grad = 0;
            row += t->kind->pointwise(t, out[r * width + c], nni_loss_target_at(t, tg, r, c), c,
                                      &grad);
            if (dout)
                store(dout, r * width + c, (float)(scale * norm * grad), accumulate);
        }
        total += row * norm;
    }
    return total;
}

/* huber (torch.nn.HuberLoss): 0.5 d^2 for |d| < delta, else delta (|d| - delta / 2). */
static double huber_point(const loss_term *t, float x, float y, int64_t c, double *grad)
{
    (void)c;
    const double delta = t->settings.delta, d = (double)x - y, ad = fabs(d);
    if (ad < delta) {
        *grad = d;
        return 0.5 * d * d;
    }
    *grad = d > 0 ? delta : -delta;
    return delta * (ad - 0.5 * delta);
}

/* smooth_l1 (torch.nn.SmoothL1Loss): huber / beta, i.e. 0.5 d^2 / beta for |d| < beta, else
 * |d| - beta / 2; beta = 0 is l1. */
static double smooth_l1_point(const loss_term *t, float x, float y, int64_t c, double *grad)
{
    (void)c;
    const double beta = t->settings.beta, d = (double)x - y, ad = fabs(d);
    if (ad < beta) {
        *grad = d / beta;
        return 0.5 * d * d / beta;
    }
    *grad = d > 0 ? 1 : d < 0 ? -1 : 0;
    return ad - 0.5 * beta;
}

/* bce (torch.nn.BCELoss): the outputs are probabilities in [0, 1]; each log is clamped at
 * -100 and the gradient's denominator at 1e-12, as torch does, so saturated outputs give
 * large but finite values. */
static double bce_point(const loss_term *t, float x, float y, int64_t c, double *grad)
{
    (void)t, (void)c;
    double log_p = fmax(log((double)x), -100.0), log_q = fmax(log1p(-(double)x), -100.0);
    *grad = ((double)x - y) / fmax((1.0 - x) * (double)x, 1e-12);
    return -((double)y * log_p + (1.0 - y) * log_q);
}

/* bce_with_logits (torch.nn.BCEWithLogitsLoss) in the stable form
 * (1 - y) x + lw (log(1 + exp(-|x|)) + max(-x, 0)), lw = 1 + (pos_weight - 1) y;
 * gradient lw sigmoid(x) - pos_weight y. */
static double bce_logits_point(const loss_term *t, float x, float y, int64_t c, double *grad)
{
    const double pw = t->vec ? t->vec[t->vec_len == 1 ? 0 : c] : 1.0;
    const double lw = 1 + (pw - 1) * y, xd = x;
    const double sig = xd >= 0 ? 1 / (1 + exp(-xd)) : exp(xd) / (1 + exp(xd));
    *grad = lw * sig - pw * y;
    return (1 - (double)y) * xd + lw * (log1p(exp(-fabs(xd))) + fmax(-xd, 0.0));
}

static nn_status binary_check(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    if (t->has_labels && t->out_size == 1 && t->num_classes > 2)
        return nn_cfg_fail(err, t->node, "loss %s: one model output takes labels 0 and 1, "
                           "but the data has %d classes", t->kind->name, t->num_classes);
    nn_status st = regression_check(t, cfg, err);
    if (!st && cfg)
        st = read_floats(t, cfg, "pos_weight", t->out_size, 1, err);
    return st;
}

/* kl_div (torch.nn.KLDivLoss, reduction='batchmean'): the outputs are log-probabilities q,
 * the targets probabilities p (log-probabilities with log_target: true); the per-sample loss
 * is sum_c p_c (log p_c - q_c), with 0 log 0 = 0. */
static double kl_div_point(const loss_term *t, float x, float y, int64_t c, double *grad)
{
    (void)c;
    if (t->settings.log_target) {
        double p = exp((double)y);
        *grad = -p;
        return p * ((double)y - x);
    }
    *grad = -(double)y;
    return y > 0 ? (double)y * (log((double)y) - x) : -(double)y * x;
}

/* poisson_nll (torch.nn.PoissonNLLLoss): log_input (default) reads the output as log(rate):
 * exp(x) - y x; otherwise as the rate: x - y log(x + eps). full adds Stirling's
 * approximation of log(y!) for y > 1 (a constant: no gradient). */
static double poisson_point(const loss_term *t, float x, float y, int64_t c, double *grad)
{
    (void)c;
    double loss;
    if (t->settings.log_input) {
        double e = exp((double)x);
        *grad = e - y;
        loss = e - (double)y * x;
    } else {
        *grad = 1 - (double)y / ((double)x + t->settings.eps);
        loss = (double)x - (double)y * log((double)x + t->settings.eps);
    }
    if (t->settings.full && y > 1)
        loss += (double)y * log((double)y) - y + 0.5 * log(TWO_PI * (double)y);
    return loss;
}

/* ---- gaussian_nll (torch.nn.GaussianNLLLoss): the model outputs 2T values per sample for
 * T targets, the first T the means and the next T the variances (keep them positive, e.g.
 * with a softplus on that head). Per element 0.5 (log v + (mu - y)^2 / v) with v =
 * max(var, eps); as in torch the clamp does not stop the gradient. full adds 0.5 log(2 pi).
 * Mean over the T elements. */

static nn_status gaussian_nll_check(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    (void)cfg;
    if (t->has_labels)
        return nn_cfg_fail(err, t->node, "loss gaussian_nll needs float targets (y of "
                           "shape N x T), not integer labels");
    if (t->out_size != 2 * t->target_width)
        return nn_cfg_fail(err, t->node, "loss gaussian_nll: targets have width %lld, so "
                           "the model must output %lld values (means, then variances), not %lld",
                           (long long)t->target_width, 2 * (long long)t->target_width,
                           (long long)t->out_size);
    return NN_OK;
}

static double gaussian_nll_eval(const loss_term *t, const float *out, const nn_targets *tg,
                                int64_t rows, float scale, float *dout, int accumulate)
{
    const int64_t width = t->target_width, out_width = t->out_size;
    const double eps = t->settings.eps;
    const double constant = t->settings.full ? 0.5 * log(TWO_PI) : 0.0;
    const double gscale = (double)scale / (double)width;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *mean = out + r * out_width, *var = mean + width;
        double row = 0;
        for (int64_t c = 0; c < width; c++) {
            double v = fmax((double)var[c], eps);
            double d = (double)mean[c] - tg->values[r * tg->width + c];
            row += 0.5 * (log(v) + d * d / v) + constant;
            if (dout) {
                store(dout, r * out_width + c, (float)(gscale * d / v), accumulate);
                store(dout, r * out_width + width + c,
                      (float)(gscale * 0.5 * (1 / v - d * d / (v * v))), accumulate);
            }
        }
        total += row / (double)width;
    }
    return total;
}

/* ---- Parameter penalties: l1_penalty = weight sum |w|, l2_penalty = weight sum w^2 over
 * the trained, unfrozen parameters; biases and normalization parameters only with
 * include_bias: true. They are a property of the model, not of the samples: the trainer
 * adds them once per step after the gradient sum (nn_loss_add_penalties). */

static nn_status penalty_check(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    if (!cfg || !nn_cfg_get(cfg, "weight"))
        return nn_cfg_fail(err, t->node, "loss %s needs 'weight' (the coefficient), e.g. "
                           "{type: %s, weight: 1e-4}", t->kind->name, t->kind->name);
    return NN_OK;
}

static double penalty_sum(const loss_term *t, nn_model *model, float scale, int l2)
{
    double total = 0;
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if ((p->flags & NN_PARAM_STATE) || p->frozen ||
            (!t->settings.include_bias && (p->flags & (NN_PARAM_NO_DECAY | NN_PARAM_NORM))))
            continue;
        const float *w = nn_model_param_data(model, p);
        float *g = nn_model_param_grad(model, p);
        for (int64_t i = 0; i < p->size; i++) {
            if (l2) {
                total += (double)w[i] * w[i];
                g[i] += 2.0f * scale * w[i];
            } else {
                total += fabs((double)w[i]);
                g[i] += w[i] > 0 ? scale : w[i] < 0 ? -scale : 0.0f;
            }
        }
    }
    return total;
}

static double l1_penalty(const loss_term *t, nn_model *model, float scale)
{
    return penalty_sum(t, model, scale, 0);
}

static double l2_penalty(const loss_term *t, nn_model *model, float scale)
{
    return penalty_sum(t, model, scale, 1);
}

/* The named parameters of each kind (see config/catalogue.h); the lists of numbers
 * (class_weights, pos_weight) are read by the kind's check, which knows their length. */
#define SETTING(field) offsetof(loss_settings, field)
static const nni_param cross_entropy_params[] = {
    {"label_smoothing", NNI_PARAM_FLOAT, 0, SETTING(label_smoothing), NNI_RANGE_UNIT_OPEN, NULL},
    {"class_weights", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "[w per class]"},
    {NULL}};
static const nni_param nll_params[] = {
    {"class_weights", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "[w per class]"},
    {NULL}};
static const nni_param bce_with_logits_params[] = {
    {"pos_weight", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "1|[w per output]"},
    {NULL}};
static const nni_param huber_params[] = {
    {"delta", NNI_PARAM_FLOAT, 1, SETTING(delta), NNI_RANGE_POSITIVE, NULL},
    {NULL}};
static const nni_param smooth_l1_params[] = {
    {"beta", NNI_PARAM_FLOAT, 1, SETTING(beta), NNI_RANGE_NON_NEGATIVE, NULL},
    {NULL}};
static const nni_param kl_div_params[] = {
    {"log_target", NNI_PARAM_BOOL, 0, SETTING(log_target), NNI_RANGE_ANY, NULL},
    {NULL}};
static const nni_param poisson_nll_params[] = {
    {"log_input", NNI_PARAM_BOOL, 1, SETTING(log_input), NNI_RANGE_ANY, NULL},
    {"full", NNI_PARAM_BOOL, 0, SETTING(full), NNI_RANGE_ANY, NULL},
    {"eps", NNI_PARAM_FLOAT, 1e-8, SETTING(eps), NNI_RANGE_POSITIVE, NULL},
    {NULL}};
static const nni_param gaussian_nll_params[] = {
    {"full", NNI_PARAM_BOOL, 0, SETTING(full), NNI_RANGE_ANY, NULL},
    {"eps", NNI_PARAM_FLOAT, 1e-6, SETTING(eps), NNI_RANGE_POSITIVE, NULL},
    {NULL}};
static const nni_param ctc_params[] = {
    {"classes", NNI_PARAM_INT, 0, SETTING(classes), NNI_RANGE_NON_NEGATIVE, NULL},
    {"blank", NNI_PARAM_INT, 0, SETTING(blank), NNI_RANGE_NON_NEGATIVE, NULL},
    {"zero_infinity", NNI_PARAM_BOOL, 0, SETTING(zero_infinity), NNI_RANGE_ANY, NULL},
    {NULL}};
static const nni_param formula_params[] = {
    {"per_output", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "\"...\" (required)"},
    {"reduce", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "mean|sum"},
    {"params", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "{name: value}"},
    {NULL}};
static const nni_param penalty_params[] = {
    {"include_bias", NNI_PARAM_BOOL, 0, SETTING(include_bias), NNI_RANGE_ANY, NULL},
    {NULL}};
#undef SETTING

/* Every loss is a mean over the global batch of per-sample losses; "mean over outputs"
 * below is torch's reduction='mean' over all N x T elements. */
static const loss_kind loss_table[] = {
    {.name = "cross_entropy", .params = cross_entropy_params, .check = class_targets_check,
     .eval = cross_entropy_eval, .classification = 1,
     .help = "softmax cross-entropy from logits; int labels or target distributions (one-hot "
             "or soft); with class_weights the mean is sum_i w[y_i] loss_i / N (torch divides "
             "by sum_i w[y_i] for int labels)"},
    {.name = "nll", .params = nll_params, .check = class_targets_check, .eval = nll_eval,
     .classification = 1,
     .help = "negative log-likelihood of log-probabilities (after log_softmax); int labels or "
             "target distributions; class_weights as for cross_entropy"},
    {.name = "bce", .masks_steps = MASKS_STEPS_BY_ROW, .check = binary_check, .eval = pointwise_eval, .pointwise = bce_point,
     .classification = 1,
     .help = "binary cross-entropy of probabilities in [0, 1] (after sigmoid), log clamped at "
             "-100; mean over outputs; one output takes labels 0/1"},
    {.name = "bce_with_logits", .masks_steps = MASKS_STEPS_BY_ROW, .params = bce_with_logits_params, .check = binary_check,
     .eval = pointwise_eval, .pointwise = bce_logits_point, .classification = 1,
     .help = "binary cross-entropy from logits (stable); pos_weight a number or one per "
             "output; mean over outputs; one output takes labels 0/1"},
    {.name = "mse", .masks_steps = MASKS_STEPS_BY_ROW, .check = regression_check, .eval = mse_eval,
     .help = "mean squared error (mean over outputs)"},
    {.name = "l1", .masks_steps = MASKS_STEPS_BY_ROW, .check = regression_check, .eval = l1_eval,
     .help = "mean absolute error (mean over outputs)"},
    {.name = "huber", .masks_steps = MASKS_STEPS_BY_ROW, .params = huber_params, .check = regression_check,
     .eval = pointwise_eval, .pointwise = huber_point,
     .help = "0.5 d^2 if |d| < delta else delta (|d| - delta/2); mean over outputs"},
    {.name = "smooth_l1", .masks_steps = MASKS_STEPS_BY_ROW, .params = smooth_l1_params, .check = regression_check,
     .eval = pointwise_eval, .pointwise = smooth_l1_point,
     .help = "0.5 d^2 / beta if |d| < beta else |d| - beta/2 (= huber / beta); mean over "
             "outputs"},
    {.name = "kl_div", .params = kl_div_params, .check = regression_check,
     .eval = pointwise_eval, .pointwise = kl_div_point, .sum_over_outputs = 1,
     .classification = 1,
     .help = "KL(target || model), model outputs log-probabilities, targets probabilities "
             "(log-probabilities with log_target); sum over outputs, mean over batch (torch "
             "'batchmean')"},
    {.name = "poisson_nll", .masks_steps = MASKS_STEPS_BY_ROW, .params = poisson_nll_params, .check = regression_check,
     .eval = pointwise_eval, .pointwise = poisson_point,
     .help = "log_input: exp(x) - y x, else x - y log(x + eps); full adds Stirling's term; "
             "mean over outputs"},
    {.name = "gaussian_nll", .params = gaussian_nll_params, .check = gaussian_nll_check,
     .eval = gaussian_nll_eval,
     .help = "model outputs 2T values for T float targets: T means then T variances; "
             "0.5 (log v + (mu - y)^2 / v), v = max(var, eps); full adds 0.5 log(2 pi); mean "
             "over outputs"},
    {.name = "ctc", .masks_steps = MASKS_STEPS_ITSELF, .params = ctc_params, .check = nni_ctc_check, .eval = nni_ctc_eval,
     .check_targets = nni_ctc_check_targets, .decode = nni_ctc_decode,
     .help = "connectionist temporal classification as torch CTCLoss (reduction mean) on "
             "(steps, classes) scores, log-softmax per step inside; targets N x S label ids "
             "padded with -1"},
    {.name = "formula", .params = formula_params, .check = nni_loss_formula_check,
     .eval = nni_loss_formula_eval,
     .help = "per_output: a formula of the output y, its target t (labels one-hot), p = "
             "softmax(y), logp = log_softmax(y) and params; mean (or sum) over outputs; "
             "gradient derived from the formula"},
    {.name = "l1_penalty", .params = penalty_params, .check = penalty_check,
     .penalty = l1_penalty,
     .help = "weight (required) * sum |w| over trained weights (biases and normalization "
             "parameters with include_bias); in a loss list beside a data term"},
    {.name = "l2_penalty", .params = penalty_params, .check = penalty_check,
     .penalty = l2_penalty,
     .help = "weight (required) * sum w^2 over trained weights (biases and normalization "
             "parameters with include_bias); in a loss list beside a data term"},
};
enum { N_LOSSES = sizeof loss_table / sizeof loss_table[0] };

static const char *const *loss_names(void)
{
    static const char *names[N_LOSSES + 1];
    for (int i = 0; i < N_LOSSES; i++)
        names[i] = loss_table[i].name;
    return names;
}

static nn_status parse_term(nn_loss *loss, const nn_cfg *node, nn_error *err)
{
    int index;
    const nn_cfg *map;
    nn_status read = nn_cfg_read_variant(node, "loss", loss_names(), &index, &map, err);
    if (read)
        return read;
    const loss_kind *kind = &loss_table[index];
    loss_term *t = &loss->terms[loss->n_terms];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->weight = 1;
    t->out_size = loss->out_size;
    t->has_labels = loss->has_labels;
    t->target_width = loss->target_width;
    t->num_classes = loss->num_classes;
    t->node = node;
    static const char *const common_keys[] = {"type", "weight", NULL};
    nn_status st = NN_OK;
    if (map) {
        st = nni_params_check_keys(map, common_keys, kind->params, NULL, err);
        if (!st)
            st = nn_cfg_read_double(map, "weight", 1, &t->weight, err);
        if (st)
            return st;
        if (!(t->weight >= 0))
            return nn_cfg_fail(err, nn_cfg_get(map, "weight"), "loss weight must be >= 0");
    }
    st = nni_params_read(map, kind->params, &t->settings, err);
    if (!st)
        st = kind->check(t, map, err);
    if (st) {
        free(t->vec);
        free(t->scratch);
        t->vec = NULL;
        t->scratch = NULL;
        nni_loss_formula_free(t);
        return st;
    }
    t->node = NULL;
    loss->n_terms++;
    return NN_OK;
}

nn_status nn_loss_build(const nn_cfg *loss_cfg, int64_t output_size, int has_labels,
                        int64_t target_width, int num_classes, nn_loss **out, nn_error *err)
{
    *out = NULL;
    nn_loss *loss = calloc(1, sizeof *loss);
    if (!loss)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    loss->out_size = output_size;
    loss->has_labels = has_labels;
    loss->target_width = target_width;
    loss->num_classes = num_classes;
    nn_status st = NN_OK;
    if (!loss_cfg) {
        st = nn_fail(err, NN_ERR_CONFIG, "config: missing train.loss (e.g. cross_entropy)");
    } else if (nn_cfg_kind_of(loss_cfg) == NN_CFG_SEQ) {
        if (nn_cfg_size(loss_cfg) == 0 || nn_cfg_size(loss_cfg) > NN_MAX_LOSS_TERMS)
            st = nn_cfg_fail(err, loss_cfg, "a loss list holds 1 to %d terms",
                             NN_MAX_LOSS_TERMS);
        for (int i = 0; !st && i < nn_cfg_size(loss_cfg); i++)
            st = parse_term(loss, nn_cfg_at(loss_cfg, i), err);
    } else {
        st = parse_term(loss, loss_cfg, err);
    }
    int data_terms = 0;
    for (int i = 0; i < loss->n_terms; i++)
        data_terms += loss->terms[i].kind->eval != NULL;
    if (!st && data_terms == 0)
        st = nn_cfg_fail(err, loss_cfg, "a loss needs a term on the data besides penalties, "
                         "e.g. [{type: mse}, {type: l2_penalty, weight: 1e-4}]");
    if (st) {
        nn_loss_free(loss);
        return st;
    }
    *out = loss;
    return NN_OK;
}

void nn_loss_free(nn_loss *loss)
{
    if (!loss)
        return;
    for (int i = 0; i < loss->n_terms; i++) {
        free(loss->terms[i].vec);
        free(loss->terms[i].scratch);
        nni_loss_formula_free(&loss->terms[i]);
    }
    free(loss);
}

/* A per-step term on a padded sequence output: each row evaluated on its valid steps'
 * outputs alone (the term's mean over them), the padded steps' gradient zero. */
static double masked_eval(const loss_term *t, const float *out, const nn_targets *tg,
                          int64_t rows, float scale, float *dout, int accumulate)
{
    const int64_t width = t->out_size, per_step = width / tg->steps_total;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        loss_term valid = *t;
        valid.out_size = tg->steps[r] * per_step;
        nn_targets row = {.values = tg->values + r * tg->width, .width = tg->width};
        float *d = dout ? dout + r * width : NULL;
        total += t->kind->eval(&valid, out + r * width, &row, 1, scale, d, accumulate);
        for (int64_t c = valid.out_size; d && !accumulate && c < width; c++)
            d[c] = 0.0f;
    }
    return total;
}

double nn_loss_eval(nn_loss *loss, const float *output, const nn_targets *targets, int64_t rows,
                    float grad_scale, float *dout)
{
    double total = 0;
    int written = 0; /* the first data term overwrites dout, the others add */
    for (int i = 0; i < loss->n_terms; i++) {
        const loss_term *t = &loss->terms[i];
        if (!t->kind->eval)
            continue;
        const int masked = targets->steps && t->kind->masks_steps == MASKS_STEPS_BY_ROW;
        total += t->weight * (masked ? masked_eval : t->kind->eval)(
                                 t, output, targets, rows, (float)(grad_scale * t->weight), dout,
                                 written);
        written = 1;
    }
    return total;
}

double nn_loss_add_penalties(const nn_loss *loss, nn_model *model)
{
    double total = 0;
    for (int i = 0; i < loss->n_terms; i++) {
        const loss_term *t = &loss->terms[i];
        if (t->kind->penalty)
            total += t->weight * t->kind->penalty(t, model, (float)t->weight);
    }
    return total;
}

nn_status nn_loss_check_targets(const nn_loss *loss, const nn_targets *targets, int64_t rows,
                                const char *where, nn_error *err)
{
    for (int i = 0; i < loss->n_terms; i++) {
        const loss_term *t = &loss->terms[i];
        if (targets->steps && t->kind->eval && !t->kind->masks_steps)
            return nn_fail(err, NN_ERR_CONFIG, "%s: loss %s cannot skip the padded steps of "
                           "sequences with x_lengths (per-step losses that can: mse, l1, huber, "
                           "smooth_l1, bce, bce_with_logits, poisson_nll, ctc)", where,
                           t->kind->name);
        if (targets->steps && t->kind->masks_steps == MASKS_STEPS_BY_ROW && !targets->values)
            return nn_fail(err, NN_ERR_CONFIG, "%s: loss %s on a sequence output needs float "
                           "targets of every step (N x T x K)", where, t->kind->name);
        nn_status st = t->kind->check_targets ? t->kind->check_targets(t, targets, rows, where,
                                                                        err) : NN_OK;
        if (st)
            return st;
    }
    return NN_OK;
}

int nn_loss_decodes(const nn_loss *loss)
{
    for (int i = 0; i < loss->n_terms; i++)
        if (loss->terms[i].kind->decode)
            return 1;
    return 0;
}

int64_t nn_loss_decode(const nn_loss *loss, const float *row, int64_t steps, int32_t *labels)
{
    for (int i = 0; i < loss->n_terms; i++)
        if (loss->terms[i].kind->decode)
            return loss->terms[i].kind->decode(&loss->terms[i], row, steps, labels);
    return -1;
}

int nn_loss_is_classification(const nn_loss *loss)
{
    /* Accuracy is the argmax of the outputs: meaningless for a single output. */
    if (loss->out_size < 2)
        return 0;
    for (int i = 0; i < loss->n_terms; i++)
        if (loss->terms[i].kind->eval)
            return loss->has_labels || loss->terms[i].kind->classification;
    return 0;
}

void nni_loss_catalogue(nni_catalogue_emit emit, void *ctx)
{
    for (int i = 0; i < N_LOSSES; i++)
        nni_catalogue_emit_entry(emit, ctx, loss_table[i].name, loss_table[i].params,
                                 loss_table[i].help);
}

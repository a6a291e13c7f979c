/* A loss written as a formula in the config:
 *
 *   loss: {type: formula, per_output: "(y - t)^2 + 0.1 * abs(y - t)", reduce: mean}
 *
 * per_output is the loss of one model output y against its target t (labels become
 * one-hot vectors), with p = softmax(y) and logp = log_softmax(y) over the sample's
 * outputs for classification and any named `params:`. A sample's loss is the mean (reduce:
 * mean, the default, as mse) or the sum (as cross_entropy) over its outputs. The gradient
 * comes from the formula's derivatives in y, p and logp, the last two carried back through
 * the softmax:
 *   dL/dy_j = dl/dy_j + p_j (dl/dp_j - sum_c p_c dl/dp_c) + dl/dlogp_j - p_j sum_c dl/dlogp_c.
 * It is a term like any other: weighted, in a list beside other terms and penalties. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formula/formula.h"
#include "train/loss_internal.h"

enum { VAR_Y, VAR_T, VAR_P, VAR_LOGP, N_LOSS_VARS };
enum { OUT_LOSS, OUT_DY, OUT_DP, OUT_DLOGP, N_LOSS_OUTPUTS };

struct formula_loss {
    nni_formula *formula;
    nni_formula_program *program;
    nni_formula_params params;
    int softmax;    /* the formula uses p or logp */
    int reduce_sum; /* sum over the outputs instead of their mean */
    float *work;    /* one sample's t, p, logp and the three derivatives */
};

static const char *const loss_vars[] = {"y", "t", "p", "logp", NULL};

void nni_loss_formula_free(loss_term *t)
{
    formula_loss *fl = t->formula;
    if (!fl)
        return;
    nni_formula_program_free(fl->program);
    nni_formula_free(fl->formula);
    free(fl->work);
    free(fl);
    t->formula = NULL;
}

static nn_status compile(formula_loss *fl, nn_error *err)
{
    nni_formula *f = fl->formula;
    const int root = nni_formula_root(f);
    int outputs[N_LOSS_OUTPUTS] = {root, nni_formula_derivative(f, root, VAR_Y),
                                   nni_formula_derivative(f, root, VAR_P),
                                   nni_formula_derivative(f, root, VAR_LOGP)};
    for (int k = 0; k < N_LOSS_OUTPUTS; k++)
        if (outputs[k] < 0)
            return nn_fail(err, NN_ERR_CONFIG, "formula '%s': its derivatives are too large",
                           nni_formula_text(f));
    fl->softmax = nni_formula_uses(f, root, VAR_P) || nni_formula_uses(f, root, VAR_LOGP);
    const unsigned arrays = (1u << VAR_Y) | (1u << VAR_T) | (1u << VAR_P) | (1u << VAR_LOGP);
    return nni_formula_compile(f, outputs, N_LOSS_OUTPUTS, arrays, &fl->program, err);
}

nn_status nni_loss_formula_check(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    const nn_cfg *text = cfg ? nn_cfg_get(cfg, "per_output") : NULL;
    if (!text)
        return nn_cfg_fail(err, t->node, "loss formula needs 'per_output', e.g. {type: "
                           "formula, per_output: \"(y - t)^2\"}");
    if (t->has_labels && t->out_size > 1 && t->num_classes > t->out_size)
        return nn_cfg_fail(err, t->node, "loss formula: labels become one-hot vectors of %d "
                           "classes but the model outputs %lld values", t->num_classes,
                           (long long)t->out_size);
    if (!t->has_labels && t->target_width != t->out_size)
        return nn_cfg_fail(err, t->node, "loss formula: targets have width %lld but the "
                           "model outputs %lld values", (long long)t->target_width,
                           (long long)t->out_size);
    formula_loss *fl = calloc(1, sizeof *fl);
    if (!fl)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    t->formula = fl;
    static const char *const reductions[] = {"mean", "sum", NULL};
    int reduce = 0;
    nn_status st = nn_cfg_read_choice(cfg, "reduce", reductions, "mean", &reduce, err);
    if (!st)
        st = nni_formula_read_params(nn_cfg_get(cfg, "params"), loss_vars, &fl->params, err);
    if (st)
        return st;
    fl->reduce_sum = reduce == 1;
    const char *vars[NNI_FORMULA_MAX_VARS + 1] = {"y", "t", "p", "logp"};
    for (int k = 0; k < fl->params.count; k++)
        vars[N_LOSS_VARS + k] = fl->params.names[k];
    if ((st = nni_formula_parse_cfg(text, vars, &fl->formula, err)))
        return st;
    if ((st = compile(fl, err)))
        return nn_fail_prefix(err, "%s: ", nn_cfg_where(text));
    if (fl->softmax && t->out_size < 2)
        return nn_cfg_fail(err, text, "p and logp are the softmax over a sample's outputs: "
                           "the model needs at least 2 outputs, it has %lld",
                           (long long)t->out_size);
    fl->work = malloc((size_t)(6 * t->out_size) * sizeof *fl->work);
    if (!fl->work)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    return NN_OK;
}

/* p and logp of one sample, the log-sum-exp in double. */
static void softmax_row(const float *y, int64_t width, float *p, float *logp)
{
    float max = y[0];
    for (int64_t c = 1; c < width; c++)
        max = y[c] > max ? y[c] : max;
    double sum = 0;
    for (int64_t c = 0; c < width; c++)
        sum += exp((double)(y[c] - max));
    const double log_z = max + log(sum);
    for (int64_t c = 0; c < width; c++) {
        logp[c] = (float)((double)y[c] - log_z);
        p[c] = (float)exp((double)y[c] - log_z);
    }
}

double nni_loss_formula_eval(const loss_term *t, const float *out, const nn_targets *tg,
                             int64_t rows, float scale, float *dout, int accumulate)
{
    const formula_loss *fl = t->formula;
    const int64_t width = t->out_size;
    float *target = fl->work, *p = target + width, *logp = p + width;
    float *dy = logp + width, *dp = dy + width, *dlogp = dp + width;
    float scalars[NNI_FORMULA_MAX_VARS] = {0};
    for (int k = 0; k < fl->params.count; k++)
        scalars[N_LOSS_VARS + k] = (float)fl->params.values[k];
    const double norm = fl->reduce_sum ? 1.0 : 1.0 / (double)width;
    const nni_formula_store stores[N_LOSS_OUTPUTS] = {NNI_FORMULA_SUM, NNI_FORMULA_WRITE,
                                                      NNI_FORMULA_WRITE, NNI_FORMULA_WRITE};
    float *outputs[N_LOSS_OUTPUTS] = {NULL, dy, dp, dlogp};
    if (!fl->softmax)
        memset(p, 0, (size_t)(2 * width) * sizeof *p);
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *y = out + r * width;
        for (int64_t c = 0; c < width; c++)
            target[c] = nni_loss_target_at(t, tg, r, c);
        if (fl->softmax)
            softmax_row(y, width, p, logp);
        const float *arrays[NNI_FORMULA_MAX_VARS] = {y, target, p, logp};
        double sums[N_LOSS_OUTPUTS] = {0};
        nni_formula_run(fl->program, arrays, scalars, width, outputs, stores, sums);
        total += sums[OUT_LOSS] * norm;
        if (!dout)
            continue;
        double p_dp = 0, sum_dlogp = 0;
        for (int64_t c = 0; fl->softmax && c < width; c++) {
            p_dp += (double)p[c] * dp[c];
            sum_dlogp += dlogp[c];
        }
        for (int64_t c = 0; c < width; c++) {
            double g = dy[c];
            if (fl->softmax)
                g += p[c] * ((double)dp[c] - p_dp) + dlogp[c] - p[c] * sum_dlogp;
            float value = (float)(scale * norm * g);
            float *d = dout + r * width + c;
            *d = accumulate ? *d + value : value;
        }
    }
    return total;
}

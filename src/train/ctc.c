/* ctc: connectionist temporal classification, the loss of torch.nn.CTCLoss, for reading a
 * sequence of labels out of a longer sequence of per-step scores.
 *
 * Output: per sample T steps of `classes` scores (a (steps, classes) layer such as a dense
 * layer on a recurrent layer's sequence), normalized here by a log-softmax per step, as
 * cross_entropy takes logits; torch's CTCLoss takes those log-probabilities. Targets: float
 * rows of S label ids (y of shape N x S), a sequence shorter than S padded at its end with
 * -1; ids are in [0, classes) and never the blank.
 *
 * Per sample, in log space, over the extended labels l' = (blank, l1, blank, ..., lS, blank)
 * of length L = 2S + 1: the forward variables alpha[t][s] and backward variables beta[t][s]
 * (both including the step's own log-probability), the likelihood
 * p = alpha[T-1][L-1] + alpha[T-1][L-2] and, with gamma[t][c] = log sum over s with l'_s = c
 * of alpha[t][s] beta[t][s], the gradient with respect to the scores
 *   d(-log p)/d x[t][c] = softmax(x[t])_c - exp(gamma[t][c] - log p - lp[t][c]).
 * reduction `mean` as torch: -log p divided by the target length (at least 1), averaged over
 * the batch (the trainer's division by the global batch). A target the input cannot emit
 * (more labels plus repeats than steps) has p = 0: with zero_infinity its loss and gradient
 * are 0, otherwise the loss is infinite (the target checks refuse such data up front).
 *
 * Padded sequences: with the data's x_lengths (nn_targets.steps) a row's alpha and beta run
 * over its valid steps only (torch's input_lengths), and its padded steps get no gradient;
 * y_lengths (nn_targets.lengths) are torch's target_lengths, the labels after them ignored.
 *
 * Decoding (predict, eval's label error rate) is the greedy best path: the highest score of
 * every step, repeats merged, blanks dropped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/loss_internal.h"

static double log_add(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

typedef struct ctc_scratch {
    double *log_probs; /* T x C */
    double *alpha;     /* T x L */
    double *beta;      /* T x L */
    double *gamma;     /* C */
    int64_t *ext;      /* L */
} ctc_scratch;

static int64_t ctc_steps(const loss_term *t)
{
    return t->out_size / t->settings.classes;
}

static ctc_scratch scratch_of(const loss_term *t)
{
    const int64_t T = ctc_steps(t), C = t->settings.classes, L = 2 * t->target_width + 1;
    ctc_scratch s;
    s.log_probs = t->scratch;
    s.alpha = s.log_probs + T * C;
    s.beta = s.alpha + T * L;
    s.gamma = s.beta + T * L;
    s.ext = (int64_t *)(s.gamma + C);
    return s;
}

nn_status nni_ctc_check(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    (void)cfg;
    const int64_t C = t->settings.classes, blank = t->settings.blank;
    if (t->has_labels)
        return nn_cfg_fail(err, t->node, "loss ctc needs label sequences as float targets (y of "
                           "shape N x S, padded with -1), not one integer label per sample");
    if (C < 2)
        return nn_cfg_fail(err, t->node, "loss ctc needs 'classes' (the scores per step, the "
                           "blank included), e.g. {type: ctc, classes: 11}");
    if (t->out_size % C)
        return nn_cfg_fail(err, t->node, "loss ctc: the model outputs %lld values per sample, "
                           "not a whole number of steps of %lld classes", (long long)t->out_size,
                           (long long)C);
    if (blank >= C)
        return nn_cfg_fail(err, t->node, "loss ctc: blank %lld is not one of the %lld classes",
                           (long long)blank, (long long)C);
    const int64_t T = t->out_size / C, L = 2 * t->target_width + 1;
    t->scratch = malloc((size_t)(T * C + 2 * T * L + C) * sizeof(double) +
                        (size_t)L * sizeof(int64_t));
    if (!t->scratch)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    return NN_OK;
}

/* Labels of row r: its y_lengths entry, else those before the first padding value. */
static int64_t target_length(const nn_targets *tg, int64_t r)
{
    if (tg->lengths)
        return tg->lengths[r];
    int64_t len = 0;
    while (len < tg->width && tg->values[r * tg->width + len] >= 0)
        len++;
    return len;
}

/* The steps of row r the loss reads: its valid steps when the input is padded. */
static int64_t row_steps(const loss_term *t, const nn_targets *tg, int64_t r)
{
    return tg->steps ? tg->steps[r] : ctc_steps(t);
}

nn_status nni_ctc_check_targets(const loss_term *t, const nn_targets *tg, int64_t rows,
                                const char *where, nn_error *err)
{
    const int64_t C = t->settings.classes;
    for (int64_t r = 0; r < rows; r++) {
        const float *y = tg->values + r * tg->width;
        const int64_t len = target_length(tg, r);
        int64_t repeats = 0;
        for (int64_t i = 0; i < tg->width; i++) {
            const float v = y[i];
            if (i >= len && v >= 0 && !tg->lengths)
                return nn_fail(err, NN_ERR_DATA, "%s: row %lld: label %g after the padding at "
                               "position %lld (pad only at the end, with -1)", where,
                               (long long)r, v, (long long)len);
            if (i >= len)
                continue;
            if (v != floorf(v) || v >= (float)C)
                return nn_fail(err, NN_ERR_DATA, "%s: row %lld position %lld: label %g is not "
                               "a class id in [0, %lld)", where, (long long)r, (long long)i, v,
                               (long long)C);
            if ((int64_t)v == t->settings.blank)
                return nn_fail(err, NN_ERR_DATA, "%s: row %lld position %lld: label %g is the "
                               "blank", where, (long long)r, (long long)i, v);
            repeats += i > 0 && y[i - 1] == v;
        }
        const int64_t steps = row_steps(t, tg, r);
        if (len + repeats > steps && !t->settings.zero_infinity)
            return nn_fail(err, NN_ERR_DATA, "%s: row %lld: %lld labels (%lld repeated) need "
                           "at least %lld steps but the model outputs %lld%s (or set "
                           "zero_infinity: true)", where, (long long)r, (long long)len,
                           (long long)repeats, (long long)(len + repeats), (long long)steps,
                           tg->steps ? " for its x_lengths" : "");
    }
    return NN_OK;
}

double nni_ctc_eval(const loss_term *t, const float *out, const nn_targets *tg, int64_t rows,
                    float scale, float *dout, int accumulate)
{
    const int64_t C = t->settings.classes, T_out = ctc_steps(t), blank = t->settings.blank;
    const ctc_scratch s = scratch_of(t);
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = out + r * T_out * C;
        const int64_t T = row_steps(t, tg, r); /* padded steps cost nothing */
        for (int64_t step = 0; step < T; step++) {
            const float *xs = x + step * C;
            double max = xs[0], sum = 0;
            for (int64_t c = 1; c < C; c++)
                max = xs[c] > max ? xs[c] : max;
            for (int64_t c = 0; c < C; c++)
                sum += exp((double)xs[c] - max);
            const double log_z = max + log(sum);
            for (int64_t c = 0; c < C; c++)
                s.log_probs[step * C + c] = (double)xs[c] - log_z;
        }
        const int64_t len = target_length(tg, r), L = 2 * len + 1;
        for (int64_t i = 0; i < L; i++)
            s.ext[i] = i % 2 ? (int64_t)tg->values[r * tg->width + i / 2] : blank;
        const double *lp = s.log_probs;
        double *alpha = s.alpha, *beta = s.beta;
        /* a path may come from s, s - 1, and s - 2 when that skips a blank between two
         * different labels */
#define SKIP_OK(i) ((i) > 1 && s.ext[i] != blank && s.ext[i] != s.ext[(i) - 2])
        for (int64_t i = 0; i < L; i++)
            alpha[i] = i < 2 ? lp[s.ext[i]] : -INFINITY;
        for (int64_t step = 1; step < T; step++) {
            const double *prev = alpha + (step - 1) * L;
            double *cur = alpha + step * L;
            for (int64_t i = 0; i < L; i++) {
                double a = prev[i];
                if (i > 0)
                    a = log_add(a, prev[i - 1]);
                if (SKIP_OK(i))
                    a = log_add(a, prev[i - 2]);
                cur[i] = a + lp[step * C + s.ext[i]];
            }
        }
        const double *last = alpha + (T - 1) * L;
        const double log_p = L > 1 ? log_add(last[L - 1], last[L - 2]) : last[0];
        const double norm = 1.0 / (double)(len > 0 ? len : 1);
        const int impossible = !isfinite(log_p);
        if (impossible)
            total += t->settings.zero_infinity ? 0.0 : INFINITY;
        else
            total += -log_p * norm;
        if (!dout)
            continue;
        float *d = dout + r * T_out * C;
        for (int64_t k = (impossible ? 0 : T) * C; k < T_out * C; k++)
            d[k] = accumulate ? d[k] : 0.0f;
        if (impossible)
            continue;
        for (int64_t step = T - 1; step >= 0; step--) {
            double *cur = beta + step * L;
            for (int64_t i = 0; i < L; i++) {
                double b;
                if (step == T - 1) {
                    b = i >= L - 2 ? 0.0 : -INFINITY;
                } else {
                    const double *next = beta + (step + 1) * L;
                    b = next[i];
                    if (i + 1 < L)
                        b = log_add(b, next[i + 1]);
                    if (i + 2 < L && SKIP_OK(i + 2))
                        b = log_add(b, next[i + 2]);
                }
                cur[i] = b + lp[step * C + s.ext[i]];
            }
        }
#undef SKIP_OK
        for (int64_t step = 0; step < T; step++) {
            for (int64_t c = 0; c < C; c++)
                s.gamma[c] = -INFINITY;
            for (int64_t i = 0; i < L; i++)
                s.gamma[s.ext[i]] = log_add(s.gamma[s.ext[i]], alpha[step * L + i] +
                                                               beta[step * L + i]);
            for (int64_t c = 0; c < C; c++) {
                const double l = lp[step * C + c];
                const double g = exp(l) - exp(s.gamma[c] - log_p - l);
                const float v = (float)(scale * norm * g);
                d[step * C + c] = accumulate ? d[step * C + c] + v : v;
            }
        }
    }
    return total;
}

int64_t nni_ctc_decode(const loss_term *t, const float *out, int64_t steps, int32_t *labels)
{
    const int64_t C = t->settings.classes, blank = t->settings.blank;
    const int64_t T = steps > 0 && steps < ctc_steps(t) ? steps : ctc_steps(t);
    int64_t n = 0, previous = -1;
    for (int64_t step = 0; step < T; step++) {
        const float *xs = out + step * C;
        int64_t best = 0;
        for (int64_t c = 1; c < C; c++)
            if (xs[c] > xs[best])
                best = c;
        if (best != blank && best != previous)
            labels[n++] = (int32_t)best;
        previous = best;
    }
    return n;
}

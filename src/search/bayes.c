/* Bayesian optimization: search.trials configurations, the first search.initial drawn at
 * random (the random method's stream), the others chosen by the expected improvement of a
 * Gaussian process (search/gp.c, the surrogate --predict fits) over the configurations
 * that finished, each configuration's metric being the mean over its repeats.
 *
 * What is deterministic. Configurations after the initial ones come in batches of
 * search.batch (default 1); batch b is decided once every configuration before it has
 * finished or failed, from their results alone, and its configurations are chosen one after
 * the other, each counting the ones chosen before it as observed at the surrogate's mean
 * ("kriging believer"). So the values of every trial are a function of the seed and of the
 * results of the trials before its batch: the same whatever the number of groups, the
 * order in which results come back, and in a search resumed from its journal (which
 * replays the same results, written with 17 digits). Groups that would run ahead of an
 * undecided batch wait; with G groups, batch: G keeps them all busy. Rank 0 decides; the
 * values reach the group that trains them with its assignment.
 *
 * Candidates: 1000 draws per configuration from the stream (seed, NNI_RNG_SEARCH, 1 + i, c,
 * p), so proposals lie inside the bounds, on the log scale of log-uniform parameters, are
 * integers for int_uniform and multiples of q for q_*; the one with the highest expected
 * improvement wins (ties: the first drawn). Features: a bounded parameter maps its range
 * (its logarithm's for log-uniform) to [0, 1], normal ones (v - mu) / 6 sigma + 1/2, then
 * scaled by sqrt(12); a list of numbers is a number (its logarithm when positive and
 * spanning a factor 10), any other list one-hot at distance 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "search/gp.h"
#include "search/method.h"

#define CANDIDATES 1000
#define TEXT SEARCH_VALUE_TEXT
#define SQRT_HALF 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
/* Numbers are scaled to the spread of standardized features (a uniform draw on [0, 1] has
 * standard deviation 1 / sqrt(12)), the scale gp.c's length-scale grid is made for. */
#define SPREAD 3.46410161513775458705

typedef struct nni_search_proposals nni_search_proposals;

struct nni_search_proposals {
    int initial, batch;
    int *decided;      /* per configuration */
    int *index;        /* n_configs x n_params: a listed value's index, or -1 */
    char (*text)[TEXT]; /* n_configs x n_params: the value when index is -1 */
};

void nni_search_proposals_free(struct nni_search_proposals *proposals)
{
    if (!proposals)
        return;
    free(proposals->decided);
    free(proposals->index);
    free(proposals->text);
    free(proposals);
}

int nni_search_decides_values(const nn_search *s)
{
    return s->proposals != NULL;
}

void nni_search_proposals_install(const nn_search *s, int64_t c, const int *index,
                                  const char (*text)[SEARCH_VALUE_TEXT])
{
    nni_search_proposals *pr = s->proposals;
    if (!pr || c <= pr->initial || c > s->n_configs)
        return; /* drawn from the stream on every rank */
    for (int p = 0; p < s->n_params; p++) {
        pr->index[(c - 1) * s->n_params + p] = index[p];
        memcpy(pr->text[(c - 1) * s->n_params + p], text[p], TEXT);
        pr->text[(c - 1) * s->n_params + p][TEXT - 1] = '\0';
    }
    pr->decided[c - 1] = 1;
}

/* ---- features ---------------------------------------------------------------------------- */

static int parse_number(const char *text, double *out)
{
    char *end = NULL;
    *out = strtod(text, &end);
    return end != text && *end == '\0' && isfinite(*out);
}

/* A list of numbers: its range (log10 when positive and spanning a factor 10); 0 when some
 * value is not a number (one-hot). */
static int numeric_list(const nni_search_param *sp, double *lo, double *hi, int *log_scale)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < sp->n_values; i++) {
        const nn_cfg *v = nn_cfg_at(sp->values, i);
        double x;
        if (nn_cfg_kind_of(v) != NN_CFG_SCALAR || !parse_number(nn_cfg_scalar(v), &x))
            return 0;
        *lo = x < *lo ? x : *lo;
        *hi = x > *hi ? x : *hi;
    }
    *log_scale = *lo > 0 && *hi >= 10 * *lo;
    if (*log_scale) {
        *lo = log10(*lo);
        *hi = log10(*hi);
    }
    return 1;
}

static int feature_width(const nni_search_param *sp)
{
    double lo, hi;
    int log_scale;
    if (sp->kind == PARAM_VALUES && !numeric_list(sp, &lo, &hi, &log_scale))
        return sp->n_values;
    return 1;
}

static int feature_count(const nn_search *s)
{
    int d = 0;
    for (int p = 0; p < s->n_params; p++)
        d += feature_width(&s->params[p]);
    return d;
}

/* Writes parameter p's features (index: a listed value's, or -1 and text). */
static double *encode_param(const nni_search_param *sp, int index, const char *text, double *x)
{
    double v = 0, lo, hi;
    int log_scale;
    if (sp->kind == PARAM_VALUES) {
        if (!numeric_list(sp, &lo, &hi, &log_scale)) {
            for (int i = 0; i < sp->n_values; i++)
                x[i] = i == index ? SQRT_HALF : 0;
            return x + sp->n_values;
        }
        parse_number(nn_cfg_scalar(nn_cfg_at(sp->values, index)), &v);
        if (log_scale)
            v = log10(v);
        x[0] = SPREAD * (hi > lo ? (v - lo) / (hi - lo) : 0.5);
        return x + 1;
    }
    parse_number(text, &v);
    switch (sp->kind) {
    case PARAM_LOG_UNIFORM:
        x[0] = (log(v > 0 ? v : sp->min) - log(sp->min)) / (log(sp->max) - log(sp->min));
        break;
    case PARAM_NORMAL:
        x[0] = 0.5 + (v - sp->mu) / (6 * sp->sigma);
        break;
    default:
        x[0] = sp->max > sp->min ? (v - sp->min) / (sp->max - sp->min) : 0.5;
        break;
    }
    x[0] *= SPREAD;
    return x + 1;
}

/* Configuration c's features from its values (1 when every value is known). */
static int encode_config(const nn_search *s, int64_t c, double *x)
{
    for (int p = 0; p < s->n_params; p++) {
        char text[TEXT];
        int index = s->method->value(s, p, c, text, sizeof text);
        if (index == SEARCH_UNDECIDED)
            return 0;
        x = encode_param(&s->params[p], index, text, x);
    }
    return 1;
}

/* ---- expected improvement ------------------------------------------------------------------ */

static double expected_improvement(double mean, double sd, double best, int maximize)
{
    double gain = maximize ? mean - best : best - mean;
    if (!(sd > 1e-12))
        return gain > 0 ? gain : 0;
    double z = gain / sd;
    return gain * 0.5 * erfc(-z * SQRT_HALF) + sd * exp(-0.5 * z * z) * INV_SQRT_2PI;
}

/* Chooses configuration c's values: the candidate of highest expected improvement under
 * the surrogate fitted to (x, y); returns its features in chosen_x. */
static void choose(const nn_search *s, int64_t c, const nni_gp *gp, double best, double *work,
                   double *chosen_x)
{
    nni_search_proposals *pr = s->proposals;
    const int np = s->n_params, d = feature_count(s);
    double best_ei = -1;
    int index[SEARCH_MAX_DECIDED];
    char text[SEARCH_MAX_DECIDED][TEXT];
    for (int i = 0; i < CANDIDATES; i++) {
        double *x = work;
        for (int p = 0; p < np; p++) {
            nni_rng rng = nni_rng_stream(s->seed, NNI_RNG_SEARCH, 1 + (uint32_t)i, (uint64_t)c,
                                         (uint32_t)p);
            index[p] = nni_search_draw(&s->params[p], &rng, text[p], TEXT);
            x = encode_param(&s->params[p], index[p], text[p], x);
        }
        double mean, sd;
        nni_gp_predict(gp, work, &mean, &sd);
        double ei = expected_improvement(mean, sd, best, s->maximize);
        if (ei > best_ei) {
            best_ei = ei;
            for (int p = 0; p < np; p++) {
                pr->index[(c - 1) * np + p] = index[p];
                memcpy(pr->text[(c - 1) * np + p], text[p], TEXT);
            }
            memcpy(chosen_x, work, (size_t)d * sizeof *work);
        }
    }
}

/* The values of configurations first..last, from the finished configurations before them. */
static void decide_batch(const nni_trial_table *table, int first, int last)
{
    const nn_search *s = table->search;
    nni_search_proposals *pr = s->proposals;
    const int np = s->n_params, d = feature_count(s);
    const int cap = last; /* the observed configurations and the batch's believed ones */
    double *x = malloc((size_t)cap * (size_t)d * sizeof *x);
    double *y = malloc((size_t)cap * sizeof *y);
    double *work = malloc((size_t)d * sizeof *work);
    int n = 0, have_best = 0;
    double best = 0;
    for (int c = 1; x && y && work && c < first; c++) {
        nni_mean_interval m = nni_trials_config_interval(table, c);
        if (m.n == 0 || !encode_config(s, c, x + (size_t)n * d))
            continue;
        y[n++] = m.mean;
        if (!have_best || nni_search_better(m.mean, best, s->maximize))
            best = m.mean;
        have_best = 1;
    }
    for (int c = first; c <= last; c++) {
        nni_gp *gp = NULL;
        nn_error ignored = {0};
        if (n > 0 && work && nni_gp_fit(x, y, n, d, &gp, &ignored) == NN_OK) {
            choose(s, c, gp, best, work, x + (size_t)n * d);
            double mean, sd;
            nni_gp_predict(gp, x + (size_t)n * d, &mean, &sd);
            y[n++] = mean; /* believed until its result comes */
            nni_gp_free(gp);
        } else { /* nothing finished (or out of memory): a draw as the random method's */
            for (int p = 0; p < np; p++)
                pr->index[(c - 1) * np + p] =
                    nni_search_random_value(s, p, c, pr->text[(c - 1) * np + p], TEXT);
        }
        pr->decided[c - 1] = 1;
    }
    free(x);
    free(y);
    free(work);
}

static int decided(const nn_search *s, int64_t c)
{
    return c <= s->proposals->initial || c > s->n_configs || s->proposals->decided[c - 1];
}

static void bayes_propose(nni_trial_table *table)
{
    const nn_search *s = table->search;
    const nni_search_proposals *pr = s->proposals;
    int resolved_before = 1; /* every configuration before `first` finished or failed */
    int checked = 0;
    for (int first = pr->initial + 1; first <= s->n_configs; first += pr->batch) {
        for (; checked < first - 1 && resolved_before; checked++)
            resolved_before = nni_trials_config_resolved(table, checked + 1);
        if (!resolved_before)
            return;
        if (!pr->decided[first - 1]) {
            int last = first + pr->batch - 1;
            decide_batch(table, first, last < s->n_configs ? last : s->n_configs);
        }
    }
}

/* ---- the method's row ------------------------------------------------------------------- */

static int bayes_value(const nn_search *s, int p, int64_t c, char *text, size_t size)
{
    const nni_search_proposals *pr = s->proposals;
    if (c <= pr->initial || c > s->n_configs)
        return nni_search_random_value(s, p, c, text, size);
    if (!pr->decided[c - 1])
        return SEARCH_UNDECIDED;
    int index = pr->index[(c - 1) * s->n_params + p];
    if (index < 0)
        snprintf(text, size, "%s", pr->text[(c - 1) * s->n_params + p]);
    return index;
}

/* The lowest pending trial whose values are decided; 0 while an undecided batch waits for
 * trials that are running. */
static int bayes_next(const nni_trial_table *table, int *trial, int *rung)
{
    const nn_search *s = table->search;
    int waiting = 0;
    for (int i = 0; i < table->n; i++) {
        const nni_trial_record *r = &table->t[i];
        if (r->state != TRIAL_PENDING && r->state != TRIAL_STARTED)
            continue;
        if (decided(s, nni_search_config_of(s, i + 1))) {
            *trial = i + 1;
            *rung = 0;
            return 1;
        }
        waiting = 1;
    }
    return waiting && nni_trials_any_running(table) ? 0 : -1;
}

static nn_status bayes_parse(nn_search *s, const nn_cfg *section, nn_error *err)
{
    nn_status st = nni_search_random_count(s, section, err);
    if (st)
        return st;
    int64_t initial = 2 * s->n_params < 3 ? 3 : 2 * s->n_params, batch = 1;
    if (initial > s->n_trials)
        initial = s->n_trials;
    if ((st = nn_cfg_read_int(section, "initial", initial, &initial, err)) ||
        (st = nn_cfg_read_int(section, "batch", 1, &batch, err)))
        return st;
    if (initial < 1 || initial > s->n_trials)
        return nn_cfg_fail(err, nn_cfg_get(section, "initial"), "must be in [1, trials] (%d)",
                           s->n_trials);
    if (batch < 1 || batch > s->n_trials)
        return nn_cfg_fail(err, nn_cfg_get(section, "batch"), "must be in [1, trials] (%d)",
                           s->n_trials);
    if (s->n_params > SEARCH_MAX_DECIDED)
        return nn_cfg_fail(err, nn_cfg_get(section, "parameters"), "bayes searches at most %d "
                           "parameters", SEARCH_MAX_DECIDED);
    nni_search_proposals *pr = calloc(1, sizeof *pr);
    if (pr) {
        pr->decided = calloc((size_t)s->n_trials, sizeof *pr->decided);
        pr->index = calloc((size_t)s->n_trials * (size_t)s->n_params, sizeof *pr->index);
        pr->text = calloc((size_t)s->n_trials * (size_t)s->n_params, sizeof *pr->text);
    }
    s->proposals = pr;
    if (!pr || !pr->decided || !pr->index || !pr->text)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    pr->initial = (int)initial;
    pr->batch = (int)batch;
    nni_search_single_rung(s);
    return NN_OK;
}

static void bayes_describe_plan(const nn_search *s, FILE *out)
{
    const nni_search_proposals *pr = s->proposals;
    fprintf(out, "bayes: the first %d configuration%s drawn at random, then batches of %d "
            "chosen by expected improvement of a Gaussian process over the finished ones "
            "(a batch once every configuration before it has finished)\n", pr->initial,
            pr->initial == 1 ? "" : "s", pr->batch);
}

static const char *const bayes_keys[] = {"trials", "initial", "batch", NULL};

const nni_search_method nni_search_method_bayes = {
    .name = "bayes",
    .help = "search.trials configurations by a Gaussian process's expected improvement",
    .keys = bayes_keys,
    .parse = bayes_parse,
    .value = bayes_value,
    .propose = bayes_propose,
    .next = bayes_next,
    .describe_plan = bayes_describe_plan,
};

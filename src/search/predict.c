/* Predictions for configurations not yet run (nntrain search --predict DIR): a Gaussian
 * process fitted to the finished trials of a grid or random search.
 *
 * Encoding: a numeric parameter is one feature (log10 for log_uniform, and for value lists
 * of positive numbers spanning a factor of 10 or more, such as learning rates), standardized
 * over the finished trials; any other parameter is one-hot over its values, scaled so two
 * different values are at distance 1. The kernel is exp(-|a - b|^2 / (2 l^2)) on standardized
 * targets (search/gp.c).
 *
 * Candidates: the grid points and random draws not yet run, and, for a grid, the points
 * between its values (the midpoint of each pair of neighbouring numeric values, geometric
 * for log-scaled ones) combined with every value of the other parameters; for a random
 * search, the next draws of the same stream past the trials budget. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/directory.h"
#include "search/gp.h"
#include "search/method.h"
#include "search/report.h"

#define TEXT 128
#define SQRT_HALF 0.70710678118654752440
#define MAX_CANDIDATES 5000
#define MAX_FIT 400

/* ---- encoding parameters ------------------------------------------------------------- */

typedef enum feature_kind { FEATURE_NUMBER, FEATURE_LOG, FEATURE_ONE_HOT } feature_kind;

typedef struct encoding {
    feature_kind kind;
    int offset, width;
    double mean, sd;
    char (*categories)[TEXT];
    int n_categories;
} encoding;

static int parse_number(const char *text, double *out)
{
    char *end = NULL;
    *out = strtod(text, &end);
    return end != text && *end == '\0' && isfinite(*out);
}

static double feature_value(const encoding *e, const char *text)
{
    double v = 0;
    parse_number(text, &v);
    if (e->kind == FEATURE_LOG)
        v = v > 0 ? log10(v) : -30;
    return v;
}

static nn_status plan_encoding(const nn_search *s, encoding *enc, int *n_features, nn_error *err)
{
    int offset = 0;
    for (int p = 0; p < s->n_params; p++) {
        const nni_search_param *sp = &s->params[p];
        encoding *e = &enc[p];
        e->offset = offset;
        e->width = 1;
        if (sp->kind == PARAM_LOG_UNIFORM) {
            e->kind = FEATURE_LOG;
        } else if (sp->kind != PARAM_VALUES) {
            e->kind = FEATURE_NUMBER;
        } else {
            e->categories = calloc((size_t)sp->n_values, sizeof *e->categories);
            if (!e->categories)
                return nn_fail(err, NN_ERR_OTHER, "out of memory");
            int numeric = 1;
            double lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < sp->n_values; i++) {
                nni_search_flow_text(nn_cfg_at(sp->values, i), e->categories[i], TEXT);
                double v;
                if (parse_number(e->categories[i], &v)) {
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                } else {
                    numeric = 0;
                }
            }
            e->n_categories = sp->n_values;
            if (numeric && sp->n_values > 1)
                e->kind = lo > 0 && hi / lo >= 10 ? FEATURE_LOG : FEATURE_NUMBER;
            else {
                e->kind = FEATURE_ONE_HOT;
                e->width = sp->n_values;
            }
        }
        offset += e->width;
    }
    *n_features = offset;
    return NN_OK;
}

static void encode(const nn_search *s, const encoding *enc, char (*texts)[TEXT], double *x)
{
    for (int p = 0; p < s->n_params; p++) {
        const encoding *e = &enc[p];
        if (e->kind == FEATURE_ONE_HOT) {
            for (int c = 0; c < e->n_categories; c++)
                x[e->offset + c] = strcmp(texts[p], e->categories[c]) ? 0 : SQRT_HALF;
        } else {
            x[e->offset] = (feature_value(e, texts[p]) - e->mean) / e->sd;
        }
    }
}

static void standardize(const nn_search *s, encoding *enc, char (*texts)[TEXT], int n)
{
    for (int p = 0; p < s->n_params; p++) {
        encoding *e = &enc[p];
        if (e->kind == FEATURE_ONE_HOT)
            continue;
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++)
            mean += feature_value(e, texts[(size_t)i * s->n_params + p]) / n;
        for (int i = 0; i < n; i++) {
            double dv = feature_value(e, texts[(size_t)i * s->n_params + p]) - mean;
            var += dv * dv / n;
        }
        e->mean = mean;
        e->sd = var > 0 ? sqrt(var) : 1;
    }
}

/* ---- candidates -------------------------------------------------------------------------- */

typedef struct candidates {
    int n, cap, n_params;
    char (*texts)[TEXT]; /* n x n_params */
    char (*source)[48];
    double *mean, *sd;
} candidates;

static char (*add_candidate(candidates *c, const char *source))[TEXT]
{
    if (c->n == c->cap)
        return NULL;
    snprintf(c->source[c->n], sizeof c->source[c->n], "%s", source);
    return c->texts + (size_t)c->n++ * c->n_params;
}

/* The search's own configurations that did not run (or did not finish), once decided. */
static void add_trials_not_run(const nn_search *s, const nni_trial_table *table, candidates *c)
{
    char source[48];
    for (int k = 1; k <= s->n_configs; k++) {
        int done = 0;
        for (int j = 0; j < s->repeats; j++) {
            trial_state st = table->t[(k - 1) * s->repeats + j].state;
            done |= st == TRIAL_FINISHED || st == TRIAL_FAILED;
        }
        int first = (k - 1) * s->repeats + 1;
        if (done || !nni_search_trial_decided(s, first))
            continue;
        snprintf(source, sizeof source, "%s %d (%s)", s->repeats > 1 ? "configuration" : "trial",
                 k, nni_trials_state_name(table->t[first - 1].state));
        char (*texts)[TEXT] = add_candidate(c, source);
        for (int p = 0; texts && p < s->n_params; p++)
            nni_search_config_param_text(s, p, k, texts[p], TEXT);
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A parameter's values (first, in their order) followed by the points between neighbours
 * (numeric values only); returns how many texts out received. */
static int refined_values(const nn_search *s, const encoding *e, int p, char (*out)[TEXT],
                          int cap)
{
    const nni_search_param *sp = &s->params[p];
    int n = 0;
    for (int i = 0; i < sp->n_values && n < cap; i++)
        nni_search_flow_text(nn_cfg_at(sp->values, i), out[n++], TEXT);
    if (e->kind == FEATURE_ONE_HOT || sp->n_values < 2)
        return n;
    double *sorted = malloc((size_t)sp->n_values * sizeof *sorted);
    if (!sorted)
        return n;
    int integers = 1; /* written as integers: the points between are integers too */
    for (int i = 0; i < sp->n_values; i++) {
        parse_number(out[i], &sorted[i]);
        integers &= !strpbrk(out[i], ".eE") && floor(sorted[i]) == sorted[i];
    }
    qsort(sorted, (size_t)sp->n_values, sizeof *sorted, compare_doubles);
    for (int i = 0; i + 1 < sp->n_values && n < cap; i++) {
        if (sorted[i] == sorted[i + 1])
            continue;
        double mid = e->kind == FEATURE_LOG ? sqrt(sorted[i] * sorted[i + 1])
                                            : 0.5 * (sorted[i] + sorted[i + 1]);
        if (integers) {
            mid = floor(mid + 0.5);
            if (mid == sorted[i] || mid == sorted[i + 1])
                continue;
            snprintf(out[n++], TEXT, "%.0f", mid);
        } else {
            snprintf(out[n++], TEXT, "%.6g", mid);
        }
    }
    free(sorted);
    return n;
}

static void grid_candidates(const nn_search *s, const nni_trial_table *table, const encoding *enc,
                            candidates *c)
{
    const int np = s->n_params;
    int *count = calloc((size_t)np, sizeof *count);
    int *index = calloc((size_t)np, sizeof *index);
    char (*values)[32][TEXT] = calloc((size_t)np, sizeof *values);
    if (!count || !index || !values) {
        free(count);
        free(index);
        free(values);
        return;
    }
    long long total = 1;
    for (int p = 0; p < np; p++) {
        count[p] = refined_values(s, &enc[p], p, values[p], 32);
        total *= count[p];
        if (total > MAX_CANDIDATES)
            total = MAX_CANDIDATES + 1;
    }
    add_trials_not_run(s, table, c);
    if (total <= MAX_CANDIDATES) {
        /* Every combination that uses at least one in-between value. */
        for (long long i = 0; i < total; i++) {
            long long rest = i;
            int novel = 0;
            for (int p = np - 1; p >= 0; p--) {
                index[p] = (int)(rest % count[p]);
                rest /= count[p];
                novel |= index[p] >= s->params[p].n_values;
            }
            if (!novel)
                continue;
            char (*texts)[TEXT] = add_candidate(c, "between grid points");
            for (int p = 0; texts && p < np; p++)
                memcpy(texts[p], values[p][index[p]], TEXT);
        }
    } else {
        /* Too many: vary one parameter at a time around the best trial. */
        int best = nni_trials_best(table);
        for (int p = 0; best && p < np; p++)
            for (int v = s->params[p].n_values; v < count[p]; v++) {
                char (*texts)[TEXT] = add_candidate(c, "near the best trial");
                for (int q = 0; texts && q < np; q++) {
                    if (q == p)
                        memcpy(texts[q], values[p][v], TEXT);
                    else
                        nni_search_param_text(s, q, best, texts[q], TEXT);
                }
            }
    }
    free(count);
    free(index);
    free(values);
}

static void random_candidates(const nn_search *s, const nni_trial_table *table, candidates *c)
{
    add_trials_not_run(s, table, c);
    char source[48];
    int extra = 4 * s->n_configs < 50 ? 50 : 4 * s->n_configs;
    if (extra > 1000)
        extra = 1000;
    for (int k = s->n_configs + 1; k <= s->n_configs + extra; k++) {
        snprintf(source, sizeof source, "draw %d", k);
        char (*texts)[TEXT] = add_candidate(c, source);
        for (int p = 0; texts && p < s->n_params; p++)
            nni_search_config_param_text(s, p, k, texts[p], TEXT);
    }
}

/* ---- --predict ---------------------------------------------------------------------------- */

static const candidates *sorting;
static int sorting_maximize;

static int compare_predictions(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    double ma = sorting->mean[a], mb = sorting->mean[b];
    if (ma != mb)
        return (sorting_maximize ? ma > mb : ma < mb) ? -1 : 1;
    return a - b;
}

static int compare_fit_rows(const void *pa, const void *pb)
{
    const double *a = pa, *b = pb; /* {metric, trial} */
    if (a[0] != b[0])
        return (sorting_maximize ? a[0] > b[0] : a[0] < b[0]) ? -1 : 1;
    return a[1] < b[1] ? -1 : 1;
}

static nn_status predict(const nn_search *s, const nni_trial_table *table, int top, FILE *out,
                         nn_error *err)
{
    const int np = s->n_params;
    /* The finished trials (the best MAX_FIT of them). */
    double (*rows)[2] = malloc((size_t)(table->n ? table->n : 1) * sizeof *rows);
    if (!rows)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    int n = 0;
    for (int k = 1; k <= table->n; k++) {
        double m = nni_trials_metric(table, k, NULL, NULL);
        if (table->t[k - 1].state == TRIAL_FINISHED && isfinite(m)) {
            rows[n][0] = m;
            rows[n++][1] = k;
        }
    }
    sorting_maximize = s->maximize;
    if (n > MAX_FIT) {
        qsort(rows, (size_t)n, sizeof *rows, compare_fit_rows);
        n = MAX_FIT;
    }
    if (n < 3) {
        free(rows);
        return nn_fail(err, NN_ERR_CONFIG, "--predict: %s has %d finished trial%s; the "
                       "surrogate needs at least 3", s->dir, n, n == 1 ? "" : "s");
    }
    encoding *enc = calloc((size_t)np, sizeof *enc);
    char (*texts)[TEXT] = malloc((size_t)n * (size_t)np * sizeof *texts);
    double *y = malloc((size_t)n * sizeof *y);
    candidates c = {.cap = MAX_CANDIDATES + table->n, .n_params = np};
    c.texts = malloc((size_t)c.cap * (size_t)np * sizeof *c.texts);
    c.source = malloc((size_t)c.cap * sizeof *c.source);
    c.mean = malloc((size_t)c.cap * sizeof *c.mean);
    c.sd = malloc((size_t)c.cap * sizeof *c.sd);
    int d = 0;
    nn_status st = NN_OK;
    nni_gp *gp = NULL;
    double *x = NULL;
    int *order = NULL;
    if (!enc || !texts || !y || !c.texts || !c.source || !c.mean || !c.sd) {
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
        goto done;
    }
    if ((st = plan_encoding(s, enc, &d, err)))
        goto done;
    for (int i = 0; i < n; i++) {
        y[i] = rows[i][0];
        for (int p = 0; p < np; p++)
            nni_search_param_text(s, p, (int)rows[i][1], texts[(size_t)i * np + p], TEXT);
    }
    standardize(s, enc, texts, n);
    x = malloc((size_t)(n > 1 ? n : 1) * (size_t)d * sizeof *x);
    if (!x) {
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        encode(s, enc, texts + (size_t)i * np, x + (size_t)i * d);
    if ((st = nni_gp_fit(x, y, n, d, &gp, err)))
        goto done;
    if (s->random_draws)
        random_candidates(s, table, &c);
    else
        grid_candidates(s, table, enc, &c);

    fprintf(out, "surrogate: Gaussian process on %d finished trial%s of %s; features:", n,
            n == 1 ? "" : "s", s->dir);
    static const char *const kinds[] = {"", " (log10)", " (one-hot)"};
    for (int p = 0; p < np; p++)
        fprintf(out, "%s %s%s", p ? "," : "", s->params[p].path, kinds[enc[p].kind]);
    fprintf(out, "\nlength scale %.3g, leave-one-out RMSE %.4g (%s)\n", nni_gp_length_scale(gp),
            nni_gp_loo_rmse(gp), s->metric);
    if (c.n == 0) {
        fprintf(out, "no configurations left to predict\n");
        goto done;
    }
    double *point = malloc((size_t)d * sizeof *point);
    order = malloc((size_t)c.n * sizeof *order);
    if (!point || !order) {
        free(point);
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
        goto done;
    }
    for (int i = 0; i < c.n; i++) {
        encode(s, enc, c.texts + (size_t)i * np, point);
        nni_gp_predict(gp, point, &c.mean[i], &c.sd[i]);
        order[i] = i;
    }
    free(point);
    sorting = &c;
    qsort(order, (size_t)c.n, sizeof *order, compare_predictions);
    sorting = NULL;
    int shown = top > 0 && top < c.n ? top : c.n;
    fprintf(out, "predicted %s for the %d best of %d configuration%s not yet run:\n", s->metric,
            shown, c.n, c.n == 1 ? "" : "s");
    nni_text_table t = {0};
    if (!nni_text_table_alloc(&t, shown + 1, 4 + np)) {
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
        goto done;
    }
    static const char *const heads[] = {"rank", "predicted", "sd", "source"};
    for (int col = 0; col < 4 + np; col++)
        nni_text_table_set(&t, 0, col, col < 4 ? heads[col] : s->params[col - 4].path);
    char cell[64];
    for (int r = 0; r < shown; r++) {
        int i = order[r];
        snprintf(cell, sizeof cell, "%d", r + 1);
        nni_text_table_set(&t, r + 1, 0, cell);
        snprintf(cell, sizeof cell, "%.4f", c.mean[i]);
        nni_text_table_set(&t, r + 1, 1, cell);
        snprintf(cell, sizeof cell, "%.4f", c.sd[i]);
        nni_text_table_set(&t, r + 1, 2, cell);
        nni_text_table_set(&t, r + 1, 3, c.source[i]);
        for (int p = 0; p < np; p++)
            nni_text_table_set(&t, r + 1, 4 + p, c.texts[(size_t)i * np + p]);
    }
    nni_text_table_print(&t, 3, out);
    nni_text_table_free(&t);
done:
    for (int p = 0; enc && p < np; p++)
        free(enc[p].categories);
    free(enc);
    free(texts);
    free(y);
    free(x);
    free(rows);
    free(order);
    free(c.texts);
    free(c.source);
    free(c.mean);
    free(c.sd);
    nni_gp_free(gp);
    fflush(out);
    return st;
}

static int predicts(const nni_search_method *m, const void *ignored)
{
    (void)ignored;
    return m->no_prediction == NULL;
}

nn_status nn_search_print_predictions(const char *dir, int top, FILE *out, nn_error *err)
{
    nn_search *s = NULL;
    nni_trial_table table;
    nn_status st = nni_search_load_dir(dir, &s, &table, err);
    if (st)
        return st;
    char methods[256];
    nni_search_method_list(predicts, NULL, methods, sizeof methods);
    if (s->method->no_prediction)
        st = nn_fail(err, NN_ERR_CONFIG, "--predict: %s is a %s search, %s; predictions need a "
                     "%s search", dir, s->method->name, s->method->no_prediction, methods);
    else
        st = predict(s, &table, top, out, err);
    nni_trials_free(&table);
    nn_search_free(s);
    return st;
}

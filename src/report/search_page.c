/* The page of a hyperparameter search (see nn/report.h), from its directory: trials.csv
 * (trial, the parameters, status, the metric, best_epoch, epochs, seconds, group, reason),
 * search.yaml (the metric's goal and which parameters are drawn on a log scale), each
 * trial's run directory (trial-NNN/metrics.csv) for the curves, and the surrogate's
 * predictions for a grid or random search (nn_search_print_predictions). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/config.h"
#include "nn/search.h"
#include "report/pages.h"
#include "report/svg_plot.h"
#include "search/interval.h"

enum { MAX_PARAMS = 32, BEST_CURVES = 5 };

typedef struct search_view {
    const char *dir;
    nni_csv_table t;
    int n_params, first_param;   /* the parameter columns follow "trial" */
    int status_col, metric_col, epochs_col, reason_col;
    const char *metric;
    int maximize;
    int log_param[MAX_PARAMS];
    int *order; /* trial rows, best first; rows without a metric last */
    /* the surrogate's predictions (nntrain search --predict) for configurations not yet
     * run: predicted metric, and per parameter the value (NaN when not a number) */
    int n_predicted;
    double *predicted;       /* n_predicted */
    double *predicted_param; /* n_predicted x n_params */
} search_view;

static const char *status_of(const search_view *v, int row)
{
    return nni_csv_cell(&v->t, row, v->status_col);
}

static double metric_of(const search_view *v, int row)
{
    return nni_csv_number(&v->t, row, v->metric_col);
}

/* Row a before row b in the leaderboard: better metric first, rows without one last, then
 * trial order. */
static int ranks_before(const search_view *v, int a, int b)
{
    double va = metric_of(v, a), vb = metric_of(v, b);
    if (isnan(va) != isnan(vb))
        return !isnan(va);
    if (!isnan(va) && va != vb)
        return v->maximize ? va > vb : va < vb;
    return a < b;
}

/* search.yaml: the goal and the log-scaled parameters; without it the goal follows the
 * metric's name (accuracy up, losses down). */
static void read_search_config(search_view *v)
{
    v->maximize = strstr(v->metric, "acc") != NULL;
    char path[1100];
    snprintf(path, sizeof path, "%s/search.yaml", v->dir);
    nn_cfg *cfg = NULL;
    nn_error ignored = {0};
    if (nn_cfg_load_file(path, &cfg, &ignored))
        return;
    const nn_cfg *search = nn_cfg_get(cfg, "search");
    const nn_cfg *metric = nn_cfg_get(search, "metric");
    const char *goal = nn_cfg_scalar(nn_cfg_get(metric, "goal"));
    if (goal)
        v->maximize = strcmp(goal, "maximize") == 0;
    const nn_cfg *params = nn_cfg_get(search, "parameters");
    for (int p = 0; p < v->n_params && p < MAX_PARAMS; p++) {
        const nn_cfg *spec = nn_cfg_get(params, v->t.head[v->first_param + p]);
        const char *dist = nn_cfg_scalar(nn_cfg_get(spec, "distribution"));
        v->log_param[p] = dist && strstr(dist, "log") != NULL;
    }
    nn_cfg_free(cfg);
}

static int param_is_numeric(const search_view *v, int p)
{
    int any = 0;
    for (int r = 0; r < v->t.rows; r++) {
        const char *cell = nni_csv_cell(&v->t, r, v->first_param + p);
        if (!cell[0])
            continue;
        if (isnan(nni_csv_number(&v->t, r, v->first_param + p)))
            return 0;
        any = 1;
    }
    return any;
}

/* Columns of one line of the predictions table, split where two or more spaces are (the
 * source column holds single spaces: "between grid points"). Returns the count. */
static int split_columns(char *line, char **cells, int max)
{
    int n = 0;
    char *c = line;
    while (*c == ' ')
        c++;
    while (*c && n < max) {
        cells[n++] = c;
        char *gap = strstr(c, "  ");
        if (!gap)
            break;
        *gap = '\0';
        c = gap + 2;
        while (*c == ' ')
            c++;
    }
    return n;
}

/* The surrogate's table as `nntrain search --predict` prints it: a header line
 * "rank  predicted  sd  source  PARAM...", then one row per configuration. A search the
 * surrogate cannot model (halving, too few trials) has none. */
static void load_predictions(search_view *v)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    nn_error ignored = {0};
    int ok = f && !nn_search_print_predictions(v->dir, 200, f, &ignored);
    if (f)
        fclose(f);
    int param_of_column[MAX_PARAMS + 4];
    int columns = 0, in_table = 0;
    for (char *line = ok && text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char *cells[MAX_PARAMS + 4];
        int n = split_columns(line, cells, MAX_PARAMS + 4);
        if (!in_table) {
            if (n < 4 || strcmp(cells[0], "rank") != 0 || strcmp(cells[1], "predicted") != 0)
                continue;
            in_table = 1;
            columns = n;
            for (int c = 4; c < n; c++) {
                param_of_column[c] = -1;
                for (int p = 0; p < v->n_params; p++)
                    if (strcmp(cells[c], v->t.head[v->first_param + p]) == 0)
                        param_of_column[c] = p;
            }
            v->predicted = malloc(200 * sizeof *v->predicted);
            v->predicted_param = malloc(200 * (size_t)(v->n_params ? v->n_params : 1) *
                                        sizeof *v->predicted_param);
            if (!v->predicted || !v->predicted_param)
                break;
            continue;
        }
        if (n != columns || v->n_predicted >= 200)
            break;
        int k = v->n_predicted++;
        v->predicted[k] = strtod(cells[1], NULL);
        for (int p = 0; p < v->n_params; p++)
            v->predicted_param[k * v->n_params + p] = NAN;
        for (int c = 4; c < n; c++)
            if (param_of_column[c] >= 0) {
                char *end;
                double value = strtod(cells[c], &end);
                v->predicted_param[k * v->n_params + param_of_column[c]] =
                    end != cells[c] && !*end ? value : NAN;
            }
    }
    free(text);
}

/* ---- leaderboard ------------------------------------------------------------------------ */

static void leaderboard_section(nni_page *page, const search_view *v)
{
    nni_text *h = &page->html;
    int finished = 0, failed = 0, pruned = 0;
    for (int r = 0; r < v->t.rows; r++) {
        finished += strcmp(status_of(v, r), "finished") == 0;
        failed += strcmp(status_of(v, r), "failed") == 0;
        pruned += strcmp(status_of(v, r), "pruned") == 0;
    }
    nni_page_section(page, "leaderboard", "Leaderboard");
    nni_page_note(page, "%d trials: %d finished, %d pruned, %d failed, %d other; metric %s (%s).",
                  v->t.rows, finished, pruned, failed, v->t.rows - finished - pruned - failed,
                  v->metric, v->maximize ? "higher is better" : "lower is better");
    nni_text_puts(h, "<div class=\"scroll\"><table id=\"leaderboard-table\"><tr><th>rank</th>");
    for (int c = 0; c < v->t.cols; c++) {
        nni_text_puts(h, c == v->reason_col || (c >= v->first_param && c < v->status_col + 1)
                             ? "<th class=\"text\">" : "<th>");
        nni_text_escaped(h, v->t.head[c]);
        nni_text_puts(h, "</th>");
    }
    nni_text_puts(h, "</tr>\n");
    for (int i = 0; i < v->t.rows; i++) {
        int r = v->order[i];
        int ranked = !isnan(metric_of(v, r));
        nni_text_printf(h, "<tr%s><td>", i == 0 && ranked ? " class=\"best\"" : "");
        if (ranked)
            nni_text_printf(h, "%d", i + 1);
        else
            nni_text_puts(h, "-");
        nni_text_puts(h, "</td>");
        for (int c = 0; c < v->t.cols; c++) {
            nni_text_puts(h, c == v->reason_col || (c >= v->first_param && c < v->status_col + 1)
                                 ? "<td class=\"text\">" : "<td>");
            nni_text_escaped(h, nni_csv_cell(&v->t, r, c));
            nni_text_puts(h, "</td>");
        }
        nni_text_puts(h, "</tr>\n");
    }
    nni_text_puts(h, "</table></div>\n");
    for (int r = 0; r < v->t.rows; r++)
        if (strcmp(status_of(v, r), "failed") == 0)
            nni_page_note(page, "Trial %s failed: %s", nni_csv_cell(&v->t, r, 0),
                          v->reason_col >= 0 ? nni_csv_cell(&v->t, r, v->reason_col) : "");
    nni_page_section_end(page);
}

/* ---- the metric against each parameter; parallel coordinates ------------------------------ */

static void parameter_plot(nni_page *page, const search_view *v, int p, int index)
{
    const char *name = v->t.head[v->first_param + p];
    char title[300], plot_name[64];
    snprintf(title, sizeof title, "%s against %s", v->metric, name);
    snprintf(plot_name, sizeof plot_name, "param-%d", index);
    int rows = v->t.rows;
    if (param_is_numeric(v, p)) {
        double *x = malloc((size_t)rows * sizeof *x), *y = malloc((size_t)rows * sizeof *y);
        for (int r = 0; x && y && r < rows; r++) {
            y[r] = metric_of(v, r);
            x[r] = isnan(y[r]) ? NAN : nni_csv_number(&v->t, r, v->first_param + p);
        }
        if (x && y) {
            nni_plot plot = {.title = title, .x_title = name, .y_title = v->metric,
                             .n_series = 1};
            plot.log_x = v->log_param[p] || nni_report_spans_decades(x, rows, 1);
            plot.series[0] = (nni_plot_series){"trials", x, y, rows, 1, 0, 0};
            double *px = v->n_predicted ? malloc((size_t)v->n_predicted * sizeof *px) : NULL;
            for (int k = 0; px && k < v->n_predicted; k++)
                px[k] = v->predicted_param[k * v->n_params + p];
            char with[sizeof title + 40];
            if (px) {
                plot.series[plot.n_series++] = (nni_plot_series){
                    "predicted", px, v->predicted, v->n_predicted, 1, 0, 4};
                snprintf(with, sizeof with, "%s, and predictions", title);
                plot.title = strlen(title) < 36 ? with : title;
            }
            nni_plot_lines(nni_page_plot_begin(page), &plot, plot_name);
            nni_page_plot_end(page, plot_name);
            free(px);
        }
        free(x);
        free(y);
        return;
    }
    /* a categorical parameter: one column per value */
    const char *labels[64];
    double *values[64];
    int counts[64], groups = 0;
    for (int r = 0; r < rows; r++) {
        const char *cell = nni_csv_cell(&v->t, r, v->first_param + p);
        int g = 0;
        while (g < groups && strcmp(labels[g], cell) != 0)
            g++;
        if (g == groups) {
            if (groups == 64)
                continue;
            labels[g] = cell;
            values[g] = malloc((size_t)rows * sizeof **values);
            counts[g] = 0;
            groups++;
        }
        if (values[g])
            values[g][counts[g]++] = metric_of(v, r);
    }
    nni_spread s = {.title = title, .x_title = name, .y_title = v->metric, .groups = groups,
                    .labels = labels, .values = (const double *const *)values, .counts = counts};
    int ok = 1;
    for (int g = 0; g < groups; g++)
        ok &= values[g] != NULL;
    if (ok) {
        nni_plot_spread(nni_page_plot_begin(page), &s, plot_name);
        nni_page_plot_end(page, plot_name);
    }
    for (int g = 0; g < groups; g++)
        free(values[g]);
}

/* Categorical values become their position among the distinct values. */
static void parallel_plot(nni_page *page, const search_view *v)
{
    int dims = (v->n_params < MAX_PARAMS ? v->n_params : MAX_PARAMS) + 1, rows = v->t.rows;
    double *values = malloc((size_t)rows * (size_t)dims * sizeof *values);
    const char *names[MAX_PARAMS + 1];
    int log[MAX_PARAMS + 1] = {0}, n_categories[MAX_PARAMS + 1] = {0};
    const char **category_names[MAX_PARAMS + 1] = {0};
    if (!values)
        return;
    for (int p = 0; p < dims - 1; p++) {
        names[p] = v->t.head[v->first_param + p];
        int numeric = param_is_numeric(v, p);
        log[p] = numeric && v->log_param[p]; /* else decided below from the values */
        int distinct = 0;
        for (int r = 0; r < rows; r++) {
            if (numeric)
                values[r * dims + p] = nni_csv_number(&v->t, r, v->first_param + p);
            else {
                int first = r;
                for (int q = 0; q < r; q++)
                    if (strcmp(nni_csv_cell(&v->t, q, v->first_param + p),
                               nni_csv_cell(&v->t, r, v->first_param + p)) == 0) {
                        first = q;
                        break;
                    }
                if (first == r && !category_names[p])
                    category_names[p] = calloc((size_t)rows, sizeof *category_names[p]);
                if (first == r && category_names[p])
                    category_names[p][distinct] = nni_csv_cell(&v->t, r, v->first_param + p);
                values[r * dims + p] = first == r ? distinct++ : values[first * dims + p];
            }
        }
        n_categories[p] = category_names[p] ? distinct : 0;
        if (numeric && !log[p])
            log[p] = -1; /* decided from the trials kept below */
    }
    names[dims - 1] = v->metric;
    /* trials without a metric (failed, not yet run) would only stretch the axes */
    int kept = 0;
    for (int r = 0; r < rows; r++) {
        if (isnan(metric_of(v, r)))
            continue;
        memmove(values + kept * dims, values + r * dims, (size_t)(dims - 1) * sizeof *values);
        values[kept * dims + dims - 1] = metric_of(v, r);
        kept++;
    }
    rows = kept;
    for (int p = 0; p < dims - 1; p++) {
        if (log[p] != -1)
            continue;
        double *column = malloc((size_t)(rows ? rows : 1) * sizeof *column);
        for (int r = 0; column && r < rows; r++)
            column[r] = values[r * dims + p];
        log[p] = column && nni_report_spans_decades(column, rows, 1);
        free(column);
    }
    nni_parallel pc = {.title = "Parallel coordinates: every parameter and the metric",
                       .dims = dims, .items = rows, .names = names, .log = log,
                       .values = values, .maximize = v->maximize,
                       .categories = (const char *const *const *)category_names,
                       .n_categories = n_categories};
    nni_plot_parallel(nni_page_plot_begin(page), &pc, "parallel");
    nni_page_plot_end(page, "parallel");
    for (int p = 0; p < dims; p++)
        free(category_names[p]);
    free(values);
}

static void parameters_section(nni_page *page, const search_view *v)
{
    if (!v->n_params)
        return;
    nni_page_section(page, "parameters", "The metric against each parameter");
    if (v->n_predicted)
        nni_page_note(page, "With the predicted %s of %d configurations not yet run, from a "
                            "Gaussian process fitted to the finished trials (as nntrain search "
                            "--predict prints them).", v->metric, v->n_predicted);
    nni_text_puts(&page->html, "<div class=\"plots\">\n");
    for (int p = 0; p < v->n_params && p < MAX_PARAMS; p++)
        parameter_plot(page, v, p, p);
    if (v->n_params >= 2)
        parallel_plot(page, v);
    nni_text_puts(&page->html, "</div>\n");
    nni_page_section_end(page);
}

/* ---- curves of the trials: the best ones, the halving rungs ------------------------------- */

typedef struct trial_curve {
    double *epoch, *value;
    int n;
} trial_curve;

static trial_curve load_curve(const search_view *v, int row)
{
    trial_curve c = {0};
    char path[1200];
    snprintf(path, sizeof path, "%s/trial-%03d/metrics.csv", v->dir,
             atoi(nni_csv_cell(&v->t, row, 0)));
    nni_csv_table m;
    nn_error ignored = {0};
    if (nni_csv_read(path, &m, &ignored))
        return c;
    c.epoch = nni_csv_numbers(&m, "epoch");
    c.value = nni_csv_numbers(&m, v->metric);
    c.n = c.epoch && c.value ? m.rows : 0;
    nni_csv_free(&m);
    return c;
}

static void curves_plot(nni_page *page, const search_view *v, int max_trials, int rungs,
                        const char *title, const char *name)
{
    nni_plot p = {.title = title, .x_title = "epoch", .y_title = v->metric, .x_integer = 1};
    trial_curve curves[NNI_PLOT_MAX_SERIES];
    char labels[NNI_PLOT_MAX_SERIES][64];
    for (int i = 0; i < v->t.rows && p.n_series < max_trials; i++) {
        int r = v->order[i];
        trial_curve c = load_curve(v, r);
        if (!c.n) {
            free(c.epoch);
            free(c.value);
            continue;
        }
        int k = p.n_series++;
        curves[k] = c;
        snprintf(labels[k], sizeof labels[k], "trial %s%s", nni_csv_cell(&v->t, r, 0),
                 strcmp(status_of(v, r), "pruned") == 0 ? ", pruned" : "");
        p.series[k] = (nni_plot_series){labels[k], c.epoch, c.value, c.n, 0, k >= 8, k};
    }
    if (rungs) {
        /* a rung ends where some trial stopped: the distinct epoch counts */
        for (int r = 0; r < v->t.rows && p.n_marks < NNI_PLOT_MAX_MARKS; r++) {
            double e = nni_csv_number(&v->t, r, v->epochs_col);
            int seen = !isfinite(e);
            for (int m = 0; m < p.n_marks && !seen; m++)
                seen = p.marks[m] == e;
            if (!seen)
                p.marks[p.n_marks++] = e;
        }
        p.mark_label = "rung ends";
    }
    if (p.n_series) {
        nni_plot_lines(nni_page_plot_begin(page), &p, name);
        nni_page_plot_end(page, name);
    } else
        nni_page_note(page, "No trial has a metrics.csv yet.");
    for (int k = 0; k < p.n_series; k++) {
        free(curves[k].epoch);
        free(curves[k].value);
    }
}

static void curves_sections(nni_page *page, const search_view *v)
{
    nni_page_section(page, "best-curves", "Learning curves of the best trials");
    char title[200];
    snprintf(title, sizeof title, "%s per epoch, the %d best trials", v->metric, BEST_CURVES);
    curves_plot(page, v, BEST_CURVES, 0, title, "best-curves");
    nni_page_section_end(page);
    int pruned = 0, distinct = 0;
    double first_epochs = NAN;
    for (int r = 0; r < v->t.rows; r++) {
        pruned |= strcmp(status_of(v, r), "pruned") == 0;
        double e = nni_csv_number(&v->t, r, v->epochs_col);
        if (isfinite(e) && e != first_epochs) {
            distinct += isfinite(first_epochs);
            first_epochs = e;
        }
    }
    if (!pruned && !distinct)
        return;
    nni_page_section(page, "rungs", "Halving rungs");
    nni_page_note(page, "Every trial's curve; a trial stops at the end of a rung unless it is "
                        "among the best of that rung. Trials beyond %d are left out.",
                  NNI_PLOT_MAX_SERIES);
    curves_plot(page, v, NNI_PLOT_MAX_SERIES, 1, "Trials through the rungs", "rungs");
    nni_page_section_end(page);
}

/* ---- repeated seeds ------------------------------------------------------------------------- */

static void seeds_section(nni_page *page, const search_view *v)
{
    int seed = -1;
    for (int p = 0; p < v->n_params; p++) {
        const char *name = v->t.head[v->first_param + p];
        size_t n = strlen(name);
        if (n >= 4 && strcmp(name + n - 4, "seed") == 0)
            seed = p;
    }
    /* search.repeats: the seed is a column after the table, not a parameter */
    int repeats = seed < 0 && nni_csv_column(&v->t, "seed") > v->status_col;
    if (seed < 0 && !repeats)
        return;
    /* group the trials by every other parameter's value */
    int rows = v->t.rows, groups = 0;
    char **labels = calloc((size_t)rows, sizeof *labels);
    double **values = calloc((size_t)rows, sizeof *values);
    int *counts = calloc((size_t)rows, sizeof *counts);
    for (int r = 0; labels && values && counts && r < rows; r++) {
        nni_text key = {0};
        for (int p = 0; p < v->n_params; p++)
            if (p != seed)
                nni_text_printf(&key, "%s%s", key.len ? ", " : "",
                                nni_csv_cell(&v->t, r, v->first_param + p));
        const char *k = key.data ? key.data : "(all)";
        int g = 0;
        while (g < groups && strcmp(labels[g], k) != 0)
            g++;
        if (g == groups) {
            labels[g] = strdup(k);
            values[g] = malloc((size_t)rows * sizeof **values);
            groups++;
        }
        if (values[g])
            values[g][counts[g]++] = metric_of(v, r);
        nni_text_free(&key);
    }
    int ok = labels && values && counts;
    for (int g = 0; ok && g < groups; g++)
        ok = labels[g] && values[g];
    if (ok) {
        nni_page_section(page, "seeds", "Spread over seeds");
        nni_page_note(page, "Trials grouped by every parameter but %s: dots are trials, the "
                            "bar the mean, the whisker one standard deviation; the interval "
                            "is the mean's 95%% interval (Student's t).",
                      repeats ? "the seed (search.repeats)" : v->t.head[v->first_param + seed]);
        nni_spread s = {.title = "Metric over repeated seeds", .y_title = v->metric,
                        .x_title = "the other parameters' values", .groups = groups,
                        .labels = (const char *const *)labels,
                        .values = (const double *const *)values, .counts = counts};
        nni_plot_spread(nni_page_plot_begin(page), &s, "seeds");
        nni_page_plot_end(page, "seeds");
        nni_text_puts(&page->html, "<table id=\"seeds-table\"><tr><th class=\"text\">group"
                                   "</th><th>trials</th><th>mean</th><th>std</th>"
                                   "<th>95% interval</th></tr>\n");
        for (int g = 0; g < groups; g++) {
            nni_mean_interval m = nni_mean_interval_of(values[g], counts[g]);
            nni_text_puts(&page->html, "<tr><td class=\"text\">");
            nni_text_escaped(&page->html, labels[g]);
            if (m.n > 1)
                nni_text_printf(&page->html, "</td><td>%d</td><td>%.4f</td><td>%.4f</td>"
                                "<td>[%.4f, %.4f]</td></tr>\n", m.n, m.mean, m.sd, m.low,
                                m.high);
            else if (m.n)
                nni_text_printf(&page->html, "</td><td>1</td><td>%.4f</td><td>-</td><td>-</td>"
                                "</tr>\n", m.mean);
            else
                nni_text_puts(&page->html, "</td><td>0</td><td>-</td><td>-</td><td>-</td>"
                                           "</tr>\n");
        }
        nni_text_puts(&page->html, "</table>\n");
        nni_page_section_end(page);
    }
    for (int g = 0; labels && values && g < groups; g++) {
        free(labels[g]);
        free(values[g]);
    }
    free(labels);
    free(values);
    free(counts);
}

/* ---- the page ---------------------------------------------------------------------------- */

nn_status nni_report_search_page(nni_page *page, const char *dir, nn_error *err)
{
    search_view v = {.dir = dir};
    char path[1100], name[256], title[300];
    snprintf(path, sizeof path, "%s/trials.csv", dir);
    nn_status st = nni_csv_read(path, &v.t, err);
    if (st)
        return st;
    v.status_col = nni_csv_column(&v.t, "status");
    v.epochs_col = nni_csv_column(&v.t, "epochs");
    v.reason_col = nni_csv_column(&v.t, "reason");
    if (v.t.cols < 2 || strcmp(v.t.head[0], "trial") != 0 || v.status_col < 1 ||
        v.status_col + 1 >= v.t.cols) {
        nni_csv_free(&v.t);
        return nn_fail(err, NN_ERR_DATA, "%s: not a trials table (its header must start with "
                       "trial and name a status column followed by the metric)", path);
    }
    v.first_param = 1;
    v.n_params = v.status_col - 1;
    v.metric_col = v.status_col + 1;
    v.metric = v.t.head[v.metric_col];
    read_search_config(&v);
    load_predictions(&v);
    v.order = malloc((size_t)(v.t.rows ? v.t.rows : 1) * sizeof *v.order);
    if (!v.order) {
        nni_csv_free(&v.t);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    for (int r = 0; r < v.t.rows; r++) { /* insertion sort: a search has few trials */
        int k = r;
        while (k > 0 && ranks_before(&v, r, v.order[k - 1])) {
            v.order[k] = v.order[k - 1];
            k--;
        }
        v.order[k] = r;
    }
    snprintf(title, sizeof title, "Search %s", nni_report_base_name(dir, name, sizeof name));
    nni_page_begin(page, title, 0);
    nni_page_note(page, "Search directory: %s", dir);
    leaderboard_section(page, &v);
    parameters_section(page, &v);
    curves_sections(page, &v);
    int noise = nni_csv_column(&v.t, "data.label_noise");
    if (noise >= v.first_param && noise < v.status_col)
        nni_report_label_noise_section(page, dir, &v.t, noise);
    seeds_section(page, &v);
    nni_page_end(page);
    free(v.order);
    free(v.predicted);
    free(v.predicted_param);
    nni_csv_free(&v.t);
    return NN_OK;
}

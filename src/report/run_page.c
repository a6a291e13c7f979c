/* The page of one training run and the page comparing several (see nn/report.h): what the
 * run directory holds, section by section, each present only when its files are. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/ckpt.h"
#include "nn/config.h"
#include "nn/model.h"
#include "report/evaluation.h"
#include "report/pages.h"
#include "report/svg_plot.h"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text) {
        size_t got = fread(text, 1, (size_t)n, f);
        text[got] = '\0';
    }
    fclose(f);
    return text;
}

static int any_finite(const double *v, int n)
{
    for (int i = 0; v && i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

/* ---- learning curves -------------------------------------------------------------------- */

/* Training and validation curves of one quantity over the epochs. */
static void curve_plot(nni_page *page, const nni_csv_table *m, const double *epoch,
                       const char *train_col, const char *val_col, const char *title,
                       const char *y_title, const char *name)
{
    double *train = nni_csv_numbers(m, train_col), *val = nni_csv_numbers(m, val_col);
    nni_plot p = {.title = title, .x_title = "epoch", .y_title = y_title, .x_integer = 1};
    if (any_finite(train, m->rows))
        p.series[p.n_series++] = (nni_plot_series){"training", epoch, train, m->rows, 0, 0, 0};
    if (any_finite(val, m->rows))
        p.series[p.n_series++] = (nni_plot_series){"validation", epoch, val, m->rows, 0, 1, 1};
    if (p.n_series) {
        int spans = 1;
        for (int s = 0; s < p.n_series; s++)
            spans &= nni_report_spans_decades(p.series[s].y, m->rows, 1.5);
        p.log_y = spans;
        nni_plot_lines(nni_page_plot_begin(page), &p, name);
        nni_page_plot_end(page, name);
    }
    free(train);
    free(val);
}

/* 1 when every finite value is the same one (a chart of it would be a flat line on an axis
 * padded around it; a sentence says it better). */
static int constant_value(const double *v, int n, double *value)
{
    int seen = 0;
    for (int i = 0; v && i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (seen && v[i] != *value)
            return 0;
        *value = v[i];
        seen = 1;
    }
    return seen;
}

static void curves_section(nni_page *page, const nni_csv_table *m)
{
    nni_page_section(page, "curves", "Learning curves (per epoch)");
    double *epoch = nni_csv_numbers(m, "epoch"), *lr = nni_csv_numbers(m, "lr");
    if (!m->rows || !epoch)
        nni_page_note(page, "metrics.csv has no epoch yet.");
    else {
        nni_text_puts(&page->html, "<div class=\"plots\">\n");
        curve_plot(page, m, epoch, "loss", "val_loss", "Loss", "loss (mean per sample)", "loss");
        curve_plot(page, m, epoch, "accuracy", "val_accuracy", "Accuracy",
                   "accuracy (fraction correct)", "accuracy");
        double constant = 0;
        if (constant_value(lr, m->rows, &constant))
            nni_page_note(page, "The learning rate stayed at %g in every epoch.", constant);
        else if (any_finite(lr, m->rows)) {
            nni_plot p = {.title = "Learning rate", .x_title = "epoch",
                          .y_title = "learning rate", .x_integer = 1, .n_series = 1};
            p.series[0] = (nni_plot_series){"lr", epoch, lr, m->rows, 0, 0, 2};
            p.log_y = nni_report_spans_decades(lr, m->rows, 1);
            nni_plot_lines(nni_page_plot_begin(page), &p, "lr");
            nni_page_plot_end(page, "lr");
        }
        nni_text_puts(&page->html, "</div>\n");
    }
    free(epoch);
    free(lr);
    nni_page_section_end(page);
}

/* metrics-steps.csv: epoch,step,loss,accuracy,lr,grad_norm,samples_per_s, one row per
 * recorded step. The x axis is the step counted over the whole run: the file's own step
 * when it only grows, else the row's position (steps counted within each epoch). */
static void steps_section(nni_page *page, const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics-steps.csv", dir);
    nni_csv_table s;
    nn_error ignored = {0};
    if (nni_csv_read(path, &s, &ignored))
        return;
    nni_page_section(page, "steps", "Per-step curves");
    double *step = nni_csv_numbers(&s, "step"), *epoch = nni_csv_numbers(&s, "epoch");
    double *x = malloc((size_t)(s.rows ? s.rows : 1) * sizeof *x);
    int grows = step != NULL;
    for (int i = 1; grows && i < s.rows; i++)
        grows = step[i] > step[i - 1];
    nni_plot base = {.x_title = "step (optimizer steps since the start)", .x_integer = 1,
                     .mark_label = "epoch start"};
    for (int i = 0; x && i < s.rows; i++) {
        x[i] = grows ? step[i] : i + 1;
        if (i > 0 && epoch && epoch[i] != epoch[i - 1] && base.n_marks < NNI_PLOT_MAX_MARKS)
            base.marks[base.n_marks++] = x[i];
    }
    if (base.n_marks > 12)
        base.n_marks = 0; /* too many epochs: the marks would hide the curve */
    static const struct { const char *col, *title, *y_title; } shown[] = {
        {"loss", "Training loss per step", "loss (mean over the step's batch)"},
        {"accuracy", "Training accuracy per step", "accuracy (fraction correct)"},
        {"lr", "Learning rate per step", "learning rate"},
        {"grad_norm", "Gradient norm per step", "global L2 norm of the gradient"},
        {"samples_per_s", "Throughput per step", "samples per second"},
    };
    nni_page_note(page, "%d steps recorded in metrics-steps.csv.", s.rows);
    nni_text_puts(&page->html, "<div class=\"plots\">\n");
    for (size_t k = 0; x && k < sizeof shown / sizeof shown[0]; k++) {
        double *y = nni_csv_numbers(&s, shown[k].col), constant = 0;
        if (strcmp(shown[k].col, "lr") == 0 && constant_value(y, s.rows, &constant))
            nni_page_note(page, "The learning rate stayed at %g in every step.", constant);
        else if (any_finite(y, s.rows)) {
            nni_plot p = base;
            char name[64];
            snprintf(name, sizeof name, "step-%s", shown[k].col);
            p.title = shown[k].title;
            p.y_title = shown[k].y_title;
            p.n_series = 1;
            p.series[0] = (nni_plot_series){shown[k].col, x, y, s.rows, 0, 0, (int)k};
            p.log_y = nni_report_spans_decades(y, s.rows, 1.5);
            nni_plot_lines(nni_page_plot_begin(page), &p, name);
            nni_page_plot_end(page, name);
        }
        free(y);
    }
    nni_text_puts(&page->html, "</div>\n");
    free(x);
    free(step);
    free(epoch);
    nni_csv_free(&s);
    nni_page_section_end(page);
}

/* ---- timings, table, layout, model, config, checkpoints ---------------------------------- */

static void timings_section(nni_page *page, const nni_csv_table *m)
{
    nni_page_section(page, "timings", "Timings and throughput");
    double *epoch = nni_csv_numbers(m, "epoch"), *seconds = nni_csv_numbers(m, "seconds");
    double *rate = nni_csv_numbers(m, "samples_per_second");
    double total = 0, rate_sum = 0;
    int n_rate = 0;
    for (int i = 0; seconds && i < m->rows; i++)
        if (isfinite(seconds[i]))
            total += seconds[i];
    for (int i = 0; rate && i < m->rows; i++)
        if (isfinite(rate[i])) {
            rate_sum += rate[i];
            n_rate++;
        }
    nni_page_note(page, "%d epoch%s, %.1f s of training in all; mean throughput %.0f samples/s.",
                  m->rows, m->rows == 1 ? "" : "s", total, n_rate ? rate_sum / n_rate : 0.0);
    if (epoch && any_finite(rate, m->rows)) {
        nni_plot p = {.title = "Throughput per epoch", .x_title = "epoch",
                      .y_title = "training samples per second", .x_integer = 1, .n_series = 1};
        p.series[0] = (nni_plot_series){"samples/s", epoch, rate, m->rows, 0, 0, 2};
        nni_plot_lines(nni_page_plot_begin(page), &p, "throughput");
        nni_page_plot_end(page, "throughput");
    }
    nni_text_puts(&page->html, "<h3>metrics.csv</h3>\n");
    nni_report_csv_html(page, m, "metrics-table");
    free(epoch);
    free(seconds);
    free(rate);
    nni_page_section_end(page);
}

/* log.txt's start-up lines: ranks, threads, the allreduce and update choices. */
static void layout_section(nni_page *page, const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    char *log = read_text(path);
    if (!log)
        return;
    nni_page_section(page, "layout", "Ranks, threads and start-up (log.txt)");
    nni_text kept = {0};
    int lines = 0;
    for (char *line = strtok(log, "\n"); line && lines < 40; line = strtok(NULL, "\n"))
        if (strncmp(line, "epoch ", 6) != 0) {
            nni_text_puts(&kept, line);
            nni_text_puts(&kept, "\n");
            lines++;
        }
    nni_page_pre(page, "log", kept.data ? kept.data : "(only epoch lines)");
    nni_text_free(&kept);
    free(log);
    nni_page_section_end(page);
}

static void model_and_config_sections(nni_page *page, const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    char *yaml = read_text(path);
    if (!yaml)
        return;
    nn_cfg *cfg = NULL;
    nn_model *model = NULL;
    nn_error err = {0};
    nni_page_section(page, "model", "Model");
    if (nn_cfg_load_string(yaml, path, &cfg, &err) ||
        nn_model_build(nn_cfg_get(cfg, "model"), 1, 1, 0, &model, &err))
        nni_page_note(page, "The model cannot be built from config.yaml: %s", err.msg);
    else {
        char *summary = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&summary, &size);
        if (f) {
            nn_model_summary(model, f);
            fclose(f);
            nni_page_pre(page, "model-summary", summary ? summary : "");
        }
        free(summary);
    }
    nn_model_free(model);
    nn_cfg_free(cfg);
    nni_page_section_end(page);
    nni_page_section(page, "config", "Resolved configuration (config.yaml)");
    nni_page_pre(page, "config-yaml", yaml);
    nni_page_section_end(page);
    free(yaml);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void checkpoints_section(nni_page *page, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".h5") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    nni_page_section(page, "checkpoints", "Checkpoints");
    if (!n)
        nni_page_note(page, "No checkpoint in the run directory.");
    else
        nni_text_puts(&page->html, "<table id=\"checkpoints-table\"><tr><th class=\"text\">file"
                                   "</th><th>epochs done</th><th>steps into the next</th>"
                                   "<th>size (KiB)</th></tr>\n");
    for (int i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i] ? names[i] : "");
        struct stat st;
        nn_ckpt_meta meta;
        nn_error err = {0};
        int ok = names[i] && !nn_ckpt_read_meta(path, &meta, &err);
        nni_text_puts(&page->html, "<tr><td class=\"text\">");
        nni_text_escaped(&page->html, names[i] ? names[i] : "?");
        if (ok) {
            nni_text_printf(&page->html, "</td><td>%d</td><td>%lld</td>", meta.epoch,
                            (long long)meta.step);
            nn_ckpt_meta_free(&meta);
        } else
            nni_text_puts(&page->html, "</td><td>unreadable</td><td></td>");
        nni_text_printf(&page->html, "<td>%.0f</td></tr>\n",
                        stat(path, &st) == 0 ? st.st_size / 1024.0 : 0.0);
        free(names[i]);
    }
    if (n)
        nni_text_puts(&page->html, "</table>\n");
    nni_page_section_end(page);
}

/* ---- evaluation --------------------------------------------------------------------------- */

static void classification_view(nni_page *page, const nni_evaluation *e)
{
    nni_heatmap h = {.title = "Confusion matrix", .x_title = "predicted class",
                     .y_title = "true class", .rows = e->classes, .cols = e->classes,
                     .row_labels = (const char *const *)e->class_names,
                     .col_labels = (const char *const *)e->class_names,
                     .counts = e->confusion};
    nni_plot_heatmap(nni_page_plot_begin(page), &h, "confusion");
    nni_page_plot_end(page, "confusion");
    nni_text *t = &page->html;
    nni_text_puts(t, "<h3>Per class</h3>\n<table id=\"per-class-table\"><tr><th class=\"text\">"
                     "class</th><th>samples</th><th>predicted</th><th>correct</th>"
                     "<th>precision</th><th>recall</th></tr>\n");
    long long correct_all = 0;
    for (int c = 0; c < e->classes; c++) {
        long long row = 0, col = 0, hit = e->confusion[c * e->classes + c];
        for (int k = 0; k < e->classes; k++) {
            row += e->confusion[c * e->classes + k];
            col += e->confusion[k * e->classes + c];
        }
        correct_all += hit;
        nni_text_puts(t, "<tr><td class=\"text\">");
        nni_text_escaped(t, e->class_names[c]);
        nni_text_printf(t, "</td><td>%lld</td><td>%lld</td><td>%lld</td>", row, col, hit);
        if (col)
            nni_text_printf(t, "<td>%.4f</td>", (double)hit / (double)col);
        else
            nni_text_puts(t, "<td>-</td>");
        if (row)
            nni_text_printf(t, "<td>%.4f</td></tr>\n", (double)hit / (double)row);
        else
            nni_text_puts(t, "<td>-</td></tr>\n");
    }
    nni_text_puts(t, "</table>\n");
    nni_page_note(page, "Accuracy %.4f (%lld of %lld).",
                  e->samples ? (double)correct_all / (double)e->samples : 0.0, correct_all,
                  (long long)e->samples);
    if (e->n_wrong_shown && e->wrong_image[0].data) {
        nni_text_printf(t, "<h3>Misclassified samples (the first %d of the split)</h3>\n"
                           "<div class=\"samples\" id=\"misclassified\">\n", e->n_wrong_shown);
        for (int k = 0; k < e->n_wrong_shown; k++) {
            if (!e->wrong_image[k].data)
                continue;
            nni_text_printf(t, "<figure><img alt=\"sample %lld\" src=\"%s\"/><figcaption>"
                               "#%lld<br/>true: ", (long long)e->wrong_row[k],
                            e->wrong_image[k].data, (long long)e->wrong_row[k]);
            nni_text_escaped(t, e->class_names[e->wrong_true[k]]);
            nni_text_puts(t, "<br/>predicted: ");
            nni_text_escaped(t, e->class_names[e->wrong_pred[k]]);
            nni_text_puts(t, "</figcaption></figure>\n");
        }
        nni_text_puts(t, "</div>\n");
        if (e->wrong_grid.len) {
            nni_page_attach_png(page, "misclassified", &e->wrong_grid);
            nni_page_note(page, "The same samples, in this order, 8 a row: misclassified.png "
                                "beside the page.");
        }
    }
}

static void regression_view(nni_page *page, const nni_evaluation *e)
{
    double *residual = malloc((size_t)(e->n_points ? e->n_points : 1) * sizeof *residual);
    if (!residual)
        return;
    for (int i = 0; i < e->n_points; i++)
        residual[i] = e->predicted[i] - e->truth[i];
    nni_text_puts(&page->html, "<div class=\"plots\">\n");
    nni_plot p = {.title = "Predicted against true (first output)", .x_title = "true value",
                  .y_title = "predicted value", .n_series = 1};
    p.series[0] = (nni_plot_series){"samples", e->truth, e->predicted, e->n_points, 1, 0, 0};
    nni_plot_lines(nni_page_plot_begin(page), &p, "predicted-vs-true");
    nni_page_plot_end(page, "predicted-vs-true");
    nni_plot r = {.title = "Residuals", .x_title = "true value",
                  .y_title = "predicted - true", .n_series = 1};
    r.series[0] = (nni_plot_series){"samples", e->truth, residual, e->n_points, 1, 0, 4};
    nni_plot_lines(nni_page_plot_begin(page), &r, "residuals");
    nni_page_plot_end(page, "residuals");
    nni_text_puts(&page->html, "</div>\n");
    nni_page_note(page, "%d of the split's %lld samples drawn.", e->n_points,
                  (long long)e->samples);
    free(residual);
}

/* best.h5 when the run kept one, else last.h5. */
static void evaluation_section(nni_page *page, const char *dir)
{
    static const char *const preferred[] = {"best.h5", "last.h5"};
    char path[1100] = "";
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, preferred[i]);
        struct stat st;
        if (stat(path, &st) == 0)
            break;
        path[0] = '\0';
    }
    nni_page_section(page, "evaluation", "Evaluation");
    if (!path[0]) {
        nni_page_note(page, "No best.h5 or last.h5 in the run directory: nothing to evaluate.");
        nni_page_section_end(page);
        return;
    }
    nn_ckpt_meta meta;
    nn_error err = {0};
    int epoch = nn_ckpt_read_meta(path, &meta, &err) ? -1 : meta.epoch;
    if (epoch >= 0)
        nn_ckpt_meta_free(&meta);
    nni_evaluation e;
    /* The run's own closing test evaluation (final weights, last.h5), when no later epoch
     * has rewritten last.h5 since: no forward pass needed. */
    char last[1100], record[1100];
    snprintf(last, sizeof last, "%s/last.h5", dir);
    snprintf(record, sizeof record, "%s/test-confusion.csv", dir);
    struct stat last_st, record_st;
    int recorded = stat(last, &last_st) == 0 && stat(record, &record_st) == 0 &&
                   (record_st.st_mtim.tv_sec > last_st.st_mtim.tv_sec ||
                    (record_st.st_mtim.tv_sec == last_st.st_mtim.tv_sec &&
                     record_st.st_mtim.tv_nsec >= last_st.st_mtim.tv_nsec)) &&
                   nni_evaluation_recorded(dir, last, &e);
    if (recorded) {
        snprintf(path, sizeof path, "%s", last);
        nn_ckpt_meta last_meta;
        if (!nn_ckpt_read_meta(path, &last_meta, &err)) {
            epoch = last_meta.epoch;
            nn_ckpt_meta_free(&last_meta);
        }
    }
    int cached = recorded || nni_evaluation_cache_load(path, "test", &e);
    if (cached && !recorded)
        nni_evaluation_draw_samples(path, &e); /* for the grid beside the page */
    if (!cached && nni_evaluation_run(path, "test", &e, &err)) {
        nni_page_note(page, "The weights of %s could not be evaluated: %s", path, err.msg);
        nni_page_section_end(page);
        return;
    }
    nni_text_puts(&page->html, "<p id=\"evaluation-source\">Weights: <code>");
    nni_text_escaped(&page->html, path);
    if (recorded)
        nni_text_printf(&page->html, "</code> (the final model, after epoch %d), over the run's "
                        "<b>test</b> rows, as the run evaluated them when it ended (%lld "
                        "samples).</p>\n", epoch, (long long)e.samples);
    else
        nni_text_printf(&page->html, "</code> (%s, after epoch %d), over the whole <b>%s</b> "
                        "split of the run's data file, as nntrain eval and predict see it (%lld "
                        "samples).</p>\n", strstr(path, "best.h5") ? "the best checkpoint"
                        : "the last checkpoint; the run kept no best.h5", epoch, e.split,
                        (long long)e.samples);
    if (!cached)
        nni_evaluation_cache_store(path, &e);
    if (e.classification)
        classification_view(page, &e);
    else
        regression_view(page, &e);
    nni_evaluation_free(&e);
    nni_page_section_end(page);
}

/* ---- the pages --------------------------------------------------------------------------- */

nn_status nni_report_run_page(nni_page *page, const char *dir, const nn_report_options *o,
                              nn_error *err)
{
    char name[256], title[300], path[1100];
    snprintf(title, sizeof title, "Run %s", nni_report_base_name(dir, name, sizeof name));
    nni_page_begin(page, title, o->refresh_seconds);
    nni_page_note(page, "Run directory: %s", dir);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    nni_csv_table m;
    nn_error why = {0};
    int have_metrics = !nni_csv_read(path, &m, &why);
    if (have_metrics) {
        curves_section(page, &m);
        steps_section(page, dir);
        timings_section(page, &m);
        nni_csv_free(&m);
    } else {
        nni_page_section(page, "curves", "Learning curves (per epoch)");
        nni_page_note(page, "No metrics yet: %s", why.msg);
        nni_page_section_end(page);
        steps_section(page, dir);
    }
    if (o->evaluate)
        evaluation_section(page, dir);
    nni_report_study_sections(page, dir);
    model_and_config_sections(page, dir);
    layout_section(page, dir);
    checkpoints_section(page, dir);
    nni_page_end(page);
    (void)err;
    return NN_OK;
}

nn_status nni_report_compare_page(nni_page *page, const char *const *dirs, int n, nn_error *err)
{
    nni_page_begin(page, "Runs compared", 0);
    nni_csv_table tables[NNI_PLOT_MAX_SERIES];
    char names[NNI_PLOT_MAX_SERIES][256];
    if (n > NNI_PLOT_MAX_SERIES)
        return nn_fail(err, NN_ERR_CONFIG, "report: at most %d runs on one page (%d given)",
                       NNI_PLOT_MAX_SERIES, n);
    for (int r = 0; r < n; r++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/metrics.csv", dirs[r]);
        nn_error why = {0};
        if (nni_csv_read(path, &tables[r], &why))
            memset(&tables[r], 0, sizeof tables[r]);
        nni_report_base_name(dirs[r], names[r], sizeof names[r]);
    }
    static const struct { const char *col, *title, *y_title; } shown[] = {
        {"val_loss", "Validation loss", "loss (mean per sample)"},
        {"val_accuracy", "Validation accuracy", "accuracy (fraction correct)"},
        {"loss", "Training loss", "loss (mean per sample)"},
        {"accuracy", "Training accuracy", "accuracy (fraction correct)"},
    };
    nni_page_section(page, "curves", "Learning curves");
    nni_text_puts(&page->html, "<div class=\"plots\">\n");
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
        nni_plot p = {.title = shown[k].title, .x_title = "epoch", .y_title = shown[k].y_title,
                      .x_integer = 1};
        double *xs[NNI_PLOT_MAX_SERIES] = {0}, *ys[NNI_PLOT_MAX_SERIES] = {0};
        int spans = 1;
        for (int r = 0; r < n; r++) {
            xs[r] = nni_csv_numbers(&tables[r], "epoch");
            ys[r] = nni_csv_numbers(&tables[r], shown[k].col);
            if (xs[r] && any_finite(ys[r], tables[r].rows)) {
                p.series[p.n_series++] = (nni_plot_series){names[r], xs[r], ys[r],
                                                           tables[r].rows, 0, r >= 8, r};
                spans &= nni_report_spans_decades(ys[r], tables[r].rows, 1.5);
            }
        }
        p.log_y = p.n_series && spans;
        if (p.n_series) {
            char name[64];
            snprintf(name, sizeof name, "compare-%s", shown[k].col);
            nni_plot_lines(nni_page_plot_begin(page), &p, name);
            nni_page_plot_end(page, name);
        }
        for (int r = 0; r < n; r++) {
            free(xs[r]);
            free(ys[r]);
        }
    }
    nni_text_puts(&page->html, "</div>\n");
    nni_page_section_end(page);
    nni_page_section(page, "runs", "Runs");
    nni_text_puts(&page->html, "<table id=\"runs-table\"><tr><th class=\"text\">run</th>"
                               "<th>epochs</th><th>best val_loss</th><th>at epoch</th>"
                               "<th>best val_accuracy</th><th>seconds</th></tr>\n");
    for (int r = 0; r < n; r++) {
        double *vl = nni_csv_numbers(&tables[r], "val_loss");
        double *va = nni_csv_numbers(&tables[r], "val_accuracy");
        double *sec = nni_csv_numbers(&tables[r], "seconds");
        double best_loss = NAN, best_acc = NAN, total = 0;
        int best_epoch = 0;
        for (int i = 0; i < tables[r].rows; i++) {
            if (vl && isfinite(vl[i]) && !(vl[i] >= best_loss)) {
                best_loss = vl[i];
                best_epoch = (int)nni_csv_number(&tables[r], i, nni_csv_column(&tables[r], "epoch"));
            }
            if (va && isfinite(va[i]) && !(va[i] <= best_acc))
                best_acc = va[i];
            if (sec && isfinite(sec[i]))
                total += sec[i];
        }
        nni_text_puts(&page->html, "<tr><td class=\"text\">");
        nni_text_escaped(&page->html, dirs[r]);
        char loss_text[32] = "-", epoch_text[16] = "-", acc_text[32] = "-";
        if (!isnan(best_loss)) {
            snprintf(loss_text, sizeof loss_text, "%.4f", best_loss);
            snprintf(epoch_text, sizeof epoch_text, "%d", best_epoch);
        }
        if (!isnan(best_acc))
            snprintf(acc_text, sizeof acc_text, "%.4f", best_acc);
        nni_text_printf(&page->html, "</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td>"
                        "<td>%.2f</td></tr>\n", tables[r].rows, loss_text, epoch_text, acc_text,
                        total);
        free(vl);
        free(va);
        free(sec);
        nni_csv_free(&tables[r]);
    }
    nni_text_puts(&page->html, "</table>\n");
    nni_page_section_end(page);
    nni_page_end(page);
    return NN_OK;
}

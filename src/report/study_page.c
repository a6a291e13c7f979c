/* The page of a study command's output directory: `nntrain cka -o DIR` (cka.csv, a layer by
 * layer similarity matrix), `nntrain probe -o DIR` (probe.csv, a linear probe's accuracy on
 * each layer's representation) and `nntrain compare ... -o DIR/NAME.csv` (the models' size,
 * FLOPs and latency: width against depth). The commands write their numbers; the page draws
 * them with the report's charts and lists the table. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/pages.h"
#include "report/svg_plot.h"

static int read_table(const char *dir, const char *name, nni_csv_table *t)
{
    char path[1100];
    nn_error ignored = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return nni_csv_read(path, t, &ignored) == NN_OK;
}

/* cka.csv: "layer,B1,B2,..." then one row per layer of the first checkpoint. */
static void cka_section(nni_page *page, const nni_csv_table *t)
{
    nni_page_section(page, "cka", "Representation similarity (CKA)");
    int rows = t->rows, cols = t->cols - 1;
    double *values = rows > 0 && cols > 0 ? malloc((size_t)rows * cols * sizeof *values) : NULL;
    const char **row_names = malloc((size_t)(rows > 0 ? rows : 1) * sizeof *row_names);
    for (int r = 0; values && row_names && r < rows; r++) {
        row_names[r] = nni_csv_cell(t, r, 0);
        for (int c = 0; c < cols; c++)
            values[r * cols + c] = nni_csv_number(t, r, c + 1);
    }
    if (values && row_names) {
        nni_page_note(page, "Centered kernel alignment of every pair of layers' representations "
                            "over the same samples: 1 is the same representation up to a "
                            "rotation and scale, 0 unrelated.");
        nni_heatmap h = {.title = "CKA between layers", .x_title = "layer (columns of cka.csv)",
                         .y_title = "layer", .rows = rows, .cols = cols,
                         .row_labels = row_names, .col_labels = (const char *const *)t->head + 1,
                         .values = values};
        nni_plot_heatmap(nni_page_plot_begin(page), &h, "cka-heatmap");
        nni_page_plot_end(page, "cka-heatmap");
    } else {
        nni_page_note(page, "cka.csv holds no pairs.");
    }
    nni_report_csv_html(page, t, "cka-table");
    free(values);
    free(row_names);
    nni_page_section_end(page);
}

/* probe.csv: "layer,features,train_accuracy,eval_accuracy", layers in depth order. */
static void probe_section(nni_page *page, const nni_csv_table *t)
{
    nni_page_section(page, "probe", "Linear probes by depth");
    double *train = nni_csv_numbers(t, "train_accuracy"), *eval = nni_csv_numbers(t, "eval_accuracy");
    double *depth = malloc((size_t)(t->rows > 0 ? t->rows : 1) * sizeof *depth);
    const char **names = malloc((size_t)(t->rows > 0 ? t->rows : 1) * sizeof *names);
    for (int r = 0; depth && names && r < t->rows; r++) {
        depth[r] = r;
        names[r] = nni_csv_cell(t, r, 0);
    }
    if (depth && names && (train || eval) && t->rows > 0) {
        nni_page_note(page, "A linear classifier trained on each layer's representation: how "
                            "linearly separable the classes are at each depth.");
        nni_plot p = {.title = "Linear probe accuracy by layer", .x_title = "layer (input side first)",
                      .y_title = "accuracy (fraction correct)", .x_names = names,
                      .n_x_names = t->rows};
        if (train)
            p.series[p.n_series++] = (nni_plot_series){"training rows", depth, train, t->rows,
                                                       0, 1, 0};
        if (eval)
            p.series[p.n_series++] = (nni_plot_series){"evaluation rows", depth, eval, t->rows,
                                                       0, 0, 1};
        nni_plot_lines(nni_page_plot_begin(page), &p, "probe-accuracy");
        nni_page_plot_end(page, "probe-accuracy");
    } else {
        nni_page_note(page, "probe.csv has no accuracy columns.");
    }
    nni_report_csv_html(page, t, "probe-table");
    free(train);
    free(eval);
    free(depth);
    free(names);
    nni_page_section_end(page);
}

static const char compare_header[] = "model,params,state,bytes,flops_per_sample,batch,";

/* The first CSV file of dir (by name) written by nntrain compare, into name; 0: none. */
static int find_compare_csv(const char *dir, char *name, size_t size)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0 ||
            (found && strcmp(e->d_name, name) >= 0))
            continue;
        char path[1400], head[sizeof compare_header] = "";
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t got = fread(head, 1, sizeof head - 1, f);
        fclose(f);
        head[got] = '\0';
        if (strcmp(head, compare_header) == 0) {
            snprintf(name, size, "%s", e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* nntrain compare's rows: one per model and batch size. The chart: time per sample against
 * the batch size, one line per model (a log axis: batches of 1 to hundreds). */
static void compare_section(nni_page *page, const nni_csv_table *t, const char *file)
{
    nni_page_section(page, "compare", "Models compared: size and latency (nntrain compare)");
    nni_page_note(page, "From %s: parameters, bytes, FLOPs per sample and the median forward "
                        "latency over timed repeats, per batch size.", file);
    int model_col = nni_csv_column(t, "model"), batch_col = nni_csv_column(t, "batch");
    int us_col = nni_csv_column(t, "us_per_sample");
    double *x = malloc((size_t)(t->rows > 0 ? t->rows : 1) * sizeof *x);
    double *y = malloc((size_t)(t->rows > 0 ? t->rows : 1) * sizeof *y);
    nni_plot p = {.title = "Forward time per sample", .x_title = "batch size",
                  .y_title = "microseconds per sample (median)", .log_x = 1};
    /* rows of one model are consecutive: each run of them is a series */
    for (int r = 0; x && y && model_col >= 0 && r < t->rows;) {
        int end = r;
        while (end < t->rows &&
               strcmp(nni_csv_cell(t, end, model_col), nni_csv_cell(t, r, model_col)) == 0)
            end++;
        for (int i = r; i < end; i++) {
            x[i] = nni_csv_number(t, i, batch_col);
            y[i] = nni_csv_number(t, i, us_col);
        }
        const char *name = nni_csv_cell(t, r, model_col), *slash = strrchr(name, '/');
        if (p.n_series < NNI_PLOT_MAX_SERIES) /* a path's file name: the legend is narrow */
            p.series[p.n_series++] = (nni_plot_series){slash && slash[1] ? slash + 1 : name,
                                                       x + r, y + r, end - r, 0, 0, -1};
        r = end;
    }
    if (p.n_series) {
        p.log_y = nni_report_spans_decades(y, t->rows, 1);
        nni_plot_lines(nni_page_plot_begin(page), &p, "compare-latency");
        nni_page_plot_end(page, "compare-latency");
    }
    nni_report_csv_html(page, t, "compare-table");
    free(x);
    free(y);
    nni_page_section_end(page);
}

int nni_report_is_study(const char *dir)
{
    static const char *const files[] = {"cka.csv", "probe.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1100];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            return 1;
    }
    char name[256];
    return find_compare_csv(dir, name, sizeof name);
}

nn_status nni_report_study_page(nni_page *page, const char *dir, nn_error *err)
{
    char name[256], title[300];
    snprintf(title, sizeof title, "Study %s", nni_report_base_name(dir, name, sizeof name));
    nni_page_begin(page, title, 0);
    nni_page_note(page, "Study output directory: %s", dir);
    nni_csv_table t;
    int drawn = 0;
    if (read_table(dir, "cka.csv", &t)) {
        cka_section(page, &t);
        nni_csv_free(&t);
        drawn++;
    }
    if (read_table(dir, "probe.csv", &t)) {
        probe_section(page, &t);
        nni_csv_free(&t);
        drawn++;
    }
    char compare[256];
    if (find_compare_csv(dir, compare, sizeof compare) && read_table(dir, compare, &t)) {
        compare_section(page, &t, compare);
        nni_csv_free(&t);
        drawn++;
    }
    if (!drawn) {
        nni_page_section(page, "study", "Study");
        nni_page_note(page, "The study's tables could not be read (empty or without a header).");
        nni_page_section_end(page);
    }
    nni_page_end(page);
    (void)err;
    return NN_OK;
}

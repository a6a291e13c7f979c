/* The study commands' outputs on the report's pages: the reinit table (nntrain reinit -o,
 * any CSV of the run directory with its header) as a heatmap of accuracy by layer and
 * checkpoint, and, on a search over data.label_noise, the training and validation accuracy
 * of every noise level over the epochs (memorization of random labels). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/pages.h"
#include "report/svg_plot.h"

enum { MAX_NAMES = 128 };

static const char reinit_header[] = "checkpoint,epoch,layer,accuracy,loss";

/* Index of name in names (appended when new); -1 when the list is full. */
static int name_index(char **names, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (*n == MAX_NAMES)
        return -1;
    names[*n] = strdup(name);
    return names[*n] ? (*n)++ : -1;
}

static void reinit_heatmap(nni_page *page, const char *path, const char *file_name, int index)
{
    nni_csv_table t;
    nn_error ignored = {0};
    if (nni_csv_read(path, &t, &ignored))
        return;
    char *layers[MAX_NAMES], *columns[MAX_NAMES];
    int n_layers = 0, n_columns = 0;
    int *row_of = malloc((size_t)(t.rows ? t.rows : 1) * sizeof *row_of);
    int *col_of = malloc((size_t)(t.rows ? t.rows : 1) * sizeof *col_of);
    for (int r = 0; row_of && col_of && r < t.rows; r++) {
        char column[64];
        if (strcmp(nni_csv_cell(&t, r, 0), "final") == 0)
            snprintf(column, sizeof column, "final");
        else
            snprintf(column, sizeof column, "epoch %s", nni_csv_cell(&t, r, 1));
        col_of[r] = name_index(columns, &n_columns, column);
        row_of[r] = name_index(layers, &n_layers, nni_csv_cell(&t, r, 2));
    }
    double *accuracy = calloc((size_t)(n_layers * n_columns + 1), sizeof *accuracy);
    for (int i = 0; accuracy && i < n_layers * n_columns; i++)
        accuracy[i] = NAN;
    for (int r = 0; accuracy && row_of && col_of && r < t.rows; r++)
        if (row_of[r] >= 0 && col_of[r] >= 0)
            accuracy[row_of[r] * n_columns + col_of[r]] = nni_csv_number(&t, r, 3);
    if (accuracy && n_layers && n_columns) {
        char title[300], name[64];
        snprintf(title, sizeof title, "Accuracy with one layer reset (%s)", file_name);
        snprintf(name, sizeof name, "reinit-%d", index);
        nni_heatmap h = {.title = title, .x_title = "weights of", .y_title = "layer reset",
                         .rows = n_layers, .cols = n_columns,
                         .row_labels = (const char *const *)layers,
                         .col_labels = (const char *const *)columns, .values = accuracy};
        nni_plot_heatmap(nni_page_plot_begin(page), &h, name);
        nni_page_plot_end(page, name);
    }
    for (int i = 0; i < n_layers; i++)
        free(layers[i]);
    for (int i = 0; i < n_columns; i++)
        free(columns[i]);
    free(accuracy);
    free(row_of);
    free(col_of);
    nni_csv_free(&t);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void nni_report_study_sections(nni_page *page, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *found[32];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 32;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0)
            continue;
        char path[1400], head[64] = "";
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(head, sizeof head, f))
                head[0] = '\0';
            fclose(f);
        }
        head[strcspn(head, "\r\n")] = '\0';
        if (strcmp(head, reinit_header) == 0)
            found[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!n)
        return;
    qsort(found, (size_t)n, sizeof *found, compare_names);
    nni_page_section(page, "reinit", "Critical and robust layers (nntrain reinit)");
    nni_page_note(page, "Test accuracy with each layer put back to its initial weights, for "
                        "the weights of each checkpoint; (no reset) and (all layers) bound "
                        "the range.");
    nni_text_puts(&page->html, "<div class=\"plots\">\n");
    for (int i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, found[i] ? found[i] : "");
        if (found[i])
            reinit_heatmap(page, path, found[i], i);
        free(found[i]);
    }
    nni_text_puts(&page->html, "</div>\n");
    nni_page_section_end(page);
}

void nni_report_label_noise_section(nni_page *page, const char *dir, const nni_csv_table *trials,
                                    int noise_col)
{
    nni_plot train = {.title = "Training accuracy by label noise", .x_title = "epoch",
                      .y_title = "training accuracy (noisy labels)", .x_integer = 1};
    nni_plot val = {.title = "Validation accuracy by label noise", .x_title = "epoch",
                    .y_title = "validation accuracy (clean labels)", .x_integer = 1};
    char labels[NNI_PLOT_MAX_SERIES][64];
    double *keep[3 * NNI_PLOT_MAX_SERIES];
    int n_keep = 0;
    for (int r = 0; r < trials->rows && train.n_series < NNI_PLOT_MAX_SERIES; r++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/trial-%03d/metrics.csv", dir,
                 atoi(nni_csv_cell(trials, r, 0)));
        nni_csv_table m;
        nn_error ignored = {0};
        if (nni_csv_read(path, &m, &ignored))
            continue;
        double *epoch = nni_csv_numbers(&m, "epoch"), *acc = nni_csv_numbers(&m, "accuracy");
        double *val_acc = nni_csv_numbers(&m, "val_accuracy");
        int k = train.n_series;
        snprintf(labels[k], sizeof labels[k], "p = %s (trial %s)",
                 nni_csv_cell(trials, r, noise_col), nni_csv_cell(trials, r, 0));
        if (epoch && acc && val_acc) {
            train.series[train.n_series++] = (nni_plot_series){labels[k], epoch, acc, m.rows,
                                                               0, 0, k};
            val.series[val.n_series++] = (nni_plot_series){labels[k], epoch, val_acc, m.rows,
                                                           0, 1, k};
        }
        keep[n_keep++] = epoch;
        keep[n_keep++] = acc;
        keep[n_keep++] = val_acc;
        nni_csv_free(&m);
    }
    if (train.n_series) {
        nni_page_section(page, "label-noise", "Random labels: memorization against generalization");
        nni_page_note(page, "Each trial's training accuracy on its noisy labels and validation "
                            "accuracy on clean ones, by the fraction p of labels redrawn.");
        nni_text_puts(&page->html, "<div class=\"plots\">\n");
        nni_plot_lines(nni_page_plot_begin(page), &train, "label-noise-train");
        nni_page_plot_end(page, "label-noise-train");
        nni_plot_lines(nni_page_plot_begin(page), &val, "label-noise-val");
        nni_page_plot_end(page, "label-noise-val");
        nni_text_puts(&page->html, "</div>\n");
        nni_page_section_end(page);
    }
    for (int i = 0; i < n_keep; i++)
        free(keep[i]);
}

/* nn_report_write (nn/report.h): which page the paths ask for, and the pieces the pages
 * share. */
#include "nn/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "report/pages.h"

static int has_file(const char *dir, const char *name)
{
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

nn_report_kind nn_report_kind_of(const char *dir)
{
    if (has_file(dir, "trials.csv"))
        return NN_REPORT_SEARCH;
    if (has_file(dir, "metrics.csv") || has_file(dir, "config.yaml"))
        return NN_REPORT_RUN;
    if (nni_report_is_study(dir))
        return NN_REPORT_STUDY;
    return NN_REPORT_NONE;
}

nn_status nn_report_write(const char *const *paths, int n_paths, const char *output,
                          const nn_report_options *options, nn_error *err)
{
    int searches = 0, studies = 0;
    for (int i = 0; i < n_paths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0 || !S_ISDIR(st.st_mode))
            return nn_fail(err, NN_ERR_CONFIG, "report: %s is not a directory (give a run "
                           "directory, e.g. runs/NAME, or a search directory)", paths[i]);
        nn_report_kind kind = nn_report_kind_of(paths[i]);
        if (kind == NN_REPORT_NONE)
            return nn_fail(err, NN_ERR_CONFIG, "report: %s is neither a run (no metrics.csv or "
                           "config.yaml), a search (no trials.csv) nor a study output (no "
                           "cka.csv, probe.csv or nntrain compare CSV)", paths[i]);
        searches += kind == NN_REPORT_SEARCH;
        studies += kind == NN_REPORT_STUDY;
    }
    if ((searches || studies) && n_paths > 1)
        return nn_fail(err, NN_ERR_CONFIG, "report: a %s gets a page of its own; give one such "
                       "directory, or only run directories to compare them",
                       searches ? "search" : "study output");
    nni_page page = {0};
    nn_status st;
    if (searches)
        st = nni_report_search_page(&page, paths[0], err);
    else if (studies)
        st = nni_report_study_page(&page, paths[0], err);
    else if (n_paths == 1)
        st = nni_report_run_page(&page, paths[0], options, err);
    else
        st = nni_report_compare_page(&page, paths, n_paths, err);
    if (!st)
        st = nni_page_write(&page, output, err);
    nni_page_free(&page);
    return st;
}

int nni_report_spans_decades(const double *v, int n, double decades)
{
    double lo = INFINITY, hi = 0;
    for (int i = 0; v && i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (v[i] <= 0)
            return 0;
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    return hi > 0 && log10(hi / lo) >= decades;
}

const char *nni_report_base_name(const char *dir, char *buf, size_t size)
{
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(buf, size, "%.*s", (int)(end - start), dir + start);
    return buf;
}

void nni_report_csv_html(nni_page *page, const nni_csv_table *t, const char *id)
{
    nni_text *h = &page->html;
    nni_text_printf(h, "<div class=\"scroll\"><table id=\"%s\"><tr>", id);
    for (int c = 0; c < t->cols; c++) {
        nni_text_puts(h, "<th>");
        nni_text_escaped(h, t->head[c]);
        nni_text_puts(h, "</th>");
    }
    nni_text_puts(h, "</tr>\n");
    for (int r = 0; r < t->rows; r++) {
        nni_text_puts(h, "<tr>");
        for (int c = 0; c < t->cols; c++) {
            nni_text_puts(h, "<td>");
            nni_text_escaped(h, nni_csv_cell(t, r, c));
            nni_text_puts(h, "</td>");
        }
        nni_text_puts(h, "</tr>\n");
    }
    nni_text_puts(h, "</table></div>\n");
}

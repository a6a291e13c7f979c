/* The report's page builders (run_page.c, search_page.c) and the pieces they share. */
#ifndef NNI_REPORT_PAGES_H
#define NNI_REPORT_PAGES_H

#include "nn/report.h"
#include "report/csv_table.h"
#include "report/page.h"

nn_status nni_report_run_page(nni_page *page, const char *dir, const nn_report_options *o,
                              nn_error *err);
nn_status nni_report_compare_page(nni_page *page, const char *const *dirs, int n,
                                  nn_error *err);
nn_status nni_report_search_page(nni_page *page, const char *dir, nn_error *err);
/* study_page.c: the output directory of nntrain cka or probe. */
int nni_report_is_study(const char *dir);
nn_status nni_report_study_page(nni_page *page, const char *dir, nn_error *err);

/* The study commands' outputs (study_sections.c): the reinit heatmaps of a run directory,
 * and the curves of a search over data.label_noise (noise_col: that column of trials.csv). */
void nni_report_study_sections(nni_page *page, const char *dir);
void nni_report_label_noise_section(nni_page *page, const char *dir, const nni_csv_table *trials,
                                    int noise_col);

/* True when the finite positive values span at least `decades` powers of ten (a log axis
 * reads better). */
int nni_report_spans_decades(const double *v, int n, double decades);
/* The last path component of a directory ("runs/mlp/" -> "mlp"). */
const char *nni_report_base_name(const char *dir, char *buf, size_t size);
/* A CSV table as an HTML table with the given id, every cell as the file has it. */
void nni_report_csv_html(nni_page *page, const nni_csv_table *t, const char *id);

#endif

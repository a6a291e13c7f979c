/* What a search shows (src/search/report.c): trials.csv, best.yaml, the leaderboard and
 * the aligned text tables of the leaderboard, the plan and the predictions. */
#ifndef NNI_SEARCH_REPORT_H
#define NNI_SEARCH_REPORT_H

#include <stdio.h>

#include "search/trials.h"

/* Rewrites dir/trials.csv and dir/best.yaml atomically from the table. */
nn_status nni_report_write_files(const nni_trial_table *table, const char *dir, nn_error *err);
void nni_report_leaderboard(const nni_trial_table *table, FILE *out, int max_rows);
/* "config error", "data error", "numerical failure" or "error", from an nn_status. */
const char *nni_report_failure_kind(int status);
/* An aligned text table (leaderboard, plan, predictions). */
typedef struct nni_text_table {
    int rows, cols;
    char **cells; /* rows x cols, malloc'ed strings */
} nni_text_table;
int nni_text_table_alloc(nni_text_table *t, int rows, int cols); /* 0 when out of memory */
void nni_text_table_set(nni_text_table *t, int row, int col, const char *value);
/* Columns before `left_from` are right-aligned (numbers), the others left-aligned. */
void nni_text_table_print(const nni_text_table *t, int left_from, FILE *out);
void nni_text_table_free(nni_text_table *t);

#endif

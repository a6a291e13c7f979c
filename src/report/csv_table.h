/* The CSV files a run or a search leaves (metrics.csv, metrics-steps.csv, trials.csv), read
 * back as a table of strings with a header, for the report. */
#ifndef NNI_REPORT_CSV_TABLE_H
#define NNI_REPORT_CSV_TABLE_H

#include "nn/error.h"

typedef struct nni_csv_table {
    int rows, cols;   /* rows below the header */
    char **head;      /* cols names */
    char **cells;     /* rows x cols; a short row's missing cells are "" */
} nni_csv_table;

/* Reads path. A missing file is NN_ERR_DATA; so is a header-less (empty) file. A last line
 * without its newline (a file being written) is dropped: every kept row is complete. */
nn_status nni_csv_read(const char *path, nni_csv_table *t, nn_error *err);
/* The column's index, or -1. */
int nni_csv_column(const nni_csv_table *t, const char *name);
const char *nni_csv_cell(const nni_csv_table *t, int row, int col);
/* The cell as a number; NaN when empty, absent (col -1) or not a number. */
double nni_csv_number(const nni_csv_table *t, int row, int col);
/* A column's numbers (NaN where a cell is not one); malloc'ed, rows long (NULL when the
 * column is absent or out of memory). */
double *nni_csv_numbers(const nni_csv_table *t, const char *name);
void nni_csv_free(nni_csv_table *t);

#endif

/* The history's files: metrics.csv (written by the trainer) and /meta/history (read back
 * column by name from a checkpoint). See include/nn/history.h. */
#ifndef NN_IO_HISTORY_INTERNAL_H
#define NN_IO_HISTORY_INTERNAL_H

#include <stdio.h>

#include "nn/history.h"

/* The column's index, or -1 when no column has that name. */
int nni_history_column_index(const char *name);
void nni_epoch_record_set(nn_epoch_record *r, int column, double value);

/* "epoch,lr,...\n" and one record as a CSV line, as metrics.csv holds them; without the
 * accuracy columns unless with_accuracy (a classification run). */
void nni_history_write_csv_header(FILE *out, int with_accuracy);
void nni_epoch_record_write_csv(const nn_epoch_record *r, FILE *out, int with_accuracy);

#endif

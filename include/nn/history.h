/* A run's history: one record per finished epoch. The same record is a row of the run's
 * metrics.csv, a row of /meta/history in every checkpoint (whose `columns` attribute names
 * them), what early stopping and best.h5 monitor, and what the search reads of a trial.
 * The columns are named once, in the table behind nn_history_column_name; nothing reads a
 * column by its position. */
#ifndef NN_HISTORY_H
#define NN_HISTORY_H

typedef struct nn_epoch_record {
    int epoch; /* 1-based */
    double lr, loss, accuracy, val_loss, val_accuracy; /* NaN when not measured */
    double seconds, samples_per_second;
} nn_epoch_record;

/* The columns in file order: epoch, lr, loss, accuracy, val_loss, val_accuracy, seconds,
 * samples_per_second. */
#define NN_HISTORY_COLUMNS 8
const char *nn_history_column_name(int column);
/* A column's value (the epoch as a double); NaN for an unknown name. */
double nn_epoch_record_value(const nn_epoch_record *r, int column);
double nn_epoch_record_metric(const nn_epoch_record *r, const char *name);

/* The best value of a metric over records (maximize or minimize), skipping NaN; returns the
 * index of the record or -1 when none has a value. */
int nn_history_best(const nn_epoch_record *records, int n, const char *metric, int maximize);

#endif

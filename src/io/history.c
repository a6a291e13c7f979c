/* The epoch record's columns: their names, how each is printed in metrics.csv, and where it
 * lives in the struct (see include/nn/history.h). */
#include "io/history_internal.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

typedef struct history_column {
    const char *name;
    size_t offset;      /* of a double in nn_epoch_record; the epoch is the int */
    const char *format; /* metrics.csv */
} history_column;

#define DOUBLE_COLUMN(field, fmt) {#field, offsetof(nn_epoch_record, field), fmt}
static const history_column columns[NN_HISTORY_COLUMNS] = {
    {"epoch", offsetof(nn_epoch_record, epoch), "%.0f"},
    DOUBLE_COLUMN(lr, "%.9g"),
    DOUBLE_COLUMN(loss, "%.9g"),
    DOUBLE_COLUMN(accuracy, "%.9g"),
    DOUBLE_COLUMN(val_loss, "%.9g"),
    DOUBLE_COLUMN(val_accuracy, "%.9g"),
    DOUBLE_COLUMN(seconds, "%.4f"),
    DOUBLE_COLUMN(samples_per_second, "%.1f"),
};

const char *nn_history_column_name(int column)
{
    return column >= 0 && column < NN_HISTORY_COLUMNS ? columns[column].name : NULL;
}

int nni_history_column_index(const char *name)
{
    for (int c = 0; name && c < NN_HISTORY_COLUMNS; c++)
        if (strcmp(columns[c].name, name) == 0)
            return c;
    return -1;
}

double nn_epoch_record_value(const nn_epoch_record *r, int column)
{
    if (column < 0 || column >= NN_HISTORY_COLUMNS)
        return NAN;
    if (column == 0)
        return r->epoch;
    double value;
    memcpy(&value, (const char *)r + columns[column].offset, sizeof value);
    return value;
}

double nn_epoch_record_metric(const nn_epoch_record *r, const char *name)
{
    return nn_epoch_record_value(r, nni_history_column_index(name));
}

void nni_epoch_record_set(nn_epoch_record *r, int column, double value)
{
    if (column == 0)
        r->epoch = (int)value;
    else if (column > 0 && column < NN_HISTORY_COLUMNS)
        memcpy((char *)r + columns[column].offset, &value, sizeof value);
}

/* A regression run's metrics.csv has no accuracy columns (they would be all NaN). */
static int in_csv(int column, int with_accuracy)
{
    return with_accuracy || !strstr(columns[column].name, "accuracy");
}

void nni_history_write_csv_header(FILE *out, int with_accuracy)
{
    for (int c = 0; c < NN_HISTORY_COLUMNS; c++)
        if (in_csv(c, with_accuracy))
            fprintf(out, "%s%s", c ? "," : "", columns[c].name);
    fputc('\n', out);
}

void nni_epoch_record_write_csv(const nn_epoch_record *r, FILE *out, int with_accuracy)
{
    for (int c = 0; c < NN_HISTORY_COLUMNS; c++) {
        if (!in_csv(c, with_accuracy))
            continue;
        if (c)
            fputc(',', out);
        fprintf(out, columns[c].format, nn_epoch_record_value(r, c));
    }
    fputc('\n', out);
}

int nn_history_best(const nn_epoch_record *records, int n, const char *metric, int maximize)
{
    int best = -1;
    double best_value = NAN;
    for (int i = 0; i < n; i++) {
        double v = nn_epoch_record_metric(&records[i], metric);
        if (isnan(v))
            continue;
        if (best < 0 || (maximize ? v > best_value : v < best_value)) {
            best = i;
            best_value = v;
        }
    }
    return best;
}

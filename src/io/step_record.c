/* The per-step record's columns, named and formatted in one table (see step_record.h). */
#include "io/step_record.h"

#include <stddef.h>
#include <string.h>

typedef struct step_column {
    const char *name;
    size_t offset; /* of a double in nni_step_record; epoch and step are integers */
    const char *format;
} step_column;

#define DOUBLE_COLUMN(field, fmt) {#field, offsetof(nni_step_record, field), fmt}
static const step_column columns[] = {
    {"epoch", 0, NULL},
    {"step", 0, NULL},
    DOUBLE_COLUMN(loss, "%.9g"),
    DOUBLE_COLUMN(accuracy, "%.9g"),
    DOUBLE_COLUMN(lr, "%.9g"),
    DOUBLE_COLUMN(grad_norm, "%.9g"),
    DOUBLE_COLUMN(samples_per_s, "%.1f"),
};
enum { N_COLUMNS = sizeof columns / sizeof columns[0] };

const char *nni_step_columns(void)
{
    static char names[128];
    if (!names[0]) {
        size_t used = 0;
        for (int c = 0; c < N_COLUMNS; c++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", c ? "," : "",
                                     columns[c].name);
    }
    return names;
}

void nni_step_write_csv_header(FILE *out)
{
    fprintf(out, "%s\n", nni_step_columns());
}

void nni_step_record_write_csv(const nni_step_record *r, FILE *out)
{
    fprintf(out, "%d,%lld", r->epoch, (long long)r->step);
    for (int c = 2; c < N_COLUMNS; c++) {
        double value;
        memcpy(&value, (const char *)r + columns[c].offset, sizeof value);
        fputc(',', out);
        fprintf(out, columns[c].format, value);
    }
    fputc('\n', out);
}

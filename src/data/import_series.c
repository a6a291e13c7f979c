/* Time-series importer: a CSV table read in row order (oldest first) becomes windows of W
 * consecutive rows of the chosen columns (x: N x W x F) and what follows each window (y: the
 * next H values of the target column, N x H; or, for a class column, the class of the row H
 * rows after the window's last one). The table is split chronologically at a row: training
 * windows and their targets lie wholly before it, test windows wholly after it, so no window
 * crosses the split point and nothing from the test months leaks into training. Every problem
 * is one line naming the file (and line and column for a bad value). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "data/csv_fields.h"
#include "nn/data.h"

typedef struct series_table {
    int64_t rows, cap;
    float *values;    /* rows x features */
    double *target;   /* rows: the target's number, or its class id once classes are known */
    char **classes;   /* rows: the target's text, for a class column */
} series_table;

static void free_table(series_table *t)
{
    for (int64_t r = 0; t->classes && r < t->rows; r++)
        free(t->classes[r]);
    free(t->values);
    free(t->target);
    free(t->classes);
}

static int grow(series_table *t, int features)
{
    int64_t cap = t->cap ? 2 * t->cap : 4096;
    float *values = realloc(t->values, (size_t)(cap * features) * sizeof *values);
    if (values)
        t->values = values;
    double *target = values ? realloc(t->target, (size_t)cap * sizeof *target) : NULL;
    if (target)
        t->target = target;
    char **classes = target ? realloc(t->classes, (size_t)cap * sizeof *classes) : NULL;
    if (classes)
        t->classes = classes;
    if (!classes)
        return -1;
    t->cap = cap;
    return 0;
}

static int parse_number(const char *s, double *value)
{
    char *end;
    if (!*s)
        return 0;
    errno = 0;
    *value = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*value);
}

/* The columns named in opts, located in the header. */
static nn_status find_columns(const nn_series_options *opts, const nni_csv_fields *header,
                              int *feature_col, int *target_col, nn_error *err)
{
    char known[512] = "";
    for (int c = 0; c < header->count; c++) {
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", c ? ", " : "", header->items[c]);
    }
    const char *target = opts->target ? opts->target : opts->columns[0];
    *target_col = -1;
    for (int i = 0; i <= opts->n_columns; i++) {
        const char *name = i < opts->n_columns ? opts->columns[i] : target;
        int found = -1;
        for (int c = 0; c < header->count && found < 0; c++)
            if (strcmp(header->items[c], name) == 0)
                found = c;
        if (found < 0)
            return nn_fail(err, NN_ERR_CONFIG, "%s: no column '%s' in the header (columns: %s)",
                           opts->csv, name, known);
        if (i < opts->n_columns)
            feature_col[i] = found;
        else
            *target_col = found;
    }
    return NN_OK;
}

static nn_status read_table(const nn_series_options *opts, series_table *t, nn_error *err)
{
    FILE *file = fopen(opts->csv, "r");
    if (!file)
        return nn_fail(err, NN_ERR_DATA, "%s: %s", opts->csv, strerror(errno));
    const int F = opts->n_columns;
    const char *target_name = opts->target ? opts->target : opts->columns[0];
    int *feature_col = malloc((size_t)F * sizeof *feature_col), target_col = -1, columns = 0;
    nni_csv_fields fields = {0};
    char *line = NULL;
    size_t line_cap = 0;
    long long line_no = 0;
    ssize_t len;
    nn_status st = feature_col ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    while (!st && (len = getline(&line, &line_cap, file)) >= 0) {
        line_no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *text = line_no == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0 ? line + 3 : line;
        if (text[strspn(text, " \t")] == '\0')
            continue;
        int bad = nni_csv_split_line(text, opts->delimiter ? opts->delimiter : ',', &fields);
        if (bad) {
            st = bad < 0 ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                         : nn_fail(err, NN_ERR_DATA, "%s:%lld:%d: unterminated or misplaced "
                                   "quote", opts->csv, line_no, bad);
            break;
        }
        if (!columns) { /* the header names the columns */
            columns = fields.count;
            st = find_columns(opts, &fields, feature_col, &target_col, err);
            continue;
        }
        if (fields.count != columns) {
            st = nn_fail(err, NN_ERR_DATA, "%s:%lld: %d fields, but the header has %d",
                         opts->csv, line_no, fields.count, columns);
            break;
        }
        if (t->rows == t->cap && grow(t, F) < 0) {
            st = nn_fail(err, NN_ERR_OTHER, "%s: out of memory after %lld rows", opts->csv,
                         (long long)t->rows);
            break;
        }
        for (int i = 0; i <= F && !st; i++) {
            const int c = i < F ? feature_col[i] : target_col;
            double v = 0;
            if (i == F && opts->target_is_class) {
                t->classes[t->rows] = strdup(fields.items[c]);
                if (!t->classes[t->rows])
                    st = nn_fail(err, NN_ERR_OTHER, "out of memory");
            } else if (!parse_number(fields.items[c], &v)) {
                st = nn_fail(err, NN_ERR_DATA, "%s:%lld:%d: column '%s' holds '%s', not a "
                             "number%s", opts->csv, line_no, c + 1,
                             i < F ? opts->columns[i] : target_name, fields.items[c],
                             i == F ? " (a class column needs --classes)" : "");
            } else if (i < F) {
                t->values[t->rows * F + i] = (float)v;
            } else {
                t->target[t->rows] = v;
            }
        }
        if (!st)
            t->rows++;
    }
    if (!st && !columns)
        st = nn_fail(err, NN_ERR_DATA, "%s: empty file (a header and rows expected)", opts->csv);
    free(line);
    free(fields.items);
    free(feature_col);
    fclose(file);
    return st;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Class ids of a class column: its integers when every value is one, else the sorted names
 * (returned in *names, *n_names of them). */
static nn_status number_classes(series_table *t, char ***names, int *n_names, nn_error *err)
{
    *names = NULL;
    *n_names = 0;
    int integers = 1;
    for (int64_t r = 0; r < t->rows && integers; r++)
        integers = parse_number(t->classes[r], &t->target[r]) && t->target[r] >= 0 &&
                   t->target[r] == floor(t->target[r]) && t->target[r] < 1e9;
    if (integers)
        return NN_OK;
    char **sorted = malloc((size_t)(t->rows ? t->rows : 1) * sizeof *sorted);
    if (!sorted)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    memcpy(sorted, t->classes, (size_t)t->rows * sizeof *sorted);
    qsort(sorted, (size_t)t->rows, sizeof *sorted, compare_strings);
    int distinct = 0;
    for (int64_t r = 0; r < t->rows; r++)
        if (r == 0 || strcmp(sorted[r], sorted[distinct - 1]))
            sorted[distinct++] = sorted[r];
    for (int64_t r = 0; r < t->rows; r++) {
        char **hit = bsearch(&t->classes[r], sorted, (size_t)distinct, sizeof *sorted,
                             compare_strings);
        t->target[r] = (double)(hit - sorted);
    }
    *names = sorted; /* points at the table's strings */
    *n_names = distinct;
    return NN_OK;
}

/* Windows starting at first, first + stride, ... whose W + H rows end by `end`. */
static int64_t count_windows(const nn_series_options *o, int64_t first, int64_t end)
{
    const int64_t span = o->window + o->horizon;
    return end - first < span ? 0 : (end - first - span) / o->stride + 1;
}

static nn_status make_split(const nn_series_options *o, const series_table *t, int64_t first,
                            int64_t end, nn_dataset *ds, nn_error *err)
{
    const int64_t W = o->window, H = o->horizon, F = o->n_columns;
    memset(ds, 0, sizeof *ds);
    ds->n = count_windows(o, first, end);
    ds->sample_ndim = 2;
    ds->sample_shape[0] = W;
    ds->sample_shape[1] = F;
    ds->sample_size = W * F;
    ds->scale = 1.0f;
    ds->target_kind = o->target_is_class ? NN_TARGET_LABELS : NN_TARGET_VALUES;
    ds->target_width = o->target_is_class ? 1 : H;
    ds->x_f32 = malloc((size_t)(ds->n * W * F) * sizeof(float) + 1);
    if (o->target_is_class)
        ds->labels = malloc((size_t)ds->n * sizeof(int32_t) + 1);
    else
        ds->targets = malloc((size_t)(ds->n * H) * sizeof(float) + 1);
    if (!ds->x_f32 || (!ds->labels && !ds->targets))
        return nn_fail(err, NN_ERR_OTHER, "out of memory for %lld windows", (long long)ds->n);
    for (int64_t i = 0; i < ds->n; i++) {
        const int64_t start = first + i * o->stride, next = start + W;
        memcpy(ds->x_f32 + i * W * F, t->values + start * F, (size_t)(W * F) * sizeof(float));
        if (o->target_is_class)
            ds->labels[i] = (int32_t)t->target[next + H - 1];
        else
            for (int64_t h = 0; h < H; h++)
                ds->targets[i * H + h] = (float)t->target[next + h];
    }
    return NN_OK;
}

nn_status nn_import_series(const nn_series_options *opts, const char *out_path, nn_error *err)
{
    if (!opts->csv || !out_path || opts->n_columns < 1)
        return nn_fail(err, NN_ERR_CONFIG, "import series: a CSV file, at least one column and "
                       "an output file are required");
    if (opts->window < 1 || opts->stride < 1 || opts->horizon < (opts->target_is_class ? 0 : 1))
        return nn_fail(err, NN_ERR_CONFIG, "import series: --window and --stride must be >= 1, "
                       "--horizon >= %d", opts->target_is_class ? 0 : 1);
    series_table table = {0};
    char **names = NULL;
    int n_names = 0;
    nn_dataset train = {0}, test = {0};
    nn_dataset_writer *w = NULL;
    nn_status st = read_table(opts, &table, err);
    if (!st && opts->target_is_class)
        st = number_classes(&table, &names, &n_names, err);
    int64_t split = table.rows;
    if (!st && opts->split_at > 0) {
        if (opts->split_at < 1)
            split = (int64_t)floor(opts->split_at * (double)table.rows);
        else if (opts->split_at == floor(opts->split_at) && opts->split_at < (double)table.rows)
            split = (int64_t)opts->split_at;
        else
            st = nn_fail(err, NN_ERR_CONFIG, "import series: --split-at %g is neither a "
                         "fraction in (0, 1) nor a row number below the %lld rows",
                         opts->split_at, (long long)table.rows);
    }
    if (!st && count_windows(opts, 0, split) < 1)
        st = nn_fail(err, NN_ERR_DATA, "%s: no window of %lld + %lld rows fits in the %lld "
                     "training rows", opts->csv, (long long)opts->window,
                     (long long)opts->horizon, (long long)split);
    if (!st && split < table.rows && count_windows(opts, split, table.rows) < 1)
        st = nn_fail(err, NN_ERR_DATA, "%s: no window of %lld + %lld rows fits in the %lld test "
                     "rows after the split at row %lld", opts->csv, (long long)opts->window,
                     (long long)opts->horizon, (long long)(table.rows - split),
                     (long long)split);
    if (!st)
        st = make_split(opts, &table, 0, split, &train, err);
    if (!st && split < table.rows)
        st = make_split(opts, &table, split, table.rows, &test, err);
    if (!st)
        st = nn_dataset_writer_create(out_path, &w, err);
    if (!st && names)
        st = nn_dataset_writer_set_classes(w, n_names, (const char *const *)names, n_names, err);
    if (!st)
        st = nn_dataset_writer_add_split(w, "train", &train, err);
    if (!st && test.n)
        st = nn_dataset_writer_add_split(w, "test", &test, err);
    if (!st) {
        st = nn_dataset_writer_commit(w, err);
        w = NULL;
    }
    if (w)
        nn_dataset_writer_abort(w);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    free(names);
    free_table(&table);
    return st;
}

/* CSV importer: one row per sample, numeric feature columns, a label column (non-negative
 * integer class index, or class names mapped to sorted class indices) or float target
 * columns, and optionally an index column dropped by its header name. Quoted fields ("1.5", "a ""b"""), CRLF line
 * ends, a UTF-8 byte-order mark and blank lines are accepted; a header row is recognised by
 * a field that is not a number (or forced by the options). Every problem is one line naming
 * file:line:column (1-based column), plus the column's header name when there is one. */
#include "nn/data.h"
#include "data/csv_fields.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef nni_csv_fields csv_fields;

typedef struct csv_layout {
    int columns;      /* fields per row */
    int label_column; /* first target column, resolved to 0-based */
    int targets;      /* target columns */
    int features;     /* columns - targets */
    int values;       /* targets are float values rather than labels */
    int named;        /* labels are class names (the first row's label is not a number) */
    int index_column; /* dropped column, or -1 */
} csv_layout;

/* Class names in order of first appearance; labels hold indices into it until the files are
 * read, then are renumbered in sorted name order (sort_classes). */
typedef struct csv_classes {
    char **names;
    int count, cap;
} csv_classes;

typedef struct csv_table {
    int64_t rows, cap;
    float *x;        /* rows x features */
    int32_t *labels; /* rows, for labels */
    float *targets;  /* rows x targets, for values */
    int32_t max_label;
} csv_table;

static int is_blank(char c, char delimiter)
{
    return c == ' ' || (c == '\t' && delimiter != '\t');
}

static int push_field(csv_fields *f, char *field)
{
    if (f->count == f->cap) {
        int cap = f->cap ? f->cap * 2 : 64;
        char **grown = realloc(f->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        f->items = grown;
        f->cap = cap;
    }
    f->items[f->count++] = field;
    return 0;
}

/* Splits line in place. Returns 0, or the 1-based column of a badly quoted field, or -1 when
 * out of memory. */
static int split_line(char *line, char delimiter, csv_fields *f)
{
    f->count = 0;
    char *p = line;
    for (;;) {
        while (is_blank(*p, delimiter))
            p++;
        char *start = p, *end;
        if (*p == '"') {
            char *out = ++p;
            start = out;
            for (;;) {
                if (*p == '\0')
                    return f->count + 1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            end = out;
            while (is_blank(*p, delimiter))
                p++;
            if (*p != delimiter && *p != '\0')
                return f->count + 1;
        } else {
            while (*p != delimiter && *p != '\0')
                p++;
            end = p;
            while (end > start && is_blank(end[-1], delimiter))
                end--;
        }
        char next = *p;
        *end = '\0';
        if (push_field(f, start) < 0)
            return -1;
        if (next == '\0')
            return 0;
        p++;
    }
}

int nni_csv_split_line(char *line, char delimiter, nni_csv_fields *fields)
{
    return split_line(line, delimiter, fields);
}

static int parse_number(const char *s, double *value)
{
    if (!*s)
        return 0;
    char *end;
    *value = strtod(s, &end);
    return *end == '\0';
}

/* The index of a class name, added when new; -1 when out of memory. */
static int class_index(csv_classes *classes, const char *name)
{
    for (int i = classes->count - 1; i >= 0; i--)
        if (strcmp(classes->names[i], name) == 0)
            return i;
    if (classes->count == classes->cap) {
        int cap = classes->cap ? classes->cap * 2 : 16;
        char **grown = realloc(classes->names, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        classes->names = grown;
        classes->cap = cap;
    }
    if (!(classes->names[classes->count] = strdup(name)))
        return -1;
    return classes->count++;
}

static void free_classes(csv_classes *classes)
{
    for (int i = 0; i < classes->count; i++)
        free(classes->names[i]);
    free(classes->names);
    memset(classes, 0, sizeof *classes);
}

static nn_status resolve_layout(const nn_csv_options *opts, const char *path, int columns,
                                csv_layout *layout, nn_error *err)
{
    layout->columns = columns;
    layout->index_column = -1;
    layout->values = opts->targets_are_values != 0;
    layout->targets = layout->values && opts->n_target_columns > 1 ? opts->n_target_columns : 1;
    layout->label_column = opts->label_column < 0 ? columns + opts->label_column
                                                  : opts->label_column;
    if (layout->label_column < 0 || layout->label_column > columns - layout->targets) {
        if (layout->targets == 1)
            return nn_fail(err, NN_ERR_CONFIG, "%s: label column %d is outside the %d columns",
                           path, opts->label_column, columns);
        return nn_fail(err, NN_ERR_CONFIG,
                       "%s: %d target columns from column %d do not fit in the %d columns", path,
                       layout->targets, opts->label_column, columns);
    }
    layout->features = columns - layout->targets;
    if (layout->features < 1 + (opts->index_column != NULL))
        return nn_fail(err, NN_ERR_CONFIG, "%s: no feature columns besides the %s", path,
                       layout->values ? "targets" : "label");
    return NN_OK;
}

static nn_status grow_table(csv_table *t, const csv_layout *layout, const char *path,
                            nn_error *err)
{
    int64_t cap = t->cap ? t->cap * 2 : 1024;
    if ((uint64_t)cap > SIZE_MAX / sizeof(float) / (uint64_t)layout->columns)
        return nn_fail(err, NN_ERR_OTHER, "%s: too many rows", path);
    float *x = realloc(t->x, (size_t)cap * (size_t)layout->features * sizeof *x);
    if (x)
        t->x = x;
    int ok = x != NULL;
    if (ok && layout->values) {
        float *targets = realloc(t->targets, (size_t)cap * (size_t)layout->targets * sizeof *targets);
        ok = targets != NULL;
        if (ok)
            t->targets = targets;
    } else if (ok) {
        int32_t *labels = realloc(t->labels, (size_t)cap * sizeof *labels);
        ok = labels != NULL;
        if (ok)
            t->labels = labels;
    }
    if (!ok)
        return nn_fail(err, NN_ERR_OTHER, "%s: out of memory after %lld rows", path,
                       (long long)t->rows);
    t->cap = cap;
    return NN_OK;
}

static void free_table(csv_table *t)
{
    free(t->x);
    free(t->labels);
    free(t->targets);
    memset(t, 0, sizeof *t);
}

/* " (column 'name')" when the file has a header, for messages. */
static const char *column_name(char **header, int column, char *buf, size_t size)
{
    if (!header)
        return "";
    snprintf(buf, size, " (column '%.60s')", header[column]);
    return buf;
}

/* With a header: the column to drop (opts->index_column, which must be a column other than
 * the labels'), or an error for an unnamed column nobody asked to drop. */
static nn_status resolve_index_column(const nn_csv_options *opts, const char *path,
                                      char **header, csv_layout *layout, nn_error *err)
{
    int found = -1;
    for (int c = 0; c < layout->columns; c++) {
        if (opts->index_column && strcmp(header[c], opts->index_column) == 0) {
            found = c;
            break;
        }
    }
    if (opts->index_column && found < 0)
        return nn_fail(err, NN_ERR_DATA, "%s:1: no column named '%s' (--index-column)", path,
                       opts->index_column);
    int is_target = found >= layout->label_column &&
                    found < layout->label_column + layout->targets;
    if (found >= 0 && is_target)
        return nn_fail(err, NN_ERR_CONFIG, "%s: the index column '%s' is the %s column", path,
                       opts->index_column, layout->values ? "target" : "label");
    for (int c = 0; c < layout->columns && !opts->index_column; c++)
        if (!header[c][0])
            return nn_fail(err, NN_ERR_DATA, "%s:1:%d: the column has no name, as pandas writes "
                           "its index: drop it with --index-column '' or name it", path, c + 1);
    if (layout->index_column >= 0 && layout->index_column != found)
        return nn_fail(err, NN_ERR_DATA, "%s:1: the index column '%s' is column %d, but column "
                       "%d in the training file", path, opts->index_column, found + 1,
                       layout->index_column + 1);
    if (found >= 0 && layout->index_column < 0) {
        layout->index_column = found;
        layout->features--;
    }
    return NN_OK;
}

/* Reads one CSV file. `train_path` is NULL for the training file, whose layout is then set from
 * its first row; otherwise the file must match it. */
static nn_status read_csv(const char *path, const nn_csv_options *opts, char delimiter,
                          const char *train_path, csv_layout *layout, csv_table *table,
                          csv_classes *classes, nn_error *err)
{
    memset(table, 0, sizeof *table);
    table->max_label = -1;
    FILE *file = fopen(path, "r");
    if (!file)
        return nn_fail(err, NN_ERR_DATA, "%s: %s", path, strerror(errno));
    nn_status status = NN_OK;
    char *line = NULL, **header = NULL, name[96];
    size_t line_cap = 0;
    csv_fields fields = {0};
    int header_columns = 0, seen_first = 0;
    long long line_no = 0;
    ssize_t len;
    while ((len = getline(&line, &line_cap, file)) >= 0) {
        line_no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *text = line;
        if (line_no == 1 && strncmp(text, "\xEF\xBB\xBF", 3) == 0)
            text += 3;
        char *p = text;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            continue;
        int bad = split_line(text, delimiter, &fields);
        if (bad < 0) {
            status = nn_fail(err, NN_ERR_OTHER, "%s: out of memory", path);
            goto done;
        }
        if (bad > 0) {
            status = nn_fail(err, NN_ERR_DATA, "%s:%lld:%d: unterminated or misplaced quote",
                             path, line_no, bad);
            goto done;
        }

        if (!seen_first) {
            seen_first = 1;
            if (train_path && fields.count != layout->columns) {
                status = nn_fail(err, NN_ERR_DATA, "%s:%lld: %d columns, but %s has %d", path,
                                 line_no, fields.count, train_path, layout->columns);
                goto done;
            }
            if (!train_path && (status = resolve_layout(opts, path, fields.count, layout,
                                                        err)) != NN_OK)
                goto done;
            int is_header = opts->has_header == 1;
            if (opts->has_header < 0) {
                double value;
                for (int c = 0; c < fields.count && !is_header; c++)
                    is_header = !parse_number(fields.items[c], &value);
            }
            if (is_header) {
                if (!(header = calloc((size_t)fields.count, sizeof *header))) {
                    status = nn_fail(err, NN_ERR_OTHER, "%s: out of memory", path);
                    goto done;
                }
                header_columns = fields.count;
                for (int c = 0; c < fields.count; c++) {
                    if (!(header[c] = strdup(fields.items[c]))) {
                        status = nn_fail(err, NN_ERR_OTHER, "%s: out of memory", path);
                        goto done;
                    }
                }
                if ((status = resolve_index_column(opts, path, header, layout, err)))
                    goto done;
                continue;
            }
            if (opts->index_column) {
                status = nn_fail(err, NN_ERR_DATA, "%s: --index-column '%s' needs a header row",
                                 path, opts->index_column);
                goto done;
            }
        }

        if (fields.count != layout->columns) {
            status = nn_fail(err, NN_ERR_DATA, "%s:%lld: %d fields, expected %d", path, line_no,
                             fields.count, layout->columns);
            goto done;
        }
        if (table->rows == table->cap && (status = grow_table(table, layout, path, err)) != NN_OK)
            goto done;
        float *x_row = table->x + table->rows * layout->features;
        int feature = 0;
        for (int c = 0; c < layout->columns; c++) {
            const char *field = fields.items[c];
            int is_target = c >= layout->label_column && c < layout->label_column + layout->targets;
            double value;
            if (c == layout->index_column)
                continue;
            if (!*field) {
                status = nn_fail(err, NN_ERR_DATA, "%s:%lld:%d: empty field%s", path, line_no,
                                 c + 1, column_name(header, c, name, sizeof name));
                goto done;
            }
            int number = parse_number(field, &value);
            if (is_target && !layout->values && !train_path && table->rows == 0 &&
                classes->count == 0)
                layout->named = !number; /* the first row decides */
            if (is_target && layout->named) {
                int label = class_index(classes, field);
                if (label < 0) {
                    status = nn_fail(err, NN_ERR_OTHER, "%s: out of memory", path);
                    goto done;
                }
                table->labels[table->rows] = label;
                continue;
            }
            if (is_target && !layout->values) {
                if (!number || !(value >= 0 && value <= INT32_MAX) || value != floor(value)) {
                    status = nn_fail(err, NN_ERR_DATA,
                                     "%s:%lld:%d: label '%.40s' is not a non-negative integer "
                                     "class index, as the first row's label is%s",
                                     path, line_no, c + 1, field,
                                     column_name(header, c, name, sizeof name));
                    goto done;
                }
                int32_t label = (int32_t)value;
                table->labels[table->rows] = label;
                if (label > table->max_label)
                    table->max_label = label;
                continue;
            }
            if (!number) {
                status = nn_fail(err, NN_ERR_DATA, "%s:%lld:%d: '%.40s' is not a number%s", path,
                                 line_no, c + 1, field, column_name(header, c, name, sizeof name));
                goto done;
            }
            if (!isfinite(value) || fabs(value) > FLT_MAX) {
                status = nn_fail(err, NN_ERR_DATA, "%s:%lld:%d: '%.40s' is not a finite float32%s",
                                 path, line_no, c + 1, field,
                                 column_name(header, c, name, sizeof name));
                goto done;
            }
            if (is_target)
                table->targets[table->rows * layout->targets + (c - layout->label_column)] =
                    (float)value;
            else
                x_row[feature++] = (float)value;
        }
        table->rows++;
    }
    if (ferror(file)) {
        status = nn_fail(err, NN_ERR_DATA, "%s: read error after line %lld", path, line_no);
        goto done;
    }
    if (!seen_first) {
        status = nn_fail(err, NN_ERR_DATA, "%s: no data rows", path);
        goto done;
    }
    if (table->rows == 0)
        status = nn_fail(err, NN_ERR_DATA, "%s: no data rows after the header", path);
done:
    if (header)
        for (int c = 0; c < header_columns; c++)
            free(header[c]);
    free(header);
    free(fields.items);
    free(line);
    fclose(file);
    if (status != NN_OK)
        free_table(table);
    return status;
}

static nn_status add_split(nn_dataset_writer *w, const char *name, const csv_layout *layout,
                           const csv_table *table, nn_error *err)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = table->rows;
    ds.sample_ndim = 1;
    ds.sample_shape[0] = layout->features;
    ds.sample_size = layout->features;
    ds.x_f32 = table->x;
    ds.scale = 1.0f;
    ds.offset = 0.0f;
    ds.target_kind = layout->values ? NN_TARGET_VALUES : NN_TARGET_LABELS;
    ds.target_width = layout->values ? layout->targets : 1;
    ds.labels = table->labels;
    ds.targets = table->targets;
    return nn_dataset_writer_add_split(w, name, &ds, err);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Class names sorted, and every label renumbered to its name's place: the classes do not
 * depend on the order the rows come in. */
static nn_status sort_classes(csv_classes *classes, csv_table *tables[2], const char *path,
                              nn_error *err)
{
    char **sorted = malloc((size_t)(classes->count ? classes->count : 1) * sizeof *sorted);
    int32_t *renumber = malloc((size_t)(classes->count ? classes->count : 1) * sizeof *renumber);
    if (!sorted || !renumber) {
        free(sorted);
        free(renumber);
        return nn_fail(err, NN_ERR_OTHER, "%s: out of memory", path);
    }
    memcpy(sorted, classes->names, (size_t)classes->count * sizeof *sorted);
    qsort(sorted, (size_t)classes->count, sizeof *sorted, compare_names);
    for (int i = 0; i < classes->count; i++) {
        char **at = bsearch(&classes->names[i], sorted, (size_t)classes->count, sizeof *sorted,
                            compare_names);
        renumber[i] = (int32_t)(at - sorted);
    }
    for (int k = 0; k < 2; k++)
        for (int64_t r = 0; r < tables[k]->rows; r++)
            tables[k]->labels[r] = renumber[tables[k]->labels[r]];
    free(classes->names);
    classes->names = sorted;
    free(renumber);
    return NN_OK;
}

nn_status nn_import_csv(const nn_csv_options *opts, const char *out_path, nn_error *err)
{
    if (!opts || !opts->train_csv || !out_path)
        return nn_fail(err, NN_ERR_CONFIG, "CSV import: the training file and the output path "
                                           "are required");
    char delimiter = opts->delimiter ? opts->delimiter : ',';
    if (delimiter == '"' || delimiter == '\n' || delimiter == '\r')
        return nn_fail(err, NN_ERR_CONFIG, "CSV import: delimiter '%c' is not allowed",
                       delimiter);
    csv_layout layout;
    csv_table train, test;
    memset(&layout, 0, sizeof layout);
    memset(&test, 0, sizeof test);
    nn_dataset_writer *w = NULL;
    csv_classes classes = {0};
    nn_status status = read_csv(opts->train_csv, opts, delimiter, NULL, &layout, &train,
                                &classes, err);
    if (status != NN_OK) {
        free_classes(&classes);
        return status;
    }
    if (opts->test_csv &&
        (status = read_csv(opts->test_csv, opts, delimiter, opts->train_csv, &layout, &test,
                           &classes, err)) != NN_OK)
        goto done;
    csv_table *tables[2] = {&train, &test};
    if (layout.named && (status = sort_classes(&classes, tables, opts->train_csv, err)))
        goto done;
    if ((status = nn_dataset_writer_create(out_path, &w, err)) != NN_OK)
        goto done;
    int max_label = train.max_label > test.max_label ? train.max_label : test.max_label;
    int n_classes = layout.named ? classes.count : max_label + 1;
    if ((status = add_split(w, "train", &layout, &train, err)) != NN_OK ||
        (opts->test_csv && (status = add_split(w, "test", &layout, &test, err)) != NN_OK) ||
        (!layout.values &&
         (status = nn_dataset_writer_set_classes(w, n_classes, (const char *const *)classes.names,
                                                 classes.count, err)) != NN_OK)) {
        nn_dataset_writer_abort(w);
        goto done;
    }
    status = nn_dataset_writer_commit(w, err);
done:
    free_table(&train);
    free_table(&test);
    free_classes(&classes);
    return status;
}

/* Reading the run's and the search's CSV files back (see csv_table.h). Quoted cells follow
 * RFC 4180 ("" inside quotes is one quote), as trials.csv writes its failure reasons. */
#include "report/csv_table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits one line (without its newline) into malloc'ed cells. Returns the count, -1 when
 * out of memory. */
static int split_line(const char *line, char ***out)
{
    int n = 0, cap = 8;
    char **cells = malloc((size_t)cap * sizeof *cells);
    const char *c = line;
    while (cells) {
        size_t len = strlen(c);
        char *cell = malloc(len + 1), *w = cell;
        if (!cell)
            break;
        if (*c == '"') {
            for (c++; *c; c++) {
                if (*c == '"' && c[1] == '"')
                    *w++ = *c++;
                else if (*c == '"') {
                    c++;
                    break;
                } else
                    *w++ = *c;
            }
            while (*c && *c != ',')
                c++;
        } else
            while (*c && *c != ',')
                *w++ = *c++;
        *w = '\0';
        if (n == cap) {
            char **grown = realloc(cells, (size_t)(cap *= 2) * sizeof *cells);
            if (!grown) {
                free(cell);
                break;
            }
            cells = grown;
        }
        cells[n++] = cell;
        if (*c != ',') {
            *out = cells;
            return n;
        }
        c++;
    }
    for (int i = 0; cells && i < n; i++)
        free(cells[i]);
    free(cells);
    return -1;
}

/* The file's complete lines; a quoted cell may hold a newline, so lines are cut outside
 * quotes only. */
static char *read_whole(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 14, len = 0;
    char *data = malloc(cap);
    while (data) {
        size_t got = fread(data + len, 1, cap - len - 1, f);
        len += got;
        if (len + 1 < cap)
            break;
        char *grown = realloc(data, cap *= 2);
        if (!grown) {
            free(data);
            data = NULL;
        } else
            data = grown;
    }
    fclose(f);
    if (data)
        data[len] = '\0';
    *size = len;
    return data;
}

nn_status nni_csv_read(const char *path, nni_csv_table *t, nn_error *err)
{
    memset(t, 0, sizeof *t);
    size_t size = 0;
    errno = 0;
    char *data = read_whole(path, &size);
    if (!data)
        return nn_fail(err, errno == ENOENT ? NN_ERR_DATA : NN_ERR_OTHER, "%s: cannot read (%s)",
                       path, errno ? strerror(errno) : "out of memory");
    /* Cut at newlines outside quotes; the text after the last newline is incomplete. */
    int quoted = 0, n_lines = 0;
    char *start = data;
    char **lines = malloc((size / 2 + 2) * sizeof *lines);
    for (char *c = data; lines && *c; c++) {
        if (*c == '"')
            quoted = !quoted;
        else if (*c == '\n' && !quoted) {
            *c = '\0';
            if (c > start && c[-1] == '\r')
                c[-1] = '\0';
            lines[n_lines++] = start;
            start = c + 1;
        }
    }
    nn_status st = lines ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (!st && (n_lines == 0 || !lines[0][0]))
        st = nn_fail(err, NN_ERR_DATA, "%s: no header line", path);
    if (!st) {
        t->cols = split_line(lines[0], &t->head);
        if (t->cols < 0)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    if (!st) {
        t->cells = calloc((size_t)(n_lines - 1) * (size_t)t->cols + 1, sizeof *t->cells);
        if (!t->cells)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    for (int l = 1; !st && l < n_lines; l++) {
        if (!lines[l][0])
            continue;
        char **cells;
        int n = split_line(lines[l], &cells);
        if (n < 0) {
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
            break;
        }
        for (int c = 0; c < t->cols; c++) {
            char *cell = c < n ? cells[c] : strdup("");
            if (!cell)
                st = nn_fail(err, NN_ERR_OTHER, "out of memory");
            t->cells[(size_t)t->rows * (size_t)t->cols + (size_t)c] = cell;
        }
        for (int c = t->cols; c < n; c++)
            free(cells[c]);
        free(cells);
        t->rows++;
    }
    free(lines);
    free(data);
    if (st)
        nni_csv_free(t);
    return st;
}

int nni_csv_column(const nni_csv_table *t, const char *name)
{
    for (int c = 0; c < t->cols; c++)
        if (strcmp(t->head[c], name) == 0)
            return c;
    return -1;
}

const char *nni_csv_cell(const nni_csv_table *t, int row, int col)
{
    if (row < 0 || row >= t->rows || col < 0 || col >= t->cols)
        return "";
    const char *cell = t->cells[(size_t)row * (size_t)t->cols + (size_t)col];
    return cell ? cell : "";
}

double nni_csv_number(const nni_csv_table *t, int row, int col)
{
    const char *cell = nni_csv_cell(t, row, col);
    char *end;
    double v = strtod(cell, &end);
    return end == cell || *end ? NAN : v;
}

double *nni_csv_numbers(const nni_csv_table *t, const char *name)
{
    int col = nni_csv_column(t, name);
    double *v = col < 0 ? NULL : malloc((size_t)(t->rows ? t->rows : 1) * sizeof *v);
    for (int r = 0; v && r < t->rows; r++)
        v[r] = nni_csv_number(t, r, col);
    return v;
}

void nni_csv_free(nni_csv_table *t)
{
    for (int c = 0; t->head && c < t->cols; c++)
        free(t->head[c]);
    for (size_t i = 0; t->cells && i < (size_t)t->rows * (size_t)t->cols; i++)
        free(t->cells[i]);
    free(t->head);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

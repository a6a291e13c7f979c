/* SVG figures of the study commands. The text is built in
 * memory and written by the atomic whole-file write, so a figure is complete or absent. */
#include "study/plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/files.h"

typedef struct svg_text {
    char *data;
    size_t used, size;
    int failed;
} svg_text;

static void put(svg_text *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->used : NULL, t->data ? t->size - t->used : 0,
                          fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->data && t->used + (size_t)n < t->size) {
            t->used += (size_t)n;
            return;
        }
        size_t want = (t->size + (size_t)n + 1) * 2;
        char *grown = realloc(t->data, want);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->size = want;
    }
}

/* Text with &, < and > escaped. */
static void put_escaped(svg_text *t, const char *s)
{
    for (; *s; s++)
        put(t, "%s", *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                                                                            : (char[2]){*s, 0});
}

static nn_status finish(svg_text *t, const char *path, nn_error *err)
{
    put(t, "</svg>\n");
    nn_status st = t->failed ? nn_fail(err, NN_ERR_OTHER, "out of memory drawing %s", path)
                             : nni_write_file_atomic(path, t->data, t->used, err);
    free(t->data);
    return st;
}

/* A perceptually ordered scale from dark blue (0) through teal to yellow (1). */
static void color_of(double v, int *r, int *g, int *b)
{
    static const double stops[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (isnan(v)) {
        *r = *g = *b = 200;
        return;
    }
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    double x = v * 4;
    int i = x >= 4 ? 3 : (int)x;
    double f = x - i;
    *r = (int)lround(stops[i][0] + f * (stops[i + 1][0] - stops[i][0]));
    *g = (int)lround(stops[i][1] + f * (stops[i + 1][1] - stops[i][1]));
    *b = (int)lround(stops[i][2] + f * (stops[i + 1][2] - stops[i][2]));
}

nn_status nni_svg_heatmap(const char *path, const char *title, const double *values, int rows,
                          int cols, const char *const *row_names, const char *const *col_names,
                          nn_error *err)
{
    const int cell = cols > 24 || rows > 24 ? 18 : 40, left = 160, top = 50, bottom = 150;
    int width = left + cols * cell + 90, height = top + rows * cell + bottom;
    svg_text t = {0};
    put(&t, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" "
            "height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"24\" font-size=\"14\">",
        width, height, left);
    put_escaped(&t, title);
    put(&t, "</text>\n");
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            int red, green, blue;
            double v = values[r * cols + c];
            color_of(v, &red, &green, &blue);
            put(&t, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\">"
                    "<title>%.4f</title></rect>\n",
                left + c * cell, top + r * cell, cell, cell, red, green, blue, v);
            if (cell >= 40)
                put(&t, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%.2f</text>\n",
                    left + c * cell + cell / 2, top + r * cell + cell / 2 + 4,
                    v > 0.6 ? "black" : "white", v);
        }
        put(&t, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6,
            top + r * cell + cell / 2 + 4);
        put_escaped(&t, row_names[r]);
        put(&t, "</text>\n");
    }
    for (int c = 0; c < cols; c++) {
        int x = left + c * cell + cell / 2, y = top + rows * cell + 8;
        put(&t, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" transform=\"rotate(-60 %d %d)\">",
            x, y, x, y);
        put_escaped(&t, col_names[c]);
        put(&t, "</text>\n");
    }
    /* The colour bar. */
    int bar_x = left + cols * cell + 30;
    for (int i = 0; i < 50; i++) {
        int red, green, blue;
        color_of(1 - i / 49.0, &red, &green, &blue);
        put(&t, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"/>\n",
            bar_x, top + i * (rows * cell) / 50, (rows * cell) / 50 + 1, red, green, blue);
    }
    put(&t, "<text x=\"%d\" y=\"%d\">1</text><text x=\"%d\" y=\"%d\">0</text>\n", bar_x + 18,
        top + 10, bar_x + 18, top + rows * cell);
    return finish(&t, path, err);
}

nn_status nni_svg_lines(const char *path, const char *title, const char *y_label,
                        const char *const *x_names, int n_x, const double *const *series,
                        const char *const *series_names, int n_series, double y_min,
                        nn_error *err)
{
    static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
    const int left = 70, top = 50, plot_w = 60 * (n_x > 4 ? n_x : 4), plot_h = 300;
    int width = left + plot_w + 180, height = top + plot_h + 150;
    svg_text t = {0};
    put(&t, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" "
            "height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"24\" font-size=\"14\">",
        width, height, left);
    put_escaped(&t, title);
    put(&t, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"black\"/>\n",
        left, top, plot_w, plot_h);
    for (int i = 0; i <= 5; i++) {
        double v = y_min + (1 - y_min) * i / 5;
        int y = top + plot_h - plot_h * i / 5;
        put(&t, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f</text>\n",
            left, y, left + plot_w, y, left - 6, y + 4, v);
    }
    put(&t, "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">",
        top + plot_h / 2, top + plot_h / 2);
    put_escaped(&t, y_label);
    put(&t, "</text>\n");
    for (int i = 0; i < n_x; i++) {
        int x = left + (2 * i + 1) * plot_w / (2 * n_x), y = top + plot_h + 12;
        put(&t, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" transform=\"rotate(-50 %d %d)\">",
            x, y, x, y);
        put_escaped(&t, x_names[i]);
        put(&t, "</text>\n");
    }
    for (int s = 0; s < n_series; s++) {
        const char *color = colors[s % 4];
        put(&t, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
        for (int i = 0; i < n_x; i++)
            if (!isnan(series[s][i]))
                put(&t, "%d,%.1f ", left + (2 * i + 1) * plot_w / (2 * n_x),
                    top + plot_h - plot_h * (series[s][i] - y_min) / (1 - y_min));
        put(&t, "\"/>\n");
        for (int i = 0; i < n_x; i++)
            if (!isnan(series[s][i]))
                put(&t, "<circle cx=\"%d\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%.4f</title>"
                        "</circle>\n",
                    left + (2 * i + 1) * plot_w / (2 * n_x),
                    top + plot_h - plot_h * (series[s][i] - y_min) / (1 - y_min), color,
                    series[s][i]);
        put(&t, "<text x=\"%d\" y=\"%d\" fill=\"%s\">", left + plot_w + 12, top + 14 + 16 * s,
            color);
        put_escaped(&t, series_names[s]);
        put(&t, "</text>\n");
    }
    return finish(&t, path, err);
}

/* The report's charts as standalone SVG: line and scatter charts (linear or log axes), a
 * labelled heatmap (confusion matrices), a spread chart (one column per group: its points,
 * mean and standard deviation) and parallel coordinates. Every chart has a title, titled
 * axes, ticks at round values, a legend when it has several series, and the colour-blind-safe
 * Okabe-Ito palette; labels that would collide are rotated, thinned or shortened. */
#ifndef NNI_REPORT_SVG_PLOT_H
#define NNI_REPORT_SVG_PLOT_H

#include "core/text.h"

enum { NNI_PLOT_MAX_SERIES = 24, NNI_PLOT_MAX_MARKS = 64 };

typedef struct nni_plot_series {
    const char *label;
    const double *x, *y; /* n points; NaN values are skipped (the line breaks) */
    int n;
    int points_only; /* a scatter: markers, no line */
    int dashed;
    int colour;      /* palette index; -1: by series position */
} nni_plot_series;

typedef struct nni_plot {
    const char *title, *x_title, *y_title;
    int log_x, log_y;
    int x_integer;     /* ticks at whole numbers only (epochs, trials) */
    /* a categorical x axis: x values 0 .. n_x_names-1 named x_names[i] (layers by depth) */
    const char *const *x_names;
    int n_x_names;
    nni_plot_series series[NNI_PLOT_MAX_SERIES];
    int n_series;
    double marks[NNI_PLOT_MAX_MARKS]; /* dashed vertical lines at these x (halving rungs) */
    int n_marks;
    const char *mark_label;
} nni_plot;

/* Appends `<svg ...>...</svg>` with the given id. */
void nni_plot_lines(nni_text *out, const nni_plot *p, const char *id);

/* A rows x cols matrix of counts; each row shaded by its share of the row's total. */
typedef struct nni_heatmap {
    const char *title, *x_title, *y_title;
    int rows, cols;
    const char *const *row_labels, *const *col_labels;
    const long long *counts; /* rows x cols */
    /* instead of counts: values (rows x cols, NaN: none) shaded from the smallest to the
     * largest of all cells and printed with three decimals */
    const double *values;
} nni_heatmap;
void nni_plot_heatmap(nni_text *out, const nni_heatmap *h, const char *id);

/* One column per group, each with its values as dots, the mean as a bar and +-1 standard
 * deviation as a whisker. */
typedef struct nni_spread {
    const char *title, *x_title, *y_title;
    int groups;
    const char *const *labels;
    const double *const *values; /* groups arrays */
    const int *counts;
} nni_spread;
void nni_plot_spread(nni_text *out, const nni_spread *s, const char *id);

/* Parallel coordinates: one vertical axis per dimension (its own range, log when `log`),
 * one polyline per item, coloured by the last dimension (the metric). */
typedef struct nni_parallel {
    const char *title;
    int dims, items;
    const char *const *names;
    const int *log;
    const double *values; /* items x dims; NaN: the item has no value there */
    /* a categorical dimension d: values are 0 .. n_categories[d]-1, named categories[d][i]
     * (NULL arrays or n_categories[d] == 0: numeric) */
    const char *const *const *categories;
    const int *n_categories;
    int maximize;         /* the best item (by the last dimension) is drawn on top */
} nni_parallel;
void nni_plot_parallel(nni_text *out, const nni_parallel *p, const char *id);

/* The palette's colour i (wraps). */
const char *nni_plot_colour(int i);

#endif

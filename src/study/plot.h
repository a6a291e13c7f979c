/* The study commands' figures as SVG text (any browser shows them; no plotting library
 * needed): a heatmap of a matrix with row and column names, and a line of values by
 * position (probe accuracy by depth). */
#ifndef NN_STUDY_PLOT_H
#define NN_STUDY_PLOT_H

#include <stdint.h>

#include "nn/error.h"

/* values[r * cols + c] in [0, 1] (NaN drawn grey). Writes `path` whole. */
nn_status nni_svg_heatmap(const char *path, const char *title, const double *values, int rows,
                          int cols, const char *const *row_names, const char *const *col_names,
                          nn_error *err);

/* One or more series over the same x positions (names under the axis), y in [y_min, 1]. */
nn_status nni_svg_lines(const char *path, const char *title, const char *y_label,
                        const char *const *x_names, int n_x, const double *const *series,
                        const char *const *series_names, int n_series, double y_min,
                        nn_error *err);

#endif

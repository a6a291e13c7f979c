/* Where the study commands write: a new output directory (an existing path is refused, so
 * earlier results are never overwritten, as for runs/) and whole-file CSV tables. */
#ifndef NN_STUDY_OUTPUT_H
#define NN_STUDY_OUTPUT_H

#include <stddef.h>

#include "nn/error.h"

nn_status nni_study_new_dir(const char *path, nn_error *err);
/* The same check alone, before the work (nothing is created). */
nn_status nni_study_check_absent(const char *path, nn_error *err);

/* An output file's path: dir/name. */
nn_status nni_study_path(char *out, size_t size, const char *dir, const char *name,
                         nn_error *err);

/* A matrix as CSV: a header row "<corner>,<col names>", then one row per row name. */
nn_status nni_study_write_matrix_csv(const char *path, const char *corner, const double *values,
                                     int rows, int cols, const char *const *row_names,
                                     const char *const *col_names, nn_error *err);

#endif

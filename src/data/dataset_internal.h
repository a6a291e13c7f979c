/* Inside of the dataset files of src/data/ (dataset.c: the loaded dataset; dataset_file.c:
 * opening files; dataset_check.c: layout and value checks; dataset_read.c: loading;
 * dataset_write.c: the writer), shared by them and nothing else. */
#ifndef NNI_DATA_DATASET_INTERNAL_H
#define NNI_DATA_DATASET_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/data.h"

/* N x F, N x H x W or N x C x H x W. */
#define NNI_DATASET_MAX_X_RANK 4

/* The split's shape and types, checked before anything large is read. */
typedef struct dataset_split_layout {
    int x_rank, y_rank;
    hsize_t x_dims[NNI_DATASET_MAX_X_RANK], y_dims[2];
    int x_is_uint8;
    nn_target_kind target_kind;
    int64_t target_width;
    int64_t rows;
} dataset_split_layout;

/* ---- opening files (dataset_file.c) */

/* "uint8", "float32", "string", ... for messages. */
void nni_dataset_type_name(hid_t type, char *buf, size_t size);
/* File access properties for every dataset file we open or create (close with
 * nni_h5_close). */
hid_t nni_dataset_file_access(void);
/* Opens path read-only, with one clear message for a missing file, a directory, a file that
 * is not HDF5 or one HDF5 cannot open. */
nn_status nni_dataset_open_for_reading(const char *path, hid_t *file, nn_error *err);

/* ---- checks (dataset_check.c) */

/* Not empty, no '/', not "." or "..", and short enough for nn_dataset.split. */
int nni_dataset_valid_split_name(const char *split);
/* a * b * c as a size_t, or 0 when it overflows (callers never ask for zero-size buffers). */
size_t nni_dataset_checked_bytes(uint64_t a, uint64_t b, uint64_t c);
/* rows x width floats of `member` ("x", "y") must be finite: else NN_ERR_DATA naming the
 * file row (first_row + the row) and whether it is NaN or Inf. */
nn_status nni_dataset_check_finite(const float *values, int64_t rows, int64_t width,
                                   int64_t first_row, const char *path, const char *split,
                                   const char *member, nn_error *err);
/* Reading: the shapes and types of a split's x and y (NN_ERR_DATA naming the dataset). */
nn_status nni_dataset_check_layout(hid_t x, hid_t y, const char *path, const char *split,
                                   dataset_split_layout *layout, nn_error *err);
/* Reading: every source file of a virtual dataset (h5py's VirtualLayout) can be read. */
nn_status nni_dataset_check_virtual_sources(hid_t dset, const char *path, const char *split,
                                            const char *member, nn_error *err);
/* Writing: what the writer is given for a split, before anything is written. */
nn_status nni_dataset_check_split(const char *path, const char *split, const nn_dataset *ds,
                                  nn_error *err);

/* ---- loading (dataset_read.c) */

/* One sample stored H x W x C (data.layout: nhwc) rearranged to C x H x W in place, elem
 * bytes a value; scratch holds a sample. */
void nni_dataset_row_channels_first(void *row, size_t elem, int64_t channels, int64_t pixels,
                                    void *scratch);

/* ---- the loaded dataset (dataset.c) */

void nni_dataset_free_strings(char **strings, int count);

#endif

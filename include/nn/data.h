/* Datasets: HDF5 files in the layout of DESIGN.md section 5, held in memory per split, and
 * the importers that write them (IDX, CSV).
 *
 * File layout: groups /train, /test, optional /val; each holds `x` (N x F or N x C x H x W,
 * uint8 or float32, chunked along N, attributes `scale` and `offset`: value = raw * scale +
 * offset) and `y` (N integer labels, or N x T float32 targets). Root attributes:
 * `num_classes` (int) and `class_names` (strings). */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stdint.h>

#include "nn/error.h"

#define NN_MAX_SAMPLE_DIMS 3

typedef enum nn_target_kind { NN_TARGET_LABELS, NN_TARGET_VALUES } nn_target_kind;

typedef struct nn_dataset {
    char path[512];
    char split[64];
    int64_t n;                          /* samples held (rows [first, first + n) of the file) */
    int64_t first;                      /* first row of the file held here */
    int64_t rows_in_file;               /* rows of the whole split in the file */
    int sample_ndim;                    /* 1 (features) or 3 (C, H, W) */
    int64_t sample_shape[NN_MAX_SAMPLE_DIMS];
    int64_t sample_size;                /* product of sample_shape */
    int x_is_uint8;
    uint8_t *x_u8;                      /* n x sample_size, when x_is_uint8 */
    float *x_f32;                       /* n x sample_size, otherwise */
    float scale, offset;                /* value = raw * scale + offset */
    nn_target_kind target_kind;
    int32_t *labels;                    /* n, when NN_TARGET_LABELS */
    float *targets;                     /* n x target_width, when NN_TARGET_VALUES */
    int64_t target_width;               /* 1 for labels */
    int num_classes;                    /* from the root attribute, or max label + 1 */
    int n_class_names;
    char **class_names;
} nn_dataset;

/* Load the whole split `split` ("train", "test", "val") of an HDF5 file.
 * Errors (NN_ERR_DATA) name the file, the dataset and, for bad values, the row index:
 * missing file/group/dataset, wrong rank, x/y length mismatch, unsupported dtype, labels
 * outside [0, num_classes), NaN/Inf in float x or y, empty split. */
nn_status nn_dataset_load(const char *path, const char *split, nn_dataset *out, nn_error *err);
/* Load only rows [first, first + count) (hyperslab read; for shard sampling). */
nn_status nn_dataset_load_rows(const char *path, const char *split, int64_t first,
                               int64_t count, nn_dataset *out, nn_error *err);
/* True if the file has that split group. */
int nn_dataset_has_split(const char *path, const char *split);
void nn_dataset_free(nn_dataset *ds);

/* Gather rows idx[0..count) (indices local to ds) as float32 into out (count x sample_size),
 * applying scale/offset. */
void nn_dataset_gather_x(const nn_dataset *ds, const int64_t *idx, int64_t count, float *out);

/* Writing (importers, tests). Creates `path` if it does not exist, otherwise opens it for
 * writing; replaces the split group if present. x is uint8 when x_u8 != NULL, else float.
 * The file is written to "<path>.tmp" and renamed by nn_dataset_file_commit(), so a crash
 * never leaves a half-written dataset under the final name. */
typedef struct nn_dataset_writer nn_dataset_writer;
nn_status nn_dataset_writer_open(const char *path, nn_dataset_writer **out, nn_error *err);
nn_status nn_dataset_writer_add_split(nn_dataset_writer *w, const char *split,
                                      const nn_dataset *ds, nn_error *err);
nn_status nn_dataset_writer_set_classes(nn_dataset_writer *w, int num_classes,
                                        const char *const *class_names, int n_names,
                                        nn_error *err);
nn_status nn_dataset_writer_commit(nn_dataset_writer *w, nn_error *err); /* fsync + rename; frees w */
void nn_dataset_writer_abort(nn_dataset_writer *w); /* removes the temporary file; frees w */

/* Validation split carved from train: stratified by label (for label targets; plain random
 * for value targets), fixed by the seed. Writes the row indices of each part in ascending
 * order into malloc'ed arrays. fraction in (0, 1). */
nn_status nn_split_stratified(const nn_dataset *train, double fraction, uint64_t seed,
                              int64_t **train_rows, int64_t *n_train, int64_t **val_rows,
                              int64_t *n_val, nn_error *err);

/* Importers. IDX files may be gzip-compressed (.gz, detected by magic bytes). The test pair
 * is optional (NULL). Fashion-MNIST class names are attached when the labels look like it
 * (10 classes, 28x28) and class_names is NULL. */
nn_status nn_import_idx(const char *train_images, const char *train_labels,
                        const char *test_images, const char *test_labels, const char *out_path,
                        nn_error *err);

typedef struct nn_csv_options {
    const char *train_csv;   /* required */
    const char *test_csv;    /* optional */
    int label_column;        /* 0-based; negative counts from the end (-1 = last) */
    int has_header;          /* 1: first row is a header (auto-detected when -1) */
    int targets_are_values;  /* 1: label column(s) are float regression targets */
    int n_target_columns;    /* with targets_are_values: how many columns from label_column */
    char delimiter;          /* ',' by default */
} nn_csv_options;
nn_status nn_import_csv(const nn_csv_options *opts, const char *out_path, nn_error *err);

#endif

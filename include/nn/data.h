/* Datasets: HDF5 files in the layout below, loaded into memory per split (the trainer may
 * also share one copy per node or stream the samples: data.cache), and the importers that
 * write them (IDX, CSV). How the trainer samples, splits, gathers and augments batches is
 * internal (src/data/sampler.h, split.h, gather.h, augment.h).
 *
 * File layout: groups /train, /test, optional /val; each holds `x` (N x F or N x C x H x W,
 * uint8 or float32, chunked along N, attributes `scale` and `offset`: value = raw * scale +
 * offset) and `y` (N integer labels, or N x T float32 targets). Root attributes:
 * `num_classes` (int) and `class_names` (strings). Sequences (x N x T x F, or N x T token
 * ids) of different lengths are padded to T and may carry `x_lengths` (N integers in
 * [1, T]: the valid steps of each row); label sequences (y N x S) may carry `y_lengths`
 * (N integers in [0, S]) beside or instead of the -1 padding. */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"
#include "nn/tensor.h"

#define NN_MAX_SAMPLE_DIMS 3

typedef enum nn_target_kind { NN_TARGET_LABELS, NN_TARGET_VALUES } nn_target_kind;

typedef struct nn_dataset {
    char path[512];
    char split[64];
    int64_t n;                          /* samples held (rows [first, first + n) of the file) */
    int64_t first;                      /* first row of the file held here */
    int64_t rows_in_file;               /* rows of the whole split in the file */
    int sample_ndim;                    /* 1 (features), 3 (C, H, W); 2 (T, F) when writing */
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
    int64_t steps;                      /* x's second dimension (T of a sequence) */
    int32_t *x_lengths;                 /* n valid steps per row, or NULL (all T) */
    int32_t *y_lengths;                 /* n target lengths per row, or NULL */
    int num_classes;                    /* from the root attribute, or max label + 1 */
    int n_class_names;
    char **class_names;
    void *mapping;                      /* x and the targets live in this shared mapping of */
    size_t mapping_bytes;               /* mapping_bytes (data.cache: node): unmapped, not freed */
} nn_dataset;

/* Ownership: a loaded nn_dataset owns its arrays (x_u8 or x_f32, labels or targets,
 * class_names and each name); release them with nn_dataset_free(), which also zeroes the
 * struct. On failure `out` is left zeroed. n_class_names is 0 when the file has no
 * class_names attribute. num_classes comes from the root attribute, else the number of class
 * names, else max label + 1 over the whole split in the file (also for a row range, so every
 * shard agrees); 0 for value targets without the attribute.
 *
 * Accepted on reading (h5py defaults included): x of any integer or float type (uint8 is kept
 * as bytes, the rest converted to float32); N x H x W images as one channel (sample_shape
 * 1 x H x W); y of any integer type, shape N or N x 1 (labels), or float, shape N or N x T
 * (targets); numeric attributes of any integer/float type; class_names as variable- or
 * fixed-length strings.
 *
 * Load the whole split `split` ("train", "test", "val") of an HDF5 file.
 * Errors (NN_ERR_DATA) name the file, the dataset and, for bad values, the row index:
 * missing file/group/dataset, wrong rank, x/y length mismatch, unsupported dtype, labels
 * outside [0, num_classes), NaN/Inf in float x or y, empty split. A split name that is empty
 * or contains '/' is NN_ERR_CONFIG. */
nn_status nn_dataset_load(const char *path, const char *split, nn_dataset *out, nn_error *err);
/* Load only rows [first, first + count) (hyperslab read; for shard sampling). count may be 0;
 * a range outside the split is NN_ERR_DATA. Row indices in error messages are file rows. */
nn_status nn_dataset_load_rows(const char *path, const char *split, int64_t first,
                               int64_t count, nn_dataset *out, nn_error *err);
/* Which arrays of a split hold the samples and the targets, and how the samples are laid
 * out (the config's data.x, data.y and data.layout). */
typedef struct nn_dataset_source {
    const char *x, *y; /* dataset names in the split's group; NULL: "x", "y" */
    int channels_last; /* x is N x H x W x C: transposed to N x C x H x W as it is read */
    int targets_only;  /* x is not read (x_u8 and x_f32 stay NULL): its samples are streamed */
    /* Called (when set) as x is read, in pieces of about 16 MiB: rows_read of the rows of
     * this read, row_bytes each; for a progress line while a large split loads. */
    void (*progress)(void *ctx, int64_t rows_read, int64_t rows, size_t row_bytes);
    void *progress_ctx;
} nn_dataset_source;
/* nn_dataset_load_rows from the source's arrays (src NULL: x, y, channels first); count < 0
 * (with first 0) loads the whole split. */
nn_status nn_dataset_load_from(const char *path, const char *split, const nn_dataset_source *src,
                               int64_t first, int64_t count, nn_dataset *out, nn_error *err);
/* Rows of a split in the file (validating its layout), without loading it. */
nn_status nn_dataset_count_rows(const char *path, const char *split, int64_t *rows,
                                nn_error *err);
/* True if the file has that split group. */
int nn_dataset_has_split(const char *path, const char *split);
void nn_dataset_free(nn_dataset *ds);

/* Writing (importers, tests). Creates `path` if it does not exist, otherwise opens it for
 * writing; replaces the split group if present. x is uint8 when x_u8 != NULL, else float.
 * The file is written to "<path>.tmp" and renamed by nn_dataset_writer_commit(), so a crash
 * never leaves a half-written dataset under the final name.
 *
 * Splits of an existing file that are not added again are kept (copied into the temporary
 * file at commit), and so are its root attributes unless set_classes is called, which then
 * owns both num_classes and class_names. An existing file that is not readable HDF5 is an
 * error: it is never replaced blindly. Commit and abort free the writer, also on failure.
 *
 * add_split writes rows [0, ds->n) of ds (ds->first is ignored): x as uint8 or float32
 * (N x F, N x T x F when sample_ndim is 2, or N x C x H x W when 3) with float32 attributes scale and offset
 * (scale must be non-zero), y as int32 labels (N) or float32 targets (N x target_width).
 * sample_size may be left 0. Negative labels and NaN/Inf values are refused before anything
 * is written; adding the same split twice to one writer is an error. The writer does not
 * take ownership of ds. */
typedef struct nn_dataset_writer nn_dataset_writer;
nn_status nn_dataset_writer_open(const char *path, nn_dataset_writer **out, nn_error *err);
/* Like nn_dataset_writer_open, but nothing of an existing file is kept: the committed file
 * holds exactly what this writer adds (importers use it, so that a re-import never mixes in
 * splits of an earlier dataset). */
nn_status nn_dataset_writer_create(const char *path, nn_dataset_writer **out, nn_error *err);
nn_status nn_dataset_writer_add_split(nn_dataset_writer *w, const char *split,
                                      const nn_dataset *ds, nn_error *err);
nn_status nn_dataset_writer_set_classes(nn_dataset_writer *w, int num_classes,
                                        const char *const *class_names, int n_names,
                                        nn_error *err);
/* /<split>/source_rows: the rows of another file a split was taken from (a coreset), int64,
 * after the split itself was added. */
nn_status nn_dataset_writer_add_source_rows(nn_dataset_writer *w, const char *split,
                                            const int64_t *rows, int64_t n, nn_error *err);
/* fsync + rename; frees w */
nn_status nn_dataset_writer_commit(nn_dataset_writer *w, nn_error *err);
void nn_dataset_writer_abort(nn_dataset_writer *w); /* removes the temporary file; frees w */

/* Importers. Both write a fresh file (nn_dataset_writer_create): splits "train" and, when
 * given, "test".
 *
 * IDX files may be gzip-compressed (.gz, detected by magic bytes). The test pair is optional
 * (both NULL). x is uint8 N x 1 x H x W with scale 1/255, offset 0; y int32 labels;
 * num_classes = max label + 1 over both splits. Class names: Fashion-MNIST's when the data
 * look like it (10 classes, 28x28) and one of the four paths contains "fashion" (any case),
 * since MNIST digits have the same shape; otherwise "0", "1", ... */
nn_status nn_import_idx(const char *train_images, const char *train_labels,
                        const char *test_images, const char *test_labels, const char *out_path,
                        nn_error *err);
/* The same with the class names chosen by the caller (n_names must equal the number of
 * classes found); class_names NULL picks them as nn_import_idx does. */
nn_status nn_import_idx_named(const char *train_images, const char *train_labels,
                              const char *test_images, const char *test_labels,
                              const char *const *class_names, int n_names,
                              const char *out_path, nn_error *err);
/* T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot. */
extern const char *const nn_fashion_mnist_class_names[10];

/* CSV: features become x float32 N x F (scale 1, offset 0). Labels are non-negative
 * integers (integral values such as "3.0" are accepted; num_classes = max label + 1 over both
 * files, no class names) or, when the first row's label is not a number, class names: the
 * names of both files sorted are the classes (class k = the k-th name, stored as
 * `class_names`). index_column names a header column that is dropped (pandas writes its
 * index as a first column with an empty name, "": a header with an unnamed column is
 * refused unless index_column names it). With targets_are_values the
 * n_target_columns columns from label_column (at least 1) become float32 targets N x T.
 * Quoted fields, CRLF line ends and blank lines are accepted. Errors name file:line:column
 * (1-based column). The test file must have the train file's number of columns. */
typedef struct nn_csv_options {
    const char *train_csv;   /* required */
    const char *test_csv;    /* optional */
    int label_column;        /* 0-based; negative counts from the end (-1 = last) */
    int has_header;          /* 1: first row is a header (auto-detected when -1) */
    int targets_are_values;  /* 1: label column(s) are float regression targets */
    int n_target_columns;    /* with targets_are_values: how many columns from label_column */
    char delimiter;          /* ',' when 0 */
    const char *index_column; /* header name of a column to drop (NULL: none) */
} nn_csv_options;
nn_status nn_import_csv(const nn_csv_options *opts, const char *out_path, nn_error *err);

/* Time series: a CSV file with a header, rows in time order, read as windows of `window`
 * consecutive rows of the named columns (x: N x window x n_columns float32). Targets: the
 * next `horizon` values of the target column (y: N x horizon floats; horizon >= 1), or with
 * target_is_class the class of the row `horizon` rows after the window's last (horizon 0:
 * the last row's own), its integer ids when all are, else its names sorted (class_names).
 * Windows start every `stride` rows. split_at: 0 puts every window in "train"; a fraction
 * in (0, 1) or a row number splits the rows there, "train" holding the windows whose rows
 * and targets all lie before it and "test" those wholly after it. A column that is not in
 * the header is NN_ERR_CONFIG; a value that is not a number NN_ERR_DATA naming
 * file:line:column. */
typedef struct nn_series_options {
    const char *csv;
    const char *const *columns; /* feature columns, by header name */
    int n_columns;
    const char *target;         /* NULL: the first feature column */
    int target_is_class;
    int64_t window, horizon, stride;
    double split_at;
    char delimiter;             /* ',' when 0 */
} nn_series_options;
nn_status nn_import_series(const nn_series_options *opts, const char *out_path, nn_error *err);

#endif

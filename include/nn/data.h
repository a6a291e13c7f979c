/* Datasets: HDF5 files in the layout below, held in memory per split, and the importers that
 * write them (IDX, CSV).
 *
 * File layout: groups /train, /test, optional /val; each holds `x` (N x F or N x C x H x W,
 * uint8 or float32, chunked along N, attributes `scale` and `offset`: value = raw * scale +
 * offset) and `y` (N integer labels, or N x T float32 targets). Root attributes:
 * `num_classes` (int) and `class_names` (strings). */
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
/* Rows of a split in the file (validating its layout), without loading it. */
nn_status nn_dataset_count_rows(const char *path, const char *split, int64_t *rows,
                                nn_error *err);
/* True if the file has that split group. */
int nn_dataset_has_split(const char *path, const char *split);
void nn_dataset_free(nn_dataset *ds);

/* Gather rows idx[0..count) (indices local to ds) as float32 into out (count x sample_size),
 * applying scale/offset. Hot path: no allocation and no bounds checks; every idx must be in
 * [0, ds->n). */
void nn_dataset_gather_x(const nn_dataset *ds, const int64_t *idx, int64_t count, float *out);

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
 * (N x F, or N x C x H x W when sample_ndim is 3) with float32 attributes scale and offset
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
nn_status nn_dataset_writer_commit(nn_dataset_writer *w, nn_error *err); /* fsync + rename; frees w */
void nn_dataset_writer_abort(nn_dataset_writer *w); /* removes the temporary file; frees w */

/* Validation split carved from train: stratified by label (for label targets; plain random
 * for value targets), fixed by the seed. Writes the row indices of each part in ascending
 * order into malloc'ed arrays. fraction in (0, 1). */
nn_status nn_split_stratified(const nn_dataset *train, double fraction, uint64_t seed,
                              int64_t **train_rows, int64_t *n_train, int64_t **val_rows,
                              int64_t *n_val, nn_error *err);

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

/* CSV: features become x float32 N x F (scale 1, offset 0). Labels must be non-negative
 * integers (integral values such as "3.0" are accepted; strings are not mapped to classes);
 * num_classes = max label + 1 over both files, no class names. With targets_are_values the
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
} nn_csv_options;
nn_status nn_import_csv(const nn_csv_options *opts, const char *out_path, nn_error *err);

/* Batch sampling. `global`: every rank draws the same permutation of the whole training set
 * per epoch, global batch b is perm[bB, (b+1)B) and each rank takes its contiguous share, so
 * the trained model does not depend on the number of ranks. `shard`: each rank holds only
 * its own contiguous part of the file and shuffles it alone (for data larger than one node's
 * memory); every rank contributes its share of each global batch, cycling its shard. */
typedef enum nn_sampling { NN_SAMPLING_GLOBAL, NN_SAMPLING_SHARD } nn_sampling;

typedef struct nn_sampler {
    nn_sampling mode;
    const int64_t *rows;     /* candidate rows (indices into the local dataset) */
    int64_t n_rows;          /* local candidates (all of them in global mode) */
    int64_t n_total;         /* rows over all ranks */
    int64_t global_batch;
    int64_t batches;         /* per epoch */
    int rank, size;
    uint64_t seed;
    int64_t *perm;           /* n_rows */
} nn_sampler;

/* n_total: rows over all ranks (== n_rows in global mode). */
nn_status nn_sampler_init(nn_sampler *s, nn_sampling mode, const int64_t *rows, int64_t n_rows,
                          int64_t n_total, int64_t global_batch, int rank, int size,
                          uint64_t seed, nn_error *err);
void nn_sampler_free(nn_sampler *s);
void nn_sampler_epoch(nn_sampler *s, int epoch);
/* This rank's rows of global batch b into local_rows (capacity: ceil(B / size)); returns
 * their count; *global_rows = rows of the whole global batch. */
int64_t nn_sampler_batch(const nn_sampler *s, int64_t b, int64_t *local_rows,
                         int64_t *global_rows);

/* Augmentation of training batches (`train.augment`), applied in place to the gathered float
 * batch after normalization, never to validation or test data:
 *   shift: S     translate by (dx, dy) uniform in [-S, S]^2, zero fill (a random crop of the
 *                image padded with S zeros on each side)
 *   flip: true   mirror left-right with probability 1/2
 *   rotate: D    rotate about the centre by an angle uniform in [-D, D] degrees, bilinear,
 *                zero fill
 *   noise: s     add gaussian noise of standard deviation s to every value
 * Geometric options need image samples (C, H, W); noise works on any. Each sample's draws
 * come from the stream (seed, NNI_RNG_AUGMENT, epoch, global sample index), so a batch is
 * augmented the same whatever rank holds it, and differently every epoch. */
typedef struct nn_augment {
    int enabled;
    int64_t shift;
    int flip;
    double rotate; /* degrees */
    double noise;
    int64_t channels, height, width, sample_size;
    float *scratch; /* one sample, allocated by nn_augment_parse */
} nn_augment;

/* node may be NULL (no augmentation). Errors name the offending key. */
nn_status nn_augment_parse(const nn_cfg *node, nn_shape sample_shape, nn_augment *out,
                           nn_error *err);
/* Augments rows x sample_size floats in place; sample_ids are the rows' global indices. */
void nn_augment_batch(const nn_augment *aug, float *x, int64_t rows, const int64_t *sample_ids,
                      uint64_t seed, uint32_t epoch);
void nn_augment_free(nn_augment *aug);
/* For --help-catalogue. */
void nn_augment_list(void (*emit)(const char *line, void *ctx), void *ctx);

#endif

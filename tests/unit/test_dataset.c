/* HDF5 datasets: write/read round trips, row ranges, gathering with scale/offset, every
 * data error (one line naming file, dataset and index; nothing printed), the writer's
 * atomicity and preservation of other splits, and the stratified validation split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/gather.h"
#include "data/source.h"
#include "data/split.h"
#include "nn/data.h"

/* ---- helpers ------------------------------------------------------------------------- */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* An in-memory split: uint8 images 1 x 4 x 3 or float features 5, labels or 2 targets. The
 * values are a function of (seed, row, column) so any row can be checked. */
static uint8_t u8_value(int seed, int64_t row, int64_t col)
{
    return (uint8_t)((seed * 31 + row * 7 + col * 3) % 256);
}

static float f32_value(int seed, int64_t row, int64_t col)
{
    return (float)(seed + row) * 0.5f - (float)col * 0.25f;
}

static nn_dataset make_split(int64_t n, int uint8_x, int labels, int seed, int classes)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = n;
    if (uint8_x) {
        ds.sample_ndim = 3;
        ds.sample_shape[0] = 1;
        ds.sample_shape[1] = 4;
        ds.sample_shape[2] = 3;
        ds.sample_size = 12;
        ds.x_is_uint8 = 1;
        ds.x_u8 = malloc((size_t)(n * 12));
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < 12; j++)
                ds.x_u8[i * 12 + j] = u8_value(seed, i, j);
        ds.scale = 1.0f / 255.0f;
    } else {
        ds.sample_ndim = 1;
        ds.sample_shape[0] = 5;
        ds.sample_size = 5;
        ds.x_f32 = malloc((size_t)(n * 5) * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < 5; j++)
                ds.x_f32[i * 5 + j] = f32_value(seed, i, j);
        ds.scale = 2.0f;
        ds.offset = -1.0f;
    }
    if (labels) {
        ds.target_kind = NN_TARGET_LABELS;
        ds.target_width = 1;
        ds.labels = malloc((size_t)n * sizeof(int32_t));
        for (int64_t i = 0; i < n; i++)
            ds.labels[i] = (int32_t)((i * 5 + seed) % classes);
    } else {
        ds.target_kind = NN_TARGET_VALUES;
        ds.target_width = 2;
        ds.targets = malloc((size_t)(n * 2) * sizeof(float));
        for (int64_t i = 0; i < n; i++) {
            ds.targets[i * 2] = (float)i * 0.125f;
            ds.targets[i * 2 + 1] = -(float)seed;
        }
    }
    return ds;
}

static void write_file(const char *path, int create, const char *split, const nn_dataset *ds,
                       int classes, const char *const *names)
{
    nn_error err = {0};
    nn_dataset_writer *w = NULL;
    nn_status status = create ? nn_dataset_writer_create(path, &w, &err)
                              : nn_dataset_writer_open(path, &w, &err);
    if (status != NN_OK)
        fail_msg("%s", err.msg);
    if (nn_dataset_writer_add_split(w, split, ds, &err) != NN_OK)
        fail_msg("%s", err.msg);
    if (classes > 0 && nn_dataset_writer_set_classes(w, classes, names, names ? classes : 0,
                                                     &err) != NN_OK)
        fail_msg("%s", err.msg);
    if (nn_dataset_writer_commit(w, &err) != NN_OK)
        fail_msg("%s", err.msg);
}

static void load_ok(const char *path, const char *split, nn_dataset *ds)
{
    nn_error err = {0};
    if (nn_dataset_load(path, split, ds, &err) != NN_OK)
        fail_msg("%s", err.msg);
}

/* Expects a data error with exactly `want` as the message, and `out` left zeroed. */
static void expect_load_error(const char *path, const char *split, const char *want)
{
    nn_error err = {0};
    nn_dataset ds;
    memset(&ds, 0xAB, sizeof ds);
    nn_status status = nn_dataset_load(path, split, &ds, &err);
    if (status != NN_ERR_DATA || strcmp(err.msg, want) != 0)
        fail_msg("status %d, message '%s'; expected '%s'", status, err.msg, want);
    assert_int_equal(err.status, NN_ERR_DATA);
    assert_null(ds.x_u8);
    assert_null(ds.x_f32);
    assert_null(ds.labels);
    assert_int_equal(ds.n, 0);
}

/* Raw HDF5 writing for files the writer would refuse to produce. */
static void raw_dataset(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                        const hsize_t *dims, const void *data)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dset = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(dset >= 0);
    if (data)
        assert_true(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(dset);
    H5Sclose(space);
}

static void raw_int_attr(hid_t loc, const char *name, int64_t value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_INT64, &value);
    H5Aclose(attr);
    H5Sclose(space);
}

/* /train with float x n_x x 3 and int64 labels n_y (label i % 3), optional num_classes. The
 * edit callback may spoil the values before they are written. */
typedef void (*raw_edit)(float *x, int64_t *y);

static void raw_file(const char *path, int64_t n_x, int64_t n_y, int num_classes,
                     raw_edit edit)
{
    float *x = calloc((size_t)(n_x * 3 + 1), sizeof *x);
    int64_t *y = calloc((size_t)n_y + 1, sizeof *y);
    for (int64_t i = 0; i < n_x * 3; i++)
        x[i] = (float)i;
    for (int64_t i = 0; i < n_y; i++)
        y[i] = i % 3;
    if (edit)
        edit(x, y);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t group = H5Gcreate2(file, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t x_dims[2] = {(hsize_t)n_x, 3}, y_dims[1] = {(hsize_t)n_y};
    raw_dataset(group, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, x_dims, x);
    raw_dataset(group, "y", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, y_dims, y);
    if (num_classes > 0)
        raw_int_attr(file, "num_classes", num_classes);
    H5Gclose(group);
    H5Fclose(file);
    free(x);
    free(y);
}

/* ---- channels-last files (data.layout: nhwc) --------------------------------------------- */

/* /train/X (2 x 3 x 4 x 2, N x H x W x C, value = 100 n + 10 c + pixel) and /train/labels. */
static void test_channels_last(void **state)
{
    (void)state;
    float x[2 * 3 * 4 * 2];
    for (int n = 0; n < 2; n++)
        for (int p = 0; p < 12; p++)
            for (int c = 0; c < 2; c++)
                x[(n * 12 + p) * 2 + c] = (float)(100 * n + 10 * c + p);
    int64_t y[2] = {0, 1};
    hid_t file = H5Fcreate("nhwc.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t group = H5Gcreate2(file, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t x_dims[4] = {2, 3, 4, 2}, y_dims[1] = {2};
    raw_dataset(group, "X", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, x_dims, x);
    raw_dataset(group, "labels", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, y_dims, y);
    H5Gclose(group);
    H5Fclose(file);

    nn_dataset_source src = {.x = "X", .y = "labels", .channels_last = 1};
    nn_dataset ds;
    nn_error err = {0};
    if (nn_dataset_load_from("nhwc.h5", "train", &src, 0, -1, &ds, &err) != NN_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(ds.sample_ndim, 3);
    assert_int_equal(ds.sample_shape[0], 2);
    assert_int_equal(ds.sample_shape[1], 3);
    assert_int_equal(ds.sample_shape[2], 4);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 2; c++)
            for (int p = 0; p < 12; p++)
                assert_true(ds.x_f32[n * 24 + c * 12 + p] == (float)(100 * n + 10 * c + p));
    assert_true(ds.labels[1] == 1);

    /* Against the model input: right, channels-last mix-up, plain mismatch. */
    nn_cfg *cfg = NULL;
    assert_int_equal(nn_cfg_load_string("input: [2, 3, 4]\n", "m.yaml", &cfg, &err), NN_OK);
    const nn_cfg *where = nn_cfg_get(cfg, "input");
    assert_int_equal(nni_dataset_check_input(&ds, nn_shape_3d(2, 3, 4), &src, where, &err),
                     NN_OK);
    nn_dataset_source plain = {.x = "X", .y = "labels"};
    nn_dataset_free(&ds);
    assert_int_equal(nn_dataset_load_from("nhwc.h5", "train", &plain, 0, -1, &ds, &err), NN_OK);
    assert_int_equal(nni_dataset_check_input(&ds, nn_shape_3d(2, 3, 4), &plain, where, &err),
                     NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "channels 2 (model) vs 3 (file): the file looks channels-last (N x H x W x "
                                    "C); set data.layout: nhwc"));
    assert_int_equal(nni_dataset_check_input(&ds, nn_shape_3d(3, 2, 4), &plain, where, &err),
                     NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "(3, 4, 2) as (C, H, W): height 2 (model) vs 4 (file)"));
    assert_null(strstr(err.msg, "layout"));
    assert_int_equal(nni_dataset_check_input(&ds, nn_shape_1d(24), &plain, where, &err), NN_OK);
    assert_int_equal(nni_dataset_check_input(&ds, nn_shape_1d(25), &plain, where, &err),
                     NN_ERR_CONFIG);
    nn_dataset_free(&ds);
    nn_cfg_free(cfg);

    /* nhwc asks for images. */
    raw_file("flat.h5", 4, 4, 0, NULL);
    assert_int_equal(nn_dataset_load_from("flat.h5", "train", &src, 0, -1, &ds, &err),
                     NN_ERR_DATA);
    nn_dataset_source flat = {.channels_last = 1};
    assert_int_equal(nn_dataset_load_from("flat.h5", "train", &flat, 0, -1, &ds, &err),
                     NN_ERR_DATA);
    assert_string_equal(err.msg, "flat.h5: /train/x: data.layout nhwc needs N x H x W x C "
                                 "samples, but the array has rank 2");
}

/* ---- round trips --------------------------------------------------------------------- */

static void test_roundtrip_uint8_labels(void **state)
{
    (void)state;
    const char *path = "t_ds_roundtrip_u8.h5";
    const char *names[3] = {"cat", "dog", "bird \xc3\xa9"};
    nn_dataset train = make_split(50, 1, 1, 1, 3), test = make_split(20, 1, 1, 2, 3);
    unlink(path);
    nn_error err = {0};
    nn_dataset_writer *w = NULL;
    assert_int_equal(nn_dataset_writer_open(path, &w, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_add_split(w, "train", &train, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_add_split(w, "test", &test, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_set_classes(w, 3, names, 3, &err), NN_OK);
    /* The file is built in memory: nothing is on the disk before the commit. */
    assert_false(file_exists("t_ds_roundtrip_u8.h5.tmp"));
    assert_false(file_exists(path));
    assert_int_equal(nn_dataset_writer_commit(w, &err), NN_OK);
    assert_true(file_exists(path));
    assert_false(file_exists("t_ds_roundtrip_u8.h5.tmp"));

    nn_dataset ds;
    load_ok(path, "train", &ds);
    assert_string_equal(ds.path, path);
    assert_string_equal(ds.split, "train");
    assert_int_equal(ds.n, 50);
    assert_int_equal(ds.first, 0);
    assert_int_equal(ds.rows_in_file, 50);
    assert_int_equal(ds.sample_ndim, 3);
    assert_int_equal(ds.sample_shape[0], 1);
    assert_int_equal(ds.sample_shape[1], 4);
    assert_int_equal(ds.sample_shape[2], 3);
    assert_int_equal(ds.sample_size, 12);
    assert_true(ds.x_is_uint8);
    assert_null(ds.x_f32);
    assert_memory_equal(ds.x_u8, train.x_u8, 50 * 12);
    assert_true(ds.scale == 1.0f / 255.0f);
    assert_true(ds.offset == 0.0f);
    assert_int_equal(ds.target_kind, NN_TARGET_LABELS);
    assert_int_equal(ds.target_width, 1);
    assert_memory_equal(ds.labels, train.labels, 50 * sizeof(int32_t));
    assert_int_equal(ds.num_classes, 3);
    assert_int_equal(ds.n_class_names, 3);
    assert_string_equal(ds.class_names[0], "cat");
    assert_string_equal(ds.class_names[2], "bird \xc3\xa9");
    nn_dataset_free(&ds);
    assert_null(ds.x_u8);

    load_ok(path, "test", &ds);
    assert_int_equal(ds.n, 20);
    assert_memory_equal(ds.x_u8, test.x_u8, 20 * 12);
    assert_memory_equal(ds.labels, test.labels, 20 * sizeof(int32_t));
    nn_dataset_free(&ds);

    assert_true(nn_dataset_has_split(path, "train"));
    assert_true(nn_dataset_has_split(path, "test"));
    assert_false(nn_dataset_has_split(path, "val"));
    assert_false(nn_dataset_has_split("t_ds_no_such_file.h5", "train"));
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

static void test_roundtrip_float_targets(void **state)
{
    (void)state;
    const char *path = "t_ds_roundtrip_f32.h5";
    nn_dataset train = make_split(30, 0, 0, 3, 0);
    write_file(path, 1, "train", &train, 0, NULL);
    nn_dataset ds;
    load_ok(path, "train", &ds);
    assert_int_equal(ds.n, 30);
    assert_int_equal(ds.sample_ndim, 1);
    assert_int_equal(ds.sample_shape[0], 5);
    assert_false(ds.x_is_uint8);
    assert_null(ds.x_u8);
    assert_memory_equal(ds.x_f32, train.x_f32, 30 * 5 * sizeof(float));
    assert_true(ds.scale == 2.0f);
    assert_true(ds.offset == -1.0f);
    assert_int_equal(ds.target_kind, NN_TARGET_VALUES);
    assert_int_equal(ds.target_width, 2);
    assert_null(ds.labels);
    assert_memory_equal(ds.targets, train.targets, 30 * 2 * sizeof(float));
    assert_int_equal(ds.num_classes, 0);
    assert_int_equal(ds.n_class_names, 0);
    assert_null(ds.class_names);
    nn_dataset_free(&ds);
    nn_dataset_free(&train);
}

static void test_num_classes_without_attribute(void **state)
{
    (void)state;
    const char *path = "t_ds_no_classes.h5";
    nn_dataset train = make_split(40, 0, 1, 0, 7);
    write_file(path, 1, "train", &train, 0, NULL);
    nn_dataset ds;
    load_ok(path, "train", &ds);
    assert_int_equal(ds.num_classes, 7);
    assert_int_equal(ds.n_class_names, 0);
    nn_dataset_free(&ds);
    nn_dataset_free(&train);
}

static void test_load_rows(void **state)
{
    (void)state;
    const char *path = "t_ds_rows.h5";
    /* Labels i * 5 % 9: rows 10..13 hold 5, 1, 6, 2, yet the range reports 9 classes
     * (counted over the whole split, so every shard agrees). */
    nn_dataset train = make_split(60, 1, 1, 0, 9);
    write_file(path, 1, "train", &train, 0, NULL);
    nn_error err = {0};
    nn_dataset ds;
    assert_int_equal(nn_dataset_load_rows(path, "train", 10, 4, &ds, &err), NN_OK);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.first, 10);
    assert_int_equal(ds.rows_in_file, 60);
    assert_memory_equal(ds.x_u8, train.x_u8 + 10 * 12, 4 * 12);
    assert_memory_equal(ds.labels, train.labels + 10, 4 * sizeof(int32_t));
    for (int i = 0; i < 4; i++)
        assert_true(ds.labels[i] < 8);
    assert_int_equal(ds.num_classes, 9);
    nn_dataset_free(&ds);

    assert_int_equal(nn_dataset_load_rows(path, "train", 59, 1, &ds, &err), NN_OK);
    assert_int_equal(ds.n, 1);
    assert_int_equal(ds.labels[0], train.labels[59]);
    nn_dataset_free(&ds);

    assert_int_equal(nn_dataset_load_rows(path, "train", 55, 10, &ds, &err), NN_ERR_DATA);
    assert_string_equal(err.msg, "t_ds_rows.h5: /train: rows [55, 65) outside the split's 60 rows");
    assert_int_equal(nn_dataset_load_rows(path, "train", -1, 2, &ds, &err), NN_ERR_DATA);
    nn_dataset_free(&train);
}

static void test_gather(void **state)
{
    (void)state;
    nn_dataset u8 = make_split(6, 1, 1, 4, 3);
    u8.scale = 1.0f / 255.0f;
    u8.offset = -0.5f;
    int64_t idx[3] = {5, 0, 5};
    float out[3 * 12];
    nni_dataset_gather_x(&u8, idx, 3, out);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 12; j++)
            assert_float_equal(out[i * 12 + j], (float)u8_value(4, idx[i], j) / 255.0f - 0.5f,
                               1e-6);
    assert_float_equal(out[0], (float)u8_value(4, 5, 0) * (1.0f / 255.0f) - 0.5f, 0);

    nn_dataset f = make_split(6, 0, 1, 2, 3);
    float out_f[3 * 5];
    nni_dataset_gather_x(&f, idx, 3, out_f); /* scale 2, offset -1 */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            assert_float_equal(out_f[i * 5 + j], f32_value(2, idx[i], j) * 2.0f - 1.0f, 0);
    f.scale = 1.0f;
    f.offset = 0.0f;
    nni_dataset_gather_x(&f, idx, 3, out_f);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            assert_float_equal(out_f[i * 5 + j], f32_value(2, idx[i], j), 0);

    /* Through a file: the stored scale/offset are the ones applied. */
    const char *path = "t_ds_gather.h5";
    write_file(path, 1, "train", &u8, 0, NULL);
    nn_dataset ds;
    load_ok(path, "train", &ds);
    float from_file[3 * 12];
    nni_dataset_gather_x(&ds, idx, 3, from_file);
    assert_memory_equal(from_file, out, sizeof out);
    nn_dataset_free(&ds);
    nn_dataset_free(&u8);
    nn_dataset_free(&f);
}

/* ---- errors -------------------------------------------------------------------------- */

static void label_12_at_1234(float *x, int64_t *y)
{
    (void)x;
    y[1234] = 12;
}

static void negative_label_at_4(float *x, int64_t *y)
{
    (void)x;
    y[4] = -3;
}

static void nan_at_row_17(float *x, int64_t *y)
{
    (void)y;
    x[17 * 3 + 2] = NAN;
}

static void inf_at_row_2(float *x, int64_t *y)
{
    (void)y;
    x[2 * 3] = -INFINITY;
}

static void test_errors(void **state)
{
    (void)state;
    /* Everything below must stay silent: HDF5's own error printing is switched off. */
    fflush(stderr);
    int saved_stderr = dup(2);
    int capture = open("t_ds_stderr.txt", O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(capture >= 0);
    dup2(capture, 2);

    unlink("t_ds_missing.h5");
    expect_load_error("t_ds_missing.h5", "train",
                      "t_ds_missing.h5: No such file or directory");

    FILE *text = fopen("t_ds_text.h5", "w");
    fputs("not hdf5\n", text);
    fclose(text);
    expect_load_error("t_ds_text.h5", "train", "t_ds_text.h5: not an HDF5 file");

    raw_file("data.h5", 2000, 2000, 10, label_12_at_1234);
    expect_load_error("data.h5", "val", "data.h5: /val: no such group");
    expect_load_error("data.h5", "train", "data.h5: /train/y[1234]: label 12 outside [0, 10)");
    /* A row range reports the row of the file, not of the range. */
    nn_error err = {0};
    nn_dataset ds;
    assert_int_equal(nn_dataset_load_rows("data.h5", "train", 1200, 100, &ds, &err), NN_ERR_DATA);
    assert_string_equal(err.msg, "data.h5: /train/y[1234]: label 12 outside [0, 10)");
    assert_int_equal(nn_dataset_load_rows("data.h5", "train", 0, 1000, &ds, &err), NN_OK);
    nn_dataset_free(&ds);

    raw_file("data.h5", 10, 10, 0, negative_label_at_4);
    expect_load_error("data.h5", "train", "data.h5: /train/y[4]: negative label -3");

    raw_file("data.h5", 100, 99, 0, NULL);
    expect_load_error("data.h5", "train", "data.h5: /train: x has 100 rows but y has 99");

    raw_file("data.h5", 20, 20, 0, nan_at_row_17);
    expect_load_error("data.h5", "train", "data.h5: /train/x[17]: NaN");
    raw_file("data.h5", 20, 20, 0, inf_at_row_2);
    expect_load_error("data.h5", "train", "data.h5: /train/x[2]: Inf");

    raw_file("data.h5", 0, 0, 0, NULL);
    expect_load_error("data.h5", "train", "data.h5: /train: empty split (0 rows)");

    /* Hand-made layouts: missing y, wrong rank, unsupported dtypes, bad targets, class names
     * disagreeing with num_classes. */
    hid_t file = H5Fcreate("data.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(file, "only_x", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims2[2] = {4, 2}, dims1[1] = {4};
    float xs[8] = {0};
    int64_t ys[4] = {0};
    raw_dataset(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims2, xs);
    H5Gclose(g);
    g = H5Gcreate2(file, "rank1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    raw_dataset(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dims1, xs);
    raw_dataset(g, "y", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims1, ys);
    H5Gclose(g);
    g = H5Gcreate2(file, "strings", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, 4);
    raw_dataset(g, "x", str, str, 2, dims2, "abcdefghijklmnopqrstuvwxyz012345");
    raw_dataset(g, "y", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims1, ys);
    H5Gclose(g);
    g = H5Gcreate2(file, "y_strings", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    raw_dataset(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims2, xs);
    raw_dataset(g, "y", str, str, 1, dims1, "abcdefghijklmnop");
    H5Gclose(g);
    H5Tclose(str);
    g = H5Gcreate2(file, "nan_target", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    float targets[8] = {0, 0, 0, 0, 0, 0, NAN, 0};
    raw_dataset(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims2, xs);
    raw_dataset(g, "y", H5T_IEEE_F64LE, H5T_NATIVE_FLOAT, 2, dims2, targets);
    H5Gclose(g);
    g = H5Gcreate2(file, "wide_labels", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int64_t wide[8] = {0};
    raw_dataset(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims2, xs);
    raw_dataset(g, "y", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, dims2, wide);
    H5Gclose(g);
    raw_dataset(file, "not_a_group", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, dims1, xs);
    H5Fclose(file);
    expect_load_error("data.h5", "only_x", "data.h5: /only_x/y: no such dataset");
    expect_load_error("data.h5", "not_a_group", "data.h5: /not_a_group: not a group");
    expect_load_error("data.h5", "rank1",
                      "data.h5: /rank1/x: rank 1, expected 2 (N x features), 3 (N x H x W) or "
                      "4 (N x C x H x W)");
    expect_load_error("data.h5", "strings",
                      "data.h5: /strings/x: unsupported dtype string (expected uint8 or "
                      "float32; other integer and float types are converted)");
    expect_load_error("data.h5", "y_strings",
                      "data.h5: /y_strings/y: unsupported dtype string (expected integer labels "
                      "or float targets)");
    expect_load_error("data.h5", "nan_target", "data.h5: /nan_target/y[3]: NaN");
    expect_load_error("data.h5", "wide_labels",
                      "data.h5: /wide_labels/y: integer y of shape 4 x 2; labels must be N or "
                      "N x 1 (store regression targets as float)");

    raw_file("data.h5", 6, 6, 4, NULL);
    file = H5Fopen("data.h5", H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t vstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(vstr, H5T_VARIABLE);
    hsize_t three[1] = {3};
    hid_t space = H5Screate_simple(1, three, NULL);
    hid_t attr = H5Acreate2(file, "class_names", vstr, space, H5P_DEFAULT, H5P_DEFAULT);
    const char *names[3] = {"a", "b", "c"};
    H5Awrite(attr, vstr, names);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(vstr);
    H5Fclose(file);
    expect_load_error("data.h5", "train", "data.h5: /: class_names has 3 names but num_classes is 4");

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    close(capture);
    assert_string_equal(read_text("t_ds_stderr.txt"), "");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    nn_error err = {0};
    nn_dataset ds;
    assert_int_equal(nn_dataset_load("data.h5", "a/b", &ds, &err), NN_ERR_CONFIG);
    assert_int_equal(nn_dataset_load("data.h5", "", &ds, &err), NN_ERR_CONFIG);
    assert_false(nn_dataset_has_split("data.h5", "a/b"));
}

/* ---- writer -------------------------------------------------------------------------- */

static void test_writer_keeps_other_splits(void **state)
{
    (void)state;
    const char *path = "t_ds_keep.h5";
    const char *names[4] = {"w", "x", "y", "z"};
    nn_dataset train = make_split(40, 1, 1, 1, 4), test = make_split(10, 1, 1, 2, 4);
    nn_dataset val = make_split(8, 1, 1, 3, 4), train2 = make_split(25, 1, 1, 9, 4);
    unlink(path);
    write_file(path, 1, "train", &train, 4, names);
    write_file(path, 0, "test", &test, 0, NULL);
    write_file(path, 0, "val", &val, 0, NULL);
    long size_three_splits = file_size(path);

    nn_dataset ds;
    load_ok(path, "train", &ds);
    assert_memory_equal(ds.x_u8, train.x_u8, 40 * 12);
    assert_int_equal(ds.n_class_names, 4); /* root attributes kept too */
    assert_string_equal(ds.class_names[3], "z");
    nn_dataset_free(&ds);
    load_ok(path, "test", &ds);
    assert_memory_equal(ds.x_u8, test.x_u8, 10 * 12);
    nn_dataset_free(&ds);

    /* Replacing a split keeps the others and does not grow the file. */
    for (int round = 0; round < 3; round++)
        write_file(path, 0, "train", &train2, 0, NULL);
    assert_true(file_size(path) <= size_three_splits);
    load_ok(path, "train", &ds);
    assert_int_equal(ds.n, 25);
    assert_memory_equal(ds.x_u8, train2.x_u8, 25 * 12);
    assert_memory_equal(ds.labels, train2.labels, 25 * sizeof(int32_t));
    assert_int_equal(ds.num_classes, 4);
    assert_string_equal(ds.class_names[0], "w");
    nn_dataset_free(&ds);
    load_ok(path, "val", &ds);
    assert_memory_equal(ds.x_u8, val.x_u8, 8 * 12);
    nn_dataset_free(&ds);
    load_ok(path, "test", &ds);
    assert_memory_equal(ds.labels, test.labels, 10 * sizeof(int32_t));
    nn_dataset_free(&ds);

    /* set_classes owns both class attributes: no stale names survive. */
    write_file(path, 0, "val", &val, 5, NULL);
    load_ok(path, "val", &ds);
    assert_int_equal(ds.num_classes, 5);
    assert_int_equal(ds.n_class_names, 0);
    nn_dataset_free(&ds);

    /* create: nothing of the old file is kept. */
    write_file(path, 1, "val", &val, 0, NULL);
    assert_true(nn_dataset_has_split(path, "val"));
    assert_false(nn_dataset_has_split(path, "train"));
    assert_false(nn_dataset_has_split(path, "test"));
    assert_false(file_exists("t_ds_keep.h5.tmp"));

    nn_dataset_free(&train);
    nn_dataset_free(&test);
    nn_dataset_free(&val);
    nn_dataset_free(&train2);
}

static void test_writer_abort_and_refusals(void **state)
{
    (void)state;
    const char *path = "t_ds_abort.h5";
    nn_dataset train = make_split(12, 0, 1, 1, 3), other = make_split(7, 0, 1, 2, 3);
    write_file(path, 1, "train", &train, 3, NULL);
    long size = file_size(path);

    nn_error err = {0};
    nn_dataset_writer *w = NULL;
    assert_int_equal(nn_dataset_writer_open(path, &w, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_add_split(w, "train", &other, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_add_split(w, "train", &other, &err), NN_ERR_OTHER);
    nn_dataset_writer_abort(w);
    assert_false(file_exists("t_ds_abort.h5.tmp"));
    assert_int_equal(file_size(path), size);
    nn_dataset ds;
    load_ok(path, "train", &ds);
    assert_int_equal(ds.n, 12);
    nn_dataset_free(&ds);

    /* Bad values are refused before anything is written, naming the row. */
    assert_int_equal(nn_dataset_writer_open(path, &w, &err), NN_OK);
    other.x_f32[3 * 5 + 1] = NAN;
    assert_int_equal(nn_dataset_writer_add_split(w, "train", &other, &err), NN_ERR_DATA);
    assert_string_equal(err.msg, "t_ds_abort.h5: /train/x[3]: NaN");
    other.x_f32[3 * 5 + 1] = 0;
    other.labels[6] = -1;
    assert_int_equal(nn_dataset_writer_add_split(w, "train", &other, &err), NN_ERR_DATA);
    assert_string_equal(err.msg, "t_ds_abort.h5: /train/y[6]: negative label -1");
    other.labels[6] = 0;
    other.n = 0;
    assert_int_equal(nn_dataset_writer_add_split(w, "train", &other, &err), NN_ERR_DATA);
    other.n = 7;
    assert_int_equal(nn_dataset_writer_set_classes(w, 3, (const char *const[]){"a", "b"}, 2,
                                                   &err),
                     NN_ERR_DATA);
    nn_dataset_writer_abort(w);
    assert_int_equal(file_size(path), size);

    /* A file that is not HDF5 is never replaced. */
    FILE *text = fopen("t_ds_notes.h5", "w");
    fputs("precious notes\n", text);
    fclose(text);
    assert_int_equal(nn_dataset_writer_open("t_ds_notes.h5", &w, &err), NN_ERR_DATA);
    assert_null(w);
    assert_string_equal(err.msg, "t_ds_notes.h5: not an HDF5 file (not replacing it)");
    assert_string_equal(read_text("t_ds_notes.h5"), "precious notes\n");
    assert_false(file_exists("t_ds_notes.h5.tmp"));

    nn_dataset_free(&train);
    nn_dataset_free(&other);
}

/* ---- stratified split ---------------------------------------------------------------- */

static nn_dataset labelled(const int *class_sizes, int classes)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    int64_t n = 0;
    for (int c = 0; c < classes; c++)
        n += class_sizes[c];
    ds.n = n;
    ds.target_kind = NN_TARGET_LABELS;
    ds.labels = malloc((size_t)n * sizeof(int32_t));
    snprintf(ds.path, sizeof ds.path, "mem.h5");
    snprintf(ds.split, sizeof ds.split, "train");
    /* Classes interleaved so that class membership is not a row range. */
    int remaining[8];
    memcpy(remaining, class_sizes, (size_t)classes * sizeof(int));
    int64_t row = 0;
    while (row < n)
        for (int c = 0; c < classes; c++)
            if (remaining[c] > 0) {
                ds.labels[row++] = c;
                remaining[c]--;
            }
    return ds;
}

static void check_partition(int64_t n, const int64_t *a, int64_t na, const int64_t *b,
                            int64_t nb)
{
    assert_int_equal(na + nb, n);
    char *seen = calloc((size_t)n, 1);
    for (int64_t i = 0; i < na; i++) {
        assert_true(a[i] >= 0 && a[i] < n);
        if (i > 0)
            assert_true(a[i] > a[i - 1]);
        seen[a[i]]++;
    }
    for (int64_t i = 0; i < nb; i++) {
        assert_true(b[i] >= 0 && b[i] < n);
        if (i > 0)
            assert_true(b[i] > b[i - 1]);
        seen[b[i]]++;
    }
    for (int64_t i = 0; i < n; i++)
        assert_int_equal(seen[i], 1);
    free(seen);
}

static void test_split_stratified(void **state)
{
    (void)state;
    const int sizes[5] = {100, 50, 25, 8, 1};
    nn_dataset ds = labelled(sizes, 5);
    nn_error err = {0};
    int64_t *train = NULL, *val = NULL, n_train = 0, n_val = 0;
    assert_int_equal(nni_split_stratified(&ds, 0.2, 42, &train, &n_train, &val, &n_val, &err),
                     NN_OK);
    /* round(0.2 * size) per class: 20 + 10 + 5 + 2 (1.6) + 0 (0.2). */
    const int want[5] = {20, 10, 5, 2, 0};
    assert_int_equal(n_val, 37);
    check_partition(ds.n, train, n_train, val, n_val);
    int per_class[5] = {0};
    for (int64_t i = 0; i < n_val; i++)
        per_class[ds.labels[val[i]]]++;
    for (int c = 0; c < 5; c++)
        assert_int_equal(per_class[c], want[c]);

    /* Same seed, same split; another seed, another split. */
    int64_t *train2, *val2, n_train2, n_val2;
    assert_int_equal(nni_split_stratified(&ds, 0.2, 42, &train2, &n_train2, &val2, &n_val2, &err),
                     NN_OK);
    assert_int_equal(n_val2, n_val);
    assert_memory_equal(val2, val, (size_t)n_val * sizeof *val);
    free(train2);
    free(val2);
    assert_int_equal(nni_split_stratified(&ds, 0.2, 43, &train2, &n_train2, &val2, &n_val2, &err),
                     NN_OK);
    assert_int_equal(n_val2, n_val);
    assert_true(memcmp(val2, val, (size_t)n_val * sizeof *val) != 0);
    free(train2);
    free(val2);
    free(train);
    free(val);

    assert_int_equal(nni_split_stratified(&ds, 0.0, 42, &train, &n_train, &val, &n_val, &err),
                     NN_ERR_CONFIG);
    assert_int_equal(nni_split_stratified(&ds, 1.0, 42, &train, &n_train, &val, &n_val, &err),
                     NN_ERR_CONFIG);
    assert_null(train);
    assert_int_equal(nni_split_stratified(&ds, 0.001, 42, &train, &n_train, &val, &n_val, &err),
                     NN_ERR_DATA);
    assert_non_null(strstr(err.msg, "mem.h5: /train:"));
    assert_null(val);
    nn_dataset_free(&ds);

    /* Value targets: plain random, round(fraction * n) rows. */
    nn_dataset values;
    memset(&values, 0, sizeof values);
    values.n = 101;
    values.target_kind = NN_TARGET_VALUES;
    assert_int_equal(nni_split_stratified(&values, 0.25, 7, &train, &n_train, &val, &n_val, &err),
                     NN_OK);
    assert_int_equal(n_val, 25);
    check_partition(101, train, n_train, val, n_val);
    free(train);
    free(val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_uint8_labels),
        cmocka_unit_test(test_roundtrip_float_targets),
        cmocka_unit_test(test_num_classes_without_attribute),
        cmocka_unit_test(test_load_rows),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_writer_keeps_other_splits),
        cmocka_unit_test(test_writer_abort_and_refusals),
        cmocka_unit_test(test_split_stratified),
        cmocka_unit_test(test_channels_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Importers: IDX (gzip and plain, class names, bad magic, truncation, count mismatch) and
 * CSV (header detection, label column from the end, value targets, quoting, errors naming
 * file:line:column). Every input file is written by the test itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/data.h"

/* ---- IDX ----------------------------------------------------------------------------- */

static void put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static uint8_t pixel(int seed, int image, int i)
{
    return (uint8_t)(seed * 17 + image * 5 + i * 11);
}

/* An IDX file, gzip-compressed or plain; `cut` drops that many bytes from the end. */
static void write_idx(const char *path, int gz, int images, int count, int rows, int cols,
                      int seed, int classes, int cut)
{
    size_t header = images ? 16 : 8, body = images ? (size_t)(count * rows * cols) : (size_t)count;
    uint8_t *buf = malloc(header + body);
    put_be32(buf, images ? 0x00000803u : 0x00000801u);
    put_be32(buf + 4, (uint32_t)count);
    if (images) {
        put_be32(buf + 8, (uint32_t)rows);
        put_be32(buf + 12, (uint32_t)cols);
        for (int n = 0; n < count; n++)
            for (int i = 0; i < rows * cols; i++)
                buf[header + (size_t)(n * rows * cols + i)] = pixel(seed, n, i);
    } else {
        for (int n = 0; n < count; n++)
            buf[header + (size_t)n] = (uint8_t)((n * 3 + seed) % classes);
    }
    size_t size = header + body - (size_t)cut;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, buf, (unsigned)size), (int)size);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, size, f), size);
        fclose(f);
    }
    free(buf);
}

static void load_ok(const char *path, const char *split, nn_dataset *ds)
{
    nn_error err = {0};
    if (nn_dataset_load(path, split, ds, &err) != NN_OK)
        fail_msg("%s", err.msg);
}

static void test_idx_gzip_and_plain(void **state)
{
    (void)state;
    write_idx("t_im_train-images.gz", 1, 1, 9, 4, 3, 1, 5, 0);
    write_idx("t_im_train-labels.gz", 1, 0, 9, 0, 0, 1, 5, 0);
    write_idx("t_im_test-images", 0, 1, 4, 4, 3, 2, 5, 0);
    write_idx("t_im_test-labels", 0, 0, 4, 0, 0, 2, 5, 0);
    nn_error err = {0};
    unlink("t_im_idx.h5");
    if (nn_import_idx("t_im_train-images.gz", "t_im_train-labels.gz", "t_im_test-images",
                      "t_im_test-labels", "t_im_idx.h5", &err) != NN_OK)
        fail_msg("%s", err.msg);
    struct stat st;
    assert_int_not_equal(stat("t_im_idx.h5.tmp", &st), 0);

    nn_dataset ds;
    load_ok("t_im_idx.h5", "train", &ds);
    assert_int_equal(ds.n, 9);
    assert_int_equal(ds.sample_ndim, 3);
    assert_int_equal(ds.sample_shape[0], 1);
    assert_int_equal(ds.sample_shape[1], 4);
    assert_int_equal(ds.sample_shape[2], 3);
    assert_true(ds.x_is_uint8);
    for (int n = 0; n < 9; n++) {
        for (int i = 0; i < 12; i++)
            assert_int_equal(ds.x_u8[n * 12 + i], pixel(1, n, i));
        assert_int_equal(ds.labels[n], (n * 3 + 1) % 5);
    }
    assert_true(ds.scale == 1.0f / 255.0f);
    assert_true(ds.offset == 0.0f);
    /* Labels 0..4 appear: 5 classes, named by number (not Fashion-MNIST shaped). */
    assert_int_equal(ds.num_classes, 5);
    assert_int_equal(ds.n_class_names, 5);
    assert_string_equal(ds.class_names[0], "0");
    assert_string_equal(ds.class_names[4], "4");
    nn_dataset_free(&ds);

    load_ok("t_im_idx.h5", "test", &ds);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.x_u8[3 * 12 + 11], pixel(2, 3, 11));
    assert_int_equal(ds.labels[3], (3 * 3 + 2) % 5);
    nn_dataset_free(&ds);

    /* The test pair is optional. */
    if (nn_import_idx("t_im_test-images", "t_im_test-labels", NULL, NULL, "t_im_idx.h5", &err) !=
        NN_OK)
        fail_msg("%s", err.msg);
    assert_true(nn_dataset_has_split("t_im_idx.h5", "train"));
    assert_false(nn_dataset_has_split("t_im_idx.h5", "test"));
}

static void test_idx_class_names(void **state)
{
    (void)state;
    nn_error err = {0};
    nn_dataset ds;
    write_idx("t_im_Fashion_images", 1, 1, 20, 28, 28, 0, 10, 0);
    write_idx("t_im_Fashion_labels", 1, 0, 20, 0, 0, 0, 10, 0);
    write_idx("t_im_digits_images", 1, 1, 20, 28, 28, 0, 10, 0);
    write_idx("t_im_digits_labels", 1, 0, 20, 0, 0, 0, 10, 0);

    assert_int_equal(nn_import_idx("t_im_Fashion_images", "t_im_Fashion_labels", NULL, NULL,
                                   "t_im_names.h5", &err),
                     NN_OK);
    load_ok("t_im_names.h5", "train", &ds);
    assert_int_equal(ds.num_classes, 10);
    assert_int_equal(ds.n_class_names, 10);
    assert_string_equal(ds.class_names[0], "T-shirt/top");
    assert_string_equal(ds.class_names[9], "Ankle boot");
    nn_dataset_free(&ds);

    /* Same shape, no "fashion" in the names: MNIST digits. */
    assert_int_equal(nn_import_idx("t_im_digits_images", "t_im_digits_labels", NULL, NULL,
                                   "t_im_names.h5", &err),
                     NN_OK);
    load_ok("t_im_names.h5", "train", &ds);
    assert_string_equal(ds.class_names[0], "0");
    assert_string_equal(ds.class_names[9], "9");
    nn_dataset_free(&ds);

    /* Or the caller says. */
    assert_int_equal(nn_import_idx_named("t_im_digits_images", "t_im_digits_labels", NULL, NULL,
                                         nn_fashion_mnist_class_names, 10, "t_im_names.h5", &err),
                     NN_OK);
    load_ok("t_im_names.h5", "train", &ds);
    assert_string_equal(ds.class_names[7], "Sneaker");
    nn_dataset_free(&ds);
    const char *three[3] = {"a", "b", "c"};
    assert_int_equal(nn_import_idx_named("t_im_digits_images", "t_im_digits_labels", NULL, NULL,
                                         three, 3, "t_im_names.h5", &err),
                     NN_ERR_CONFIG);
    assert_string_equal(err.msg, "IDX import: 3 class names given, but the labels hold 10 classes");
}

static void expect_idx_error(const char *images, const char *labels, const char *want)
{
    nn_error err = {0};
    unlink("t_im_bad.h5");
    nn_status status = nn_import_idx(images, labels, NULL, NULL, "t_im_bad.h5", &err);
    if (status != NN_ERR_DATA || strcmp(err.msg, want) != 0)
        fail_msg("status %d, message '%s'; expected '%s'", status, err.msg, want);
    struct stat st;
    assert_int_not_equal(stat("t_im_bad.h5", &st), 0);
    assert_int_not_equal(stat("t_im_bad.h5.tmp", &st), 0);
}

static void test_idx_errors(void **state)
{
    (void)state;
    write_idx("t_im_ok_images.gz", 1, 1, 6, 5, 5, 0, 3, 0);
    write_idx("t_im_ok_labels.gz", 1, 0, 6, 0, 0, 0, 3, 0);
    write_idx("t_im_5_labels.gz", 1, 0, 5, 0, 0, 0, 3, 0);
    write_idx("t_im_cut_images.gz", 1, 1, 6, 5, 5, 0, 3, 7);
    write_idx("t_im_cut_images", 0, 1, 6, 5, 5, 0, 3, 7);
    write_idx("t_im_cut_labels", 0, 0, 6, 0, 0, 0, 3, 1);

    expect_idx_error("t_im_ok_labels.gz", "t_im_ok_labels.gz",
                     "t_im_ok_labels.gz: bad magic 0x00000801, expected 0x00000803 for IDX "
                     "images (this is an IDX label file)");
    expect_idx_error("t_im_ok_images.gz", "t_im_ok_images.gz",
                     "t_im_ok_images.gz: bad magic 0x00000803, expected 0x00000801 for IDX "
                     "labels (this is an IDX image file)");
    expect_idx_error("t_im_cut_images.gz", "t_im_ok_labels.gz",
                     "t_im_cut_images.gz: truncated: the header declares 6 images of 5 x 5, the "
                     "data ends early");
    expect_idx_error("t_im_cut_images", "t_im_ok_labels.gz",
                     "t_im_cut_images: truncated: the header declares 6 images of 5 x 5, the "
                     "data ends early");
    expect_idx_error("t_im_ok_images.gz", "t_im_cut_labels",
                     "t_im_cut_labels: truncated: the header declares 6 labels, the data ends "
                     "early");
    expect_idx_error("t_im_ok_images.gz", "t_im_5_labels.gz",
                     "t_im_5_labels.gz: 5 labels, but t_im_ok_images.gz holds 6 images");
    unlink("t_im_nothing");
    expect_idx_error("t_im_nothing", "t_im_ok_labels.gz",
                     "t_im_nothing: No such file or directory");

    /* Trailing bytes and a header cut short. */
    FILE *f = fopen("t_im_short", "wb");
    fwrite("\x00\x00\x08\x03\x00\x00", 1, 6, f);
    fclose(f);
    expect_idx_error("t_im_short", "t_im_ok_labels.gz",
                     "t_im_short: truncated: IDX header cut short");
    f = fopen("t_im_long_labels", "wb");
    fwrite("\x00\x00\x08\x01\x00\x00\x00\x02\x01\x02\x03", 1, 11, f);
    fclose(f);
    write_idx("t_im_2_images", 0, 1, 2, 1, 1, 0, 3, 0);
    expect_idx_error("t_im_2_images", "t_im_long_labels",
                     "t_im_long_labels: unexpected data after the 2 labels the header declares");

    nn_error err = {0};
    assert_int_equal(nn_import_idx("t_im_ok_images.gz", "t_im_ok_labels.gz", "t_im_ok_images.gz",
                                   NULL, "t_im_bad.h5", &err),
                     NN_ERR_CONFIG);
}

/* Headers found by fuzzing (tests/fuzz/corpus/idx/bug-*): rows x cols beyond 63 bits was a
 * signed overflow, and a 16-byte file declaring a terabyte of images was allocated before a
 * byte of it was read. */
static void test_idx_hostile_headers(void **state)
{
    (void)state;
    uint8_t header[16];
    write_idx("t_im_one_label", 0, 0, 1, 0, 0, 0, 3, 0);
    put_be32(header, 0x00000803u);
    put_be32(header + 4, 1);
    put_be32(header + 8, 0xFFFFFFFFu);
    put_be32(header + 12, 0xFFFFFFFBu);
    FILE *f = fopen("t_im_huge_dims", "wb");
    fwrite(header, 1, sizeof header, f);
    fclose(f);
    expect_idx_error("t_im_huge_dims", "t_im_one_label",
                     "t_im_huge_dims: header declares an impossible size");
    put_be32(header + 4, 256);
    put_be32(header + 8, 65535);
    put_be32(header + 12, 65535);
    f = fopen("t_im_terabyte", "wb");
    fwrite(header, 1, sizeof header, f);
    fputs("a few pixels", f);
    fclose(f);
    expect_idx_error("t_im_terabyte", "t_im_one_label",
                     "t_im_terabyte: truncated: the header declares 256 images of 65535 x 65535, "
                     "the data ends early");
}

/* ---- CSV ----------------------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_csv_header_label_last(void **state)
{
    (void)state;
    write_text("t_im_train.csv", "\xEF\xBB\xBF"
                                 "sepal, \"petal width\",class\r\n"
                                 "1.5,2,0\r\n"
                                 "\r\n"
                                 "-3e-1, \"4.25\" ,2\r\n"
                                 "5,6,1.0\r\n");
    write_text("t_im_test.csv", "7,8,3\n");
    nn_csv_options opts = {.train_csv = "t_im_train.csv", .test_csv = "t_im_test.csv",
                           .label_column = -1, .has_header = -1};
    nn_error err = {0};
    if (nn_import_csv(&opts, "t_im_csv.h5", &err) != NN_OK)
        fail_msg("%s", err.msg);
    nn_dataset ds;
    load_ok("t_im_csv.h5", "train", &ds);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.sample_ndim, 1);
    assert_int_equal(ds.sample_shape[0], 2);
    assert_false(ds.x_is_uint8);
    const float want_x[6] = {1.5f, 2, -0.3f, 4.25f, 5, 6};
    assert_memory_equal(ds.x_f32, want_x, sizeof want_x);
    const int32_t want_y[3] = {0, 2, 1};
    assert_memory_equal(ds.labels, want_y, sizeof want_y);
    assert_true(ds.scale == 1.0f && ds.offset == 0.0f);
    assert_int_equal(ds.num_classes, 4); /* max label 3 is in the test file */
    nn_dataset_free(&ds);
    load_ok("t_im_csv.h5", "test", &ds);
    assert_int_equal(ds.n, 1);
    assert_true(ds.x_f32[0] == 7 && ds.x_f32[1] == 8);
    assert_int_equal(ds.labels[0], 3);
    nn_dataset_free(&ds);
}

static void test_csv_no_header_label_first_and_targets(void **state)
{
    (void)state;
    write_text("t_im_plain.csv", "1,0.5,0.25\n0,1,2\n");
    nn_csv_options opts = {.train_csv = "t_im_plain.csv", .label_column = 0, .has_header = -1};
    nn_error err = {0};
    if (nn_import_csv(&opts, "t_im_plain.h5", &err) != NN_OK)
        fail_msg("%s", err.msg);
    nn_dataset ds;
    load_ok("t_im_plain.h5", "train", &ds);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.labels[0], 1);
    assert_int_equal(ds.labels[1], 0);
    assert_true(ds.x_f32[0] == 0.5f && ds.x_f32[1] == 0.25f && ds.x_f32[3] == 2.0f);
    assert_int_equal(ds.num_classes, 2);
    assert_false(nn_dataset_has_split("t_im_plain.h5", "test"));
    nn_dataset_free(&ds);

    /* Forced header, semicolons, two regression targets in the middle. */
    write_text("t_im_reg.csv", "1;2;3;4\n0.5;10;-20;7\n1.5;11;-21;8\n");
    nn_csv_options reg = {.train_csv = "t_im_reg.csv", .label_column = 1, .has_header = 1,
                          .targets_are_values = 1, .n_target_columns = 2, .delimiter = ';'};
    if (nn_import_csv(&reg, "t_im_reg.h5", &err) != NN_OK)
        fail_msg("%s", err.msg);
    load_ok("t_im_reg.h5", "train", &ds);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.target_kind, NN_TARGET_VALUES);
    assert_int_equal(ds.target_width, 2);
    assert_int_equal(ds.sample_shape[0], 2);
    const float want_x[4] = {0.5f, 7, 1.5f, 8}, want_t[4] = {10, -20, 11, -21};
    assert_memory_equal(ds.x_f32, want_x, sizeof want_x);
    assert_memory_equal(ds.targets, want_t, sizeof want_t);
    assert_int_equal(ds.num_classes, 0);
    nn_dataset_free(&ds);
}

static void expect_csv_error(const char *text, const char *test_text, int label_column,
                             nn_status want_status, const char *want)
{
    write_text("t_im_bad.csv", text);
    if (test_text)
        write_text("t_im_bad_test.csv", test_text);
    nn_csv_options opts = {.train_csv = "t_im_bad.csv",
                           .test_csv = test_text ? "t_im_bad_test.csv" : NULL,
                           .label_column = label_column, .has_header = -1};
    nn_error err = {0};
    unlink("t_im_bad.h5");
    nn_status status = nn_import_csv(&opts, "t_im_bad.h5", &err);
    if (status != want_status || strcmp(err.msg, want) != 0)
        fail_msg("status %d, message '%s'; expected '%s'", status, err.msg, want);
    struct stat st;
    assert_int_not_equal(stat("t_im_bad.h5", &st), 0);
}

static void test_csv_errors(void **state)
{
    (void)state;
    expect_csv_error("a,b,y\n1,2,0\n3,abc,1\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:3:2: 'abc' is not a number (column 'b')");
    expect_csv_error("1,2,0\n\n3,,1\n", NULL, -1, NN_ERR_DATA, "t_im_bad.csv:3:2: empty field");
    expect_csv_error("1,2,0\n3,4,1.5\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:2:3: label '1.5' is not a non-negative integer class index, "
                     "as the first row's label is");
    expect_csv_error("1,2,0\n3,4,-1\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:2:3: label '-1' is not a non-negative integer class index, "
                     "as the first row's label is");
    expect_csv_error("x,species\n1,0\n2,setosa\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:3:2: label 'setosa' is not a non-negative integer class "
                     "index, as the first row's label is (column 'species')");
    expect_csv_error(",x,species\n0,1,a\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:1:1: the column has no name, as pandas writes its index: "
                     "drop it with --index-column '' or name it");
    expect_csv_error("1,2,0\n3,4\n", NULL, -1, NN_ERR_DATA, "t_im_bad.csv:2: 2 fields, expected 3");
    expect_csv_error("1,2,0\n3,nan,1\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:2:2: 'nan' is not a finite float32");
    expect_csv_error("1,1e39,0\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:1:2: '1e39' is not a finite float32");
    expect_csv_error("1,\"2,0\n", NULL, -1, NN_ERR_DATA,
                     "t_im_bad.csv:1:2: unterminated or misplaced quote");
    expect_csv_error("a,b\n", NULL, -1, NN_ERR_DATA, "t_im_bad.csv: no data rows after the header");
    expect_csv_error("\n\n", NULL, -1, NN_ERR_DATA, "t_im_bad.csv: no data rows");
    expect_csv_error("1,2,0\n", NULL, 3, NN_ERR_CONFIG,
                     "t_im_bad.csv: label column 3 is outside the 3 columns");
    expect_csv_error("1,2,0\n", NULL, -4, NN_ERR_CONFIG,
                     "t_im_bad.csv: label column -4 is outside the 3 columns");
    expect_csv_error("1,2,0\n", "1,2,3,0\n", -1, NN_ERR_DATA,
                     "t_im_bad_test.csv:1: 4 columns, but t_im_bad.csv has 3");
    expect_csv_error("1,2,0\n", "1,2,0\n3,x,0\n", -1, NN_ERR_DATA,
                     "t_im_bad_test.csv:2:2: 'x' is not a number");
    unlink("t_im_missing.csv");
    nn_csv_options opts = {.train_csv = "t_im_missing.csv", .label_column = -1, .has_header = -1};
    nn_error err = {0};
    assert_int_equal(nn_import_csv(&opts, "t_im_bad.h5", &err), NN_ERR_DATA);
    assert_string_equal(err.msg, "t_im_missing.csv: No such file or directory");
}

/* Class names become sorted classes shared by both files (a class only in the test file
 * too); the index column is dropped wherever it stands. */
static void test_csv_class_names_and_index_column(void **state)
{
    (void)state;
    write_text("t_im_names.csv", "id,a,label,b\n7,1,virginica,2\n8,3,setosa,4\n"
                                 "9,5,virginica,6\n");
    write_text("t_im_names_test.csv", "id,a,label,b\n1,7,versicolor,8\n2,9,setosa,10\n");
    nn_csv_options opts = {.train_csv = "t_im_names.csv", .test_csv = "t_im_names_test.csv",
                           .label_column = 2, .has_header = -1, .index_column = "id"};
    nn_error err = {0};
    if (nn_import_csv(&opts, "t_im_names.h5", &err) != NN_OK)
        fail_msg("%s", err.msg);
    nn_dataset ds;
    load_ok("t_im_names.h5", "train", &ds);
    assert_int_equal(ds.num_classes, 3);
    assert_int_equal(ds.n_class_names, 3);
    assert_string_equal(ds.class_names[0], "setosa");
    assert_string_equal(ds.class_names[1], "versicolor");
    assert_string_equal(ds.class_names[2], "virginica");
    assert_int_equal(ds.sample_shape[0], 2);
    const float want_x[6] = {1, 2, 3, 4, 5, 6};
    assert_memory_equal(ds.x_f32, want_x, sizeof want_x);
    const int32_t want_y[3] = {2, 0, 2};
    assert_memory_equal(ds.labels, want_y, sizeof want_y);
    nn_dataset_free(&ds);
    load_ok("t_im_names.h5", "test", &ds);
    const int32_t want_test[2] = {1, 0};
    assert_memory_equal(ds.labels, want_test, sizeof want_test);
    assert_true(ds.x_f32[0] == 7 && ds.x_f32[1] == 8);
    nn_dataset_free(&ds);

    /* The index column must exist, have a header, and not be the label. */
    opts.test_csv = NULL;
    opts.index_column = "idx";
    assert_int_equal(nn_import_csv(&opts, "t_im_names.h5", &err), NN_ERR_DATA);
    assert_string_equal(err.msg, "t_im_names.csv:1: no column named 'idx' (--index-column)");
    opts.index_column = "label";
    assert_int_equal(nn_import_csv(&opts, "t_im_names.h5", &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "t_im_names.csv: the index column 'label' is the label column");
    write_text("t_im_plain2.csv", "1,2,0\n");
    nn_csv_options plain = {.train_csv = "t_im_plain2.csv", .label_column = -1,
                            .has_header = -1, .index_column = "id"};
    assert_int_equal(nn_import_csv(&plain, "t_im_plain2.h5", &err), NN_ERR_DATA);
    assert_string_equal(err.msg, "t_im_plain2.csv: --index-column 'id' needs a header row");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_gzip_and_plain),
        cmocka_unit_test(test_idx_class_names),
        cmocka_unit_test(test_idx_errors),
        cmocka_unit_test(test_idx_hostile_headers),
        cmocka_unit_test(test_csv_header_label_last),
        cmocka_unit_test(test_csv_no_header_label_first_and_targets),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_class_names_and_index_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

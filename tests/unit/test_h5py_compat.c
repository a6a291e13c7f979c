/* Interchange with h5py, both ways. Files written by h5py in its default dtypes (int64
 * labels, float64 attributes, variable-length UTF-8 class names; also gzip chunks, float64 x,
 * int16 N x H x W images, N x 1 labels, fixed-length names) must load; files nntrain writes
 * must read back in h5py with the same values. Needs /usr/bin/python3 with h5py and numpy:
 * the test fails (it does not skip) when they are missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/data.h"

#define PYTHON "/usr/bin/python3"

static const char writer_script[] =
    "import sys\n"
    "import h5py\n"
    "import numpy as np\n"
    "with h5py.File(sys.argv[1], 'w') as f:\n"
    "    f.attrs['num_classes'] = 3\n"
    "    f.attrs['class_names'] = ['zero', 'one', 'two \\u20ac']\n"
    "    g = f.create_group('train')\n"
    "    x = (np.arange(7 * 16) % 251).astype(np.uint8).reshape(7, 1, 4, 4)\n"
    "    d = g.create_dataset('x', data=x, chunks=(2, 1, 4, 4), compression='gzip')\n"
    "    d.attrs['scale'] = 1 / 255\n"
    "    d.attrs['offset'] = -0.5\n"
    "    g['y'] = np.arange(7) % 3\n"
    "    g = f.create_group('test')\n"
    "    g['x'] = np.linspace(-1, 1, 30).reshape(5, 6)\n"
    "    g['y'] = (np.arange(5) % 3).reshape(5, 1).astype(np.uint16)\n"
    "    g = f.create_group('val')\n"
    "    g['x'] = (np.arange(24) * 10).reshape(4, 3, 2).astype(np.int16)\n"
    "    g['y'] = np.arange(8, dtype=np.float64).reshape(4, 2) / 4\n"
    "    assert f['train/y'].dtype == np.int64 and f['train/x'].attrs['scale'].dtype == np.float64\n"
    "with h5py.File(sys.argv[2], 'w') as f:\n"
    "    f.attrs['class_names'] = np.array([b'cat', b'dog'])\n"
    "    g = f.create_group('train')\n"
    "    g['x'] = np.full((3, 2), 1.5, np.float32)\n"
    "    g['x'].attrs['scale'] = np.float32(0.5)\n"
    "    g['y'] = np.array([0, 1, 1], np.int8)\n"
    "    g = f.create_group('bools')\n"
    "    g['x'] = np.zeros((2, 2), bool)\n"
    "    g['y'] = np.zeros(2, np.int64)\n";

static const char reader_script[] =
    "import sys\n"
    "import h5py\n"
    "import numpy as np\n"
    "with h5py.File(sys.argv[1], 'r') as f:\n"
    "    assert int(f.attrs['num_classes']) == 4\n"
    "    assert [str(s) for s in f.attrs['class_names']] == ['a', 'b', 'c', 'd \\u00e9']\n"
    "    x = f['train/x']\n"
    "    assert x.dtype == np.uint8 and x.shape == (6, 1, 2, 3) and x.chunks[0] >= 1\n"
    "    assert (x[:].reshape(-1) == np.arange(36) * 7 % 256).all()\n"
    "    assert abs(float(x.attrs['scale']) - 1 / 255) < 1e-9\n"
    "    assert float(x.attrs['offset']) == 0\n"
    "    assert list(f['train/y'][:]) == [0, 1, 2, 3, 0, 1]\n"
    "    r = f['reg']\n"
    "    assert r['x'].dtype == np.float32 and r['x'].shape == (2, 3)\n"
    "    assert (r['x'][:] == [[0, 0.5, 1], [1.5, 2, 2.5]]).all()\n"
    "    assert r['y'].dtype == np.float32 and (r['y'][:] == [[-1], [2]]).all()\n";

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void run_python(const char *script_path, const char *script, const char *args)
{
    write_text(script_path, script);
    char command[512];
    snprintf(command, sizeof command, PYTHON " %s %s", script_path, args);
    int rc = system(command);
    if (rc != 0)
        fail_msg("'%s' failed (status %d): " PYTHON " with h5py and numpy is required", command,
                 rc);
}

static void load_ok(const char *path, const char *split, nn_dataset *ds)
{
    nn_error err = {0};
    if (nn_dataset_load(path, split, ds, &err) != NN_OK)
        fail_msg("%s", err.msg);
}

static void test_h5py_files_load(void **state)
{
    (void)state;
    remove("t_h5py_a.h5");
    remove("t_h5py_b.h5");
    run_python("t_h5py_write.py", writer_script, "t_h5py_a.h5 t_h5py_b.h5");

    nn_dataset ds;
    load_ok("t_h5py_a.h5", "train", &ds);
    assert_int_equal(ds.n, 7);
    assert_int_equal(ds.sample_ndim, 3);
    assert_int_equal(ds.sample_shape[0], 1);
    assert_int_equal(ds.sample_shape[1], 4);
    assert_int_equal(ds.sample_shape[2], 4);
    assert_true(ds.x_is_uint8);
    for (int i = 0; i < 7 * 16; i++)
        assert_int_equal(ds.x_u8[i], i % 251);
    assert_true(ds.scale == (float)(1.0 / 255.0));
    assert_true(ds.offset == -0.5f);
    assert_int_equal(ds.target_kind, NN_TARGET_LABELS);
    for (int i = 0; i < 7; i++)
        assert_int_equal(ds.labels[i], i % 3);
    assert_int_equal(ds.num_classes, 3);
    assert_int_equal(ds.n_class_names, 3);
    assert_string_equal(ds.class_names[0], "zero");
    assert_string_equal(ds.class_names[2], "two \xe2\x82\xac");
    nn_dataset_free(&ds);

    /* float64 x converted to float32; uint16 labels stored N x 1. */
    load_ok("t_h5py_a.h5", "test", &ds);
    assert_int_equal(ds.n, 5);
    assert_int_equal(ds.sample_ndim, 1);
    assert_int_equal(ds.sample_shape[0], 6);
    assert_false(ds.x_is_uint8);
    for (int k = 0; k < 30; k++)
        assert_float_equal(ds.x_f32[k], -1.0 + 2.0 * k / 29.0, 1e-6);
    assert_true(ds.scale == 1.0f && ds.offset == 0.0f);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ds.labels[i], i % 3);
    nn_dataset_free(&ds);

    /* int16 N x H x W images as one channel; float64 targets. */
    load_ok("t_h5py_a.h5", "val", &ds);
    assert_int_equal(ds.sample_ndim, 3);
    assert_int_equal(ds.sample_shape[0], 1);
    assert_int_equal(ds.sample_shape[1], 3);
    assert_int_equal(ds.sample_shape[2], 2);
    assert_int_equal(ds.sample_size, 6);
    for (int k = 0; k < 24; k++)
        assert_true(ds.x_f32[k] == (float)(k * 10));
    assert_int_equal(ds.target_kind, NN_TARGET_VALUES);
    assert_int_equal(ds.target_width, 2);
    for (int k = 0; k < 8; k++)
        assert_true(ds.targets[k] == (float)k / 4);
    nn_dataset_free(&ds);

    /* Row range from gzip-compressed chunks. */
    nn_error err = {0};
    assert_int_equal(nn_dataset_load_rows("t_h5py_a.h5", "train", 3, 3, &ds, &err), NN_OK);
    assert_int_equal(ds.x_u8[0], (3 * 16) % 251);
    assert_int_equal(ds.labels[2], 5 % 3);
    nn_dataset_free(&ds);

    /* Fixed-length names give the class count; float32 scale; int8 labels. */
    load_ok("t_h5py_b.h5", "train", &ds);
    assert_int_equal(ds.num_classes, 2);
    assert_int_equal(ds.n_class_names, 2);
    assert_string_equal(ds.class_names[0], "cat");
    assert_string_equal(ds.class_names[1], "dog");
    assert_true(ds.scale == 0.5f);
    assert_true(ds.x_f32[5] == 1.5f);
    assert_int_equal(ds.labels[2], 1);
    nn_dataset_free(&ds);

    assert_int_equal(nn_dataset_load("t_h5py_b.h5", "bools", &ds, &err), NN_ERR_DATA);
    assert_non_null(strstr(err.msg, "t_h5py_b.h5: /bools/x: unsupported dtype enum"));
}

static void test_our_files_read_in_h5py(void **state)
{
    (void)state;
    uint8_t pixels[36];
    for (int i = 0; i < 36; i++)
        pixels[i] = (uint8_t)(i * 7 % 256);
    int32_t labels[6] = {0, 1, 2, 3, 0, 1};
    nn_dataset train = {.n = 6, .sample_ndim = 3, .sample_shape = {1, 2, 3}, .x_is_uint8 = 1,
                        .x_u8 = pixels, .scale = 1.0f / 255.0f, .labels = labels,
                        .target_kind = NN_TARGET_LABELS};
    float features[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f}, targets[2] = {-1, 2};
    nn_dataset reg = {.n = 2, .sample_ndim = 1, .sample_shape = {3}, .x_f32 = features,
                      .scale = 1.0f, .targets = targets, .target_width = 1,
                      .target_kind = NN_TARGET_VALUES};
    const char *names[4] = {"a", "b", "c", "d \xc3\xa9"};
    nn_error err = {0};
    nn_dataset_writer *w = NULL;
    remove("t_h5py_c.h5");
    assert_int_equal(nn_dataset_writer_create("t_h5py_c.h5", &w, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_add_split(w, "train", &train, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_add_split(w, "reg", &reg, &err), NN_OK);
    assert_int_equal(nn_dataset_writer_set_classes(w, 4, names, 4, &err), NN_OK);
    if (nn_dataset_writer_commit(w, &err) != NN_OK)
        fail_msg("%s", err.msg);
    run_python("t_h5py_read.py", reader_script, "t_h5py_c.h5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h5py_files_load),
        cmocka_unit_test(test_our_files_read_in_h5py),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

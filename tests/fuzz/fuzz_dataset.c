/* The HDF5 dataset reader (nn_dataset_load, _load_rows, _count_rows, _has_split) and the
 * writer that keeps an existing file's other splits (nn_dataset_writer_open), on files built
 * by h5_builder from the fuzzer's operations.
 *
 * Input: a flags byte (bit 0: start from a valid dataset of uint8 images and labels, bit 1:
 * of float features and value targets), two bytes choosing a row range, then the operations.
 * Every failure must be one clear line; every array of a loaded dataset is read end to end
 * (so AddressSanitizer sees a buffer smaller than the shape says); a failed update of the
 * file must leave it byte for byte as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "h5_builder.h"
#include "nn/data.h"

static const char *const objects[] = {
    "train", "train/x", "train/y", "test", "test/x", "test/y", "val", "val/x", "val/y", "/",
};
static const char *const attributes[] = {"scale", "offset", "num_classes", "class_names"};

static void write_template(const char *path, int floats)
{
    uint8_t images[4 * 4];
    float features[4 * 3], targets[4 * 2];
    int32_t labels[4] = {0, 2, 1, 2};
    for (int i = 0; i < 16; i++)
        images[i] = (uint8_t)(i * 13);
    for (int i = 0; i < 12; i++)
        features[i] = (float)i * 0.5f;
    for (int i = 0; i < 8; i++)
        targets[i] = (float)i - 3.0f;
    nn_dataset ds = {.n = 4, .scale = 1, .target_width = 1};
    if (floats) {
        ds.sample_ndim = 1;
        ds.sample_shape[0] = 3;
        ds.x_f32 = features;
        ds.target_kind = NN_TARGET_VALUES;
        ds.targets = targets;
        ds.target_width = 2;
    } else {
        ds.sample_ndim = 3;
        ds.sample_shape[0] = 1;
        ds.sample_shape[1] = 2;
        ds.sample_shape[2] = 2;
        ds.x_u8 = images;
        ds.scale = 1.0f / 255;
        ds.labels = labels;
    }
    static const char *const names[] = {"a", "b", "c"};
    nn_dataset_writer *w = NULL;
    nn_error err = {0};
    if (nn_dataset_writer_create(path, &w, &err) || nn_dataset_writer_add_split(w, "train", &ds, &err) ||
        nn_dataset_writer_add_split(w, "test", &ds, &err) ||
        (!floats && nn_dataset_writer_set_classes(w, 3, names, 3, &err)) ||
        nn_dataset_writer_commit(w, &err)) {
        fprintf(stderr, "fuzz: cannot write the template dataset: %s\n", err.msg);
        abort();
    }
}

static volatile double sink;

static void touch_everything(const nn_dataset *ds)
{
    double sum = 0;
    int64_t values = ds->n * ds->sample_size;
    for (int64_t i = 0; i < values; i++)
        sum += ds->x_is_uint8 ? ds->x_u8[i] : ds->x_f32[i];
    for (int64_t i = 0; i < ds->n; i++) {
        if (ds->target_kind == NN_TARGET_LABELS) {
            if (ds->labels[i] < 0 || ds->labels[i] >= ds->num_classes) {
                fprintf(stderr, "fuzz: loaded label %d outside [0, %d)\n", ds->labels[i],
                        ds->num_classes);
                abort();
            }
            sum += ds->labels[i];
        } else {
            for (int64_t t = 0; t < ds->target_width; t++)
                sum += ds->targets[i * ds->target_width + t];
        }
    }
    for (int i = 0; i < ds->n_class_names; i++)
        sum += (double)strlen(ds->class_names[i]);
    sink = sum;
}

static uint8_t *read_whole(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    uint8_t *bytes = malloc(*size ? *size : 1);
    if (!bytes || fread(bytes, 1, *size, f) != *size)
        abort();
    fclose(f);
    return bytes;
}

/* Adding a split to the file keeps its other splits; when that fails the file is untouched. */
static void update_file(const char *path)
{
    size_t before_size, after_size;
    uint8_t *before = read_whole(path, &before_size);
    float x[2] = {1, 2};
    int32_t y[2] = {0, 1};
    nn_dataset extra = {.n = 2, .sample_ndim = 1, .sample_shape = {1}, .x_f32 = x, .scale = 1,
                        .labels = y, .target_width = 1};
    nn_dataset_writer *w = NULL;
    nn_error err = {0};
    nn_status st = nn_dataset_writer_open(path, &w, &err);
    if (!st && (st = nn_dataset_writer_add_split(w, "extra", &extra, &err)))
        nn_dataset_writer_abort(w);
    else if (!st)
        st = nn_dataset_writer_commit(w, &err);
    fuzz_check_error(st, &err, "nn_dataset_writer_open/add_split/commit");
    if (st) {
        uint8_t *after = read_whole(path, &after_size);
        if (after_size != before_size || memcmp(before, after, before_size)) {
            fprintf(stderr, "fuzz: a failed dataset update changed %s\n", path);
            abort();
        }
        free(after);
    }
    free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader in = {data, size};
    uint8_t flags = fuzz_u8(&in);
    int64_t first = fuzz_u8(&in) % 6, count = fuzz_u8(&in) % 6;
    char path[600], tmp_path[700];
    fuzz_scratch_path(path, sizeof path, "data.h5");
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", path);
    fuzz_remove(path);
    if (flags & 3)
        write_template(path, (flags & 2) != 0);
    fuzz_h5_vocabulary words = {objects, sizeof objects / sizeof *objects, attributes,
                                sizeof attributes / sizeof *attributes};
    fuzz_h5_apply(path, &in, &words);

    static const char *const splits[] = {"train", "test", "val"};
    for (int s = 0; s < 3; s++) {
        nn_dataset ds;
        nn_error err = {0};
        nn_status st = nn_dataset_load(path, splits[s], &ds, &err);
        fuzz_check_error(st, &err, "nn_dataset_load");
        if (!st)
            touch_everything(&ds);
        nn_dataset_free(&ds);
        (void)nn_dataset_has_split(path, splits[s]);
    }
    nn_dataset ds;
    nn_error err = {0};
    nn_status st = nn_dataset_load_rows(path, "train", first, count, &ds, &err);
    fuzz_check_error(st, &err, "nn_dataset_load_rows");
    if (!st)
        touch_everything(&ds);
    nn_dataset_free(&ds);
    int64_t rows;
    st = nn_dataset_count_rows(path, "test", &rows, &err);
    fuzz_check_error(st, &err, "nn_dataset_count_rows");
    if (flags & 4)
        update_file(path);
    fuzz_check_absent(tmp_path, "the dataset writer");
    return 0;
}

/* IDX importer (the MNIST / Fashion-MNIST file format): big-endian header, magic 0x00000803
 * for N x H x W uint8 images and 0x00000801 for N uint8 labels. Files are read through zlib,
 * which reads gzip-compressed and plain files alike. Every problem (missing file, bad magic,
 * truncated data, trailing bytes, images/labels count mismatch) is one line naming the
 * file. */
#include "nn/data.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

const char *const nn_fashion_mnist_class_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

typedef struct idx_array {
    int64_t count;      /* images or labels */
    int64_t rows, cols; /* images only */
    uint8_t *data;
} idx_array;

/* Reads exactly `size` bytes unless the file ends first; returns how many were read, or -1
 * on a zlib error (corrupt gzip stream; a cut-off gzip stream counts as a short read). */
static int64_t read_fully(gzFile gz, uint8_t *buf, int64_t size)
{
    int64_t got = 0;
    while (got < size) {
        int64_t want = size - got;
        unsigned chunk = want > (1 << 30) ? 1u << 30 : (unsigned)want;
        int n = gzread(gz, buf + got, chunk);
        if (n < 0) {
            int code;
            gzerror(gz, &code);
            return code == Z_BUF_ERROR ? got : -1;
        }
        if (n == 0)
            break;
        got += n;
    }
    return got;
}

/* The header's size is only a claim: the buffer grows as the data arrives, so a short file
 * whose header declares terabytes is reported as truncated instead of allocating them.
 * Returns the bytes read into *data (malloc'ed, NULL when none), -1 on a zlib error, -2
 * when out of memory. */
static int64_t read_declared(gzFile gz, int64_t size, uint8_t **data)
{
    uint8_t *buf = NULL;
    int64_t capacity = 0, got = 0;
    while (got < size) {
        if (got == capacity) {
            int64_t next = capacity ? 2 * capacity : (int64_t)1 << 20;
            uint8_t *grown = realloc(buf, (size_t)(next < size ? next : size));
            if (!grown) {
                free(buf);
                return -2;
            }
            buf = grown;
            capacity = next < size ? next : size;
        }
        int64_t n = read_fully(gz, buf + got, capacity - got);
        if (n < 0) {
            free(buf);
            return -1;
        }
        got += n;
        if (got < capacity)
            break; /* the file ended */
    }
    *data = buf;
    return got;
}

static uint32_t big_endian32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static nn_status read_idx(const char *path, int images, idx_array *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    const char *what = images ? "images" : "labels";
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return nn_fail(err, NN_ERR_DATA, "%s: %s", path,
                       errno ? strerror(errno) : "cannot open");
    gzbuffer(gz, 1 << 17);
    nn_status status = NN_OK;
    uint8_t header[16];
    int header_size = images ? 16 : 8;
    int64_t got = read_fully(gz, header, header_size);
    if (got < 0)
        goto corrupt;
    if (got < 4) {
        status = nn_fail(err, NN_ERR_DATA, "%s: truncated: no IDX header", path);
        goto done;
    }
    uint32_t magic = big_endian32(header), want = images ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
    if (magic != want) {
        const char *hint = magic == IDX_IMAGES_MAGIC   ? " (this is an IDX image file)"
                           : magic == IDX_LABELS_MAGIC ? " (this is an IDX label file)"
                                                       : "";
        status = nn_fail(err, NN_ERR_DATA, "%s: bad magic 0x%08x, expected 0x%08x for IDX %s%s",
                         path, magic, want, what, hint);
        goto done;
    }
    if (got < header_size) {
        status = nn_fail(err, NN_ERR_DATA, "%s: truncated: IDX header cut short", path);
        goto done;
    }
    out->count = big_endian32(header + 4);
    out->rows = images ? big_endian32(header + 8) : 1;
    out->cols = images ? big_endian32(header + 12) : 1;
    if (out->count == 0 || out->rows == 0 || out->cols == 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: empty: %lld %s of %lld x %lld", path,
                         (long long)out->count, what, (long long)out->rows,
                         (long long)out->cols);
        goto done;
    }
    /* Each dimension is below 2^32, but rows * cols already may not fit in 63 bits. */
    if (out->rows > INT64_MAX / out->cols ||
        out->count > INT64_MAX / (out->rows * out->cols) ||
        (uint64_t)(out->count * out->rows * out->cols) > SIZE_MAX) {
        status = nn_fail(err, NN_ERR_DATA, "%s: header declares an impossible size", path);
        goto done;
    }
    int64_t size = out->count * out->rows * out->cols;
    got = read_declared(gz, size, &out->data);
    if (got == -2) {
        status = nn_fail(err, NN_ERR_OTHER, "%s: out of memory for %lld bytes", path,
                         (long long)size);
        goto done;
    }
    if (got < 0)
        goto corrupt;
    if (got < size) {
        if (images)
            status = nn_fail(err, NN_ERR_DATA,
                             "%s: truncated: the header declares %lld images of %lld x %lld, "
                             "the data ends early",
                             path, (long long)out->count, (long long)out->rows,
                             (long long)out->cols);
        else
            status = nn_fail(err, NN_ERR_DATA,
                             "%s: truncated: the header declares %lld labels, the data ends "
                             "early",
                             path, (long long)out->count);
        goto done;
    }
    uint8_t extra;
    got = read_fully(gz, &extra, 1);
    if (got < 0)
        goto corrupt;
    if (got > 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: unexpected data after the %lld %s the header "
                         "declares", path, (long long)out->count, what);
        goto done;
    }
    goto done;
corrupt:;
    int code;
    const char *message = gzerror(gz, &code);
    status = nn_fail(err, NN_ERR_DATA, "%s: corrupt gzip data (%s)", path, message);
done:
    gzclose(gz);
    if (status != NN_OK) {
        free(out->data);
        memset(out, 0, sizeof *out);
    }
    return status;
}

static int contains_fashion(const char *path)
{
    static const char word[] = "fashion";
    for (const char *p = path; p && *p; p++) {
        size_t i = 0;
        while (word[i] && p[i] && tolower((unsigned char)p[i]) == word[i])
            i++;
        if (!word[i])
            return 1;
    }
    return 0;
}

/* One split: images and labels read, counts checked, written to the writer. */
typedef struct idx_split {
    idx_array images, labels;
} idx_split;

static nn_status read_split(const char *images_path, const char *labels_path, idx_split *out,
                            nn_error *err)
{
    nn_status status = read_idx(images_path, 1, &out->images, err);
    if (status == NN_OK)
        status = read_idx(labels_path, 0, &out->labels, err);
    if (status == NN_OK && out->images.count != out->labels.count)
        status = nn_fail(err, NN_ERR_DATA, "%s: %lld labels, but %s holds %lld images",
                         labels_path, (long long)out->labels.count, images_path,
                         (long long)out->images.count);
    return status;
}

static nn_status add_split(nn_dataset_writer *w, const char *name, const idx_split *split,
                           nn_error *err)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = split->images.count;
    ds.sample_ndim = 3;
    ds.sample_shape[0] = 1;
    ds.sample_shape[1] = split->images.rows;
    ds.sample_shape[2] = split->images.cols;
    ds.sample_size = split->images.rows * split->images.cols;
    ds.x_is_uint8 = 1;
    ds.x_u8 = split->images.data;
    ds.scale = 1.0f / 255.0f;
    ds.offset = 0.0f;
    ds.target_kind = NN_TARGET_LABELS;
    ds.target_width = 1;
    ds.labels = malloc((size_t)ds.n * sizeof *ds.labels);
    if (!ds.labels)
        return nn_fail(err, NN_ERR_OTHER, "out of memory for %lld labels", (long long)ds.n);
    for (int64_t i = 0; i < ds.n; i++)
        ds.labels[i] = split->labels.data[i];
    nn_status status = nn_dataset_writer_add_split(w, name, &ds, err);
    free(ds.labels);
    return status;
}

static int max_label(const idx_array *labels)
{
    int max = -1;
    for (int64_t i = 0; i < labels->count; i++)
        if (labels->data[i] > max)
            max = labels->data[i];
    return max;
}

nn_status nn_import_idx_named(const char *train_images, const char *train_labels,
                              const char *test_images, const char *test_labels,
                              const char *const *class_names, int n_names,
                              const char *out_path, nn_error *err)
{
    if (!train_images || !train_labels || !out_path)
        return nn_fail(err, NN_ERR_CONFIG, "IDX import: training images, labels and the output "
                                           "path are required");
    if (!test_images != !test_labels)
        return nn_fail(err, NN_ERR_CONFIG, "IDX import: test images and labels go together "
                                           "(got only %s)",
                       test_images ? test_images : test_labels);
    idx_split train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    nn_dataset_writer *w = NULL;
    char digit_names[256][4];
    const char *names[256];

    nn_status status = read_split(train_images, train_labels, &train, err);
    if (status == NN_OK && test_images)
        status = read_split(test_images, test_labels, &test, err);
    if (status != NN_OK)
        goto done;
    if (test_images &&
        (test.images.rows != train.images.rows || test.images.cols != train.images.cols)) {
        status = nn_fail(err, NN_ERR_DATA, "%s: images are %lld x %lld, but the training images "
                         "are %lld x %lld", test_images, (long long)test.images.rows,
                         (long long)test.images.cols, (long long)train.images.rows,
                         (long long)train.images.cols);
        goto done;
    }

    int num_classes = max_label(&train.labels) + 1;
    if (test_images && max_label(&test.labels) + 1 > num_classes)
        num_classes = max_label(&test.labels) + 1;
    if (class_names && n_names != num_classes) {
        status = nn_fail(err, NN_ERR_CONFIG, "IDX import: %d class names given, but the labels "
                         "hold %d classes", n_names, num_classes);
        goto done;
    }
    if (!class_names) {
        int fashion = num_classes == 10 && train.images.rows == 28 && train.images.cols == 28 &&
                      (contains_fashion(train_images) || contains_fashion(train_labels) ||
                       contains_fashion(test_images) || contains_fashion(test_labels));
        for (int c = 0; c < num_classes; c++) {
            snprintf(digit_names[c], sizeof digit_names[c], "%d", c & 0xff); /* c < 256 */
            names[c] = fashion ? nn_fashion_mnist_class_names[c] : digit_names[c];
        }
        class_names = names;
    }

    if ((status = nn_dataset_writer_create(out_path, &w, err)) != NN_OK)
        goto done;
    if ((status = add_split(w, "train", &train, err)) != NN_OK ||
        (test_images && (status = add_split(w, "test", &test, err)) != NN_OK) ||
        (status = nn_dataset_writer_set_classes(w, num_classes, class_names, num_classes, err)) !=
            NN_OK) {
        nn_dataset_writer_abort(w);
        goto done;
    }
    status = nn_dataset_writer_commit(w, err);
done:
    free(train.images.data);
    free(train.labels.data);
    free(test.images.data);
    free(test.labels.data);
    return status;
}

nn_status nn_import_idx(const char *train_images, const char *train_labels,
                        const char *test_images, const char *test_labels, const char *out_path,
                        nn_error *err)
{
    return nn_import_idx_named(train_images, train_labels, test_images, test_labels, NULL, 0,
                               out_path, err);
}

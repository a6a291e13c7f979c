/* The IDX importer (nn_import_idx) on arbitrary image and label files, raw or gzip'ed.
 *
 * Input: one flags byte (bit 0: gzip the images, bit 1: gzip the labels, bit 2: import the
 * same pair as the test split too), two bytes giving the length of the images file, the
 * images file, then the labels file. A failed import must leave one clear line and no file;
 * a successful one must load back with the rows the files hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "nn/data.h"

static void write_maybe_gzip(const char *path, const uint8_t *data, size_t size, int gzip)
{
    if (!gzip) {
        fuzz_write_file(path, data, size);
        return;
    }
    gzFile gz = gzopen(path, "wb");
    if (!gz || (size && gzwrite(gz, data, (unsigned)size) != (int)size) || gzclose(gz) != Z_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader in = {data, size};
    uint8_t flags = fuzz_u8(&in);
    size_t images_len = (size_t)fuzz_u8(&in) << 8 | fuzz_u8(&in), labels_len;
    const uint8_t *images = fuzz_bytes(&in, images_len, &images_len);
    const uint8_t *labels = fuzz_bytes(&in, in.size, &labels_len);

    char images_path[600], labels_path[600], out_path[600], tmp_path[700];
    fuzz_scratch_path(images_path, sizeof images_path, "images.idx");
    fuzz_scratch_path(labels_path, sizeof labels_path, "labels.idx");
    fuzz_scratch_path(out_path, sizeof out_path, "out.h5");
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", out_path);
    write_maybe_gzip(images_path, images, images_len, flags & 1);
    write_maybe_gzip(labels_path, labels, labels_len, flags & 2);
    fuzz_remove(out_path);

    int with_test = (flags & 4) != 0;
    nn_error err = {0};
    nn_status st = nn_import_idx(images_path, labels_path, with_test ? images_path : NULL,
                                 with_test ? labels_path : NULL, out_path, &err);
    fuzz_check_error(st, &err, "nn_import_idx");
    if (st != NN_OK) {
        fuzz_check_absent(out_path, "nn_import_idx");
    } else {
        nn_dataset ds;
        st = nn_dataset_load(out_path, "train", &ds, &err);
        if (st != NN_OK) {
            fprintf(stderr, "fuzz: an imported IDX file does not load: %s\n", err.msg);
            abort();
        }
        /* The label file holds an 8-byte header and one byte per label. */
        if (ds.n != (int64_t)labels_len - 8 && !(flags & 2)) {
            fprintf(stderr, "fuzz: %lld rows imported from %zu label bytes\n", (long long)ds.n,
                    labels_len);
            abort();
        }
        nn_dataset_free(&ds);
    }
    fuzz_check_absent(tmp_path, "nn_import_idx");
    fuzz_remove(out_path);
    return 0;
}

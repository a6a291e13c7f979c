/* The CSV importer (nn_import_csv) on arbitrary text with every combination of options.
 *
 * Input: an options byte (bits 0-1: label column 0, 1, -1 or -2; bits 2-3: header
 * auto/no/yes; bit 4: value targets; bit 5: ';' as the delimiter; bit 6: a test file; bit 7:
 * two target columns), two bytes giving the length of the train file, the train file, then
 * the test file. A failed import leaves one clear line and no file; a successful one loads. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "nn/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader in = {data, size};
    uint8_t flags = fuzz_u8(&in);
    size_t train_len = (size_t)fuzz_u8(&in) << 8 | fuzz_u8(&in), test_len;
    const uint8_t *train = fuzz_bytes(&in, train_len, &train_len);
    const uint8_t *test = fuzz_bytes(&in, in.size, &test_len);

    char train_path[600], test_path[600], out_path[600], tmp_path[700];
    fuzz_scratch_path(train_path, sizeof train_path, "train.csv");
    fuzz_scratch_path(test_path, sizeof test_path, "test.csv");
    fuzz_scratch_path(out_path, sizeof out_path, "out.h5");
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", out_path);
    fuzz_write_file(train_path, train, train_len);
    fuzz_write_file(test_path, test, test_len);
    fuzz_remove(out_path);

    static const int label_columns[4] = {0, 1, -1, -2};
    static const int headers[4] = {-1, 0, 1, -1};
    nn_csv_options opts = {
        .train_csv = train_path,
        .test_csv = flags & 64 ? test_path : NULL,
        .label_column = label_columns[flags & 3],
        .has_header = headers[(flags >> 2) & 3],
        .targets_are_values = (flags & 16) != 0,
        .n_target_columns = flags & 16 ? (flags & 128 ? 2 : 1) : 0,
        .delimiter = flags & 32 ? ';' : ',',
    };
    nn_error err = {0};
    nn_status st = nn_import_csv(&opts, out_path, &err);
    fuzz_check_error(st, &err, "nn_import_csv");
    if (st != NN_OK) {
        fuzz_check_absent(out_path, "nn_import_csv");
    } else {
        nn_dataset ds;
        st = nn_dataset_load(out_path, "train", &ds, &err);
        if (st != NN_OK) {
            fprintf(stderr, "fuzz: an imported CSV file does not load: %s\n", err.msg);
            abort();
        }
        nn_dataset_free(&ds);
    }
    fuzz_check_absent(tmp_path, "nn_import_csv");
    fuzz_remove(out_path);
    return 0;
}

/* nntrain import idx|csv ...: convert datasets into nntrain's HDF5 layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/data.h"

static const char *take_value(int argc, char **argv, int *i, nn_error *err)
{
    if (*i + 1 >= argc) {
        nn_fail(err, NN_ERR_CONFIG, "import: %s needs a value", argv[*i]);
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

static int import_idx(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    const char *images = NULL, *labels = NULL, *test_images = NULL, *test_labels = NULL,
               *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp(argv[i], "--images"))
            slot = &images;
        else if (!strcmp(argv[i], "--labels"))
            slot = &labels;
        else if (!strcmp(argv[i], "--test-images"))
            slot = &test_images;
        else if (!strcmp(argv[i], "--test-labels"))
            slot = &test_labels;
        else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output"))
            slot = &out;
        else {
            nn_fail(&err, NN_ERR_CONFIG, "import idx: unknown argument '%s'", argv[i]);
            return nni_cli_report(world, &err);
        }
        if (!(*slot = take_value(argc, argv, &i, &err)))
            return nni_cli_report(world, &err);
    }
    if (!images || !labels || !out || (!test_images != !test_labels)) {
        nn_fail(&err, NN_ERR_CONFIG, "usage: nntrain import idx --images F --labels F "
                "[--test-images F --test-labels F] -o OUT.h5");
        return nni_cli_report(world, &err);
    }
    if (world->rank != 0)
        return 0;
    if (nn_import_idx(images, labels, test_images, test_labels, out, &err))
        return nni_cli_report(world, &err);
    printf("wrote %s\n", out);
    return 0;
}

static int import_csv(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nn_csv_options opts = {.label_column = -1, .has_header = -1, .delimiter = ','};
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (!strcmp(argv[i], "--header")) {
            opts.has_header = 1;
            continue;
        }
        if (!strcmp(argv[i], "--no-header")) {
            opts.has_header = 0;
            continue;
        }
        int known = !strcmp(argv[i], "--train") || !strcmp(argv[i], "--test") ||
                    !strcmp(argv[i], "--label-column") || !strcmp(argv[i], "--targets") ||
                    !strcmp(argv[i], "--delimiter") || !strcmp(argv[i], "-o") ||
                    !strcmp(argv[i], "--output");
        if (!known) {
            nn_fail(&err, NN_ERR_CONFIG, "import csv: unknown argument '%s'", argv[i]);
            return nni_cli_report(world, &err);
        }
        const char *flag = argv[i];
        if (!(value = take_value(argc, argv, &i, &err)))
            return nni_cli_report(world, &err);
        char *end = NULL;
        if (!strcmp(flag, "--train"))
            opts.train_csv = value;
        else if (!strcmp(flag, "--test"))
            opts.test_csv = value;
        else if (!strcmp(flag, "--delimiter"))
            opts.delimiter = value[0];
        else if (!strcmp(flag, "-o") || !strcmp(flag, "--output"))
            out = value;
        else {
            long number = strtol(value, &end, 10);
            if (*end || end == value) {
                nn_fail(&err, NN_ERR_CONFIG, "import csv: %s expects an integer, got '%s'",
                        flag, value);
                return nni_cli_report(world, &err);
            }
            if (!strcmp(flag, "--label-column"))
                opts.label_column = (int)number;
            else {
                opts.targets_are_values = 1;
                opts.n_target_columns = (int)number;
            }
        }
    }
    if (!opts.train_csv || !out) {
        nn_fail(&err, NN_ERR_CONFIG, "usage: nntrain import csv --train F [--test F] "
                "[--label-column K] [--header|--no-header] [--targets N] -o OUT.h5");
        return nni_cli_report(world, &err);
    }
    if (world->rank != 0)
        return 0;
    if (nn_import_csv(&opts, out, &err))
        return nni_cli_report(world, &err);
    printf("wrote %s\n", out);
    return 0;
}

int nni_cmd_import(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    if (argc >= 2 && !strcmp(argv[1], "idx"))
        return import_idx(argc - 1, argv + 1, world);
    if (argc >= 2 && !strcmp(argv[1], "csv"))
        return import_csv(argc - 1, argv + 1, world);
    nn_fail(&err, NN_ERR_CONFIG, "usage: nntrain import idx|csv ... (see nntrain --help)");
    return nni_cli_report(world, &err);
}

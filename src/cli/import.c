/* nntrain import idx|csv ...: convert datasets into nntrain's HDF5 layout. Each format's
 * command line is a flag table (cli/options.h): `nntrain import csv --help` lists it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/data.h"

static const nni_cli_flag idx_flags[] = {
    {"images", 0, "F", "training images, IDX (gzip or not) (required)"},
    {"labels", 0, "F", "training labels, IDX (required)"},
    {"test-images", 0, "F", "test images (with --test-labels: a test split)"},
    {"test-labels", 0, "F", "test labels"},
    {"output", 'o', "OUT.h5", "the dataset file to write (required)"},
    {NULL, 0, NULL, NULL},
};

static const nni_cli_flag csv_flags[] = {
    {"train", 0, "F", "the training CSV (required)"},
    {"test", 0, "F", "a test CSV with the same columns"},
    {"label-column", 0, "K", "the label (or first target) column, 0-based; negative counts "
                             "from the end (default: -1, the last)"},
    {"targets", 0, "N", "N float target columns from the label column (regression) instead "
                        "of a class label"},
    {"index-column", 0, "NAME", "drop the column with this header name (pandas' index: '')"},
    {"header", 0, NULL, "the first row is a header (default: detected)"},
    {"no-header", 0, NULL, "the first row is data"},
    {"delimiter", 0, "C", "the field separator (default: ,)"},
    {"output", 'o', "OUT.h5", "the dataset file to write (required)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_import_idx_spec = {
    "import idx", NULL, "IDX files (MNIST, Fashion-MNIST) into an HDF5 dataset", 0, 0,
    idx_flags};
const nni_cli_spec nni_import_csv_spec = {
    "import csv", NULL, "CSV files into an HDF5 dataset; string labels become classes "
                        "(class_names)", 0, 0, csv_flags};

static int import_idx(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_import_idx_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    const char *images = nni_cli_value(&args, "images"), *labels = nni_cli_value(&args, "labels"),
               *test_images = nni_cli_value(&args, "test-images"),
               *test_labels = nni_cli_value(&args, "test-labels"),
               *out = nni_cli_value(&args, "output");
    if (!images || !labels || !out || (!test_images != !test_labels)) {
        nn_fail(&err, NN_ERR_CONFIG, "import idx: --images, --labels and -o are required, "
                "--test-images and --test-labels go together (see nntrain import idx --help)");
        return nni_cli_report(world, &err);
    }
    if (world->rank != 0)
        return 0;
    if (nn_import_idx(images, labels, test_images, test_labels, out, &err))
        return nni_cli_report(world, &err);
    printf("wrote %s\n", out);
    return 0;
}

/* An integer flag's value into *out; 0 when absent or read, -1 after filling err. */
static int integer_flag(const nni_cli_args *args, const char *name, int *out, nn_error *err)
{
    const char *value = nni_cli_value(args, name);
    if (!value)
        return 0;
    char *end = NULL;
    long number = strtol(value, &end, 10);
    if (*end || end == value || number < -1000000 || number > 1000000) {
        nn_fail(err, NN_ERR_CONFIG, "import csv: --%s expects an integer, got '%s'", name,
                value);
        return -1;
    }
    *out = (int)number;
    return 0;
}

static int import_csv(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_import_csv_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    nn_csv_options opts = {.label_column = -1, .has_header = -1, .delimiter = ','};
    opts.train_csv = nni_cli_value(&args, "train");
    opts.test_csv = nni_cli_value(&args, "test");
    opts.index_column = nni_cli_value(&args, "index-column");
    const char *out = nni_cli_value(&args, "output");
    const char *delimiter = nni_cli_value(&args, "delimiter");
    if (nni_cli_count(&args, "header") && nni_cli_count(&args, "no-header"))
        nn_fail(&err, NN_ERR_CONFIG, "import csv: --header and --no-header contradict");
    else if (delimiter && strlen(delimiter) != 1)
        nn_fail(&err, NN_ERR_CONFIG, "import csv: --delimiter expects one character, got '%s'",
                delimiter);
    else if (!opts.train_csv || !out)
        nn_fail(&err, NN_ERR_CONFIG, "import csv: --train and -o are required (see nntrain "
                "import csv --help)");
    if (err.status || integer_flag(&args, "label-column", &opts.label_column, &err) ||
        integer_flag(&args, "targets", &opts.n_target_columns, &err))
        return nni_cli_report(world, &err);
    if (nni_cli_count(&args, "header"))
        opts.has_header = 1;
    if (nni_cli_count(&args, "no-header"))
        opts.has_header = 0;
    if (delimiter)
        opts.delimiter = delimiter[0];
    opts.targets_are_values = nni_cli_value(&args, "targets") != NULL;
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
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        nni_cli_print_help(stdout, &nni_import_idx_spec);
        putchar('\n');
        nni_cli_print_help(stdout, &nni_import_csv_spec);
        return 0;
    }
    nn_fail(&err, NN_ERR_CONFIG, "usage: nntrain import idx|csv ... (see nntrain import idx "
            "--help, nntrain import csv --help)");
    return nni_cli_report(world, &err);
}

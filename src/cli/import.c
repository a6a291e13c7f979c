/* nntrain import idx|csv|series ...: convert datasets into nntrain's HDF5 layout. Each format's
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

static const nni_cli_flag series_flags[] = {
    {"csv", 0, "F", "the CSV file, a header and one row per time step, oldest first "
                    "(required)"},
    {"columns", 0, "C1,C2", "the feature columns of each step, by header name (required)"},
    {"target", 0, "C", "the column to predict (default: the first of --columns)"},
    {"classes", 0, NULL, "the target is a class column (names or integer ids): y is the "
                         "class --horizon rows after the window's last"},
    {"window", 0, "W", "steps per window (required)"},
    {"horizon", 0, "H", "values of the target after the window to predict (required)"},
    {"stride", 0, "S", "rows between window starts (default: 1)"},
    {"split-at", 0, "ROW|FRACTION", "first test row, or the fraction of rows for training; "
                                    "no window crosses it (default: no test split)"},
    {"delimiter", 0, "C", "the field separator (default: ,)"},
    {"output", 'o', "OUT.h5", "the dataset file to write (required)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_import_series_spec = {
    "import series", NULL, "a time series in a CSV file into windows (N x W x F) and what "
                           "follows them, split chronologically", 0, 0, series_flags};
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

/* A non-negative whole number flag into *out (absent: unchanged); -1 after filling err. */
static int count_flag(const nni_cli_args *args, const char *name, int64_t *out, nn_error *err)
{
    const char *value = nni_cli_value(args, name);
    if (!value)
        return 0;
    char *end = NULL;
    long long number = strtoll(value, &end, 10);
    if (*end || end == value || number < 0 || number > 100000000) {
        nn_fail(err, NN_ERR_CONFIG, "import series: --%s expects a whole number >= 0, got "
                "'%s'", name, value);
        return -1;
    }
    *out = number;
    return 0;
}

static int import_series(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_import_series_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    nn_series_options opts = {.stride = 1, .window = -1, .horizon = -1};
    opts.csv = nni_cli_value(&args, "csv");
    opts.target = nni_cli_value(&args, "target");
    opts.target_is_class = nni_cli_count(&args, "classes") > 0;
    const char *columns = nni_cli_value(&args, "columns"), *out = nni_cli_value(&args, "output");
    const char *delimiter = nni_cli_value(&args, "delimiter");
    const char *split_at = nni_cli_value(&args, "split-at");
    if (!opts.csv || !columns || !out || !nni_cli_value(&args, "window") ||
        !nni_cli_value(&args, "horizon"))
        nn_fail(&err, NN_ERR_CONFIG, "import series: --csv, --columns, --window, --horizon and "
                "-o are required (see nntrain import series --help)");
    else if (delimiter && strlen(delimiter) != 1)
        nn_fail(&err, NN_ERR_CONFIG, "import series: --delimiter expects one character, got "
                "'%s'", delimiter);
    if (!err.status && split_at) {
        char *end = NULL;
        opts.split_at = strtod(split_at, &end);
        if (*end || end == split_at || !(opts.split_at > 0))
            nn_fail(&err, NN_ERR_CONFIG, "import series: --split-at expects a row number or a "
                    "fraction in (0, 1), got '%s'", split_at);
    }
    if (err.status || count_flag(&args, "window", &opts.window, &err) ||
        count_flag(&args, "horizon", &opts.horizon, &err) ||
        count_flag(&args, "stride", &opts.stride, &err))
        return nni_cli_report(world, &err);
    if (delimiter)
        opts.delimiter = delimiter[0];
    /* --columns a,b,c: the names, split in a copy */
    char *names = strdup(columns);
    if (!names) {
        nn_fail(&err, NN_ERR_OTHER, "out of memory");
        return nni_cli_report(world, &err);
    }
    const char *list[256];
    for (char *save = NULL, *name = strtok_r(names, ",", &save); name && opts.n_columns < 256;
         name = strtok_r(NULL, ",", &save))
        list[opts.n_columns++] = name;
    opts.columns = list;
    int rc = 0;
    if (world->rank == 0) {
        if (nn_import_series(&opts, out, &err))
            rc = nni_cli_report(world, &err);
        else
            printf("wrote %s\n", out);
    }
    free(names);
    return rc;
}

int nni_cmd_import(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    if (argc >= 2 && !strcmp(argv[1], "idx"))
        return import_idx(argc - 1, argv + 1, world);
    if (argc >= 2 && !strcmp(argv[1], "csv"))
        return import_csv(argc - 1, argv + 1, world);
    if (argc >= 2 && !strcmp(argv[1], "series"))
        return import_series(argc - 1, argv + 1, world);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        nni_cli_print_help(stdout, &nni_import_idx_spec);
        putchar('\n');
        nni_cli_print_help(stdout, &nni_import_csv_spec);
        putchar('\n');
        nni_cli_print_help(stdout, &nni_import_series_spec);
        return 0;
    }
    nn_fail(&err, NN_ERR_CONFIG, "usage: nntrain import idx|csv|series ... (see nntrain import "
            "idx --help, nntrain import csv --help, nntrain import series --help)");
    return nni_cli_report(world, &err);
}

/* nntrain search CONFIG [--set key=value ...] [--dry-run] [--final-test]
 * nntrain search --status DIR
 * nntrain search --predict DIR [--top N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/search.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nntrain search CONFIG.yaml [--set key=value ...] [--dry-run] [--final-test]\n"
            "       nntrain search --status DIR\n"
            "       nntrain search --predict DIR [--top N]\n"
            "\n"
            "  CONFIG's search: section names the method, the metric (val_loss or\n"
            "  val_accuracy), the parameters (any config key) and the ranks per trial;\n"
            "  under mpirun the world is split into groups that train trials while\n"
            "  rank 0 coordinates. Results go to search.dir (default searches/<name>):\n"
            "  trials.csv, best.yaml, trial-NNN/ runs. Running the same command again\n"
            "  resumes an interrupted search.\n"
            "  --dry-run     print the trials and the rank layout, run nothing\n"
            "  --final-test  evaluate the best trial on the test split at the end\n"
            "  --status DIR  print the leaderboard of a search directory\n"
            "  --predict DIR fit a surrogate to the finished trials and rank configurations\n"
            "                not yet run by their predicted metric (--top N: how many)\n"
            "\n"
            "  search.method (the first is the default):\n");
    nn_search_print_methods(out);
}

/* Flags taking a value: the value follows the flag. */
static const char *take_value(int argc, char **argv, int *i, nn_error *err)
{
    if (*i + 1 >= argc || !argv[*i + 1]) {
        nn_fail(err, NN_ERR_CONFIG, "search: %s needs a value (see nntrain search --help)",
                argv[*i]);
        return NULL;
    }
    const char *value = argv[*i + 1];
    argv[*i] = argv[*i + 1] = NULL;
    (*i)++;
    return value;
}

/* Errors of the search command are the same on every rank: rank 0 prints them. */
static int fail(const nn_comm *world, const nn_error *err)
{
    return world->rank == 0 ? nni_cli_report(NULL, err) : (int)err->status;
}

int nni_cmd_search(int argc, char **argv, const nn_comm *world)
{
    int dry_run = 0, final_test = 0, top = 10;
    const char *status_dir = NULL, *predict_dir = NULL;
    nn_error err = {0};
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (world->rank == 0)
                usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--dry-run")) {
            dry_run = 1;
            argv[i] = NULL;
        } else if (!strcmp(argv[i], "--final-test")) {
            final_test = 1;
            argv[i] = NULL;
        } else if (!strcmp(argv[i], "--status")) {
            if (!(status_dir = take_value(argc, argv, &i, &err)))
                return fail(world, &err);
        } else if (!strcmp(argv[i], "--predict")) {
            if (!(predict_dir = take_value(argc, argv, &i, &err)))
                return fail(world, &err);
        } else if (!strcmp(argv[i], "--top")) {
            const char *value = take_value(argc, argv, &i, &err);
            char *end = NULL;
            top = value ? (int)strtol(value, &end, 10) : 0;
            if (!value || *end || top < 1) {
                if (value)
                    nn_fail(&err, NN_ERR_CONFIG, "search: --top needs a positive number, got "
                            "'%s'", value);
                return fail(world, &err);
            }
        } else if (argv[i][0] == '-' && strcmp(argv[i], "--set") && strcmp(argv[i], "--rank-set") &&
                   strncmp(argv[i], "--set=", 6)) {
            nn_fail(&err, NN_ERR_CONFIG, "search: unknown option '%s' (see nntrain search "
                    "--help)", argv[i]);
            return fail(world, &err);
        }
    }
    if (status_dir || predict_dir) {
        for (int i = 1; i < argc; i++)
            if (argv[i]) {
                nn_fail(&err, NN_ERR_CONFIG, "search: --status and --predict take a search "
                        "directory only (unexpected '%s')", argv[i]);
                return fail(world, &err);
            }
        if (world->rank != 0)
            return 0;
        nn_status st = status_dir ? nn_search_print_status(status_dir, stdout, &err)
                                  : nn_search_print_predictions(predict_dir, top, stdout, &err);
        return st ? nni_cli_report(NULL, &err) : 0;
    }

    /* Every rank reads the config and the space: the same on all, so a config error is
     * reported once, by rank 0, and every rank exits with its code. */
    nn_cfg *cfg = NULL;
    const char *path = NULL;
    nn_search *search = NULL;
    nn_status st = nni_cli_load_config(argc, argv, "search", world->rank, &cfg, &path, &err);
    if (!st)
        st = nn_search_parse(cfg, path, &search, &err);
    nn_cfg_free(cfg);
    if (!st && dry_run) {
        if (world->rank == 0)
            st = nn_search_print_plan(search, world->size, stdout, &err);
    } else if (!st) {
        nn_search_options opts = {.log = stdout, .stop_flag = nni_cli_install_stop_signals(),
                                  .final_test = final_test};
        nn_search_outcome outcome;
        st = nn_search_run(search, world, &opts, &outcome, &err);
        if (!st && world->rank == 0 && !outcome.interrupted && outcome.finished == 0 &&
            outcome.failed > 0) {
            nn_search_free(search);
            fprintf(stderr, "nntrain: search: every trial failed\n");
            return outcome.first_failure ? (int)outcome.first_failure : 1;
        }
    }
    nn_search_free(search);
    return st ? fail(world, &err) : 0;
}

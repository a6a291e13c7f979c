/* nntrain search CONFIG [--set key=value ...] [--dry-run] [--final-test]
 * nntrain search --status DIR
 * nntrain search --predict DIR [--top N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/search.h"

static const nni_cli_flag search_flags[] = {
    NNI_CLI_SET_FLAG,
    NNI_CLI_RANK_SET_FLAG,
    {"dry-run", 0, NULL, "print the trials and the rank layout, run nothing"},
    {"final-test", 0, NULL, "evaluate the best trial on the test split at the end"},
    {"status", 0, "DIR", "print the leaderboard of a search directory"},
    {"predict", 0, "DIR", "fit a surrogate to the finished trials and rank configurations "
                          "not yet run by their predicted metric"},
    {"top", 0, "N", "with --predict: how many configurations to print (default 10)"},
    {NULL, 0, NULL, NULL},
};

static const nni_cli_spec search_spec = {
    "search", "CONFIG.yaml | --status DIR | --predict DIR",
    "hyperparameter search (grid, random, halving, bayes) over groups of ranks; resumable",
    0, 1,
    search_flags};

static const char search_details[] =
    "\nCONFIG's search: section names the method, the metric (val_loss or val_accuracy), the\n"
    "parameters (any config key) and the ranks per trial; under mpirun the world is split\n"
    "into groups that train trials while rank 0 coordinates. Results go to search.dir\n"
    "(default searches/<name>): trials.csv, best.yaml, trial-NNN/ runs. Running the same\n"
    "command again resumes an interrupted search; a directory in use by a running search\n"
    "is refused. The search: keys: nntrain train --help-catalogue.\n"
    "\nsearch.method (the first is the default):\n";

/* Errors of the search command are the same on every rank: rank 0 prints them. */
static int fail(const nn_comm *world, const nn_error *err)
{
    return world->rank == 0 ? nni_cli_report(NULL, err) : (int)err->status;
}

int nni_cmd_search(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &search_spec, &args, &err))
        return fail(world, &err);
    if (args.help) {
        if (args.help == 1) {
            fputs(search_details, stdout);
            nn_search_print_methods(stdout);
        }
        return 0;
    }
    const char *status_dir = nni_cli_value(&args, "status");
    const char *predict_dir = nni_cli_value(&args, "predict");
    const char *top_text = nni_cli_value(&args, "top");
    int dry_run = nni_cli_count(&args, "dry-run"), final_test = nni_cli_count(&args, "final-test");
    int top = 10;
    if (top_text) {
        char *end = NULL;
        long value = strtol(top_text, &end, 10);
        if (end == top_text || *end || value < 1 || value > 1000000) {
            nn_fail(&err, NN_ERR_CONFIG, "search: --top needs a positive number, got '%s'",
                    top_text);
            return fail(world, &err);
        }
        top = (int)value;
    }
    if (status_dir || predict_dir) {
        if (args.n_operands > 0 || (status_dir && predict_dir)) {
            nn_fail(&err, NN_ERR_CONFIG, "search: --status and --predict take a search "
                    "directory only (unexpected '%s')",
                    args.n_operands > 0 ? args.operands[0] : "--status with --predict");
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
    nn_status st = nni_cli_load_config(&args, world->rank, &cfg, &path, &err);
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

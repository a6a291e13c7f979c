/* nntrain: the command-line entry point. Every verb is one row of the table below (its
 * name, its function and its lines of the usage text); main() looks the verb up, starts MPI
 * (a singleton when started without a launcher, so one code path serves a laptop and a
 * cluster) and runs it. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct cli_verb {
    const char *name;
    int (*run)(int argc, char **argv, const nn_comm *world);
    const char *usage; /* lines of `nntrain --help`, each "  name ARGS   what it does" */
} cli_verb;

static const cli_verb verbs[] = {
    {"train", nni_cmd_train,
     "  train CONFIG [--set key=value ...]    train a model (mpirun -np N for N ranks)\n"
     "  train --help-catalogue                 list layers, activations, losses,\n"
     "                                         optimizers, schedules, initializers\n"
     "  train CONFIG --resume runs/NAME        continue a run from its last checkpoint\n"},
    {"search", nni_cmd_search,
     "  search CONFIG [--set key=value ...]   hyperparameter search (grid, random, halving)\n"
     "         [--dry-run] [--final-test]      over groups of ranks; resumable\n"
     "  search --status DIR | --predict DIR   leaderboard; surrogate predictions\n"},
    {"summary", nni_cmd_summary,
     "  summary CONFIG [--set key=value ...]  layers, shapes, parameters, FLOPs, latency\n"},
    {"eval", nni_cmd_eval, "  eval CHECKPOINT [--split test] [--data FILE]\n"},
    {"predict", nni_cmd_predict, "  predict CHECKPOINT [--split test] [--data FILE] -o OUT.h5\n"},
    {"verify", nni_cmd_verify,
     "  verify CHECKPOINT...                   check that checkpoints are complete\n"},
    {"reinit", nni_cmd_reinit,
     "  reinit RUN_DIR [--layers L,...] [--to initial|random] [--epochs E,...]\n"
     "                                         accuracy with each layer reset: critical and\n"
     "                                         robust layers\n"},
    {"coreset", nni_cmd_coreset,
     "  coreset DATA.h5 --k K [--method kcenter|herding|random] [--features CKPT:LAYER]\n"
     "          [--balanced] -o OUT.h5        k representative rows as a dataset file\n"},
    {"import", nni_cmd_import,
     "  import idx --images F --labels F [--test-images F --test-labels F] -o OUT.h5\n"
     "  import csv --train F [--test F] [--label-column K] [--header|--no-header]\n"
     "             [--targets N] -o OUT.h5\n"},
    {"report", nni_cmd_report,
     "  report PATH... [-o FILE.html]          an HTML page of a run, runs compared, or a search\n"
     "         [--no-eval] [--watch]\n"},
};
enum { N_VERBS = sizeof verbs / sizeof verbs[0] };

static void usage(FILE *out)
{
    fprintf(out, "usage: nntrain <command> [arguments]\n\ncommands:\n");
    for (int i = 0; i < N_VERBS; i++)
        fputs(verbs[i].usage, out);
    fprintf(out, "\nexit codes: 0 ok, 1 other failure, 2 usage or config error, 3 data error,\n"
                 "            4 numerical failure\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *command = argv[1];
    const cli_verb *verb = NULL;
    for (int i = 0; i < N_VERBS; i++)
        if (!strcmp(command, verbs[i].name))
            verb = &verbs[i];
    if (!verb) {
        char names[256] = "";
        size_t used = 0;
        for (int i = 0; i < N_VERBS; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                     verbs[i].name);
        fprintf(stderr, "nntrain: unknown command '%s' (commands: %s; see nntrain --help)\n",
                command, names);
        return 2;
    }
    nn_comm world;
    nn_error err = {0};
    if (nn_parallel_init(&argc, &argv, &world, &err)) {
        fprintf(stderr, "nntrain: %s\n", err.msg);
        return 1;
    }
    int code = verb->run(argc - 1, argv + 1, &world);
    nn_parallel_finalize();
    return code;
}

/* nntrain: the command-line entry point. MPI is initialized for every command (a singleton
 * when started without a launcher), so one code path serves a laptop and a cluster. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nntrain <command> [arguments]\n"
            "\n"
            "commands:\n"
            "  train CONFIG [--set key=value ...]    train a model (mpirun -np N for N ranks)\n"
            "  train --help-catalogue                 list layers, activations, losses,\n"
            "                                         optimizers, schedules, initializers\n"
            "  train CONFIG --resume runs/NAME        continue a run from its last checkpoint\n"
            "  summary CONFIG [--set key=value ...]  layers, shapes, parameters, FLOPs, latency\n"
            "  eval CHECKPOINT [--split test] [--data FILE]\n"
            "  predict CHECKPOINT [--split test] [--data FILE] -o OUT.h5\n"
            "  verify CHECKPOINT...                   check that checkpoints are complete\n"
            "  import idx --images F --labels F [--test-images F --test-labels F] -o OUT.h5\n"
            "  import csv --train F [--test F] [--label-column K] [--header|--no-header]\n"
            "             [--targets N] -o OUT.h5\n"
            "\n"
            "exit codes: 0 ok, 1 other failure, 2 usage or config error, 3 data error,\n"
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
    int (*run)(int, char **, const nn_comm *) = NULL;
    if (!strcmp(command, "train"))
        run = cmd_train;
    else if (!strcmp(command, "summary"))
        run = cmd_summary;
    else if (!strcmp(command, "import"))
        run = cmd_import;
    else if (!strcmp(command, "eval"))
        run = cmd_eval;
    else if (!strcmp(command, "predict"))
        run = cmd_predict;
    else if (!strcmp(command, "verify"))
        run = cmd_verify;
    if (!run) {
        fprintf(stderr, "nntrain: unknown command '%s' (commands: train, summary, eval, predict, verify, import; see "
                        "nntrain --help)\n", command);
        return 2;
    }
    nn_comm world;
    nn_error err = {0};
    if (nn_dist_init(&argc, &argv, &world, &err)) {
        fprintf(stderr, "nntrain: %s\n", err.msg);
        return 1;
    }
    int code = run(argc - 1, argv + 1, &world);
    nn_dist_finalize();
    return code;
}

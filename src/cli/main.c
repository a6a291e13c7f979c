/* nntrain: the command-line entry point. Every verb is one row of the table below (its
 * name, its function, its lines of the usage text, VERB_MPI or VERB_LOCAL); main()
 * looks the verb up, starts MPI (a singleton when started without a launcher, so one code
 * path serves a laptop and a cluster) and runs it. A VERB_LOCAL verb needs no
 * communication: started on its own it runs without MPI (whose start costs a fraction of a
 * second), under mpirun or srun it gets the job's world as the others do. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct cli_verb {
    const char *name;
    int (*run)(int argc, char **argv, const nn_comm *world);
    const char *usage; /* lines of `nntrain --help`, each "  name ARGS   what it does" */
    int local;         /* VERB_LOCAL, or VERB_MPI: MPI is always started */
} cli_verb;

enum { VERB_MPI = 0, VERB_LOCAL = 1 };

static const cli_verb verbs[] = {
    {"train", nni_cmd_train,
     "  train CONFIG [--set key=value ...]    train a model (mpirun -np N for N ranks)\n"
     "  train --help-catalogue                 list layers, activations, losses,\n"
     "                                         optimizers, schedules, initializers\n"
     "  train CONFIG --resume runs/NAME        continue a run from its last checkpoint\n",
     VERB_MPI},
    {"search", nni_cmd_search,
     "  search CONFIG [--set key=value ...]   hyperparameter search (grid, random, halving)\n"
     "         [--dry-run] [--final-test]      over groups of ranks; resumable\n"
     "  search --status DIR | --predict DIR   leaderboard; surrogate predictions\n",
     VERB_MPI},
    {"summary", nni_cmd_summary,
     "  summary CONFIG [--set key=value ...]  layers, shapes, parameters, FLOPs, latency\n"
     "          [--measure [--batch 1,32]]     (also of a checkpoint or run directory)\n",
     VERB_LOCAL},
    {"eval", nni_cmd_eval,
     "  eval CHECKPOINT [--split test] [--data FILE]\n"
     "                                         loss and accuracy of a checkpoint\n",
     VERB_LOCAL},
    {"predict", nni_cmd_predict,
     "  predict CHECKPOINT [--split test] [--data FILE] -o OUT.h5\n"
     "                                         a checkpoint's outputs, written to HDF5\n",
     VERB_LOCAL},
    {"verify", nni_cmd_verify,
     "  verify CHECKPOINT...                   check that checkpoints are complete\n",
     VERB_LOCAL},
    {"reinit", nni_cmd_reinit,
     "  reinit RUN_DIR [--layers L,...] [--to initial|random] [--epochs E,...]\n"
     "                                         accuracy with each layer reset: critical and\n"
     "                                         robust layers\n",
     VERB_MPI},
    {"coreset", nni_cmd_coreset,
     "  coreset DATA.h5 --k K [--method kcenter|herding|random] [--features CKPT:LAYER]\n"
     "          [--balanced] -o OUT.h5        k representative rows as a dataset file\n",
     VERB_LOCAL},
    {"import", nni_cmd_import,
     "  import idx --images F --labels F [--test-images F --test-labels F] -o OUT.h5\n"
     "  import csv --train F [--test F] [--label-column K] [--header|--no-header]\n"
     "             [--targets N] [--index-column NAME] -o OUT.h5\n"
     "  import series --csv F --columns C1,C2 [--target C] [--classes] --window W\n"
     "             --horizon H [--stride S] [--split-at ROW|FRACTION] -o OUT.h5\n",
     VERB_LOCAL},
    {"extract", nni_cmd_extract,
     "  extract CHECKPOINT --layers L1,L2|all [--split S] [--rows A:B] -o REPS.h5\n",
     VERB_MPI},
    {"cka", nni_cmd_cka,
     "  cka CKPT_A [CKPT_B] [--layers ...] [--kernel linear|rbf] [--minibatch M] -o DIR\n",
     VERB_MPI},
    {"probe", nni_cmd_probe,
     "  probe CHECKPOINT [--layers ...] [--concat L1,L2] [--train-split S] [--eval-split S]\n"
     "        -o DIR                           linear probe accuracy per layer\n",
     VERB_MPI},
    {"pca", nni_cmd_pca,
     "  pca DATA.h5 --components K [--split S] -o PCA.h5   PCA as a dense layer's weights\n",
     VERB_MPI},
    {"ensemble", nni_cmd_ensemble,
     "  ensemble CKPT... [--split S] [--combine mean_prob|mean_logit|vote] [-o DIR]\n",
     VERB_MPI},
    {"export", nni_cmd_export,
     "  export CHECKPOINT --format torch|onnx -o OUT   the model as PyTorch or ONNX\n",
     VERB_LOCAL},
    {"version", nni_cmd_version,
     "  version                                nntrain's version and git commit (--version)\n",
     VERB_LOCAL},
    {"report", nni_cmd_report,
     "  report PATH... [-o FILE.html]          an HTML page of a run, runs compared, or a search\n"
     "         [--no-eval] [--watch]\n",
     VERB_LOCAL},
    {"compare", nni_cmd_compare,
     "  compare MODEL... [--batch 1,32,256]    parameters, storage, FLOPs, measured latency\n"
     "         [--threads T] [-o FILE.csv]     of configs, checkpoints or runs side by side\n",
     VERB_LOCAL},
};
enum { N_VERBS = sizeof verbs / sizeof verbs[0] };

static void usage(FILE *out)
{
    fprintf(out, "usage: nntrain <command> [arguments]\n\ncommands:\n");
    for (int i = 0; i < N_VERBS; i++)
        fputs(verbs[i].usage, out);
    fprintf(out, "\nnntrain COMMAND --help lists every flag of a command.\n"
                 "\nexit codes: 0 ok, 1 other failure, 2 usage or config error, 3 data error,\n"
                 "            4 numerical failure\n");
}

/* Under a launcher, what needs no communication (help, usage, the version) is said by rank 0
 * alone: the other ranks run the same code with their output thrown away, so every rank
 * ends with the same exit code and the text appears once. */
static void quiet_unless_first_rank(void)
{
    if (nn_parallel_launcher_rank() == 0)
        return;
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
        return; /* no /dev/null: every rank speaks, as before */
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        quiet_unless_first_rank();
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *command = !strcmp(argv[1], "--version") ? "version" : argv[1];
    const cli_verb *verb = NULL;
    for (int i = 0; i < N_VERBS; i++)
        if (!strcmp(command, verbs[i].name))
            verb = &verbs[i];
    if (!verb) {
        quiet_unless_first_rank();
        char names[256] = "";
        size_t used = 0;
        for (int i = 0; i < N_VERBS; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                     verbs[i].name);
        fprintf(stderr, "nntrain: unknown command '%s' (commands: %s; see nntrain --help)\n",
                command, names);
        return 2;
    }
    /* A file that reaches the size limit (ulimit -f) then fails to write with EFBIG, which
     * is reported like a full disk, instead of killing the process mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    nn_comm world;
    nn_error err = {0};
    /* Help and the version need no communication whatever the verb. */
    int help = !strcmp(command, "version");
    for (int i = 2; i < argc; i++)
        help |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
                !strcmp(argv[i], "--list-flags") || !strcmp(argv[i], "--help-catalogue") ||
                !strcmp(argv[i], "--list-config-keys");
    if ((verb->local || help) && !nn_parallel_launched()) {
        nn_parallel_init_single(&world);
        return verb->run(argc - 1, argv + 1, &world);
    }
    if (help) { /* under a launcher: without MPI too, said by rank 0 */
        quiet_unless_first_rank();
        nn_parallel_init_single(&world);
        return verb->run(argc - 1, argv + 1, &world);
    }
    if (nn_parallel_init(&argc, &argv, &world, &err)) {
        fprintf(stderr, "nntrain: %s\n", err.msg);
        return 1;
    }
    int code = verb->run(argc - 1, argv + 1, &world);
    nn_parallel_finalize();
    return code;
}

/* nntrain train CONFIG [--set key=value ...] [--run-dir DIR] [--resume DIR]
 *                      [--progress|--no-progress]
 * nntrain train --help-catalogue (src/cli/catalogue.c) */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/trainer.h"

static const nni_cli_flag train_flags[] = {
    NNI_CLI_SET_FLAG,
    NNI_CLI_RANK_SET_FLAG,
    {"run-dir", 0, "DIR", "write the run into DIR (default: runs/<name>, never reused)"},
    {"resume", 0, "RUN_DIR", "continue the run in RUN_DIR from its last checkpoint"},
    {"progress", 0, NULL, "draw the progress bar even when the output is not a terminal"},
    {"no-progress", 0, NULL, "never draw the progress bar"},
    {"help-catalogue", 0, NULL, "list every config key and name: layers, activations, "
                                "losses, optimizers, ..."},
    {"list-config-keys", 0, NULL, "print every key --set can give for CONFIG, one a line, "
                                  "each followed by a tab and 'set' (CONFIG sets it) or "
                                  "'default' (for the shell completion)"},
    {NULL, 0, NULL, NULL},
};

static const nni_cli_spec train_spec = {
    "train", "CONFIG.yaml", "train a model (mpirun -np N nntrain train ... for N ranks)", 0, 1,
    train_flags};

static const char train_details[] =
    "\nCONFIG.yaml describes the data (data:), the model (model:), the training (train:) and\n"
    "seed/name; `nntrain train --help-catalogue` lists every key with its default and every\n"
    "layer, activation, loss, optimizer, schedule and initializer. A run writes\n"
    "runs/<name>/ (config.yaml, metrics.csv, log.txt, checkpoints).\n";

int nni_cmd_train(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &train_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help) {
        if (args.help == 1)
            fputs(train_details, stdout);
        return 0;
    }
    if (nni_cli_count(&args, "help-catalogue")) {
        if (world->rank == 0)
            nni_cli_print_catalogue(stdout);
        return 0;
    }
    nn_train_options opts = {.progress = -1};
    if (nni_cli_count(&args, "progress"))
        opts.progress = 1;
    if (nni_cli_count(&args, "no-progress"))
        opts.progress = 0;
    opts.resume_dir = nni_cli_value(&args, "resume");
    opts.run_dir = nni_cli_value(&args, "run-dir");
    nn_cfg *cfg = NULL;
    const char *path = NULL;
    if (nni_cli_load_config(&args, world->rank, &cfg, &path, &err))
        return nni_cli_fail_job(world, &err);
    if (nni_cli_count(&args, "list-config-keys")) {
        if (world->rank == 0)
            nni_cli_print_config_keys(cfg, stdout);
        nn_cfg_free(cfg);
        return 0;
    }
    opts.config_name = path;
    opts.stop_flag = nni_cli_install_stop_signals();
    nn_train_result result;
    nn_status st = nn_train(cfg, world, &opts, &result, &err);
    nn_cfg_free(cfg);
    if (st)
        return nni_cli_fail_job(world, &err);
    if (result.stopped_by_signal && world->rank == 0) {
        printf("nntrain: stopped on a signal; resume with: nntrain train %s --resume %s\n", path,
               result.run_dir);
        fflush(stdout);
    }
    return 0;
}

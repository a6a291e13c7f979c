/* nntrain train CONFIG [--set key=value ...] [--run-dir DIR] [--progress|--no-progress]
 * nntrain train --help-catalogue (src/cli/catalogue.c) */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/trainer.h"

int nni_cmd_train(int argc, char **argv, const nn_comm *world)
{
    nn_train_options opts = {.progress = -1};
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        if (!strcmp(argv[i], "--help-catalogue")) {
            if (world->rank == 0)
                nni_cli_print_catalogue(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (world->rank == 0)
                printf("usage: nntrain train CONFIG.yaml [--set key=value ...] [--run-dir DIR]"
                       " [--resume RUN_DIR] [--progress|--no-progress]\n"
                       "       nntrain train --help-catalogue\n");
            return 0;
        }
    }
    nn_error err = {0};
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        if (!strcmp(argv[i], "--progress")) {
            opts.progress = 1;
            argv[i] = NULL;
        } else if (!strcmp(argv[i], "--no-progress")) {
            opts.progress = 0;
            argv[i] = NULL;
        } else if (!strcmp(argv[i], "--resume")) {
            if (i + 1 >= argc) {
                nn_fail(&err, NN_ERR_CONFIG, "--resume needs a run directory (runs/NAME)");
                return nni_cli_report(world, &err);
            }
            opts.resume_dir = argv[i + 1];
            argv[i] = argv[i + 1] = NULL;
            i++;
        } else if (!strcmp(argv[i], "--run-dir")) {
            if (i + 1 >= argc) {
                nn_fail(&err, NN_ERR_CONFIG, "--run-dir needs a directory");
                return nni_cli_report(world, &err);
            }
            opts.run_dir = argv[i + 1];
            argv[i] = argv[i + 1] = NULL;
            i++;
        }
    }
    for (int i = 1; i < argc; i++)
        if (argv[i] && argv[i][0] == '-' && strcmp(argv[i], "--set") &&
            strcmp(argv[i], "--rank-set") && strncmp(argv[i], "--set=", 6)) {
            nn_fail(&err, NN_ERR_CONFIG, "train: unknown option '%s' (see nntrain train --help)",
                    argv[i]);
            return nni_cli_report(world, &err);
        }
    nn_cfg *cfg = NULL;
    const char *path = NULL;
    if (nni_cli_load_config(argc, argv, "train", world->rank, &cfg, &path, &err))
        return nni_cli_fail_job(world, &err);
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

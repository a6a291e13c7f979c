/* Config loading with overrides and error reporting shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

nn_status cli_load_config(int argc, char **argv, const char *command, int world_rank,
                          nn_cfg **out, const char **config_path, nn_error *err)
{
    *out = NULL;
    *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i] && (!strcmp(argv[i], "--set") || !strcmp(argv[i], "--rank-set"))) {
            i++; /* its value is not the config path */
            continue;
        }
        if (!argv[i] || argv[i][0] == '-')
            continue;
        if (*config_path)
            return nn_fail(err, NN_ERR_CONFIG, "%s: unexpected argument '%s' (one config file; "
                           "overrides go after --set)", command, argv[i]);
        *config_path = argv[i];
        argv[i] = NULL;
    }
    if (!*config_path)
        return nn_fail(err, NN_ERR_CONFIG, "usage: nntrain %s CONFIG.yaml [--set key=value ...]",
                       command);
    nn_status st = nn_cfg_load_file(*config_path, out, err);
    if (st)
        return st;
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        const char *assignment = NULL;
        if (!strcmp(argv[i], "--set")) {
            if (i + 1 >= argc || !argv[i + 1]) {
                st = nn_fail(err, NN_ERR_CONFIG, "--set needs key=value");
                break;
            }
            assignment = argv[i + 1];
            argv[i] = argv[i + 1] = NULL;
            i++;
        } else if (!strncmp(argv[i], "--set=", 6)) {
            assignment = argv[i] + 6;
            argv[i] = NULL;
        } else if (!strcmp(argv[i], "--rank-set")) {
            /* --rank-set R:key=value applies on world rank R only (node-local paths). */
            const char *spec = i + 1 < argc ? argv[i + 1] : NULL;
            char *colon = NULL;
            long rank = spec ? strtol(spec, &colon, 10) : -1;
            if (!spec || !colon || *colon != ':' || rank < 0) {
                st = nn_fail(err, NN_ERR_CONFIG, "--rank-set needs RANK:key=value");
                break;
            }
            argv[i] = argv[i + 1] = NULL;
            i++;
            if (rank != world_rank)
                continue;
            assignment = colon + 1;
        } else {
            continue;
        }
        if ((st = nn_cfg_set(*out, assignment, err)))
            break;
    }
    if (st) {
        nn_cfg_free(*out);
        *out = NULL;
    }
    return st;
}

int cli_report(const nn_comm *world, const nn_error *err)
{
    if (world && world->size > 1)
        fprintf(stderr, "rank %d: %s\n", world->rank, err->msg);
    else
        fprintf(stderr, "nntrain: %s\n", err->msg);
    fflush(stderr);
    return err->status ? (int)err->status : 1;
}

int cli_fail_job(const nn_comm *world, const nn_error *err)
{
    int code = cli_report(world, err);
    if (world && world->size > 1)
        nn_dist_abort(code);
    return code;
}

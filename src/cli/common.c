/* Config loading with overrides, error reporting and stop signals shared by the
 * subcommands. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/files.h"
#include "nn/ckpt.h"

nn_status nni_cli_load_config(const nni_cli_args *args, int world_rank, nn_cfg **out,
                              const char **config_path, nn_error *err)
{
    *out = NULL;
    *config_path = args->n_operands > 0 ? args->operands[0] : NULL;
    if (!*config_path)
        return nn_fail(err, NN_ERR_CONFIG, "usage: nntrain %s CONFIG.yaml [--set key=value ...] "
                       "(see nntrain %s --help)", args->spec->verb, args->spec->verb);
    nn_status st = nn_cfg_load_file(*config_path, out, err);
    for (int i = 0; !st && i < args->n_given; i++) {
        const char *flag = args->spec->flags[args->given_flag[i]].name;
        const char *assignment = args->given_value[i];
        if (!strcmp(flag, "rank-set")) {
            /* --rank-set R:key=value applies on world rank R only (node-local paths). */
            char *colon = NULL;
            long rank = strtol(assignment, &colon, 10);
            if (colon == assignment || *colon != ':' || rank < 0) {
                st = nn_fail(err, NN_ERR_CONFIG, "--rank-set needs RANK:key=value, got '%s'",
                             assignment);
                break;
            }
            if (rank != world_rank)
                continue;
            assignment = colon + 1;
        } else if (strcmp(flag, "set")) {
            continue;
        }
        st = nn_cfg_set(*out, assignment, err);
    }
    if (st) {
        nn_cfg_free(*out);
        *out = NULL;
    }
    return st;
}

int nni_cli_report(const nn_comm *world, const nn_error *err)
{
    if (world && world->size > 1 && nni_cli_command_line_failed()) {
        if (world->rank == 0) /* the same error on every rank: said once */
            fprintf(stderr, "nntrain: %s\n", err->msg);
    } else if (world && world->size > 1)
        fprintf(stderr, "rank %d: %s\n", world->rank, err->msg);
    else
        fprintf(stderr, "nntrain: %s\n", err->msg);
    fflush(stderr);
    return err->status ? (int)err->status : 1;
}

int nni_cli_fail_job(const nn_comm *world, const nn_error *err)
{
    int code = nni_cli_report(world, err);
    if (world && world->size > 1)
        nn_parallel_abort(code);
    return code;
}

/* SIGINT, SIGTERM and SIGUSR1 ask for a checkpoint after the current step (all ranks agree
 * on the step through the gradient allreduce). A second SIGINT exits at once, removing a
 * checkpoint still being written so that only complete files remain. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (sig == SIGINT && stop_signal) {
        const char *pending;
        for (int i = 0; (pending = nni_atomic_pending_path(i)); i++)
            unlink(pending);
        _exit(130);
    }
    stop_signal = 1;
}

const volatile sig_atomic_t *nni_cli_install_stop_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGUSR1, &action, NULL);
    return &stop_signal;
}

/* Shared pieces of the nntrain subcommands. */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <signal.h>

#include "nn/config.h"
#include "nn/parallel.h"
#include "nn/error.h"

/* Loads argv's config file and applies every `--set k=v` (also `--set=k=v`) and, on world
 * rank R only, `--rank-set R:k=v`; other arguments are left for the caller: consumed ones
 * are set to NULL in argv. */
nn_status cli_load_config(int argc, char **argv, const char *command, int world_rank,
                          nn_cfg **out, const char **config_path, nn_error *err);

/* Prints the error once ("nntrain: ..." or "rank R: ..." with several ranks) and returns
 * its status as the exit code. */
int cli_report(const nn_comm *world, const nn_error *err);

/* Exits the whole job with the error's code when a rank fails while others may be
 * waiting in a collective. */
int cli_fail_job(const nn_comm *world, const nn_error *err);

/* Installs the SIGINT/SIGTERM/SIGUSR1 handlers: the flag is set when a run should
 * checkpoint and stop (a second SIGINT exits at once). */
const volatile sig_atomic_t *cli_install_stop_signals(void);

int cmd_train(int argc, char **argv, const nn_comm *world);
int cmd_summary(int argc, char **argv, const nn_comm *world);
int cmd_import(int argc, char **argv, const nn_comm *world);
int cmd_eval(int argc, char **argv, const nn_comm *world);
int cmd_predict(int argc, char **argv, const nn_comm *world);
int cmd_verify(int argc, char **argv, const nn_comm *world);
int cmd_search(int argc, char **argv, const nn_comm *world);

#endif

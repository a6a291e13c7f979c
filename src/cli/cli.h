/* Shared pieces of the nntrain subcommands. */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <signal.h>
#include <stdio.h>

#include "cli/options.h"
#include "nn/config.h"
#include "nn/parallel.h"
#include "nn/error.h"

/* Loads argv's config file and applies every `--set k=v` (also `--set=k=v`) and, on world
 * rank R only, `--rank-set R:k=v`; other arguments are left for the caller: consumed ones
 * are set to NULL in argv. */
nn_status nni_cli_load_config(int argc, char **argv, const char *command, int world_rank,
                              nn_cfg **out, const char **config_path, nn_error *err);

/* Prints the error once ("nntrain: ..." or "rank R: ..." with several ranks) and returns
 * its status as the exit code. */
int nni_cli_report(const nn_comm *world, const nn_error *err);

/* Exits the whole job with the error's code when a rank fails while others may be
 * waiting in a collective. */
int nni_cli_fail_job(const nn_comm *world, const nn_error *err);

/* Installs the SIGINT/SIGTERM/SIGUSR1 handlers: the flag is set when a run should
 * checkpoint and stop (a second SIGINT exits at once). */
const volatile sig_atomic_t *nni_cli_install_stop_signals(void);

/* Every name the config accepts, from the catalogues' tables (nntrain train
 * --help-catalogue). */
void nni_cli_print_catalogue(FILE *out);

/* Command lines of the verbs that parse with nni_cli_parse (src/cli/options.h). */
extern const nni_cli_spec nni_eval_spec, nni_predict_spec, nni_reinit_spec,
    nni_coreset_spec, nni_report_spec;

int nni_cmd_train(int argc, char **argv, const nn_comm *world);
int nni_cmd_summary(int argc, char **argv, const nn_comm *world);
int nni_cmd_import(int argc, char **argv, const nn_comm *world);
int nni_cmd_eval(int argc, char **argv, const nn_comm *world);
int nni_cmd_predict(int argc, char **argv, const nn_comm *world);
int nni_cmd_verify(int argc, char **argv, const nn_comm *world);
int nni_cmd_search(int argc, char **argv, const nn_comm *world);
int nni_cmd_reinit(int argc, char **argv, const nn_comm *world);
int nni_cmd_coreset(int argc, char **argv, const nn_comm *world);
int nni_cmd_report(int argc, char **argv, const nn_comm *world);

#endif

/* Shared pieces of the nntrain subcommands. */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <signal.h>
#include <stdio.h>

#include "cli/options.h"
#include "nn/config.h"
#include "nn/parallel.h"
#include "nn/error.h"

/* The flag rows of a verb that reads a config: --set and --rank-set. */
#define NNI_CLI_SET_FLAG                                                                     \
    {"set", 0, "KEY=VALUE", "override a config key (repeatable), e.g. train.epochs=5"}
#define NNI_CLI_RANK_SET_FLAG                                                                \
    {"rank-set", 0, "R:KEY=VALUE", "override a key on world rank R only (a node-local path)"}

/* Loads the config file (the first operand) and applies, in the order given, every
 * `--set k=v` and, on world rank R only, `--rank-set R:k=v` of a parsed command line. */
nn_status nni_cli_load_config(const nni_cli_args *args, int world_rank, nn_cfg **out,
                              const char **config_path, nn_error *err);

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
/* Every key --set can give for cfg, "<path>\tset" or "<path>\tdefault" a line
 * (cli/config_keys.c; nntrain train CONFIG --list-config-keys). */
void nni_cli_print_config_keys(const nn_cfg *cfg, FILE *out);

/* Command lines of the verbs that parse with nni_cli_parse (src/cli/options.h). */
extern const nni_cli_spec nni_eval_spec, nni_predict_spec, nni_reinit_spec,
    nni_coreset_spec, nni_export_spec, nni_import_idx_spec, nni_import_csv_spec,
    nni_report_spec;
extern const nni_cli_spec nni_extract_spec, nni_cka_spec, nni_probe_spec, nni_pca_spec,
    nni_ensemble_spec;
extern const nni_cli_spec nni_import_series_spec;

int nni_cmd_train(int argc, char **argv, const nn_comm *world);
int nni_cmd_summary(int argc, char **argv, const nn_comm *world);
int nni_cmd_import(int argc, char **argv, const nn_comm *world);
int nni_cmd_eval(int argc, char **argv, const nn_comm *world);
int nni_cmd_predict(int argc, char **argv, const nn_comm *world);
int nni_cmd_verify(int argc, char **argv, const nn_comm *world);
int nni_cmd_search(int argc, char **argv, const nn_comm *world);
int nni_cmd_reinit(int argc, char **argv, const nn_comm *world);
int nni_cmd_coreset(int argc, char **argv, const nn_comm *world);
int nni_cmd_extract(int argc, char **argv, const nn_comm *world);
int nni_cmd_cka(int argc, char **argv, const nn_comm *world);
int nni_cmd_probe(int argc, char **argv, const nn_comm *world);
int nni_cmd_pca(int argc, char **argv, const nn_comm *world);
int nni_cmd_ensemble(int argc, char **argv, const nn_comm *world);
int nni_cmd_version(int argc, char **argv, const nn_comm *world);
int nni_cmd_export(int argc, char **argv, const nn_comm *world);
int nni_cmd_report(int argc, char **argv, const nn_comm *world);
int nni_cmd_compare(int argc, char **argv, const nn_comm *world);

#endif

/* A program outside the tree that uses the installed library: imports a small CSV through
 * the API, trains a model from a config given as text and prints the final figures. Built
 * by tests/install/test_install.sh with pkg-config and with CMake's find_package(nntrain).
 *
 *   consumer DATA.csv WORKDIR */
#include <stdio.h>
#include <string.h>

#include <nn/nn.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: consumer DATA.csv WORKDIR\n");
        return 2;
    }
    char data_path[512], config[2048];
    snprintf(data_path, sizeof data_path, "%s/data.h5", argv[2]);
    nn_error err = {0};
    nn_comm world;
    if (nn_parallel_init(&argc, &argv, &world, &err)) {
        fprintf(stderr, "consumer: %s\n", err.msg);
        return 1;
    }
    nn_csv_options csv = {.train_csv = argv[1], .label_column = 0, .has_header = 0};
    nn_cfg *cfg = NULL;
    nn_status st = nn_import_csv(&csv, data_path, &err);
    snprintf(config, sizeof config,
             "data: {path: %s, test: none, val: {split: 0.2}}\n"
             "model: {input: [2], layers: [{type: dense, units: 16, activation: tanh},\n"
             "                             {type: dense, units: 2}]}\n"
             "train: {epochs: 30, batch_size: 16, threads: 1, loss: cross_entropy,\n"
             "        optimizer: {type: adam, lr: 0.02}, checkpoint: {every: 0}}\n"
             "runs_dir: %s/runs\n",
             data_path, argv[2]);
    if (!st)
        st = nn_cfg_load_string(config, "consumer config", &cfg, &err);
    nn_train_options opts = {.progress = 0, .quiet = 1, .config_name = "consumer"};
    nn_train_result result;
    if (!st)
        st = nn_train(cfg, &world, &opts, &result, &err);
    nn_cfg_free(cfg);
    if (st) {
        fprintf(stderr, "consumer: %s\n", err.msg);
        nn_parallel_finalize();
        return (int)st;
    }
    printf("nntrain %s: %d epochs, val_accuracy %.4f, run %s\n", nn_version(),
           result.epochs_run, result.final_val_accuracy, result.run_dir);
    nn_parallel_finalize();
    return 0;
}

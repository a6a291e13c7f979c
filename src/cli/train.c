/* nntrain train CONFIG [--set key=value ...] [--run-dir DIR] [--progress|--no-progress]
 * nntrain train --help-catalogue */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/init.h"
#include "nn/loss.h"
#include "nn/sched.h"
#include "nn/trainer.h"
#include "train/optim_internal.h"

void nn_activation_list(void (*emit)(const char *line, void *ctx), void *ctx);
const char *const *nn_layer_type_names(void);

static void print_line(const char *line, void *ctx)
{
    fprintf((FILE *)ctx, "  %s\n", line);
}

static void print_row(const nni_catalogue_row *row, void *ctx)
{
    fprintf((FILE *)ctx, "  %-9s %s: %s\n", row->name, row->params, row->help);
}

static void print_catalogue(FILE *out)
{
    fprintf(out, "layer types (model.layers[].type):\n");
    static const char *const layers[] = {
        "dense           units, bias=true: y = x W^T + b (inputs of any shape are flattened)",
        "conv2d          filters, kernel (k or [kh, kw]), stride=1, padding=valid (same | valid "
        "| p | [ph, pw] | [top, bottom, left, right]), dilation=1, groups=1, bias=true; "
        "weight[out][in/groups][kh][kw] as torch",
        "maxpool         size, stride=size, padding=valid (as conv2d; at most half the window)",
        "avgpool         size, stride=size, padding=valid, count_include_pad=true (torch's "
        "default: padding counts in the divisor)",
        "global_avgpool  mean of each channel: (C, H, W) -> (C)",
        "flatten         (C, H, W) -> (C*H*W)",
        "batchnorm       momentum=0.1, eps=1e-5, sync=false: over the batch (and pixels of "
        "(C, H, W) inputs); params weight, bias; state running_mean, running_var",
        "add             sum of inputs of one shape (residual connections)",
        "concat          inputs stacked along channels (inception); spatial sizes must match",
        "softmax         softmax over each sample's features",
        "log_softmax     log of softmax",
        "add             inputs: [a, b, ...]: elementwise sum of inputs of one shape "
        "(residual connections)",
        "concat          inputs: [a, b, ...]: stacked along channels (features of flat "
        "inputs); equal spatial sizes",
        "dropout         p=0.5: zero each value with probability p in training, scale the "
        "rest by 1/(1-p); identity in evaluation",
        "prelu           shared=false: x > 0 ? x : a x, learned slope a per channel (dim 0 of "
        "the sample shape) or one shared; parameter 'weight', init 0.25",
        "rrelu           lower=1/8, upper=1/3: x > 0 ? x : s x, s ~ U(lower, upper) per value "
        "in training, (lower+upper)/2 in evaluation",
        "<activation>    any activation below, as a layer of its own (prelu, rrelu, softmax "
        "and log_softmax also work as activation:)",
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        print_line(layers[i], out);
    fprintf(out, "common layer keys: name, type, inputs, activation, trainable=true, "
                 "init (weights; default model.init), bias_init=zeros\n");
    fprintf(out, "\nmodel keys (model:):\n");
    static const char *const model_lines[] = {
        "input           [features] or [channels, height, width]",
        "layers          list of layers; a layer without inputs: takes the previous one",
        "                {repeat: N, layers: [...]}: N copies of a block (N in [1, 1000]); "
        "copy k renames layer n to n_k, inputs: inside a copy name its own layers, "
        "block_input names what enters the copy",
        "mlp             [w1, w2, ...] or {units: [...], activation=relu, dropout=0, "
        "batchnorm=false}: dense layers (instead of layers)",
        "init            default weight initializer (glorot_uniform)",
        "train_only_batchnorm=false  freeze every parameter except normalization layers'",
    };
    for (size_t i = 0; i < sizeof model_lines / sizeof model_lines[0]; i++)
        print_line(model_lines[i], out);
    fprintf(out, "\nactivations (a layer's activation: or type:):\n");
    nn_activation_list(print_line, out);
    fprintf(out, "\nlosses (train.loss; a list of {type, weight} terms is a weighted sum; "
                 "each is a mean over the global batch):\n");
    nn_loss_list(print_line, out);
    fprintf(out, "\noptimizers (train.optimizer: NAME or {type: NAME, key: value, ...}; keys "
                 "with their defaults; weight_decay is L2 added to the gradient, l1 adds "
                 "l1 sign(w), decay_exempt_bias_and_norm spares biases and normalization "
                 "parameters):\n");
    nni_optim_catalogue(print_row, out);
    fprintf(out, "\nschedules (train.schedule: NAME or {type: NAME, key: value, ...}; keys "
                 "with their defaults; epochs count from 0):\n");
    nn_sched_list(print_line, out);
    fprintf(out, "\ninitializers (model.init, a layer's init: or bias_init: NAME or "
                 "{type: NAME, key: value}):\n");
    nn_init_list(print_line, out);
    fprintf(out, "\naugmentation (train.augment, training batches only):\n");
    nn_augment_list(print_line, out);
    fprintf(out, "\nearly stopping (train.early_stopping):\n");
    static const char *const early_lines[] = {
        "monitor=val_loss  loss, accuracy, val_loss or val_accuracy",
        "mode=min|max      max unless the monitor's name has 'loss'",
        "patience=5        stop after this many epochs without improvement (0: the first)",
        "min_delta=0       smaller changes do not count as improvement",
        "restore_best=false  end with the best epoch's weights (also in last.h5)",
    };
    for (size_t i = 0; i < sizeof early_lines / sizeof early_lines[0]; i++)
        print_line(early_lines[i], out);
    fprintf(out, "\ncheckpoints (train.checkpoint; files in the run directory):\n");
    static const char *const ckpt_lines[] = {
        "every=1           write last.h5 every N epochs (0: never) and at the end",
        "keep=3            keep epoch-NNN.h5 of the last N checkpointed epochs",
        "every_steps=0     also write last.h5 every N steps inside an epoch",
        "best=true         write best.h5 when the monitored metric improves",
        "monitor, mode     the early stopping monitor, else val_loss (loss without "
        "validation); mode as for early stopping",
    };
    for (size_t i = 0; i < sizeof ckpt_lines / sizeof ckpt_lines[0]; i++)
        print_line(ckpt_lines[i], out);
    fprintf(out, "\nother train keys: epochs=10, batch_size=32 (global, split across ranks), "
                 "accumulate=1 (micro-batches per step), clip: {norm, value} (0: off), "
                 "lr_scaling=none|linear, lr_reference_batch=256, threads (per rank), "
                 "bucket_mb=auto (a quarter of the model, at most 4), allreduce=auto (node shared "
                 "memory when the ranks share a node) or mpi, overlap=true, "
                 "watchdog_seconds=300, resume=never|auto, log_grad_norms=false\n");
    fprintf(out, "\nsearch (the search: section; nntrain search --help):\n");
    static const char *const search_lines[] = {
        "method=grid       grid (every combination), random (trials: N, seed), halving "
        "(min_epochs=1, eta=3, max_epochs=train.epochs; over the grid, or trials: N draws)",
        "metric=val_loss   val_loss or val_accuracy, or {name, goal: maximize|minimize}",
        "parameters        config key -> {values: [...]} or [...] (categorical), "
        "{distribution: uniform|log_uniform|int_uniform, min, max}, "
        "{distribution: normal, mu, sigma}",
        "ranks_per_trial=1, coordinator_trains=true, dir=searches/<name>, "
        "max_restarts=3 (times a trial may be running when the job dies)",
    };
    for (size_t i = 0; i < sizeof search_lines / sizeof search_lines[0]; i++)
        print_line(search_lines[i], out);
}

int cmd_train(int argc, char **argv, const nn_comm *world)
{
    nn_train_options opts = {.progress = -1};
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        if (!strcmp(argv[i], "--help-catalogue")) {
            if (world->rank == 0)
                print_catalogue(stdout);
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
                return cli_report(world, &err);
            }
            opts.resume_dir = argv[i + 1];
            argv[i] = argv[i + 1] = NULL;
            i++;
        } else if (!strcmp(argv[i], "--run-dir")) {
            if (i + 1 >= argc) {
                nn_fail(&err, NN_ERR_CONFIG, "--run-dir needs a directory");
                return cli_report(world, &err);
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
            return cli_report(world, &err);
        }
    nn_cfg *cfg = NULL;
    const char *path = NULL;
    if (cli_load_config(argc, argv, "train", world->rank, &cfg, &path, &err))
        return cli_fail_job(world, &err);
    opts.config_name = path;
    opts.stop_flag = cli_install_stop_signals();
    nn_train_result result;
    nn_status st = nn_train(cfg, world, &opts, &result, &err);
    nn_cfg_free(cfg);
    if (st)
        return cli_fail_job(world, &err);
    if (result.stopped_by_signal && world->rank == 0) {
        printf("nntrain: stopped on a signal; resume with: nntrain train %s --resume %s\n", path,
               result.run_dir);
        fflush(stdout);
    }
    return 0;
}

/* nntrain train CONFIG [--set key=value ...] [--run-dir DIR] [--progress|--no-progress]
 * nntrain train --help-catalogue */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/init.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "nn/sched.h"
#include "nn/trainer.h"

void nn_activation_list(void (*emit)(const char *line, void *ctx), void *ctx);
const char *const *nn_layer_type_names(void);

static void print_line(const char *line, void *ctx)
{
    fprintf((FILE *)ctx, "  %s\n", line);
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
        "<activation>    any activation below, as a layer of its own",
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        print_line(layers[i], out);
    fprintf(out, "common layer keys: name, type, inputs, activation, trainable, init, "
                 "bias_init\n");
    fprintf(out, "\nactivations (a layer's activation: or type:):\n");
    nn_activation_list(print_line, out);
    fprintf(out, "\nlosses (train.loss; a list of {type, weight} terms is a weighted sum):\n");
    nn_loss_list(print_line, out);
    fprintf(out, "\noptimizers (train.optimizer; all take lr, weight_decay, l1, "
                 "decay_exempt_bias_and_norm):\n");
    nn_optim_list(print_line, out);
    fprintf(out, "\nschedules (train.schedule):\n");
    nn_sched_list(print_line, out);
    fprintf(out, "\ninitializers (model.init, a layer's init: or bias_init:):\n");
    nn_init_list(print_line, out);
    fprintf(out, "\nother train keys: epochs, batch_size (global), clip: {norm, value}, "
                 "early_stopping: {monitor, mode, patience, min_delta, restore_best}, "
                 "lr_scaling: none|linear, lr_reference_batch, threads\n");
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
                       " [--progress|--no-progress]\n       nntrain train --help-catalogue\n");
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
            strncmp(argv[i], "--set=", 6)) {
            nn_fail(&err, NN_ERR_CONFIG, "train: unknown option '%s' (see nntrain train --help)",
                    argv[i]);
            return cli_report(world, &err);
        }
    nn_cfg *cfg = NULL;
    const char *path = NULL;
    if (cli_load_config(argc, argv, "train", &cfg, &path, &err))
        return cli_fail_job(world, &err);
    opts.config_name = path;
    nn_train_result result;
    nn_status st = nn_train(cfg, world, &opts, &result, &err);
    nn_cfg_free(cfg);
    if (st)
        return cli_fail_job(world, &err);
    return 0;
}

/* nntrain train --help-catalogue: every name the config accepts, printed from the tables
 * that define them (config/catalogue.h), so a new layer type, activation, loss, schedule or
 * initializer shows up here by being added to its table. The keys of the config sections
 * that are not catalogues (data, model, early stopping, checkpoints, search) are text.
 *
 * A catalogue row is "  <name> <key=default ...>: <what it computes>", the names of one
 * section in one column; rows whose name is not a config name are written in brackets
 * ("(any type)", "<activation>"). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/catalogue.h"
#include "data/augment.h"
#include "layers/registry.h"
#include "model/init_internal.h"
#include "nn/data.h"
#include "nn/optim.h"
#include "train/loss_internal.h"
#include "train/optim_internal.h"
#include "train/sched_internal.h"

typedef void (*catalogue_fn)(nni_catalogue_emit emit, void *ctx);

typedef struct row_printer {
    FILE *out;
    int name_width;
} row_printer;

static void measure_name(const nni_catalogue_row *row, void *ctx)
{
    int *width = ctx, len = (int)strlen(row->name);
    if (len > *width)
        *width = len;
}

static void print_row(const nni_catalogue_row *row, void *ctx)
{
    const row_printer *p = ctx;
    if (row->params && row->params[0])
        fprintf(p->out, "  %-*s %s: %s\n", p->name_width, row->name, row->params, row->help);
    else
        fprintf(p->out, "  %-*s %s\n", p->name_width, row->name, row->help);
}

static void print_catalogue_section(FILE *out, const char *title, catalogue_fn catalogue)
{
    row_printer p = {out, 0};
    catalogue(measure_name, &p.name_width);
    fprintf(out, "%s\n", title);
    catalogue(print_row, &p);
}

static void print_line(const char *line, void *ctx)
{
    fprintf((FILE *)ctx, "  %s\n", line);
}

static void print_lines(FILE *out, const char *const *lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        print_line(lines[i], out);
}

/* The layer types, then the row that stands for every activation used as a layer. */
static void layer_rows(nni_catalogue_emit emit, void *ctx)
{
    nni_layer_catalogue(emit, ctx);
    nni_catalogue_row any = {"<activation>", "",
                             "any activation below, as a layer of its own"};
    emit(&any, ctx);
}

void nni_cli_print_catalogue(FILE *out)
{
    fprintf(out, "data keys (data:):\n");
    static const char *const data_lines[] = {
        "path              the HDF5 dataset file (required; nntrain import writes one), or a "
        "list or glob of files of one layout read as their rows concatenated in order",
        "train=train       the split (HDF5 group) to train on",
        "train_rows        [first, last): a range of the training split's rows",
        "val               {split: 0.1} (stratified, fixed by the seed), {rows: [a, b]} of the "
        "training split, {name: SPLIT} or a split name; none: no validation",
        "test=test         the split evaluated at the end (none: skip; default test when the "
        "file has one)",
        "test_rows         [first, last): a range of the test split's rows",
        "sampling=global   global (every rank draws from the whole split; results do not "
        "depend on the rank count) or shard (each rank reads only its contiguous part)",
        "x=x               the name of the sample array in each split's group",
        "y=y               the name of the target array in each split's group",
        "layout=nchw       nchw, or nhwc for channels-last image arrays (converted on read)",
        "label_noise=0     fraction of training labels drawn anew at random (0 to 1; "
        "validation and test stay clean); {p: P, epochs: [a, b]}: only in epochs a <= e < b "
        "(from 0)",
        "shuffle_pixels=none  fixed (one permutation of the features for every sample) or "
        "random (one per sample), in every split",
        "target=y          input: every sample is its own target (autoencoders)",
        "cache=auto        memory (a copy of every split per rank), node (one read-only copy "
        "per node in shared memory, read by its ranks in parallel) or none (each batch's "
        "samples read from the files while the previous one trains); same results; auto: node "
        "with global sampling and more than one rank on the node, else memory, and none when "
        "that does not fit in the node's memory",
        "oversample        {method: smote|random, k: 5, ratio: 1.0}: training rows added to "
        "every class below ratio x the largest (smote: between a row and one of its k nearest "
        "in the class)",
        "shuffle=rows      rows (a random order of all training rows each epoch) or chunks "
        "(chunks of shuffle_chunk_rows file rows in a random order, rows mixed within windows "
        "of shuffle_window chunks: for streamed files that cannot be read row by row at speed)",
        "shuffle_chunk_rows  rows per chunk for shuffle: chunks (default: the file's HDF5 chunk "
        "rows of x)",
        "shuffle_window=4  chunks whose rows shuffle: chunks mixes",
    };
    print_lines(out, data_lines, sizeof data_lines / sizeof data_lines[0]);
    fprintf(out, "\nseed=42, name (of the run; default: the config file's name), "
                 "runs_dir=runs\n\n");
    print_catalogue_section(out, "layer types (model.layers[].type):", layer_rows);
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
    print_lines(out, model_lines, sizeof model_lines / sizeof model_lines[0]);
    print_catalogue_section(out, "\nactivations (a layer's activation: or type:):",
                            nni_activation_catalogue);
    print_catalogue_section(out, "\nlosses (train.loss: NAME or {type: NAME, key: value, ...}; a "
                                 "list of {type, weight} terms is a weighted sum; each is a "
                                 "mean over the global batch):",
                            nni_loss_catalogue);
    print_catalogue_section(out, "\noptimizers (train.optimizer: NAME or {type: NAME, key: "
                                 "value, ...}; keys with their defaults; weight_decay is L2 "
                                 "added to the gradient, l1 adds l1 sign(w), "
                                 "decay_exempt_bias_and_norm spares biases and normalization "
                                 "parameters, decay_epochs: [a, b] applies both only in "
                                 "epochs a <= e < b, from 0):",
                            nni_optim_catalogue);
    print_catalogue_section(out, "\nschedules (train.schedule: NAME or {type: NAME, key: value, "
                                 "...}; keys with their defaults; epochs count from 0):",
                            nni_sched_catalogue);
    print_catalogue_section(out, "\ninitializers (model.init, a layer's init: or bias_init: NAME "
                                 "or {type: NAME, key: value}):",
                            nni_init_catalogue);
    fprintf(out, "\naugmentation (train.augment, training batches only):\n");
    nni_augment_list(print_line, out);
    fprintf(out, "\nearly stopping (train.early_stopping):\n");
    static const char *const early_lines[] = {
        "monitor=val_loss  loss, accuracy, val_loss or val_accuracy",
        "mode=min|max      max unless the monitor's name has 'loss'",
        "patience=5        stop after this many epochs without improvement (0: the first)",
        "min_delta=0       smaller changes do not count as improvement",
        "restore_best=false  end with the best epoch's weights (also in last.h5)",
    };
    print_lines(out, early_lines, sizeof early_lines / sizeof early_lines[0]);
    fprintf(out, "\ncheckpoints (train.checkpoint; files in the run directory):\n");
    static const char *const ckpt_lines[] = {
        "every=1           write last.h5 every N epochs (0: never) and at the end",
        "keep=3            keep epoch-NNN.h5 of the last N checkpointed epochs",
        "every_steps=0     also write last.h5 every N steps inside an epoch",
        "best=true         write best.h5 when the monitored metric improves",
        "monitor, mode     the early stopping monitor, else val_loss (loss without "
        "validation); mode as for early stopping",
    };
    print_lines(out, ckpt_lines, sizeof ckpt_lines / sizeof ckpt_lines[0]);
    fprintf(out, "\nother train keys: epochs=10, batch_size=32 (global, split across ranks), "
                 "accumulate=1 (micro-batches per step), clip: {norm, value} (0: off), "
                 "lr_scaling=none|linear (linear scales every lr by batch_size / "
                 "lr_reference_batch), lr_reference_batch=256, threads (per rank), "
                 "bucket_mb=auto (a quarter of the model, at most 4), allreduce=auto (node shared "
                 "memory when the ranks share a node) or mpi, overlap=true, "
                 "watchdog_seconds=300, resume=never|auto, log_grad_norms=false, "
                 "log_every_steps=0 (N: a row of runs/NAME/metrics-steps.csv every N steps), "
                 "reproducible=default|bitwise (bitwise: the same bits on any number of ranks "
                 "and threads), reproducible_unit (samples per unit, default batch_size x "
                 "accumulate / 8), gemm=auto|nntrain|openblas (the matrix products: nntrain's "
                 "kernels, or OpenBLAS's cblas_sgemm one thread per call; auto: nntrain's where "
                 "the CPU has tuned ones, x86 AVX2 or AVX-512, else OpenBLAS), "
                 "precision=fp32|bf16 (bf16: dense and conv2d products in bfloat16 with float "
                 "sums, AVX512_BF16), winograd=true (3x3 and 5x5 stride-1 convolutions with 8 "
                 "or more channels by Winograd's F(2x2, 3x3) / F(2x2, 5x5), 2.25x / 2.8x fewer "
                 "multiplies; false: direct products)\n");
    fprintf(out, "\nsearch (the search: section; nntrain search --help):\n");
    static const char *const search_lines[] = {
        "method=grid       grid (every combination), random (trials: N, seed), halving "
        "(min_epochs=1, eta=3, max_epochs=train.epochs; over the grid, or trials: N draws), "
        "bayes (trials: N, initial=max(3, 2 x parameters), batch=1: Gaussian-process "
        "expected improvement)",
        "metric=val_loss   val_loss or val_accuracy, or {name, goal: maximize|minimize}",
        "parameters        config key -> {values: [...]} or [...] (categorical), {value: x}, "
        "{min, max} (int_uniform if both are integers, else uniform), "
        "{distribution: uniform|log_uniform|int_uniform, min, max}, "
        "{distribution: normal, mu, sigma}; W&B's log_uniform_values, q_uniform and "
        "q_log_uniform_values (q=1)",
        "repeats=1         seeds per configuration (seed, seed + 1, ...): the leaderboard "
        "ranks by the mean, with sd and a 95% interval",
        "ranks_per_trial=1, coordinator_trains=true, dir=searches/<name>, "
        "max_restarts=3 (times a trial may be running when the job dies)",
    };
    print_lines(out, search_lines, sizeof search_lines / sizeof search_lines[0]);
}

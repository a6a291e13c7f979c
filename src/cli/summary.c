/* nntrain summary CONFIG|CHECKPOINT|RUN_DIR [--set key=value ...] [--measure [--batch
 * 1,32,256] [--threads T] [--repeats R]]: the model table, the learning rate of the first
 * epochs when train.schedule is given, the forward latency per sample at batch 1 and at the
 * training batch, and with --measure a table of the measured latency per batch size
 * (median of repeats), the parameters, the bytes they take and the FLOPs. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/model_cost.h"
#include "core/threads.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/sched.h"

/* The schedule's lr at the first step of the first epochs. The summary reads no data, so
 * it counts one optimizer step per epoch (what warmup and a formula's `step` see here). */
static nn_status print_schedule(const nn_cfg *train, nn_model *model, nn_error *err)
{
    enum { SHOWN = 10 };
    const nn_cfg *schedule = nn_cfg_get(train, "schedule");
    if (!schedule)
        return NN_OK;
    int64_t epochs = 10;
    nn_optim *opt = NULL;
    nn_sched *sched = NULL;
    nn_status st = nn_cfg_read_int(train, "epochs", 10, &epochs, err);
    if (!st)
        st = nn_optim_build(nn_cfg_get(train, "optimizer"), model, &opt, err);
    if (!st)
        st = nn_sched_build(schedule, nn_optim_base_lr(opt), 1, (int)epochs, &sched, err);
    if (!st) {
        printf("schedule: lr by epoch:");
        for (int e = 0; e < epochs && e < SHOWN; e++)
            printf(" %.6g", nn_sched_lr(sched, e, 0));
        printf("%s (first step of each epoch, counting one step per epoch)\n",
               epochs > SHOWN ? " ..." : "");
    }
    nn_sched_free(sched);
    nn_optim_free(opt);
    return st;
}

/* The table of --measure: one row per batch size. */
static void print_measured(nni_cost_model *m, int repeats)
{
    const nni_model_size size = nni_model_size_of(m->model);
    printf("measured: %lld parameters + %lld state = %lld bytes as float32 (%.3f MiB), "
           "%.3f MFLOP/sample forward\n", (long long)size.params, (long long)size.state,
           (long long)size.bytes, (double)size.bytes / (1 << 20),
           (double)size.flops_per_sample / 1e6);
    printf("forward latency, median of %d repeats, %d thread%s:\n", repeats, nni_threads(),
           nni_threads() == 1 ? "" : "s");
    printf("%8s %12s %14s %12s %12s %10s %10s\n", "batch", "ms/batch", "us/sample",
           "min ms", "max ms", "forwards", "GFLOP/s");
    for (int i = 0; i < m->n_batches; i++) {
        nni_latency lat = nni_model_latency(m->model, m->batches[i], repeats, 0.01);
        printf("%8lld %12.4f %14.3f %12.4f %12.4f %10lld %10.2f\n", (long long)lat.batch,
               lat.median * 1e3, lat.median * 1e6 / (double)lat.batch, lat.min * 1e3,
               lat.max * 1e3, (long long)lat.forwards_per_repeat,
               (double)size.flops_per_sample * (double)lat.batch / lat.median / 1e9);
    }
}

static const nni_cli_flag summary_flags[] = {
    NNI_CLI_SET_FLAG,
    {"measure", 0, NULL, "time the forward pass per --batch size and list parameters, "
                         "bytes and FLOPs"},
    NNI_CLI_COST_FLAGS,
    {NULL, 0, NULL, NULL},
};

static const nni_cli_spec summary_spec = {
    "summary", "CONFIG.yaml|CHECKPOINT.h5|RUN_DIR",
    "the model's layers, shapes, parameters, FLOPs and forward latency", 1, 1, summary_flags};

int nni_cmd_summary(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    nni_cost_options options;
    if (nni_cli_parse(argc, argv, &summary_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    const int measure = nni_cli_value(&args, "measure") != NULL;
    nni_cost_model m = {0};
    nn_status st = NN_OK;
    if (!measure && (nni_cli_value(&args, "batch") || nni_cli_value(&args, "repeats")))
        st = nn_fail(&err, NN_ERR_CONFIG, "summary: --batch and --repeats go with --measure");
    if (!st)
        st = nni_cost_options_read(&args, &options, &err);
    if (!st)
        st = nni_cost_model_open(args.operands[0], &args, &options, &m, &err);
    if (st) {
        nni_cost_model_close(&m);
        return nni_cli_report(world, &err);
    }
    if (world->rank == 0) {
        printf("model from %s\n", m.name);
        nn_model_summary(m.model, stdout);
        const nn_cfg *train = nn_cfg_get(m.cfg, "train");
        if (train && (st = print_schedule(train, m.model, &err))) {
            nni_cost_model_close(&m);
            return nni_cli_report(world, &err);
        }
        if (measure) {
            print_measured(&m, options.repeats);
        } else {
            nni_latency one = nni_model_latency(m.model, 1, 5, 0.02);
            nni_latency many = nni_model_latency(m.model, m.train_batch, 5, 0.02);
            double per_sample = many.median / (double)m.train_batch;
            printf("forward latency: %.3f ms/sample at batch 1, %.4f ms/sample at batch %lld "
                   "(%.0f samples/s; medians of 5 repeats)\n", one.median * 1e3,
                   per_sample * 1e3, (long long)m.train_batch, 1.0 / per_sample);
        }
    }
    nni_cost_model_close(&m);
    return 0;
}

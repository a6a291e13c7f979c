/* nntrain summary CONFIG [--set key=value ...]: the model table, the learning rate of the
 * first epochs when train.schedule is given, and the measured forward latency per sample
 * at batch 1 and at the training batch. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/rng.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/sched.h"

/* Median-free but stable enough: run for at least 0.2 s after one warm-up call. */
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

static double forward_seconds_per_sample(nn_model *model, int64_t batch)
{
    nn_pass pass = {.batch = batch, .training = 0};
    float *x = nn_model_input(model);
    nni_rng rng = nni_rng_stream(1, NNI_RNG_NOISE, 0, 0, 0);
    for (int64_t i = 0; i < batch * nn_model_input_size(model); i++)
        x[i] = nni_rng_uniform(&rng);
    nn_model_forward(model, &pass);
    int runs = 0;
    double start = nni_clock_seconds(), elapsed = 0;
    do {
        nn_model_forward(model, &pass);
        runs++;
        elapsed = nni_clock_seconds() - start;
    } while (elapsed < 0.2);
    return elapsed / runs / (double)batch;
}

static const nni_cli_flag summary_flags[] = {
    NNI_CLI_SET_FLAG,
    {NULL, 0, NULL, NULL},
};

static const nni_cli_spec summary_spec = {
    "summary", "CONFIG.yaml", "the model's layers, shapes, parameters, FLOPs and forward latency",
    1, 1, summary_flags};

int nni_cmd_summary(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nn_cfg *cfg = NULL;
    const char *path = NULL;
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &summary_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    if (nni_cli_load_config(&args, world->rank, &cfg, &path, &err))
        return nni_cli_report(world, &err);
    int64_t batch = 32, seed = 42;
    const nn_cfg *train = nn_cfg_get(cfg, "train");
    nn_model *model = NULL;
    nn_status st = NN_OK;
    if (train)
        st = nn_cfg_read_int(train, "batch_size", 32, &batch, &err);
    if (!st)
        st = nn_cfg_read_int(cfg, "seed", 42, &seed, &err);
    if (!st && batch < 1)
        st = nn_fail(&err, NN_ERR_CONFIG, "%s: train.batch_size must be >= 1", path);
    if (!st)
        st = nn_model_build(nn_cfg_get(cfg, "model"), batch, (uint64_t)seed, 0, &model, &err);
    if (st) {
        nn_cfg_free(cfg);
        return nni_cli_report(world, &err);
    }
    if (world->rank == 0) {
        printf("model from %s\n", path);
        nn_model_summary(model, stdout);
        if (train && (st = print_schedule(train, model, &err))) {
            nn_model_free(model);
            nn_cfg_free(cfg);
            return nni_cli_report(world, &err);
        }
        double one = forward_seconds_per_sample(model, 1);
        double many = forward_seconds_per_sample(model, batch);
        printf("forward latency: %.3f ms/sample at batch 1, %.4f ms/sample at batch %lld "
               "(%.0f samples/s)\n", one * 1e3, many * 1e3, (long long)batch, 1.0 / many);
    }
    nn_model_free(model);
    nn_cfg_free(cfg);
    return 0;
}

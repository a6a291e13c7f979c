/* nntrain compare MODEL... [--batch 1,32,256] [--threads T] [--repeats R] [--set k=v]
 * [-o FILE.csv]: several models side by side, each a config, a checkpoint or a run
 * directory (the trials of a search are run directories): parameters, bytes of storage,
 * forward FLOPs, the measured forward latency per batch and per sample at each batch size
 * (median of repeats, model/measure.h) and, for checkpoints, the last validation accuracy.
 * -o keeps one CSV row per model and batch size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/model_cost.h"
#include "core/files.h"
#include "core/text.h"
#include "core/threads.h"

static const nni_cli_flag compare_flags[] = {
    NNI_CLI_COST_FLAGS,
    NNI_CLI_SET_FLAG,
    {"output", 'o', "FILE.csv", "also write the figures, one row per model and batch size"},
    {NULL, 0, NULL, NULL},
};

static const nni_cli_spec compare_spec = {
    "compare", "CONFIG|CHECKPOINT|RUN_DIR ...",
    "parameters, storage, FLOPs and measured latency of several models side by side", 1, -1,
    compare_flags};

static void csv_header(nni_text *csv)
{
    nni_text_puts(csv, "model,params,state,bytes,flops_per_sample,batch,repeats,median_ms,"
                       "min_ms,max_ms,us_per_sample,val_accuracy\n");
}

/* Measures and prints one model's row (and its CSV rows). */
static void compare_one(nni_cost_model *m, int repeats, nni_text *csv)
{
    const nni_model_size size = nni_model_size_of(m->model);
    printf("%-28s %10lld %10.3f %10.3f", m->name, (long long)size.params,
           (double)size.bytes / (1 << 20), (double)size.flops_per_sample / 1e6);
    for (int i = 0; i < m->n_batches; i++) {
        nni_latency lat = nni_model_latency(m->model, m->batches[i], repeats, 0.01);
        const double per_sample = lat.median / (double)lat.batch;
        printf(" %10.4f %10.3f", lat.median * 1e3, per_sample * 1e6);
        nni_text_printf(csv, "%s,%lld,%lld,%lld,%lld,%lld,%d,%.6g,%.6g,%.6g,%.6g,", m->name,
                        (long long)size.params, (long long)size.state, (long long)size.bytes,
                        (long long)size.flops_per_sample, (long long)lat.batch, lat.repeats,
                        lat.median * 1e3, lat.min * 1e3, lat.max * 1e3, per_sample * 1e6);
        if (isnan(m->val_accuracy))
            nni_text_puts(csv, "\n");
        else
            nni_text_printf(csv, "%.4f\n", m->val_accuracy);
    }
    if (!isnan(m->val_accuracy))
        printf(" %8.4f", m->val_accuracy);
    printf("\n");
    fflush(stdout);
}

int nni_cmd_compare(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    nni_cost_options options;
    if (nni_cli_parse(argc, argv, &compare_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    if (nni_cost_options_read(&args, &options, &err))
        return nni_cli_report(world, &err);
    /* Every model is opened before anything is timed or written: a bad operand fails
     * alone, at once. */
    nni_cost_model *models = calloc((size_t)args.n_operands, sizeof *models);
    nn_status st = models ? NN_OK : nn_fail(&err, NN_ERR_OTHER, "out of memory");
    for (int i = 0; i < args.n_operands && !st; i++)
        st = nni_cost_model_open(args.operands[i], &args, &options, &models[i], &err);
    for (int i = 1; i < args.n_operands && !st && options.n_batches == 0; i++)
        if (models[i].n_batches != models[0].n_batches ||
            memcmp(models[i].batches, models[0].batches,
                   (size_t)models[0].n_batches * sizeof *models[0].batches))
            st = nn_fail(&err, NN_ERR_CONFIG, "compare: %s and %s train with different batch "
                         "sizes; give the sizes to time with --batch", models[0].name,
                         models[i].name);
    nni_text csv = {0};
    if (!st && world->rank == 0) {
        const nni_cost_model *first = &models[0];
        printf("forward latency: median of %d repeats, %d thread%s; ms per batch and us per "
               "sample at each batch size\n", options.repeats, nni_threads(),
               nni_threads() == 1 ? "" : "s");
        printf("%-28s %10s %10s %10s", "model", "params", "MiB", "MFLOP/smp");
        for (int b = 0; b < first->n_batches; b++) {
            char ms[32], us[32];
            snprintf(ms, sizeof ms, "ms@%lld", (long long)first->batches[b]);
            snprintf(us, sizeof us, "us/smp@%lld", (long long)first->batches[b]);
            printf(" %10s %10s", ms, us);
        }
        printf(" %8s\n", "val_acc");
        csv_header(&csv);
        for (int i = 0; i < args.n_operands; i++)
            compare_one(&models[i], options.repeats, &csv);
        const char *out = nni_cli_value(&args, "output");
        if (out && csv.failed)
            st = nn_fail(&err, NN_ERR_OTHER, "out of memory");
        else if (out)
            st = nni_write_file_atomic(out, csv.data, csv.len, &err);
    }
    nni_text_free(&csv);
    for (int i = 0; models && i < args.n_operands; i++)
        nni_cost_model_close(&models[i]);
    free(models);
    return st ? nni_cli_report(world, &err) : 0;
}

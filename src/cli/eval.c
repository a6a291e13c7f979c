/* nntrain eval CHECKPOINT [--split test] [--data FILE]
 * nntrain predict CHECKPOINT [--split test] [--data FILE] -o PREDICTIONS.h5
 * Both need nothing but the checkpoint: the resolved config travels inside it. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/hdf5_util.h"
#include "nn/ckpt.h"
#include "nn/data.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/trainer.h"

typedef struct eval_args {
    const char *checkpoint, *split, *data, *output;
} eval_args;

static const nni_cli_flag eval_flags[] = {
    {"split", 0, "NAME", "the dataset split to evaluate (default: test)"},
    {"data", 0, "FILE", "another dataset file than the one the config names"},
    {NULL, 0, NULL, NULL},
};

static const nni_cli_flag predict_flags[] = {
    {"split", 0, "NAME", "the dataset split to predict (default: test)"},
    {"data", 0, "FILE", "another dataset file than the one the config names"},
    {"output", 'o', "OUT.h5", "where to write the predictions (required)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_eval_spec = {
    "eval", "CHECKPOINT", "loss and accuracy of a checkpoint on a dataset split", 1, 1,
    eval_flags};
const nni_cli_spec nni_predict_spec = {
    "predict", "CHECKPOINT",
    "a checkpoint's outputs (and a classifier's predicted classes), written to HDF5", 1, 1,
    predict_flags};

/* Returns NN_OK with args->help set when --help was asked (already printed). */
static nn_status parse_args(int argc, char **argv, const nni_cli_spec *spec, eval_args *a,
                            nni_cli_args *args, nn_error *err)
{
    memset(a, 0, sizeof *a);
    nn_status st = nni_cli_parse(argc, argv, spec, args, err);
    if (st || args->help)
        return st;
    a->checkpoint = args->operands[0];
    a->split = nni_cli_value(args, "split") ? nni_cli_value(args, "split") : "test";
    a->data = nni_cli_value(args, "data");
    a->output = spec == &nni_predict_spec ? nni_cli_value(args, "output") : NULL;
    if (spec == &nni_predict_spec && !a->output)
        return nn_fail(err, NN_ERR_CONFIG, "predict: -o OUT.h5 is required (see nntrain "
                       "predict --help)");
    return NN_OK;
}

int nni_cmd_eval(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    eval_args a;
    nni_cli_args args;
    if (parse_args(argc, argv, &nni_eval_spec, &a, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    if (world->rank != 0)
        return 0;
    nn_eval_result r;
    if (nn_evaluate_split(a.checkpoint, a.split, a.data, &r, &err))
        return nni_cli_report(world, &err);
    printf("%s: loss %.4f", a.split, r.loss);
    if (!isnan(r.accuracy))
        printf("  accuracy %.4f", r.accuracy);
    if (!isnan(r.label_error_rate))
        printf("  label_error_rate %.4f", r.label_error_rate);
    printf("  (%lld samples)\n", (long long)r.samples);
    return 0;
}

typedef struct predictions {
    float *values;
    int32_t *classes; /* NULL for a regression model: outputs only */
    int64_t width;
    const nn_loss *loss;
    int32_t *decoded; /* sequence losses: rows of `width` labels, padded with -1 */
    const int32_t *steps; /* valid output steps of each row (padded sequences), or NULL */
} predictions;

static void collect(void *opaque, const float *out, int64_t first, int64_t count)
{
    predictions *p = opaque;
    memcpy(p->values + first * p->width, out, (size_t)(count * p->width) * sizeof *out);
    for (int64_t r = 0; p->decoded && r < count; r++) {
        int32_t *row = p->decoded + (first + r) * p->width;
        int64_t n = nn_loss_decode(p->loss, out + r * p->width,
                                   p->steps ? p->steps[first + r] : 0, row);
        for (int64_t j = n; j < p->width; j++)
            row[j] = -1;
    }
    for (int64_t r = 0; p->classes && r < count; r++) {
        int64_t best = 0;
        for (int64_t c = 1; c < p->width; c++)
            if (out[r * p->width + c] > out[r * p->width + best])
                best = c;
        p->classes[first + r] = (int32_t)best;
    }
}

static nn_status write_predictions(const char *path, const predictions *p, int64_t rows,
                                   nn_error *err)
{
    /* Built in memory and written whole (see io/hdf5_util.h). */
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    hid_t fapl = nni_h5_memory_access(H5P_DEFAULT);
    char name[1100];
    snprintf(name, sizeof name, "%s.in-memory", path);
    hid_t file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    nni_h5_close(&fapl);
    herr_t s = file < 0 ? -1 : 0;
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)p->width};
    if (s >= 0) {
        hid_t space = H5Screate_simple(2, dims, NULL);
        hid_t d = H5Dcreate2(file, "outputs", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        s = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->values);
        nni_h5_close(&d);
        nni_h5_close(&space);
    }
    if (s >= 0 && p->classes) {
        hid_t space = H5Screate_simple(1, dims, NULL);
        hid_t d = H5Dcreate2(file, "classes", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        s = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->classes);
        nni_h5_close(&d);
        nni_h5_close(&space);
    }
    if (s >= 0 && p->decoded) {
        hid_t space = H5Screate_simple(2, dims, NULL);
        hid_t d = H5Dcreate2(file, "decoded", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        s = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                  p->decoded);
        nni_h5_close(&d);
        nni_h5_close(&space);
    }
    nn_status st = s < 0 ? nn_fail(err, NN_ERR_OTHER, "%s: cannot build the predictions", path)
                         : nni_h5_write_image(&file, path, err);
    nni_h5_close(&file);
    nni_h5_quiet_end(quiet);
    return st;
}

int nni_cmd_predict(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    eval_args a;
    nn_ckpt_runner l;
    nni_cli_args args;
    if (parse_args(argc, argv, &nni_predict_spec, &a, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    if (world->rank != 0)
        return 0;
    if (nn_ckpt_runner_open(a.checkpoint, a.split, a.data, &l, &err)) {
        nn_ckpt_runner_close(&l);
        return nni_cli_report(world, &err);
    }
    predictions p = {.width = nn_model_output_size(l.model),
                     .steps = nn_model_output_steps(l.model) ? l.data.x_lengths : NULL};
    const int classification = l.data.labels && nn_loss_is_classification(l.loss);
    p.values = malloc((size_t)(l.data.n * p.width) * sizeof *p.values);
    p.classes = classification ? malloc((size_t)l.data.n * sizeof *p.classes) : NULL;
    p.loss = l.loss;
    if (nn_loss_decodes(l.loss))
        p.decoded = malloc((size_t)(l.data.n * p.width) * sizeof *p.decoded);
    nn_status st = p.values && (p.classes || !classification) &&
                           (p.decoded || !nn_loss_decodes(l.loss))
                       ? NN_OK : nn_fail(&err, NN_ERR_OTHER, "out of memory");
    if (!st) {
        nn_ckpt_runner_run(&l, collect, &p);
        st = write_predictions(a.output, &p, l.data.n, &err);
    }
    if (!st)
        printf("wrote %s: outputs (%lld x %lld)%s%s for /%s\n", a.output, (long long)l.data.n,
               (long long)p.width, classification ? " and classes" : "",
               p.decoded ? " and decoded label sequences (greedy, padded with -1)" : "", a.split);
    free(p.values);
    free(p.decoded);
    free(p.classes);
    nn_ckpt_runner_close(&l);
    return st ? nni_cli_report(world, &err) : 0;
}

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

static nn_status parse_args(int argc, char **argv, int need_output, eval_args *a, nn_error *err)
{
    memset(a, 0, sizeof *a);
    a->split = "test";
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp(argv[i], "--split"))
            slot = &a->split;
        else if (!strcmp(argv[i], "--data"))
            slot = &a->data;
        else if (need_output && (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")))
            slot = &a->output;
        else if (argv[i][0] != '-' && !a->checkpoint) {
            a->checkpoint = argv[i];
            continue;
        } else
            return nn_fail(err, NN_ERR_CONFIG, "%s: unexpected argument '%s'", argv[0], argv[i]);
        if (i + 1 >= argc)
            return nn_fail(err, NN_ERR_CONFIG, "%s: %s needs a value", argv[0], argv[i]);
        *slot = argv[++i];
    }
    if (!a->checkpoint || (need_output && !a->output))
        return nn_fail(err, NN_ERR_CONFIG, "usage: nntrain %s CHECKPOINT.h5 [--split NAME] "
                       "[--data FILE]%s", argv[0], need_output ? " -o OUT.h5" : "");
    return NN_OK;
}

int nni_cmd_eval(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    eval_args a;
    if (parse_args(argc, argv, 0, &a, &err))
        return nni_cli_report(world, &err);
    if (world->rank != 0)
        return 0;
    double loss, accuracy;
    int64_t samples;
    if (nn_evaluate_checkpoint(a.checkpoint, a.split, a.data, &loss, &accuracy, &samples, &err))
        return nni_cli_report(world, &err);
    if (!isnan(accuracy))
        printf("%s: loss %.4f  accuracy %.4f  (%lld samples)\n", a.split, loss, accuracy,
               (long long)samples);
    else
        printf("%s: loss %.4f  (%lld samples)\n", a.split, loss, (long long)samples);
    return 0;
}

typedef struct predictions {
    float *values;
    int32_t *classes;
    int64_t width;
} predictions;

static void collect(void *opaque, const float *out, int64_t first, int64_t count)
{
    predictions *p = opaque;
    memcpy(p->values + first * p->width, out, (size_t)(count * p->width) * sizeof *out);
    for (int64_t r = 0; r < count; r++) {
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
    if (s >= 0) {
        hid_t space = H5Screate_simple(1, dims, NULL);
        hid_t d = H5Dcreate2(file, "classes", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        s = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->classes);
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
    if (parse_args(argc, argv, 1, &a, &err))
        return nni_cli_report(world, &err);
    if (world->rank != 0)
        return 0;
    if (nn_ckpt_runner_open(a.checkpoint, a.split, a.data, &l, &err)) {
        nn_ckpt_runner_close(&l);
        return nni_cli_report(world, &err);
    }
    predictions p = {.width = nn_model_output_size(l.model)};
    p.values = malloc((size_t)(l.data.n * p.width) * sizeof *p.values);
    p.classes = malloc((size_t)l.data.n * sizeof *p.classes);
    nn_status st = p.values && p.classes ? NN_OK : nn_fail(&err, NN_ERR_OTHER, "out of memory");
    if (!st) {
        nn_ckpt_runner_run(&l, collect, &p);
        st = write_predictions(a.output, &p, l.data.n, &err);
    }
    if (!st)
        printf("wrote %s: outputs (%lld x %lld) and classes for /%s\n", a.output,
               (long long)l.data.n, (long long)p.width, a.split);
    free(p.values);
    free(p.classes);
    nn_ckpt_runner_close(&l);
    return st ? nni_cli_report(world, &err) : 0;
}

/* nntrain eval CHECKPOINT [--split test] [--data FILE]
 * nntrain predict CHECKPOINT [--split test] [--data FILE] -o PREDICTIONS.h5
 * Both need nothing but the checkpoint: the resolved config travels inside it. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/ckpt.h"
#include "nn/data.h"
#include "nn/loss.h"
#include "nn/model.h"

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

typedef struct loaded {
    nn_cfg *cfg;
    nn_model *model;
    nn_loss *loss;
    nn_dataset data;
    int64_t capacity;
} loaded;

static void unload(loaded *l)
{
    nn_model_free(l->model);
    nn_loss_free(l->loss);
    nn_dataset_free(&l->data);
    nn_cfg_free(l->cfg);
}

static nn_status load(const eval_args *a, loaded *l, nn_error *err)
{
    memset(l, 0, sizeof *l);
    l->capacity = 256;
    nn_ckpt_meta meta;
    nn_status st = nn_ckpt_read_meta(a->checkpoint, &meta, err);
    if (st)
        return st;
    st = nn_cfg_load_string(meta.config_yaml, a->checkpoint, &l->cfg, err);
    nn_ckpt_meta_free(&meta);
    const char *path = a->data;
    if (!st && !path)
        st = nn_cfg_read_string(nn_cfg_get(l->cfg, "data"), "path", NULL, &path, err);
    if (!st && !path)
        st = nn_fail(err, NN_ERR_CONFIG, "%s: the config names no data file; give --data",
                     a->checkpoint);
    if (!st)
        st = nn_dataset_load(path, a->split, &l->data, err);
    if (!st)
        st = nn_model_build(nn_cfg_get(l->cfg, "model"), l->capacity, 1, 0, &l->model, err);
    if (!st)
        st = nn_ckpt_load(a->checkpoint, l->model, NULL, err);
    if (!st && nn_model_input_size(l->model) != l->data.sample_size)
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s has %lld values per sample, the model takes "
                     "%lld", path, a->split, (long long)l->data.sample_size,
                     (long long)nn_model_input_size(l->model));
    if (!st)
        st = nn_loss_build(nn_cfg_get(nn_cfg_get(l->cfg, "train"), "loss"),
                           nn_model_output_size(l->model),
                           l->data.target_kind == NN_TARGET_LABELS, l->data.target_width,
                           l->data.num_classes, &l->loss, err);
    return st;
}

/* Forward the whole split in chunks; per chunk, hand the outputs to `visit`. */
static void run_split(loaded *l, void (*visit)(void *, const float *, int64_t, int64_t),
                      void *ctx)
{
    int64_t *rows = malloc((size_t)l->capacity * sizeof *rows);
    nn_pass pass = {.training = 0};
    for (int64_t first = 0; first < l->data.n; first += l->capacity) {
        int64_t count = l->data.n - first < l->capacity ? l->data.n - first : l->capacity;
        for (int64_t i = 0; i < count; i++)
            rows[i] = first + i;
        nn_dataset_gather_x(&l->data, rows, count, nn_model_input(l->model));
        pass.batch = count;
        nn_model_forward(l->model, &pass);
        visit(ctx, l->model->output->out, first, count);
    }
    free(rows);
}

typedef struct eval_sums {
    loaded *l;
    double loss, correct;
} eval_sums;

static void accumulate(void *opaque, const float *out, int64_t first, int64_t count)
{
    eval_sums *s = opaque;
    const nn_dataset *d = &s->l->data;
    nn_targets t = {.labels = d->labels ? d->labels + first : NULL,
                    .values = d->targets ? d->targets + first * d->target_width : NULL,
                    .width = d->target_width};
    s->loss += nn_loss_eval(s->l->loss, out, &t, count, 0, NULL);
    int64_t width = nn_model_output_size(s->l->model);
    for (int64_t r = 0; d->labels && r < count; r++) {
        int64_t best = 0;
        for (int64_t c = 1; c < width; c++)
            if (out[r * width + c] > out[r * width + best])
                best = c;
        s->correct += best == d->labels[first + r];
    }
}

int cmd_eval(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    eval_args a;
    loaded l;
    if (parse_args(argc, argv, 0, &a, &err))
        return cli_report(world, &err);
    if (world->rank != 0)
        return 0;
    if (load(&a, &l, &err)) {
        unload(&l);
        return cli_report(world, &err);
    }
    eval_sums sums = {.l = &l};
    run_split(&l, accumulate, &sums);
    if (l.data.labels && nn_loss_is_classification(l.loss))
        printf("%s: loss %.4f  accuracy %.4f  (%lld samples)\n", a.split, sums.loss / l.data.n,
               sums.correct / l.data.n, (long long)l.data.n);
    else
        printf("%s: loss %.4f  (%lld samples)\n", a.split, sums.loss / l.data.n,
               (long long)l.data.n);
    unload(&l);
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
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    herr_t s = file < 0 ? -1 : 0;
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)p->width};
    if (s >= 0) {
        hid_t space = H5Screate_simple(2, dims, NULL);
        hid_t d = H5Dcreate2(file, "outputs", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        s = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->values);
        if (d >= 0)
            H5Dclose(d);
        H5Sclose(space);
    }
    if (s >= 0) {
        hid_t space = H5Screate_simple(1, dims, NULL);
        hid_t d = H5Dcreate2(file, "classes", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        s = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->classes);
        if (d >= 0)
            H5Dclose(d);
        H5Sclose(space);
    }
    if (file >= 0 && H5Fclose(file) < 0)
        s = -1;
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    if (s < 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write predictions", path);
    }
    return NN_OK;
}

int cmd_predict(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    eval_args a;
    loaded l;
    if (parse_args(argc, argv, 1, &a, &err))
        return cli_report(world, &err);
    if (world->rank != 0)
        return 0;
    if (load(&a, &l, &err)) {
        unload(&l);
        return cli_report(world, &err);
    }
    predictions p = {.width = nn_model_output_size(l.model)};
    p.values = malloc((size_t)(l.data.n * p.width) * sizeof *p.values);
    p.classes = malloc((size_t)l.data.n * sizeof *p.classes);
    nn_status st = p.values && p.classes ? NN_OK : nn_fail(&err, NN_ERR_OTHER, "out of memory");
    if (!st) {
        run_split(&l, collect, &p);
        st = write_predictions(a.output, &p, l.data.n, &err);
    }
    if (!st)
        printf("wrote %s: outputs (%lld x %lld) and classes for /%s\n", a.output,
               (long long)l.data.n, (long long)p.width, a.split);
    free(p.values);
    free(p.classes);
    unload(&l);
    return st ? cli_report(world, &err) : 0;
}

/* nntrain verify CHECKPOINT...: reads every dataset of each file (checksums included). */
int cmd_verify(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    if (argc < 2) {
        nn_fail(&err, NN_ERR_CONFIG, "usage: nntrain verify CHECKPOINT.h5 ...");
        return cli_report(world, &err);
    }
    if (world->rank != 0)
        return 0;
    int worst = 0;
    for (int i = 1; i < argc; i++) {
        nn_ckpt_meta meta;
        nn_status st = nn_ckpt_verify(argv[i], &err);
        if (!st)
            st = nn_ckpt_read_meta(argv[i], &meta, &err);
        if (st) {
            cli_report(world, &err);
            worst = worst ? worst : (int)st;
            continue;
        }
        printf("%s: ok (epoch %d%s, %d history rows)\n", argv[i], meta.epoch,
               meta.step ? ", mid-epoch" : "", meta.n_history);
        nn_ckpt_meta_free(&meta);
    }
    return worst;
}

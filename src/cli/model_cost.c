/* Models for summary --measure and compare (cli/model_cost.h). */
#include "cli/model_cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/threads.h"
#include "nn/ckpt.h"

nn_status nni_cost_options_read(const nni_cli_args *args, nni_cost_options *o, nn_error *err)
{
    memset(o, 0, sizeof *o);
    o->repeats = 15;
    const char *list = nni_cli_value(args, "batch");
    const char *threads = nni_cli_value(args, "threads");
    const char *repeats = nni_cli_value(args, "repeats");
    while (list && *list) {
        char *end = NULL;
        long long b = strtoll(list, &end, 10);
        if (end == list || b < 1 || b > 1 << 20 || (*end && *end != ',') ||
            o->n_batches == NNI_CLI_MAX_BATCHES)
            return nn_fail(err, NN_ERR_CONFIG, "--batch: expected up to %d batch sizes >= 1 "
                           "separated by commas, e.g. 1,32,256; got '%s'", NNI_CLI_MAX_BATCHES,
                           nni_cli_value(args, "batch"));
        o->batches[o->n_batches++] = b;
        list = *end ? end + 1 : end;
    }
    if (threads) {
        char *end = NULL;
        long t = strtol(threads, &end, 10);
        if (end == threads || *end || t < 1 || t > 1024)
            return nn_fail(err, NN_ERR_CONFIG, "--threads: expected a count >= 1, got '%s'",
                           threads);
        o->threads = (int)t;
    }
    if (repeats) {
        char *end = NULL;
        long r = strtol(repeats, &end, 10);
        if (end == repeats || *end || r < NNI_LATENCY_MIN_REPEATS || r > 100000)
            return nn_fail(err, NN_ERR_CONFIG, "--repeats: expected at least %d (a median of "
                           "repeats, never one timing), got '%s'", NNI_LATENCY_MIN_REPEATS,
                           repeats);
        o->repeats = (int)r;
    }
    if (o->threads)
        nni_set_threads(o->threads);
    return NN_OK;
}

/* HDF5 files begin with this signature. */
static int is_hdf5(const char *path)
{
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == sizeof head && !memcmp(head, signature, sizeof head);
}

/* The config of a checkpoint (path), with its last recorded validation accuracy. */
static nn_status read_checkpoint_config(const char *path, nni_cost_model *m, nn_error *err)
{
    nn_ckpt_meta meta;
    nn_status st = nn_ckpt_read_meta(path, &meta, err);
    if (st)
        return st;
    st = nn_cfg_load_string(meta.config_yaml, path, &m->cfg, err);
    if (meta.n_history > 0)
        m->val_accuracy = meta.history[meta.n_history - 1].val_accuracy;
    nn_ckpt_meta_free(&meta);
    return st;
}

/* The config file at path with every --set of the command line applied. */
static nn_status read_config_file(const char *path, const nni_cli_args *args, nn_cfg **cfg,
                                  nn_error *err)
{
    nn_status st = nn_cfg_load_file(path, cfg, err);
    for (int i = 0; !st && i < args->n_given; i++)
        if (!strcmp(args->spec->flags[args->given_flag[i]].name, "set"))
            st = nn_cfg_set(*cfg, args->given_value[i], err);
    return st;
}

nn_status nni_cost_model_open(const char *path, const nni_cli_args *args,
                              const nni_cost_options *o, nni_cost_model *m, nn_error *err)
{
    memset(m, 0, sizeof *m);
    m->val_accuracy = NAN;
    snprintf(m->name, sizeof m->name, "%s", path);
    char file[1100];
    struct stat info;
    if (stat(path, &info) != 0)
        return nn_fail(err, NN_ERR_CONFIG, "%s: no such config, checkpoint or run directory",
                       path);
    if (S_ISDIR(info.st_mode))
        snprintf(file, sizeof file, "%s/last.h5", path);
    else
        snprintf(file, sizeof file, "%s", path);
    m->from_checkpoint = is_hdf5(file);
    if (S_ISDIR(info.st_mode) && !m->from_checkpoint)
        return nn_fail(err, NN_ERR_CONFIG, "%s: a directory without last.h5 (give a config, a "
                       "checkpoint or a run directory)", path);
    nn_status st = m->from_checkpoint ? read_checkpoint_config(file, m, err)
                                      : read_config_file(file, args, &m->cfg, err);
    int64_t seed = 42;
    m->train_batch = 32;
    if (!st)
        st = nn_cfg_read_int(nn_cfg_get(m->cfg, "train"), "batch_size", 32, &m->train_batch, err);
    if (!st)
        st = nn_cfg_read_int(m->cfg, "seed", 42, &seed, err);
    if (!st && m->train_batch < 1)
        st = nn_fail(err, NN_ERR_CONFIG, "%s: train.batch_size must be >= 1", path);
    if (st)
        return st;
    if (o->n_batches > 0) {
        memcpy(m->batches, o->batches, (size_t)o->n_batches * sizeof *m->batches);
        m->n_batches = o->n_batches;
    } else {
        m->batches[m->n_batches++] = 1;
        if (m->train_batch > 1)
            m->batches[m->n_batches++] = m->train_batch;
    }
    int64_t capacity = m->train_batch;
    for (int i = 0; i < m->n_batches; i++)
        if (m->batches[i] > capacity)
            capacity = m->batches[i];
    st = nn_model_build(nn_cfg_get(m->cfg, "model"), capacity, (uint64_t)seed, 0, &m->model,
                        err);
    if (!st && m->from_checkpoint)
        st = nn_ckpt_load(file, m->model, NULL, err);
    return st;
}

void nni_cost_model_close(nni_cost_model *m)
{
    nn_model_free(m->model);
    nn_cfg_free(m->cfg);
    memset(m, 0, sizeof *m);
}

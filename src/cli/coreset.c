/* nntrain coreset DATA.h5 --k K [--method kcenter|herding|random] [--features CKPT:LAYER]
 * [--split S] [--balanced] -o SUBSET.h5: k rows of a split written as a dataset file of
 * their own (src/study/coreset.h), with the rows they came from and the source's test
 * split, so that a config can train on it as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "data/gather.h"
#include "nn/data.h"
#include "nn/model.h"
#include "nn/trainer.h"
#include "study/coreset.h"

static const nni_cli_flag coreset_flags[] = {
    {"k", 0, "K", "how many rows to choose (required)"},
    {"method", 0, "kcenter|herding|random", "how to choose them (default: kcenter)"},
    {"features", 0, "CKPT:LAYER", "compare rows by a trained layer's outputs instead of "
                                  "their inputs"},
    {"split", 0, "NAME", "the split to choose from (default: train)"},
    {"balanced", 0, NULL, "the same number of rows from every class"},
    {"seed", 0, "N", "the random method's seed (default: 0)"},
    {"output", 'o', "OUT.h5", "the dataset file to write (required)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_coreset_spec = {
    "coreset", "DATA.h5", "k representative rows of a split, written as a dataset file", 1, 1,
    coreset_flags};

typedef struct layer_copy {
    const nn_layer *layer;
    int64_t width;
    float *features;
} layer_copy;

static void copy_layer_output(void *ctx, const float *out, int64_t first, int64_t count)
{
    (void)out;
    layer_copy *c = ctx;
    memcpy(c->features + first * c->width, c->layer->out,
           (size_t)(count * c->width) * sizeof(float));
}

/* The features of every row of the split: its inputs, or a checkpoint layer's outputs. */
static nn_status load_features(const char *data_path, const char *split, const char *spec,
                               nn_dataset *ds, float **features, int64_t *width, nn_error *err)
{
    nn_status st = nn_dataset_load(data_path, split, ds, err);
    if (st)
        return st;
    if (!spec) {
        *width = ds->sample_size;
        *features = malloc((size_t)(ds->n * ds->sample_size) * sizeof(float));
        int64_t *rows = malloc((size_t)(ds->n ? ds->n : 1) * sizeof *rows);
        if (!*features || !rows) {
            free(rows);
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
        }
        for (int64_t i = 0; i < ds->n; i++)
            rows[i] = i;
        nni_dataset_gather_x(ds, rows, ds->n, *features);
        free(rows);
        return NN_OK;
    }
    char checkpoint[700];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof checkpoint)
        return nn_fail(err, NN_ERR_CONFIG, "coreset: --features takes CHECKPOINT:LAYER, not "
                       "'%s'", spec);
    memcpy(checkpoint, spec, (size_t)(colon - spec));
    checkpoint[colon - spec] = '\0';
    nn_ckpt_runner runner;
    if ((st = nn_ckpt_runner_open(checkpoint, split, data_path, &runner, err))) {
        nn_ckpt_runner_close(&runner);
        return st;
    }
    layer_copy copy = {NULL, 0, NULL};
    for (int i = 0; i < runner.model->n_layers; i++)
        if (!strcmp(runner.model->layers[i]->name, colon + 1))
            copy.layer = runner.model->layers[i];
    if (!copy.layer)
        st = nn_fail(err, NN_ERR_CONFIG, "coreset: %s has no layer '%s'", checkpoint, colon + 1);
    if (!st) {
        copy.width = nn_shape_size(copy.layer->out_shape);
        copy.features = malloc((size_t)(runner.data.n * copy.width) * sizeof(float));
        if (!copy.features)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    if (!st)
        nn_ckpt_runner_run(&runner, copy_layer_output, &copy);
    nn_ckpt_runner_close(&runner);
    *features = copy.features;
    *width = copy.width;
    return st;
}

/* With --balanced each class gives k / K rows (the first k mod K classes one more). */
static nn_status choose(const nn_dataset *ds, const float *features, int64_t width, int64_t k,
                        nni_coreset_method method, int balanced, uint64_t seed,
                        int64_t *chosen, nn_error *err)
{
    if (k > ds->n)
        return nn_fail(err, NN_ERR_CONFIG, "coreset: --k %lld is more than the %lld rows of "
                       "/%s", (long long)k, (long long)ds->n, ds->split);
    if (!balanced)
        return nni_coreset_select(features, width, NULL, ds->n, k, method, seed, chosen, err);
    if (ds->target_kind != NN_TARGET_LABELS || ds->num_classes < 1)
        return nn_fail(err, NN_ERR_CONFIG, "coreset: --balanced needs class labels in /%s",
                       ds->split);
    int64_t *rows = malloc((size_t)ds->n * sizeof *rows), done = 0;
    nn_status st = rows ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int c = 0; !st && c < ds->num_classes; c++) {
        int64_t n = 0, want = k / ds->num_classes + (c < k % ds->num_classes);
        for (int64_t i = 0; i < ds->n; i++)
            if (ds->labels[i] == c)
                rows[n++] = i;
        if (want > n)
            st = nn_fail(err, NN_ERR_CONFIG, "coreset: --balanced asks %lld rows of class %d, "
                         "which has %lld", (long long)want, c, (long long)n);
        else if (want > 0)
            st = nni_coreset_select(features, width, rows, n, want, method, seed + (uint64_t)c,
                                    chosen + done, err);
        done += want;
    }
    free(rows);
    return st;
}

/* The chosen rows of ds, as a dataset of their own (the same storage type and scale). */
static nn_status take_rows(const nn_dataset *ds, const int64_t *chosen, int64_t k,
                           nn_dataset *out, nn_error *err)
{
    *out = *ds;
    out->n = out->rows_in_file = k;
    out->first = 0;
    out->x_u8 = NULL;
    out->x_f32 = NULL;
    out->labels = NULL;
    out->targets = NULL;
    out->class_names = NULL;
    out->n_class_names = 0;
    size_t x_bytes = (size_t)ds->sample_size * (ds->x_is_uint8 ? 1 : sizeof(float));
    size_t y_bytes = ds->target_kind == NN_TARGET_LABELS
                         ? sizeof(int32_t) : (size_t)ds->target_width * sizeof(float);
    unsigned char *x = malloc((size_t)k * x_bytes), *y = malloc((size_t)k * y_bytes);
    if (!x || !y) {
        free(x);
        free(y);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    const unsigned char *src_x = ds->x_is_uint8 ? (const void *)ds->x_u8 : (const void *)ds->x_f32;
    const unsigned char *src_y = ds->labels ? (const void *)ds->labels : (const void *)ds->targets;
    for (int64_t i = 0; i < k; i++) {
        memcpy(x + i * x_bytes, src_x + chosen[i] * x_bytes, x_bytes);
        memcpy(y + i * y_bytes, src_y + chosen[i] * y_bytes, y_bytes);
    }
    if (ds->x_is_uint8)
        out->x_u8 = x;
    else
        out->x_f32 = (float *)x;
    if (ds->target_kind == NN_TARGET_LABELS)
        out->labels = (int32_t *)y;
    else
        out->targets = (float *)y;
    return NN_OK;
}

static nn_status write_subset(const char *data_path, const char *out_path, const nn_dataset *ds,
                              const int64_t *chosen, int64_t k, nn_error *err)
{
    nn_dataset subset, test;
    memset(&test, 0, sizeof test);
    nn_status st = take_rows(ds, chosen, k, &subset, err);
    if (st)
        return st;
    nn_dataset_writer *w = NULL;
    if (!(st = nn_dataset_writer_create(out_path, &w, err)) &&
        !(st = nn_dataset_writer_add_split(w, "train", &subset, err)) &&
        !(st = nn_dataset_writer_add_source_rows(w, "train", chosen, k, err)) &&
        ds->num_classes > 0)
        st = nn_dataset_writer_set_classes(w, ds->num_classes,
                                           (const char *const *)ds->class_names,
                                           ds->n_class_names, err);
    if (!st && strcmp(ds->split, "test") != 0 && nn_dataset_has_split(data_path, "test") &&
        !(st = nn_dataset_load(data_path, "test", &test, err)))
        st = nn_dataset_writer_add_split(w, "test", &test, err);
    if (!st)
        st = nn_dataset_writer_commit(w, err);
    else if (w)
        nn_dataset_writer_abort(w);
    nn_dataset_free(&subset);
    nn_dataset_free(&test);
    return st;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int nni_cmd_coreset(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_coreset_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    if (world->rank != 0) /* one process's work: the others wait at the end */
        return 0;
    const char *data_path = args.operands[0], *out_path = nni_cli_value(&args, "output");
    const char *k_text = nni_cli_value(&args, "k"), *method_name = nni_cli_value(&args, "method");
    const char *split = nni_cli_value(&args, "split") ? nni_cli_value(&args, "split") : "train";
    const char *seed_text = nni_cli_value(&args, "seed");
    char *end = NULL;
    long long k = k_text ? strtoll(k_text, &end, 10) : 0;
    unsigned long long seed = seed_text ? strtoull(seed_text, NULL, 10) : 0;
    int method = 0;
    if (method_name)
        for (method = 0; nni_coreset_method_names[method] &&
                         strcmp(nni_coreset_method_names[method], method_name);)
            method++;
    if (!k_text || !out_path)
        nn_fail(&err, NN_ERR_CONFIG, "coreset: --k K and -o OUT.h5 are required (see nntrain "
                "coreset --help)");
    else if (*end || k < 1)
        nn_fail(&err, NN_ERR_CONFIG, "coreset: --k takes a positive number of rows, not '%s'",
                k_text);
    else if (!nni_coreset_method_names[method])
        nn_fail(&err, NN_ERR_CONFIG, "coreset: --method takes kcenter, herding or random, not "
                "'%s'", method_name);
    else if (same_file(data_path, out_path))
        nn_fail(&err, NN_ERR_CONFIG, "coreset: -o %s would replace the data it reads", out_path);
    if (err.status)
        return nni_cli_report(world, &err);

    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    float *features = NULL;
    int64_t width = 0, *chosen = malloc((size_t)k * sizeof *chosen);
    nn_status st = chosen ? load_features(data_path, split, nni_cli_value(&args, "features"),
                                          &ds, &features, &width, &err)
                          : nn_fail(&err, NN_ERR_OTHER, "out of memory");
    if (!st)
        st = choose(&ds, features, width, k, (nni_coreset_method)method,
                    nni_cli_count(&args, "balanced") > 0, seed, chosen, &err);
    if (!st)
        st = write_subset(data_path, out_path, &ds, chosen, k, &err);
    if (!st)
        printf("coreset: %lld of %lld rows of %s /%s by %s (features: %s, %lld values), "
               "written to %s\n", k, (long long)ds.n, data_path, split,
               nni_coreset_method_names[method],
               nni_cli_value(&args, "features") ? nni_cli_value(&args, "features") : "inputs",
               (long long)width, out_path);
    free(features);
    free(chosen);
    nn_dataset_free(&ds);
    return st ? nni_cli_report(world, &err) : 0;
}

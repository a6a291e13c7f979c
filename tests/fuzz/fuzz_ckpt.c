/* The checkpoint reader (nn_ckpt_read_meta, nn_ckpt_load with and without the optimizer,
 * nn_ckpt_verify) and the config that travels in a checkpoint, on files built by h5_builder
 * from the fuzzer's operations, usually on top of a valid checkpoint of a small model.
 *
 * Input: a flags byte (bit 0: start from a valid checkpoint), then the operations. Every
 * failure must be one clear line; the history a successful read returns is read end to end
 * and the config it carries is parsed (eval and predict rebuild the model from it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "h5_builder.h"
#include "io/ckpt_internal.h"
#include "nn/ckpt.h"
#include "nn/config.h"
#include "nn/optim.h"
#include "train/optim_internal.h"

#define MODEL_YAML                                                                           \
    "input: [3]\n"                                                                           \
    "layers:\n"                                                                              \
    "  - {name: fc1, type: dense, units: 4, activation: relu}\n"                             \
    "  - {name: bn, type: batchnorm}\n"                                                      \
    "  - {name: fc2, type: dense, units: 2}\n"

static nn_model *model;
static nn_optim *opt;
static const char *objects[64];
static int n_objects;
static const char *const attributes[] = {
    "format_version", "epoch", "step", "optim_steps", "world_size", "seed", "model_hash",
    "data_hash", "early_best_epoch", "early_bad_epochs", "early_best", "sched_plateau_scale",
    "sched_plateau_best", "sched_plateau_bad_epochs", "sched_plateau_cooldown", "columns",
};

static void add_object(const char *name)
{
    if (n_objects < (int)(sizeof objects / sizeof *objects))
        objects[n_objects++] = strdup(name);
}

static void setup(void)
{
    nn_error err = {0};
    nn_cfg *cfg = NULL, *optim_cfg = NULL;
    if (nn_cfg_load_string(MODEL_YAML, "model", &cfg, &err) ||
        nn_model_build(cfg, 2, 1, 0, &model, &err) ||
        nn_cfg_parse_value("{type: adam, lr: 0.01}", "optim", &optim_cfg, &err) ||
        nn_optim_build(optim_cfg, model, &opt, &err)) {
        fprintf(stderr, "fuzz: cannot build the model: %s\n", err.msg);
        abort();
    }
    nn_cfg_free(optim_cfg);
    nn_cfg_free(cfg);
    static const char *const fixed[] = {"meta", "meta/counters", "meta/history", "meta/config",
                                        "meta/data_fingerprint", "params", "optim", "state"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        add_object(fixed[i]);
    for (int k = 0; k < model->n_params; k++) {
        char name[512];
        nni_ckpt_tensor_path(name, sizeof name, &model->params[k]);
        add_object(name + 1);
        if (!(model->params[k].flags & NN_PARAM_STATE))
            for (int s = 0; s < nni_optim_slot_count(opt); s++) {
                nni_ckpt_slot_path(name, sizeof name, &model->params[k],
                                   nni_optim_slot_name(opt, s));
                add_object(name + 1);
            }
    }
}

static void write_template(const char *path)
{
    nn_epoch_record history[2];
    memset(history, 0, sizeof history);
    history[0].epoch = 1;
    history[1].epoch = 2;
    nn_ckpt_meta meta = {.format_version = NN_CKPT_FORMAT_VERSION, .epoch = 2, .step = 0,
                         .optim_steps = 6, .world_size = 1, .seed = 42,
                         .config_yaml = "model:\n  input: [3]\n", .n_history = 2,
                         .history = history};
    snprintf(meta.data_fingerprint, sizeof meta.data_fingerprint, "fuzz.h5 4 rows");
    nn_error err = {0};
    if (nn_ckpt_write(path, model, opt, &meta, &err)) {
        fprintf(stderr, "fuzz: cannot write the template checkpoint: %s\n", err.msg);
        abort();
    }
}

static volatile double sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model)
        setup();
    fuzz_reader in = {data, size};
    uint8_t flags = fuzz_u8(&in);
    char path[600];
    fuzz_scratch_path(path, sizeof path, "ckpt.h5");
    fuzz_remove(path);
    if (flags & 1)
        write_template(path);
    fuzz_h5_vocabulary words = {objects, n_objects, attributes,
                                sizeof attributes / sizeof *attributes};
    fuzz_h5_apply(path, &in, &words);

    nn_ckpt_meta meta;
    nn_error err = {0};
    nn_status st = nn_ckpt_read_meta(path, &meta, &err);
    fuzz_check_error(st, &err, "nn_ckpt_read_meta");
    if (!st) {
        double sum = 0;
        for (int i = 0; i < meta.n_history; i++)
            sum += meta.history[i].epoch + meta.history[i].loss;
        sink = sum + (double)strlen(meta.config_yaml) + (double)strlen(meta.data_fingerprint);
        nn_cfg *cfg = NULL;
        st = nn_cfg_load_string(meta.config_yaml, path, &cfg, &err);
        fuzz_check_error(st, &err, "nn_cfg_load_string (checkpoint config)");
        nn_cfg_free(cfg);
        nn_ckpt_meta_free(&meta);
    }
    st = nn_ckpt_load(path, model, flags & 2 ? NULL : opt, &err);
    fuzz_check_error(st, &err, "nn_ckpt_load");
    st = nn_ckpt_verify(path, &err);
    fuzz_check_error(st, &err, "nn_ckpt_verify");
    return 0;
}

/* The config loader and everything that reads a config before training: YAML into the tree,
 * `--set` overrides, emitting YAML, the model, optimizer, loss and schedule builders and the
 * search section (space, method, trial configs).
 *
 * Input: the YAML text, then up to eight `--set` assignments, each after a NUL byte. Every
 * failure must be one clear line; an emitted config must parse back to an equal tree. Models
 * are only built when no number in the config exceeds 4096 (a config asking for a billion
 * units is a request, not a bug). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "nn/config.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/sched.h"
#include "nn/search.h"

#define MAX_SETS 8
#define MAX_BUILD_NUMBER 4096.0

/* 1 when every scalar that reads as a number is within +-MAX_BUILD_NUMBER. */
static int numbers_small(const nn_cfg *node)
{
    if (nn_cfg_kind_of(node) != NN_CFG_SCALAR) {
        for (int i = 0; i < nn_cfg_size(node); i++)
            if (!numbers_small(nn_cfg_at(node, i)))
                return 0;
        return 1;
    }
    const char *text = nn_cfg_scalar(node);
    char *end;
    double v = text ? strtod(text, &end) : 0;
    if (text && end != text && !(fabs(v) <= MAX_BUILD_NUMBER))
        return 0;
    /* Integers written with '_' or in hex escape strtod; treat any such text as large. */
    return !(text && (strchr(text, '_') || strchr(text, 'x') || strchr(text, 'X')));
}

static void check_round_trip(const nn_cfg *root)
{
    char *yaml = nn_cfg_to_yaml(root);
    if (!yaml)
        return; /* out of memory */
    nn_cfg *again = NULL;
    nn_error err = {0};
    if (nn_cfg_load_string(yaml, "emitted", &again, &err) != NN_OK) {
        fprintf(stderr, "fuzz: the emitted config does not parse (%s):\n%s\n", err.msg, yaml);
        abort();
    }
    if (!nn_cfg_equal(root, again)) {
        fprintf(stderr, "fuzz: the emitted config parses to another tree:\n%s\n", yaml);
        abort();
    }
    nn_cfg_free(again);
    free(yaml);
}

static void build_everything(nn_cfg *root)
{
    nn_error err = {0};
    nn_model *model = NULL;
    nn_status st = nn_model_build(nn_cfg_get(root, "model"), 2, 1, 0, &model, &err);
    fuzz_check_error(st, &err, "nn_model_build");
    if (st != NN_OK)
        return;
    nn_optim *opt = NULL;
    st = nn_optim_build(nn_cfg_lookup(root, "train.optimizer"), model, &opt, &err);
    fuzz_check_error(st, &err, "nn_optim_build");
    nn_loss *loss = NULL;
    st = nn_loss_build(nn_cfg_lookup(root, "train.loss"), nn_model_output_size(model), 1, 1,
                       (int)nn_model_output_size(model), &loss, &err);
    fuzz_check_error(st, &err, "nn_loss_build");
    nn_sched *sched = NULL;
    st = nn_sched_build(nn_cfg_lookup(root, "train.schedule"), 0.01, 3, 2, &sched, &err);
    fuzz_check_error(st, &err, "nn_sched_build");
    if (sched) {
        for (int epoch = 0; epoch < 2; epoch++)
            for (int step = 0; step < 3; step++)
                (void)nn_sched_lr(sched, epoch, step);
        nn_sched_free(sched);
    }
    nn_loss_free(loss);
    nn_optim_free(opt);
    nn_model_free(model);
}

static void parse_search(const nn_cfg *root)
{
    nn_error err = {0};
    nn_search *search = NULL;
    nn_status st = nn_search_parse(root, "fuzz.yaml", &search, &err);
    fuzz_check_error(st, &err, "nn_search_parse");
    if (st != NN_OK)
        return;
    int trials = nn_search_trial_count(search);
    for (int t = 1; t <= trials && t <= 3; t++) {
        nn_cfg *trial = NULL;
        st = nn_search_trial_config(search, t, &trial, &err);
        fuzz_check_error(st, &err, "nn_search_trial_config");
        nn_cfg_free(trial);
    }
    nn_search_free(search);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Text and assignments as NUL-terminated strings. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *sets[MAX_SETS];
    int n_sets = 0;
    for (size_t i = 0; i < size && n_sets < MAX_SETS; i++)
        if (text[i] == '\0')
            sets[n_sets++] = text + i + 1;

    nn_error err = {0};
    nn_cfg *root = NULL;
    nn_status st = nn_cfg_load_string(text, "fuzz.yaml", &root, &err);
    fuzz_check_error(st, &err, "nn_cfg_load_string");
    for (int i = 0; st == NN_OK && i < n_sets; i++) {
        st = nn_cfg_set(root, sets[i], &err);
        fuzz_check_error(st, &err, "nn_cfg_set");
        st = NN_OK; /* a refused assignment leaves the tree as it was */
    }
    if (root) {
        check_round_trip(root);
        nn_cfg *copy = nn_cfg_clone(root);
        if (copy && !nn_cfg_equal(root, copy)) {
            fprintf(stderr, "fuzz: a clone differs from its original\n");
            abort();
        }
        nn_cfg_free(copy);
        if (numbers_small(root)) {
            build_everything(root);
            parse_search(root);
        }
        nn_cfg_check_unread(root, &err);
        nn_cfg_free(root);
    }
    free(text);
    return 0;
}

/* Configuration: parsing into a located tree, paths, typed readers and their messages,
 * key checks with suggestions, overrides, YAML errors, the emitter's round trip, clones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg_internal.h"
#include "nn/config.h"

/* A complete configuration, every section; line numbers below refer to it. */
static const char *const example =
    "data: {path: datasets/fashion-mnist.h5, train: train, val: {split: 0.1}, test: test}\n"
    "model:\n"
    "  input: [1, 28, 28]\n"
    "  layers:\n"
    "    - {name: c1, type: conv2d, filters: 64, kernel: 3, padding: same, activation: relu}\n"
    "    - {name: c2, type: conv2d, filters: 64, kernel: 3, padding: same}\n"
    "    - {name: proj, type: conv2d, inputs: [input], filters: 64, kernel: 1}\n"
    "    - {name: res, type: add, inputs: [c2, proj], activation: relu}\n"
    "    - {type: maxpool, size: 2}\n"
    "    - {type: global_avgpool}\n"
    "    - {type: dense, units: 10}\n"
    "train:\n"
    "  epochs: 10\n"
    "  batch_size: 128          # global batch, split across ranks\n"
    "  loss: cross_entropy\n"
    "  optimizer: {type: adam, lr: 0.001}\n"
    "  schedule: {type: exponential, gamma: 0.951}\n"
    "  early_stopping: {monitor: val_accuracy, patience: 3, restore_best: true}\n"
    "  checkpoint: {every: 1, keep: 3}\n"
    "seed: 42\n";

static nn_cfg *load(const char *text)
{
    nn_cfg *root = NULL;
    nn_error err = {0};
    nn_status st = nn_cfg_load_string(text, "cfg.yaml", &root, &err);
    if (st != NN_OK)
        fail_msg("unexpected error: %s", err.msg);
    assert_non_null(root);
    return root;
}

/* Loading must fail with NN_ERR_CONFIG and exactly this message. */
static void expect_load_error(const char *text, const char *message)
{
    nn_cfg *root = (nn_cfg *)1;
    nn_error err = {0};
    assert_int_equal(nn_cfg_load_string(text, "cfg.yaml", &root, &err), NN_ERR_CONFIG);
    assert_int_equal(err.status, NN_ERR_CONFIG);
    assert_null(root);
    assert_string_equal(err.msg, message);
}

static void test_parse_nested_and_flow(void **state)
{
    (void)state;
    nn_cfg *root = load(example);
    assert_int_equal(nn_cfg_kind_of(root), NN_CFG_MAP);
    assert_int_equal(nn_cfg_size(root), 4);
    assert_string_equal(nn_cfg_key_at(root, 0), "data");
    assert_string_equal(nn_cfg_key_at(root, 3), "seed");
    assert_null(nn_cfg_key_at(root, 4));

    nn_cfg *data = nn_cfg_get(root, "data");
    assert_int_equal(nn_cfg_kind_of(data), NN_CFG_MAP);
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(data, "path")), "datasets/fashion-mnist.h5");
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(nn_cfg_get(data, "val"), "split")), "0.1");

    nn_cfg *model = nn_cfg_get(root, "model");
    nn_cfg *input = nn_cfg_get(model, "input");
    assert_int_equal(nn_cfg_kind_of(input), NN_CFG_SEQ);
    assert_int_equal(nn_cfg_size(input), 3);
    assert_string_equal(nn_cfg_scalar(nn_cfg_at(input, 2)), "28");
    assert_null(nn_cfg_at(input, 3));
    assert_null(nn_cfg_key_at(input, 0)); /* a list has no keys */

    nn_cfg *layers = nn_cfg_get(model, "layers");
    assert_int_equal(nn_cfg_size(layers), 7);
    nn_cfg *res = nn_cfg_at(layers, 3);
    assert_int_equal(nn_cfg_kind_of(res), NN_CFG_MAP);
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(res, "type")), "add");
    nn_cfg *inputs = nn_cfg_get(res, "inputs");
    assert_int_equal(nn_cfg_size(inputs), 2);
    assert_string_equal(nn_cfg_scalar(nn_cfg_at(inputs, 1)), "proj");
    assert_int_equal(nn_cfg_size(nn_cfg_at(layers, 5)), 1);

    /* Scalars keep their text; the comment is not part of it. */
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "train.batch_size")), "128");
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "train.optimizer.lr")), "0.001");
    assert_null(nn_cfg_scalar(model));
    assert_null(nn_cfg_get(root, "nope"));
    assert_null(nn_cfg_get(input, "nope")); /* not a map */
    nn_cfg_free(root);
}

static void test_block_style_and_empty(void **state)
{
    (void)state;
    nn_cfg *root = load("# only a comment\n");
    assert_int_equal(nn_cfg_kind_of(root), NN_CFG_MAP);
    assert_int_equal(nn_cfg_size(root), 0);
    nn_cfg_free(root);

    root = load("a:\n  b:\n    - x\n    - y: 1\n      z: [2, 3]\n  c: |\n    two\n    lines\n"
                "d:\ne: ''\n");
    nn_cfg *item = nn_cfg_lookup(root, "a.b[1]");
    assert_int_equal(nn_cfg_kind_of(item), NN_CFG_MAP);
    assert_int_equal(nn_cfg_size(item), 2);
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "a.b[1].z[1]")), "3");
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "a.c")), "two\nlines\n");
    assert_true(nn_cfg_is_null(nn_cfg_get(root, "d")));
    assert_false(nn_cfg_is_null(nn_cfg_get(root, "e"))); /* quoted: an empty string */
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(root, "e")), "");
    nn_cfg_free(root);
}

static void test_paths_and_locations(void **state)
{
    (void)state;
    nn_cfg *root = load(example);
    assert_string_equal(nn_cfg_path(root), "");
    assert_string_equal(nn_cfg_where(root), "cfg.yaml:1:1");
    nn_cfg *units = nn_cfg_lookup(root, "model.layers[6].units");
    assert_non_null(units);
    assert_string_equal(nn_cfg_path(units), "model.layers[6].units");
    assert_string_equal(nn_cfg_where(units), "cfg.yaml:11:28");
    nn_cfg *opt = nn_cfg_lookup(root, "train.optimizer");
    assert_string_equal(nn_cfg_path(opt), "train.optimizer");
    assert_string_equal(nn_cfg_where(opt), "cfg.yaml:16:14");
    /* A list entry is located at its own text. */
    nn_cfg *layer = nn_cfg_lookup(root, "model.layers[2]");
    assert_string_equal(nn_cfg_path(layer), "model.layers[2]");
    assert_string_equal(nn_cfg_where(layer), "cfg.yaml:7:7");
    assert_string_equal(nn_cfg_path(nn_cfg_lookup(root, "model.layers[3].inputs[1]")),
                        "model.layers[3].inputs[1]");
    assert_string_equal(nn_cfg_where(nn_cfg_lookup(root, "model.input[1]")), "cfg.yaml:3:14");
    assert_ptr_equal(nn_cfg_lookup(root, ""), root);

    assert_null(nn_cfg_lookup(root, "model.layers[7]"));
    assert_null(nn_cfg_lookup(root, "model.layers.0"));
    assert_null(nn_cfg_lookup(root, "model..layers"));
    assert_null(nn_cfg_lookup(root, "model.layers[x]"));
    assert_null(nn_cfg_lookup(root, "model.layers[1"));
    assert_null(nn_cfg_lookup(root, "train.epochs.x"));
    nn_cfg_free(root);

    /* Keys with dots, as search spaces write them. */
    root = load("search:\n  parameters:\n    train.optimizer.lr: {min: 0.1}\n");
    nn_cfg *min = nn_cfg_lookup(root, "search.parameters.train.optimizer.lr.min");
    assert_non_null(min);
    assert_string_equal(nn_cfg_scalar(min), "0.1");
    assert_string_equal(nn_cfg_path(min), "search.parameters.train.optimizer.lr.min");
    nn_cfg_free(root);
}

static void test_read_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
    } good[] = {
        {"1e-3", 1e-3}, {"1.0e-4", 1e-4}, {"0.001", 0.001}, {".5", 0.5},   {"-2", -2},
        {"+7", 7},      {"5.", 5},        {"1_000", 1000},  {"2E+2", 200}, {"-.25", -0.25},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nn_cfg *map = nn_cfg_new_map();
        assert_int_equal(nn_cfg_put(map, "x", good[i].text, NULL), NN_OK);
        double value = 0;
        nn_error err = {0};
        assert_int_equal(nn_cfg_read_double(map, "x", -1, &value, &err), NN_OK);
        assert_true(value == good[i].value);
        nn_cfg_free(map);
    }
    nn_cfg *root = load("a: .inf\nb: -.Inf\n");
    double value = 0;
    assert_int_equal(nn_cfg_read_double(root, "a", 0, &value, NULL), NN_OK);
    assert_true(isinf(value) && value > 0);
    assert_int_equal(nn_cfg_read_double(root, "b", 0, &value, NULL), NN_OK);
    assert_true(isinf(value) && value < 0);
    assert_int_equal(nn_cfg_read_double(root, "absent", 2.5, &value, NULL), NN_OK);
    assert_true(value == 2.5);
    /* An absent section reads as an empty map. */
    assert_int_equal(nn_cfg_read_double(NULL, "lr", 0.125, &value, NULL), NN_OK);
    assert_true(value == 0.125);
    nn_cfg_free(root);

    static const char *const bad[] = {"fast",  "1e", "1.2.3", "0.1x", "1e-3 ", "nan", ".nan",
                                      "0x1p3", "",   "e5",    "1__0", "_1",    "inf", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_cfg *map = nn_cfg_new_map();
        assert_int_equal(nn_cfg_put(map, "x", bad[i], NULL), NN_OK);
        double v = 7;
        nn_error err = {0};
        assert_int_equal(nn_cfg_read_double(map, "x", 0, &v, &err), NN_ERR_CONFIG);
        char expect[128];
        snprintf(expect, sizeof expect, "x: expected a number, got '%s'", bad[i]);
        assert_string_equal(err.msg, expect);
        assert_true(v == 7);
        nn_cfg_free(map);
    }
}

static void test_read_ints_and_bools(void **state)
{
    (void)state;
    nn_cfg *root = load("a: 42\nb: -3\nc: 1e3\nd: 0x1F\ne: 2.0\nf: +9223372036854775807\n"
                        "g: -9223372036854775808\n");
    static const struct {
        const char *key;
        int64_t value;
    } good[] = {{"a", 42}, {"b", -3},        {"c", 1000},     {"d", 31},
                {"e", 2},  {"f", INT64_MAX}, {"g", INT64_MIN}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t value = 0;
        nn_error err = {0};
        assert_int_equal(nn_cfg_read_int(root, good[i].key, 0, &value, &err), NN_OK);
        assert_true(value == good[i].value);
    }
    int64_t value = 5;
    assert_int_equal(nn_cfg_read_int(root, "absent", -1, &value, NULL), NN_OK);
    assert_int_equal(value, -1);
    nn_cfg_free(root);

    root = load("train:\n  epochs: 2.5\n  steps: ten\n  big: 9223372036854775808\n"
                "  shape: {a: 1}\n");
    nn_cfg *train = nn_cfg_get(root, "train");
    nn_error err = {0};
    assert_int_equal(nn_cfg_read_int(train, "epochs", 0, &value, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:2:11: train.epochs: expected an integer, got '2.5'");
    assert_int_equal(nn_cfg_read_int(train, "steps", 0, &value, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:3:10: train.steps: expected an integer, got 'ten'");
    assert_int_equal(nn_cfg_read_int(train, "big", 0, &value, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:4:8: train.big: expected an integer in 64-bit "
                                 "range, got '9223372036854775808'");
    assert_int_equal(nn_cfg_read_int(train, "shape", 0, &value, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:5:10: train.shape: expected an integer, got a "
                                 "mapping");
    /* Reading a key from something that is not a map. */
    assert_int_equal(nn_cfg_read_int(nn_cfg_get(train, "epochs"), "x", 0, &value, &err),
                     NN_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "cfg.yaml:2:11: train.epochs: expected a mapping of keys, got '2.5'");
    nn_cfg_free(root);

    root = load("a: true\nb: No\nc: ON\nd: off\ne: YES\nf: False\ng: maybe\nh: 1\n");
    static const struct {
        const char *key;
        int value;
    } bools[] = {{"a", 1}, {"b", 0}, {"c", 1}, {"d", 0}, {"e", 1}, {"f", 0}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        int b = -1;
        assert_int_equal(nn_cfg_read_bool(root, bools[i].key, -1, &b, NULL), NN_OK);
        assert_int_equal(b, bools[i].value);
    }
    int b = -1;
    assert_int_equal(nn_cfg_read_bool(root, "g", 0, &b, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:7:4: g: expected true or false, got 'maybe'");
    assert_int_equal(nn_cfg_read_bool(root, "h", 0, &b, &err), NN_ERR_CONFIG);
    assert_int_equal(nn_cfg_read_bool(root, "absent", 1, &b, NULL), NN_OK);
    assert_int_equal(b, 1);
    nn_cfg_free(root);

    root = load("k1: 3\nk2: [3, 5]\nk3: [1, 2, 3, 4]\nk4: [1, x]\nk5: {a: 1}\n");
    int64_t values[3] = {0};
    int count = 3;
    assert_int_equal(nn_cfg_read_ints(root, "k1", values, &count, &err), NN_OK);
    assert_int_equal(count, 1);
    assert_int_equal(values[0], 3);
    count = 3;
    assert_int_equal(nn_cfg_read_ints(root, "k2", values, &count, &err), NN_OK);
    assert_int_equal(count, 2);
    assert_int_equal(values[0], 3);
    assert_int_equal(values[1], 5);
    count = 3;
    assert_int_equal(nn_cfg_read_ints(root, "absent", values, &count, &err), NN_OK);
    assert_int_equal(count, 0);
    count = 3;
    assert_int_equal(nn_cfg_read_ints(root, "k3", values, &count, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:3:5: k3: expected at most 3 integers, got 4");
    count = 3;
    assert_int_equal(nn_cfg_read_ints(root, "k4", values, &count, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:4:9: k4[1]: expected an integer, got 'x'");
    count = 3;
    assert_int_equal(nn_cfg_read_ints(root, "k5", values, &count, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "cfg.yaml:5:5: k5: expected an integer or a list of integers, got a "
                        "mapping");
    nn_cfg_free(root);
}

static void test_read_errors_name_location(void **state)
{
    (void)state;
    nn_cfg *root = load("train:\n  optimizer:\n    lr: fast\n    name: [a, b]\n");
    nn_cfg *opt = nn_cfg_lookup(root, "train.optimizer");
    double lr = 0;
    nn_error err = {0};
    assert_int_equal(nn_cfg_read_double(opt, "lr", 0.1, &lr, &err), NN_ERR_CONFIG);
    assert_int_equal(err.status, NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:3:9: train.optimizer.lr: expected a number, got 'fast'");
    const char *name = NULL;
    assert_int_equal(nn_cfg_read_string(opt, "name", "x", &name, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "cfg.yaml:4:11: train.optimizer.name: expected a string, got a list");
    assert_int_equal(nn_cfg_read_string(opt, "absent", "dflt", &name, &err), NN_OK);
    assert_string_equal(name, "dflt");

    /* nn_cfg_fail for range checks done by callers. */
    nn_cfg *lr_node = nn_cfg_get(opt, "lr");
    assert_int_equal(nn_cfg_fail(&err, lr_node, "must be positive, got %g", -1.0), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:3:9: train.optimizer.lr: must be positive, got -1");
    assert_int_equal(nn_cfg_fail(&err, root, "empty"), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:1:1: empty");
    nn_cfg_free(root);

    /* Text shown in messages stays on one line. */
    root = load("a: \"two\\nlines\"\n");
    assert_int_equal(nn_cfg_read_double(root, "a", 0, &lr, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:1:4: a: expected a number, got 'two\\nlines'");
    nn_cfg_free(root);
}

static void test_unknown_key_suggestion(void **state)
{
    (void)state;
    nn_cfg *root = load("train:\n  epochs: 3\n  optimizer:\n    type: adam\n"
                        "    momentum: 0.9\n    lrr: 0.1\n");
    static const char *const optimizer_keys[] = {"type", "lr", "momentum", "weight_decay", NULL};
    static const char *const train_keys[] = {"epochs", "optimizer", "batch_size", NULL};
    static const char *const top_keys[] = {"train", "model", "data", "seed", NULL};
    nn_error err = {0};
    assert_int_equal(nn_cfg_check_keys(nn_cfg_get(root, "train"), train_keys, &err), NN_OK);
    assert_int_equal(nn_cfg_check_keys(root, top_keys, &err), NN_OK);
    assert_int_equal(nn_cfg_check_keys(NULL, top_keys, &err), NN_OK);
    assert_int_equal(
        nn_cfg_check_keys(nn_cfg_lookup(root, "train.optimizer"), optimizer_keys, &err),
        NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:6:5: train.optimizer: unknown key 'lrr' (did you "
                                 "mean 'lr'?)");
    nn_cfg_free(root);

    root = load("trian: {epochs: 1}\n");
    assert_int_equal(nn_cfg_check_keys(root, top_keys, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:1:1: unknown key 'trian' (did you mean 'train'?)");
    nn_cfg_free(root);

    root = load("data: {}\nzzzzzz: 1\n");
    assert_int_equal(nn_cfg_check_keys(root, top_keys, &err), NN_ERR_CONFIG);
    assert_string_equal(
        err.msg, "cfg.yaml:2:1: unknown key 'zzzzzz' (valid keys: train, model, data, seed)");
    nn_cfg_free(root);

    static const char *const names[] = {"batch_size", "epochs", "learning_rate", "lr", NULL};
    assert_string_equal(nni_cfg_closest("batchsize", names), "batch_size");
    assert_string_equal(nni_cfg_closest("epoch", names), "epochs");
    assert_string_equal(nni_cfg_closest("LR", names), "lr");
    assert_string_equal(nni_cfg_closest("learnig_rate", names), "learning_rate");
    assert_string_equal(nni_cfg_closest("batch", names), "batch_size");
    assert_null(nni_cfg_closest("momentum", names));
    assert_null(nni_cfg_closest("x", names));
}

static void test_choice(void **state)
{
    (void)state;
    static const char *const optimizers[] = {"sgd", "momentum", "adam", "adamw", NULL};
    nn_cfg *root = load("a: {type: adam}\nb: {type: adma}\nc: {type: Adam}\nd: {type: xyz}\n"
                        "e: {type: [sgd]}\n");
    nn_error err = {0};
    int index = -2;
    assert_int_equal(
        nn_cfg_read_choice(nn_cfg_get(root, "a"), "type", optimizers, "sgd", &index, &err), NN_OK);
    assert_int_equal(index, 2);
    assert_int_equal(
        nn_cfg_read_choice(nn_cfg_get(root, "c"), "type", optimizers, NULL, &index, &err), NN_OK);
    assert_int_equal(index, 2);
    assert_int_equal(
        nn_cfg_read_choice(nn_cfg_get(root, "a"), "absent", optimizers, "adamw", &index, &err),
        NN_OK);
    assert_int_equal(index, 3);
    assert_int_equal(
        nn_cfg_read_choice(nn_cfg_get(root, "a"), "absent", optimizers, NULL, &index, &err), NN_OK);
    assert_int_equal(index, -1);

    assert_int_equal(
        nn_cfg_read_choice(nn_cfg_get(root, "b"), "type", optimizers, NULL, &index, &err),
        NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:2:11: b.type: expected one of sgd, momentum, adam, "
                                 "adamw, got 'adma' (did you mean 'adam'?)");
    assert_int_equal(
        nn_cfg_read_choice(nn_cfg_get(root, "d"), "type", optimizers, NULL, &index, &err),
        NN_ERR_CONFIG);
    assert_string_equal(
        err.msg, "cfg.yaml:4:11: d.type: expected one of sgd, momentum, adam, adamw, got 'xyz'");
    assert_int_equal(
        nn_cfg_read_choice(nn_cfg_get(root, "e"), "type", optimizers, NULL, &index, &err),
        NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:5:11: e.type: expected a string, got a list");
    nn_cfg_free(root);
}

static void test_overrides(void **state)
{
    (void)state;
    nn_cfg *root = load(example);
    nn_error err = {0};
    double lr = 0;
    int64_t units = 0;

    assert_int_equal(nn_cfg_set(root, "train.optimizer.lr=0.01", &err), NN_OK);
    assert_int_equal(nn_cfg_read_double(nn_cfg_lookup(root, "train.optimizer"), "lr", 0, &lr, &err),
                     NN_OK);
    assert_true(lr == 0.01);
    nn_cfg *lr_node = nn_cfg_lookup(root, "train.optimizer.lr");
    assert_string_equal(nn_cfg_where(lr_node), "--set train.optimizer.lr");
    assert_string_equal(nn_cfg_path(lr_node), "train.optimizer.lr");
    /* Order of keys is kept when a value is replaced. */
    assert_string_equal(nn_cfg_key_at(nn_cfg_lookup(root, "train.optimizer"), 1), "lr");

    assert_int_equal(nn_cfg_set(root, "model.layers[6].units=20", &err), NN_OK);
    assert_int_equal(
        nn_cfg_read_int(nn_cfg_lookup(root, "model.layers[6]"), "units", 0, &units, &err), NN_OK);
    assert_int_equal(units, 20);

    /* A list and a map as values. */
    assert_int_equal(nn_cfg_set(root, "model.input=[3, 32, 32]", &err), NN_OK);
    nn_cfg *input = nn_cfg_lookup(root, "model.input");
    assert_int_equal(nn_cfg_size(input), 3);
    assert_string_equal(nn_cfg_scalar(nn_cfg_at(input, 0)), "3");
    assert_string_equal(nn_cfg_path(nn_cfg_at(input, 2)), "model.input[2]");
    assert_int_equal(nn_cfg_set(root, "train.optimizer={type: sgd, momentum: 0.9}", &err), NN_OK);
    nn_cfg *opt = nn_cfg_lookup(root, "train.optimizer");
    assert_int_equal(nn_cfg_size(opt), 2);
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(opt, "type")), "sgd");
    assert_null(nn_cfg_get(opt, "lr"));
    assert_string_equal(nn_cfg_path(nn_cfg_get(opt, "momentum")), "train.optimizer.momentum");

    /* Whole list entries, and new keys with the maps on their way. */
    assert_int_equal(nn_cfg_set(root, "model.layers[4]={type: avgpool, size: 3}", &err), NN_OK);
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "model.layers[4].type")), "avgpool");
    assert_int_equal(nn_cfg_set(root, "train.optimizer.nesterov=true", &err), NN_OK);
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "train.optimizer.nesterov")), "true");
    assert_int_equal(nn_cfg_set(root, " run.dir.name = exp 1", &err), NN_OK);
    nn_cfg *name = nn_cfg_lookup(root, "run.dir.name");
    assert_non_null(name);
    assert_string_equal(nn_cfg_scalar(name), "exp 1");
    assert_string_equal(nn_cfg_path(name), "run.dir.name");
    assert_string_equal(nn_cfg_path(nn_cfg_lookup(root, "run.dir")), "run.dir");
    assert_string_equal(nn_cfg_key_at(root, 4), "run");
    assert_int_equal(nn_cfg_set(root, "model.layers[0].name=", &err), NN_OK);
    assert_true(nn_cfg_is_null(nn_cfg_lookup(root, "model.layers[0].name")));
    assert_int_equal(nn_cfg_set(root, "seed='7'", &err), NN_OK);
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(root, "seed")), "7");

    /* A bad value is reported at the override. */
    assert_int_equal(nn_cfg_set(root, "train.optimizer.lr=x", &err), NN_OK);
    assert_int_equal(nn_cfg_read_double(nn_cfg_lookup(root, "train.optimizer"), "lr", 0, &lr, &err),
                     NN_ERR_CONFIG);
    assert_string_equal(err.msg, "--set train.optimizer.lr: expected a number, got 'x'");
    assert_int_equal(nn_cfg_set(root, "train.schedule={type: step, gamma: big}", &err), NN_OK);
    assert_int_equal(
        nn_cfg_read_double(nn_cfg_lookup(root, "train.schedule"), "gamma", 0, &lr, &err),
        NN_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "--set train.schedule: train.schedule.gamma: expected a number, got "
                        "'big'");
    static const char *const schedule_keys[] = {"type", "gamma", NULL};
    assert_int_equal(nn_cfg_set(root, "train.schedule.gama=0.5", &err), NN_OK);
    assert_int_equal(nn_cfg_check_keys(nn_cfg_lookup(root, "train.schedule"), schedule_keys, &err),
                     NN_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "--set train.schedule.gama: unknown key 'gama' (did you mean 'gamma'?)");
    nn_cfg_free(root);
}

static void expect_set_error(nn_cfg *root, const char *assignment, const char *message)
{
    char *before = nn_cfg_to_yaml(root);
    nn_error err = {0};
    assert_int_equal(nn_cfg_set(root, assignment, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, message);
    /* A failed override leaves the tree as it was. */
    char *after = nn_cfg_to_yaml(root);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_override_errors(void **state)
{
    (void)state;
    nn_cfg *root = load(example);
    expect_set_error(root, "foo", "--set foo: expected KEY=VALUE, e.g. train.optimizer.lr=0.01");
    expect_set_error(root, "=3", "--set =3: missing the key before '='");
    expect_set_error(root, "model.layers[7].units=3",
                     "--set model.layers[7].units=3: index 7 is past the end of model.layers (7 "
                     "entries)");
    expect_set_error(root, "model.layers.units=3",
                     "--set model.layers.units=3: model.layers is a list; use model.layers[N] to "
                     "pick an entry");
    expect_set_error(root, "train[0]=3",
                     "--set train[0]=3: train is not a list, it cannot take [0]");
    expect_set_error(root, "train.epochs.max=3",
                     "--set train.epochs.max=3: train.epochs is '10', not a mapping");
    expect_set_error(root, "train..epochs=3",
                     "--set train..epochs=3: malformed key path (expected names joined by '.', "
                     "with [N] to index lists)");
    expect_set_error(root, "model.layers[x]=3",
                     "--set model.layers[x]=3: malformed key path (expected names joined by '.', "
                     "with [N] to index lists)");
    expect_set_error(root, "extra.list[0]=3",
                     "--set extra.list[0]=3: extra.list does not exist, it cannot be indexed");
    expect_set_error(root, "train.optimizer={type: [sgd",
                     "--set train.optimizer: invalid YAML value '{type: [sgd': did not find "
                     "expected ',' or ']' (at the end)");
    expect_set_error(root, "train.optimizer={a: b}}",
                     "--set train.optimizer: invalid YAML value '{a: b}}': did not find expected "
                     "<document start> (at character 7)");
    nn_cfg_free(root);
}

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    expect_load_error("train:\n  epochs: 3\n   lr: 1\n",
                      "cfg.yaml:3:6: YAML syntax error: mapping values are not allowed in this "
                      "context");
    expect_load_error("a: [1, 2\nb: 3\n",
                      "cfg.yaml:2:2: YAML syntax error: did not find expected ',' or ']' (while "
                      "parsing a flow sequence at line 1)");
    expect_load_error("a: 'open\n",
                      "cfg.yaml:2:1: YAML syntax error: found unexpected end of stream (while "
                      "scanning a quoted scalar at line 1)");
    expect_load_error("- 1\n- 2\n",
                      "cfg.yaml:1:1: a configuration must be a mapping of keys, got a list");
    expect_load_error("a: 1\n---\nb: 2\n",
                      "cfg.yaml:2:1: a configuration is one YAML document, found a second one");
    expect_load_error("a: *nothing\n", "cfg.yaml:1:4: a: unknown alias '*nothing'");
    expect_load_error("[a]: 1\n", "cfg.yaml:1:1: a key must be plain text, not a list");

    nn_cfg *root = (nn_cfg *)1;
    nn_error err = {0};
    assert_int_equal(nn_cfg_load_file("/nonexistent/cfg.yaml", &root, &err), NN_ERR_CONFIG);
    assert_null(root);
    assert_string_equal(err.msg, "cannot open config '/nonexistent/cfg.yaml': No such file or "
                                 "directory");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_load_error("train:\n  epochs: 3\n  lr: 1\n  epochs: 4\n",
                      "cfg.yaml:4:3: train: duplicate key 'epochs' at lines 2 and 4");
    expect_load_error("a: {x: 1, x: 2}\n", "cfg.yaml:1:11: a: duplicate key 'x' at lines 1 and 1");
    expect_load_error("x: 1\nx: 2\n", "cfg.yaml:2:1: duplicate key 'x' at lines 1 and 2");
}

static void test_anchors_and_merge(void **state)
{
    (void)state;
    nn_cfg *root = load("base: &conv {type: conv2d, kernel: 3, padding: same}\n"
                        "lr: &lr 0.1\n"
                        "layers:\n"
                        "  - {<<: *conv, name: c1}\n"
                        "  - <<: *conv\n"
                        "    kernel: 5\n"
                        "    name: c2\n"
                        "  - *conv\n"
                        "opt: {lr: *lr}\n");
    nn_cfg *c1 = nn_cfg_lookup(root, "layers[0]");
    assert_int_equal(nn_cfg_size(c1), 4);
    assert_string_equal(nn_cfg_key_at(c1, 0), "type");
    assert_string_equal(nn_cfg_key_at(c1, 3), "name");
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(c1, "kernel")), "3");
    assert_string_equal(nn_cfg_path(nn_cfg_get(c1, "kernel")), "layers[0].kernel");
    /* Merged values point at the text they came from. */
    assert_string_equal(nn_cfg_where(nn_cfg_get(c1, "kernel")), "cfg.yaml:1:36");
    nn_cfg *c2 = nn_cfg_lookup(root, "layers[1]");
    assert_int_equal(nn_cfg_size(c2), 4);
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(c2, "kernel")), "5");
    assert_string_equal(nn_cfg_where(nn_cfg_get(c2, "kernel")), "cfg.yaml:6:13");
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "layers[2].padding")), "same");
    assert_string_equal(nn_cfg_path(nn_cfg_lookup(root, "layers[2].padding")), "layers[2].padding");
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "opt.lr")), "0.1");
    nn_cfg_free(root);

    expect_load_error("a: &x {k: 1}\nb: {<<: *x, k: 2, k: 3}\n",
                      "cfg.yaml:2:19: b: duplicate key 'k' at lines 2 and 2");
    expect_load_error("a: &x 1\nb: {<<: *x}\n",
                      "cfg.yaml:2:5: b: the merge key '<<' takes a mapping or a list of mappings");
    /* Nested aliases cannot blow up memory. */
    expect_load_error("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
                      "cfg.yaml:6:36: f[7]: too many values after expanding aliases (more than "
                      "1000000)");
}

static void assert_round_trip(const char *text)
{
    nn_cfg *root = load(text);
    char *yaml = nn_cfg_to_yaml(root);
    assert_non_null(yaml);
    nn_cfg *again = NULL;
    nn_error err = {0};
    if (nn_cfg_load_string(yaml, "emitted", &again, &err) != NN_OK)
        fail_msg("emitted YAML does not parse: %s\n%s", err.msg, yaml);
    if (!nn_cfg_equal(root, again))
        fail_msg("round trip changed the tree:\n%s", yaml);
    /* Emitting is stable: what was quoted stays quoted. */
    char *yaml2 = nn_cfg_to_yaml(again);
    assert_string_equal(yaml, yaml2);
    free(yaml);
    free(yaml2);
    nn_cfg_free(again);
    nn_cfg_free(root);
}

static void test_emit_round_trip(void **state)
{
    (void)state;
    assert_round_trip(example);
    assert_round_trip("a: 'yes'\nb: \"1e3\"\nc: 'x: y'\nd: 'a # b'\ne: '#x'\nf: ''\ng: ' pad '\n"
                      "h: \"line1\\nline2\"\ni: '[not, a, list]'\nj: '{no: map}'\nk: '- dash'\n"
                      "l: '~'\nm: 'null'\nn: \"tab\\there\"\no: 'it''s'\np: \"quote \\\" here\"\n"
                      "q: 'x,y'\nr: '*star'\ns: '&amp'\nt: '!bang'\nu: '%pct'\nv: '@at'\n"
                      "w: '`tick'\nx: 'ünïcödé'\ny: '0x1F'\nz: '.inf'\n"
                      "'<<': 'merge'\n'key: colon': 1\n'': empty key\n"
                      "lit: |\n  keep\n   indent\n"
                      "nested: [[1, 2], {a: b}, [], {}]\n"
                      "long: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
                      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb]\n"
                      "inflow: [{a: 'x, y', b: '[c]'}, 'yes', no, ':x']\n");

    /* Strings that would read as something else stay quoted. */
    nn_cfg *root = load("a: 'yes'\nb: \"1e3\"\nc: yes\nd: plain text\ne: 'x: y'\n");
    char *yaml = nn_cfg_to_yaml(root);
    assert_non_null(yaml);
    assert_non_null(strstr(yaml, "a: 'yes'\n"));
    assert_non_null(strstr(yaml, "b: '1e3'\n"));
    assert_non_null(strstr(yaml, "c: yes\n"));
    assert_non_null(strstr(yaml, "d: plain text\n"));
    assert_non_null(strstr(yaml, "e: 'x: y'\n"));
    free(yaml);
    nn_cfg_free(root);

    /* Layers come out on one line each, as configs write them. */
    root = load(example);
    yaml = nn_cfg_to_yaml(root);
    assert_non_null(strstr(yaml, "  input: [1, 28, 28]\n"));
    assert_non_null(
        strstr(yaml, "- {name: res, type: add, inputs: [c2, proj], activation: relu}\n"));
    assert_non_null(strstr(yaml, "  optimizer:\n    type: adam\n    lr: 0.001\n"));
    free(yaml);

    /* Overridden and built trees emit too. */
    assert_int_equal(nn_cfg_set(root, "train.note=a: b", NULL), NN_OK);
    yaml = nn_cfg_to_yaml(root);
    nn_cfg *again = NULL;
    assert_int_equal(nn_cfg_load_string(yaml, "emitted", &again, NULL), NN_OK);
    assert_true(nn_cfg_equal(root, again));
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(again, "train.note.a")), "b");
    free(yaml);
    nn_cfg_free(again);
    nn_cfg_free(root);

    root = nn_cfg_new_map();
    assert_int_equal(nn_cfg_put(root, "text", "a: b # c", NULL), NN_OK);
    assert_int_equal(nn_cfg_put(root, "n", "3", NULL), NN_OK);
    yaml = nn_cfg_to_yaml(root);
    assert_int_equal(nn_cfg_load_string(yaml, "emitted", &again, NULL), NN_OK);
    assert_true(nn_cfg_equal(root, again));
    assert_string_equal(nn_cfg_scalar(nn_cfg_get(again, "text")), "a: b # c");
    free(yaml);
    nn_cfg_free(again);
    nn_cfg_free(root);

    root = nn_cfg_new_map();
    yaml = nn_cfg_to_yaml(root);
    assert_string_equal(yaml, "{}\n");
    free(yaml);
    nn_cfg_free(root);
    assert_null(nn_cfg_to_yaml(NULL));
}

static void test_clone_and_equal(void **state)
{
    (void)state;
    nn_cfg *root = load(example);
    nn_cfg *copy = nn_cfg_clone(root);
    assert_non_null(copy);
    assert_true(copy != root);
    assert_true(nn_cfg_equal(root, copy));
    assert_string_equal(nn_cfg_where(nn_cfg_lookup(copy, "model.layers[6].units")),
                        "cfg.yaml:11:28");
    /* The copy is independent of the original. */
    assert_int_equal(nn_cfg_set(copy, "train.optimizer.lr=0.5", NULL), NN_OK);
    assert_false(nn_cfg_equal(root, copy));
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(root, "train.optimizer.lr")), "0.001");
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(copy, "train.optimizer.lr")), "0.5");
    nn_cfg_free(root);
    assert_string_equal(nn_cfg_scalar(nn_cfg_lookup(copy, "model.layers[0].type")), "conv2d");

    nn_cfg *sub = nn_cfg_clone(nn_cfg_get(copy, "model"));
    assert_int_equal(nn_cfg_size(sub), 2);
    assert_string_equal(nn_cfg_path(nn_cfg_get(sub, "layers")), "model.layers");
    nn_cfg_free(sub);

    nn_cfg *a = load("a: [1, 2]\n"), *b = load("a: [1, 3]\n"), *c = load("b: [1, 2]\n");
    nn_cfg *d = load("a: {x: 1}\n");
    assert_false(nn_cfg_equal(a, b));
    assert_false(nn_cfg_equal(a, c));
    assert_false(nn_cfg_equal(a, d));
    assert_null(nn_cfg_clone(NULL));
    nn_cfg_free(a);
    nn_cfg_free(b);
    nn_cfg_free(c);
    nn_cfg_free(d);
    nn_cfg_free(copy);
}

static void test_set_node(void **state)
{
    (void)state;
    nn_cfg *root = load(example);
    nn_cfg *space = load("values: [{type: sgd, lr: fast}]\n");
    nn_error err = {0};
    assert_int_equal(
        nn_cfg_set_node(root, "train.optimizer", nn_cfg_at(nn_cfg_get(space, "values"), 0), &err),
        NN_OK);
    nn_cfg_free(space);
    double lr;
    assert_int_equal(nn_cfg_read_double(nn_cfg_lookup(root, "train.optimizer"), "lr", 0, &lr, &err),
                     NN_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "cfg.yaml:1:26: train.optimizer.lr: expected a number, got 'fast'");
    nn_cfg_free(root);
}

static void test_check_unread(void **state)
{
    (void)state;
    nn_cfg *root = load("train:\n  epochs: 3\n  optimizer: {type: sgd, lr: 0.1, momentun: 0.9}\n"
                        "  layers: [a, b]\n"
                        "search: {trials: 3}\n");
    nn_error err = {0};
    nn_cfg *train = nn_cfg_get(root, "train"), *opt = nn_cfg_get(train, "optimizer");
    int64_t epochs;
    double x;
    assert_int_equal(nn_cfg_read_int(train, "epochs", 1, &epochs, &err), NN_OK);
    assert_int_equal(nn_cfg_read_double(opt, "lr", 1, &x, &err), NN_OK);
    assert_int_equal(nn_cfg_read_double(opt, "momentum", 0, &x, &err), NN_OK);
    assert_int_equal(nn_cfg_read_string(opt, "type", "sgd", &(const char *){NULL}, &err), NN_OK);
    assert_int_equal(nn_cfg_check_unread(train, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg,
                        "cfg.yaml:3:35: train.optimizer: unknown key 'momentun' (did you mean "
                        "'momentum'?)");
    nn_cfg_mark(nn_cfg_get(opt, "momentun"));
    assert_int_equal(nn_cfg_check_unread(train, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:4:3: train: unknown key 'layers' (valid keys: epochs)");
    nn_cfg *layers = nn_cfg_get(train, "layers");
    for (int i = 0; i < nn_cfg_size(layers); i++)
        assert_non_null(nn_cfg_scalar(nn_cfg_at(layers, i)));
    assert_int_equal(nn_cfg_check_unread(train, &err), NN_OK);
    assert_int_equal(nn_cfg_check_unread(root, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:5:1: unknown key 'search'");
    nn_cfg_mark(nn_cfg_get(root, "search"));
    assert_int_equal(nn_cfg_check_unread(root, &err), NN_OK);
    /* Clones start unmarked. */
    nn_cfg *copy = nn_cfg_clone(root);
    assert_int_equal(nn_cfg_check_unread(copy, &err), NN_ERR_CONFIG);
    assert_string_equal(err.msg, "cfg.yaml:1:1: unknown key 'train'");
    nn_cfg_free(copy);
    nn_cfg_free(root);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/nn_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("seed: 42\ntrain:\n  lr: oops\n", f);
    fclose(f);
    nn_cfg *root = NULL;
    nn_error err = {0};
    assert_int_equal(nn_cfg_load_file(path, &root, &err), NN_OK);
    int64_t seed = 0;
    assert_int_equal(nn_cfg_read_int(root, "seed", 0, &seed, &err), NN_OK);
    assert_int_equal(seed, 42);
    double lr;
    assert_int_equal(nn_cfg_read_double(nn_cfg_get(root, "train"), "lr", 0, &lr, &err),
                     NN_ERR_CONFIG);
    char expect[256];
    snprintf(expect, sizeof expect, "%s:3:7: train.lr: expected a number, got 'oops'", path);
    assert_string_equal(err.msg, expect);
    nn_cfg_free(root);

    /* Invalid UTF-8 is located too. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("a: 1\nb: \xff\n", f);
    fclose(f);
    root = NULL;
    assert_int_equal(nn_cfg_load_file(path, &root, &err), NN_ERR_CONFIG);
    assert_null(root);
    snprintf(expect, sizeof expect, "%s:2:4: YAML syntax error: invalid leading UTF-8 octet", path);
    assert_string_equal(err.msg, expect);
    unlink(path);
}

/* Found by fuzzing (tests/fuzz/corpus/config/bug-set-message-with-newlines): an assignment
 * with line breaks was quoted as is, and its error spread over several lines. */
static void test_set_error_is_one_line(void **state)
{
    (void)state;
    nn_cfg *root = load("train:\n  epochs: 3\n");
    nn_error err = {0};
    assert_int_equal(nn_cfg_set(root, "train\ntrain=[\n  1", &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "--set train train"));
    assert_null(strchr(err.msg, '\n'));
    nn_cfg_free(root);
}

/* Found by fuzzing (tests/fuzz/corpus/config/bug-set-key-beyond-unicode): a --set key is not
 * read by the YAML parser, and one holding bytes YAML refuses (here a four-byte form of a
 * code point above U+10FFFF) was set, then emitted as an escape the parser refused when the
 * run's config.yaml was read back. Such keys are refused; valid UTF-8 keys still work. */
static void test_set_key_must_be_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {"\xf6\x8c\x9a\x9f=1", "a\xed\xa0\x80=1", "\xc0\xaf=1",
                                      "a\x80=1", "\xe2\x82=1"};
    nn_cfg *root = load("train:\n  epochs: 3\n");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nn_error err = {0};
        assert_int_equal(nn_cfg_set(root, bad[i], &err), NN_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "the key is not valid UTF-8 text"));
    }
    nn_error err = {0};
    assert_int_equal(nn_cfg_set(root, "train.\xc3\xa9tape=2", &err), NN_OK);
    char *yaml = nn_cfg_to_yaml(root);
    assert_non_null(yaml);
    nn_cfg *again = NULL;
    assert_int_equal(nn_cfg_load_string(yaml, "emitted", &again, &err), NN_OK);
    assert_true(nn_cfg_equal(root, again));
    nn_cfg_free(again);
    free(yaml);
    nn_cfg_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_nested_and_flow),
        cmocka_unit_test(test_block_style_and_empty),
        cmocka_unit_test(test_paths_and_locations),
        cmocka_unit_test(test_read_numbers),
        cmocka_unit_test(test_read_ints_and_bools),
        cmocka_unit_test(test_read_errors_name_location),
        cmocka_unit_test(test_unknown_key_suggestion),
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_override_errors),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_anchors_and_merge),
        cmocka_unit_test(test_emit_round_trip),
        cmocka_unit_test(test_clone_and_equal),
        cmocka_unit_test(test_set_node),
        cmocka_unit_test(test_check_unread),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_set_error_is_one_line),
        cmocka_unit_test(test_set_key_must_be_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

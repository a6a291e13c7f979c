/* The catalogue rows (config/catalogue.h): every layer type, activation, loss, schedule and
 * initializer of the tables has a help line and a name of its own, and every key a layer
 * type accepts is named in its row (the rows of the other catalogues are generated from the
 * same parameter lists that their readers use). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config/catalogue.h"
#include "layers/registry.h"
#include "model/init_internal.h"
#include "model_fixture.h"
#include "nn/layer.h"
#include "train/loss_internal.h"
#include "train/sched_internal.h"

enum { MAX_ROWS = 128 };

typedef struct row_list {
    int count;
    char names[MAX_ROWS][64];
    int bad; /* rows without help, or without a name */
} row_list;

static void collect(const nni_catalogue_row *row, void *ctx)
{
    row_list *list = ctx;
    if (!row->name || !row->name[0] || !row->help || !row->help[0] || !row->params) {
        print_error("row '%s' lacks its name, params or help\n", row->name ? row->name : "");
        list->bad++;
    }
    if (list->count < MAX_ROWS)
        snprintf(list->names[list->count++], sizeof list->names[0], "%s", row->name);
}

static void check_catalogue(const char *what, void (*catalogue)(nni_catalogue_emit, void *))
{
    row_list list = {0};
    catalogue(collect, &list);
    if (list.count < 2 || list.bad)
        fail_msg("%s: %d rows, %d incomplete", what, list.count, list.bad);
    for (int i = 0; i < list.count; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(list.names[i], list.names[j]) == 0)
                fail_msg("%s: '%s' listed twice", what, list.names[i]);
}

static void test_rows_complete_and_unique(void **state)
{
    (void)state;
    check_catalogue("layer types", nni_layer_catalogue);
    check_catalogue("activations", nni_activation_catalogue);
    check_catalogue("losses", nni_loss_catalogue);
    check_catalogue("schedules", nni_sched_catalogue);
    check_catalogue("initializers", nni_init_catalogue);
}

static void check_layer_keys(const nni_catalogue_row *row, void *ctx)
{
    int *missing = ctx;
    const nn_layer_ops *ops = nni_layer_find(row->name);
    if (!ops) {
        print_error("layer type '%s' of the catalogue is not found by name\n", row->name);
        (*missing)++;
        return;
    }
    for (const char *const *key = ops->keys; key && *key; key++)
        if (!fixture_mentions(row->params, *key)) {
            print_error("layer type '%s': its help does not name key '%s'\n", row->name, *key);
            (*missing)++;
        }
}

static void test_layer_rows_name_their_keys(void **state)
{
    (void)state;
    int missing = 0;
    nni_layer_catalogue(check_layer_keys, &missing);
    assert_int_equal(missing, 0);
}

/* The parameter reader: defaults, types, ranges, unknown keys, and the help text. */
static void test_generated_params(void **state)
{
    (void)state;
    typedef struct settings {
        double rate;
        int64_t count;
        int on;
        float small;
    } settings;
    static const nni_param params[] = {
        {"rate", NNI_PARAM_NUMBER, 0.5, offsetof(settings, rate), NNI_RANGE_POSITIVE, NULL},
        {"count", NNI_PARAM_INT, 3, offsetof(settings, count), NNI_RANGE_AT_LEAST_ONE, NULL},
        {"on", NNI_PARAM_BOOL, 1, offsetof(settings, on), NNI_RANGE_ANY, NULL},
        {"small", NNI_PARAM_FLOAT, 0.25, offsetof(settings, small), NNI_RANGE_UNIT_OPEN, NULL},
        {"list", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "[one per output]"},
        {NULL}};
    char text[256];
    nni_params_describe(params, text, sizeof text);
    assert_string_equal(text, "rate=0.5 count=3 on=true small=0.25 list=[one per output]");

    settings s = {0};
    nn_error err = {0};
    assert_int_equal(nni_params_read(NULL, params, &s, &err), NN_OK);
    assert_true(s.rate == 0.5 && s.count == 3 && s.on == 1 && s.small == 0.25f);

    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{rate: 2, count: 7, on: false, small: 0.5, list: [1]}", NULL},
        {"{rate: 0}", "rate must be > 0, got 0"},
        {"{rate: .inf}", "rate must be a finite number"},
        {"{count: 0}", "count must be >= 1, got 0"},
        {"{count: 1.5}", "expected an integer"},
        {"{on: maybe}", "expected true or false"},
        {"{small: 1}", "small must be in [0, 1), got 1"},
        {"{rte: 1}", "unknown key 'rte' (did you mean 'rate'?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_cfg *map = NULL;
        assert_int_equal(nn_cfg_load_string(cases[i].yaml, "t.yaml", &map, &err), NN_OK);
        static const char *const common[] = {"type", NULL};
        nn_status st = nni_params_check_keys(map, common, params, NULL, &err);
        if (!st)
            st = nni_params_read(map, params, &s, &err);
        if (cases[i].expect ? st != NN_ERR_CONFIG || !strstr(err.msg, cases[i].expect) : st)
            fail_msg("%s: status %d, '%s'", cases[i].yaml, st, err.msg);
        nn_cfg_free(map);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_complete_and_unique),
        cmocka_unit_test(test_layer_rows_name_their_keys),
        cmocka_unit_test(test_generated_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

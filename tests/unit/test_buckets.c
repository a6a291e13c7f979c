/* Gradient buckets: whole layers, from the output end of the gradient buffer, about the
 * configured size each (a quarter of the model by default), layers larger than 16 MiB cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/model_internal.h"
#include "model_fixture.h"
#include "parallel/grad_sync.h"

static const char mlp[] = "{input: [784], layers: [{name: fc1, type: dense, units: 256},"
                          " {name: fc2, type: dense, units: 128},"
                          " {name: fc3, type: dense, units: 64},"
                          " {name: fc4, type: dense, units: 10}]}";

/* Lowest gradient offset of the named layer's parameters. */
static int64_t layer_start(const nn_model *model, const char *name)
{
    for (int i = 0; i < model->n_layers; i++)
        if (!strcmp(model->layers[i]->name, name))
            return model->params[model->layers[i]->param_ids[0]].offset;
    fail_msg("no layer %s", name);
    return -1;
}

/* Buckets of `model` at `bucket_bytes`; checks they tile [0, total) from the end. */
static nni_grad_sync *buckets_of(nn_model *model, int64_t bucket_bytes)
{
    static const nn_comm single = {.size = 1, .world_size = 1};
    nni_grad_sync *sync = NULL;
    nn_error err = {0};
    assert_int_equal(nni_grad_sync_create(&single, model, bucket_bytes, 1,
                                          NN_GRAD_TRANSPORT_AUTO, 60, &sync, &err),
                     NN_OK);
    int64_t expect_end = model->n_param_floats + NN_GRAD_ROOM;
    for (int b = 0; b < nni_grad_sync_bucket_count(sync); b++) {
        int64_t start, end;
        nni_grad_sync_bucket_range(sync, b, &start, &end);
        assert_int_equal(end, expect_end);
        assert_true(start < end);
        expect_end = start;
    }
    assert_int_equal(expect_end, 0);
    return sync;
}

static void assert_bucket(const nni_grad_sync *sync, int b, int64_t start, int64_t end)
{
    int64_t s, e;
    nni_grad_sync_bucket_range(sync, b, &s, &e);
    assert_int_equal(s, start);
    assert_int_equal(e, end);
}

static void test_default_is_a_quarter_of_the_model(void **state)
{
    (void)state;
    nn_model *model = fixture_model(mlp, 4, 1);
    assert_non_null(model);
    /* fc2..fc4 (0.16 MiB) fit in a quarter of the model; fc1 (0.77 MiB) is alone. */
    nni_grad_sync *sync = buckets_of(model, 0);
    assert_int_equal(nni_grad_sync_bucket_count(sync), 2);
    const int64_t total = model->n_param_floats + NN_GRAD_ROOM;
    assert_bucket(sync, 0, layer_start(model, "fc2"), total);
    assert_bucket(sync, 1, 0, layer_start(model, "fc2"));
    nni_grad_sync_free(sync);
    nn_model_free(model);
}

static void test_explicit_size(void **state)
{
    (void)state;
    nn_model *model = fixture_model(mlp, 4, 1);
    assert_non_null(model);
    const int64_t total = model->n_param_floats + NN_GRAD_ROOM;
    /* 0.05 MiB: fc3 + fc4 (35 KiB) fit, fc2 (129 KiB) and fc1 are buckets of their own. */
    nni_grad_sync *sync = buckets_of(model, 52429);
    assert_int_equal(nni_grad_sync_bucket_count(sync), 3);
    assert_bucket(sync, 0, layer_start(model, "fc3"), total);
    assert_bucket(sync, 1, layer_start(model, "fc2"), layer_start(model, "fc3"));
    assert_bucket(sync, 2, 0, layer_start(model, "fc2"));
    nni_grad_sync_free(sync);
    /* 16 MiB: everything in one. */
    sync = buckets_of(model, (int64_t)16 << 20);
    assert_int_equal(nni_grad_sync_bucket_count(sync), 1);
    nni_grad_sync_free(sync);
    nn_model_free(model);
}

static void test_huge_layer_is_cut(void **state)
{
    (void)state;
    /* 4500 x 1000 weights: 17.2 MiB, more than one allreduce message should carry. */
    nn_model *model = fixture_model("{input: [4500], layers: [{type: dense, units: 1000},"
                                    " {name: out, type: dense, units: 2}]}", 1, 1);
    assert_non_null(model);
    nni_grad_sync *sync = buckets_of(model, 0);
    const int64_t max_floats = ((int64_t)16 << 20) / 4;
    const int64_t out_start = layer_start(model, "out");
    const int64_t total = model->n_param_floats + NN_GRAD_ROOM;
    assert_int_equal(nni_grad_sync_bucket_count(sync), 3);
    assert_bucket(sync, 0, out_start, total);
    assert_bucket(sync, 1, out_start - max_floats, out_start);
    assert_bucket(sync, 2, 0, out_start - max_floats);
    nni_grad_sync_free(sync);
    nn_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_a_quarter_of_the_model),
        cmocka_unit_test(test_explicit_size),
        cmocka_unit_test(test_huge_layer_is_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

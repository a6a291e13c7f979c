/* Optimizer updates against values computed by hand from the update rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "nn/config.h"
#include "train/optim_internal.h"

/* A model with one weight tensor of 2 values: dense 2 -> 1 without bias. */
static nn_model *two_weights(void)
{
    nn_model *model = fixture_model("{input: [2], layers: [{type: dense, units: 1, bias: false}]}",
                                    1, 1);
    assert_non_null(model);
    return model;
}

static nn_optim *make_optim(const char *yaml, nn_model *model)
{
    nn_optim *opt = fixture_optim(yaml, model);
    assert_non_null(opt);
    return opt;
}

/* Runs `steps` updates with gradient g = (0.5, -1) each step from w = (1, 2). */
static void run(const char *yaml, int steps, double lr, float *w_out)
{
    nn_model *model = two_weights();
    nn_optim *opt = make_optim(yaml, model);
    model->param_data[0] = 1.0f;
    model->param_data[1] = 2.0f;
    for (int s = 0; s < steps; s++) {
        model->grad_data[0] = 0.5f;
        model->grad_data[1] = -1.0f;
        nn_optim_step(opt, model, lr);
    }
    w_out[0] = model->param_data[0];
    w_out[1] = model->param_data[1];
    nn_optim_free(opt);
    nn_model_free(model);
}

static void test_sgd(void **state)
{
    (void)state;
    float w[2];
    run("{type: sgd, lr: 0.1}", 3, 0.1, w);
    assert_float_equal(w[0], 1 - 3 * 0.1 * 0.5, 1e-6);
    assert_float_equal(w[1], 2 + 3 * 0.1, 1e-6);
    /* L2: g + wd w; one step */
    run("{type: sgd, lr: 0.1, weight_decay: 0.5}", 1, 0.1, w);
    assert_float_equal(w[0], 1 - 0.1 * (0.5 + 0.5 * 1), 1e-6);
    /* L1: g + l1 sign(w) */
    run("{type: sgd, lr: 0.1, l1: 0.2}", 1, 0.1, w);
    assert_float_equal(w[1], 2 - 0.1 * (-1 + 0.2), 1e-6);
}

static void test_momentum_forms(void **state)
{
    (void)state;
    float w[2];
    /* classic: v1 = g, v2 = 0.9 g + g = 1.9 g, v3 = 0.9*1.9 g + g = 2.71 g */
    run("{type: momentum, lr: 0.1, momentum: 0.9}", 3, 0.1, w);
    assert_float_equal(w[0], 1 - 0.1 * 0.5 * (1 + 1.9 + 2.71), 1e-5);
    /* ema: v1 = 0.1 g, v2 = 0.19 g, v3 = 0.271 g */
    run("{type: momentum, lr: 0.1, momentum: 0.9, form: ema}", 3, 0.1, w);
    assert_float_equal(w[0], 1 - 0.1 * 0.5 * (0.1 + 0.19 + 0.271), 1e-5);
    /* nesterov: step direction g + m v: (1.9, 2.71, 3.439) g */
    run("{type: nesterov, lr: 0.1, momentum: 0.9}", 3, 0.1, w);
    assert_float_equal(w[0], 1 - 0.1 * 0.5 * (1.9 + 2.71 + 3.439), 1e-5);
}

static void test_adam(void **state)
{
    (void)state;
    float w[2];
    /* With a constant gradient, bias-corrected m = g and v = g^2 every step: each step
     * moves by lr * g / (|g| + eps') = lr * sign(g) (up to eps). */
    run("{type: adam, lr: 0.01}", 4, 0.01, w);
    assert_float_equal(w[0], 1 - 4 * 0.01, 1e-5);
    assert_float_equal(w[1], 2 + 4 * 0.01, 1e-5);
    /* AdamW decays first: w = w (1 - lr wd) then the Adam step. */
    run("{type: adamw, lr: 0.01, weight_decay: 0.1}", 1, 0.01, w);
    assert_float_equal(w[0], 1 * (1 - 0.01 * 0.1) - 0.01, 1e-5);
}

static void test_rmsprop_adagrad(void **state)
{
    (void)state;
    float w[2];
    /* rmsprop step 1: v = 0.01 g^2, step = lr g / (0.1 |g| + eps) = 10 lr sign(g) */
    run("{type: rmsprop, lr: 0.001, alpha: 0.99}", 1, 0.001, w);
    assert_float_equal(w[0], 1 - 0.01, 1e-5);
    /* adagrad: sum_t = t g^2, step_t = lr g / (sqrt(t) |g|) */
    run("{type: adagrad, lr: 0.1}", 2, 0.1, w);
    assert_float_equal(w[0], 1 - 0.1 * (1 + 1 / sqrt(2.0)), 1e-5);
}

static void test_lars(void **state)
{
    (void)state;
    float w[2];
    /* ratio = trust ||w|| / ||g|| = 0.001 * sqrt(5) / sqrt(1.25) = 0.002 */
    run("{type: lars, lr: 1.0, momentum: 0.0, trust: 0.001, eps: 1.0e-12}", 1, 1.0, w);
    assert_float_equal(w[0], 1 - 0.002 * 0.5, 1e-6);
    assert_float_equal(w[1], 2 + 0.002 * 1.0, 1e-6);
}

/* Frozen parameters (trainable: false, or everything but normalization layers with
 * train_only_batchnorm) keep their values under every optimizer, weight decay and L1
 * included; the others move. */
static void test_frozen_parameters(void **state)
{
    (void)state;
    static const char *const optimizers[] = {
        "{type: sgd, weight_decay: 0.1, l1: 0.01}", "{type: momentum, weight_decay: 0.1}",
        "{type: nesterov}", "{type: adam, weight_decay: 0.1}", "{type: adamw, l1: 0.01}",
        "{type: rmsprop, centered: true}", "{type: adagrad}", "{type: lars, weight_decay: 0.1}",
    };
    for (size_t o = 0; o < sizeof optimizers / sizeof optimizers[0]; o++) {
        nn_model *model = fixture_model("{input: [3], layers: ["
                                        "{name: a, type: dense, units: 4, trainable: false},"
                                        "{name: b, type: dense, units: 2}]}", 1, 1);
        assert_non_null(model);
        nn_optim *opt = make_optim(optimizers[o], model);
        float before[256];
        assert_true(model->n_param_floats <= 256);
        memcpy(before, model->param_data, sizeof(float) * (size_t)model->n_param_floats);
        for (int step = 0; step < 3; step++) {
            for (int64_t i = 0; i < model->n_param_floats; i++)
                model->grad_data[i] = 0.5f - 0.1f * (float)(i % 7);
            nn_optim_step(opt, model, 0.1);
        }
        for (int k = 0; k < model->n_params; k++) {
            const nn_param *p = &model->params[k];
            int same = memcmp(before + p->offset, model->param_data + p->offset,
                              sizeof(float) * (size_t)p->size) == 0;
            if (same != p->frozen || p->frozen != (p->layer->name[0] == 'a'))
                fail_msg("%s: %s %s", optimizers[o], p->name,
                         p->frozen ? "changed although frozen" : "did not train");
        }
        nn_optim_free(opt);
        nn_model_free(model);
    }
    /* Without normalization layers, train_only_batchnorm leaves nothing to train. */
    nn_model *model = fixture_model("{input: [3], train_only_batchnorm: true, layers: ["
                                    "{type: dense, units: 4}, {type: prelu}]}", 1, 1);
    assert_non_null(model);
    assert_int_equal(nn_model_count_trainable(model), 0);
    assert_int_equal(nn_model_count_params(model), 16 + 4);
    nn_model_free(model);
}

/* Two "ranks" sharing one copy of the parameters and slots, each updating its range, give
 * the same bits as one whole update, for every optimizer; the slots come back whole. */
static void test_split_update(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int whole_tensors;
    } cases[] = {
        {"{type: sgd, weight_decay: 0.1, l1: 0.01}", 0},
        {"{type: momentum, momentum: 0.8, dampening: 0.1}", 0},
        {"{type: nesterov, weight_decay: 0.01}", 0},
        {"{type: adam, amsgrad: true, weight_decay: 0.1}", 0},
        {"{type: adamw, decay_exempt_bias_and_norm: true}", 0},
        {"{type: rmsprop, centered: true, momentum: 0.5}", 0},
        {"{type: adagrad, initial_accumulator_value: 0.1, lr_decay: 0.01}", 0},
        {"{type: lars, weight_decay: 0.1}", 1},
    };
    const char *layers = "{input: [5], layers: [{type: dense, units: 7}, {type: dense, units: 3}]}";
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_model *whole = fixture_model(layers, 1, 3), *split = fixture_model(layers, 1, 3);
        assert_non_null(whole);
        assert_non_null(split);
        nn_optim *reference = make_optim(cases[c].yaml, whole);
        nn_optim *first = make_optim(cases[c].yaml, split);
        nn_optim *second = make_optim(cases[c].yaml, split);
        assert_int_equal(nni_optim_whole_tensors(first), cases[c].whole_tensors);
        const int64_t n = split->n_param_floats;
        /* Inside the first weight tensor, or where the second tensor starts. */
        const int64_t cut = cases[c].whole_tensors ? split->params[1].offset : 13;
        const int slots = nni_optim_slot_count(first);
        const size_t stride = nni_optim_slot_stride(n);
        char *block = aligned_alloc(4096, stride * (size_t)(slots ? slots : 1));
        assert_non_null(block);
        memset(block, 0, stride * (size_t)(slots ? slots : 1));
        float *memory[NN_MAX_OPTIM_SLOTS];
        for (int k = 0; k < slots; k++)
            memory[k] = (float *)(block + stride * (size_t)k + NN_OPTIM_SLOT_PAGE_OFFSET(k));
        nni_optim_use_slots(first, memory);
        nni_optim_use_slots(second, memory);
        for (int step = 0; step < 4; step++) {
            for (int64_t i = 0; i < n; i++)
                whole->grad_data[i] = split->grad_data[i] =
                    0.3f - 0.07f * (float)(i % 9) * (float)(step + 1);
            nn_optim_step(reference, whole, 0.05);
            nni_optim_step_range(first, split, 0.05, 0, cut);
            nni_optim_step_range(second, split, 0.05, cut, n);
        }
        if (memcmp(whole->param_data, split->param_data, (size_t)n * sizeof(float)) != 0)
            fail_msg("%s: split update differs", cases[c].yaml);
        nni_optim_use_slots(first, NULL);
        for (int k = 0; k < slots; k++)
            if (memcmp(nni_optim_slot(reference, k), nni_optim_slot(first, k),
                       (size_t)n * sizeof(float)) != 0)
                fail_msg("%s: slot %s differs", cases[c].yaml, nni_optim_slot_name(first, k));
        nni_optim_use_slots(second, NULL);
        free(block);
        nn_optim_free(reference);
        nn_optim_free(first);
        nn_optim_free(second);
        nn_model_free(whole);
        nn_model_free(split);
    }
}

static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{type: adam, lr: -1}", "lr must be > 0"},
        {"{type: adamm}", "did you mean 'adam'"},
        {"{type: sgd, momentum: 0.9}", "momentum"},
        {"{type: momentum, momentum: 1.5}", "momentum must be in [0, 1)"},
        {"{type: momentum, form: fancy}", "classic"},
    };
    nn_model *model = two_weights();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_cfg *cfg = NULL;
        nn_error err = {0};
        nn_optim *opt = NULL;
        assert_int_equal(nn_cfg_parse_value(cases[i].yaml, "opt.yaml", &cfg, &err), NN_OK);
        nn_status st = nn_optim_build(cfg, model, &opt, &err);
        if (st != NN_ERR_CONFIG || !strstr(err.msg, cases[i].expect))
            fail_msg("'%s': status %d, message '%s'", cases[i].yaml, st, err.msg);
        nn_cfg_free(cfg);
    }
    nn_model_free(model);
}

/* Every row of the catalogue builds under its name with its shown defaults, says what it
 * computes, and an unknown name's error lists the rows' names. */
typedef struct catalogue_rows {
    int count;
    char names[512];
} catalogue_rows;

static void check_row(const nni_catalogue_row *row, void *ctx)
{
    catalogue_rows *rows = ctx;
    rows->count++;
    size_t used = strlen(rows->names);
    snprintf(rows->names + used, sizeof rows->names - used, "%s%s", used ? ", " : "", row->name);
    assert_true(strlen(row->help) > 8);
    assert_true(strncmp(row->params, "lr=", 3) == 0);
    nn_model *model = two_weights();
    char yaml[128];
    snprintf(yaml, sizeof yaml, "{type: %s}", row->name);
    nn_optim *opt = make_optim(yaml, model);
    assert_string_equal(nn_optim_name(opt), row->name);
    /* The shown default of lr is the one the optimizer uses. */
    assert_true(fabs(nn_optim_base_lr(opt) - strtod(row->params + 3, NULL)) < 1e-12);
    nn_optim_free(opt);
    nn_model_free(model);
}

static void test_catalogue_rows(void **state)
{
    (void)state;
    catalogue_rows rows = {0};
    nni_optim_catalogue(check_row, &rows);
    assert_true(rows.count >= 8);
    nn_model *model = two_weights();
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_optim *opt = NULL;
    assert_int_equal(nn_cfg_parse_value("{type: nope}", "opt.yaml", &cfg, &err), NN_OK);
    assert_int_equal(nn_optim_build(cfg, model, &opt, &err), NN_ERR_CONFIG);
    char valid[600];
    snprintf(valid, sizeof valid, "valid: %s", rows.names);
    if (!strstr(err.msg, valid))
        fail_msg("'%s' does not list '%s'", err.msg, valid);
    nn_cfg_free(cfg);
    nn_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_momentum_forms),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_rmsprop_adagrad),
        cmocka_unit_test(test_lars),
        cmocka_unit_test(test_frozen_parameters),
        cmocka_unit_test(test_split_update),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_catalogue_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Epoch windows (`epochs: [a, b]`, config/epoch_window.h): the window is read as [first,
 * end) epochs counted from 0 and bad ones are one config error at the key; inside its window
 * an augmentation changes the batch and outside it leaves the batch exactly as if it were
 * absent (also per option, beside options that are always on); a windowed dropout layer is
 * the identity outside its epochs; weight decay shrinks the weights only in the epochs of
 * `decay_epochs`. The blur itself: a constant image stays constant away from the border, mass
 * is kept inside, and it is symmetric (its PyTorch reference is tests/ref/test_blur_ref.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/epoch_window.h"
#include "data/augment.h"
#include "model/model_internal.h"
#include "model_fixture.h"
#include "nn/config.h"
#include "train/optim_internal.h"

enum { C = 1, H = 12, W = 10, SIZE = C * H * W, ROWS = 16 };

static nn_status read_window(const char *yaml, nni_epoch_window *w, nn_error *err)
{
    nn_cfg *cfg = NULL;
    assert_int_equal(nn_cfg_parse_value(yaml, "w.yaml", &cfg, err), NN_OK);
    nn_status st = nni_epoch_window_read(cfg, "epochs", nni_epoch_window_always(), w, err);
    nn_cfg_free(cfg);
    return st;
}

static void test_read(void **state)
{
    (void)state;
    nni_epoch_window w;
    nn_error err = {0};
    assert_int_equal(read_window("{epochs: [2, 5]}", &w, &err), NN_OK);
    assert_false(nni_epoch_window_contains(w, 1));
    assert_true(nni_epoch_window_contains(w, 2));
    assert_true(nni_epoch_window_contains(w, 4));
    assert_false(nni_epoch_window_contains(w, 5));
    assert_int_equal(read_window("{epochs: [3, 3]}", &w, &err), NN_OK);
    assert_true(nni_epoch_window_empty(w));
    for (int e = 0; e < 10; e++)
        assert_false(nni_epoch_window_contains(w, e));
    assert_int_equal(read_window("{other: 1}", &w, &err), NN_OK);
    assert_true(nni_epoch_window_contains(w, 0) && nni_epoch_window_contains(w, 1000000));

    const char *bad[][2] = {
        {"{epochs: [5, 2]}", "[5, 2) is not an epoch window"},
        {"{epochs: [-1, 2]}", "[-1, 2) is not an epoch window"},
        {"{epochs: [0.5, 2]}", "expected [first, end) as two whole epoch numbers"},
        {"{epochs: [1, 2, 3]}", "expected [first, end)"},
        {"{epochs: 3}", "expected [first, end)"},
        {"{epochs: [a, 2]}", "expected [first, end)"},
        {"{epochs: {first: 1}}", "expected [first, end)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(read_window(bad[i][0], &w, &err), NN_ERR_CONFIG);
        if (!strstr(err.msg, bad[i][1]) || !strstr(err.msg, "epochs") || strchr(err.msg, '\n'))
            fail_msg("%s: %s", bad[i][0], err.msg);
    }
}

static nni_augment make(const char *yaml)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nni_augment aug;
    assert_int_equal(nn_cfg_parse_value(yaml, "augment.yaml", &cfg, &err), NN_OK);
    if (nni_augment_parse(cfg, nn_shape_3d(C, H, W), &aug, &err))
        fail_msg("%s: %s", yaml, err.msg);
    nn_cfg_free(cfg);
    return aug;
}

static int64_t ids[ROWS];

static void fill(float *x)
{
    for (int64_t i = 0; i < ROWS * SIZE; i++)
        x[i] = (float)((i * 37) % 11) - 3.0f;
}

/* out = the batch augmented with `yaml` at `epoch`. */
static void augmented(const char *yaml, uint32_t epoch, float *out)
{
    fill(out);
    nni_augment aug = make(yaml);
    nni_augment_batch(&aug, out, ROWS, ids, 9, epoch);
    nni_augment_free(&aug);
}

static void test_augment_windows(void **state)
{
    (void)state;
    static float plain[ROWS * SIZE], got[ROWS * SIZE], always[ROWS * SIZE];
    fill(plain);
    /* The block window: every option on in epochs 2 and 3 only. */
    const char *block = "{shift: 2, flip: true, rotate: 10, blur: 1.0, noise: 0.1, "
                        "epochs: [2, 4]}";
    const char *all = "{shift: 2, flip: true, rotate: 10, blur: 1.0, noise: 0.1}";
    for (uint32_t e = 0; e < 6; e++) {
        augmented(block, e, got);
        augmented(all, e, always);
        if (e == 2 || e == 3)
            assert_memory_equal(got, always, sizeof got);
        else
            assert_memory_equal(got, plain, sizeof got);
        assert_true(memcmp(always, plain, sizeof got) != 0);
    }
    /* An empty window is no augmentation in any epoch. */
    for (uint32_t e = 0; e < 4; e++) {
        augmented("{blur: 2.0, noise: 0.5, epochs: [1, 1]}", e, got);
        assert_memory_equal(got, plain, sizeof got);
    }
    /* One option with a window of its own beside one that is always on: outside the window
     * the batch is the one without that option (no draws are spent on it). */
    static float flip_only[ROWS * SIZE], flip_blur[ROWS * SIZE];
    for (uint32_t e = 0; e < 5; e++) {
        augmented("{flip: true, shift: {value: 1, epochs: [1, 3]}, blur: {value: 0.8, "
                  "epochs: [1, 3]}}", e, got);
        augmented("{flip: true}", e, flip_only);
        augmented("{flip: true, shift: 1, blur: 0.8}", e, flip_blur);
        assert_memory_equal(got, e >= 1 && e < 3 ? flip_blur : flip_only, sizeof got);
        assert_true(memcmp(flip_only, flip_blur, sizeof got) != 0);
    }
    /* The option's own window wins over the block's. */
    for (uint32_t e = 0; e < 5; e++) {
        augmented("{noise: {value: 0.3, epochs: [0, 1]}, blur: 1.5, epochs: [3, 4]}", e, got);
        if (e == 0)
            augmented("{noise: 0.3}", e, always);
        else if (e == 3)
            augmented("{blur: 1.5}", e, always);
        else
            fill(always);
        assert_memory_equal(got, always, sizeof got);
    }
}

static void test_augment_bad(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"{blur: 1, epochs: [4, 2]}", "is not an epoch window"},
        {"{blur: {value: 1, epochs: [-3, 2]}}", "is not an epoch window"},
        {"{blur: {value: 1, epochs: [1.5, 2]}}", "two whole epoch numbers"},
        {"{blur: {epochs: [1, 2]}}", "expected {value: V, epochs"},
        {"{blur: {value: 1, epoch: [1, 2]}}", "unknown key 'epoch'"},
        {"{blur: -1}", "standard deviation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_cfg *cfg = NULL;
        nn_error err = {0};
        nni_augment aug;
        assert_int_equal(nn_cfg_parse_value(bad[i][0], "augment.yaml", &cfg, &err), NN_OK);
        assert_int_equal(nni_augment_parse(cfg, nn_shape_3d(C, H, W), &aug, &err),
                         NN_ERR_CONFIG);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], err.msg);
        nn_cfg_free(cfg);
    }
    /* Blur needs images. */
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nni_augment aug;
    assert_int_equal(nn_cfg_parse_value("{blur: 1}", "augment.yaml", &cfg, &err), NN_OK);
    assert_int_equal(nni_augment_parse(cfg, nn_shape_1d(20), &aug, &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "needs image samples"));
    nn_cfg_free(cfg);
}

static void test_blur_properties(void **state)
{
    (void)state;
    nni_augment aug = make("{blur: 1.2}");
    assert_int_equal(aug.blur_radius, 4);
    /* A constant image stays constant where the kernel fits inside. */
    static float x[SIZE];
    for (int i = 0; i < SIZE; i++)
        x[i] = 2.5f;
    int64_t id = 0;
    nni_augment_batch(&aug, x, 1, &id, 1, 0);
    for (int64_t y = 4; y < H - 4; y++)
        for (int64_t c = 4; c < W - 4; c++)
            assert_float_equal(x[y * W + c], 2.5f, 1e-5f);
    assert_true(x[0] < 2.0f); /* zero fill darkens the corner */
    /* A point in the middle spreads symmetrically and keeps its mass. */
    memset(x, 0, sizeof x);
    x[6 * W + 5] = 1.0f;
    nni_augment_batch(&aug, x, 1, &id, 1, 0);
    double mass = 0;
    for (int i = 0; i < SIZE; i++)
        mass += x[i];
    assert_float_equal(mass, 1.0, 1e-5);
    assert_float_equal(x[6 * W + 4], x[6 * W + 6], 1e-7f);
    assert_float_equal(x[5 * W + 5], x[7 * W + 5], 1e-7f);
    assert_float_equal(x[5 * W + 5], x[6 * W + 4], 1e-7f);
    double g1 = exp(-1 / (2 * 1.2 * 1.2)), norm = 0;
    for (int k = -4; k <= 4; k++)
        norm += exp(-(double)(k * k) / (2 * 1.2 * 1.2));
    assert_float_equal(x[6 * W + 5], 1 / (norm * norm), 1e-6);
    assert_float_equal(x[6 * W + 6], g1 / (norm * norm), 1e-6);
    nni_augment_free(&aug);
}

static const char *const dropout_model =
    "input: [40]\n"
    "layers:\n"
    "  - {name: drop, type: dropout, p: 0.5, epochs: [1, 3]}\n";

static void test_dropout_window(void **state)
{
    (void)state;
    nn_model *model = fixture_model(dropout_model, 4, 3);
    assert_non_null(model);
    int64_t sample_ids[4] = {0, 1, 2, 3};
    float *x = nn_model_input(model);
    for (int i = 0; i < 160; i++)
        x[i] = 1.0f + (float)i;
    for (uint32_t e = 0; e < 5; e++) {
        nn_pass pass = {.batch = 4, .training = 1, .seed = 7, .epoch = e,
                        .sample_ids = sample_ids};
        nn_model_forward(model, &pass);
        int zeros = 0;
        for (int i = 0; i < 160; i++)
            zeros += model->output->out[i] == 0.0f;
        if (e >= 1 && e < 3)
            assert_true(zeros > 40 && zeros < 120);
        else
            assert_memory_equal(model->output->out, x, 160 * sizeof(float));
    }
    nn_model_free(model);
    assert_true(fixture_config_error("input: [4]\nlayers:\n  - {type: dropout, epochs: [2, 1]}\n",
                                     "is not an epoch window"));
}

/* Plain SGD with zero gradients: each step multiplies the weights by 1 - lr wd inside
 * decay_epochs and leaves them alone outside. */
static void test_decay_window(void **state)
{
    (void)state;
    nn_model *model = fixture_model("input: [3]\nlayers:\n  - {type: dense, units: 2}\n", 1, 3);
    assert_non_null(model);
    nn_optim *opt = fixture_optim("{type: sgd, lr: 0.1, weight_decay: 0.5, "
                                  "decay_epochs: [1, 2]}", model);
    assert_non_null(opt);
    const int64_t n = model->n_param_floats;
    float *before = malloc((size_t)n * sizeof *before);
    for (int e = 0; e < 4; e++) {
        nni_optim_set_epoch(opt, e);
        memset(model->grad_data, 0, (size_t)n * sizeof(float));
        memcpy(before, model->param_data, (size_t)n * sizeof *before);
        nn_optim_step(opt, model, 0.1);
        for (int64_t i = 0; i < n; i++) {
            float want = e == 1 ? before[i] - 0.1f * 0.5f * before[i] : before[i];
            assert_float_equal(model->param_data[i], want, 1e-6f);
        }
    }
    free(before);
    nn_optim_free(opt);
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    assert_int_equal(nn_cfg_parse_value("{type: adamw, decay_epochs: [3, 1]}", "o.yaml", &cfg,
                                        &err), NN_OK);
    assert_int_equal(nn_optim_build(cfg, model, &opt, &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "decay_epochs"));
    nn_cfg_free(cfg);
    nn_model_free(model);
}

int main(void)
{
    for (int64_t i = 0; i < ROWS; i++)
        ids[i] = 100 + 3 * i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_augment_windows),
        cmocka_unit_test(test_augment_bad),
        cmocka_unit_test(test_blur_properties),
        cmocka_unit_test(test_dropout_window),
        cmocka_unit_test(test_decay_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

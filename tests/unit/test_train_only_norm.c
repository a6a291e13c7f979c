/* model.train_only_batchnorm: every parameter is frozen except the normalization layers'
 * scale and shift; an optimizer step changes exactly those. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "nn/config.h"
#include "nn/optim.h"

static void test_only_norm_parameters_train(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [6], train_only_batchnorm: true, layers: ["
                                    "{name: fc1, type: dense, units: 5, bias: false},"
                                    "{name: bn1, type: batchnorm, activation: relu},"
                                    "{name: out, type: dense, units: 3}]}", 4, 1);
    assert_non_null(model);
    assert_int_equal(nn_model_count_trainable(model), 2 * 5);
    assert_true(nn_model_find_param(model, "fc1/weight")->frozen);
    assert_true(nn_model_find_param(model, "out/bias")->frozen);
    assert_false(nn_model_find_param(model, "bn1/weight")->frozen);
    assert_false(nn_model_find_param(model, "bn1/bias")->frozen);

    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_optim *opt = NULL;
    assert_int_equal(nn_cfg_parse_value("{type: sgd, lr: 0.5}", "opt", &cfg, &err), NN_OK);
    assert_int_equal(nn_optim_build(cfg, model, &opt, &err), NN_OK);
    float *before = malloc((size_t)model->n_param_floats * sizeof *before);
    memcpy(before, model->param_data, (size_t)model->n_param_floats * sizeof *before);
    for (int64_t i = 0; i < model->n_param_floats; i++)
        model->grad_data[i] = 1.0f;
    nn_optim_step(opt, model, 0.5);
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if (p->flags & NN_PARAM_STATE)
            continue;
        int changed = memcmp(before + p->offset, model->param_data + p->offset,
                             (size_t)p->size * sizeof(float)) != 0;
        if (changed != !p->frozen)
            fail_msg("%s: changed=%d frozen=%d", p->name, changed, p->frozen);
    }
    free(before);
    nn_optim_free(opt);
    nn_cfg_free(cfg);
    nn_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_norm_parameters_train),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

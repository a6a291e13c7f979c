/* Splitting work over threads:
 *  - forward and backward of models whose dense layers split rows, output units or nothing
 *    give the single-threaded run's bits at 2 and 3 threads (each element of a product sums
 *    its terms in the same order however the product is cut). One thread runs every product
 *    whole, so the gradient checks and the PyTorch reference checks of that path cover the
 *    split paths through this agreement;
 *  - optimizer updates, elementwise, are bit-identical at any thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "gradcheck.h"
#include "model/model_internal.h"
#include "model_fixture.h"
#include "nn/config.h"
#include "nn/optim.h"

typedef struct step_result {
    float *out, *input_grad, *grads, *params;
    int64_t out_n, in_n, n_params;
} step_result;

static nn_optim *make_optim(const char *yaml, nn_model *model)
{
    nn_optim *opt = fixture_optim(yaml, model);
    assert_non_null(opt);
    return opt;
}

static float *copy_of(const float *x, int64_t n)
{
    float *c = malloc((size_t)n * sizeof *c);
    memcpy(c, x, (size_t)n * sizeof *c);
    return c;
}

/* Two training steps (forward, backward, SGD) with `threads` threads from the same start;
 * what the second leaves. */
static step_result train_steps(const char *model_yaml, int64_t batch, int threads)
{
    nni_set_threads(threads);
    nn_model *model = fixture_model(model_yaml, batch, 7);
    assert_non_null(model);
    nn_optim *opt = make_optim("{type: sgd, lr: 0.01}", model);
    step_result r = {.out_n = batch * nn_model_output_size(model),
                     .in_n = batch * nn_model_input_size(model),
                     .n_params = model->n_param_floats};
    nn_pass pass = {.batch = batch, .training = 1, .seed = 5};
    for (int step = 0; step < 2; step++) {
        nn_test_fill(nn_model_input(model), r.in_n, 11 + (uint64_t)step, -2.0f, 2.0f);
        nn_model_forward(model, &pass);
        nn_test_fill(model->output->dout, r.out_n, 21 + (uint64_t)step, -1.0f, 1.0f);
        nn_model_backward(model, &pass);
        nn_optim_step(opt, model, 0.01);
    }
    r.out = copy_of(model->output->out, r.out_n);
    r.input_grad = copy_of(model->layers[0]->dout, r.in_n);
    r.grads = copy_of(model->grad_data, r.n_params);
    r.params = copy_of(model->param_data, r.n_params);
    nn_optim_free(opt);
    nn_model_free(model);
    return r;
}

static void free_result(step_result *r)
{
    free(r->out);
    free(r->input_grad);
    free(r->grads);
    free(r->params);
}

/* The same bits everywhere. */
static void assert_same(const float *a, const float *b, int64_t n, const char *what,
                        int threads)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s[%lld] with %d threads: %.9g, with 1: %.9g", what, (long long)i,
                     threads, (double)b[i], (double)a[i]);
}

static void assert_results_same(const step_result *one, const step_result *many, int threads)
{
    assert_same(one->out, many->out, one->out_n, "output", threads);
    assert_same(one->input_grad, many->input_grad, one->in_n, "input gradient", threads);
    assert_same(one->grads, many->grads, one->n_params, "parameter gradient", threads);
    assert_same(one->params, many->params, one->n_params, "updated parameter", threads);
}

static void check_thread_split(const char *model_yaml, int64_t batch)
{
    step_result one = train_steps(model_yaml, batch, 1);
    for (int threads = 2; threads <= 3; threads++) {
        step_result many = train_steps(model_yaml, batch, threads);
        assert_results_same(&one, &many, threads);
        free_result(&many);
    }
    free_result(&one);
}

/* fc1 has more units than rows (split by units), fc2 and fc3 fewer (split by rows), fc4 is
 * too small to split. */
static const char mlp[] =
    "{input: [96], layers: [{name: fc1, type: dense, units: 200, activation: relu},"
    " {name: fc2, type: dense, units: 24, activation: tanh},"
    " {name: fc3, type: dense, units: 17, bias: false},"
    " {name: fc4, type: dense, units: 3}]}";

static void test_mlp(void **state)
{
    (void)state;
    check_thread_split(mlp, 37);
}

/* A batch smaller than the thread count leaves some threads without rows. */
static void test_tiny_batch(void **state)
{
    (void)state;
    check_thread_split("{input: [300], layers: [{type: dense, units: 150},"
                       " {type: dense, units: 260}]}", 1);
    check_thread_split("{input: [300], layers: [{type: dense, units: 150},"
                       " {type: dense, units: 260}]}", 2);
}

/* Three updates from the same gradients at `threads` threads; the parameters after them. */
static float *optimizer_steps(const char *optim_yaml, int threads)
{
    nni_set_threads(threads);
    /* 40,811 parameters: enough for the update to be split. */
    nn_model *model = fixture_model("{input: [100], layers: [{type: dense, units: 401},"
                                    " {type: dense, units: 1}]}", 1, 7);
    assert_non_null(model);
    nn_optim *opt = make_optim(optim_yaml, model);
    for (int step = 0; step < 3; step++) {
        nn_test_fill(model->grad_data, model->n_param_floats, 31 + (uint64_t)step, -1.0f, 1.0f);
        nn_optim_step(opt, model, 0.01);
    }
    float *params = copy_of(model->param_data, model->n_param_floats);
    nn_optim_free(opt);
    nn_model_free(model);
    return params;
}

static void test_optimizers(void **state)
{
    (void)state;
    static const char *const optimizers[] = {
        "{type: adam}",
        "{type: sgd, weight_decay: 0.01, l1: 0.001}",
        "{type: nesterov}",
        "{type: adamw, amsgrad: true}",
        "{type: rmsprop, centered: true, momentum: 0.5}",
        "{type: adagrad, initial_accumulator_value: 0.1}",
        "{type: lars}",
    };
    const int64_t n = 100 * 401 + 401 + 401 + 1;
    for (size_t i = 0; i < sizeof optimizers / sizeof optimizers[0]; i++) {
        float *one = optimizer_steps(optimizers[i], 1);
        for (int threads = 2; threads <= 3; threads++) {
            float *many = optimizer_steps(optimizers[i], threads);
            assert_same(one, many, n, optimizers[i], threads);
            free(many);
        }
        free(one);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_tiny_batch),
        cmocka_unit_test(test_optimizers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The rest of the layer catalogue: prelu, rrelu and dropout (gradient checks in training and
 * evaluation, masks and slopes keyed per sample, dropout's expected scale), and every
 * elementwise activation at chosen points: its formula (for the functions PyTorch lacks)
 * and finite values and gradients at the edges (0, +-30, +-1e4, +-1e20). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/registry.h"
#include "model_fixture.h"
#include "nn/config.h"

static void check_model(const char *yaml, int64_t batch, int training, double atol,
                        double rtol)
{
    nn_model *model = fixture_model(yaml, batch, 3);
    if (!model)
        fail_msg("build failed: %s", yaml);
    if (!fixture_gradcheck(model, batch, training, atol, rtol)) {
        nn_model_free(model);
        fail_msg("gradient check failed (training=%d) for: %s", training, yaml);
    }
    nn_model_free(model);
}

static void forward(nn_model *model, const float *x, int64_t rows, const int64_t *ids,
                    int training, uint32_t epoch)
{
    memcpy(nn_model_input(model), x, (size_t)(rows * nn_model_input_size(model)) * sizeof *x);
    nn_pass pass = {.batch = rows, .training = training, .seed = 9, .epoch = epoch,
                    .sample_ids = ids};
    nn_model_forward(model, &pass);
}

/* ---- prelu -------------------------------------------------------------------------- */

static void test_prelu_gradients(void **state)
{
    (void)state;
    for (int training = 0; training <= 1; training++) {
        check_model("{input: [4], layers: [{type: dense, units: 5}, {type: prelu}]}", 3,
                    training, 1e-3, 1e-2);
        check_model("{input: [2, 3, 3], layers: [{type: prelu}]}", 2, training, 1e-3, 1e-2);
        check_model("{input: [2, 3, 3], layers: [{type: prelu, shared: true}]}", 2, training,
                    1e-3, 1e-2);
        check_model("{input: [4], layers: [{type: dense, units: 6, activation: prelu},"
                    " {type: dense, units: 2, activation: {type: prelu, shared: true}}]}", 3,
                    training, 1e-3, 1e-2);
    }
}

static void test_prelu_parameter(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [3, 2, 2], layers: [{name: p, type: prelu},"
                                    " {name: d, type: dense, units: 2, activation: prelu}]}",
                                    2, 1);
    assert_non_null(model);
    nn_param *slopes = nn_model_find_param(model, "p/weight");
    assert_non_null(slopes);
    assert_int_equal(slopes->ndim, 1);
    assert_int_equal(slopes->dims[0], 3); /* one per channel */
    assert_true(slopes->flags & NN_PARAM_NO_DECAY);
    for (int c = 0; c < 3; c++)
        assert_float_equal(nn_model_param_data(model, slopes)[c], 0.25f, 0);
    nn_param *act = nn_model_find_param(model, "d.prelu/weight");
    assert_non_null(act);
    assert_int_equal(act->dims[0], 2);
    /* Channel c of every position uses slope c. */
    float *a = nn_model_param_data(model, slopes);
    a[0] = 0.1f, a[1] = 0.2f, a[2] = 0.3f;
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = -1.0f - (float)i;
    int64_t ids[2] = {0, 1};
    forward(model, x, 1, ids, 0, 0);
    const float *y = model->layers[1]->out;
    for (int i = 0; i < 12; i++)
        assert_float_equal(y[i], a[i / 4] * x[i], 1e-7);
    nn_model_free(model);

    model = fixture_model("{input: [3], layers: [{name: p, type: prelu, shared: true,"
                          " init: {type: constant, value: 0.5}}]}", 2, 1);
    assert_non_null(model);
    slopes = nn_model_find_param(model, "p/weight");
    assert_int_equal(slopes->dims[0], 1);
    assert_float_equal(nn_model_param_data(model, slopes)[0], 0.5f, 0);
    nn_model_free(model);
}

/* ---- rrelu -------------------------------------------------------------------------- */

static void test_rrelu_gradients(void **state)
{
    (void)state;
    /* Training: the fixture's pass is fixed, so the slopes are the same in every forward
     * of the check and the layer is piecewise linear in x. */
    check_model("{input: [6], layers: [{type: rrelu}]}", 4, 1, 1e-3, 1e-2);
    check_model("{input: [2, 2, 2], layers: [{type: dense, units: 5,"
                " activation: {type: rrelu, lower: 0.05, upper: 0.9}}, {type: dense, units: 2}]}",
                3, 1, 1e-3, 1e-2);
    check_model("{input: [6], layers: [{type: rrelu}]}", 4, 0, 1e-3, 1e-2);
}

static void test_rrelu_slopes(void **state)
{
    (void)state;
    enum { N = 400 };
    nn_model *model = fixture_model("{input: [400], layers: [{type: rrelu, lower: 0.1,"
                                    " upper: 0.3}]}", 3, 1);
    assert_non_null(model);
    float *x = malloc(3 * N * sizeof *x);
    for (int i = 0; i < 3 * N; i++)
        x[i] = i % 2 ? 2.0f : -2.0f;
    int64_t ids[3] = {7, 8, 9};
    forward(model, x, 3, ids, 1, 4);
    float *first = malloc(3 * N * sizeof *first);
    memcpy(first, model->output->out, 3 * N * sizeof *first);
    double sum = 0;
    int distinct = 0;
    for (int i = 0; i < 3 * N; i++) {
        if (i % 2) {
            assert_float_equal(first[i], 2.0f, 0);
            continue;
        }
        float slope = first[i] / -2.0f;
        assert_true(slope >= 0.1f && slope <= 0.3f);
        sum += slope;
        distinct += i >= 2 && first[i] != first[i - 2];
    }
    assert_float_equal(sum / (3 * N / 2), 0.2, 0.01);
    assert_true(distinct > 3 * N / 2 - 10);
    /* Sample 8 alone, in another row: the same slopes (rank-count independence). */
    int64_t alone[1] = {8};
    forward(model, x + N, 1, alone, 1, 4);
    assert_memory_equal(model->output->out, first + N, N * sizeof(float));
    /* Another epoch draws other slopes. */
    forward(model, x + N, 1, alone, 1, 5);
    assert_memory_not_equal(model->output->out, first + N, N * sizeof(float));
    /* Evaluation: the mean slope. */
    forward(model, x, 1, ids, 0, 4);
    assert_float_equal(model->output->out[0], -2.0f * 0.2f, 1e-7);
    free(first);
    free(x);
    nn_model_free(model);
}

/* ---- dropout ------------------------------------------------------------------------ */

static void test_dropout_gradients(void **state)
{
    (void)state;
    check_model("{input: [8], layers: [{type: dense, units: 12}, {type: dropout, p: 0.3},"
                " {type: dense, units: 3}]}", 4, 1, 1e-3, 1e-2);
    check_model("{input: [2, 3, 3], layers: [{type: dropout, p: 0.5}]}", 3, 1, 1e-3, 1e-2);
    check_model("{input: [8], layers: [{type: dropout, p: 0.3}, {type: dense, units: 3}]}", 4,
                0, 1e-3, 1e-2);
    check_model("{input: [8], layers: [{type: dropout, p: 0}]}", 4, 1, 1e-3, 1e-2);
}

static void test_dropout_statistics(void **state)
{
    (void)state;
    enum { ROWS = 256, N = 100 };
    nn_model *model = fixture_model("{input: [100], layers: [{type: dropout, p: 0.3}]}", ROWS,
                                    1);
    assert_non_null(model);
    float *x = malloc(ROWS * N * sizeof *x);
    int64_t ids[ROWS];
    for (int i = 0; i < ROWS * N; i++)
        x[i] = 1.0f;
    for (int r = 0; r < ROWS; r++)
        ids[r] = 5000 + r;
    forward(model, x, ROWS, ids, 1, 0);
    const float *y = model->output->out;
    double sum = 0;
    int64_t zeros = 0;
    for (int i = 0; i < ROWS * N; i++) {
        sum += y[i];
        zeros += y[i] == 0.0f;
        if (y[i] != 0.0f)
            assert_float_equal(y[i], 1.0f / 0.7f, 1e-6);
    }
    /* The expected activation is kept: mean 1 within 3% (about 7 standard deviations). */
    assert_float_equal(sum / (ROWS * N), 1.0, 0.03);
    assert_float_equal((double)zeros / (ROWS * N), 0.3, 0.03);

    /* The backward applies the forward's mask. */
    for (int i = 0; i < ROWS * N; i++)
        model->output->dout[i] = 1.0f;
    nn_pass pass = {.batch = ROWS, .training = 1, .seed = 9, .sample_ids = ids};
    nn_model_backward(model, &pass);
    for (int i = 0; i < ROWS * N; i++)
        assert_float_equal(model->layers[0]->dout[i], y[i], 0);

    /* Sample 5003 alone gets the same mask; another epoch another one. */
    float *row = malloc(N * sizeof *row);
    memcpy(row, y + 3 * N, N * sizeof *row);
    int64_t alone[1] = {5003};
    forward(model, x, 1, alone, 1, 0);
    assert_memory_equal(model->output->out, row, N * sizeof(float));
    forward(model, x, 1, alone, 1, 1);
    assert_memory_not_equal(model->output->out, row, N * sizeof(float));

    /* Evaluation is the identity. */
    for (int i = 0; i < N; i++)
        x[i] = (float)i - 50.5f;
    forward(model, x, 1, alone, 0, 0);
    assert_memory_equal(model->output->out, x, N * sizeof(float));
    free(row);
    free(x);
    nn_model_free(model);
}

static void test_mlp_shorthand_dropout(void **state)
{
    (void)state;
    nn_model *model = fixture_model("{input: [6], mlp: {units: [8, 4, 2], dropout: 0.25,"
                                    " activation: prelu}}", 3, 1);
    assert_non_null(model);
    int dropouts = 0;
    for (int i = 0; i < model->n_layers; i++)
        dropouts += strcmp(model->layers[i]->ops->type, "dropout") == 0;
    assert_int_equal(dropouts, 2);
    assert_non_null(nn_model_find_param(model, "dense1.prelu/weight"));
    assert_true(fixture_gradcheck(model, 3, 1, 1e-3, 1e-2));
    nn_model_free(model);
}

/* ---- activations at chosen points ---------------------------------------------------- */

enum { POINTS = 17 };
static const float points[POINTS] = {0.0f,  -0.0f, 0.5f,  -0.5f,  1.0f,  -1.0f,
                                     1.5f,  -1.5f, 2.0f,  -2.0f,  3.0f,  -3.0f,
                                     30.0f, -30.0f, 1e4f, -1e4f, -1e20f};

/* Runs `activation` (a layer spec) on the points as ONE sample (so bipolar_relu's even and
 * odd units alternate along the points) and returns y and dy/dx. */
static void run_points(const char *spec, float *y, float *dydx)
{
    char yaml[256];
    snprintf(yaml, sizeof yaml, "{input: [%d], layers: [%s]}", POINTS, spec);
    nn_model *model = fixture_model(yaml, 1, 1);
    if (!model)
        fail_msg("build failed: %s (an activation that needs parameters needs a spec in "
                 "edge_specs)", yaml);
    int64_t id = 0;
    forward(model, points, 1, &id, 0, 0);
    memcpy(y, model->output->out, POINTS * sizeof *y);
    for (int i = 0; i < POINTS; i++)
        model->output->dout[i] = 1.0f;
    nn_pass pass = {.batch = 1, .training = 0, .seed = 9, .sample_ids = &id};
    nn_model_backward(model, &pass);
    memcpy(dydx, model->layers[0]->dout, POINTS * sizeof *dydx);
    nn_model_free(model);
}

typedef double (*scalar_fn)(double x, int i);

static double isru_ref(double x, int i)
{
    (void)i;
    return x / sqrt(1 + 0.5 * x * x);
}
static double isru_grad(double x, int i)
{
    (void)i;
    return pow(1 + 0.5 * x * x, -1.5);
}
static double isrlu_ref(double x, int i)
{
    return x >= 0 ? x : isru_ref(x, i);
}
static double isrlu_grad(double x, int i)
{
    return x >= 0 ? 1 : isru_grad(x, i);
}
static double sqnl_ref(double x, int i)
{
    (void)i;
    return x > 2 ? 1 : x >= 0 ? x - x * x / 4 : x >= -2 ? x + x * x / 4 : -1;
}
static double sqnl_grad(double x, int i)
{
    (void)i;
    return x > 2 || x < -2 ? 0 : x >= 0 ? 1 - x / 2 : 1 + x / 2;
}
static double bipolar_ref(double x, int i)
{
    return i % 2 == 0 ? fmax(x, 0) : fmin(x, 0);
}
static double bipolar_grad(double x, int i)
{
    return i % 2 == 0 ? (x > 0) : (x < 0);
}
static double step_ref(double x, int i)
{
    (void)i;
    return x >= 0 ? 1 : 0;
}
static double zero_grad(double x, int i)
{
    (void)x, (void)i;
    return 0;
}

static void test_activation_formulas(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        scalar_fn f, df;
    } cases[] = {
        {"{type: isru, alpha: 0.5}", isru_ref, isru_grad},
        {"{type: isrlu, alpha: 0.5}", isrlu_ref, isrlu_grad},
        {"{type: sqnl}", sqnl_ref, sqnl_grad},
        {"{type: bipolar_relu}", bipolar_ref, bipolar_grad},
        {"{type: binary_step}", step_ref, zero_grad},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        float y[POINTS], d[POINTS];
        run_points(cases[k].spec, y, d);
        for (int i = 0; i < POINTS; i++) {
            /* The kink of sqnl at +-2 and of the relus at 0 take the one-sided value the
             * formula above picks. */
            double want = cases[k].f(points[i], i), dwant = cases[k].df(points[i], i);
            if (fabs(y[i] - want) > 1e-6 * fmax(1, fabs(want)) ||
                fabs(d[i] - dwant) > 1e-6 * fmax(1, fabs(dwant)))
                fail_msg("%s at x = %g: y %.9g (want %.9g), dy/dx %.9g (want %.9g)",
                         cases[k].spec, points[i], y[i], want, d[i], dwant);
        }
    }
    /* isru's limit 1/sqrt(alpha) holds where x^2 overflows float. */
    float y[POINTS], d[POINTS];
    run_points("{type: isru, alpha: 4}", y, d);
    assert_float_equal(y[POINTS - 1], -0.5f, 1e-6);
}

/* Parameters for the activations that take them, and functions that are not activations
 * but share their edges; every other activation runs with its defaults. */
static const char *const edge_specs[] = {
    "{type: leaky_relu, alpha: 0.1}", "{type: elu, alpha: 0.7}", "{type: isru, alpha: 2}",
    "{type: isrlu, alpha: 2}", "{type: softplus, beta: 2}", "silu", "{type: dropout, p: 0.5}",
    "{type: formula, formula: \"x * sigmoid(x)\"}"};

/* Every activation of the catalogue (nni_activation_names): finite values and gradients at
 * 0, +-30, +-1e4, -1e20, and the saturated values it must reach there. */
static void test_activation_edges(void **state)
{
    (void)state;
    const char *specs[128];
    size_t n_specs = 0;
    for (size_t k = 0; k < sizeof edge_specs / sizeof edge_specs[0]; k++)
        specs[n_specs++] = edge_specs[k];
    for (const char *const *name = nni_activation_names(); *name; name++) {
        int given = 0;
        for (size_t k = 0; k < sizeof edge_specs / sizeof edge_specs[0]; k++) {
            const char *type = edge_specs[k][0] == '{' ? edge_specs[k] + strlen("{type: ")
                                                       : edge_specs[k];
            size_t len = strcspn(type, ",}");
            given |= len == strlen(*name) && strncmp(type, *name, len) == 0;
        }
        if (!given && n_specs < sizeof specs / sizeof specs[0])
            specs[n_specs++] = *name;
    }
    assert_true(n_specs > sizeof edge_specs / sizeof edge_specs[0]);
    for (size_t k = 0; k < n_specs; k++) {
        char spec[96];
        snprintf(spec, sizeof spec, "%s%s%s", specs[k][0] == '{' ? "" : "{type: ", specs[k],
                 specs[k][0] == '{' ? "" : "}");
        float y[POINTS], d[POINTS];
        run_points(spec, y, d);
        int is_softmax = strstr(spec, "softmax") != NULL;
        for (int i = 0; i < POINTS; i++) {
            /* log_softmax of the points is -inf-free except where the math is: the -1e20
             * entry's log-probability is about -1e20, still finite. */
            if (!isfinite(y[i]) || !isfinite(d[i]))
                fail_msg("%s at x = %g: y %g, dy/dx %g", spec, points[i], y[i], d[i]);
        }
        if (is_softmax)
            continue;
        /* Saturating functions reach their limits; the rest grow at most linearly. */
        for (int i = 12; i < POINTS; i++)
            if (fabs(y[i]) > fabs(points[i]) * 1.06 + 1.01) /* selu: 1.0507 x */
                fail_msg("%s at x = %g: y %g grows faster than x", spec, points[i], y[i]);
    }
    float y[POINTS], d[POINTS];
    run_points("{type: sigmoid}", y, d);
    assert_float_equal(y[14], 1.0f, 0);
    assert_float_equal(y[15], 0.0f, 0);
    run_points("{type: gelu}", y, d);
    assert_float_equal(y[14], 1e4f, 0);
    assert_float_equal(y[15], 0.0f, 0);
    assert_float_equal(d[14], 1.0f, 0);
    run_points("{type: mish}", y, d);
    assert_float_equal(y[12], 30.0f, 1e-5);
    assert_float_equal(y[15], 0.0f, 1e-6);
    run_points("{type: softplus, beta: 2}", y, d);
    assert_float_equal(y[14], 1e4f, 0);
    assert_float_equal(y[13], 0.0f, 1e-20);
    assert_float_equal(d[13], 0.0f, 1e-20);
    run_points("{type: selu}", y, d);
    assert_float_equal(y[15], -1.0507009873554805 * 1.6732632423543772, 1e-6);
    /* The tails of saturating derivatives, which cancel to 0 when computed from y: points
     * 12 and 13 are +30 and -30. */
    static const struct {
        const char *spec;
        int point;
        double dydx;
    } tails[] = {
        {"{type: sigmoid}", 12, 9.357622968839299e-14},         /* exp(-30) / (1 + exp(-30))^2 */
        {"{type: tanh}", 13, 3.502604305078608e-26},            /* 4 exp(-60) */
        {"{type: elu, alpha: 0.7}", 13, 0.7 * 9.357622968840175e-14},
        {"{type: selu}", 13, 1.0507009873554805 * 1.6732632423543772 * 9.357622968840175e-14},
    };
    for (size_t k = 0; k < sizeof tails / sizeof tails[0]; k++) {
        run_points(tails[k].spec, y, d);
        double got = d[tails[k].point], want = tails[k].dydx;
        if (fabs(got - want) > 1e-5 * want)
            fail_msg("%s: dy/dx at %g is %.9g, want %.9g", tails[k].spec,
                     points[tails[k].point], got, want);
    }
    /* gelu's left tail x Phi(x), Phi(-30) ~ 5e-198 underflows to -0, not to a rounding
     * residue of 1 + erf. */
    run_points("{type: gelu}", y, d);
    assert_float_equal(y[7], -1.5 * 0.06680720126885807, 1e-7);
    assert_float_equal(y[13], 0.0f, 0);
    assert_float_equal(d[13], 0.0f, 0);
}

/* ---- config errors -------------------------------------------------------------------- */

/* "valid: a, b, c" */
static void join_names(const char *const *names, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "valid: ");
    for (int i = 0; names[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"{input: [3], layers: [{type: dropout, p: 1}]}", "layers[0].p: p (the drop "
                                                          "probability) must be in [0, 1)"},
        {"{input: [3], layers: [{type: dropout, p: -0.1}]}", "must be in [0, 1)"},
        {"{input: [3], layers: [{type: dropout, rate: 0.1}]}", "unknown key 'rate'"},
        {"{input: [3], layers: [{type: rrelu, lower: 0.5, upper: 0.2}]}", "upper must be in"},
        {"{input: [3], layers: [{type: rrelu, lower: -0.5}]}", "lower must be in [0, 1]"},
        {"{input: [3], layers: [{type: prelu, shared: maybe}]}", "shared"},
        {"{input: [3], layers: [{type: isru, alpha: -1}]}", "alpha must be >= 0"},
        {"{input: [3], layers: [{type: softplus, beta: 0}]}", "beta must be > 0"},
        {"{input: [3], layers: [{type: dense, units: 2, activation: {type: leaky_relu,"
         " alpah: 0.1}}]}", "unknown key 'alpah' (did you mean 'alpha'?)"},
        {"{input: [3], layers: [{type: dense, units: 2, activation: {type: prelu,"
         " lower: 0.1}}]}", "unknown key 'lower'"},
        {"{input: [3], layers: [{type: dense, units: 2, activation: dropout}]}",
         "unknown activation 'dropout'"},
        {"{input: [3], layers: [{type: dense, units: 2, activation: prelux}]}",
         "did you mean 'prelu'"},
        {"{input: [3], layers: [{type: dropuot, p: 0.1}]}",
         "unknown layer type 'dropuot' (did you mean 'dropout'?); valid: "},
        {"{input: [3], layers: [{type: activation}]}", "unknown layer type 'activation'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fixture_config_error(cases[i].yaml, cases[i].expect))
            fail_msg("config error case %zu", i);
    /* Unknown names list the whole catalogue, in table order. */
    char valid[2048];
    join_names(nni_activation_names(), valid, sizeof valid);
    if (!fixture_config_error("{input: [3], layers: [{type: dense, units: 2, activation: nope}]}",
                              valid))
        fail_msg("unknown activation: want '%s'", valid);
    join_names(nni_layer_type_names(), valid, sizeof valid);
    if (!fixture_config_error("{input: [3], layers: [{type: nope}]}", valid))
        fail_msg("unknown layer type: want '%s'", valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prelu_gradients),
        cmocka_unit_test(test_prelu_parameter),
        cmocka_unit_test(test_rrelu_gradients),
        cmocka_unit_test(test_rrelu_slopes),
        cmocka_unit_test(test_dropout_gradients),
        cmocka_unit_test(test_dropout_statistics),
        cmocka_unit_test(test_mlp_shorthand_dropout),
        cmocka_unit_test(test_activation_formulas),
        cmocka_unit_test(test_activation_edges),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Initializers: the statistics of every random initializer on a large tensor match its
 * formula (mean, standard deviation, bounds), orthogonal gives orthonormal rows or columns,
 * `file` loads an HDF5 dataset into a dense layer's weight (and a wrong size or a missing
 * dataset is an error naming file, dataset and layer), per-layer `init:` and the model-wide
 * `model.init` both apply, and the result is a function of the seed alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/init_internal.h"
#include "model_fixture.h"
#include "nn/config.h"
#include "nn/init.h"

enum { ROWS = 400, COLS = 500 }; /* fan_out = 400, fan_in = 500 */

/* The initializers whose values a test below checked, by table index (nn_init.kind). */
static int values_checked[64];

static nn_init parse(const char *yaml)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_init init;
    assert_int_equal(nn_cfg_parse_value(yaml, "init.yaml", &cfg, &err), NN_OK);
    if (nni_init_parse(cfg, &init, &err))
        fail_msg("%s: %s", yaml, err.msg);
    nn_cfg_free(cfg);
    return init;
}

typedef struct stats {
    double mean, std, min, max;
} stats;

static stats fill_stats(const char *yaml, float *w)
{
    nn_init init = parse(yaml);
    values_checked[init.kind] = 1;
    int64_t dims[2] = {ROWS, COLS};
    nn_error err = {0};
    assert_int_equal(nni_init_fill(&init, w, 2, dims, COLS, ROWS, 7, 3, 0, &err), NN_OK);
    double sum = 0, sq = 0;
    stats s = {.min = INFINITY, .max = -INFINITY};
    for (int64_t i = 0; i < ROWS * COLS; i++) {
        sum += w[i];
        s.min = fmin(s.min, w[i]);
        s.max = fmax(s.max, w[i]);
    }
    s.mean = sum / (ROWS * COLS);
    for (int64_t i = 0; i < ROWS * COLS; i++)
        sq += (w[i] - s.mean) * (w[i] - s.mean);
    s.std = sqrt(sq / (ROWS * COLS - 1));
    return s;
}

/* Mean within 5 standard errors, std within 1% (2e5 draws: the standard error of the std
 * is 0.16%), and for uniform laws the bounds: inside [lo, hi] and within 0.1% of them. */
static void expect(const char *yaml, double mean, double std, double lo, double hi)
{
    float *w = malloc(sizeof(float) * ROWS * COLS);
    stats s = fill_stats(yaml, w);
    free(w);
    double standard_error = std / sqrt((double)ROWS * COLS);
    if (fabs(s.mean - mean) > 5 * standard_error + 1e-7 || fabs(s.std - std) > 0.01 * std)
        fail_msg("%s: mean %.6g std %.6g, expected %.6g and %.6g", yaml, s.mean, s.std, mean,
                 std);
    if (!isnan(lo) && (s.min < lo - 1e-6 || s.max > hi + 1e-6 ||
                       s.min > lo + 1e-3 * (hi - lo) + 1e-6 ||
                       s.max < hi - 1e-3 * (hi - lo) - 1e-6))
        fail_msg("%s: values in [%.6g, %.6g], expected [%.6g, %.6g]", yaml, s.min, s.max, lo,
                 hi);
}

static void expect_uniform(const char *yaml, double limit)
{
    expect(yaml, 0, limit / sqrt(3.0), -limit, limit);
}

static void test_statistics(void **state)
{
    (void)state;
    const double fan_in = COLS, fan_out = ROWS, fan_sum = COLS + ROWS;
    expect("zeros", 0, 0, 0, 0);
    expect("ones", 1, 0, 1, 1);
    expect("{type: constant, value: -0.3}", -0.3, 0, -0.3, -0.3);
    expect("normal", 0, 0.05, NAN, NAN);
    expect("{type: normal, mean: 0.5, std: 2}", 0.5, 2, NAN, NAN);
    expect("uniform", 0, 0.1 / sqrt(12.0), -0.05, 0.05);
    expect("{type: uniform, a: 1, b: 4}", 2.5, 3 / sqrt(12.0), 1, 4);
    expect_uniform("glorot_uniform", sqrt(6 / fan_sum));
    expect("glorot_normal", 0, sqrt(2 / fan_sum), NAN, NAN);
    expect_uniform("he_uniform", sqrt(6 / fan_in));
    expect("he_normal", 0, sqrt(2 / fan_in), NAN, NAN);
    expect_uniform("lecun_uniform", sqrt(3 / fan_in));
    expect("lecun_normal", 0, sqrt(1 / fan_in), NAN, NAN);
    /* gain scales the law */
    expect("{type: he_normal, gain: 2}", 0, 2 * sqrt(2 / fan_in), NAN, NAN);
    expect_uniform("{type: glorot_uniform, gain: 0.5}", 0.5 * sqrt(6 / fan_sum));
    (void)fan_out;
}

/* max |(W W^T or W^T W) - gain^2 I| */
static double orthogonality_error(const float *w, int64_t rows, int64_t cols, double gain)
{
    int rows_side = rows <= cols;
    int64_t n = rows_side ? rows : cols;
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double dot = 0;
            if (rows_side)
                for (int64_t k = 0; k < cols; k++)
                    dot += (double)w[i * cols + k] * w[j * cols + k];
            else
                for (int64_t k = 0; k < rows; k++)
                    dot += (double)w[k * cols + i] * w[k * cols + j];
            worst = fmax(worst, fabs(dot - (i == j ? gain * gain : 0)));
        }
    return worst;
}

static void test_orthogonal(void **state)
{
    (void)state;
    static const struct {
        int ndim;
        int64_t dims[4];
        double gain;
    } cases[] = {
        {2, {30, 50}, 1}, {2, {50, 30}, 1}, {2, {40, 40}, 1}, {2, {20, 64}, 2},
        {4, {8, 3, 3, 3}, 1}, {4, {64, 2, 3, 3}, 1}, /* conv: rows 8 x 27 and 64 x 18 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char yaml[64];
        snprintf(yaml, sizeof yaml, "{type: orthogonal, gain: %g}", cases[c].gain);
        nn_init init = parse(yaml);
        int64_t rows = cases[c].dims[0], count = 1;
        for (int i = 0; i < cases[c].ndim; i++)
            count *= cases[c].dims[i];
        float *w = malloc(sizeof(float) * (size_t)count);
        nn_error err = {0};
        assert_int_equal(nni_init_fill(&init, w, cases[c].ndim, cases[c].dims, count / rows,
                                       rows, 1, 1, 0, &err), NN_OK);
        double error = orthogonality_error(w, rows, count / rows, cases[c].gain);
        free(w);
        if (error > 1e-5)
            fail_msg("orthogonal case %zu: off by %g", c, error);
        values_checked[init.kind] = 1;
    }
}

/* Writes an HDF5 file with dataset `name` of the given shape holding 0.01 * (i + 1). */
static void write_h5(const char *path, const char *name, int ndim, const hsize_t *dims)
{
    hsize_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= dims[i];
    float *data = malloc(sizeof(float) * count);
    for (hsize_t i = 0; i < count; i++)
        data[i] = 0.01f * (float)(i + 1);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dset = H5Dcreate2(file, name, H5T_NATIVE_FLOAT, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(dset);
    H5Pclose(lcpl);
    H5Sclose(space);
    H5Fclose(file);
    free(data);
}

static nn_status build(const char *yaml, uint64_t seed, nn_model **model, nn_error *err)
{
    nn_cfg *cfg = NULL;
    nn_status st = nn_cfg_load_string(yaml, "model.yaml", &cfg, err);
    if (!st)
        st = nn_model_build(cfg, 2, seed, 0, model, err);
    nn_cfg_free(cfg);
    return st;
}

static void test_file(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "init-%d.h5", (int)getpid());
    hsize_t pca_dims[2] = {3, 5}, wrong_dims[2] = {5, 3 + 1};
    write_h5(path, "/pca/components", 2, pca_dims);
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "input: [5]\nlayers:\n"
             "  - {name: proj, type: dense, units: 3, bias: false, trainable: false,\n"
             "     init: {type: file, path: %s, dataset: /pca/components}}\n"
             "  - {name: out, type: dense, units: 2}\n", path);
    nn_model *model = NULL;
    nn_error err = {0};
    if (build(yaml, 1, &model, &err))
        fail_msg("%s", err.msg);
    const float *w = nn_model_param_data(model, nn_model_find_param(model, "proj/weight"));
    for (int i = 0; i < 15; i++) /* weight[out][in], as written */
        assert_float_equal(w[i], 0.01f * (float)(i + 1), 0);
    nn_model_free(model);
    values_checked[parse("{type: file, path: p.h5, dataset: /d}").kind] = 1;

    /* Wrong size: the message names file, dataset, both sizes and the layer. */
    write_h5(path, "/pca/components", 2, wrong_dims);
    assert_int_equal(build(yaml, 1, &model, &err), NN_ERR_DATA);
    static const char *const wrong_parts[] = {"proj", "weight", "/pca/components", "[5, 4]",
                                              "[3, 5]"};
    for (size_t i = 0; i < sizeof wrong_parts / sizeof wrong_parts[0]; i++)
        if (!strstr(err.msg, wrong_parts[i]) || !strstr(err.msg, path))
            fail_msg("size error '%s' does not name '%s' and the file", err.msg, wrong_parts[i]);

    /* A missing dataset and a missing file. */
    char other[512];
    snprintf(other, sizeof other, "%.*s", (int)(strstr(yaml, "/pca") - yaml), yaml);
    snprintf(other + strlen(other), sizeof other - strlen(other), "/nope}}\n");
    assert_int_equal(build(other, 1, &model, &err), NN_ERR_DATA);
    if (!strstr(err.msg, "/nope") || !strstr(err.msg, path) || !strstr(err.msg, "proj"))
        fail_msg("missing dataset error: %s", err.msg);
    unlink(path);
    assert_int_equal(build(yaml, 1, &model, &err), NN_ERR_DATA);
    if (!strstr(err.msg, path))
        fail_msg("missing file error: %s", err.msg);

    /* `file` without path or dataset is a config error. */
    assert_int_equal(build("input: [5]\nlayers: [{type: dense, units: 3, init: file}]\n", 1,
                           &model, &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "path"));
}

static void test_per_layer_and_model_default(void **state)
{
    (void)state;
    nn_model *model = NULL;
    nn_error err = {0};
    if (build("input: [4]\ninit: {type: constant, value: 0.5}\nlayers:\n"
              "  - {name: a, type: dense, units: 3}\n"
              "  - {name: b, type: dense, units: 2, init: ones, bias_init: {type: constant, "
              "value: 0.25}}\n"
              "  - {name: c, type: dense, units: 2, init: {type: uniform, a: 2, b: 3}}\n",
              1, &model, &err))
        fail_msg("%s", err.msg);
    static const struct {
        const char *param;
        float lo, hi;
    } expected[] = {
        {"a/weight", 0.5f, 0.5f}, {"a/bias", 0, 0}, {"b/weight", 1, 1}, {"b/bias", 0.25f, 0.25f},
        {"c/weight", 2, 3}, {"c/bias", 0, 0},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        nn_param *p = nn_model_find_param(model, expected[i].param);
        assert_non_null(p);
        const float *w = nn_model_param_data(model, p);
        for (int64_t k = 0; k < p->size; k++)
            if (w[k] < expected[i].lo || w[k] > expected[i].hi)
                fail_msg("%s[%lld] = %g, expected in [%g, %g]", expected[i].param,
                         (long long)k, w[k], expected[i].lo, expected[i].hi);
    }
    nn_model_free(model);

    /* Without model.init, dense weights are glorot_uniform: within sqrt(6 / (4 + 3)). */
    if (build("input: [4]\nlayers: [{name: a, type: dense, units: 3}]\n", 1, &model, &err))
        fail_msg("%s", err.msg);
    const float *w = nn_model_param_data(model, nn_model_find_param(model, "a/weight"));
    int nonzero = 0;
    for (int k = 0; k < 12; k++) {
        assert_true(fabsf(w[k]) <= sqrtf(6.0f / 7.0f));
        nonzero += w[k] != 0;
    }
    assert_int_equal(nonzero, 12);
    nn_model_free(model);
}

static void copy_weights(const char *yaml, uint64_t seed, const char *param, float *out,
                         int64_t n)
{
    nn_model *model = NULL;
    nn_error err = {0};
    if (build(yaml, seed, &model, &err))
        fail_msg("%s", err.msg);
    nn_param *p = nn_model_find_param(model, param);
    assert_non_null(p);
    assert_int_equal(p->size, n);
    memcpy(out, nn_model_param_data(model, p), sizeof(float) * (size_t)n);
    nn_model_free(model);
}

static void test_deterministic_by_seed(void **state)
{
    (void)state;
    const char *one = "input: [6]\ninit: he_normal\nlayers:\n"
                      "  - {name: a, type: dense, units: 8}\n"
                      "  - {name: b, type: dense, units: 4, init: orthogonal}\n";
    /* The same with a layer added at the end: a and b must not change. */
    const char *two = "input: [6]\ninit: he_normal\nlayers:\n"
                      "  - {name: a, type: dense, units: 8}\n"
                      "  - {name: b, type: dense, units: 4, init: orthogonal}\n"
                      "  - {name: c, type: dense, units: 3}\n";
    float first[48], again[48], other_seed[48], longer[48], b1[32], b2[32];
    copy_weights(one, 5, "a/weight", first, 48);
    copy_weights(one, 5, "a/weight", again, 48);
    copy_weights(one, 6, "a/weight", other_seed, 48);
    copy_weights(two, 5, "a/weight", longer, 48);
    assert_memory_equal(first, again, sizeof first);
    assert_memory_equal(first, longer, sizeof first);
    int differ = 0;
    for (int i = 0; i < 48; i++)
        differ += first[i] != other_seed[i];
    assert_true(differ > 40);
    copy_weights(one, 5, "b/weight", b1, 32);
    copy_weights(two, 5, "b/weight", b2, 32);
    assert_memory_equal(b1, b2, sizeof b1);
}

static void expect_parse_error(const char *yaml, const char *expect)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_init init;
    assert_int_equal(nn_cfg_parse_value(yaml, "init.yaml", &cfg, &err), NN_OK);
    nn_status st = nni_init_parse(cfg, &init, &err);
    if (st != NN_ERR_CONFIG || !strstr(err.msg, expect))
        fail_msg("'%s': status %d, message '%s'", yaml, st, err.msg);
    nn_cfg_free(cfg);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"he_normall", "did you mean 'he_normal'"},
        {"{type: normal, std: -1}", "std must be >= 0"},
        {"{type: uniform, a: 1, b: 0}", "a <= b"},
        {"{type: uniform, low: 1}", "unknown key 'low'"},
        {"{type: file, path: x.h5}", "'path' and 'dataset'"},
        {"[1, 2]", "a name or {type: name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_parse_error(cases[i].yaml, cases[i].expect);
    /* An unknown name lists every initializer of the table, in its order. */
    char valid[1024];
    fixture_valid_list(nni_init_catalogue, valid, sizeof valid);
    expect_parse_error("{type: glorot}", valid);
}

typedef struct coverage {
    int index, unchecked;
} coverage;

static void check_covered(const nni_catalogue_row *row, void *ctx)
{
    coverage *c = ctx;
    if (!values_checked[c->index++]) {
        print_error("initializer '%s': no test checks its values\n", row->name);
        c->unchecked++;
    }
}

/* Runs last: every initializer of the table had its values checked above. */
static void test_every_initializer_checked(void **state)
{
    (void)state;
    coverage c = {0, 0};
    nni_init_catalogue(check_covered, &c);
    assert_true(c.index > 0);
    assert_int_equal(c.unchecked, 0);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_orthogonal),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_per_layer_and_model_default),
        cmocka_unit_test(test_deterministic_by_seed),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_every_initializer_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

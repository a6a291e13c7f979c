/* Parameter initializers: one table entry per name, each a fill function. Random ones draw
 * from the counter-based stream (seed, NNI_RNG_INIT, layer id, parameter index), so a
 * layer's initial weights do not depend on other layers or on the number of ranks. */
#include "nn/init.h"

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "io/hdf5_util.h"
#include "model/init_internal.h"

typedef struct init_args {
    const nn_init *init;
    float *w;
    int64_t count, rows, cols; /* rows = dims[0], cols = the rest (PyTorch fan layout) */
    int ndim;
    const int64_t *dims;
    int64_t fan_in, fan_out;
    nni_rng *rng;
} init_args;

typedef nn_status (*init_fill_fn)(const init_args *args, nn_error *err);

typedef struct init_entry {
    const char *name;
    init_fill_fn fill;
    double default_a, default_b;
    const char *key_a, *key_b; /* config names of a and b (NULL: unused) */
    const char *help;
} init_entry;

static void fill_uniform(const init_args *args, double lo, double hi)
{
    for (int64_t i = 0; i < args->count; i++)
        args->w[i] = (float)(lo + (hi - lo) * nni_rng_uniform_double(args->rng));
}

static void fill_normal(const init_args *args, double mean, double std)
{
    for (int64_t i = 0; i < args->count; i++)
        args->w[i] = (float)(mean + std * nni_rng_normal(args->rng));
}

static nn_status init_constant(const init_args *args, nn_error *err)
{
    (void)err;
    for (int64_t i = 0; i < args->count; i++)
        args->w[i] = (float)args->init->a;
    return NN_OK;
}

static nn_status init_uniform(const init_args *args, nn_error *err)
{
    (void)err;
    fill_uniform(args, args->init->a, args->init->b);
    return NN_OK;
}

static nn_status init_normal(const init_args *args, nn_error *err)
{
    (void)err;
    fill_normal(args, args->init->a, args->init->b);
    return NN_OK;
}

static double fan_avg(const init_args *args)
{
    return (double)(args->fan_in + args->fan_out) / 2.0;
}

static nn_status init_glorot_uniform(const init_args *args, nn_error *err)
{
    (void)err;
    double limit = args->init->a * sqrt(3.0 / fan_avg(args));
    fill_uniform(args, -limit, limit);
    return NN_OK;
}

static nn_status init_glorot_normal(const init_args *args, nn_error *err)
{
    (void)err;
    fill_normal(args, 0, args->init->a * sqrt(1.0 / fan_avg(args)));
    return NN_OK;
}

static nn_status init_he_uniform(const init_args *args, nn_error *err)
{
    (void)err;
    double limit = args->init->a * sqrt(6.0 / (double)args->fan_in);
    fill_uniform(args, -limit, limit);
    return NN_OK;
}

static nn_status init_he_normal(const init_args *args, nn_error *err)
{
    (void)err;
    fill_normal(args, 0, args->init->a * sqrt(2.0 / (double)args->fan_in));
    return NN_OK;
}

static nn_status init_lecun_uniform(const init_args *args, nn_error *err)
{
    (void)err;
    double limit = args->init->a * sqrt(3.0 / (double)args->fan_in);
    fill_uniform(args, -limit, limit);
    return NN_OK;
}

static nn_status init_lecun_normal(const init_args *args, nn_error *err)
{
    (void)err;
    fill_normal(args, 0, args->init->a * sqrt(1.0 / (double)args->fan_in));
    return NN_OK;
}

/* Orthogonal (Saxe et al.): Gram-Schmidt on a gaussian matrix, done on the shorter side so
 * the result has orthonormal rows (rows <= cols) or orthonormal columns (rows > cols). */
static nn_status init_orthogonal(const init_args *args, nn_error *err)
{
    int64_t rows = args->rows, cols = args->cols;
    int transpose = rows > cols;
    int64_t n = transpose ? cols : rows, m = transpose ? rows : cols; /* n vectors of length m */
    double *v = malloc((size_t)(n * m) * sizeof *v);
    if (!v)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int64_t i = 0; i < n * m; i++)
        v[i] = nni_rng_normal(args->rng);
    for (int64_t i = 0; i < n; i++) {
        double *vi = v + i * m;
        for (int pass = 0; pass < 2; pass++) /* twice: re-orthogonalization for stability */
            for (int64_t j = 0; j < i; j++) {
                double *vj = v + j * m, dot = 0;
                for (int64_t k = 0; k < m; k++)
                    dot += vi[k] * vj[k];
                for (int64_t k = 0; k < m; k++)
                    vi[k] -= dot * vj[k];
            }
        double norm = 0;
        for (int64_t k = 0; k < m; k++)
            norm += vi[k] * vi[k];
        norm = sqrt(norm);
        for (int64_t k = 0; k < m; k++)
            vi[k] /= norm;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            args->w[r * cols + c] =
                (float)(args->init->a * (transpose ? v[c * m + r] : v[r * m + c]));
    free(v);
    return NN_OK;
}

/* Weights from a dataset of an HDF5 file (e.g. a PCA projection for a dense layer). */
static nn_status init_file(const init_args *args, nn_error *err)
{
    const nn_init *init = args->init;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status st = NN_OK;
    hid_t file = H5Fopen(init->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset = file < 0 ? -1 : H5Dopen2(file, init->dataset, H5P_DEFAULT);
    hid_t space = dset < 0 ? -1 : H5Dget_space(dset);
    if (file < 0)
        st = nn_fail(err, NN_ERR_DATA, "%s: cannot open HDF5 file", init->path);
    else if (dset < 0)
        st = nn_fail(err, NN_ERR_DATA, "%s: %s: no such dataset", init->path, init->dataset);
    else if (H5Sget_simple_extent_npoints(space) != args->count) {
        hsize_t dims[H5S_MAX_RANK];
        int ndim = H5Sget_simple_extent_dims(space, dims, NULL);
        char have[128] = "[", need[128] = "[";
        for (int i = 0; i < ndim; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%llu", i ? ", " : "",
                     (unsigned long long)dims[i]);
        for (int i = 0; i < args->ndim; i++)
            snprintf(need + strlen(need), sizeof need - strlen(need), "%s%lld", i ? ", " : "",
                     (long long)args->dims[i]);
        snprintf(have + strlen(have), sizeof have - strlen(have), "]");
        snprintf(need + strlen(need), sizeof need - strlen(need), "]");
        st = nn_fail(err, NN_ERR_DATA, "%s: %s has shape %s (%lld values), the parameter needs "
                     "%s (%lld values)", init->path, init->dataset, have,
                     (long long)H5Sget_simple_extent_npoints(space), need,
                     (long long)args->count);
    }
    else if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, args->w) < 0)
        st = nn_fail(err, NN_ERR_DATA, "%s: %s: read failed", init->path, init->dataset);
    for (int64_t i = 0; !st && i < args->count; i++)
        if (!isfinite(args->w[i]))
            st = nn_fail(err, NN_ERR_DATA, "%s: %s[%lld]: not finite", init->path,
                         init->dataset, (long long)i);
    nni_h5_close(&space);
    nni_h5_close(&dset);
    nni_h5_close(&file);
    nni_h5_quiet_end(quiet);
    return st;
}

static const init_entry init_table[] = {
    {"zeros", init_constant, 0, 0, NULL, NULL, "all zeros"},
    {"ones", init_constant, 1, 0, NULL, NULL, "all ones"},
    {"constant", init_constant, 0, 0, "value", NULL, "every element = value"},
    {"normal", init_normal, 0, 0.05, "mean", "std", "N(mean, std^2)"},
    {"uniform", init_uniform, -0.05, 0.05, "a", "b", "U(a, b)"},
    {"glorot_uniform", init_glorot_uniform, 1, 0, "gain", NULL,
     "U(-l, l), l = gain*sqrt(6/(fan_in+fan_out)) (Xavier)"},
    {"glorot_normal", init_glorot_normal, 1, 0, "gain", NULL,
     "N(0, s^2), s = gain*sqrt(2/(fan_in+fan_out))"},
    {"he_uniform", init_he_uniform, 1, 0, "gain", NULL,
     "U(-l, l), l = gain*sqrt(6/fan_in) (Kaiming)"},
    {"he_normal", init_he_normal, 1, 0, "gain", NULL, "N(0, s^2), s = gain*sqrt(2/fan_in)"},
    {"lecun_uniform", init_lecun_uniform, 1, 0, "gain", NULL, "U(-l, l), l = gain*sqrt(3/fan_in)"},
    {"lecun_normal", init_lecun_normal, 1, 0, "gain", NULL, "N(0, s^2), s = gain*sqrt(1/fan_in)"},
    {"orthogonal", init_orthogonal, 1, 0, "gain", NULL, "gain * a random orthogonal matrix"},
    {"file", init_file, 0, 0, NULL, NULL,
     "the values of an HDF5 dataset, e.g. {type: file, path: pca.h5, dataset: /components}"},
};
enum { N_INITS = sizeof init_table / sizeof init_table[0] };

static const char *const *init_names(void)
{
    static const char *names[N_INITS + 1];
    for (int i = 0; i < N_INITS; i++)
        names[i] = init_table[i].name;
    return names;
}

static int find_init(const char *name)
{
    for (int i = 0; i < N_INITS; i++)
        if (strcmp(init_table[i].name, name) == 0)
            return i;
    return -1;
}

nn_status nni_init_named(const char *name, nn_init *out, nn_error *err)
{
    int kind = find_init(name);
    if (kind < 0)
        return nn_fail(err, NN_ERR_CONFIG, "unknown initializer '%s'", name);
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->a = init_table[kind].default_a;
    out->b = init_table[kind].default_b;
    return NN_OK;
}

nn_status nni_init_parse(const nn_cfg *node, nn_init *out, nn_error *err)
{
    int kind;
    const nn_cfg *map;
    nn_status read = nn_cfg_read_variant(node, "initializer", init_names(), &kind, &map, err);
    if (read)
        return read;
    const char *name = init_table[kind].name;
    nni_init_named(name, out, err);
    if (!map)
        return kind == find_init("file")
                   ? nn_cfg_fail(err, node, "initializer 'file' needs {type: file, path: F, "
                                            "dataset: D}")
                   : NN_OK;
    const init_entry *entry = &init_table[kind];
    const char *allowed[5] = {"type", NULL, NULL, NULL, NULL};
    int n = 1;
    if (entry->key_a)
        allowed[n++] = entry->key_a;
    if (entry->key_b)
        allowed[n++] = entry->key_b;
    if (entry->fill == init_file) {
        allowed[n++] = "path";
        allowed[n++] = "dataset";
    }
    nn_status st = nn_cfg_check_keys(map, allowed, err);
    if (!st && entry->key_a)
        st = nn_cfg_read_double(map, entry->key_a, entry->default_a, &out->a, err);
    if (!st && entry->key_b)
        st = nn_cfg_read_double(map, entry->key_b, entry->default_b, &out->b, err);
    if (st)
        return st;
    if (entry->fill == init_normal && out->b < 0)
        return nn_cfg_fail(err, node, "std must be >= 0");
    if (entry->fill == init_uniform && out->b < out->a)
        return nn_cfg_fail(err, node, "uniform needs a <= b");
    if (entry->fill == init_file) {
        const char *path = NULL, *dataset = NULL;
        if ((st = nn_cfg_read_string(map, "path", NULL, &path, err)) ||
            (st = nn_cfg_read_string(map, "dataset", NULL, &dataset, err)))
            return st;
        if (!path || !dataset)
            return nn_cfg_fail(err, node, "initializer 'file' needs 'path' and 'dataset'");
        snprintf(out->path, sizeof out->path, "%s", path);
        snprintf(out->dataset, sizeof out->dataset, "%s", dataset);
    }
    return NN_OK;
}

nn_status nni_init_fill(const nn_init *init, float *w, int ndim, const int64_t *dims,
                        int64_t fan_in, int64_t fan_out, uint64_t seed, uint32_t layer_id,
                        uint32_t param_index, nn_error *err)
{
    init_args args = {.init = init, .w = w, .ndim = ndim, .dims = dims,
                      .fan_in = fan_in > 0 ? fan_in : 1,
                      .fan_out = fan_out > 0 ? fan_out : 1};
    args.count = 1;
    for (int i = 0; i < ndim; i++)
        args.count *= dims[i];
    args.rows = ndim > 0 ? dims[0] : 1;
    args.cols = args.rows ? args.count / args.rows : 0;
    nni_rng rng = nni_rng_stream(seed, NNI_RNG_INIT, 0, param_index, layer_id);
    args.rng = &rng;
    return init_table[init->kind].fill(&args, err);
}

void nni_init_catalogue(nni_catalogue_emit emit, void *ctx)
{
    for (int i = 0; i < N_INITS; i++) {
        const init_entry *e = &init_table[i];
        char params[128] = "";
        if (e->fill == init_file)
            snprintf(params, sizeof params, "path=F dataset=D (both required)");
        else if (e->key_a && e->key_b)
            snprintf(params, sizeof params, "%s=%g %s=%g", e->key_a, e->default_a, e->key_b,
                     e->default_b);
        else if (e->key_a)
            snprintf(params, sizeof params, "%s=%g", e->key_a, e->default_a);
        nni_catalogue_row row = {e->name, params, e->help};
        emit(&row, ctx);
    }
}

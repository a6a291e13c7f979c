/* Reference-check driver: runs nntrain's engine on inputs and weights prepared by a PyTorch
 * script, and writes what it computed so the script can compare.
 *
 *   refdriver SPEC.yaml IN.h5 OUT.h5
 *
 * SPEC.yaml holds `model:`, `loss:`, `optimizer:` (optional `steps:`, `training:`,
 * `precision: bf16`).
 * IN.h5: /x (N x ...), /y (N int labels or N x T floats), /params/<layer>/<param> for every
 * parameter (PyTorch layouts), optional /state/<layer>/<name>, optional /x_lengths and
 * /y_lengths (N valid steps of padded sequences, N target lengths).
 * OUT.h5: /output (forward of x), /loss (mean over N), /dinput, /grad/<layer>/<param>
 * (gradients of the mean loss), then after `steps` optimizer steps on the same batch:
 * /after/<layer>/<param>, /after_state/<layer>/<name>. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/config.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"

static int fail(const char *what)
{
    fprintf(stderr, "refdriver: %s\n", what);
    return 1;
}

static float *read_floats(hid_t file, const char *name, int64_t *count, int *ndim,
                          hsize_t *dims)
{
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return NULL;
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    *ndim = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dims, NULL);
    *count = H5Sget_simple_extent_npoints(s);
    float *data = malloc((size_t)*count * sizeof *data);
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Sclose(s);
    H5Dclose(d);
    return data;
}

static void write_floats(hid_t file, const char *name, const float *data, int ndim,
                         const hsize_t *dims)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t s = H5Screate_simple(ndim, dims, NULL);
    hid_t d = H5Dcreate2(file, name, H5T_NATIVE_FLOAT, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d);
    H5Sclose(s);
    H5Pclose(lcpl);
}

static void write_params(hid_t out, const nn_model *model, const char *prefix,
                         const char *state_prefix, int grads)
{
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        int is_state = (p->flags & NN_PARAM_STATE) != 0;
        if (grads && is_state)
            continue;
        char name[512];
        snprintf(name, sizeof name, "/%s/%s", is_state ? state_prefix : prefix, p->name);
        hsize_t dims[NN_MAX_DIMS];
        for (int i = 0; i < p->ndim; i++)
            dims[i] = (hsize_t)p->dims[i];
        write_floats(out, name, grads ? nn_model_param_grad(model, p)
                                      : nn_model_param_data(model, p), p->ndim, dims);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return fail("usage: refdriver SPEC.yaml IN.h5 OUT.h5");
    nn_error err = {0};
    nn_cfg *spec = NULL;
    if (nn_cfg_load_file(argv[1], &spec, &err))
        return fail(err.msg);
    hid_t in = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (in < 0)
        return fail("cannot open input");
    int64_t n_x, n_y;
    int ndim_x, ndim_y;
    hsize_t dims_x[8], dims_y[8];
    float *x = read_floats(in, "/x", &n_x, &ndim_x, dims_x);
    float *y = read_floats(in, "/y", &n_y, &ndim_y, dims_y);
    if (!x || !y)
        return fail("input needs /x and /y");
    int64_t rows = (int64_t)dims_x[0];
    int64_t steps = 0, training = 1;
    nn_cfg_read_int(spec, "steps", 0, &steps, &err);
    nn_cfg_read_int(spec, "training", 1, &training, &err);

    nn_model *model = NULL;
    if (nn_model_build(nn_cfg_get(spec, "model"), rows, 1, NN_MODEL_INPUT_GRAD, &model, &err))
        return fail(err.msg);
    const nn_cfg *precision = nn_cfg_get(spec, "precision");
    if (precision && nn_cfg_scalar(precision) && !strcmp(nn_cfg_scalar(precision), "bf16") &&
        nn_model_use_bf16(model, 1, &err))
        return fail(err.msg);
    for (int k = 0; k < model->n_params; k++) {
        nn_param *p = &model->params[k];
        char name[512];
        snprintf(name, sizeof name, "/%s/%s",
                 (p->flags & NN_PARAM_STATE) ? "state" : "params", p->name);
        int64_t count;
        int nd;
        hsize_t dims[8];
        float *values = read_floats(in, name, &count, &nd, dims);
        if (!values && !(p->flags & NN_PARAM_STATE)) {
            fprintf(stderr, "refdriver: missing %s\n", name);
            return 1;
        }
        if (values) {
            if (count != p->size) {
                fprintf(stderr, "refdriver: %s has %lld values, expected %lld\n", name,
                        (long long)count, (long long)p->size);
                return 1;
            }
            memcpy(nn_model_param_data(model, p), values, (size_t)count * sizeof(float));
            free(values);
        }
    }
    int labels = ndim_y == 1;
    int32_t *y_labels = NULL;
    if (labels) {
        y_labels = malloc((size_t)rows * sizeof *y_labels);
        for (int64_t i = 0; i < rows; i++)
            y_labels[i] = (int32_t)y[i];
    }
    int64_t width = labels ? 1 : (int64_t)dims_y[1];
    int64_t n_len, n_ylen;
    int nd_len;
    hsize_t dims_len[8];
    float *x_len = read_floats(in, "/x_lengths", &n_len, &nd_len, dims_len);
    float *y_len = read_floats(in, "/y_lengths", &n_ylen, &nd_len, dims_len);
    int32_t *x_lengths = x_len ? malloc((size_t)rows * sizeof *x_lengths) : NULL;
    int32_t *y_lengths = y_len ? malloc((size_t)rows * sizeof *y_lengths) : NULL;
    for (int64_t i = 0; i < rows; i++) {
        if (x_lengths)
            x_lengths[i] = (int32_t)x_len[i];
        if (y_lengths)
            y_lengths[i] = (int32_t)y_len[i];
    }
    const int64_t output_steps = nn_model_output_steps(model);
    nn_targets targets = {.labels = y_labels, .values = labels ? NULL : y, .width = width,
                          .lengths = y_lengths,
                          .steps = output_steps ? x_lengths : NULL,
                          .steps_total = output_steps};
    nn_loss *loss = NULL;
    nn_optim *opt = NULL;
    if (nn_loss_build(nn_cfg_get(spec, "loss"), nn_model_output_size(model), labels, width,
                      (int)nn_model_output_size(model), &loss, &err) ||
        (steps > 0 && nn_optim_build(nn_cfg_get(spec, "optimizer"), model, &opt, &err)))
        return fail(err.msg);

    int64_t *ids = malloc((size_t)rows * sizeof *ids);
    for (int64_t i = 0; i < rows; i++)
        ids[i] = i;
    nn_pass pass = {.batch = rows, .training = (int)training, .seed = 1, .sample_ids = ids,
                    .lengths = x_lengths};
    hid_t out = H5Fcreate(argv[3], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int64_t out_size = nn_model_output_size(model);
    for (int64_t step = 0; step <= steps; step++) {
        memcpy(nn_model_input(model), x, (size_t)n_x * sizeof(float));
        nn_model_forward(model, &pass);
        double total = nn_loss_eval(loss, model->output->out, &targets, rows, 1.0f / (float)rows,
                                    model->output->dout);
        nn_model_backward(model, &pass);
        total += (double)rows * nn_loss_add_penalties(loss, model);
        if (step == 0) {
            hsize_t od[2] = {(hsize_t)rows, (hsize_t)out_size}, one = 1;
            write_floats(out, "/output", model->output->out, 2, od);
            float mean = (float)(total / (double)rows);
            write_floats(out, "/loss", &mean, 1, &one);
            write_floats(out, "/dinput", model->layers[0]->dout, ndim_x, dims_x);
            write_params(out, model, "grad", "grad_state", 1);
        }
        if (step < steps)
            nn_optim_step(opt, model, nn_optim_base_lr(opt));
    }
    write_params(out, model, "after", "after_state", 0);
    H5Fclose(out);
    H5Fclose(in);
    free(ids);
    free(x);
    free(y);
    free(y_labels);
    free(x_len);
    free(y_len);
    free(x_lengths);
    free(y_lengths);
    nn_optim_free(opt);
    nn_loss_free(loss);
    nn_model_free(model);
    nn_cfg_free(spec);
    return 0;
}

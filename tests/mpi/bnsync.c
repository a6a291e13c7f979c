/* Synchronized batchnorm across ranks: each rank trains on its share of a global batch with
 * `sync: true`, and every rank also computes the whole batch alone with `sync: false`. The
 * forward outputs, input gradients, summed parameter gradients and running statistics must
 * agree (N ranks give what one rank gives). The same run with `sync: false` on the shares
 * must NOT agree, so the check can tell. Run under mpirun with any number of ranks (the
 * global batch of 7 rows splits unevenly over 2 or 3). Exit status 0 when all agree. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/config.h"
#include "nn/parallel.h"
#include "nn/loss.h"
#include "nn/model.h"

enum { GLOBAL = 7 };

static const char *const MODELS[] = {
    /* spatial, after a conv; then dense batchnorm */
    "{input: [2, 5, 4], layers: ["
    "{name: c, type: conv2d, filters: 3, kernel: 3, padding: same, bias: false},"
    "{name: bn1, type: batchnorm, momentum: 0.3, sync: %s, activation: tanh},"
    "{name: fc, type: dense, units: 6, bias: false},"
    "{name: bn2, type: batchnorm, sync: %s, activation: tanh},"
    "{name: out, type: dense, units: 4}]}",
};

static nn_model *build(const char *fmt, const char *sync, int64_t capacity)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, fmt, sync, sync);
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_model *model = NULL;
    if (nn_cfg_load_string(yaml, "bnsync", &cfg, &err) ||
        nn_model_build(cfg, capacity, 9, NN_MODEL_INPUT_GRAD, &model, &err)) {
        fprintf(stderr, "bnsync: %s\n", err.msg);
        exit(2);
    }
    nn_cfg_free(cfg);
    return model;
}

/* forward + loss (mean over the GLOBAL batch) + backward on rows [first, first + count). */
static void step(nn_model *model, nn_loss *loss, const float *x, const int32_t *labels,
                 int64_t first, int64_t count, const nn_comm *comm)
{
    const int64_t in = nn_model_input_size(model);
    memcpy(nn_model_input(model), x + first * in, (size_t)(count * in) * sizeof *x);
    nn_targets targets = {.labels = labels + first, .width = 1};
    nn_pass pass = {.batch = count, .training = 1, .comm = (void *)comm};
    nn_model_forward(model, &pass);
    nn_loss_eval(loss, model->output->out, &targets, count, 1.0f / GLOBAL, model->output->dout);
    nn_model_backward(model, &pass);
}

static double max_diff(const float *a, const float *b, int64_t n, double *scale)
{
    double worst = 0;
    *scale = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        *scale = fmax(*scale, fabs(b[i]));
    }
    return worst;
}

/* Largest difference relative to the reference's scale, over outputs, input gradients,
 * parameter gradients (summed over ranks) and batchnorm state. */
static double compare(const nn_comm *comm, const char *fmt, const char *sync, int verbose)
{
    int64_t first, count;
    nn_comm_share(comm, GLOBAL, &first, &count);
    nn_model *local = build(fmt, sync, count > 0 ? count : 1);
    nn_model *whole = build(fmt, "false", GLOBAL);
    nn_error err = {0};
    nn_loss *loss = NULL;
    nn_cfg *loss_cfg = NULL;
    if (nn_cfg_parse_value("cross_entropy", "loss", &loss_cfg, &err) ||
        nn_loss_build(loss_cfg, nn_model_output_size(whole), 1, 1, 4, &loss, &err)) {
        fprintf(stderr, "bnsync: %s\n", err.msg);
        exit(2);
    }
    nn_cfg_free(loss_cfg);
    const int64_t in = nn_model_input_size(whole), out = nn_model_output_size(whole);
    float *x = malloc((size_t)(GLOBAL * in) * sizeof *x);
    int32_t labels[GLOBAL];
    nni_rng rng = nni_rng_stream(4, NNI_RNG_NOISE, 0, 0, 0);
    for (int64_t i = 0; i < GLOBAL * in; i++)
        x[i] = 2.0f * nni_rng_uniform(&rng) - 1.0f;
    for (int i = 0; i < GLOBAL; i++)
        labels[i] = i % 4;

    step(local, loss, x, labels, first, count, comm);
    nn_comm_sum_floats(comm, local->grad_data, local->n_param_floats);
    step(whole, loss, x, labels, 0, GLOBAL, NULL);

    double worst = 0, scale, d;
    const char *where = "";
    d = max_diff(local->output->out, whole->output->out + first * out, count * out, &scale);
    if (d / scale > worst)
        worst = d / scale, where = "output";
    d = max_diff(local->layers[0]->dout, whole->layers[0]->dout + first * in, count * in, &scale);
    if (d / scale > worst)
        worst = d / scale, where = "input gradient";
    for (int k = 0; k < whole->n_params; k++) {
        const nn_param *p = &whole->params[k], *q = &local->params[k];
        const float *mine = (p->flags & NN_PARAM_STATE) ? nn_model_param_data(local, q)
                                                        : nn_model_param_grad(local, q);
        const float *ref = (p->flags & NN_PARAM_STATE) ? nn_model_param_data(whole, p)
                                                       : nn_model_param_grad(whole, p);
        d = max_diff(mine, ref, p->size, &scale);
        if (d / scale > worst)
            worst = d / scale, where = p->name;
    }
    /* every rank must agree; report the worst (comm is the world) */
    double worst_all = worst;
    MPI_Allreduce(MPI_IN_PLACE, &worst_all, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (verbose && comm->rank == 0)
        printf("sync: %-5s ranks %d: largest relative difference %.3g%s%s\n", sync, comm->size,
               worst_all, worst == worst_all ? " at " : "", worst == worst_all ? where : "");
    free(x);
    nn_loss_free(loss);
    nn_model_free(local);
    nn_model_free(whole);
    return worst_all;
}

int main(int argc, char **argv)
{
    nn_comm world;
    nn_error err = {0};
    if (nn_parallel_init(&argc, &argv, &world, &err)) {
        fprintf(stderr, "bnsync: %s\n", err.msg);
        return 2;
    }
    int failed = 0;
    for (size_t m = 0; m < sizeof MODELS / sizeof MODELS[0]; m++) {
        double synced = compare(&world, MODELS[m], "true", 1);
        double unsynced = compare(&world, MODELS[m], "false", 1);
        if (synced > 1e-5)
            failed = 1;
        /* with more than one rank, local statistics must show */
        if (world.size > 1 && unsynced < 1e-3)
            failed = 1;
    }
    if (world.rank == 0)
        printf("%s\n", failed ? "FAIL" : "ok");
    nn_parallel_finalize();
    return failed;
}

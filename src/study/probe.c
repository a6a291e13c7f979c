/* Linear probes: the probe is an nntrain model (input [width] -> dense num_classes) built
 * from a config, trained by minibatch Adam on shuffled rows with the cross-entropy loss,
 * the same forward, backward, loss and update a training run uses. */
#include "study/probe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/config.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"

typedef struct probe {
    nn_cfg *cfg;
    nn_model *model;
    nn_loss *loss;
    nn_optim *optim;
    double *mean, *inv_std;
    int64_t width;
} probe;

static void probe_free(probe *p)
{
    nn_optim_free(p->optim);
    nn_loss_free(p->loss);
    nn_model_free(p->model);
    nn_cfg_free(p->cfg);
    free(p->mean);
    free(p->inv_std);
}

static nn_status probe_build(probe *p, int64_t width, int num_classes,
                             const nni_probe_options *o, nn_error *err)
{
    memset(p, 0, sizeof *p);
    p->width = width;
    char text[512];
    snprintf(text, sizeof text,
             "model:\n  input: [%lld]\n  layers:\n"
             "    - {name: probe, type: dense, units: %d, init: zeros}\n"
             "loss: cross_entropy\noptimizer: {type: adam, lr: %.17g}\n",
             (long long)width, num_classes, o->lr);
    nn_status st = nn_cfg_load_string(text, "probe", &p->cfg, err);
    if (!st)
        st = nn_model_build(nn_cfg_get(p->cfg, "model"), o->batch, o->seed, 0, &p->model, err);
    if (!st)
        st = nn_loss_build(nn_cfg_get(p->cfg, "loss"), num_classes, 1, 1, num_classes, &p->loss,
                           err);
    if (!st)
        st = nn_optim_build(nn_cfg_get(p->cfg, "optimizer"), p->model, &p->optim, err);
    p->mean = calloc((size_t)width, sizeof *p->mean);
    p->inv_std = calloc((size_t)width, sizeof *p->inv_std);
    if (!st && (!p->mean || !p->inv_std))
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    return st;
}

/* The training rows' per-feature mean and 1/std (1 for a constant feature). */
static void standardize_from(probe *p, const nni_probe_data *d)
{
    double *square = calloc((size_t)p->width, sizeof *square);
    for (int64_t r = 0; square && r < d->rows; r++)
        for (int64_t j = 0; j < p->width; j++) {
            double v = d->x[r * p->width + j];
            p->mean[j] += v;
            square[j] += v * v;
        }
    for (int64_t j = 0; square && j < p->width; j++) {
        p->mean[j] /= (double)d->rows;
        double var = square[j] / (double)d->rows - p->mean[j] * p->mean[j];
        p->inv_std[j] = var > 1e-12 ? 1 / sqrt(var) : 1;
    }
    free(square);
}

/* Rows idx[0..count) of d, standardized, into the model input. */
static void load_rows(probe *p, const nni_probe_data *d, const int64_t *idx, int64_t count)
{
    float *in = nn_model_input(p->model);
    for (int64_t i = 0; i < count; i++) {
        const float *row = d->x + idx[i] * p->width;
        for (int64_t j = 0; j < p->width; j++)
            in[i * p->width + j] = (float)((row[j] - p->mean[j]) * p->inv_std[j]);
    }
}

static double accuracy(probe *p, const nni_probe_data *d, int64_t *idx)
{
    int64_t correct = 0, classes = nn_model_output_size(p->model);
    nn_pass pass = {.training = 0};
    for (int64_t first = 0; first < d->rows; first += p->model->capacity) {
        int64_t count = d->rows - first < p->model->capacity ? d->rows - first
                                                             : p->model->capacity;
        for (int64_t i = 0; i < count; i++)
            idx[i] = first + i;
        load_rows(p, d, idx, count);
        pass.batch = count;
        nn_model_forward(p->model, &pass);
        const float *out = p->model->output->out;
        for (int64_t r = 0; r < count; r++) {
            int64_t best = 0;
            for (int64_t c = 1; c < classes; c++)
                if (out[r * classes + c] > out[r * classes + best])
                    best = c;
            correct += best == d->labels[first + r];
        }
    }
    return (double)correct / (double)d->rows;
}

nn_status nni_probe_fit(const nni_probe_data *train, const nni_probe_data *eval, int64_t width,
                        int num_classes, const nni_probe_options *opts, double *train_accuracy,
                        double *eval_accuracy, nn_error *err)
{
    if (num_classes < 2 || !train->labels || !eval->labels)
        return nn_fail(err, NN_ERR_DATA, "a probe needs class labels (the dataset has %d "
                       "classes)", num_classes);
    for (int64_t r = 0; r < train->rows; r++)
        if (train->labels[r] < 0 || train->labels[r] >= num_classes)
            return nn_fail(err, NN_ERR_DATA, "label %d of row %lld is not in 0..%d",
                           train->labels[r], (long long)r, num_classes - 1);
    probe p;
    nn_status st = probe_build(&p, width, num_classes, opts, err);
    int64_t *perm = malloc((size_t)(train->rows > opts->batch ? train->rows : opts->batch) *
                           sizeof *perm);
    int32_t *labels = malloc((size_t)opts->batch * sizeof *labels);
    if (!st && (!perm || !labels))
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (!st) {
        standardize_from(&p, train);
        nn_pass pass = {.training = 1, .seed = opts->seed};
        for (int epoch = 0; epoch < opts->epochs; epoch++) {
            nni_rng_permutation(opts->seed, NNI_RNG_SHUFFLE, (uint32_t)epoch, perm, train->rows);
            for (int64_t first = 0; first < train->rows; first += opts->batch) {
                int64_t count = train->rows - first < opts->batch ? train->rows - first
                                                                  : opts->batch;
                for (int64_t i = 0; i < count; i++)
                    labels[i] = train->labels[perm[first + i]];
                load_rows(&p, train, perm + first, count);
                pass.batch = count;
                nn_model_forward(p.model, &pass);
                nn_targets t = {.labels = labels, .width = 1};
                nn_loss_eval(p.loss, p.model->output->out, &t, count, 1.0f / (float)count,
                             p.model->output->dout);
                nn_model_backward(p.model, &pass);
                nn_optim_step(p.optim, p.model, opts->lr);
            }
        }
        *train_accuracy = accuracy(&p, train, perm);
        *eval_accuracy = accuracy(&p, eval, perm);
    }
    free(perm);
    free(labels);
    probe_free(&p);
    return st;
}

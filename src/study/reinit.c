/* Layer re-initialization (src/study/reinit.h): one model rebuilt from the run's last.h5
 * holds, in turn, the weights of each checkpoint; a second model of the same config holds
 * the weights a layer is reset to. Cells of the table are dealt to the ranks in turn and
 * summed at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/ckpt.h"
#include "nn/model.h"
#include "nn/trainer.h"
#include "study/reinit.h"

static int layer_has_params(const nn_model *m, const nn_layer *layer)
{
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].layer == layer)
            return 1;
    return 0;
}

static nn_status choose_layers(const nni_reinit_plan *plan, const nn_model *m,
                               nni_reinit_result *out, nn_error *err)
{
    char names[1024] = "";
    size_t used = 0;
    int n_with = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (layer_has_params(m, m->layers[i])) {
            n_with++;
            used += (size_t)snprintf(names + used, used < sizeof names ? sizeof names - used : 0,
                                     "%s%s", used ? ", " : "", m->layers[i]->name);
        }
    int n = plan->layers ? plan->n_layers : n_with;
    out->layer_names = calloc((size_t)(n ? n : 1), sizeof *out->layer_names);
    if (!out->layer_names)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    out->n_layers = n;
    if (!plan->layers) {
        for (int i = 0, k = 0; i < m->n_layers; i++)
            if (layer_has_params(m, m->layers[i]))
                snprintf(out->layer_names[k++], sizeof out->layer_names[0], "%s",
                         m->layers[i]->name);
        return NN_OK;
    }
    for (int k = 0; k < n; k++) {
        int found = 0;
        for (int i = 0; i < m->n_layers && !found; i++)
            found = !strcmp(m->layers[i]->name, plan->layers[k]) &&
                    layer_has_params(m, m->layers[i]);
        if (!found)
            return nn_fail(err, NN_ERR_CONFIG, "reinit: the model has no layer '%s' with "
                           "parameters (layers: %s)", plan->layers[k], names);
        snprintf(out->layer_names[k], sizeof out->layer_names[0], "%s", plan->layers[k]);
    }
    return NN_OK;
}

/* The model whose weights a reset layer takes: epoch-000.h5, or a fresh draw. */
static nn_status open_source(const nni_reinit_plan *plan, const nn_cfg *cfg, nn_model **source,
                             nn_error *err)
{
    int64_t seed = 42;
    nn_status st = nn_cfg_read_int(cfg, "seed", 42, &seed, err);
    if (st)
        return st;
    char initial[700];
    snprintf(initial, sizeof initial, "%s/epoch-000.h5", plan->run_dir);
    if (!plan->to_random && access(initial, R_OK) != 0)
        return nn_fail(err, NN_ERR_CONFIG, "reinit: %s is missing: train with "
                       "train.checkpoint.keep_initial: true, or reset to a fresh draw with "
                       "--to random", initial);
    /* A fresh draw is the model the run would have started from with the next seed. */
    st = nn_model_build(nn_cfg_get(cfg, "model"), 1, (uint64_t)seed + (plan->to_random ? 1 : 0),
                        0, source, err);
    if (!st && !plan->to_random)
        st = nn_ckpt_load(initial, *source, NULL, err);
    return st;
}

static void checkpoint_path(const nni_reinit_plan *plan, int epoch, char *path, size_t size)
{
    if (epoch < 0)
        snprintf(path, size, "%s/last.h5", plan->run_dir);
    else
        snprintf(path, size, "%s/epoch-%03d.h5", plan->run_dir, epoch);
}

static void reset_layer(nn_model *m, nn_model *source, const char *layer)
{
    for (int i = 0; i < m->n_params; i++) {
        nn_param *p = &m->params[i];
        if (strcmp(p->layer->name, layer) != 0)
            continue;
        const nn_param *q = nn_model_find_param(source, p->name);
        memcpy(nn_model_param_data(m, p), nn_model_param_data(source, q),
               (size_t)p->size * sizeof(float));
    }
}

nn_status nni_reinit_run(const nni_reinit_plan *plan, const nn_comm *comm,
                         nni_reinit_result *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    char path[700];
    checkpoint_path(plan, -1, path, sizeof path);
    nn_ckpt_runner l;
    nn_model *source = NULL;
    float *trained = NULL;
    nn_status st = nn_ckpt_runner_open(path, plan->split, plan->data_path, &l, err);
    if (!st)
        st = open_source(plan, l.cfg, &source, err);
    if (!st)
        st = choose_layers(plan, l.model, out, err);
    for (int e = 0; !st && e < plan->n_epochs; e++) {
        checkpoint_path(plan, plan->epochs[e], path, sizeof path);
        if (plan->epochs[e] < 0 || access(path, R_OK) != 0)
            st = nn_fail(err, NN_ERR_CONFIG, "reinit: %s is missing (a run keeps the last "
                         "train.checkpoint.keep epochs; raise keep to study earlier ones)",
                         path);
    }
    int n_rows = out->n_layers + 2;
    out->n_checkpoints = plan->n_epochs + 1;
    int n_cells = out->n_checkpoints * n_rows;
    if (!st) {
        out->checkpoint_epochs = malloc((size_t)out->n_checkpoints * sizeof(int));
        /* One more slot: how many ranks failed, summed with the results. */
        out->accuracy = calloc((size_t)n_cells + 1, sizeof(double));
        out->loss = calloc((size_t)n_cells, sizeof(double));
        trained = malloc((size_t)(l.model->n_param_floats + l.model->n_state_floats + 1) *
                         sizeof *trained);
        if (!out->checkpoint_epochs || !out->accuracy || !out->loss || !trained)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    if (st) { /* the same on every rank: every rank checked the same files */
        free(trained);
        nn_model_free(source);
        nn_ckpt_runner_close(&l);
        nni_reinit_result_free(out);
        return st;
    }
    out->samples = l.data.n;
    nn_model *m = l.model;
    float *trained_state = trained + m->n_param_floats;
    for (int c = 0; c < out->n_checkpoints && !st; c++) {
        int epoch = c < plan->n_epochs ? plan->epochs[c] : -1;
        out->checkpoint_epochs[c] = epoch;
        int mine = 0;
        for (int r = 0; r < n_rows; r++)
            mine |= (c * n_rows + r) % comm->size == comm->rank;
        if (!mine)
            continue;
        checkpoint_path(plan, epoch, path, sizeof path);
        if ((st = nn_ckpt_load(path, m, NULL, err)))
            break;
        memcpy(trained, m->param_data, (size_t)m->n_param_floats * sizeof *trained);
        memcpy(trained_state, m->state_data, (size_t)m->n_state_floats * sizeof *trained);
        for (int r = 0; r < n_rows; r++) {
            int cell = c * n_rows + r;
            if (cell % comm->size != comm->rank)
                continue;
            memcpy(m->param_data, trained, (size_t)m->n_param_floats * sizeof *trained);
            memcpy(m->state_data, trained_state, (size_t)m->n_state_floats * sizeof *trained);
            for (int k = 0; k < out->n_layers; k++)
                if (r == k + 1 || r == n_rows - 1)
                    reset_layer(m, source, out->layer_names[k]);
            nn_ckpt_runner_evaluate(&l, &out->loss[cell], &out->accuracy[cell]);
        }
    }
    out->accuracy[n_cells] = st ? 1 : 0;
    nn_comm_sum_doubles(comm, out->accuracy, n_cells + 1);
    nn_comm_sum_doubles(comm, out->loss, n_cells);
    if (!st && out->accuracy[n_cells] > 0)
        st = nn_fail(err, NN_ERR_DATA, "reinit: another rank could not evaluate its share");
    free(trained);
    nn_model_free(source);
    nn_ckpt_runner_close(&l);
    if (st)
        nni_reinit_result_free(out);
    return st;
}

void nni_reinit_result_free(nni_reinit_result *r)
{
    free(r->layer_names);
    free(r->checkpoint_epochs);
    free(r->accuracy);
    free(r->loss);
    memset(r, 0, sizeof *r);
}

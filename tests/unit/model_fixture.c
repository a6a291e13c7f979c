/* Model fixtures for unit tests (see model_fixture.h). */
#include "model_fixture.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/config.h"
#include "nn/loss.h"

nn_model *fixture_model(const char *model_yaml, int64_t batch, uint64_t seed)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_model *model = NULL;
    if (nn_cfg_load_string(model_yaml, "test-model", &cfg, &err) ||
        nn_model_build(cfg, batch, seed, NN_MODEL_INPUT_GRAD, &model, &err)) {
        fprintf(stderr, "fixture_model: %s\n", err.msg);
        nn_cfg_free(cfg);
        return NULL;
    }
    /* The model keeps pointers into its layers' config nodes only during the build. */
    nn_cfg_free(cfg);
    return model;
}

nn_optim *fixture_optim(const char *optim_yaml, const nn_model *model)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_optim *opt = NULL;
    if (nn_cfg_parse_value(optim_yaml, "optimizer.yaml", &cfg, &err) ||
        nn_optim_build(cfg, model, &opt, &err))
        fprintf(stderr, "fixture_optim: %s: %s\n", optim_yaml, err.msg);
    nn_cfg_free(cfg);
    return opt;
}

typedef struct objective_ctx {
    nn_model *model;
    nn_pass pass;
    const float *weights; /* r */
} objective_ctx;

static double objective(void *opaque)
{
    objective_ctx *ctx = opaque;
    nn_model_forward(ctx->model, &ctx->pass);
    const float *out = ctx->model->output->out;
    int64_t n = ctx->pass.batch * nn_model_output_size(ctx->model);
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)out[i] * ctx->weights[i];
    return sum;
}

int fixture_gradcheck(nn_model *model, int64_t batch, int training, double atol, double rtol)
{
    return fixture_gradcheck_at(model, batch, training, atol, rtol, NULL);
}

int fixture_gradcheck_at(nn_model *model, int64_t batch, int training, double atol,
                         double rtol, const float *input)
{
    return fixture_gradcheck_lengths(model, batch, training, atol, rtol, input, NULL);
}

int fixture_gradcheck_lengths(nn_model *model, int64_t batch, int training, double atol,
                              double rtol, const float *input, const int32_t *lengths)
{
    int64_t in_n = batch * nn_model_input_size(model);
    int64_t out_n = batch * nn_model_output_size(model);
    float *r = malloc((size_t)out_n * sizeof *r);
    int64_t ids[4096];
    for (int64_t i = 0; i < batch && i < 4096; i++)
        ids[i] = 1000 + i;
    if (input)
        memcpy(nn_model_input(model), input, (size_t)in_n * sizeof *input);
    else
        nn_test_fill(nn_model_input(model), in_n, 11, -2.0f, 2.0f);
    nn_test_fill(r, out_n, 12, -1.0f, 1.0f);
    objective_ctx ctx = {.model = model, .weights = r,
                         .pass = {.batch = batch, .training = training, .seed = 5,
                                  .sample_ids = ids, .lengths = lengths}};
    objective(&ctx);
    memcpy(model->output->dout, r, (size_t)out_n * sizeof *r);
    nn_model_backward(model, &ctx.pass);
    char report[256];
    int ok = 1;
    float *analytic_in = malloc((size_t)in_n * sizeof *analytic_in);
    memcpy(analytic_in, model->layers[0]->dout, (size_t)in_n * sizeof *analytic_in);
    if (!nn_gradcheck(objective, &ctx, nn_model_input(model), analytic_in, in_n, 1e-3, atol,
                      rtol, report, sizeof report)) {
        fprintf(stderr, "input gradient: %s\n", report);
        ok = 0;
    }
    float *analytic = malloc((size_t)(model->n_param_floats + 1) * sizeof *analytic);
    memcpy(analytic, model->grad_data, (size_t)model->n_param_floats * sizeof *analytic);
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if ((p->flags & NN_PARAM_STATE) || p->frozen)
            continue;
        if (!nn_gradcheck(objective, &ctx, model->param_data + p->offset,
                          analytic + p->offset, p->size, 1e-3, atol, rtol, report,
                          sizeof report)) {
            fprintf(stderr, "parameter %s: %s\n", p->name, report);
            ok = 0;
        }
    }
    free(analytic);
    free(analytic_in);
    free(r);
    return ok;
}

int fixture_config_error(const char *model_yaml, const char *expect)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nn_model *model = NULL;
    if (nn_cfg_load_string(model_yaml, "m.yaml", &cfg, &err) != NN_OK) {
        fprintf(stderr, "fixture_config_error: the YAML itself is bad: %s\n", err.msg);
        return 0;
    }
    nn_status st = nn_model_build(cfg, 2, 1, 0, &model, &err);
    nn_cfg_free(cfg);
    int ok = st == NN_ERR_CONFIG && strstr(err.msg, expect) && !model;
    if (!ok)
        fprintf(stderr, "%s: status %d, message '%s', expected '%s'\n", model_yaml, st,
                err.msg, expect);
    nn_model_free(model);
    return ok;
}

int fixture_fused_relu_bits(nn_model *model, int64_t batch, int64_t nan_at, const char *what)
{
    nn_model_input(model)[nan_at] = NAN;
    nn_pass pass = {.batch = batch};
    nn_model_forward(model, &pass);
    const float *pre = model->layers[1]->out, *got = model->output->out;
    const int64_t n = batch * nn_model_output_size(model);
    if (pre == got) {
        printf("%s: the relu is not a layer of its own\n", what);
        return 0;
    }
    int nans = 0;
    for (int64_t i = 0; i < n; i++) {
        const float want = pre[i] > 0.0f ? pre[i] : 0.0f;
        nans += isnan(pre[i]);
        if (memcmp(&got[i], &want, sizeof want)) {
            printf("%s: relu output %lld is %a for %a\n", what, (long long)i, (double)got[i],
                   (double)pre[i]);
            return 0;
        }
    }
    if (!nans)
        printf("%s: the NaN reached no output\n", what);
    /* A training pass, which may leave y out, writes the same relu outputs. */
    float *eval = malloc((size_t)n * sizeof *eval);
    memcpy(eval, got, (size_t)n * sizeof *eval);
    memset(model->output->out, 0xff, (size_t)n * sizeof *eval); /* NaNs, to be overwritten */
    pass.training = 1;
    nn_model_forward(model, &pass);
    const int same = !memcmp(eval, model->output->out, (size_t)n * sizeof *eval);
    if (!same)
        printf("%s: the training pass's relu outputs differ from the evaluation's\n", what);
    free(eval);
    return nans > 0 && same;
}

int fixture_mentions(const char *text, const char *word)
{
    size_t len = strlen(word);
    for (const char *at = strstr(text, word); at; at = strstr(at + 1, word)) {
        int starts = at == text || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
        int ends = !(isalnum((unsigned char)at[len]) || at[len] == '_');
        if (starts && ends)
            return 1;
    }
    return 0;
}

typedef struct name_list {
    char *buf;
    size_t size, used;
} name_list;

static void append_name(const nni_catalogue_row *row, void *ctx)
{
    name_list *list = ctx;
    if (list->used < list->size)
        list->used += (size_t)snprintf(list->buf + list->used, list->size - list->used, "%s%s",
                                       list->used > strlen("valid: ") ? ", " : "", row->name);
}

void fixture_valid_list(void (*catalogue)(nni_catalogue_emit emit, void *ctx), char *buf,
                        size_t size)
{
    name_list list = {buf, size, (size_t)snprintf(buf, size, "valid: ")};
    catalogue(append_name, &list);
}

float *fixture_train_steps(const char *model_yaml, const char *loss_yaml, int64_t batch,
                           int steps, int one_hot, int64_t *n_floats)
{
    nn_model *model = fixture_model(model_yaml, batch, 1);
    nn_optim *opt = model ? fixture_optim("{type: sgd, lr: 0.05}", model) : NULL;
    nn_cfg *cfg = NULL;
    nn_loss *loss = NULL;
    nn_error err = {0};
    const int64_t width = model ? nn_model_output_size(model) : 0;
    float *result = NULL, *targets = malloc((size_t)(batch * (width ? width : 1)) * sizeof(float));
    if (!opt || !targets || nn_cfg_parse_value(loss_yaml, "loss.yaml", &cfg, &err) ||
        nn_loss_build(cfg, width, 0, width, (int)width, &loss, &err)) {
        fprintf(stderr, "fixture_train_steps: %s\n", err.msg);
        goto done;
    }
    nn_test_fill(nn_model_input(model), batch * nn_model_input_size(model), 11, -2.0f, 2.0f);
    nn_test_fill(targets, batch * width, 12, -1.0f, 1.0f);
    for (int64_t r = 0; one_hot && r < batch; r++)
        for (int64_t c = 0; c < width; c++)
            targets[r * width + c] = c == (r * 7 + 3) % width ? 1.0f : 0.0f;
    nn_targets t = {.values = targets, .width = width};
    nn_pass pass = {.batch = batch, .training = 1};
    for (int s = 0; s < steps; s++) {
        nn_model_forward(model, &pass);
        nn_loss_eval(loss, model->output->out, &t, batch, 1.0f / (float)batch,
                     model->output->dout);
        nn_model_backward(model, &pass);
        nn_optim_step(opt, model, 0.05);
    }
    *n_floats = model->n_param_floats;
    result = malloc((size_t)model->n_param_floats * sizeof *result);
    if (result)
        memcpy(result, model->param_data, (size_t)model->n_param_floats * sizeof *result);
done:
    free(targets);
    nn_loss_free(loss);
    nn_cfg_free(cfg);
    nn_optim_free(opt);
    nn_model_free(model);
    return result;
}

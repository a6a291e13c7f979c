/* Optimizers: one table entry each, with the slots it keeps and an update function applied
 * to every trainable parameter view. Update rules follow torch.optim exactly (including the
 * order of floating-point operations where it matters for agreement), so weights trained
 * here and in PyTorch from the same start agree to float rounding.
 *
 * Common options: weight_decay (L2 added to the gradient; decoupled for adamw), l1,
 * decay_exempt_bias_and_norm (biases and normalization parameters get neither). */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

typedef struct optim_hyper {
    double lr, momentum, beta1, beta2, eps, weight_decay, l1, alpha, dampening, trust;
    double initial_accumulator, lr_decay;
    int ema, centered, amsgrad, nesterov;
} optim_hyper;

typedef struct optim_view {
    float *w;
    const float *g;
    float *slot[NN_MAX_OPTIM_SLOTS];
    int64_t n;
    double weight_decay, l1; /* after exemptions */
    int adapt;               /* lars: apply the trust ratio (not to biases/norm params) */
} optim_view;

typedef struct optim_kind {
    const char *name;
    int n_slots;
    const char *slot_names[NN_MAX_OPTIM_SLOTS];
    const char *const *keys;
    /* step = updates done before this one + 1 */
    void (*update)(const optim_view *v, const optim_hyper *h, double lr, int64_t step);
    const char *help;
} optim_kind;

struct nn_optim {
    const optim_kind *kind;
    optim_hyper hyper;
    int exempt_bias_and_norm;
    int64_t steps;
    int64_t n_floats;
    float *slots[NN_MAX_OPTIM_SLOTS];
};

/* Gradient with L2 and L1 penalties folded in, as torch.optim adds weight_decay * w. */
static inline float penalized(const optim_view *v, int64_t i)
{
    float g = v->g[i];
    if (v->weight_decay != 0)
        g += (float)v->weight_decay * v->w[i];
    if (v->l1 != 0)
        g += (float)v->l1 * (v->w[i] > 0 ? 1.0f : v->w[i] < 0 ? -1.0f : 0.0f);
    return g;
}

static void sgd_update(const optim_view *v, const optim_hyper *h, double lr, int64_t step)
{
    (void)h;
    (void)step;
    const float rate = (float)lr;
    for (int64_t i = 0; i < v->n; i++)
        v->w[i] -= rate * penalized(v, i);
}

/* Classic momentum v = m v + g (torch SGD with momentum, dampening 0), or the moving-average
 * form v = m v + (1 - m) g when ema is set; nesterov uses g + m v as the step direction. */
static void momentum_update(const optim_view *v, const optim_hyper *h, double lr, int64_t step)
{
    const float m = (float)h->momentum, rate = (float)lr;
    const float gain = (float)(h->ema ? 1.0 - h->momentum : 1.0 - h->dampening);
    float *buf = v->slot[0];
    for (int64_t i = 0; i < v->n; i++) {
        float g = penalized(v, i);
        /* torch.optim.SGD starts the buffer at g on the first step (classic form). */
        buf[i] = (step == 1 && !h->ema) ? g : m * buf[i] + gain * g;
        float direction = h->nesterov ? g + m * buf[i] : buf[i];
        v->w[i] -= rate * direction;
    }
}

static void adam_update(const optim_view *v, const optim_hyper *h, double lr, int64_t step)
{
    const float b1 = (float)h->beta1, b2 = (float)h->beta2, eps = (float)h->eps;
    /* 1 - beta rounded once from double, as torch does with its Python-float arguments. */
    const float one_minus_b1 = (float)(1.0 - h->beta1), one_minus_b2 = (float)(1.0 - h->beta2);
    const double bias1 = 1.0 - pow(h->beta1, (double)step);
    const double bias2 = 1.0 - pow(h->beta2, (double)step);
    const float step_size = (float)(lr / bias1);
    const float bias2_sqrt = (float)sqrt(bias2);
    float *m = v->slot[0], *s = v->slot[1], *s_max = v->slot[2];
    if (v->weight_decay == 0 && v->l1 == 0 && !h->amsgrad) {
        /* The usual case as a loop without branches, which the compiler vectorizes (the
         * same operations in the same order, so the same results). Parameters, gradients
         * and slots are distinct buffers. */
        float *restrict w = v->w, *restrict m1 = m, *restrict m2 = s;
        const float *restrict grad = v->g;
        for (int64_t i = 0; i < v->n; i++) {
            const float g = grad[i];
            m1[i] = b1 * m1[i] + one_minus_b1 * g;
            m2[i] = b2 * m2[i] + one_minus_b2 * g * g;
            const float denom = sqrtf(m2[i]) / bias2_sqrt + eps;
            w[i] -= step_size * (m1[i] / denom);
        }
        return;
    }
    for (int64_t i = 0; i < v->n; i++) {
        float g = penalized(v, i);
        m[i] = b1 * m[i] + one_minus_b1 * g;
        s[i] = b2 * s[i] + one_minus_b2 * g * g;
        float second = s[i];
        if (h->amsgrad) {
            s_max[i] = s_max[i] > s[i] ? s_max[i] : s[i];
            second = s_max[i];
        }
        float denom = sqrtf(second) / bias2_sqrt + eps;
        v->w[i] -= step_size * (m[i] / denom);
    }
}

/* AdamW: decoupled weight decay w -= lr * wd * w before the Adam step. */
static void adamw_update(const optim_view *v, const optim_hyper *h, double lr, int64_t step)
{
    if (v->weight_decay != 0) {
        const float keep = (float)(1.0 - lr * v->weight_decay);
        for (int64_t i = 0; i < v->n; i++)
            v->w[i] *= keep;
    }
    optim_view plain = *v;
    plain.weight_decay = 0;
    adam_update(&plain, h, lr, step);
}

static void rmsprop_update(const optim_view *v, const optim_hyper *h, double lr, int64_t step)
{
    (void)step;
    const float a = (float)h->alpha, eps = (float)h->eps, m = (float)h->momentum;
    const float one_minus_a = (float)(1.0 - h->alpha);
    const float rate = (float)lr;
    float *sq = v->slot[0], *buf = v->slot[1], *mean = v->slot[2];
    for (int64_t i = 0; i < v->n; i++) {
        float g = penalized(v, i);
        sq[i] = a * sq[i] + one_minus_a * g * g;
        float avg;
        if (h->centered) {
            mean[i] = a * mean[i] + one_minus_a * g;
            avg = sqrtf(sq[i] - mean[i] * mean[i]) + eps;
        } else {
            avg = sqrtf(sq[i]) + eps;
        }
        if (m > 0) {
            buf[i] = m * buf[i] + g / avg;
            v->w[i] -= rate * buf[i];
        } else {
            v->w[i] -= rate * g / avg;
        }
    }
}

static void adagrad_update(const optim_view *v, const optim_hyper *h, double lr, int64_t step)
{
    const float clr = (float)(lr / (1.0 + (double)(step - 1) * h->lr_decay));
    const float eps = (float)h->eps;
    float *sum = v->slot[0];
    if (step == 1 && h->initial_accumulator != 0)
        for (int64_t i = 0; i < v->n; i++)
            sum[i] = (float)h->initial_accumulator;
    for (int64_t i = 0; i < v->n; i++) {
        float g = penalized(v, i);
        sum[i] += g * g;
        v->w[i] -= clr * g / (sqrtf(sum[i]) + eps);
    }
}

/* LARS (You et al., 2017): per-tensor trust ratio eta ||w|| / (||g|| + wd ||w||) scales the
 * step of weight tensors; v = m v + lr * ratio * (g + wd w); w -= v. */
static void lars_update(const optim_view *v, const optim_hyper *h, double lr, int64_t step)
{
    (void)step;
    double w_norm = 0, g_norm = 0;
    for (int64_t i = 0; i < v->n; i++) {
        w_norm += (double)v->w[i] * v->w[i];
        g_norm += (double)v->g[i] * v->g[i];
    }
    w_norm = sqrt(w_norm);
    g_norm = sqrt(g_norm);
    double ratio = 1.0;
    if (v->adapt && w_norm > 0 && g_norm > 0)
        ratio = h->trust * w_norm / (g_norm + v->weight_decay * w_norm + h->eps);
    const float scaled = (float)(lr * ratio), m = (float)h->momentum;
    float *buf = v->slot[0];
    for (int64_t i = 0; i < v->n; i++) {
        buf[i] = m * buf[i] + scaled * penalized(v, i);
        v->w[i] -= buf[i];
    }
}

static const char *const sgd_keys[] = {"lr", "weight_decay", "l1", "decay_exempt_bias_and_norm", NULL};
static const char *const momentum_keys[] = {"lr", "momentum", "form", "dampening", "weight_decay",
                                            "l1", "decay_exempt_bias_and_norm", NULL};
static const char *const adam_keys[] = {"lr", "beta1", "beta2", "eps", "amsgrad", "weight_decay",
                                        "l1", "decay_exempt_bias_and_norm", NULL};
static const char *const rmsprop_keys[] = {"lr", "alpha", "eps", "momentum", "centered",
                                           "weight_decay", "l1", "decay_exempt_bias_and_norm", NULL};
static const char *const adagrad_keys[] = {"lr", "eps", "lr_decay", "initial_accumulator",
                                           "weight_decay", "l1", "decay_exempt_bias_and_norm", NULL};
static const char *const lars_keys[] = {"lr", "momentum", "trust", "eps", "weight_decay", "l1",
                                        "decay_exempt_bias_and_norm", NULL};

static const optim_kind optim_table[] = {
    {"sgd", 0, {NULL}, sgd_keys, sgd_update, "w -= lr g"},
    {"momentum", 1, {"momentum"}, momentum_keys, momentum_update,
     "v = m v + g (form: classic) or v = m v + (1-m) g (form: ema); w -= lr v; momentum=0.9"},
    {"nesterov", 1, {"momentum"}, momentum_keys, momentum_update,
     "v = m v + g; w -= lr (g + m v); momentum=0.9"},
    {"adam", 3, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, adam_keys, adam_update,
     "beta1=0.9 beta2=0.999 eps=1e-8 amsgrad=false"},
    {"adamw", 3, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, adam_keys, adamw_update,
     "adam with decoupled weight_decay=0.01"},
    {"rmsprop", 3, {"square_avg", "momentum_buffer", "grad_avg"}, rmsprop_keys, rmsprop_update,
     "alpha=0.99 eps=1e-8 momentum=0 centered=false"},
    {"adagrad", 1, {"sum"}, adagrad_keys, adagrad_update,
     "eps=1e-10 lr_decay=0 initial_accumulator=0"},
    {"lars", 1, {"momentum"}, lars_keys, lars_update, "momentum=0.9 trust=0.001 eps=1e-8"},
};
enum { N_OPTIMS = sizeof optim_table / sizeof optim_table[0] };

static const char *const *optim_names(void)
{
    static const char *names[N_OPTIMS + 1];
    for (int i = 0; i < N_OPTIMS; i++)
        names[i] = optim_table[i].name;
    return names;
}

static nn_status read_hyper(const nn_cfg *cfg, const optim_kind *kind, nn_optim *opt,
                            nn_error *err)
{
    optim_hyper *h = &opt->hyper;
    int is_adamw = strcmp(kind->name, "adamw") == 0;
    int is_lars = strcmp(kind->name, "lars") == 0;
    int is_rmsprop = strcmp(kind->name, "rmsprop") == 0;
    const char *form = "classic";
    static const char *const forms[] = {"classic", "ema", NULL};
    int form_index = 0;
    nn_status st;
    if ((st = nn_cfg_read_double(cfg, "lr", 0.01, &h->lr, err)) ||
        (st = nn_cfg_read_double(cfg, "momentum", is_rmsprop ? 0.0 : 0.9, &h->momentum, err)) ||
        (st = nn_cfg_read_double(cfg, "dampening", 0.0, &h->dampening, err)) ||
        (st = nn_cfg_read_double(cfg, "beta1", 0.9, &h->beta1, err)) ||
        (st = nn_cfg_read_double(cfg, "beta2", 0.999, &h->beta2, err)) ||
        (st = nn_cfg_read_double(cfg, "eps", strcmp(kind->name, "adagrad") == 0 ? 1e-10 : 1e-8,
                                 &h->eps, err)) ||
        (st = nn_cfg_read_double(cfg, "weight_decay", is_adamw ? 0.01 : 0.0, &h->weight_decay,
                                 err)) ||
        (st = nn_cfg_read_double(cfg, "l1", 0.0, &h->l1, err)) ||
        (st = nn_cfg_read_double(cfg, "alpha", 0.99, &h->alpha, err)) ||
        (st = nn_cfg_read_double(cfg, "trust", 0.001, &h->trust, err)) ||
        (st = nn_cfg_read_double(cfg, "lr_decay", 0.0, &h->lr_decay, err)) ||
        (st = nn_cfg_read_double(cfg, "initial_accumulator", 0.0, &h->initial_accumulator,
                                 err)) ||
        (st = nn_cfg_read_bool(cfg, "amsgrad", 0, &h->amsgrad, err)) ||
        (st = nn_cfg_read_bool(cfg, "centered", 0, &h->centered, err)) ||
        (st = nn_cfg_read_bool(cfg, "decay_exempt_bias_and_norm", 0,
                               &opt->exempt_bias_and_norm, err)) ||
        (st = nn_cfg_read_choice(cfg, "form", forms, form, &form_index, err)))
        return st;
    h->ema = form_index == 1;
    h->nesterov = strcmp(kind->name, "nesterov") == 0;
    (void)is_lars;
    const nn_cfg *at = NULL;
    const char *problem = NULL;
    if (!(h->lr > 0))
        at = nn_cfg_get(cfg, "lr"), problem = "lr must be > 0";
    else if (h->momentum < 0 || h->momentum >= 1)
        at = nn_cfg_get(cfg, "momentum"), problem = "momentum must be in [0, 1)";
    else if (h->beta1 < 0 || h->beta1 >= 1)
        at = nn_cfg_get(cfg, "beta1"), problem = "beta1 must be in [0, 1)";
    else if (h->beta2 < 0 || h->beta2 >= 1)
        at = nn_cfg_get(cfg, "beta2"), problem = "beta2 must be in [0, 1)";
    else if (!(h->eps > 0))
        at = nn_cfg_get(cfg, "eps"), problem = "eps must be > 0";
    else if (h->weight_decay < 0)
        at = nn_cfg_get(cfg, "weight_decay"), problem = "weight_decay must be >= 0";
    else if (h->l1 < 0)
        at = nn_cfg_get(cfg, "l1"), problem = "l1 must be >= 0";
    else if (h->alpha < 0 || h->alpha >= 1)
        at = nn_cfg_get(cfg, "alpha"), problem = "alpha must be in [0, 1)";
    if (problem)
        return nn_cfg_fail(err, at ? at : cfg, "%s", problem);
    return NN_OK;
}

nn_status nn_optim_build(const nn_cfg *cfg, const nn_model *model, nn_optim **out,
                         nn_error *err)
{
    *out = NULL;
    const char *name = cfg ? nn_cfg_scalar(cfg) : NULL;
    const nn_cfg *map = NULL;
    if (!cfg)
        return nn_fail(err, NN_ERR_CONFIG, "config: missing train.optimizer (e.g. {type: adam, "
                       "lr: 0.001})");
    if (!name) {
        if (nn_cfg_kind_of(cfg) != NN_CFG_MAP)
            return nn_cfg_fail(err, cfg, "an optimizer is a name or {type: name, lr: ...}");
        map = cfg;
        nn_status st = nn_cfg_read_string(map, "type", NULL, &name, err);
        if (st)
            return st;
        if (!name)
            return nn_cfg_fail(err, cfg, "optimizer needs a 'type'");
    }
    const optim_kind *kind = NULL;
    for (int i = 0; i < N_OPTIMS; i++)
        if (strcmp(optim_table[i].name, name) == 0)
            kind = &optim_table[i];
    if (!kind) {
        const char *closest = nn_cfg_closest(name, optim_names());
        return nn_cfg_fail(err, map ? nn_cfg_get(map, "type") : cfg,
                           "unknown optimizer '%s'%s%s%s; valid: sgd, momentum, nesterov, adam, "
                           "adamw, rmsprop, adagrad, lars", name,
                           closest ? " (did you mean '" : "", closest ? closest : "",
                           closest ? "'?)" : "");
    }
    nn_optim *opt = calloc(1, sizeof *opt);
    if (!opt)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    opt->kind = kind;
    nn_status st = NN_OK;
    if (map) {
        const char *allowed[16] = {"type"};
        int n = 1;
        for (const char *const *k = kind->keys; *k && n < 15; k++)
            allowed[n++] = *k;
        allowed[n] = NULL;
        st = nn_cfg_check_keys(map, allowed, err);
    }
    if (!st) {
        /* An empty map gives every hyperparameter its default. */
        nn_cfg *empty = map ? NULL : nn_cfg_new_map();
        st = read_hyper(map ? map : empty, kind, opt, err);
        nn_cfg_free(empty);
    }
    opt->n_floats = model->n_param_floats;
    for (int k = 0; !st && k < kind->n_slots; k++)
        if (!(opt->slots[k] = nn_alloc_floats(opt->n_floats ? opt->n_floats : 1)))
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (st) {
        nn_optim_free(opt);
        return st;
    }
    *out = opt;
    return NN_OK;
}

void nn_optim_free(nn_optim *opt)
{
    if (!opt)
        return;
    for (int k = 0; k < NN_MAX_OPTIM_SLOTS; k++)
        free(opt->slots[k]);
    free(opt);
}

void nn_optim_step(nn_optim *opt, nn_model *model, double lr)
{
    opt->steps++;
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if ((p->flags & NN_PARAM_STATE) || p->frozen)
            continue;
        int exempt = opt->exempt_bias_and_norm && (p->flags & (NN_PARAM_NO_DECAY | NN_PARAM_NORM));
        optim_view view = {
            .w = model->param_data + p->offset,
            .g = model->grad_data + p->offset,
            .n = p->size,
            .weight_decay = exempt ? 0 : opt->hyper.weight_decay,
            .l1 = exempt ? 0 : opt->hyper.l1,
            .adapt = !(p->flags & (NN_PARAM_NO_DECAY | NN_PARAM_NORM)),
        };
        for (int s = 0; s < opt->kind->n_slots; s++)
            view.slot[s] = opt->slots[s] + p->offset;
        opt->kind->update(&view, &opt->hyper, lr, opt->steps);
    }
}

double nn_optim_base_lr(const nn_optim *opt)
{
    return opt->hyper.lr;
}

const char *nn_optim_name(const nn_optim *opt)
{
    return opt->kind->name;
}

int64_t nn_optim_steps(const nn_optim *opt)
{
    return opt->steps;
}

void nn_optim_set_steps(nn_optim *opt, int64_t steps)
{
    opt->steps = steps;
}

int nn_optim_slot_count(const nn_optim *opt)
{
    return opt->kind->n_slots;
}

const char *nn_optim_slot_name(const nn_optim *opt, int k)
{
    return opt->kind->slot_names[k];
}

float *nn_optim_slot(nn_optim *opt, int k)
{
    return opt->slots[k];
}

void nn_optim_list(void (*emit)(const char *line, void *ctx), void *ctx)
{
    for (int i = 0; i < N_OPTIMS; i++) {
        char line[256];
        snprintf(line, sizeof line, "%-9s lr=0.01 %s", optim_table[i].name, optim_table[i].help);
        emit(line, ctx);
    }
}

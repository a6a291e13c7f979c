/* Optimizers: one table entry each, with the slots it keeps and an update function applied
 * to every trainable parameter view. Update rules follow torch.optim exactly (including the
 * order of floating-point operations where it matters for agreement), so weights trained
 * here and in PyTorch from the same start agree to float rounding.
 *
 * Common options: weight_decay (L2 added to the gradient; decoupled for adamw), l1,
 * decay_exempt_bias_and_norm (biases and normalization parameters get neither),
 * decay_epochs: [a, b] (both penalties only in epochs a <= e < b, config/epoch_window.h). */
#include "train/optim_internal.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/catalogue.h"
#include "config/epoch_window.h"
#include "core/kernel_set.h"
#include "core/threads.h"
#include "model/model_internal.h"

typedef struct optim_hyper {
    double lr, momentum, beta1, beta2, eps, weight_decay, l1, alpha, dampening, trust;
    double initial_accumulator, lr_decay;
    int ema, centered, amsgrad, nesterov, exempt_bias_and_norm;
} optim_hyper;

typedef struct optim_view {
    float *w;
    const float *g;
    float *slot[NN_MAX_OPTIM_SLOTS];
    int64_t n;
    double weight_decay, l1; /* after exemptions */
    int adapt;               /* lars: apply the trust ratio (not to biases/norm params) */
} optim_view;

#define MAX_OPTIM_PARAMS 12

/* One row of the table: the optimizer's name, its slots, its update, the config keys it
 * takes (their types, defaults, ranges and where they land in optim_hyper) and its help. */
typedef struct optim_kind {
    const char *name;
    int n_slots;
    const char *slot_names[NN_MAX_OPTIM_SLOTS];
    /* step = updates done before this one + 1 */
    void (*update)(const optim_view *v, const optim_hyper *h, double lr, int64_t step);
    int whole_tensors; /* the update reads whole tensors (norms): threads cannot take parts */
    nni_param params[MAX_OPTIM_PARAMS]; /* ends at key NULL */
    const char *help;
} optim_kind;

struct nn_optim {
    const optim_kind *kind;
    optim_hyper hyper;
    int64_t steps;
    nni_epoch_window decay_epochs; /* when weight_decay and l1 act */
    int decay_on;                  /* in the current epoch (nni_optim_set_epoch) */
    int64_t n_floats;
    int n_used;   /* leading slots this configuration needs (e.g. no max_exp_avg_sq without
                   * amsgrad): only those are allocated and checkpointed */
    float *slots[NN_MAX_OPTIM_SLOTS];     /* in use: own_slots or memory placed elsewhere */
    float *own_slots[NN_MAX_OPTIM_SLOTS]; /* inside slot_block */
    void *slot_block;
};

static int slots_used(const nn_optim *opt)
{
    const optim_hyper *h = &opt->hyper;
    const char *name = opt->kind->name;
    if (!strcmp(name, "adam") || !strcmp(name, "adamw"))
        return h->amsgrad ? 3 : 2;
    if (!strcmp(name, "rmsprop"))
        return h->centered ? 3 : h->momentum > 0 ? 2 : 1;
    return opt->kind->n_slots;
}

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
        /* The usual case as a loop without branches, in the kernel set (the same operations
         * in the same order, so the same results). Parameters, gradients and slots are
         * distinct buffers. */
        const nni_adam_coefs coefs = {b1, b2, one_minus_b1, one_minus_b2, eps, step_size,
                                      bias2_sqrt};
        nni_kernels()->adam_plain(&coefs, v->n, v->w, m, s, v->g);
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

/* ---- hyperparameters ------------------------------------------------------------------
 * Every config key an optimizer may take, once: its type, where it lands in optim_hyper and
 * its valid range; each optimizer's row then lists the keys it takes with its own defaults
 * (torch.optim's where torch has the optimizer), and its help says what it computes. The
 * same rows drive reading, range checks, the accepted keys and --help-catalogue
 * (config/catalogue.h). */

#define HYPER(key, type, field, range, def) \
    {key, type, def, offsetof(optim_hyper, field), range, NULL}
#define LR(def) HYPER("lr", NNI_PARAM_NUMBER, lr, NNI_RANGE_POSITIVE, def)
#define MOMENTUM(def) HYPER("momentum", NNI_PARAM_NUMBER, momentum, NNI_RANGE_UNIT_OPEN, def)
#define DAMPENING(def) \
    HYPER("dampening", NNI_PARAM_NUMBER, dampening, NNI_RANGE_UNIT_CLOSED, def)
#define BETA1(def) HYPER("beta1", NNI_PARAM_NUMBER, beta1, NNI_RANGE_UNIT_OPEN, def)
#define BETA2(def) HYPER("beta2", NNI_PARAM_NUMBER, beta2, NNI_RANGE_UNIT_OPEN, def)
#define EPS(def) HYPER("eps", NNI_PARAM_NUMBER, eps, NNI_RANGE_POSITIVE, def)
#define AMSGRAD(def) HYPER("amsgrad", NNI_PARAM_BOOL, amsgrad, NNI_RANGE_ANY, def)
#define ALPHA(def) HYPER("alpha", NNI_PARAM_NUMBER, alpha, NNI_RANGE_UNIT_OPEN, def)
#define CENTERED(def) HYPER("centered", NNI_PARAM_BOOL, centered, NNI_RANGE_ANY, def)
#define LR_DECAY(def) HYPER("lr_decay", NNI_PARAM_NUMBER, lr_decay, NNI_RANGE_NON_NEGATIVE, def)
#define INITIAL_ACCUMULATOR(def)                                                              \
    HYPER("initial_accumulator_value", NNI_PARAM_NUMBER, initial_accumulator,                \
          NNI_RANGE_NON_NEGATIVE, def)
#define TRUST(def) HYPER("trust", NNI_PARAM_NUMBER, trust, NNI_RANGE_POSITIVE, def)
/* classic or ema (momentum_forms), read by read_form. */
#define FORM {"form", NNI_PARAM_OTHER, 0, offsetof(optim_hyper, ema), NNI_RANGE_ANY, "classic|ema"}
/* The penalties every optimizer takes, with weight_decay's default. */
#define PENALTIES(wd)                                                                         \
    HYPER("weight_decay", NNI_PARAM_NUMBER, weight_decay, NNI_RANGE_NON_NEGATIVE, wd),        \
        HYPER("l1", NNI_PARAM_NUMBER, l1, NNI_RANGE_NON_NEGATIVE, 0),                         \
        HYPER("decay_exempt_bias_and_norm", NNI_PARAM_BOOL, exempt_bias_and_norm,             \
              NNI_RANGE_ANY, 0)

static const char *const momentum_forms[] = {"classic", "ema", NULL};

static const optim_kind optim_table[] = {
    {"sgd", 0, {NULL}, sgd_update, 0, {LR(0.01), PENALTIES(0)},
     "w -= lr g (torch SGD)"},
    {"momentum", 1, {"momentum"}, momentum_update, 0,
     {LR(0.01), MOMENTUM(0.9), DAMPENING(0), FORM, PENALTIES(0)},
     "form classic: v = m v + (1-dampening) g (v = g at the first step, as torch SGD); "
     "form ema: v = m v + (1-m) g from v = 0; w -= lr v"},
    {"nesterov", 1, {"momentum"}, momentum_update, 0,
     {LR(0.01), MOMENTUM(0.9), PENALTIES(0)},
     "v = m v + g; w -= lr (g + m v) (torch SGD nesterov=True)"},
    {"adam", 3, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, adam_update, 0,
     {LR(0.001), BETA1(0.9), BETA2(0.999), EPS(1e-8), AMSGRAD(0), PENALTIES(0)},
     "m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, w -= lr m' / (sqrt(v') + eps) with "
     "m', v' bias-corrected (torch Adam; weight_decay is L2 added to the gradient)"},
    {"adamw", 3, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, adamw_update, 0,
     {LR(0.001), BETA1(0.9), BETA2(0.999), EPS(1e-8), AMSGRAD(0), PENALTIES(0.01)},
     "w *= 1 - lr weight_decay, then the Adam step (torch AdamW)"},
    {"rmsprop", 3, {"square_avg", "momentum_buffer", "grad_avg"}, rmsprop_update, 0,
     {LR(0.01), ALPHA(0.99), EPS(1e-8), MOMENTUM(0), CENTERED(0), PENALTIES(0)},
     "s = alpha s + (1-alpha) g^2, w -= lr g / (sqrt(s) + eps); centered subtracts the "
     "running mean of g from s, momentum > 0 keeps a buffer of the steps (torch RMSprop)"},
    {"adagrad", 1, {"sum"}, adagrad_update, 0,
     {LR(0.01), LR_DECAY(0), EPS(1e-10), INITIAL_ACCUMULATOR(0), PENALTIES(0)},
     "w -= lr / (1 + (t-1) lr_decay) g / (sqrt(sum g^2) + eps) (torch Adagrad)"},
    {"lars", 1, {"momentum"}, lars_update, 1,
     {LR(0.01), MOMENTUM(0.9), TRUST(0.001), EPS(1e-8), PENALTIES(0)},
     "v = m v + lr r (g + wd w), r = trust ||w|| / (||g|| + wd ||w|| + eps) per weight "
     "tensor (1 for biases and norm parameters); w -= v"},
};
enum { N_OPTIMS = sizeof optim_table / sizeof optim_table[0] };

static const char *const *optim_names(void)
{
    static const char *names[N_OPTIMS + 1];
    for (int i = 0; i < N_OPTIMS; i++)
        names[i] = optim_table[i].name;
    return names;
}

static int takes_key(const optim_kind *kind, const char *key)
{
    for (const nni_param *p = kind->params; p->key; p++)
        if (!strcmp(p->key, key))
            return 1;
    return 0;
}

/* Reads the kind's keys from map (NULL: every default) into opt->hyper. */
static nn_status read_hyper(const nn_cfg *map, const optim_kind *kind, nn_optim *opt,
                            nn_error *err)
{
    optim_hyper *h = &opt->hyper;
    memset(h, 0, sizeof *h);
    nn_status st = nni_params_read(map, kind->params, h, err);
    if (st)
        return st;
    if (takes_key(kind, "form")) {
        int index = 0;
        if ((st = nn_cfg_read_choice(map, "form", momentum_forms, momentum_forms[0], &index,
                                     err)))
            return st;
        h->ema = index == 1;
    }
    h->nesterov = strcmp(kind->name, "nesterov") == 0;
    if (h->ema && nn_cfg_get(map, "dampening"))
        return nn_cfg_fail(err, nn_cfg_get(map, "dampening"), "dampening applies to form "
                           "classic only (form ema already weighs g by 1 - momentum)");
    return NN_OK;
}

/* The slots in one zeroed block, slot k starting (k + 1) KiB into a page (see
 * NN_OPTIM_SLOT_PAGE_OFFSET). */
static int allocate_slots(nn_optim *opt)
{
    const size_t stride = nni_optim_slot_stride(opt->n_floats);
    opt->slot_block = aligned_alloc(4096, stride * (size_t)opt->n_used);
    if (!opt->slot_block)
        return 0;
    memset(opt->slot_block, 0, stride * (size_t)opt->n_used);
    for (int k = 0; k < opt->n_used; k++)
        opt->slots[k] = opt->own_slots[k] =
            (float *)((char *)opt->slot_block + stride * (size_t)k + NN_OPTIM_SLOT_PAGE_OFFSET(k));
    return 1;
}

nn_status nn_optim_build(const nn_cfg *cfg, const nn_model *model, nn_optim **out,
                         nn_error *err)
{
    *out = NULL;
    if (!cfg)
        return nn_fail(err, NN_ERR_CONFIG, "config: missing train.optimizer (e.g. {type: adam, "
                       "lr: 0.001})");
    int index;
    const nn_cfg *map;
    nn_status read = nn_cfg_read_variant(cfg, "optimizer", optim_names(), &index, &map, err);
    if (read)
        return read;
    const optim_kind *kind = &optim_table[index];
    nn_optim *opt = calloc(1, sizeof *opt);
    if (!opt)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    opt->kind = kind;
    static const char *const common_keys[] = {"type", "decay_epochs", NULL};
    nn_status st = map ? nni_params_check_keys(map, common_keys, kind->params, NULL, err) : NN_OK;
    if (!st)
        st = read_hyper(map, kind, opt, err);
    opt->decay_on = 1;
    if (!st)
        st = nni_epoch_window_read(map, "decay_epochs", nni_epoch_window_always(),
                                   &opt->decay_epochs, err);
    opt->n_floats = model->n_param_floats;
    opt->n_used = slots_used(opt);
    if (!st && opt->n_used > 0 && !allocate_slots(opt))
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
    free(opt->slot_block);
    free(opt);
}

/* Below this many parameters an update is over before a second thread has woken up. */
enum { OPTIM_MIN_PARALLEL_FLOATS = 1 << 15 };

/* Every tensor's part in [first, end) is split over the threads as the dense layers split
 * their weight-gradient rows (nni_thread_share), so a thread updates what it has just
 * computed. The updates are elementwise, so neither split changes a result. */
void nni_optim_step_range(nn_optim *opt, nn_model *model, double lr, int64_t first, int64_t end)
{
    opt->steps++;
    const int threads = opt->kind->whole_tensors || end - first < OPTIM_MIN_PARALLEL_FLOATS
                            ? 1
                            : nni_threads();
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num();
        for (int k = 0; k < model->n_params; k++) {
            const nn_param *p = &model->params[k];
            if ((p->flags & NN_PARAM_STATE) || p->frozen)
                continue;
            const int64_t from = p->offset > first ? p->offset : first;
            const int64_t to = p->offset + p->size < end ? p->offset + p->size : end;
            if (to <= from)
                continue;
            int64_t part_first, part_end;
            nni_thread_share(to - from, t, threads, &part_first, &part_end);
            if (part_end == part_first)
                continue;
            const int64_t at = from + part_first;
            int exempt = !opt->decay_on || (opt->hyper.exempt_bias_and_norm &&
                                             (p->flags & (NN_PARAM_NO_DECAY | NN_PARAM_NORM)));
            optim_view view = {
                .w = model->param_data + at,
                .g = model->grad_data + at,
                .n = part_end - part_first,
                .weight_decay = exempt ? 0 : opt->hyper.weight_decay,
                .l1 = exempt ? 0 : opt->hyper.l1,
                .adapt = !(p->flags & (NN_PARAM_NO_DECAY | NN_PARAM_NORM)),
            };
            for (int s = 0; s < opt->n_used; s++)
                view.slot[s] = opt->slots[s] + at;
            opt->kind->update(&view, &opt->hyper, lr, opt->steps);
        }
    }
}

void nn_optim_step(nn_optim *opt, nn_model *model, double lr)
{
    nni_optim_step_range(opt, model, lr, 0, model->n_param_floats);
}

int nni_optim_whole_tensors(const nn_optim *opt)
{
    return opt->kind->whole_tensors;
}

void nni_optim_use_slots(nn_optim *opt, float *const *memory)
{
    for (int k = 0; k < opt->n_used; k++) {
        if (!memory && opt->slots[k] != opt->own_slots[k])
            memcpy(opt->own_slots[k], opt->slots[k], (size_t)opt->n_floats * sizeof(float));
        opt->slots[k] = memory ? memory[k] : opt->own_slots[k];
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

void nni_optim_set_epoch(nn_optim *opt, int epoch)
{
    opt->decay_on = nni_epoch_window_contains(opt->decay_epochs, epoch);
}

void nni_optim_set_steps(nn_optim *opt, int64_t steps)
{
    opt->steps = steps;
}

int nni_optim_slot_count(const nn_optim *opt)
{
    return opt->n_used;
}

const char *nni_optim_slot_name(const nn_optim *opt, int k)
{
    return opt->kind->slot_names[k];
}

float *nni_optim_slot(nn_optim *opt, int k)
{
    return opt->slots[k];
}

void nni_optim_catalogue(nni_catalogue_emit emit, void *ctx)
{
    for (int i = 0; i < N_OPTIMS; i++) {
        const optim_kind *kind = &optim_table[i];
        char params[512];
        nni_params_describe(kind->params, params, sizeof params);
        const nni_catalogue_row row = {kind->name, params, kind->help};
        emit(&row, ctx);
    }
}

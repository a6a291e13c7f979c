/* Optimizers: one table entry each, with the slots it keeps and an update function applied
 * to every trainable parameter view. Update rules follow torch.optim exactly (including the
 * order of floating-point operations where it matters for agreement), so weights trained
 * here and in PyTorch from the same start agree to float rounding.
 *
 * Common options: weight_decay (L2 added to the gradient; decoupled for adamw), l1,
 * decay_exempt_bias_and_norm (biases and normalization parameters get neither). */
#include "train/optim_internal.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A config key the optimizer takes and its default (0/1 for booleans, an index into
 * momentum_forms for `form`). */
typedef struct optim_param {
    const char *key;
    double def;
} optim_param;

#define MAX_OPTIM_PARAMS 12

typedef struct optim_kind {
    const char *name;
    int n_slots;
    const char *slot_names[NN_MAX_OPTIM_SLOTS];
    /* step = updates done before this one + 1 */
    void (*update)(const optim_view *v, const optim_hyper *h, double lr, int64_t step);
    int whole_tensors; /* the update reads whole tensors (norms): threads cannot take parts */
    optim_param params[MAX_OPTIM_PARAMS]; /* ends at key NULL */
    const char *help;
} optim_kind;

struct nn_optim {
    const optim_kind *kind;
    optim_hyper hyper;
    int64_t steps;
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

/* ---- hyperparameters ------------------------------------------------------------------
 * Every config key an optimizer may take, where it lands in optim_hyper and its valid range;
 * each optimizer then lists the keys it takes with its own defaults (torch.optim's where
 * torch has the optimizer). The same tables drive reading, range checks and the catalogue. */

typedef enum { HYPER_NUMBER, HYPER_BOOL, HYPER_FORM } hyper_type;
typedef enum { RANGE_ANY, RANGE_POSITIVE, RANGE_NON_NEGATIVE, RANGE_UNIT_OPEN, RANGE_UNIT_CLOSED }
    hyper_range;

typedef struct hyper_field {
    const char *key;
    size_t offset; /* into optim_hyper (double for numbers, int otherwise) */
    hyper_type type;
    hyper_range range;
} hyper_field;

static const hyper_field hyper_fields[] = {
    {"lr", offsetof(optim_hyper, lr), HYPER_NUMBER, RANGE_POSITIVE},
    {"momentum", offsetof(optim_hyper, momentum), HYPER_NUMBER, RANGE_UNIT_OPEN},
    {"dampening", offsetof(optim_hyper, dampening), HYPER_NUMBER, RANGE_UNIT_CLOSED},
    {"form", offsetof(optim_hyper, ema), HYPER_FORM, RANGE_ANY},
    {"beta1", offsetof(optim_hyper, beta1), HYPER_NUMBER, RANGE_UNIT_OPEN},
    {"beta2", offsetof(optim_hyper, beta2), HYPER_NUMBER, RANGE_UNIT_OPEN},
    {"eps", offsetof(optim_hyper, eps), HYPER_NUMBER, RANGE_POSITIVE},
    {"amsgrad", offsetof(optim_hyper, amsgrad), HYPER_BOOL, RANGE_ANY},
    {"alpha", offsetof(optim_hyper, alpha), HYPER_NUMBER, RANGE_UNIT_OPEN},
    {"centered", offsetof(optim_hyper, centered), HYPER_BOOL, RANGE_ANY},
    {"lr_decay", offsetof(optim_hyper, lr_decay), HYPER_NUMBER, RANGE_NON_NEGATIVE},
    {"initial_accumulator_value", offsetof(optim_hyper, initial_accumulator), HYPER_NUMBER,
     RANGE_NON_NEGATIVE},
    {"trust", offsetof(optim_hyper, trust), HYPER_NUMBER, RANGE_POSITIVE},
    {"weight_decay", offsetof(optim_hyper, weight_decay), HYPER_NUMBER, RANGE_NON_NEGATIVE},
    {"l1", offsetof(optim_hyper, l1), HYPER_NUMBER, RANGE_NON_NEGATIVE},
    {"decay_exempt_bias_and_norm", offsetof(optim_hyper, exempt_bias_and_norm), HYPER_BOOL,
     RANGE_ANY},
};
enum { N_HYPER_FIELDS = sizeof hyper_fields / sizeof hyper_fields[0] };

static const char *const momentum_forms[] = {"classic", "ema", NULL};

/* The penalties every optimizer takes, with weight_decay's default. */
#define PENALTIES(wd) {"weight_decay", wd}, {"l1", 0}, {"decay_exempt_bias_and_norm", 0}

static const optim_kind optim_table[] = {
    {"sgd", 0, {NULL}, sgd_update, 0, {{"lr", 0.01}, PENALTIES(0)},
     "w -= lr g"},
    {"momentum", 1, {"momentum"}, momentum_update, 0,
     {{"lr", 0.01}, {"momentum", 0.9}, {"dampening", 0}, {"form", 0}, PENALTIES(0)},
     "form classic: v = m v + (1-dampening) g (v = g at the first step, as torch SGD); "
     "form ema: v = m v + (1-m) g from v = 0; w -= lr v"},
    {"nesterov", 1, {"momentum"}, momentum_update, 0,
     {{"lr", 0.01}, {"momentum", 0.9}, PENALTIES(0)},
     "v = m v + g; w -= lr (g + m v) (torch SGD nesterov=True)"},
    {"adam", 3, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, adam_update, 0,
     {{"lr", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"amsgrad", 0},
      PENALTIES(0)},
     "torch Adam; weight_decay is L2 added to the gradient"},
    {"adamw", 3, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, adamw_update, 0,
     {{"lr", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"amsgrad", 0},
      PENALTIES(0.01)},
     "torch AdamW: w *= 1 - lr weight_decay before the Adam step"},
    {"rmsprop", 3, {"square_avg", "momentum_buffer", "grad_avg"}, rmsprop_update, 0,
     {{"lr", 0.01}, {"alpha", 0.99}, {"eps", 1e-8}, {"momentum", 0}, {"centered", 0},
      PENALTIES(0)},
     "torch RMSprop"},
    {"adagrad", 1, {"sum"}, adagrad_update, 0,
     {{"lr", 0.01}, {"lr_decay", 0}, {"eps", 1e-10}, {"initial_accumulator_value", 0},
      PENALTIES(0)},
     "torch Adagrad: lr / (1 + (t-1) lr_decay) g / (sqrt(sum g^2) + eps)"},
    {"lars", 1, {"momentum"}, lars_update, 1,
     {{"lr", 0.01}, {"momentum", 0.9}, {"trust", 0.001}, {"eps", 1e-8}, PENALTIES(0)},
     "v = m v + lr r (g + wd w), r = trust ||w|| / (||g|| + wd ||w|| + eps) per weight "
     "tensor (1 for biases and norm parameters); w -= v"},
};
enum { N_OPTIMS = sizeof optim_table / sizeof optim_table[0] };

static const hyper_field *find_field(const char *key)
{
    for (int i = 0; i < N_HYPER_FIELDS; i++)
        if (strcmp(hyper_fields[i].key, key) == 0)
            return &hyper_fields[i];
    return NULL;
}

static const char *const *optim_names(void)
{
    static const char *names[N_OPTIMS + 1];
    for (int i = 0; i < N_OPTIMS; i++)
        names[i] = optim_table[i].name;
    return names;
}

static const char *range_problem(hyper_range range, double value)
{
    switch (range) {
    case RANGE_POSITIVE:
        return value > 0 ? NULL : "must be > 0";
    case RANGE_NON_NEGATIVE:
        return value >= 0 ? NULL : "must be >= 0";
    case RANGE_UNIT_OPEN:
        return value >= 0 && value < 1 ? NULL : "must be in [0, 1)";
    case RANGE_UNIT_CLOSED:
        return value >= 0 && value <= 1 ? NULL : "must be in [0, 1]";
    default:
        return NULL;
    }
}

/* Reads the kind's keys from cfg (an empty map gives every default) into opt->hyper. */
static nn_status read_hyper(const nn_cfg *cfg, const optim_kind *kind, nn_optim *opt,
                            nn_error *err)
{
    optim_hyper *h = &opt->hyper;
    memset(h, 0, sizeof *h);
    for (const optim_param *p = kind->params; p->key; p++) {
        const hyper_field *f = find_field(p->key);
        char *slot = (char *)h + f->offset;
        nn_status st = NN_OK;
        if (f->type == HYPER_NUMBER) {
            double *value = (double *)(void *)slot;
            st = nn_cfg_read_double(cfg, p->key, p->def, value, err);
            const char *problem = st ? NULL : range_problem(f->range, *value);
            if (problem) {
                const nn_cfg *at = nn_cfg_get(cfg, p->key);
                return nn_cfg_fail(err, at ? at : cfg, "%s %s", p->key, problem);
            }
        } else if (f->type == HYPER_BOOL) {
            st = nn_cfg_read_bool(cfg, p->key, p->def != 0, (int *)(void *)slot, err);
        } else {
            int index = 0;
            st = nn_cfg_read_choice(cfg, p->key, momentum_forms, momentum_forms[(int)p->def],
                                    &index, err);
            *(int *)(void *)slot = index == 1;
        }
        if (st)
            return st;
    }
    h->nesterov = strcmp(kind->name, "nesterov") == 0;
    if (h->ema && nn_cfg_get(cfg, "dampening"))
        return nn_cfg_fail(err, nn_cfg_get(cfg, "dampening"), "dampening applies to form "
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
    nn_status st = NN_OK;
    if (map) {
        const char *allowed[MAX_OPTIM_PARAMS + 2] = {"type"};
        int n = 1;
        for (const optim_param *p = kind->params; p->key; p++)
            allowed[n++] = p->key;
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
 * their weight-gradient rows (nn_thread_share), so a thread updates what it has just
 * computed. The updates are elementwise, so neither split changes a result. */
void nni_optim_step_range(nn_optim *opt, nn_model *model, double lr, int64_t first, int64_t end)
{
    opt->steps++;
    const int threads = opt->kind->whole_tensors || end - first < OPTIM_MIN_PARALLEL_FLOATS
                            ? 1
                            : nn_threads();
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
            nn_thread_share(to - from, t, threads, &part_first, &part_end);
            if (part_end == part_first)
                continue;
            const int64_t at = from + part_first;
            int exempt = opt->hyper.exempt_bias_and_norm &&
                         (p->flags & (NN_PARAM_NO_DECAY | NN_PARAM_NORM));
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

void nn_optim_list(void (*emit)(const char *line, void *ctx), void *ctx)
{
    for (int i = 0; i < N_OPTIMS; i++) {
        const optim_kind *kind = &optim_table[i];
        char line[512];
        int used = snprintf(line, sizeof line, "%-9s", kind->name);
        for (const optim_param *p = kind->params; p->key && used < (int)sizeof line; p++) {
            const hyper_field *f = find_field(p->key);
            if (f->type == HYPER_NUMBER)
                used += snprintf(line + used, sizeof line - (size_t)used, " %s=%g", p->key,
                                 p->def);
            else if (f->type == HYPER_BOOL)
                used += snprintf(line + used, sizeof line - (size_t)used, " %s=%s", p->key,
                                 p->def != 0 ? "true" : "false");
            else
                used += snprintf(line + used, sizeof line - (size_t)used, " %s=%s|%s", p->key,
                                 momentum_forms[(int)p->def], momentum_forms[1 - (int)p->def]);
        }
        emit(line, ctx);
        snprintf(line, sizeof line, "          %s", kind->help);
        emit(line, ctx);
    }
}

/* Learning-rate schedules (see include/nn/sched.h). Epoch-based rules follow torch's
 * StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR (per epoch, eta_min; held at eta_min
 * after `epochs` instead of rising again) and ReduceLROnPlateau (mode, factor, patience,
 * threshold rel, cooldown, min_lr). Warmup is torch's LinearLR stepped per optimizer step:
 * factor start + (1 - start) * step / warmup_steps until warmup_steps, multiplying the
 * schedule's lr (as torch's ChainedScheduler does).
 *
 * One table row per schedule: its named parameters, its lr as a function of the epoch, what
 * it does after an epoch (reduce_on_plateau, formula) and its help.
 *
 * formula: the lr is a formula (src/formula/) of lr (the optimizer's), epoch (0-based),
 * step (optimizer steps since the start, 0-based), epochs, steps_per_epoch, best and
 * since_best (the best value of the monitored metric so far and the epochs since it last
 * improved; +-inf and 0 before the first) and named params, compiled at build and evaluated
 * in double at every step. Warmup applies on top as for every schedule. */
#include "nn/sched.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formula/formula.h"
#include "train/sched_internal.h"

#define NN_PI 3.14159265358979323846

/* torch's LinearLR default start_factor. */
#define WARMUP_START_DEFAULT (1.0 / 3.0)

#define MAX_MILESTONES 32

/* The named parameters of every schedule; each kind reads only those its row lists, plus
 * the warmup keys every kind takes. */
typedef struct sched_settings {
    double gamma, eta_min, factor, threshold, min_lr, warmup_start;
    int64_t step_size, patience, cooldown, warmup_epochs, warmup_steps;
} sched_settings;

typedef struct sched_kind sched_kind;

struct nn_sched {
    const sched_kind *kind;
    double base_lr;
    sched_settings set;
    int epochs;           /* cosine: epochs to reach eta_min */
    int maximize;         /* reduce_on_plateau: the monitored metric should grow */
    int n_milestones;
    int64_t milestones[MAX_MILESTONES];
    int64_t warmup_steps, steps_per_epoch;
    char monitor[64];      /* "" when the schedule watches nothing */
    nn_sched_state state;
    nni_formula *formula;  /* formula: its text and program, and its params */
    nni_formula_program *program;
    nni_formula_params params;
};

struct sched_kind {
    const char *name;
    const nni_param *params; /* its keys besides type and the warmup keys (NULL: none) */
    /* Reads and checks what the parameter table leaves to it (NULL: nothing); map may be
     * NULL (a bare name), `where` is the schedule's node for messages. */
    nn_status (*check)(nn_sched *s, const nn_cfg *map, const nn_cfg *where, nn_error *err);
    /* The learning rate of an epoch, before warmup. */
    double (*lr)(const nn_sched *s, int epoch);
    /* Instead, for schedules that change within an epoch: the lr at an optimizer step. */
    double (*lr_at_step)(const nn_sched *s, int epoch, int64_t global_step);
    /* After each epoch, with the monitored metric (NULL: the schedule watches nothing). */
    void (*epoch_end)(nn_sched *s, double metric);
    const char *help;
};

static double constant_lr(const nn_sched *s, int epoch)
{
    (void)epoch;
    return s->base_lr;
}

static double step_lr(const nn_sched *s, int epoch)
{
    return s->base_lr * pow(s->set.gamma, (double)(epoch / s->set.step_size));
}

static double multistep_lr(const nn_sched *s, int epoch)
{
    double lr = s->base_lr;
    for (int i = 0; i < s->n_milestones; i++)
        if (epoch >= s->milestones[i])
            lr *= s->set.gamma;
    return lr;
}

static nn_status multistep_check(nn_sched *s, const nn_cfg *map, const nn_cfg *where,
                                 nn_error *err)
{
    s->n_milestones = MAX_MILESTONES;
    if (!nn_cfg_get(map, "milestones"))
        return nn_cfg_fail(err, where, "multistep needs 'milestones' (epochs, e.g. [30, 60])");
    nn_status st = nn_cfg_read_ints(map, "milestones", s->milestones, &s->n_milestones, err);
    if (st)
        return st;
    for (int i = 0; i < s->n_milestones; i++)
        if (s->milestones[i] < 1)
            return nn_cfg_fail(err, nn_cfg_get(map, "milestones"),
                               "milestones must be epochs >= 1");
    return NN_OK;
}

static double exponential_lr(const nn_sched *s, int epoch)
{
    return s->base_lr * pow(s->set.gamma, epoch);
}

/* Held at eta_min after `epochs` instead of rising again. */
static double cosine_lr(const nn_sched *s, int epoch)
{
    int e = epoch < s->epochs ? epoch : s->epochs;
    const double eta_min = s->set.eta_min;
    return eta_min + (s->base_lr - eta_min) * (1 + cos(NN_PI * e / s->epochs)) / 2;
}

/* `epochs` defaults to train.epochs, which the parameter table cannot know. */
static nn_status cosine_check(nn_sched *s, const nn_cfg *map, const nn_cfg *where,
                              nn_error *err)
{
    int64_t epochs = s->epochs;
    nn_status st = nn_cfg_read_int(map, "epochs", epochs, &epochs, err);
    if (st)
        return st;
    if (epochs < 1) {
        const nn_cfg *at = nn_cfg_get(map, "epochs");
        return at ? nn_cfg_fail(err, at, "epochs must be >= 1, got %lld", (long long)epochs)
                  : nn_cfg_fail(err, where, "epochs must be >= 1 (train.epochs)");
    }
    s->epochs = (int)epochs;
    return NN_OK;
}

static double plateau_lr(const nn_sched *s, int epoch)
{
    (void)epoch;
    return fmax(s->base_lr * s->state.plateau_scale, s->set.min_lr);
}

/* The monitored metric and whether it should grow; by default losses go down, the rest up. */
static nn_status plateau_check(nn_sched *s, const nn_cfg *map, const nn_cfg *where,
                               nn_error *err)
{
    (void)where;
    static const char *const modes[] = {"min", "max", NULL};
    static const char *const metrics[] = {"loss", "accuracy", "val_loss", "val_accuracy",
                                          NULL};
    const char *monitor = "val_loss";
    int mode = 0;
    nn_status st;
    if ((st = nn_cfg_read_string(map, "monitor", "val_loss", &monitor, err)) ||
        (st = nn_cfg_read_choice(map, "mode", modes, NULL, &mode, err)))
        return st;
    int known = 0;
    for (int i = 0; metrics[i]; i++)
        known |= strcmp(metrics[i], monitor) == 0;
    if (!known)
        return nn_cfg_fail(err, nn_cfg_get(map, "monitor"), "unknown metric '%s'; valid: "
                           "loss, accuracy, val_loss, val_accuracy", monitor);
    s->maximize = nn_cfg_get(map, "mode") ? mode == 1 : strstr(monitor, "loss") == NULL;
    snprintf(s->monitor, sizeof s->monitor, "%s", monitor);
    s->state.plateau_best = s->maximize ? -INFINITY : INFINITY;
    return NN_OK;
}

static void plateau_epoch_end(nn_sched *s, double metric)
{
    if (isnan(metric))
        return;
    nn_sched_state *st = &s->state;
    /* torch's threshold_mode 'rel': better than best * (1 -+ threshold). */
    int better = s->maximize ? metric > st->plateau_best * (1 + s->set.threshold)
                             : metric < st->plateau_best * (1 - s->set.threshold);
    if (isinf(st->plateau_best))
        better = 1;
    if (better) {
        st->plateau_best = metric;
        st->plateau_bad_epochs = 0;
    } else {
        st->plateau_bad_epochs++;
    }
    if (st->plateau_cooldown > 0) {
        st->plateau_cooldown--;
        st->plateau_bad_epochs = 0;
    }
    if (st->plateau_bad_epochs > s->set.patience) {
        /* torch skips a reduction smaller than its eps = 1e-8 (e.g. already at min_lr). */
        double current = fmax(s->base_lr * st->plateau_scale, s->set.min_lr);
        if (current - fmax(current * s->set.factor, s->set.min_lr) > 1e-8)
            st->plateau_scale *= s->set.factor;
        st->plateau_cooldown = (int)s->set.cooldown;
        st->plateau_bad_epochs = 0;
    }
}

/* ---- formula ------------------------------------------------------------------------- */

enum { VAR_LR, VAR_EPOCH, VAR_STEP, VAR_EPOCHS, VAR_STEPS_PER_EPOCH, VAR_BEST, VAR_SINCE_BEST,
       N_SCHED_VARS };
static const char *const sched_vars[] = {"lr", "epoch", "step", "epochs", "steps_per_epoch",
                                         "best", "since_best", NULL};

static double formula_lr(const nn_sched *s, int epoch, int64_t global_step)
{
    double vars[NNI_FORMULA_MAX_VARS] = {0};
    vars[VAR_LR] = s->base_lr;
    vars[VAR_EPOCH] = epoch;
    vars[VAR_STEP] = (double)global_step;
    vars[VAR_EPOCHS] = s->epochs;
    vars[VAR_STEPS_PER_EPOCH] = (double)s->steps_per_epoch;
    vars[VAR_BEST] = s->state.plateau_best;
    vars[VAR_SINCE_BEST] = s->state.plateau_bad_epochs;
    for (int k = 0; k < s->params.count; k++)
        vars[N_SCHED_VARS + k] = s->params.values[k];
    double lr = 0;
    nni_formula_run_scalar(s->program, vars, &lr);
    return lr;
}

/* The formula, its params, and the metric it watches when it reads best or since_best
 * (monitor and mode as for reduce_on_plateau). */
static nn_status formula_check(nn_sched *s, const nn_cfg *map, const nn_cfg *where,
                               nn_error *err)
{
    const nn_cfg *text = map ? nn_cfg_get(map, "formula") : NULL;
    if (!text)
        return nn_cfg_fail(err, where, "a formula schedule needs 'formula', e.g. {formula: "
                           "\"lr * 0.5 ^ floor(epoch / 10)\"}");
    nn_status st = plateau_check(s, map, where, err);
    if (!st)
        st = nni_formula_read_params(nn_cfg_get(map, "params"), sched_vars, &s->params, err);
    if (st)
        return st;
    const char *vars[NNI_FORMULA_MAX_VARS + 1] = {NULL};
    for (int k = 0; k < N_SCHED_VARS; k++)
        vars[k] = sched_vars[k];
    for (int k = 0; k < s->params.count; k++)
        vars[N_SCHED_VARS + k] = s->params.names[k];
    if ((st = nni_formula_parse_cfg(text, vars, &s->formula, err)))
        return st;
    const int root = nni_formula_root(s->formula);
    if ((st = nni_formula_compile(s->formula, &root, 1, 0, &s->program, err)))
        return nn_fail_prefix(err, "%s: ", nn_cfg_where(text));
    if (!nni_formula_uses(s->formula, root, VAR_BEST) &&
        !nni_formula_uses(s->formula, root, VAR_SINCE_BEST))
        s->monitor[0] = '\0';
    /* A first look: a formula that is not finite at the start will not train. */
    double first = formula_lr(s, 0, 0);
    if (!isfinite(first) || first < 0)
        return nn_cfg_fail(err, text, "the schedule's lr at epoch 0, step 0 is %g; it must be "
                           "finite and >= 0", first);
    return NN_OK;
}

/* best and since_best: the best metric so far (no threshold) and the epochs since. */
static void formula_epoch_end(nn_sched *s, double metric)
{
    if (isnan(metric) || !s->monitor[0])
        return;
    nn_sched_state *st = &s->state;
    int better = s->maximize ? metric > st->plateau_best : metric < st->plateau_best;
    if (better) {
        st->plateau_best = metric;
        st->plateau_bad_epochs = 0;
    } else {
        st->plateau_bad_epochs++;
    }
}

#define SETTING(field) offsetof(sched_settings, field)
#define GAMMA {"gamma", NNI_PARAM_NUMBER, 0.1, SETTING(gamma), NNI_RANGE_POSITIVE, NULL}
static const nni_param step_params[] = {
    GAMMA, {"step_size", NNI_PARAM_INT, 1, SETTING(step_size), NNI_RANGE_AT_LEAST_ONE, NULL},
    {NULL}};
static const nni_param multistep_params[] = {
    {"milestones", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "[e1, e2, ...] (required)"}, GAMMA,
    {NULL}};
static const nni_param exponential_params[] = {GAMMA, {NULL}};
static const nni_param cosine_params[] = {
    {"epochs", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "train.epochs"},
    {"eta_min", NNI_PARAM_NUMBER, 0, SETTING(eta_min), NNI_RANGE_NON_NEGATIVE, NULL},
    {NULL}};
static const nni_param plateau_params[] = {
    {"monitor", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "val_loss"},
    {"mode", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "min|max"},
    {"factor", NNI_PARAM_NUMBER, 0.1, SETTING(factor), NNI_RANGE_UNIT_INTERIOR, NULL},
    {"patience", NNI_PARAM_INT, 10, SETTING(patience), NNI_RANGE_NON_NEGATIVE, NULL},
    {"threshold", NNI_PARAM_NUMBER, 1e-4, SETTING(threshold), NNI_RANGE_NON_NEGATIVE, NULL},
    {"cooldown", NNI_PARAM_INT, 0, SETTING(cooldown), NNI_RANGE_NON_NEGATIVE, NULL},
    {"min_lr", NNI_PARAM_NUMBER, 0, SETTING(min_lr), NNI_RANGE_NON_NEGATIVE, NULL},
    {NULL}};
static const nni_param formula_params[] = {
    {"formula", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "\"...\" (required)"},
    {"params", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "{name: value}"},
    {"monitor", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "val_loss"},
    {"mode", NNI_PARAM_OTHER, 0, 0, NNI_RANGE_ANY, "min|max"},
    {NULL}};
/* Linear warmup, torch's LinearLR stepped per optimizer step, before any schedule. */
static const nni_param warmup_params[] = {
    {"warmup_epochs", NNI_PARAM_INT, 0, SETTING(warmup_epochs), NNI_RANGE_NON_NEGATIVE, NULL},
    {"warmup_steps", NNI_PARAM_INT, 0, SETTING(warmup_steps), NNI_RANGE_NON_NEGATIVE, NULL},
    {"warmup_start_factor", NNI_PARAM_NUMBER, WARMUP_START_DEFAULT, SETTING(warmup_start),
     NNI_RANGE_UNIT_CLOSED, "1/3"},
    {NULL}};
#undef GAMMA
#undef SETTING

static const sched_kind sched_table[] = {
    {.name = "constant", .lr = constant_lr, .help = "lr = optimizer.lr"},
    {.name = "step", .params = step_params, .lr = step_lr,
     .help = "lr gamma^(epoch // step_size) (torch StepLR)"},
    {.name = "multistep", .params = multistep_params, .check = multistep_check,
     .lr = multistep_lr, .help = "lr gamma^(milestones reached) (torch MultiStepLR)"},
    {.name = "exponential", .params = exponential_params, .lr = exponential_lr,
     .help = "lr gamma^epoch (torch ExponentialLR; gamma 0.951 ~ exp(-0.05))"},
    {.name = "cosine", .params = cosine_params, .check = cosine_check, .lr = cosine_lr,
     .help = "eta_min + (lr - eta_min)(1 + cos(pi epoch / epochs)) / 2, then eta_min (torch "
             "CosineAnnealingLR)"},
    {.name = "reduce_on_plateau", .params = plateau_params, .check = plateau_check,
     .lr = plateau_lr, .epoch_end = plateau_epoch_end,
     .help = "lr * factor when monitor has not improved (by a relative threshold) for more "
             "than patience epochs; mode is max unless the monitor's name has 'loss' (torch "
             "ReduceLROnPlateau)"},
    {.name = "formula", .params = formula_params, .check = formula_check,
     .lr_at_step = formula_lr, .epoch_end = formula_epoch_end,
     .help = "lr from a formula of lr, epoch, step, epochs, steps_per_epoch, best and "
             "since_best (of monitor, as for reduce_on_plateau) and params, e.g. \"lr * 0.5 ^ "
             "floor(epoch / 10)\"; {formula: ...} without a type is one too"},
};
enum { N_SCHEDS = sizeof sched_table / sizeof sched_table[0] };

static const char *const *sched_names(void)
{
    static const char *names[N_SCHEDS + 1];
    for (int i = 0; i < N_SCHEDS; i++)
        names[i] = sched_table[i].name;
    return names;
}

/* Reads the kind's parameters and the warmup's from map (NULL: every default); errors
 * without a key of their own point at `where`, the schedule's node. */
static nn_status read_settings(nn_sched *s, const nn_cfg *map, const nn_cfg *where,
                               nn_error *err)
{
    static const char *const common_keys[] = {"type", NULL};
    const sched_kind *kind = s->kind;
    nn_status st = NN_OK;
    if (map)
        st = nni_params_check_keys(map, common_keys, kind->params, warmup_params, err);
    if (!st)
        st = nni_params_read(map, kind->params, &s->set, err);
    if (!st)
        st = nni_params_read(map, warmup_params, &s->set, err);
    if (!st && kind->check)
        st = kind->check(s, map, where, err);
    if (st)
        return st;
    if (s->set.warmup_epochs > 0 && s->set.warmup_steps > 0)
        return nn_cfg_fail(err, nn_cfg_get(map, "warmup_steps"),
                           "give warmup_epochs or warmup_steps, not both");
    s->warmup_steps = s->set.warmup_steps ? s->set.warmup_steps
                                          : s->set.warmup_epochs * s->steps_per_epoch;
    return NN_OK;
}

nn_status nn_sched_build(const nn_cfg *cfg, double base_lr, int64_t steps_per_epoch,
                         int epochs, nn_sched **out, nn_error *err)
{
    *out = NULL;
    nn_sched *s = calloc(1, sizeof *s);
    if (!s)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    s->base_lr = base_lr;
    s->steps_per_epoch = steps_per_epoch > 0 ? steps_per_epoch : 1;
    s->epochs = epochs;
    s->state.plateau_scale = 1;
    s->state.plateau_best = INFINITY; /* as reduce_on_plateau minimizing, for every kind */
    s->kind = &sched_table[0];
    const nn_cfg *map = cfg;
    nn_status st = NN_OK;
    if (cfg && nn_cfg_kind_of(cfg) == NN_CFG_MAP && !nn_cfg_get(cfg, "type") &&
        nn_cfg_get(cfg, "formula")) {
        /* `schedule: {formula: "..."}` */
        for (int k = 0; k < N_SCHEDS; k++)
            if (strcmp(sched_table[k].name, "formula") == 0)
                s->kind = &sched_table[k];
    } else if (cfg && (nn_cfg_kind_of(cfg) != NN_CFG_MAP || nn_cfg_get(cfg, "type"))) {
        /* `schedule: cosine` or `{type: cosine, ...}`; a map without a type is constant. */
        int kind = 0;
        st = nn_cfg_read_variant(cfg, "schedule", sched_names(), &kind, &map, err);
        if (!st) /* kind is -1 when the name is unknown */
            s->kind = &sched_table[kind];
    }
    if (!st)
        st = read_settings(s, map, map ? map : cfg, err);
    if (st) {
        nn_sched_free(s);
        return st;
    }
    *out = s;
    return NN_OK;
}

void nn_sched_free(nn_sched *sched)
{
    if (!sched)
        return;
    nni_formula_program_free(sched->program);
    nni_formula_free(sched->formula);
    free(sched);
}

double nn_sched_lr(const nn_sched *s, int epoch, int64_t step_in_epoch)
{
    int64_t global_step = (int64_t)epoch * s->steps_per_epoch + step_in_epoch;
    double lr = s->kind->lr_at_step ? s->kind->lr_at_step(s, epoch, global_step)
                                    : s->kind->lr(s, epoch);
    if (global_step < s->warmup_steps) {
        const double start = s->set.warmup_start;
        lr *= start + (1 - start) * (double)global_step / (double)s->warmup_steps;
    }
    return lr;
}

void nn_sched_epoch_end(nn_sched *s, double metric)
{
    if (s->kind->epoch_end)
        s->kind->epoch_end(s, metric);
}

const char *nn_sched_monitor(const nn_sched *s, int *maximize)
{
    if (maximize)
        *maximize = s->maximize;
    return s->kind->epoch_end && s->monitor[0] ? s->monitor : NULL;
}

nn_sched_state *nn_sched_state_of(nn_sched *s)
{
    return &s->state;
}

void nni_sched_catalogue(nni_catalogue_emit emit, void *ctx)
{
    for (int i = 0; i < N_SCHEDS; i++)
        nni_catalogue_emit_entry(emit, ctx, sched_table[i].name, sched_table[i].params,
                                 sched_table[i].help);
    nni_catalogue_emit_entry(emit, ctx, "(any type)", warmup_params,
                             "lr * (start + (1 - start) step / warmup_steps) over the first "
                             "optimizer steps, warmup_epochs counting whole epochs of steps "
                             "(torch LinearLR)");
}

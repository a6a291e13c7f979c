/* Learning-rate schedules (see include/nn/sched.h). Epoch-based rules follow torch's
 * StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR (per epoch, eta_min; held at eta_min
 * after `epochs` instead of rising again) and ReduceLROnPlateau (mode, factor, patience,
 * threshold rel, cooldown, min_lr). Warmup is torch's LinearLR stepped per optimizer step:
 * factor start + (1 - start) * step / warmup_steps until warmup_steps, multiplying the
 * schedule's lr (as torch's ChainedScheduler does). */
#include "nn/sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NN_PI 3.14159265358979323846

enum { SCHED_CONSTANT, SCHED_STEP, SCHED_MULTISTEP, SCHED_EXPONENTIAL, SCHED_COSINE,
       SCHED_PLATEAU, N_SCHEDS };
static const char *const sched_names[] = {"constant", "step", "multistep", "exponential",
                                          "cosine", "reduce_on_plateau", NULL};

/* The keys of each type, besides `type` and the warmup keys every type takes. */
#define WARMUP_KEYS "warmup_epochs", "warmup_steps", "warmup_start_factor"
static const char *const sched_keys[N_SCHEDS][12] = {
    [SCHED_CONSTANT] = {"type", WARMUP_KEYS, NULL},
    [SCHED_STEP] = {"type", "gamma", "step_size", WARMUP_KEYS, NULL},
    [SCHED_MULTISTEP] = {"type", "gamma", "milestones", WARMUP_KEYS, NULL},
    [SCHED_EXPONENTIAL] = {"type", "gamma", WARMUP_KEYS, NULL},
    [SCHED_COSINE] = {"type", "eta_min", "epochs", WARMUP_KEYS, NULL},
    [SCHED_PLATEAU] = {"type", "monitor", "mode", "factor", "patience", "threshold", "cooldown",
                       "min_lr", WARMUP_KEYS, NULL},
};

/* torch's LinearLR default start_factor. */
#define WARMUP_START_DEFAULT (1.0 / 3.0)

#define MAX_MILESTONES 32

struct nn_sched {
    int kind;
    double base_lr, gamma, min_lr, factor, threshold;
    int step_size, epochs, patience, cooldown, maximize;
    int n_milestones;
    int64_t milestones[MAX_MILESTONES];
    int64_t warmup_steps, steps_per_epoch;
    double warmup_start;
    char monitor[64];
    nn_sched_state state;
};

static nn_status read_settings(nn_sched *s, const nn_cfg *map, int epochs, nn_error *err)
{
    nn_status st;
    if ((st = nn_cfg_read_choice(map, "type", sched_names, "constant", &s->kind, err)) ||
        (st = nn_cfg_check_keys(map, sched_keys[s->kind], err)))
        return st;
    int64_t step_size = 1, patience = 10, cooldown = 0, warmup_epochs = 0, warmup_steps = 0;
    int64_t cosine_epochs = epochs;
    int mode = 0;
    static const char *const modes[] = {"min", "max", NULL};
    const char *monitor = "val_loss";
    if ((st = nn_cfg_read_double(map, "gamma", 0.1, &s->gamma, err)) ||
        (st = nn_cfg_read_int(map, "step_size", 1, &step_size, err)) ||
        (st = nn_cfg_read_double(map, "eta_min", 0, &s->min_lr, err)) ||
        (st = nn_cfg_read_int(map, "epochs", epochs, &cosine_epochs, err)) ||
        (st = nn_cfg_read_string(map, "monitor", "val_loss", &monitor, err)) ||
        (st = nn_cfg_read_choice(map, "mode", modes, NULL, &mode, err)) ||
        (st = nn_cfg_read_double(map, "factor", 0.1, &s->factor, err)) ||
        (st = nn_cfg_read_int(map, "patience", 10, &patience, err)) ||
        (st = nn_cfg_read_double(map, "threshold", 1e-4, &s->threshold, err)) ||
        (st = nn_cfg_read_int(map, "cooldown", 0, &cooldown, err)) ||
        (st = nn_cfg_read_int(map, "warmup_epochs", 0, &warmup_epochs, err)) ||
        (st = nn_cfg_read_int(map, "warmup_steps", 0, &warmup_steps, err)) ||
        (st = nn_cfg_read_double(map, "warmup_start_factor", WARMUP_START_DEFAULT,
                                 &s->warmup_start, err)))
        return st;
    if (s->kind == SCHED_PLATEAU) {
        static const char *const metrics[] = {"loss", "accuracy", "val_loss", "val_accuracy",
                                              NULL};
        int known = 0;
        for (int i = 0; metrics[i]; i++)
            known |= strcmp(metrics[i], monitor) == 0;
        if (!known)
            return nn_cfg_fail(err, nn_cfg_get(map, "monitor"), "unknown metric '%s'; valid: "
                               "loss, accuracy, val_loss, val_accuracy", monitor);
        if ((st = nn_cfg_read_double(map, "min_lr", 0, &s->min_lr, err)))
            return st;
    }
    if (s->kind == SCHED_MULTISTEP) {
        s->n_milestones = MAX_MILESTONES;
        if (!nn_cfg_get(map, "milestones"))
            return nn_cfg_fail(err, map, "multistep needs 'milestones' (epochs, e.g. [30, 60])");
        if ((st = nn_cfg_read_ints(map, "milestones", s->milestones, &s->n_milestones, err)))
            return st;
        for (int i = 0; i < s->n_milestones; i++)
            if (s->milestones[i] < 1)
                return nn_cfg_fail(err, nn_cfg_get(map, "milestones"),
                                   "milestones must be epochs >= 1");
    }
    const char *problem = NULL, *key = NULL;
    if (!(s->gamma > 0))
        problem = "must be > 0", key = "gamma";
    else if (step_size < 1)
        problem = "must be >= 1", key = "step_size";
    else if (cosine_epochs < 1)
        problem = "must be >= 1", key = "epochs";
    else if (s->min_lr < 0)
        problem = "must be >= 0", key = s->kind == SCHED_PLATEAU ? "min_lr" : "eta_min";
    else if (!(s->factor > 0 && s->factor < 1))
        problem = "must be in (0, 1)", key = "factor";
    else if (!(s->threshold >= 0))
        problem = "must be >= 0", key = "threshold";
    else if (patience < 0)
        problem = "must be >= 0", key = "patience";
    else if (cooldown < 0)
        problem = "must be >= 0", key = "cooldown";
    else if (warmup_epochs < 0)
        problem = "must be >= 0", key = "warmup_epochs";
    else if (warmup_steps < 0)
        problem = "must be >= 0", key = "warmup_steps";
    else if (warmup_epochs > 0 && warmup_steps > 0)
        problem = "give warmup_epochs or warmup_steps, not both", key = "warmup_steps";
    else if (!(s->warmup_start >= 0 && s->warmup_start <= 1))
        problem = "must be in [0, 1]", key = "warmup_start_factor";
    if (problem) {
        const nn_cfg *at = nn_cfg_get(map, key);
        return at ? nn_cfg_fail(err, at, "%s", problem)
                  : nn_cfg_fail(err, map, "%s %s", key, problem);
    }
    s->step_size = (int)step_size;
    s->epochs = (int)cosine_epochs;
    s->patience = (int)patience;
    s->cooldown = (int)cooldown;
    s->warmup_steps = warmup_steps ? warmup_steps : warmup_epochs * s->steps_per_epoch;
    /* The default mode follows the metric's name: losses go down, the rest up. */
    s->maximize = nn_cfg_get(map, "mode") ? mode == 1 : strstr(monitor, "loss") == NULL;
    snprintf(s->monitor, sizeof s->monitor, "%s", monitor);
    s->state.plateau_best = s->maximize ? -INFINITY : INFINITY;
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
    nn_cfg *empty = NULL;
    const nn_cfg *map = cfg;
    nn_status st = NN_OK;
    if (!cfg) {
        map = empty = nn_cfg_new_map();
    } else if (nn_cfg_kind_of(cfg) != NN_CFG_MAP || nn_cfg_get(cfg, "type")) {
        /* `schedule: cosine` or `{type: cosine, ...}`; a map without a type is constant. */
        int kind;
        const nn_cfg *named_map;
        st = nn_cfg_read_variant(cfg, "schedule", sched_names, &kind, &named_map, err);
        if (!st && !named_map) {
            if (!(map = empty = nn_cfg_new_map()))
                st = nn_fail(err, NN_ERR_OTHER, "out of memory");
            else
                st = nn_cfg_put(empty, "type", sched_names[kind], err);
        }
    }
    if (!st)
        st = read_settings(s, map, epochs, err);
    nn_cfg_free(empty);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return NN_OK;
}

void nn_sched_free(nn_sched *sched)
{
    free(sched);
}

double nn_sched_lr(const nn_sched *s, int epoch, int64_t step_in_epoch)
{
    double lr = s->base_lr;
    switch (s->kind) {
    case SCHED_STEP:
        lr *= pow(s->gamma, epoch / s->step_size);
        break;
    case SCHED_MULTISTEP:
        for (int i = 0; i < s->n_milestones; i++)
            if (epoch >= s->milestones[i])
                lr *= s->gamma;
        break;
    case SCHED_EXPONENTIAL:
        lr *= pow(s->gamma, epoch);
        break;
    case SCHED_COSINE: {
        int e = epoch < s->epochs ? epoch : s->epochs;
        lr = s->min_lr + (s->base_lr - s->min_lr) * (1 + cos(NN_PI * e / s->epochs)) / 2;
        break;
    }
    case SCHED_PLATEAU:
        lr = fmax(lr * s->state.plateau_scale, s->min_lr);
        break;
    default:
        break;
    }
    int64_t global_step = (int64_t)epoch * s->steps_per_epoch + step_in_epoch;
    if (global_step < s->warmup_steps)
        lr *= s->warmup_start +
              (1 - s->warmup_start) * (double)global_step / (double)s->warmup_steps;
    return lr;
}

void nn_sched_epoch_end(nn_sched *s, double metric)
{
    if (s->kind != SCHED_PLATEAU || isnan(metric))
        return;
    nn_sched_state *st = &s->state;
    /* torch's threshold_mode 'rel': better than best * (1 -+ threshold). */
    int better = s->maximize ? metric > st->plateau_best * (1 + s->threshold)
                             : metric < st->plateau_best * (1 - s->threshold);
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
    if (st->plateau_bad_epochs > s->patience) {
        /* torch skips a reduction smaller than its eps = 1e-8 (e.g. already at min_lr). */
        double current = fmax(s->base_lr * st->plateau_scale, s->min_lr);
        if (current - fmax(current * s->factor, s->min_lr) > 1e-8)
            st->plateau_scale *= s->factor;
        st->plateau_cooldown = s->cooldown;
        st->plateau_bad_epochs = 0;
    }
}

const char *nn_sched_monitor(const nn_sched *s, int *maximize)
{
    if (maximize)
        *maximize = s->maximize;
    return s->kind == SCHED_PLATEAU ? s->monitor : NULL;
}

nn_sched_state *nn_sched_state_of(nn_sched *s)
{
    return &s->state;
}

void nn_sched_list(void (*emit)(const char *line, void *ctx), void *ctx)
{
    static const char *const lines[] = {
        "constant          lr = optimizer.lr",
        "step              gamma=0.1 step_size=1: lr gamma^(epoch // step_size) (torch StepLR)",
        "multistep         milestones=[e1, e2, ...] (required) gamma=0.1: lr gamma^(milestones "
        "reached) (torch MultiStepLR)",
        "exponential       gamma=0.1: lr gamma^epoch (torch ExponentialLR; gamma 0.951 ~ "
        "exp(-0.05))",
        "cosine            epochs=train.epochs eta_min=0: eta_min + (lr - eta_min)(1 + cos(pi "
        "epoch / epochs)) / 2, then eta_min (torch CosineAnnealingLR)",
        "reduce_on_plateau monitor=val_loss mode=min|max (max unless the name has 'loss') "
        "factor=0.1 patience=10 threshold=1e-4 (relative) cooldown=0 min_lr=0: lr * factor "
        "when monitor has not improved for more than patience epochs (torch ReduceLROnPlateau)",
        "(any type)        warmup_epochs=0 | warmup_steps=0, warmup_start_factor=1/3: "
        "lr * (start + (1 - start) step / warmup_steps) over the first optimizer steps (torch "
        "LinearLR)",
        "(train keys)      lr_scaling: none|linear, lr_reference_batch=256: linear scales every "
        "lr by batch_size / lr_reference_batch",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        emit(lines[i], ctx);
}

/* Loss terms and their weighted sum. Each term is a table entry with a parser and one
 * function that returns the summed per-sample loss and writes the scaled gradient; the sum
 * of terms calls them in turn, the first overwriting dout and the rest adding to it. */
#include "nn/loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/loss_internal.h"

static void store(float *d, int64_t i, float g, int accumulate)
{
    d[i] = accumulate ? d[i] + g : g;
}

/* ---- cross_entropy: softmax of the logits against hard labels or target distributions,
 * with optional label smoothing eps: target = (1 - eps) onehot + eps / C. */

static nn_status cross_entropy_parse(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    double eps = 0;
    nn_status st = cfg ? nn_cfg_read_double(cfg, "label_smoothing", 0, &eps, err) : NN_OK;
    if (st)
        return st;
    if (eps < 0 || eps >= 1)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "label_smoothing"),
                           "label_smoothing must be in [0, 1)");
    t->param[0] = (float)eps;
    if (t->out_size < 2)
        return nn_fail(err, NN_ERR_CONFIG, "loss cross_entropy needs a model output of at "
                       "least 2 classes, got %lld", (long long)t->out_size);
    if (t->has_labels && t->num_classes > t->out_size)
        return nn_fail(err, NN_ERR_CONFIG, "loss cross_entropy: the data has %d classes but "
                       "the model outputs %lld values", t->num_classes, (long long)t->out_size);
    if (!t->has_labels && t->target_width != t->out_size)
        return nn_fail(err, NN_ERR_CONFIG, "loss cross_entropy: targets have width %lld but "
                       "the model outputs %lld values", (long long)t->target_width,
                       (long long)t->out_size);
    return NN_OK;
}

static double cross_entropy_eval(const loss_term *t, const float *out, const nn_targets *tg,
                                 int64_t rows, float scale, float *dout, int accumulate)
{
    const int64_t classes = t->out_size;
    const float eps = t->param[0];
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = out + r * classes;
        float max = x[0];
        for (int64_t c = 1; c < classes; c++)
            max = x[c] > max ? x[c] : max;
        double sum = 0;
        for (int64_t c = 0; c < classes; c++)
            sum += exp((double)(x[c] - max));
        double log_z = max + log(sum);
        /* loss = sum_c target_c (log_z - x_c); grad = softmax * sum(target) - target */
        double loss = 0, target_sum = 0;
        if (tg->labels) {
            int32_t label = tg->labels[r];
            loss = (1 - eps) * (log_z - x[label]);
            if (eps > 0)
                for (int64_t c = 0; c < classes; c++)
                    loss += eps / (double)classes * (log_z - x[c]);
            target_sum = 1;
        } else {
            const float *target = tg->values + r * tg->width;
            for (int64_t c = 0; c < classes; c++) {
                double tc = (1 - eps) * target[c] + eps / (double)classes;
                loss += tc * (log_z - x[c]);
                target_sum += tc;
            }
        }
        total += loss;
        if (!dout)
            continue;
        float *d = dout + r * classes;
        for (int64_t c = 0; c < classes; c++) {
            double p = exp((double)x[c] - log_z);
            double target;
            if (tg->labels)
                target = (1 - eps) * (c == tg->labels[r]) + eps / (double)classes;
            else
                target = (1 - eps) * tg->values[r * tg->width + c] + eps / (double)classes;
            store(d, c, (float)(scale * (p * target_sum - target)), accumulate);
        }
    }
    return total;
}

/* ---- Regression losses on (output - target); label targets become one-hot vectors. */

static float target_at(const loss_term *t, const nn_targets *tg, int64_t r, int64_t c)
{
    (void)t;
    if (tg->labels)
        return c == tg->labels[r] ? 1.0f : 0.0f;
    return tg->values[r * tg->width + c];
}

static nn_status regression_parse(loss_term *t, const nn_cfg *cfg, nn_error *err)
{
    (void)cfg;
    if (t->has_labels && t->num_classes > t->out_size)
        return nn_fail(err, NN_ERR_CONFIG, "loss %s: labels become one-hot vectors of %d "
                       "classes but the model outputs %lld values", t->kind->name,
                       t->num_classes, (long long)t->out_size);
    if (!t->has_labels && t->target_width != t->out_size)
        return nn_fail(err, NN_ERR_CONFIG, "loss %s: targets have width %lld but the model "
                       "outputs %lld values", t->kind->name, (long long)t->target_width,
                       (long long)t->out_size);
    return NN_OK;
}

/* Mean over a sample's outputs, as PyTorch's reduction='mean' averages over all elements. */
static double mse_eval(const loss_term *t, const float *out, const nn_targets *tg, int64_t rows,
                       float scale, float *dout, int accumulate)
{
    const int64_t width = t->out_size;
    const float gscale = 2.0f * scale / (float)width;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        double row = 0;
        for (int64_t c = 0; c < width; c++) {
            float diff = out[r * width + c] - target_at(t, tg, r, c);
            row += (double)diff * diff;
            if (dout)
                store(dout, r * width + c, gscale * diff, accumulate);
        }
        total += row / (double)width;
    }
    return total;
}

static double l1_eval(const loss_term *t, const float *out, const nn_targets *tg, int64_t rows,
                      float scale, float *dout, int accumulate)
{
    const int64_t width = t->out_size;
    const float gscale = scale / (float)width;
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        double row = 0;
        for (int64_t c = 0; c < width; c++) {
            float diff = out[r * width + c] - target_at(t, tg, r, c);
            row += fabs((double)diff);
            if (dout)
                store(dout, r * width + c,
                      diff > 0 ? gscale : diff < 0 ? -gscale : 0.0f, accumulate);
        }
        total += row / (double)width;
    }
    return total;
}

static const char *const ce_keys[] = {"label_smoothing", NULL};
static const char *const no_keys[] = {NULL};

static const loss_kind loss_table[] = {
    {"cross_entropy", ce_keys, cross_entropy_parse, cross_entropy_eval, 1,
     "softmax cross-entropy from logits; int labels or target distributions; "
     "label_smoothing=0"},
    {"mse", no_keys, regression_parse, mse_eval, 0, "mean squared error"},
    {"l1", no_keys, regression_parse, l1_eval, 0, "mean absolute error"},
};
enum { N_LOSSES = sizeof loss_table / sizeof loss_table[0] };

static const char *const *loss_names(void)
{
    static const char *names[N_LOSSES + 1];
    for (int i = 0; i < N_LOSSES; i++)
        names[i] = loss_table[i].name;
    return names;
}

static nn_status parse_term(nn_loss *loss, const nn_cfg *node, nn_error *err)
{
    const char *name = nn_cfg_scalar(node);
    const nn_cfg *map = NULL;
    if (!name) {
        if (nn_cfg_kind_of(node) != NN_CFG_MAP)
            return nn_cfg_fail(err, node, "a loss is a name, {type: name, ...} or a list");
        map = node;
        nn_status st = nn_cfg_read_string(map, "type", NULL, &name, err);
        if (st)
            return st;
        if (!name)
            return nn_cfg_fail(err, node, "loss needs a 'type'");
    }
    const loss_kind *kind = NULL;
    for (int i = 0; i < N_LOSSES; i++)
        if (strcmp(loss_table[i].name, name) == 0)
            kind = &loss_table[i];
    if (!kind) {
        const char *closest = nn_cfg_closest(name, loss_names());
        char list[512] = "";
        size_t used = 0;
        for (int i = 0; i < N_LOSSES; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     loss_table[i].name);
        return nn_cfg_fail(err, node, "unknown loss '%s'%s%s%s; valid: %s", name,
                           closest ? " (did you mean '" : "", closest ? closest : "",
                           closest ? "'?)" : "", list);
    }
    loss_term *t = &loss->terms[loss->n_terms];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->weight = 1;
    t->out_size = loss->out_size;
    t->has_labels = loss->has_labels;
    t->target_width = loss->target_width;
    t->num_classes = loss->num_classes;
    if (map) {
        const char *allowed[16] = {"type", "weight"};
        int n = 2;
        for (const char *const *k = kind->keys; *k && n < 15; k++)
            allowed[n++] = *k;
        allowed[n] = NULL;
        nn_status st = nn_cfg_check_keys(map, allowed, err);
        if (!st)
            st = nn_cfg_read_double(map, "weight", 1, &t->weight, err);
        if (st)
            return st;
        if (!(t->weight >= 0))
            return nn_cfg_fail(err, nn_cfg_get(map, "weight"), "loss weight must be >= 0");
    }
    nn_status st = kind->parse(t, map, err);
    if (st)
        return nn_cfg_where(node)[0] ? nn_fail_prefix(err, "%s: ", nn_cfg_where(node)) : st;
    loss->n_terms++;
    return NN_OK;
}

nn_status nn_loss_build(const nn_cfg *loss_cfg, int64_t output_size, int has_labels,
                        int64_t target_width, int num_classes, nn_loss **out, nn_error *err)
{
    *out = NULL;
    nn_loss *loss = calloc(1, sizeof *loss);
    if (!loss)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    loss->out_size = output_size;
    loss->has_labels = has_labels;
    loss->target_width = target_width;
    loss->num_classes = num_classes;
    nn_status st = NN_OK;
    if (!loss_cfg) {
        st = nn_fail(err, NN_ERR_CONFIG, "config: missing train.loss (e.g. cross_entropy)");
    } else if (nn_cfg_kind_of(loss_cfg) == NN_CFG_SEQ) {
        if (nn_cfg_size(loss_cfg) == 0 || nn_cfg_size(loss_cfg) > NN_MAX_LOSS_TERMS)
            st = nn_cfg_fail(err, loss_cfg, "a loss list holds 1 to %d terms",
                             NN_MAX_LOSS_TERMS);
        for (int i = 0; !st && i < nn_cfg_size(loss_cfg); i++)
            st = parse_term(loss, nn_cfg_at(loss_cfg, i), err);
    } else {
        st = parse_term(loss, loss_cfg, err);
    }
    if (st) {
        nn_loss_free(loss);
        return st;
    }
    *out = loss;
    return NN_OK;
}

void nn_loss_free(nn_loss *loss)
{
    free(loss);
}

double nn_loss_eval(nn_loss *loss, const float *output, const nn_targets *targets, int64_t rows,
                    float grad_scale, float *dout)
{
    double total = 0;
    for (int i = 0; i < loss->n_terms; i++) {
        const loss_term *t = &loss->terms[i];
        total += t->weight * t->kind->eval(t, output, targets, rows,
                                           (float)(grad_scale * t->weight), dout, i > 0);
    }
    return total;
}

int nn_loss_is_classification(const nn_loss *loss)
{
    return loss->has_labels || loss->terms[0].kind->classification;
}

void nn_loss_list(void (*emit)(const char *line, void *ctx), void *ctx)
{
    for (int i = 0; i < N_LOSSES; i++) {
        char line[256];
        snprintf(line, sizeof line, "%-16s %s", loss_table[i].name, loss_table[i].help);
        emit(line, ctx);
    }
}

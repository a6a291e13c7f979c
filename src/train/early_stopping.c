/* Early stopping (`train.early_stopping`): the monitored metric after each epoch, the best
 * epoch so far, when to stop, and the best weights kept for restore_best. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "train/train_internal.h"

const char *const nni_early_stopping_keys[] = {"monitor", "mode", "patience", "min_delta",
                                         "restore_best", NULL};

nn_status nni_early_stopping_parse(const nn_cfg *node, int has_val, const nn_model *model,
                                   early_stopping *e, nn_error *err)
{
    memset(e, 0, sizeof *e);
    if (!node)
        return NN_OK;
    nn_status st = nn_cfg_check_keys(node, nni_early_stopping_keys, err);
    const char *monitor = "val_loss";
    int64_t patience = 5;
    int mode = -1;
    static const char *const modes[] = {"min", "max", NULL};
    if (st || (st = nn_cfg_read_string(node, "monitor", "val_loss", &monitor, err)) ||
        (st = nn_cfg_read_choice(node, "mode", modes, NULL, &mode, err)) ||
        (st = nn_cfg_read_int(node, "patience", 5, &patience, err)) ||
        (st = nn_cfg_read_double(node, "min_delta", 0, &e->min_delta, err)) ||
        (st = nn_cfg_read_bool(node, "restore_best", 0, &e->restore_best, err)))
        return st;
    static const char *const metrics[] = {"loss", "accuracy", "val_loss", "val_accuracy", NULL};
    int known = 0;
    for (int i = 0; metrics[i]; i++)
        known |= strcmp(metrics[i], monitor) == 0;
    if (!known)
        return nn_cfg_fail_unknown(err, nn_cfg_get(node, "monitor"), "metric", monitor, metrics);
    if (strncmp(monitor, "val_", 4) == 0 && !has_val)
        return nn_cfg_fail(err, nn_cfg_get(node, "monitor") ? nn_cfg_get(node, "monitor") : node,
                           "monitoring '%s'%s needs a validation split (data.val)", monitor,
                           nn_cfg_get(node, "monitor") ? "" : " (the default monitor)");
    if (patience < 0)
        return nn_cfg_fail(err, nn_cfg_get(node, "patience"), "must be >= 0 (epochs)");
    if (!(e->min_delta >= 0))
        return nn_cfg_fail(err, nn_cfg_get(node, "min_delta"), "must be >= 0");
    e->enabled = 1;
    snprintf(e->monitor, sizeof e->monitor, "%s", monitor);
    e->maximize = mode >= 0 ? mode == 1 : strstr(monitor, "loss") == NULL;
    e->patience = (int)patience;
    e->best = e->maximize ? -INFINITY : INFINITY;
    if (e->restore_best) {
        e->best_params = nni_alloc_floats(model->n_param_floats + 1);
        e->best_state = nni_alloc_floats(model->n_state_floats + 1);
        if (!e->best_params || !e->best_state)
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    return NN_OK;
}

void nni_early_stopping_free(early_stopping *e)
{
    free(e->best_params);
    free(e->best_state);
    e->best_params = e->best_state = NULL;
}

int nni_early_stopping_update(early_stopping *e, const nn_epoch_record *m, const nn_model *model)
{
    double value = nn_epoch_record_metric(m, e->monitor);
    int improved = e->maximize ? value > e->best + e->min_delta : value < e->best - e->min_delta;
    if (improved) {
        e->best = value;
        e->best_epoch = m->epoch;
        e->bad_epochs = 0;
        if (e->restore_best) {
            memcpy(e->best_params, model->param_data,
                   (size_t)model->n_param_floats * sizeof(float));
            memcpy(e->best_state, model->state_data,
                   (size_t)model->n_state_floats * sizeof(float));
        }
    } else {
        e->bad_epochs++;
    }
    /* As Keras and Lightning: stop after `patience` epochs without improvement (the first
     * one with patience 0). */
    return e->bad_epochs > 0 && e->bad_epochs >= e->patience;
}

int nni_early_stopping_restore(const early_stopping *e, nn_model *model)
{
    if (!e->enabled || !e->restore_best || e->best_epoch <= 0)
        return 0;
    memcpy(model->param_data, e->best_params, (size_t)model->n_param_floats * sizeof(float));
    memcpy(model->state_data, e->best_state, (size_t)model->n_state_floats * sizeof(float));
    return 1;
}

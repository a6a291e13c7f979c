/* Reading a checkpoint file (layout in include/nn/ckpt.h): /meta alone, the tensors into a
 * model (and optimizer) built from the same config, and a full verification of every
 * dataset's checksum. A checkpoint of another model is refused naming the first tensor
 * that differs; corruption is a data error. */
#include "nn/ckpt.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ckpt_internal.h"
#include "io/hdf5_util.h"
#include "io/history_internal.h"
#include "train/optim_internal.h"

static nn_status open_checkpoint(const char *path, hid_t *file, nn_error *err)
{
    if (access(path, R_OK) != 0)
        return nn_fail(err, NN_ERR_DATA, "%s: cannot read checkpoint: %s", path, strerror(errno));
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0)
        return nn_fail(err, NN_ERR_DATA, "%s: not a readable HDF5 checkpoint (truncated or "
                       "corrupt)", path);
    return NN_OK;
}

/* A number: the attribute must hold one numeric value (HDF5 would write as many values as
 * the attribute holds into *value). */
static herr_t read_attr(hid_t obj, const char *name, hid_t type, void *value)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t space = attr < 0 ? -1 : H5Aget_space(attr);
    hid_t stored = attr < 0 ? -1 : H5Aget_type(attr);
    H5T_class_t cls = stored < 0 ? H5T_NO_CLASS : H5Tget_class(stored);
    herr_t s = -1;
    if (space >= 0 && H5Sget_simple_extent_npoints(space) == 1 &&
        (cls == H5T_INTEGER || cls == H5T_FLOAT))
        s = H5Aread(attr, type, value);
    nni_h5_close(&stored);
    nni_h5_close(&space);
    nni_h5_close(&attr);
    return s;
}

/* 1 when obj (a dataset or attribute's type and space) holds exactly one string. */
static int one_string(hid_t type, hid_t space)
{
    return type >= 0 && space >= 0 && H5Tget_class(type) == H5T_STRING &&
           H5Sget_simple_extent_npoints(space) == 1;
}

static char *read_text(hid_t group, const char *name)
{
    hid_t dset = H5Dopen2(group, name, H5P_DEFAULT);
    if (dset < 0)
        return NULL;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    char *value = NULL;
    char *copy = NULL;
    hid_t space = H5Dget_space(dset), stored = H5Dget_type(dset);
    if (one_string(stored, space) &&
        H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0 && value) {
        copy = strdup(value);
        H5Dvlen_reclaim(type, space, H5P_DEFAULT, &value);
    }
    nni_h5_close(&stored);
    nni_h5_close(&space);
    H5Tclose(type);
    H5Dclose(dset);
    return copy;
}

/* The column each stored column is, by the `columns` attribute (checkpoints written before
 * it existed have the 8 columns of NN_HISTORY_COLUMNS in its order). */
static int stored_columns(hid_t dset, int *which, int n_stored)
{
    for (int c = 0; c < n_stored; c++)
        which[c] = c < NN_HISTORY_COLUMNS ? c : -1;
    if (H5Aexists(dset, "columns") <= 0)
        return n_stored == NN_HISTORY_COLUMNS;
    char *text = NULL;
    hid_t attr = H5Aopen(dset, "columns", H5P_DEFAULT);
    hid_t space = attr < 0 ? -1 : H5Aget_space(attr), stored = attr < 0 ? -1 : H5Aget_type(attr);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    int ok = one_string(stored, space) && H5Aread(attr, type, &text) >= 0 && text;
    nni_h5_close(&stored);
    nni_h5_close(&space);
    char *allocated = ok ? text : NULL;
    for (int c = 0; ok && c < n_stored; c++) {
        char *comma = strchr(text, ',');
        char name[64];
        size_t len = comma ? (size_t)(comma - text) : strlen(text);
        snprintf(name, sizeof name, "%.*s", (int)len, text);
        which[c] = nni_history_column_index(name);
        text = comma ? comma + 1 : text + len;
    }
    if (allocated)
        H5free_memory(allocated);
    nni_h5_close(&attr);
    nni_h5_close(&type);
    return ok;
}

static nn_status read_history(hid_t group, const char *path, nn_ckpt_meta *meta, nn_error *err)
{
    hid_t dset = H5Dopen2(group, "history", H5P_DEFAULT);
    hid_t space = dset < 0 ? -1 : H5Dget_space(dset);
    hsize_t dims[2] = {0, 0};
    /* Epochs x columns, and stored in full: only then is its shape worth allocating. */
    int shaped = nni_h5_values_of_rank(space, 2, dims) >= 0 && dims[1] >= 1 && dims[1] <= 64 &&
                 dims[0] <= INT_MAX && nni_h5_dataset_stores_shape(dset);
    nni_h5_close(&space);
    if (!shaped)
        dims[0] = dims[1] = 0;
    int n_stored = (int)dims[1], which[64];
    meta->n_history = (int)dims[0];
    meta->history = calloc(dims[0] ? dims[0] : 1, sizeof *meta->history);
    double *rows = malloc((dims[0] ? dims[0] : 1) * (dims[1] ? dims[1] : 1) * sizeof *rows);
    nn_status st = NN_OK;
    if (dset < 0 || !shaped || !meta->history || !rows ||
        !stored_columns(dset, which, n_stored) ||
        (dims[0] && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0))
        st = nn_fail(err, NN_ERR_DATA, "%s: /meta/history: missing or corrupt", path);
    for (int i = 0; !st && i < meta->n_history; i++)
        for (int c = 0; !st && c < n_stored; c++) {
            double value = rows[(size_t)i * n_stored + c];
            /* The epoch column becomes an int: only a whole number in range is one. */
            if (which[c] == 0 && !(value >= 0 && value <= INT_MAX && value == floor(value)))
                st = nn_fail(err, NN_ERR_DATA, "%s: /meta/history: row %d has no valid epoch",
                             path, i + 1);
            else
                nni_epoch_record_set(&meta->history[i], which[c], value);
        }
    free(rows);
    nni_h5_close(&dset);
    return st;
}

nn_status nn_ckpt_read_meta(const char *path, nn_ckpt_meta *meta, nn_error *err)
{
    memset(meta, 0, sizeof *meta);
    nni_h5_quiet q = nni_h5_quiet_begin();
    hid_t file = -1;
    nn_status st = open_checkpoint(path, &file, err);
    hid_t group = st ? -1 : H5Gopen2(file, "meta", H5P_DEFAULT);
    if (!st && group < 0)
        st = nn_fail(err, NN_ERR_DATA, "%s: /meta: missing (not an nntrain checkpoint)", path);
    int64_t version = 0, epoch = 0, step = 0, optim_steps = 0, world = 0, best_epoch = 0,
            bad = 0, plateau_bad = 0, plateau_cool = 0;
    herr_t s = 0;
    if (!st) {
        s |= read_attr(group, "format_version", H5T_NATIVE_INT64, &version);
        s |= read_attr(group, "epoch", H5T_NATIVE_INT64, &epoch);
        s |= read_attr(group, "step", H5T_NATIVE_INT64, &step);
        s |= read_attr(group, "optim_steps", H5T_NATIVE_INT64, &optim_steps);
        s |= read_attr(group, "world_size", H5T_NATIVE_INT64, &world);
        s |= read_attr(group, "seed", H5T_NATIVE_UINT64, &meta->seed);
        s |= read_attr(group, "model_hash", H5T_NATIVE_UINT64, &meta->model_hash);
        s |= read_attr(group, "data_hash", H5T_NATIVE_UINT64, &meta->data_hash);
        s |= read_attr(group, "early_best_epoch", H5T_NATIVE_INT64, &best_epoch);
        s |= read_attr(group, "early_bad_epochs", H5T_NATIVE_INT64, &bad);
        s |= read_attr(group, "early_best", H5T_NATIVE_DOUBLE, &meta->early_best);
        s |= read_attr(group, "sched_plateau_scale", H5T_NATIVE_DOUBLE, &meta->sched.plateau_scale);
        s |= read_attr(group, "sched_plateau_best", H5T_NATIVE_DOUBLE, &meta->sched.plateau_best);
        s |= read_attr(group, "sched_plateau_bad_epochs", H5T_NATIVE_INT64, &plateau_bad);
        s |= read_attr(group, "sched_plateau_cooldown", H5T_NATIVE_INT64, &plateau_cool);
        if (s < 0)
            st = nn_fail(err, NN_ERR_DATA, "%s: /meta: attributes missing or corrupt", path);
    }
    double counters[8];
    if (!st) {
        hid_t dset = H5Dopen2(group, "counters", H5P_DEFAULT);
        hid_t space = dset < 0 ? -1 : H5Dget_space(dset);
        hssize_t values = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
        nni_h5_close(&space);
        if (dset < 0 || values != 8 ||
            H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, counters) < 0 ||
            counters[0] != (double)epoch || counters[1] != (double)step ||
            counters[2] != (double)optim_steps)
            st = nn_fail(err, NN_ERR_DATA, "%s: /meta/counters: missing or failing its "
                         "checksum", path);
        if (dset >= 0)
            H5Dclose(dset);
    }
    if (!st && version != NN_CKPT_FORMAT_VERSION)
        st = nn_fail(err, NN_ERR_DATA, "%s: checkpoint format %lld, this nntrain reads %d",
                     path, (long long)version, NN_CKPT_FORMAT_VERSION);
    if (!st) {
        st = read_history(group, path, meta, err);
    }
    if (!st) {
        meta->config_yaml = read_text(group, "config");
        char *fingerprint = read_text(group, "data_fingerprint");
        if (!meta->config_yaml || !fingerprint)
            st = nn_fail(err, NN_ERR_DATA, "%s: /meta/config: missing or corrupt", path);
        else
            snprintf(meta->data_fingerprint, sizeof meta->data_fingerprint, "%s", fingerprint);
        free(fingerprint);
    }
    if (group >= 0)
        H5Gclose(group);
    if (file >= 0)
        H5Fclose(file);
    nni_h5_quiet_end(q);
    if (st) {
        nn_ckpt_meta_free(meta);
        return st;
    }
    meta->format_version = (int)version;
    meta->epoch = (int)epoch;
    meta->step = step;
    meta->optim_steps = optim_steps;
    meta->world_size = (int)world;
    meta->partial[0] = counters[3];
    meta->partial[1] = counters[4];
    meta->partial[2] = counters[5];
    meta->early_best_epoch = (int)best_epoch;
    meta->early_bad_epochs = (int)bad;
    meta->sched.plateau_bad_epochs = (int)plateau_bad;
    meta->sched.plateau_cooldown = (int)plateau_cool;
    return NN_OK;
}

void nn_ckpt_meta_free(nn_ckpt_meta *meta)
{
    free(meta->config_yaml);
    free(meta->history);
    meta->config_yaml = NULL;
    meta->history = NULL;
}

/* Reads a float dataset of exactly the expected shape. */
static nn_status read_tensor(hid_t file, const char *path, const char *name, float *out,
                             const nn_param *p, nn_error *err)
{
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dset < 0)
        return nn_fail(err, NN_ERR_CONFIG, "%s: %s is missing: the checkpoint is of a "
                       "different model", path, name);
    hid_t space = H5Dget_space(dset);
    hsize_t dims[H5S_MAX_RANK] = {0};
    int ndim = H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    int same = ndim == (p->ndim ? p->ndim : 1);
    for (int i = 0; same && i < p->ndim; i++)
        same = dims[i] == (hsize_t)p->dims[i];
    if (!same) {
        H5Dclose(dset);
        return nn_fail(err, NN_ERR_CONFIG, "%s: %s has another shape than the model's "
                       "parameter: the checkpoint is of a different model", path, name);
    }
    herr_t s = H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Dclose(dset);
    if (s < 0)
        return nn_fail(err, NN_ERR_DATA, "%s: %s fails its checksum (corrupt checkpoint)", path,
                       name);
    return NN_OK;
}

nn_status nn_ckpt_load(const char *path, nn_model *model, nn_optim *opt, nn_error *err)
{
    nni_h5_quiet q = nni_h5_quiet_begin();
    hid_t file = -1;
    nn_status st = open_checkpoint(path, &file, err);
    for (int k = 0; !st && k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        char name[512];
        int state = (p->flags & NN_PARAM_STATE) != 0;
        nni_ckpt_tensor_path(name, sizeof name, p);
        st = read_tensor(file, path, name, nn_model_param_data(model, p), p, err);
        for (int slot = 0; !st && opt && !state && slot < nni_optim_slot_count(opt); slot++) {
            nni_ckpt_slot_path(name, sizeof name, p, nni_optim_slot_name(opt, slot));
            st = read_tensor(file, path, name, nni_optim_slot(opt, slot) + p->offset, p, err);
            if (st == NN_ERR_CONFIG)
                nn_fail(err, NN_ERR_CONFIG, "%s: %s is missing: the checkpoint was written with "
                        "another optimizer", path, name);
        }
    }
    if (file >= 0)
        H5Fclose(file);
    nni_h5_quiet_end(q);
    return st;
}

static herr_t verify_visit(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t dset = H5Dopen2(obj, name, H5P_DEFAULT);
    if (dset < 0)
        return -1;
    hid_t space = H5Dget_space(dset), type = H5Dget_type(dset);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    herr_t s = nni_h5_dataset_stores_shape(dset) ? 0 : -1;
    if (s == 0 && H5Tget_class(type) == H5T_FLOAT && n > 0) {
        double *buf = malloc((size_t)n * sizeof *buf);
        s = buf ? H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : -1;
        free(buf);
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(dset);
    if (s < 0)
        snprintf((char *)data, 256, "%s", name);
    return s < 0 ? -1 : 0;
}

nn_status nn_ckpt_verify(const char *path, nn_error *err)
{
    nn_ckpt_meta meta;
    nn_status st = nn_ckpt_read_meta(path, &meta, err);
    if (st)
        return st;
    nn_ckpt_meta_free(&meta);
    nni_h5_quiet q = nni_h5_quiet_begin();
    hid_t file = -1;
    st = open_checkpoint(path, &file, err);
    char bad[256] = "";
    if (!st && H5Ovisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, verify_visit, bad) < 0)
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s fails its checksum or holds less than its "
                     "shape declares (corrupt checkpoint)", path, bad[0] ? bad : "?");
    if (file >= 0)
        H5Fclose(file);
    nni_h5_quiet_end(q);
    return st;
}

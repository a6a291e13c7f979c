/* Writing a checkpoint file (layout in include/nn/ckpt.h): every tensor a chunked dataset
 * with a Fletcher-32 checksum, /meta's attributes and datasets, the whole written to a
 * temporary file that is fsync'ed and renamed (complete or absent). */
#include "nn/ckpt.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/files.h"
#include "io/ckpt_internal.h"
#include "io/hdf5_util.h"
#include "io/step_record.h"
#include "model/model_internal.h"
#include "nn/version.h"
#include "train/optim_internal.h"

static herr_t write_floats(hid_t file, const char *name, const float *data, int ndim,
                           const int64_t *dims64)
{
    hsize_t dims[NN_MAX_DIMS + 1];
    for (int i = 0; i < ndim; i++)
        dims[i] = (hsize_t)dims64[i];
    if (ndim == 0) {
        ndim = 1;
        dims[0] = 1;
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* One chunk per tensor (checksums need chunked storage). */
    H5Pset_chunk(dcpl, ndim, dims);
    H5Pset_fletcher32(dcpl);
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t dset = H5Dcreate2(file, name, H5T_IEEE_F32LE, space, lcpl, dcpl, H5P_DEFAULT);
    herr_t status = dset < 0 ? -1
                             : H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                        data);
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    return status;
}

static herr_t write_doubles(hid_t group, const char *name, const double *data, hsize_t rows,
                            hsize_t cols)
{
    hsize_t dims[2] = {rows, cols}, chunk[2] = {rows ? rows : 1, cols};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_fletcher32(dcpl);
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset = H5Dcreate2(group, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t status = dset < 0 ? -1
                    : rows == 0 ? 0
                    : H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    H5Pclose(dcpl);
    return status;
}

static herr_t write_text(hid_t group, const char *name, const char *text)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t dset = H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t status = dset < 0 ? -1
                             : H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text);
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    H5Tclose(type);
    return status;
}

/* /meta/history: one row of NN_HISTORY_COLUMNS doubles per epoch, the column names in its
 * `columns` attribute ("epoch,lr,..."), so readers (h5py users, later versions) find a
 * column by name; `step_columns` names those of the run's metrics-steps.csv. */
static herr_t write_history(hid_t group, const nn_epoch_record *records, int n)
{
    double *rows = malloc(((size_t)n + 1) * NN_HISTORY_COLUMNS * sizeof *rows);
    if (!rows)
        return -1;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < NN_HISTORY_COLUMNS; c++)
            rows[(size_t)i * NN_HISTORY_COLUMNS + c] = nn_epoch_record_value(&records[i], c);
    herr_t s = write_doubles(group, "history", rows, (hsize_t)n, NN_HISTORY_COLUMNS);
    free(rows);
    char names[512] = "";
    size_t used = 0;
    for (int c = 0; c < NN_HISTORY_COLUMNS; c++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", c ? "," : "",
                                 nn_history_column_name(c));
    hid_t dset = s < 0 ? -1 : H5Dopen2(group, "history", H5P_DEFAULT);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    const char *const attr_names[2] = {"columns", "step_columns"};
    const char *const texts[2] = {names, nni_step_columns()};
    for (int k = 0; k < 2; k++) {
        hid_t attr = dset < 0 ? -1 : H5Acreate2(dset, attr_names[k], type, space, H5P_DEFAULT,
                                                H5P_DEFAULT);
        if (attr < 0 || H5Awrite(attr, type, &texts[k]) < 0)
            s = -1;
        nni_h5_close(&attr);
    }
    nni_h5_close(&space);
    nni_h5_close(&type);
    nni_h5_close(&dset);
    return s;
}

/* A scalar attribute stored as file_type, from a value of memory type mem_type. */
static herr_t write_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                         const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t status = attr < 0 ? -1 : H5Awrite(attr, mem_type, value);
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return status;
}

static herr_t attr_i64(hid_t obj, const char *name, int64_t value)
{
    return write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

static herr_t attr_u64(hid_t obj, const char *name, uint64_t value)
{
    return write_attr(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

static herr_t attr_f64(hid_t obj, const char *name, double value)
{
    return write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* A UTF-8 string attribute (h5py reads it as str). */
static herr_t attr_text(hid_t obj, const char *name, const char *text)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t status = attr < 0 ? -1 : H5Awrite(attr, type, &text);
    nni_h5_close(&attr);
    nni_h5_close(&space);
    nni_h5_close(&type);
    return status;
}

static herr_t write_meta(hid_t file, const nn_ckpt_meta *meta, uint64_t model_hash)
{
    hid_t group = H5Gcreate2(file, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0)
        return -1;
    herr_t s = 0;
    s |= attr_i64(group, "format_version", NN_CKPT_FORMAT_VERSION);
    s |= attr_text(group, "nntrain_version", nn_version_full());
    s |= attr_i64(group, "epoch", meta->epoch);
    s |= attr_i64(group, "step", meta->step);
    s |= attr_i64(group, "optim_steps", meta->optim_steps);
    s |= attr_i64(group, "world_size", meta->world_size);
    s |= attr_u64(group, "seed", meta->seed);
    s |= attr_u64(group, "model_hash", model_hash);
    s |= attr_u64(group, "data_hash", meta->data_hash);
    s |= attr_i64(group, "early_best_epoch", meta->early_best_epoch);
    s |= attr_i64(group, "early_bad_epochs", meta->early_bad_epochs);
    s |= attr_f64(group, "early_best", meta->early_best);
    s |= attr_f64(group, "sched_plateau_scale", meta->sched.plateau_scale);
    s |= attr_f64(group, "sched_plateau_best", meta->sched.plateau_best);
    s |= attr_i64(group, "sched_plateau_bad_epochs", meta->sched.plateau_bad_epochs);
    s |= attr_i64(group, "sched_plateau_cooldown", meta->sched.plateau_cooldown);
    /* Counters that decide bit-exact resumption also live in a checksummed dataset. */
    double counters[8] = {(double)meta->epoch, (double)meta->step, (double)meta->optim_steps,
                          meta->partial[0], meta->partial[1], meta->partial[2],
                          (double)meta->seed, 0};
    s |= write_doubles(group, "counters", counters, 1, 8);
    s |= write_history(group, meta->history, meta->n_history);
    s |= write_text(group, "config", meta->config_yaml ? meta->config_yaml : "");
    s |= write_text(group, "data_fingerprint", meta->data_fingerprint);
    H5Gclose(group);
    return s < 0 ? -1 : 0;
}

/* Built in memory and written whole (see io/hdf5_util.h). */
nn_status nn_ckpt_write(const char *path, const nn_model *model, nn_optim *opt,
                        const nn_ckpt_meta *meta, nn_error *err)
{
    nni_h5_quiet q = nni_h5_quiet_begin();
    hid_t fapl = nni_h5_memory_access(H5P_DEFAULT);
    /* The 1.8+ object headers carry metadata checksums. */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    char name[1100];
    snprintf(name, sizeof name, "%s.in-memory", path);
    hid_t file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    herr_t s = file < 0 ? -1 : 0;
    for (int k = 0; s >= 0 && k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        char tensor[512];
        int state = (p->flags & NN_PARAM_STATE) != 0;
        nni_ckpt_tensor_path(tensor, sizeof tensor, p);
        s = write_floats(file, tensor, nn_model_param_data(model, p), p->ndim, p->dims);
        for (int slot = 0; s >= 0 && opt && !state && slot < nni_optim_slot_count(opt); slot++) {
            nni_ckpt_slot_path(tensor, sizeof tensor, p, nni_optim_slot_name(opt, slot));
            s = write_floats(file, tensor, nni_optim_slot(opt, slot) + p->offset, p->ndim,
                             p->dims);
        }
    }
    if (s >= 0)
        s = write_meta(file, meta, nni_model_hash(model));
    nn_status st;
    if (s < 0) {
        nni_h5_close(&file);
        st = nn_fail(err, NN_ERR_OTHER, "%s: building the checkpoint failed (out of memory?)",
                     path);
    } else {
        st = nni_h5_write_image(&file, path, err);
    }
    nni_h5_quiet_end(q);
    return st;
}

/* Writing HDF5 datasets: splits of x and y with their attributes, and the root's class
 * attributes (the layout is in include/nn/data.h).
 *
 * Writing goes to "<path>.tmp", which is flushed, closed, fsync'ed and renamed over <path>.
 * Splits of an existing file that the writer does not replace are copied into the temporary
 * file at commit (H5Ocopy), instead of editing a copy of the old file in place: HDF5 never
 * reclaims the space of a deleted group, so in-place replacement would grow the file on
 * every re-import, and the old file is only read, never touched, until the rename.
 *
 * HDF5 prints its error stack to stderr by default. Every public function here silences it
 * for the duration of the call, so that the only report is the one-line nn_error. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/files.h"
#include "data/dataset_internal.h"
#include "io/hdf5_util.h"

#define CHUNK_TARGET_BYTES ((size_t)1 << 20)

struct nn_dataset_writer {
    nni_atomic_file target; /* path and the temporary file */
    hid_t file;     /* the temporary file being written */
    hid_t existing; /* the file currently at path, read-only, whose other splits are kept */
    int classes_set;
    int n_splits;
    char (*splits)[64]; /* names written so far */
};

static void writer_free(nn_dataset_writer *w)
{
    if (!w)
        return;
    nni_h5_close(&w->file);
    nni_h5_close(&w->existing);
    free(w->splits);
    free(w);
}

static nn_status writer_begin(const char *path, int keep_existing, nn_dataset_writer **out,
                              nn_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return nn_fail(err, NN_ERR_OTHER, "dataset writer: no path given");
    nn_dataset_writer *w = calloc(1, sizeof *w);
    if (!w)
        return nn_fail(err, NN_ERR_OTHER, "%s: out of memory", path);
    w->file = w->existing = H5I_INVALID_HID;
    nn_status begun = nni_atomic_begin(&w->target, path, err);
    if (begun) {
        writer_free(w);
        return begun;
    }

    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status status = NN_OK;
    struct stat st;
    if (keep_existing && stat(path, &st) == 0) {
        status = nni_dataset_open_for_reading(path, &w->existing, err);
        if (status != NN_OK) {
            if (err) {
                char why[sizeof err->msg];
                memcpy(why, err->msg, sizeof why);
                nn_fail(err, status, "%.900s (not replacing it)", why);
            }
            goto done;
        }
    } else if (keep_existing && errno != ENOENT) {
        status = nn_fail(err, NN_ERR_OTHER, "%s: %s", path, strerror(errno));
        goto done;
    }
    hid_t fapl = nni_dataset_file_access();
    w->file = H5Fcreate(w->target.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    nni_h5_detail detail = nni_h5_last_error();
    nni_h5_close(&fapl);
    if (w->file < 0)
        status = nn_fail(err, NN_ERR_OTHER, "%s: cannot create (%s)", w->target.tmp_path,
                         detail.text);
done:
    nni_h5_quiet_end(quiet);
    if (status != NN_OK) {
        nni_atomic_abort(&w->target);
        writer_free(w);
        return status;
    }
    *out = w;
    return NN_OK;
}

nn_status nn_dataset_writer_open(const char *path, nn_dataset_writer **out, nn_error *err)
{
    return writer_begin(path, 1, out, err);
}

nn_status nn_dataset_writer_create(const char *path, nn_dataset_writer **out, nn_error *err)
{
    return writer_begin(path, 0, out, err);
}

static hsize_t chunk_rows(int64_t rows, size_t row_bytes)
{
    size_t per_chunk = CHUNK_TARGET_BYTES / row_bytes;
    if (per_chunk < 1)
        per_chunk = 1;
    if ((uint64_t)per_chunk > (uint64_t)rows)
        per_chunk = (size_t)rows;
    return (hsize_t)per_chunk;
}

/* Creates and fills one dataset chunked along N. No timestamps (identical inputs give
 * identical files) and no fill values (every byte is written right away). */
static hid_t write_array(hid_t group, const char *name, hid_t file_type, hid_t mem_type,
                         int rank, const hsize_t *dims, size_t row_bytes, const void *data,
                         nni_h5_detail *detail)
{
    hsize_t chunk[NNI_DATASET_MAX_X_RANK];
    chunk[0] = chunk_rows((int64_t)dims[0], row_bytes);
    for (int d = 1; d < rank; d++)
        chunk[d] = dims[d];
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), space = H5Screate_simple(rank, dims, NULL);
    hid_t dset = H5I_INVALID_HID;
    if (dcpl >= 0 && space >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0 &&
        H5Pset_obj_track_times(dcpl, 0) >= 0 &&
        (dset = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        nni_h5_close(&dset);
    if (dset < 0)
        *detail = nni_h5_last_error();
    nni_h5_close(&space);
    nni_h5_close(&dcpl);
    return dset;
}

static herr_t write_scalar_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                                const void *value)
{
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0)
        return -1;
    hid_t space = H5Screate(H5S_SCALAR), attr = H5I_INVALID_HID;
    herr_t rc = -1;
    if (space >= 0 &&
        (attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        rc = H5Awrite(attr, mem_type, value);
    nni_h5_close(&attr);
    nni_h5_close(&space);
    return rc;
}

nn_status nn_dataset_writer_add_split(nn_dataset_writer *w, const char *split,
                                      const nn_dataset *ds, nn_error *err)
{
    if (!w)
        return nn_fail(err, NN_ERR_OTHER, "dataset writer: not open");
    if (split)
        for (int i = 0; i < w->n_splits; i++)
            if (strcmp(w->splits[i], split) == 0)
                return nn_fail(err, NN_ERR_OTHER, "%s: /%s written twice", w->target.path,
                               split);
    nn_status status = nni_dataset_check_split(w->target.path, split, ds, err);
    if (status != NN_OK)
        return status;
    void *grown = realloc(w->splits, (size_t)(w->n_splits + 1) * sizeof *w->splits);
    if (!grown)
        return nn_fail(err, NN_ERR_OTHER, "%s: out of memory", w->target.path);
    w->splits = grown;

    nni_h5_quiet quiet = nni_h5_quiet_begin();
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), group = H5I_INVALID_HID;
    hid_t x = H5I_INVALID_HID, y = H5I_INVALID_HID;
    nni_h5_detail detail = {"unknown HDF5 error"};
    const char *failed = "group";
    if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0 ||
        (group = H5Gcreate2(w->file, split, H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        detail = nni_h5_last_error();
        goto fail;
    }

    int uint8_x = ds->x_u8 != NULL;
    hsize_t x_dims[NNI_DATASET_MAX_X_RANK] = {(hsize_t)ds->n};
    int64_t sample_size = 1;
    for (int d = 0; d < ds->sample_ndim; d++) {
        x_dims[d + 1] = (hsize_t)ds->sample_shape[d];
        sample_size *= ds->sample_shape[d];
    }
    failed = "x";
    x = write_array(group, "x", uint8_x ? H5T_STD_U8LE : H5T_IEEE_F32LE,
                    uint8_x ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, ds->sample_ndim + 1, x_dims,
                    (size_t)sample_size * (uint8_x ? 1 : sizeof(float)),
                    uint8_x ? (const void *)ds->x_u8 : (const void *)ds->x_f32, &detail);
    if (x < 0)
        goto fail;
    /* Stored as float32: exactly the values nni_dataset_gather_x multiplies by. */
    if (write_scalar_attr(x, "scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &ds->scale) < 0 ||
        write_scalar_attr(x, "offset", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &ds->offset) < 0) {
        detail = nni_h5_last_error();
        goto fail;
    }

    failed = "y";
    if (ds->target_kind == NN_TARGET_LABELS) {
        hsize_t y_dims[1] = {(hsize_t)ds->n};
        y = write_array(group, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, y_dims, sizeof(int32_t),
                        ds->labels, &detail);
    } else {
        hsize_t y_dims[2] = {(hsize_t)ds->n, (hsize_t)ds->target_width};
        y = write_array(group, "y", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, y_dims,
                        (size_t)ds->target_width * sizeof(float), ds->targets, &detail);
    }
    if (y < 0)
        goto fail;
    snprintf(w->splits[w->n_splits++], sizeof w->splits[0], "%s", split);
    goto done;
fail:
    status = nn_fail(err, NN_ERR_OTHER, "%s: /%s/%s: write failed (%s)", w->target.tmp_path, split,
                     failed, detail.text);
done:
    nni_h5_close(&y);
    nni_h5_close(&x);
    nni_h5_close(&group);
    nni_h5_close(&gcpl);
    nni_h5_quiet_end(quiet);
    return status;
}

nn_status nn_dataset_writer_set_classes(nn_dataset_writer *w, int num_classes,
                                        const char *const *class_names, int n_names,
                                        nn_error *err)
{
    if (!w)
        return nn_fail(err, NN_ERR_OTHER, "dataset writer: not open");
    if (num_classes < 1)
        return nn_fail(err, NN_ERR_DATA, "%s: num_classes %d must be positive", w->target.path,
                       num_classes);
    if (n_names != 0 && n_names != num_classes)
        return nn_fail(err, NN_ERR_DATA, "%s: %d class names for %d classes", w->target.path,
                       n_names,
                       num_classes);
    for (int i = 0; i < n_names; i++)
        if (!class_names || !class_names[i])
            return nn_fail(err, NN_ERR_OTHER, "%s: class name %d missing", w->target.path, i);

    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status status = NN_OK;
    int64_t count = num_classes;
    hid_t str_type = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    if (write_scalar_attr(w->file, "num_classes", H5T_STD_I64LE, H5T_NATIVE_INT64, &count) < 0)
        goto fail;
    if (H5Aexists(w->file, "class_names") > 0 && H5Adelete(w->file, "class_names") < 0)
        goto fail;
    if (n_names > 0) {
        /* Variable-length UTF-8, as h5py writes a list of str: reads back as str in Python. */
        hsize_t dims[1] = {(hsize_t)n_names};
        if ((str_type = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(str_type, H5T_VARIABLE) < 0 ||
            H5Tset_cset(str_type, H5T_CSET_UTF8) < 0 ||
            (space = H5Screate_simple(1, dims, NULL)) < 0 ||
            (attr = H5Acreate2(w->file, "class_names", str_type, space, H5P_DEFAULT,
                               H5P_DEFAULT)) < 0 ||
            H5Awrite(attr, str_type, class_names) < 0)
            goto fail;
    }
    w->classes_set = 1;
    goto done;
fail:;
    nni_h5_detail detail = nni_h5_last_error();
    status = nn_fail(err, NN_ERR_OTHER, "%s: /: cannot write class attributes (%s)",
                     w->target.tmp_path,
                     detail.text);
done:
    nni_h5_close(&attr);
    nni_h5_close(&space);
    nni_h5_close(&str_type);
    nni_h5_quiet_end(quiet);
    return status;
}

typedef struct keep_context {
    nn_dataset_writer *w;
    nn_error *err;
    nn_status status;
} keep_context;

/* H5Literate callback: copy one top-level object of the existing file unless this writer
 * has replaced it. */
static herr_t keep_link(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    keep_context *ctx = data;
    nn_dataset_writer *w = ctx->w;
    for (int i = 0; i < w->n_splits; i++)
        if (strcmp(w->splits[i], name) == 0)
            return 0;
    herr_t rc = -1;
    if (info->type == H5L_TYPE_HARD) {
        rc = H5Ocopy(root, name, w->file, name, H5P_DEFAULT, H5P_DEFAULT);
    } else if (info->type == H5L_TYPE_SOFT) {
        char *target = malloc(info->u.val_size + 1);
        if (target && H5Lget_val(root, name, target, info->u.val_size + 1, H5P_DEFAULT) >= 0)
            rc = H5Lcreate_soft(target, w->file, name, H5P_DEFAULT, H5P_DEFAULT);
        free(target);
    } else {
        ctx->status = nn_fail(ctx->err, NN_ERR_OTHER,
                              "%s: /%s: cannot keep an external link when rewriting the file",
                              w->target.path, name);
        return -1;
    }
    if (rc < 0) {
        nni_h5_detail detail = nni_h5_last_error();
        ctx->status = nn_fail(ctx->err, NN_ERR_OTHER, "%s: /%s: cannot copy into %s (%s)",
                              w->target.path, name, w->target.tmp_path, detail.text);
    }
    return rc;
}

/* H5Aiterate2 callback: copy one root attribute of the existing file, raw, unless this
 * writer set it (or set the class attributes, which go together). */
static herr_t keep_root_attr(hid_t root, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    keep_context *ctx = data;
    nn_dataset_writer *w = ctx->w;
    if (ctx->w->classes_set &&
        (strcmp(name, "num_classes") == 0 || strcmp(name, "class_names") == 0))
        return 0;
    if (H5Aexists(w->file, name) > 0)
        return 0;
    hid_t attr = H5Aopen(root, name, H5P_DEFAULT), type = H5I_INVALID_HID,
          space = H5I_INVALID_HID, copy = H5I_INVALID_HID;
    void *buf = NULL;
    herr_t rc = -1;
    int is_vlen = 0;
    if (attr >= 0 && (type = H5Aget_type(attr)) >= 0 && (space = H5Aget_space(attr)) >= 0) {
        hssize_t points = H5Sget_simple_extent_npoints(space);
        size_t bytes = H5Tget_size(type) * (size_t)(points > 0 ? points : 1);
        is_vlen = H5Tis_variable_str(type) > 0 || H5Tdetect_class(type, H5T_VLEN) > 0;
        if ((buf = calloc(1, bytes)) && H5Aread(attr, type, buf) >= 0 &&
            (copy = H5Acreate2(w->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
            rc = H5Awrite(copy, type, buf);
    }
    if (rc < 0) {
        nni_h5_detail detail = nni_h5_last_error();
        ctx->status = nn_fail(ctx->err, NN_ERR_OTHER, "%s: /: cannot copy attribute %s (%s)",
                              w->target.path, name, detail.text);
    }
    if (buf && is_vlen)
        H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
    free(buf);
    nni_h5_close(&copy);
    nni_h5_close(&space);
    nni_h5_close(&type);
    nni_h5_close(&attr);
    return rc;
}

nn_status nn_dataset_writer_commit(nn_dataset_writer *w, nn_error *err)
{
    if (!w)
        return nn_fail(err, NN_ERR_OTHER, "dataset writer: not open");
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    keep_context ctx = {w, err, NN_OK};
    nn_status status = NN_OK;
    if (w->existing >= 0) {
        if (H5Literate(w->existing, H5_INDEX_NAME, H5_ITER_INC, NULL, keep_link, &ctx) < 0 ||
            H5Aiterate2(w->existing, H5_INDEX_NAME, H5_ITER_INC, NULL, keep_root_attr, &ctx) <
                0) {
            status = ctx.status != NN_OK
                         ? ctx.status
                         : nn_fail(err, NN_ERR_OTHER, "%s: cannot read the existing file",
                                   w->target.path);
            goto fail;
        }
        nni_h5_close(&w->existing);
    }
    if (H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0 || H5Fclose(w->file) < 0) {
        w->file = H5I_INVALID_HID;
        nni_h5_detail detail = nni_h5_last_error();
        status = nn_fail(err, NN_ERR_OTHER, "%s: cannot write (%s)", w->target.tmp_path,
                         detail.text);
        goto fail;
    }
    w->file = H5I_INVALID_HID;
    status = nni_atomic_commit(&w->target, err);
    nni_h5_quiet_end(quiet);
    writer_free(w);
    return status;
fail:
    nni_h5_close(&w->file);
    nni_atomic_abort(&w->target);
    nni_h5_quiet_end(quiet);
    writer_free(w);
    return status;
}

void nn_dataset_writer_abort(nn_dataset_writer *w)
{
    if (!w)
        return;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nni_h5_close(&w->file);
    nni_h5_close(&w->existing);
    nni_atomic_abort(&w->target);
    nni_h5_quiet_end(quiet);
    writer_free(w);
}

nn_status nn_dataset_writer_add_source_rows(nn_dataset_writer *w, const char *split,
                                            const int64_t *rows, int64_t n, nn_error *err)
{
    int written = 0;
    for (int i = 0; w && i < w->n_splits; i++)
        written |= strcmp(w->splits[i], split) == 0;
    if (!written)
        return nn_fail(err, NN_ERR_OTHER, "dataset writer: /%s must be written before its "
                       "source rows", split);
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nni_h5_detail detail = {"unknown HDF5 error"};
    hid_t group = H5Gopen2(w->file, split, H5P_DEFAULT), rows_set = H5I_INVALID_HID;
    hsize_t dims[1] = {(hsize_t)n};
    if (group >= 0)
        rows_set = write_array(group, "source_rows", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims,
                               sizeof *rows, rows, &detail);
    else
        detail = nni_h5_last_error();
    nn_status status = rows_set < 0 ? nn_fail(err, NN_ERR_OTHER, "%s: /%s/source_rows: write "
                                              "failed (%s)", w->target.tmp_path, split,
                                              detail.text)
                                    : NN_OK;
    nni_h5_close(&rows_set);
    nni_h5_close(&group);
    nni_h5_quiet_end(quiet);
    return status;
}

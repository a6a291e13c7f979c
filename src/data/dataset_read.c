/* Loading a split of an HDF5 dataset, or a row range of it, into an nn_dataset with every
 * value checked (the layout is in include/nn/data.h).
 *
 * Reading is liberal in what h5py writes by default: x may be any integer or float type
 * (uint8 stays bytes, everything else is converted to float32 by HDF5), N x H x W images
 * count as one channel, labels may be any integer type (int64 from numpy), `scale`/`offset`
 * and `num_classes` may be float32, float64 or integer scalars, and `class_names` may hold
 * variable-length (h5py's default) or fixed-length strings.
 *
 * HDF5 prints its error stack to stderr by default. Every public function here silences it
 * for the duration of the call, so that the only report is the one-line nn_error. */
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset_internal.h"
#include "io/hdf5_util.h"

/* ---- attributes ---------------------------------------------------------------------- */

/* A numeric scalar (or one-element) attribute of obj, read as double whatever its stored
 * type. Returns 1 when read, 0 when absent, -1 on error (err filled). `where` names obj. */
static int read_number_attr(hid_t obj, const char *name, double *value, const char *path,
                            const char *where, nn_error *err)
{
    htri_t exists = H5Aexists(obj, name);
    if (exists == 0)
        return 0;
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int rc = -1;
    if (exists < 0 || (attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0 ||
        (type = H5Aget_type(attr)) < 0 || (space = H5Aget_space(attr)) < 0) {
        nni_h5_detail detail = nni_h5_last_error();
        nn_fail(err, NN_ERR_DATA, "%s: %s: cannot read attribute %s (%s)", path, where, name,
                detail.text);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(type);
    hssize_t points = H5Sget_simple_extent_npoints(space);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        char tname[64];
        nni_dataset_type_name(type, tname, sizeof tname);
        nn_fail(err, NN_ERR_DATA, "%s: %s: attribute %s has dtype %s, expected a number", path,
                where, name, tname);
    } else if (points != 1) {
        nn_fail(err, NN_ERR_DATA, "%s: %s: attribute %s holds %lld values, expected one", path,
                where, name, (long long)points);
    } else if (H5Aread(attr, H5T_NATIVE_DOUBLE, value) < 0) {
        nni_h5_detail detail = nni_h5_last_error();
        nn_fail(err, NN_ERR_DATA, "%s: %s: cannot read attribute %s (%s)", path, where, name,
                detail.text);
    } else {
        rc = 1;
    }
done:
    nni_h5_close(&space);
    nni_h5_close(&type);
    nni_h5_close(&attr);
    return rc;
}

/* A 1-D (or scalar) string attribute, variable- or fixed-length. Returns 1 when read (then
 * *out is a malloc'ed array of *count malloc'ed strings), 0 when absent, -1 on error. */
static int read_strings_attr(hid_t obj, const char *name, char ***out, int *count,
                             const char *path, nn_error *err)
{
    *out = NULL;
    *count = 0;
    htri_t exists = H5Aexists(obj, name);
    if (exists == 0)
        return 0;
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t mem_type = H5I_INVALID_HID;
    char **strings = NULL, **vlen = NULL, *fixed = NULL;
    hssize_t points = 0;
    int rc = -1;
    if (exists < 0 || (attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0 ||
        (type = H5Aget_type(attr)) < 0 || (space = H5Aget_space(attr)) < 0)
        goto h5_failed;
    if (H5Tget_class(type) != H5T_STRING) {
        char tname[64];
        nni_dataset_type_name(type, tname, sizeof tname);
        nn_fail(err, NN_ERR_DATA, "%s: /: attribute %s has dtype %s, expected strings", path,
                name, tname);
        goto done;
    }
    points = H5Sget_simple_extent_npoints(space);
    if (H5Sget_simple_extent_ndims(space) > 1 || points < 0 || points > INT_MAX) {
        nn_fail(err, NN_ERR_DATA, "%s: /: attribute %s must be a 1-D array of strings", path,
                name);
        goto done;
    }
    strings = calloc((size_t)points + 1, sizeof *strings);
    if (!strings)
        goto no_memory;
    if (H5Tis_variable_str(type) > 0) {
        vlen = calloc((size_t)points + 1, sizeof *vlen);
        if (!vlen)
            goto no_memory;
        if ((mem_type = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mem_type, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mem_type, H5Tget_cset(type)) < 0 || H5Aread(attr, mem_type, vlen) < 0)
            goto h5_failed;
        int copied = 1;
        for (hssize_t i = 0; i < points; i++)
            copied &= (strings[i] = strdup(vlen[i] ? vlen[i] : "")) != NULL;
        H5Dvlen_reclaim(mem_type, space, H5P_DEFAULT, vlen);
        if (!copied)
            goto no_memory;
    } else {
        size_t size = H5Tget_size(type);
        fixed = malloc((size_t)points * size + 1);
        if (!fixed)
            goto no_memory;
        if ((mem_type = H5Tcopy(type)) < 0 || H5Aread(attr, mem_type, fixed) < 0)
            goto h5_failed;
        int space_padded = H5Tget_strpad(type) == H5T_STR_SPACEPAD;
        for (hssize_t i = 0; i < points; i++) {
            const char *s = fixed + (size_t)i * size;
            size_t len = strnlen(s, size);
            while (space_padded && len > 0 && s[len - 1] == ' ')
                len--;
            if (!(strings[i] = strndup(s, len)))
                goto no_memory;
        }
    }
    *out = strings;
    *count = (int)points;
    strings = NULL;
    rc = 1;
    goto done;
h5_failed:;
    nni_h5_detail detail = nni_h5_last_error();
    nn_fail(err, NN_ERR_DATA, "%s: /: cannot read attribute %s (%s)", path, name, detail.text);
    goto done;
no_memory:
    nn_fail(err, NN_ERR_OTHER, "%s: /: out of memory reading attribute %s", path, name);
done:
    nni_dataset_free_strings(strings, (int)points);
    free(vlen);
    free(fixed);
    nni_h5_close(&mem_type);
    nni_h5_close(&space);
    nni_h5_close(&type);
    nni_h5_close(&attr);
    return rc;
}

/* ---- loading ------------------------------------------------------------------------- */

/* Rows [first, first + count) of a dataset of the given rank and dims, into buf. */
static herr_t read_rows(hid_t dset, hid_t mem_type, int rank, const hsize_t *dims,
                        int64_t first, int64_t count, void *buf, nni_h5_detail *detail)
{
    hsize_t start[NNI_DATASET_MAX_X_RANK] = {0}, block[NNI_DATASET_MAX_X_RANK];
    for (int d = 0; d < rank; d++)
        block[d] = dims[d];
    start[0] = (hsize_t)first;
    block[0] = (hsize_t)count;
    hid_t file_space = H5Dget_space(dset);
    hid_t mem_space = H5Screate_simple(rank, block, NULL);
    herr_t rc = -1;
    if (file_space >= 0 && mem_space >= 0 &&
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, block, NULL) >= 0)
        rc = H5Dread(dset, mem_type, mem_space, file_space, H5P_DEFAULT, buf);
    if (rc < 0)
        *detail = nni_h5_last_error();
    nni_h5_close(&mem_space);
    nni_h5_close(&file_space);
    return rc;
}

/* read_rows in pieces of about 16 MiB, telling src's progress after each. */
static herr_t read_rows_told(hid_t dset, hid_t mem_type, int rank, const hsize_t *dims,
                             int64_t first, int64_t count, void *buf, size_t row_bytes,
                             const nn_dataset_source *src, nni_h5_detail *detail)
{
    if (!src || !src->progress)
        return read_rows(dset, mem_type, rank, dims, first, count, buf, detail);
    const int64_t piece = row_bytes ? (int64_t)((16u << 20) / row_bytes) + 1 : count;
    for (int64_t done = 0; done < count;) {
        const int64_t rows = count - done < piece ? count - done : piece;
        if (read_rows(dset, mem_type, rank, dims, first + done, rows,
                      (unsigned char *)buf + (size_t)done * row_bytes, detail) < 0)
            return -1;
        done += rows;
        src->progress(src->progress_ctx, done, count, row_bytes);
    }
    return 0;
}

static nn_status open_member(hid_t group, const char *name, hid_t *dset, const char *path,
                             const char *split, nn_error *err)
{
    if (H5Lexists(group, name, H5P_DEFAULT) <= 0)
        return nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: no such dataset", path, split, name);
    *dset = H5Dopen2(group, name, H5P_DEFAULT);
    if (*dset < 0)
        return nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: not a dataset", path, split, name);
    return NN_OK;
}

/* Root attributes num_classes and class_names; *num_classes is 0 when neither says. */
static nn_status read_classes(hid_t file, const char *path, nn_dataset *ds, nn_error *err)
{
    double value = 0;
    int has_count = read_number_attr(file, "num_classes", &value, path, "/", err);
    if (has_count < 0)
        return err ? err->status : NN_ERR_DATA;
    if (has_count && !(value >= 1 && value <= INT32_MAX && value == floor(value)))
        return nn_fail(err, NN_ERR_DATA, "%s: /: num_classes %g is not a positive integer", path,
                       value);
    if (read_strings_attr(file, "class_names", &ds->class_names, &ds->n_class_names, path, err) <
        0)
        return err ? err->status : NN_ERR_DATA;
    ds->num_classes = has_count ? (int)value : ds->n_class_names;
    if (has_count && ds->class_names && ds->n_class_names != ds->num_classes)
        return nn_fail(err, NN_ERR_DATA, "%s: /: class_names has %d names but num_classes is %d",
                       path, ds->n_class_names, ds->num_classes);
    return NN_OK;
}

/* Labels: read as int64 whatever the stored integer type, check, narrow to int32. Without a
 * num_classes attribute the class count is max label + 1 over the whole split (not just the
 * rows loaded), so every shard of a split agrees on it. */
static nn_status load_labels(hid_t y, const dataset_split_layout *layout, int64_t first,
                             int64_t count, const char *path, const char *split, nn_dataset *ds,
                             nn_error *err)
{
    nn_status status = NN_OK;
    nni_h5_detail detail;
    int64_t *raw = NULL, *all = NULL;
    size_t bytes = nni_dataset_checked_bytes((uint64_t)count, sizeof *raw, 1);
    if (count > 0 && (!bytes || !(raw = malloc(bytes)) ||
                      !(ds->labels = malloc((size_t)count * sizeof *ds->labels)))) {
        status = nn_fail(err, NN_ERR_OTHER, "%s: /%s/y: out of memory for %lld labels", path,
                         split, (long long)count);
        goto done;
    }
    if (count > 0 &&
        read_rows(y, H5T_NATIVE_INT64, layout->y_rank, layout->y_dims, first, count, raw,
                  &detail) < 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y: read failed (%s)", path, split,
                         detail.text);
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        if (raw[i] < 0 || (ds->num_classes > 0 && raw[i] >= ds->num_classes)) {
            if (ds->num_classes > 0)
                status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y[%lld]: label %lld outside [0, %d)",
                                 path, split, (long long)(first + i), (long long)raw[i],
                                 ds->num_classes);
            else
                status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y[%lld]: negative label %lld", path,
                                 split, (long long)(first + i), (long long)raw[i]);
            goto done;
        }
    }
    if (ds->num_classes == 0) {
        const int64_t *scan = raw;
        int64_t scan_count = count;
        if (first != 0 || count != layout->rows) {
            if (!(all = malloc((size_t)layout->rows * sizeof *all))) {
                status = nn_fail(err, NN_ERR_OTHER, "%s: /%s/y: out of memory", path, split);
                goto done;
            }
            if (read_rows(y, H5T_NATIVE_INT64, layout->y_rank, layout->y_dims, 0, layout->rows,
                          all, &detail) < 0) {
                status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y: read failed (%s)", path, split,
                                 detail.text);
                goto done;
            }
            scan = all;
            scan_count = layout->rows;
        }
        int64_t max_label = -1;
        for (int64_t i = 0; i < scan_count; i++)
            if (scan[i] > max_label)
                max_label = scan[i];
        if (max_label >= INT32_MAX) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y: label %lld is too large", path, split,
                             (long long)max_label);
            goto done;
        }
        ds->num_classes = (int)(max_label + 1);
    }
    for (int64_t i = 0; i < count; i++)
        ds->labels[i] = (int32_t)raw[i];
done:
    free(raw);
    free(all);
    return status;
}

/* Samples read as N x H x W x C, rearranged in place to N x C x H x W (through one sample of
 * scratch). */
void nni_dataset_row_channels_first(void *row, size_t elem, int64_t channels, int64_t pixels,
                                    void *scratch)
{
    unsigned char *s = row;
    memcpy(scratch, s, (size_t)(channels * pixels) * elem);
    for (int64_t p = 0; p < pixels; p++)
        for (int64_t c = 0; c < channels; c++)
            memcpy(s + (size_t)(c * pixels + p) * elem,
                   (unsigned char *)scratch + (size_t)(p * channels + c) * elem, elem);
}

static nn_status channels_first(void *x, size_t elem, int64_t rows, int64_t channels,
                                int64_t pixels, const char *path, nn_error *err)
{
    const size_t sample = (size_t)(channels * pixels) * elem;
    unsigned char *scratch = malloc(sample ? sample : 1);
    if (!scratch)
        return nn_fail(err, NN_ERR_OTHER, "%s: out of memory", path);
    for (int64_t r = 0; r < rows; r++)
        nni_dataset_row_channels_first((unsigned char *)x + (size_t)r * sample, elem, channels,
                                       pixels, scratch);
    free(scratch);
    return NN_OK;
}

/* Optional per-row lengths `name` (x_lengths, y_lengths): N integers in [min, max], read
 * for rows [first, first + count). Absent: *out stays NULL. */
static nn_status load_lengths(hid_t group, const char *name, const dataset_split_layout *layout,
                              int64_t first, int64_t count, int64_t min, int64_t max,
                              const char *what, const char *path, const char *split,
                              int32_t **out, nn_error *err)
{
    *out = NULL;
    if (H5Lexists(group, name, H5P_DEFAULT) <= 0)
        return NN_OK;
    hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    int64_t *raw = NULL;
    nn_status status = NN_OK;
    nni_h5_detail detail;
    if ((dset = H5Dopen2(group, name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(dset)) < 0 ||
        (type = H5Dget_type(dset)) < 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: not a dataset", path, split, name);
        goto done;
    }
    hsize_t dims[2] = {0, 0};
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank != 1 || H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
        (int64_t)dims[0] != layout->rows || H5Tget_class(type) != H5T_INTEGER) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: expected %lld integers (one per row)",
                         path, split, name, (long long)layout->rows);
        goto done;
    }
    if (max < min) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: %s", path, split, name, what);
        goto done;
    }
    if (count > 0 && (!(raw = malloc((size_t)count * sizeof *raw)) ||
                      !(*out = malloc((size_t)count * sizeof **out)))) {
        status = nn_fail(err, NN_ERR_OTHER, "%s: /%s/%s: out of memory", path, split, name);
        goto done;
    }
    if (count > 0 && read_rows(dset, H5T_NATIVE_INT64, 1, dims, first, count, raw, &detail) < 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: read failed (%s)", path, split, name,
                         detail.text);
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        if (raw[i] < min || raw[i] > max) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s[%lld]: length %lld outside [%lld, "
                             "%lld] (%s)", path, split, name, (long long)(first + i),
                             (long long)raw[i], (long long)min, (long long)max, what);
            goto done;
        }
        (*out)[i] = (int32_t)raw[i];
    }
done:
    if (status != NN_OK) {
        free(*out);
        *out = NULL;
    }
    free(raw);
    nni_h5_close(&type);
    nni_h5_close(&space);
    nni_h5_close(&dset);
    return status;
}

static nn_status load_split(const char *path, const char *split, const nn_dataset_source *src,
                            int64_t first, int64_t count, int whole_split, nn_dataset *out,
                            nn_error *err)
{
    const char *x_name = src && src->x ? src->x : "x", *y_name = src && src->y ? src->y : "y";
    const int channels_last = src && src->channels_last;
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return nn_fail(err, NN_ERR_OTHER, "nn_dataset_load: path and out are required");
    if (strlen(path) >= sizeof out->path)
        return nn_fail(err, NN_ERR_OTHER, "%s: path too long", path);
    if (!nni_dataset_valid_split_name(split))
        return nn_fail(err, NN_ERR_CONFIG, "%s: '%s' is not a valid split name", path,
                       split ? split : "(null)");

    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    hid_t file = H5I_INVALID_HID, group = H5I_INVALID_HID, x = H5I_INVALID_HID,
          y = H5I_INVALID_HID;
    dataset_split_layout layout;
    memset(&layout, 0, sizeof layout);
    nni_h5_detail detail;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status status = nni_dataset_open_for_reading(path, &file, err);
    if (status != NN_OK)
        goto done;
    if (H5Lexists(file, split, H5P_DEFAULT) <= 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: no such group", path, split);
        goto done;
    }
    if ((group = H5Gopen2(file, split, H5P_DEFAULT)) < 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: not a group", path, split);
        goto done;
    }
    if ((status = open_member(group, x_name, &x, path, split, err)) != NN_OK ||
        (status = open_member(group, y_name, &y, path, split, err)) != NN_OK ||
        (status = nni_dataset_check_virtual_sources(x, path, split, x_name, err)) != NN_OK ||
        (status = nni_dataset_check_virtual_sources(y, path, split, y_name, err)) != NN_OK ||
        (status = nni_dataset_check_layout(x, y, path, split, &layout, err)) != NN_OK ||
        (status = read_classes(file, path, &ds, err)) != NN_OK)
        goto done;

    if (whole_split) {
        first = 0;
        count = layout.rows;
    } else if (first < 0 || count < 0 || first > layout.rows || count > layout.rows - first) {
        status = nn_fail(err, NN_ERR_DATA,
                         "%s: /%s: rows [%lld, %lld) outside the split's %lld rows", path,
                         split, (long long)first, (long long)(first + count),
                         (long long)layout.rows);
        goto done;
    }

    snprintf(ds.path, sizeof ds.path, "%s", path);
    snprintf(ds.split, sizeof ds.split, "%s", split);
    ds.n = count;
    ds.first = first;
    ds.rows_in_file = layout.rows;
    if (channels_last && layout.x_rank != 4 && layout.x_rank != 3) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: data.layout nhwc needs N x H x W x C "
                         "samples, but the array has rank %d", path, split, x_name,
                         layout.x_rank);
        goto done;
    }
    if (layout.x_rank == 2) {
        ds.sample_ndim = 1;
        ds.sample_shape[0] = (int64_t)layout.x_dims[1];
    } else if (channels_last && layout.x_rank == 4) {
        ds.sample_ndim = 3;
        ds.sample_shape[0] = (int64_t)layout.x_dims[3];
        ds.sample_shape[1] = (int64_t)layout.x_dims[1];
        ds.sample_shape[2] = (int64_t)layout.x_dims[2];
    } else {
        /* N x H x W (common for grayscale images saved from numpy) is one channel. */
        ds.sample_ndim = 3;
        for (int d = 0; d < 3; d++)
            ds.sample_shape[d] = layout.x_rank == 3 ? (d == 0 ? 1 : (int64_t)layout.x_dims[d])
                                                    : (int64_t)layout.x_dims[d + 1];
    }
    uint64_t sample_size = 1;
    for (int d = 1; d < layout.x_rank; d++) {
        if (layout.x_dims[d] > (hsize_t)INT64_MAX / sample_size) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/x: samples too large", path, split);
            goto done;
        }
        sample_size *= layout.x_dims[d];
    }
    ds.sample_size = (int64_t)sample_size;

    double scale = 1, offset = 0;
    char where[80];
    snprintf(where, sizeof where, "/%s/x", split);
    if (read_number_attr(x, "scale", &scale, path, where, err) < 0 ||
        read_number_attr(x, "offset", &offset, path, where, err) < 0) {
        status = err ? err->status : NN_ERR_DATA;
        goto done;
    }
    if (!isfinite((float)scale) || !isfinite((float)offset)) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s/x: scale %g / offset %g not finite in float32",
                         path, split, scale, offset);
        goto done;
    }
    ds.scale = (float)scale;
    ds.offset = (float)offset;

    ds.x_is_uint8 = layout.x_is_uint8;
    size_t elem = layout.x_is_uint8 ? 1 : sizeof(float);
    size_t x_bytes = nni_dataset_checked_bytes((uint64_t)count, sample_size, elem);
    if (count > 0 && !(src && src->targets_only)) {
        void *buf = x_bytes ? malloc(x_bytes) : NULL;
        if (!buf) {
            status = nn_fail(err, NN_ERR_OTHER, "%s: /%s/x: out of memory for %lld x %lld values",
                             path, split, (long long)count, (long long)sample_size);
            goto done;
        }
        if (layout.x_is_uint8)
            ds.x_u8 = buf;
        else
            ds.x_f32 = buf;
        if (read_rows_told(x, layout.x_is_uint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT,
                           layout.x_rank, layout.x_dims, first, count, buf,
                           (size_t)sample_size * elem, src, &detail) < 0) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: read failed (%s)", path, split,
                             x_name, detail.text);
            goto done;
        }
        if (channels_last && layout.x_rank == 4 &&
            (status = channels_first(buf, elem, count, ds.sample_shape[0],
                                     ds.sample_shape[1] * ds.sample_shape[2], path, err)))
            goto done;
        if (!layout.x_is_uint8 &&
            (status = nni_dataset_check_finite(ds.x_f32, count, ds.sample_size, first, path,
                                               split, "x", err)))
            goto done;
    }

    ds.target_kind = layout.target_kind;
    ds.target_width = layout.target_width;
    if (layout.target_kind == NN_TARGET_LABELS) {
        status = load_labels(y, &layout, first, count, path, split, &ds, err);
        if (status != NN_OK)
            goto done;
    } else if (count > 0) {
        size_t bytes = nni_dataset_checked_bytes((uint64_t)count, (uint64_t)ds.target_width,
                                                 sizeof(float));
        if (!bytes || !(ds.targets = malloc(bytes))) {
            status = nn_fail(err, NN_ERR_OTHER, "%s: /%s/y: out of memory", path, split);
            goto done;
        }
        if (read_rows(y, H5T_NATIVE_FLOAT, layout.y_rank, layout.y_dims, first, count,
                      ds.targets, &detail) < 0) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y: read failed (%s)", path, split,
                             detail.text);
            goto done;
        }
        if ((status = nni_dataset_check_finite(ds.targets, count, ds.target_width, first, path,
                                               split, "y", err)))
            goto done;
    }

    ds.steps = layout.x_rank >= 2 ? (int64_t)layout.x_dims[1] : 0;
    if ((status = load_lengths(group, "x_lengths", &layout, first, count, 1,
                               layout.x_rank >= 2 ? ds.steps : 0,
                               "the valid steps of a sequence padded to x's second dimension",
                               path, split, &ds.x_lengths, err)) ||
        (status = load_lengths(group, "y_lengths", &layout, first, count, 0,
                               layout.target_kind == NN_TARGET_VALUES ? ds.target_width : -1,
                               "the labels of a target sequence padded to y's second dimension",
                               path, split, &ds.y_lengths, err)))
        goto done;

done:
    nni_h5_close(&y);
    nni_h5_close(&x);
    nni_h5_close(&group);
    nni_h5_close(&file);
    nni_h5_quiet_end(quiet);
    if (status == NN_OK)
        *out = ds;
    else
        nn_dataset_free(&ds);
    return status;
}

nn_status nn_dataset_load(const char *path, const char *split, nn_dataset *out, nn_error *err)
{
    return load_split(path, split, NULL, 0, 0, 1, out, err);
}

nn_status nn_dataset_load_rows(const char *path, const char *split, int64_t first,
                               int64_t count, nn_dataset *out, nn_error *err)
{
    return load_split(path, split, NULL, first, count, 0, out, err);
}

nn_status nn_dataset_load_from(const char *path, const char *split, const nn_dataset_source *src,
                               int64_t first, int64_t count, nn_dataset *out, nn_error *err)
{
    return load_split(path, split, src, first, count < 0 ? 0 : count, count < 0 && first == 0,
                      out, err);
}

nn_status nn_dataset_count_rows(const char *path, const char *split, int64_t *rows,
                                nn_error *err)
{
    /* Reading one row validates the split's layout on the way. */
    nn_dataset probe;
    nn_status status = load_split(path, split, NULL, 0, 1, 0, &probe, err);
    *rows = status == NN_OK ? probe.rows_in_file : 0;
    nn_dataset_free(&probe);
    return status;
}

int nn_dataset_has_split(const char *path, const char *split)
{
    struct stat st;
    if (!path || !nni_dataset_valid_split_name(split) || stat(path, &st) != 0 ||
        S_ISDIR(st.st_mode))
        return 0;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    hid_t fapl = nni_dataset_file_access();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl), group = H5I_INVALID_HID;
    int found = file >= 0 && H5Lexists(file, split, H5P_DEFAULT) > 0 &&
                (group = H5Gopen2(file, split, H5P_DEFAULT)) >= 0;
    nni_h5_close(&group);
    nni_h5_close(&file);
    nni_h5_close(&fapl);
    nni_h5_quiet_end(quiet);
    return found;
}

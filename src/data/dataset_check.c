/* Checks of dataset contents: on reading, a split's layout (ranks, row counts, dtypes)
 * before anything large is read; on writing, what the writer is given, before anything is
 * written; and the small checks both share (split names, buffer sizes, NaN and Inf). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset_internal.h"
#include "io/hdf5_util.h"

/* The largest chunk HDF5 can store: one row of x must fit. */
#define HDF5_MAX_CHUNK_BYTES ((size_t)0xFFFFFFFFu)

int nni_dataset_valid_split_name(const char *split)
{
    size_t len = split ? strlen(split) : 0;
    return len > 0 && len < sizeof(((nn_dataset *)0)->split) && !strchr(split, '/') &&
           strcmp(split, ".") != 0 && strcmp(split, "..") != 0;
}

size_t nni_dataset_checked_bytes(uint64_t a, uint64_t b, uint64_t c)
{
    if (a == 0 || b == 0 || c == 0)
        return 0;
    if (a > SIZE_MAX / b || a * b > SIZE_MAX / c || a * b * c > (uint64_t)PTRDIFF_MAX)
        return 0;
    return (size_t)(a * b * c);
}

nn_status nni_dataset_check_finite(const float *values, int64_t rows, int64_t width,
                                   int64_t first_row, const char *path, const char *split,
                                   const char *member, nn_error *err)
{
    for (int64_t i = 0; i < rows * width; i++)
        if (!isfinite(values[i]))
            return nn_fail(err, NN_ERR_DATA, "%s: /%s/%s[%lld]: %s", path, split, member,
                           (long long)(first_row + i / width), isnan(values[i]) ? "NaN" : "Inf");
    return NN_OK;
}

static nn_status unsupported_dtype(hid_t type, const char *path, const char *split,
                                   const char *member, const char *expected, nn_error *err)
{
    char tname[64];
    nni_dataset_type_name(type, tname, sizeof tname);
    return nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: unsupported dtype %s (expected %s)", path,
                   split, member, tname, expected);
}

nn_status nni_dataset_check_layout(hid_t x, hid_t y, const char *path, const char *split,
                                   dataset_split_layout *layout, nn_error *err)
{
    nn_status status = NN_OK;
    hid_t x_space = H5Dget_space(x), y_space = H5Dget_space(y);
    hid_t x_type = H5Dget_type(x), y_type = H5Dget_type(y);
    if (x_space < 0 || y_space < 0 || x_type < 0 || y_type < 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: cannot read the shape of x or y", path,
                         split);
        goto done;
    }
    layout->x_rank = H5Sget_simple_extent_ndims(x_space);
    if (layout->x_rank < 2 || layout->x_rank > NNI_DATASET_MAX_X_RANK) {
        status = nn_fail(err, NN_ERR_DATA,
                         "%s: /%s/x: rank %d, expected 2 (N x features), 3 (N x H x W) or "
                         "4 (N x C x H x W)",
                         path, split, layout->x_rank);
        goto done;
    }
    layout->y_rank = H5Sget_simple_extent_ndims(y_space);
    if (layout->y_rank < 1 || layout->y_rank > 2) {
        status = nn_fail(err, NN_ERR_DATA,
                         "%s: /%s/y: rank %d, expected 1 (N labels) or 2 (N x T targets)", path,
                         split, layout->y_rank);
        goto done;
    }
    H5Sget_simple_extent_dims(x_space, layout->x_dims, NULL);
    H5Sget_simple_extent_dims(y_space, layout->y_dims, NULL);
    if (layout->x_dims[0] != layout->y_dims[0]) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: x has %llu rows but y has %llu", path,
                         split, (unsigned long long)layout->x_dims[0],
                         (unsigned long long)layout->y_dims[0]);
        goto done;
    }
    if (layout->x_dims[0] == 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: empty split (0 rows)", path, split);
        goto done;
    }
    if (layout->x_dims[0] > (hsize_t)INT64_MAX) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: too many rows", path, split);
        goto done;
    }
    layout->rows = (int64_t)layout->x_dims[0];
    for (int d = 1; d < layout->x_rank; d++) {
        if (layout->x_dims[d] == 0) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/x: dimension %d has size 0", path,
                             split, d);
            goto done;
        }
    }

    /* Before anything allocates what the shapes declare. */
    for (int member = 0; member < 2; member++)
        if (!nni_h5_dataset_stores_shape(member ? y : x)) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: its shape declares %llu rows, but "
                             "the file holds less data (truncated or corrupt)", path, split,
                             member ? "y" : "x", (unsigned long long)layout->x_dims[0]);
            goto done;
        }

    H5T_class_t x_class = H5Tget_class(x_type);
    if (x_class == H5T_INTEGER && H5Tget_size(x_type) == 1 && H5Tget_sign(x_type) == H5T_SGN_NONE) {
        layout->x_is_uint8 = 1;
    } else if (x_class == H5T_INTEGER || x_class == H5T_FLOAT) {
        layout->x_is_uint8 = 0;
    } else {
        status = unsupported_dtype(x_type, path, split, "x", "uint8 or float32; other integer "
                                   "and float types are converted", err);
        goto done;
    }

    H5T_class_t y_class = H5Tget_class(y_type);
    if (y_class == H5T_INTEGER) {
        if (layout->y_rank == 2 && layout->y_dims[1] != 1) {
            status = nn_fail(err, NN_ERR_DATA,
                             "%s: /%s/y: integer y of shape %llu x %llu; labels must be N or "
                             "N x 1 (store regression targets as float)",
                             path, split, (unsigned long long)layout->y_dims[0],
                             (unsigned long long)layout->y_dims[1]);
            goto done;
        }
        layout->target_kind = NN_TARGET_LABELS;
        layout->target_width = 1;
    } else if (y_class == H5T_FLOAT) {
        layout->target_kind = NN_TARGET_VALUES;
        layout->target_width = layout->y_rank == 2 ? (int64_t)layout->y_dims[1] : 1;
        if (layout->target_width == 0) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y: targets of width 0", path, split);
            goto done;
        }
    } else {
        status = unsupported_dtype(y_type, path, split, "y", "integer labels or float targets",
                                   err);
        goto done;
    }
done:
    nni_h5_close(&x_space);
    nni_h5_close(&y_space);
    nni_h5_close(&x_type);
    nni_h5_close(&y_type);
    return status;
}

nn_status nni_dataset_check_split(const char *path, const char *split, const nn_dataset *ds,
                                  nn_error *err)
{
    if (!nni_dataset_valid_split_name(split))
        return nn_fail(err, NN_ERR_CONFIG, "%s: '%s' is not a valid split name", path,
                       split ? split : "(null)");
    if (!ds || ds->n <= 0)
        return nn_fail(err, NN_ERR_DATA, "%s: /%s: empty split (0 rows)", path, split);
    if (ds->sample_ndim < 1 || ds->sample_ndim > 3)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: sample_ndim %d, expected 1, 2 or 3",
                       path,
                       split, ds->sample_ndim);
    int64_t size = 1;
    for (int d = 0; d < ds->sample_ndim; d++) {
        if (ds->sample_shape[d] <= 0 || ds->sample_shape[d] > INT64_MAX / size)
            return nn_fail(err, NN_ERR_OTHER, "%s: /%s: bad sample shape", path, split);
        size *= ds->sample_shape[d];
    }
    if (ds->sample_size != 0 && ds->sample_size != size)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: sample_size %lld but the shape holds %lld",
                       path, split, (long long)ds->sample_size, (long long)size);
    if (!ds->x_u8 && !ds->x_f32)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: no x data", path, split);
    if (!nni_dataset_checked_bytes((uint64_t)ds->n, (uint64_t)size, ds->x_u8 ? 1 : sizeof(float)) ||
        (uint64_t)size * (ds->x_u8 ? 1 : sizeof(float)) > HDF5_MAX_CHUNK_BYTES)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: x too large", path, split);
    if (!isfinite(ds->scale) || ds->scale == 0 || !isfinite(ds->offset))
        return nn_fail(err, NN_ERR_DATA,
                       "%s: /%s/x: scale %g / offset %g (scale must be finite and non-zero; "
                       "1 for raw values)",
                       path, split, (double)ds->scale, (double)ds->offset);
    if (!ds->x_u8) {
        nn_status st = nni_dataset_check_finite(ds->x_f32, ds->n, size, 0, path, split, "x", err);
        if (st)
            return st;
    }
    if (ds->target_kind == NN_TARGET_LABELS) {
        if (!ds->labels)
            return nn_fail(err, NN_ERR_OTHER, "%s: /%s: no labels", path, split);
        for (int64_t i = 0; i < ds->n; i++)
            if (ds->labels[i] < 0)
                return nn_fail(err, NN_ERR_DATA, "%s: /%s/y[%lld]: negative label %d",
                               path,
                               split, (long long)i, ds->labels[i]);
    } else {
        if (!ds->targets || ds->target_width <= 0 ||
            !nni_dataset_checked_bytes((uint64_t)ds->n, (uint64_t)ds->target_width, sizeof(float)))
            return nn_fail(err, NN_ERR_OTHER, "%s: /%s: no targets", path, split);
        return nni_dataset_check_finite(ds->targets, ds->n, ds->target_width, 0, path, split,
                                        "y", err);
    }
    return NN_OK;
}

/* HDF5 reads the missing parts of a virtual dataset as its fill value (zeros) without a
 * word; a source file that cannot be found would train on zeros. The library looks for a
 * relative source name from the working directory and from the virtual file's directory;
 * names with printf-like patterns (%b, %%) are left to it. */
nn_status nni_dataset_check_virtual_sources(hid_t dset, const char *path, const char *split,
                                            const char *member, nn_error *err)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0)
        return NN_OK;
    nn_status st = NN_OK;
    size_t count = 0;
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL && H5Pget_virtual_count(dcpl, &count) >= 0) {
        const char *slash = strrchr(path, '/');
        const int dir_len = slash ? (int)(slash - path) : 0;
        for (size_t i = 0; i < count && !st; i++) {
            char source[512], beside[1100];
            if (H5Pget_virtual_filename(dcpl, i, source, sizeof source) < 0 ||
                strcmp(source, ".") == 0 || strchr(source, '%'))
                continue;
            snprintf(beside, sizeof beside, "%.*s%s%s", dir_len, path, slash ? "/" : "", source);
            if (access(source, R_OK) != 0 && (source[0] == '/' || access(beside, R_OK) != 0))
                st = nn_fail(err, NN_ERR_DATA, "%s: /%s/%s: a virtual dataset whose source file "
                             "%s cannot be read (HDF5 would read its rows as zeros)", path,
                             split, member, source);
        }
    }
    H5Pclose(dcpl);
    return st;
}

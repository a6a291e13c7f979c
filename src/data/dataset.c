/* HDF5 datasets (DESIGN.md section 5): loading a split, or a row range of it, into an
 * nn_dataset with every value checked; gathering rows as float32 for the training step; and
 * writing splits atomically.
 *
 * Reading is liberal in what h5py writes by default: x may be any integer or float type
 * (uint8 stays bytes, everything else is converted to float32 by HDF5), N x H x W images
 * count as one channel, labels may be any integer type (int64 from numpy), `scale`/`offset`
 * and `num_classes` may be float32, float64 or integer scalars, and `class_names` may hold
 * variable-length (h5py's default) or fixed-length strings.
 *
 * Writing goes to "<path>.tmp", which is flushed, closed, fsync'ed and renamed over <path>.
 * Splits of an existing file that the writer does not replace are copied into the temporary
 * file at commit (H5Ocopy), instead of editing a copy of the old file in place: HDF5 never
 * reclaims the space of a deleted group, so in-place replacement would grow the file on
 * every re-import, and the old file is only read, never touched, until the rename.
 *
 * HDF5 prints its error stack to stderr by default. Every public function here silences it
 * for the duration of the call, so that the only report is the one-line nn_error. */
#include "nn/data.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/files.h"
#include "io/hdf5_util.h"

#define MAX_X_RANK 4
#define CHUNK_TARGET_BYTES ((size_t)1 << 20)
#define HDF5_MAX_CHUNK_BYTES ((size_t)0xFFFFFFFFu)

/* ---- HDF5 plumbing ------------------------------------------------------------------- */

static void type_name(hid_t type, char *buf, size_t size)
{
    size_t bits = H5Tget_size(type) * 8;
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(buf, size, "%s%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bits);
        break;
    case H5T_FLOAT: snprintf(buf, size, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, size, "string"); break;
    case H5T_BITFIELD: snprintf(buf, size, "bitfield"); break;
    case H5T_OPAQUE: snprintf(buf, size, "opaque"); break;
    case H5T_COMPOUND: snprintf(buf, size, "compound"); break;
    case H5T_REFERENCE: snprintf(buf, size, "reference"); break;
    case H5T_ENUM: snprintf(buf, size, "enum (h5py stores bool as enum)"); break;
    case H5T_VLEN: snprintf(buf, size, "variable-length sequence"); break;
    case H5T_ARRAY: snprintf(buf, size, "array"); break;
    default: snprintf(buf, size, "unknown"); break;
    }
}

/* Strong close: no stray handle keeps a file open after H5Fclose, so a rename right after it
 * is safe. File locking is kept, but ignored where the file system refuses it (Lustre and
 * some NFS mounts), which would otherwise make every open fail on a cluster. */
static hid_t file_access_plist(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return fapl;
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) ||                      \
    H5_VERSION_GE(1, 12, 1)
    H5Pset_file_locking(fapl, 1, 1);
#endif
    return fapl;
}

static nn_status open_for_reading(const char *path, hid_t *file, nn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return nn_fail(err, NN_ERR_DATA, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return nn_fail(err, NN_ERR_DATA, "%s: is a directory, not an HDF5 file", path);
    if (access(path, R_OK) != 0)
        return nn_fail(err, NN_ERR_DATA, "%s: %s", path, strerror(errno));
    hid_t fapl = file_access_plist();
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    nni_h5_detail detail = nni_h5_last_error();
    nni_h5_close(&fapl);
    if (*file >= 0)
        return NN_OK;
    if (H5Fis_hdf5(path) <= 0)
        return nn_fail(err, NN_ERR_DATA, "%s: not an HDF5 file", path);
    return nn_fail(err, NN_ERR_DATA, "%s: cannot open (%s)", path, detail.text);
}

static int valid_split_name(const char *split)
{
    size_t len = split ? strlen(split) : 0;
    return len > 0 && len < sizeof(((nn_dataset *)0)->split) && !strchr(split, '/') &&
           strcmp(split, ".") != 0 && strcmp(split, "..") != 0;
}

/* a * b * c as a size_t, or 0 when it overflows (callers never ask for zero-size buffers). */
static size_t checked_bytes(uint64_t a, uint64_t b, uint64_t c)
{
    if (a == 0 || b == 0 || c == 0)
        return 0;
    if (a > SIZE_MAX / b || a * b > SIZE_MAX / c || a * b * c > (uint64_t)PTRDIFF_MAX)
        return 0;
    return (size_t)(a * b * c);
}

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
        type_name(type, tname, sizeof tname);
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

static void free_strings(char **strings, int count)
{
    if (!strings)
        return;
    for (int i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
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
        type_name(type, tname, sizeof tname);
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
    free_strings(strings, (int)points);
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
    hsize_t start[MAX_X_RANK] = {0}, block[MAX_X_RANK];
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

static int64_t first_non_finite(const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return i;
    return -1;
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

/* The split's shape and types, checked before anything large is read. */
typedef struct split_layout {
    int x_rank, y_rank;
    hsize_t x_dims[MAX_X_RANK], y_dims[2];
    int x_is_uint8;
    nn_target_kind target_kind;
    int64_t target_width;
    int64_t rows;
} split_layout;

static nn_status check_layout(hid_t x, hid_t y, const char *path, const char *split,
                              split_layout *layout, nn_error *err)
{
    nn_status status = NN_OK;
    hid_t x_space = H5Dget_space(x), y_space = H5Dget_space(y);
    hid_t x_type = H5Dget_type(x), y_type = H5Dget_type(y);
    char tname[64];
    if (x_space < 0 || y_space < 0 || x_type < 0 || y_type < 0) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: cannot read the shape of x or y", path,
                         split);
        goto done;
    }
    layout->x_rank = H5Sget_simple_extent_ndims(x_space);
    if (layout->x_rank < 2 || layout->x_rank > MAX_X_RANK) {
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

    H5T_class_t x_class = H5Tget_class(x_type);
    if (x_class == H5T_INTEGER && H5Tget_size(x_type) == 1 && H5Tget_sign(x_type) == H5T_SGN_NONE) {
        layout->x_is_uint8 = 1;
    } else if (x_class == H5T_INTEGER || x_class == H5T_FLOAT) {
        layout->x_is_uint8 = 0;
    } else {
        type_name(x_type, tname, sizeof tname);
        status = nn_fail(err, NN_ERR_DATA,
                         "%s: /%s/x: unsupported dtype %s (expected uint8 or float32; other "
                         "integer and float types are converted)",
                         path, split, tname);
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
        type_name(y_type, tname, sizeof tname);
        status = nn_fail(err, NN_ERR_DATA,
                         "%s: /%s/y: unsupported dtype %s (expected integer labels or float "
                         "targets)",
                         path, split, tname);
        goto done;
    }
done:
    nni_h5_close(&x_space);
    nni_h5_close(&y_space);
    nni_h5_close(&x_type);
    nni_h5_close(&y_type);
    return status;
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
static nn_status load_labels(hid_t y, const split_layout *layout, int64_t first, int64_t count,
                             const char *path, const char *split, nn_dataset *ds, nn_error *err)
{
    nn_status status = NN_OK;
    nni_h5_detail detail;
    int64_t *raw = NULL, *all = NULL;
    size_t bytes = checked_bytes((uint64_t)count, sizeof *raw, 1);
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

static nn_status load_split(const char *path, const char *split, int64_t first, int64_t count,
                            int whole_split, nn_dataset *out, nn_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return nn_fail(err, NN_ERR_OTHER, "nn_dataset_load: path and out are required");
    if (strlen(path) >= sizeof out->path)
        return nn_fail(err, NN_ERR_OTHER, "%s: path too long", path);
    if (!valid_split_name(split))
        return nn_fail(err, NN_ERR_CONFIG, "%s: '%s' is not a valid split name", path,
                       split ? split : "(null)");

    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    hid_t file = H5I_INVALID_HID, group = H5I_INVALID_HID, x = H5I_INVALID_HID,
          y = H5I_INVALID_HID;
    split_layout layout;
    memset(&layout, 0, sizeof layout);
    nni_h5_detail detail;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status status = open_for_reading(path, &file, err);
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
    if ((status = open_member(group, "x", &x, path, split, err)) != NN_OK ||
        (status = open_member(group, "y", &y, path, split, err)) != NN_OK ||
        (status = check_layout(x, y, path, split, &layout, err)) != NN_OK ||
        (status = read_classes(file, path, &ds, err)) != NN_OK)
        goto done;

    if (whole_split) {
        first = 0;
        count = layout.rows;
    } else if (first < 0 || count < 0 || first > layout.rows || count > layout.rows - first) {
        status = nn_fail(err, NN_ERR_DATA, "%s: /%s: rows [%lld, %lld) outside the split's %lld rows",
                         path, split, (long long)first, (long long)(first + count),
                         (long long)layout.rows);
        goto done;
    }

    snprintf(ds.path, sizeof ds.path, "%s", path);
    snprintf(ds.split, sizeof ds.split, "%s", split);
    ds.n = count;
    ds.first = first;
    ds.rows_in_file = layout.rows;
    if (layout.x_rank == 2) {
        ds.sample_ndim = 1;
        ds.sample_shape[0] = (int64_t)layout.x_dims[1];
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
    size_t x_bytes = checked_bytes((uint64_t)count, sample_size, elem);
    if (count > 0) {
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
        if (read_rows(x, layout.x_is_uint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, layout.x_rank,
                      layout.x_dims, first, count, buf, &detail) < 0) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/x: read failed (%s)", path, split,
                             detail.text);
            goto done;
        }
        if (!layout.x_is_uint8) {
            int64_t bad = first_non_finite(ds.x_f32, count * ds.sample_size);
            if (bad >= 0) {
                status = nn_fail(err, NN_ERR_DATA, "%s: /%s/x[%lld]: %s", path, split,
                                 (long long)(first + bad / ds.sample_size),
                                 isnan(ds.x_f32[bad]) ? "NaN" : "Inf");
                goto done;
            }
        }
    }

    ds.target_kind = layout.target_kind;
    ds.target_width = layout.target_width;
    if (layout.target_kind == NN_TARGET_LABELS) {
        status = load_labels(y, &layout, first, count, path, split, &ds, err);
        if (status != NN_OK)
            goto done;
    } else if (count > 0) {
        size_t bytes = checked_bytes((uint64_t)count, (uint64_t)ds.target_width, sizeof(float));
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
        int64_t bad = first_non_finite(ds.targets, count * ds.target_width);
        if (bad >= 0) {
            status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y[%lld]: %s", path, split,
                             (long long)(first + bad / ds.target_width),
                             isnan(ds.targets[bad]) ? "NaN" : "Inf");
            goto done;
        }
    }

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
    return load_split(path, split, 0, 0, 1, out, err);
}

nn_status nn_dataset_load_rows(const char *path, const char *split, int64_t first,
                               int64_t count, nn_dataset *out, nn_error *err)
{
    return load_split(path, split, first, count, 0, out, err);
}

nn_status nn_dataset_count_rows(const char *path, const char *split, int64_t *rows,
                                nn_error *err)
{
    /* Reading one row validates the split's layout on the way. */
    nn_dataset probe;
    nn_status status = load_split(path, split, 0, 1, 0, &probe, err);
    *rows = status == NN_OK ? probe.rows_in_file : 0;
    nn_dataset_free(&probe);
    return status;
}

int nn_dataset_has_split(const char *path, const char *split)
{
    struct stat st;
    if (!path || !valid_split_name(split) || stat(path, &st) != 0 || S_ISDIR(st.st_mode))
        return 0;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    hid_t fapl = file_access_plist();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl), group = H5I_INVALID_HID;
    int found = file >= 0 && H5Lexists(file, split, H5P_DEFAULT) > 0 &&
                (group = H5Gopen2(file, split, H5P_DEFAULT)) >= 0;
    nni_h5_close(&group);
    nni_h5_close(&file);
    nni_h5_close(&fapl);
    nni_h5_quiet_end(quiet);
    return found;
}

void nn_dataset_free(nn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->x_u8);
    free(ds->x_f32);
    free(ds->labels);
    free(ds->targets);
    free_strings(ds->class_names, ds->n_class_names);
    memset(ds, 0, sizeof *ds);
}

/* The training step's input copy. Kept to plain loops over restrict pointers so the compiler
 * vectorizes the byte-to-float conversion; no allocation, no checks (indices are trusted). */
void nn_dataset_gather_x(const nn_dataset *ds, const int64_t *idx, int64_t count, float *out)
{
    const int64_t width = ds->sample_size;
    const float scale = ds->scale, offset = ds->offset;
    if (ds->x_is_uint8) {
        for (int64_t i = 0; i < count; i++) {
            const uint8_t *restrict src = ds->x_u8 + idx[i] * width;
            float *restrict dst = out + i * width;
            for (int64_t j = 0; j < width; j++)
                dst[j] = (float)src[j] * scale + offset;
        }
    } else if (scale == 1.0f && offset == 0.0f) {
        for (int64_t i = 0; i < count; i++)
            memcpy(out + i * width, ds->x_f32 + idx[i] * width, (size_t)width * sizeof *out);
    } else {
        for (int64_t i = 0; i < count; i++) {
            const float *restrict src = ds->x_f32 + idx[i] * width;
            float *restrict dst = out + i * width;
            for (int64_t j = 0; j < width; j++)
                dst[j] = src[j] * scale + offset;
        }
    }
}

/* ---- writing ------------------------------------------------------------------------- */

struct nn_dataset_writer {
    nn_atomic_file target; /* path and the temporary file */
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
    nn_status begun = nn_atomic_begin(&w->target, path, err);
    if (begun) {
        writer_free(w);
        return begun;
    }

    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status status = NN_OK;
    struct stat st;
    if (keep_existing && stat(path, &st) == 0) {
        status = open_for_reading(path, &w->existing, err);
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
    hid_t fapl = file_access_plist();
    w->file = H5Fcreate(w->target.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    nni_h5_detail detail = nni_h5_last_error();
    nni_h5_close(&fapl);
    if (w->file < 0)
        status = nn_fail(err, NN_ERR_OTHER, "%s: cannot create (%s)", w->target.tmp_path,
                         detail.text);
done:
    nni_h5_quiet_end(quiet);
    if (status != NN_OK) {
        nn_atomic_abort(&w->target);
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
    hsize_t chunk[MAX_X_RANK];
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
    if (space >= 0 && (attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        rc = H5Awrite(attr, mem_type, value);
    nni_h5_close(&attr);
    nni_h5_close(&space);
    return rc;
}

/* Checks what add_split is given before anything is written. */
static nn_status check_split_data(const nn_dataset_writer *w, const char *split,
                                  const nn_dataset *ds, nn_error *err)
{
    if (!valid_split_name(split))
        return nn_fail(err, NN_ERR_CONFIG, "%s: '%s' is not a valid split name", w->target.path,
                       split ? split : "(null)");
    for (int i = 0; i < w->n_splits; i++)
        if (strcmp(w->splits[i], split) == 0)
            return nn_fail(err, NN_ERR_OTHER, "%s: /%s written twice", w->target.path, split);
    if (!ds || ds->n <= 0)
        return nn_fail(err, NN_ERR_DATA, "%s: /%s: empty split (0 rows)", w->target.path, split);
    if (ds->sample_ndim != 1 && ds->sample_ndim != 3)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: sample_ndim %d, expected 1 or 3",
                       w->target.path,
                       split, ds->sample_ndim);
    int64_t size = 1;
    for (int d = 0; d < ds->sample_ndim; d++) {
        if (ds->sample_shape[d] <= 0 || ds->sample_shape[d] > INT64_MAX / size)
            return nn_fail(err, NN_ERR_OTHER, "%s: /%s: bad sample shape", w->target.path, split);
        size *= ds->sample_shape[d];
    }
    if (ds->sample_size != 0 && ds->sample_size != size)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: sample_size %lld but the shape holds %lld",
                       w->target.path, split, (long long)ds->sample_size, (long long)size);
    if (!ds->x_u8 && !ds->x_f32)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: no x data", w->target.path, split);
    if (!checked_bytes((uint64_t)ds->n, (uint64_t)size, ds->x_u8 ? 1 : sizeof(float)) ||
        (uint64_t)size * (ds->x_u8 ? 1 : sizeof(float)) > HDF5_MAX_CHUNK_BYTES)
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: x too large", w->target.path, split);
    if (!isfinite(ds->scale) || ds->scale == 0 || !isfinite(ds->offset))
        return nn_fail(err, NN_ERR_DATA,
                       "%s: /%s/x: scale %g / offset %g (scale must be finite and non-zero; "
                       "1 for raw values)",
                       w->target.path, split, (double)ds->scale, (double)ds->offset);
    if (!ds->x_u8) {
        int64_t bad = first_non_finite(ds->x_f32, ds->n * size);
        if (bad >= 0)
            return nn_fail(err, NN_ERR_DATA, "%s: /%s/x[%lld]: %s", w->target.path, split,
                           (long long)(bad / size), isnan(ds->x_f32[bad]) ? "NaN" : "Inf");
    }
    if (ds->target_kind == NN_TARGET_LABELS) {
        if (!ds->labels)
            return nn_fail(err, NN_ERR_OTHER, "%s: /%s: no labels", w->target.path, split);
        for (int64_t i = 0; i < ds->n; i++)
            if (ds->labels[i] < 0)
                return nn_fail(err, NN_ERR_DATA, "%s: /%s/y[%lld]: negative label %d",
                               w->target.path,
                               split, (long long)i, ds->labels[i]);
    } else {
        if (!ds->targets || ds->target_width <= 0 ||
            !checked_bytes((uint64_t)ds->n, (uint64_t)ds->target_width, sizeof(float)))
            return nn_fail(err, NN_ERR_OTHER, "%s: /%s: no targets", w->target.path, split);
        int64_t bad = first_non_finite(ds->targets, ds->n * ds->target_width);
        if (bad >= 0)
            return nn_fail(err, NN_ERR_DATA, "%s: /%s/y[%lld]: %s", w->target.path, split,
                           (long long)(bad / ds->target_width),
                           isnan(ds->targets[bad]) ? "NaN" : "Inf");
    }
    return NN_OK;
}

nn_status nn_dataset_writer_add_split(nn_dataset_writer *w, const char *split,
                                      const nn_dataset *ds, nn_error *err)
{
    if (!w)
        return nn_fail(err, NN_ERR_OTHER, "dataset writer: not open");
    nn_status status = check_split_data(w, split, ds, err);
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
    hsize_t x_dims[MAX_X_RANK] = {(hsize_t)ds->n};
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
    /* Stored as float32: exactly the values nn_dataset_gather_x multiplies by. */
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
    status = nn_atomic_commit(&w->target, err);
    nni_h5_quiet_end(quiet);
    writer_free(w);
    return status;
fail:
    nni_h5_close(&w->file);
    nn_atomic_abort(&w->target);
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
    nn_atomic_abort(&w->target);
    nni_h5_quiet_end(quiet);
    writer_free(w);
}

/* A dataset spread over several files (see file_list.h). Each file is read by the
 * single-file loader (every value checked as usual), and the pieces are placed one after
 * the other; one file takes the single-file path unchanged. */
#include "data/file_list.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nn_status add_path(nni_file_list *files, const char *path, nn_error *err)
{
    char **grown = realloc(files->paths, (size_t)(files->n + 1) * sizeof *grown);
    char *copy = grown ? strdup(path) : NULL;
    if (grown)
        files->paths = grown;
    if (!copy)
        return nn_fail(err, NN_ERR_OTHER, "out of memory for the data file names");
    files->paths[files->n++] = copy;
    return NN_OK;
}

static void name_list(nni_file_list *files)
{
    if (files->n == 1)
        snprintf(files->name, sizeof files->name, "%s", files->paths[0]);
    else
        snprintf(files->name, sizeof files->name, "%.400s + %d more file%s", files->paths[0],
                 files->n - 1, files->n > 2 ? "s" : "");
}

nn_status nni_file_list_single(const char *path, nni_file_list *files, nn_error *err)
{
    memset(files, 0, sizeof *files);
    nn_status st = add_path(files, path, err);
    if (st)
        return st;
    name_list(files);
    return NN_OK;
}

static nn_status expand_glob(const nn_cfg *node, const char *pattern, nni_file_list *files,
                             nn_error *err)
{
    glob_t found;
    int rc = glob(pattern, GLOB_ERR, NULL, &found);
    if (rc == GLOB_NOMATCH)
        return nn_cfg_fail(err, node, "no file matches '%s'", pattern);
    if (rc != 0) {
        globfree(&found);
        return nn_cfg_fail(err, node, "cannot expand '%s' (%s)", pattern,
                           rc == GLOB_NOSPACE ? "out of memory" : "a directory cannot be read");
    }
    nn_status st = NN_OK;
    for (size_t i = 0; i < found.gl_pathc && !st; i++) /* glob sorts the names */
        st = add_path(files, found.gl_pathv[i], err);
    globfree(&found);
    return st;
}

nn_status nni_file_list_read(const nn_cfg *data, const char *key, nni_file_list *files,
                             nn_error *err)
{
    memset(files, 0, sizeof *files);
    const nn_cfg *node = nn_cfg_get(data, key);
    nn_status st = NN_OK;
    if (node && nn_cfg_kind_of(node) == NN_CFG_SEQ) {
        nn_cfg_mark(node);
        for (int i = 0; i < nn_cfg_size(node) && !st; i++) {
            const char *path = nn_cfg_scalar(nn_cfg_at(node, i));
            st = path && *path ? add_path(files, path, err)
                               : nn_cfg_fail(err, nn_cfg_at(node, i), "expected a file name");
        }
        if (!st && files->n == 0)
            st = nn_cfg_fail(err, node, "the list of data files is empty");
    } else {
        const char *path = NULL;
        if ((st = nn_cfg_read_string(data, key, NULL, &path, err)))
            return st;
        if (!path)
            return nn_cfg_fail(err, data, "missing key '%s' (the HDF5 dataset file)", key);
        st = strpbrk(path, "*?[") ? expand_glob(node, path, files, err)
                                  : add_path(files, path, err);
    }
    if (st) {
        nni_file_list_free(files);
        return st;
    }
    name_list(files);
    return NN_OK;
}

void nni_file_list_free(nni_file_list *files)
{
    for (int i = 0; i < files->n; i++)
        free(files->paths[i]);
    free(files->paths);
    memset(files, 0, sizeof *files);
}

int nni_file_list_has_split(const nni_file_list *files, const char *split)
{
    for (int i = 0; i < files->n; i++)
        if (!nn_dataset_has_split(files->paths[i], split))
            return 0;
    return files->n > 0;
}

static int same_names(const nn_dataset *a, const nn_dataset *b)
{
    if (a->n_class_names != b->n_class_names)
        return 0;
    for (int i = 0; i < a->n_class_names; i++)
        if (strcmp(a->class_names[i], b->class_names[i]) != 0)
            return 0;
    return 1;
}

/* What a file's split must share with the first file's. */
static nn_status check_alike(const nn_dataset *first, const nn_dataset *other, const char *split,
                             nn_error *err)
{
    const char *what = NULL;
    if (other->sample_ndim != first->sample_ndim ||
        memcmp(other->sample_shape, first->sample_shape, sizeof first->sample_shape) != 0)
        what = "sample shape";
    else if (other->x_is_uint8 != first->x_is_uint8)
        what = "sample type";
    else if (other->scale != first->scale || other->offset != first->offset)
        what = "x scale or offset";
    else if (other->target_kind != first->target_kind ||
             other->target_width != first->target_width)
        what = "kind of targets";
    else if (!same_names(first, other))
        what = "class names";
    if (!what)
        return NN_OK;
    return nn_fail(err, NN_ERR_DATA, "%s: /%s: its %s differs from %s's (the files of "
                   "data.path must share one layout)", other->path, split, what, first->path);
}

static size_t row_bytes(const nn_dataset *ds)
{
    return (size_t)ds->sample_size * (ds->x_is_uint8 ? 1 : sizeof(float));
}

static size_t target_bytes(const nn_dataset *ds)
{
    return (size_t)ds->target_width * (ds->target_kind == NN_TARGET_LABELS ? sizeof(int32_t)
                                                                          : sizeof(float));
}

nn_status nni_file_list_load(const nni_file_list *files, const char *split,
                             const nn_dataset_source *src, int64_t first, int64_t count,
                             nn_dataset *ds, nn_error *err)
{
    if (files->n == 1)
        return nn_dataset_load_from(files->paths[0], split, src, first, count, ds, err);
    memset(ds, 0, sizeof *ds);
    /* Every file's layout and rows, from a read of zero rows. */
    nn_dataset *heads = calloc((size_t)files->n, sizeof *heads);
    if (!heads)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_status st = NN_OK;
    int64_t total = 0;
    int classes = 0;
    for (int i = 0; i < files->n && !st; i++) {
        st = nn_dataset_load_from(files->paths[i], split, src, 0, 0, &heads[i], err);
        if (!st && i > 0)
            st = check_alike(&heads[0], &heads[i], split, err);
        if (!st) {
            total += heads[i].rows_in_file;
            classes = heads[i].num_classes > classes ? heads[i].num_classes : classes;
        }
    }
    if (count < 0) {
        first = 0;
        count = total;
    }
    if (!st && (first < 0 || first > total || count > total - first))
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s: rows [%lld, %lld) outside the split's %lld "
                     "rows (in %d files)", files->name, split, (long long)first,
                     (long long)(first + count), (long long)total, files->n);
    nn_dataset whole = heads[0];
    heads[0].class_names = NULL; /* they move to whole */
    heads[0].n_class_names = 0;
    whole.n = count;
    whole.first = first;
    whole.rows_in_file = total;
    whole.num_classes = classes;
    snprintf(whole.path, sizeof whole.path, "%s", files->name);
    const size_t x_row = row_bytes(&whole), y_row = target_bytes(&whole);
    unsigned char *x = NULL, *y = NULL;
    if (!st) {
        x = malloc(count > 0 ? (size_t)count * x_row : 1);
        y = malloc(count > 0 ? (size_t)count * y_row : 1);
        if (!x || !y)
            st = nn_fail(err, NN_ERR_OTHER, "%s: /%s: out of memory for %lld rows", files->name,
                         split, (long long)count);
    }
    /* Each file's part of [first, first + count), read and placed. */
    int64_t file_start = 0, placed = 0;
    for (int i = 0; i < files->n && !st && placed < count; i++) {
        const int64_t rows = heads[i].rows_in_file, file_end = file_start + rows;
        const int64_t from = first + placed;
        if (from < file_end) {
            const int64_t take = file_end - from < count - placed ? file_end - from : count - placed;
            nn_dataset piece;
            st = nn_dataset_load_from(files->paths[i], split, src, from - file_start, take,
                                      &piece, err);
            if (!st) {
                memcpy(x + (size_t)placed * x_row,
                       piece.x_is_uint8 ? (void *)piece.x_u8 : (void *)piece.x_f32,
                       (size_t)take * x_row);
                memcpy(y + (size_t)placed * y_row,
                       piece.labels ? (void *)piece.labels : (void *)piece.targets,
                       (size_t)take * y_row);
                placed += take;
            }
            nn_dataset_free(&piece);
        }
        file_start = file_end;
    }
    for (int i = 0; i < files->n; i++)
        nn_dataset_free(&heads[i]);
    free(heads);
    if (st) {
        free(x);
        free(y);
        nn_dataset_free(&whole);
        return st;
    }
    if (whole.x_is_uint8)
        whole.x_u8 = x;
    else
        whole.x_f32 = (float *)x;
    if (whole.target_kind == NN_TARGET_LABELS)
        whole.labels = (int32_t *)y;
    else
        whole.targets = (float *)y;
    *ds = whole;
    return NN_OK;
}

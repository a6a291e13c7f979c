/* Reading batches of samples from the files (see stream.h).
 *
 * A batch's rows are sorted and made unique, selected in each file as one union of row
 * runs, and read with one H5Dread per file: HDF5 then visits each chunk once, in file
 * order. The rows land in a staging buffer in file order; the gather into the model input
 * puts them back in batch order and applies scale and offset with the same code as the
 * in-memory path (nni_dataset_gather_x), so the values are bit-identical.
 *
 * Read-ahead: one thread per batch read ahead, into the second staging buffer, joined by
 * the next read (or by nni_stream_wait). Only that thread calls HDF5 while it runs. */
#include "data/stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "data/gather.h"
#include "io/hdf5_util.h"

typedef struct stream_file {
    hid_t file, x;
    int64_t start, rows; /* its rows in the concatenation */
    int rank;
    hsize_t dims[NNI_DATASET_MAX_X_RANK];
} stream_file;

/* One batch's rows as read: sorted unique file rows, and where each batch row finds its
 * sample among them. */
typedef struct staged_batch {
    unsigned char *samples; /* unique rows x row_bytes, in file order */
    int64_t *unique_rows;   /* file rows, sorted */
    int64_t *batch_rows;    /* the rows asked for (indices into the dataset), in batch order */
    int64_t *slot;          /* batch row i's sample is samples[slot[i]] */
    int64_t count, unique;
    nn_status status;
    nn_error err;
} staged_batch;

struct nni_stream {
    int n_files;
    stream_file *files;
    nn_dataset view; /* layout, scale and offset for the gather; x points at a stage */
    size_t row_bytes;
    int64_t capacity;
    staged_batch stage[2];
    int ahead;           /* stage[1] holds or is reading a batch ahead */
    int thread_running;
    pthread_t thread;
    int64_t *order;      /* scratch for sorting: batch positions */
    char split[64];
};

static void close_files(nni_stream *s)
{
    for (int i = 0; i < s->n_files; i++) {
        nni_h5_close(&s->files[i].x);
        nni_h5_close(&s->files[i].file);
    }
}

static void free_stage(staged_batch *b)
{
    free(b->samples);
    free(b->unique_rows);
    free(b->batch_rows);
    free(b->slot);
}

void nni_stream_close(nni_stream *s)
{
    if (!s)
        return;
    nni_stream_wait(s);
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    close_files(s);
    nni_h5_quiet_end(quiet);
    free(s->files);
    for (int i = 0; i < 2; i++)
        free_stage(&s->stage[i]);
    free(s->order);
    free(s);
}

/* The sample array of one file, with a chunk cache sized for random rows: a few chunks,
 * a prime number of slots, and chunks read through dropped first (w0 = 1). */
static nn_status open_file(stream_file *f, const char *path, const char *split,
                           const char *x_name, nn_error *err)
{
    nn_status st = nni_dataset_open_for_reading(path, &f->file, err);
    if (st)
        return st;
    char where[200];
    snprintf(where, sizeof where, "/%s/%s", split, x_name);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 12421, NNI_STREAM_CHUNK_CACHE_BYTES, 1.0);
    f->x = H5Dopen2(f->file, where, dapl);
    H5Pclose(dapl);
    if (f->x < 0)
        return nn_fail(err, NN_ERR_DATA, "%s: %s: cannot open for streaming", path, where);
    hid_t space = H5Dget_space(f->x);
    f->rank = H5Sget_simple_extent_ndims(space);
    if (f->rank >= 1 && f->rank <= NNI_DATASET_MAX_X_RANK)
        H5Sget_simple_extent_dims(space, f->dims, NULL);
    H5Sclose(space);
    if (f->rank < 1 || f->rank > NNI_DATASET_MAX_X_RANK)
        return nn_fail(err, NN_ERR_DATA, "%s: %s: rank %d", path, where, f->rank);
    f->rows = (int64_t)f->dims[0];
    return NN_OK;
}

static int alloc_stage(staged_batch *b, int64_t capacity, size_t row_bytes)
{
    const size_t rows = (size_t)(capacity > 0 ? capacity : 1);
    b->samples = malloc(rows * row_bytes);
    b->unique_rows = malloc(rows * sizeof *b->unique_rows);
    b->batch_rows = malloc(rows * sizeof *b->batch_rows);
    b->slot = malloc(rows * sizeof *b->slot);
    return b->samples && b->unique_rows && b->batch_rows && b->slot;
}

nn_status nni_stream_open(const nni_file_list *files, const char *split,
                          const nn_dataset_source *src, const nn_dataset *ds, int64_t capacity,
                          nni_stream **out, nn_error *err)
{
    *out = NULL;
    nni_stream *s = calloc(1, sizeof *s);
    if (!s)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    s->files = calloc((size_t)files->n, sizeof *s->files);
    s->view = *ds;
    s->view.labels = NULL;
    s->view.targets = NULL;
    s->view.class_names = NULL;
    s->view.n_class_names = 0;
    s->view.mapping = NULL;
    s->row_bytes = (size_t)ds->sample_size * (ds->x_is_uint8 ? 1 : sizeof(float));
    s->capacity = capacity;
    snprintf(s->split, sizeof s->split, "%s", split);
    s->order = malloc((size_t)(capacity > 0 ? capacity : 1) * sizeof *s->order);
    if (!s->files || !s->order || !alloc_stage(&s->stage[0], capacity, s->row_bytes) ||
        !alloc_stage(&s->stage[1], capacity, s->row_bytes)) {
        nni_stream_close(s);
        return nn_fail(err, NN_ERR_OTHER, "out of memory for streaming /%s", split);
    }
    for (int i = 0; i < files->n; i++)
        s->files[i].file = s->files[i].x = H5I_INVALID_HID;
    s->n_files = files->n;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status st = NN_OK;
    int64_t start = 0;
    for (int i = 0; i < files->n && !st; i++) {
        st = open_file(&s->files[i], files->paths[i], split, src && src->x ? src->x : "x", err);
        s->files[i].start = start;
        start += s->files[i].rows;
    }
    nni_h5_quiet_end(quiet);
    if (!st && start != ds->rows_in_file)
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s: %lld rows now, %lld when loaded (the file "
                     "changed)", files->name, split, (long long)start,
                     (long long)ds->rows_in_file);
    if (st) {
        nni_stream_close(s);
        return st;
    }
    *out = s;
    return NN_OK;
}

/* ---- reading one batch ------------------------------------------------------------- */

static const int64_t *sort_rows; /* the comparison's view (one sort at a time per stream) */

static int by_row(const void *a, const void *b)
{
    int64_t ra = sort_rows[*(const int64_t *)a], rb = sort_rows[*(const int64_t *)b];
    return (ra > rb) - (ra < rb);
}

/* Sorts the batch's rows into unique file rows and each batch row's slot among them. */
static void plan_batch(nni_stream *s, staged_batch *b, const int64_t *rows, int64_t count)
{
    memcpy(b->batch_rows, rows, (size_t)count * sizeof *rows);
    b->count = count;
    for (int64_t i = 0; i < count; i++)
        s->order[i] = i;
    sort_rows = b->batch_rows;
    qsort(s->order, (size_t)count, sizeof *s->order, by_row);
    b->unique = 0;
    for (int64_t k = 0; k < count; k++) {
        const int64_t i = s->order[k], row = s->view.first + b->batch_rows[i];
        if (b->unique == 0 || b->unique_rows[b->unique - 1] != row)
            b->unique_rows[b->unique++] = row;
        b->slot[i] = b->unique - 1;
    }
}

/* unique_rows[k0..k1) all lie in file f: one selection of row runs, one read. */
static nn_status read_from_file(const nni_stream *s, const stream_file *f, staged_batch *b,
                                int64_t k0, int64_t k1, const char *path, nn_error *err)
{
    hid_t file_space = H5Dget_space(f->x), mem_space = H5I_INVALID_HID;
    hsize_t start[NNI_DATASET_MAX_X_RANK] = {0}, block[NNI_DATASET_MAX_X_RANK];
    for (int d = 1; d < f->rank; d++)
        block[d] = f->dims[d];
    herr_t rc = file_space < 0 ? -1 : H5Sselect_none(file_space);
    for (int64_t k = k0; k < k1 && rc >= 0;) {
        int64_t run = 1;
        while (k + run < k1 && b->unique_rows[k + run] == b->unique_rows[k] + run)
            run++;
        start[0] = (hsize_t)(b->unique_rows[k] - f->start);
        block[0] = (hsize_t)run;
        rc = H5Sselect_hyperslab(file_space, H5S_SELECT_OR, start, NULL, block, NULL);
        k += run;
    }
    const hsize_t values = (hsize_t)(k1 - k0) * (hsize_t)s->view.sample_size;
    if (rc >= 0 && (mem_space = H5Screate_simple(1, &values, NULL)) < 0)
        rc = -1;
    if (rc >= 0)
        rc = H5Dread(f->x, s->view.x_is_uint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, mem_space,
                     file_space, H5P_DEFAULT, b->samples + (size_t)k0 * s->row_bytes);
    nn_status st = NN_OK;
    if (rc < 0) {
        nni_h5_detail detail = nni_h5_last_error();
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s/x: reading rows %lld to %lld failed (%s)", path,
                     s->split, (long long)(b->unique_rows[k0] - f->start),
                     (long long)(b->unique_rows[k1 - 1] - f->start), detail.text);
    }
    nni_h5_close(&mem_space);
    nni_h5_close(&file_space);
    return st;
}

/* Reads b's unique rows, file by file, and checks float samples as loading would. */
static nn_status read_batch(const nni_stream *s, staged_batch *b, nn_error *err)
{
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status st = NN_OK;
    int64_t k = 0;
    for (int f = 0; f < s->n_files && k < b->unique && !st; f++) {
        const stream_file *file = &s->files[f];
        int64_t end = k;
        while (end < b->unique && b->unique_rows[end] < file->start + file->rows)
            end++;
        char path[512];
        snprintf(path, sizeof path, "%s", s->view.path);
        if (end > k)
            st = read_from_file(s, file, b, k, end, path, err);
        k = end;
    }
    nni_h5_quiet_end(quiet);
    for (int64_t u = 0; u < b->unique && !st && !s->view.x_is_uint8; u++)
        st = nni_dataset_check_finite((const float *)(b->samples + (size_t)u * s->row_bytes), 1,
                                      s->view.sample_size, b->unique_rows[u], s->view.path,
                                      s->split, "x", err);
    return st;
}

static void *read_ahead_thread(void *arg)
{
    nni_stream *s = arg;
    staged_batch *b = &s->stage[1];
    b->status = read_batch(s, b, &b->err);
    return NULL;
}

void nni_stream_read_ahead(nni_stream *s, const int64_t *rows, int64_t count)
{
    nni_stream_wait(s);
    staged_batch *b = &s->stage[1];
    plan_batch(s, b, rows, count);
    s->ahead = 1;
    b->status = NN_OK;
    if (pthread_create(&s->thread, NULL, read_ahead_thread, s) == 0)
        s->thread_running = 1;
    else /* no thread: the read happens when the batch is taken */
        s->ahead = 0;
}

void nni_stream_wait(nni_stream *s)
{
    if (s && s->thread_running) {
        pthread_join(s->thread, NULL);
        s->thread_running = 0;
    }
}

nn_status nni_stream_read(nni_stream *s, const int64_t *rows, int64_t count, float *x,
                          nn_error *err)
{
    nni_stream_wait(s);
    staged_batch *b = &s->stage[1];
    const int taken = s->ahead && b->count == count &&
                      memcmp(b->batch_rows, rows, (size_t)count * sizeof *rows) == 0;
    s->ahead = 0;
    nn_status st;
    if (taken) {
        if ((st = b->status)) {
            if (err)
                *err = b->err;
            return st;
        }
    } else {
        b = &s->stage[0];
        plan_batch(s, b, rows, count);
        if ((st = read_batch(s, b, err)))
            return st;
    }
    s->view.x_u8 = s->view.x_is_uint8 ? b->samples : NULL;
    s->view.x_f32 = s->view.x_is_uint8 ? NULL : (float *)b->samples;
    nni_dataset_gather_x(&s->view, b->slot, count, x);
    return NN_OK;
}

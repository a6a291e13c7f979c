/* Reading batches of samples from the files (see stream.h).
 *
 * A batch's rows are sorted and made unique and read in file order, one H5Dread per run of
 * consecutive rows, so each chunk is visited once per batch. The rows land in a staging buffer in file order; the gather into the model input
 * puts them back in batch order and applies scale and offset with the same code as the
 * in-memory path (nni_dataset_gather_x), so the values are bit-identical.
 *
 * Samples stored channels-last (data.layout: nhwc) and shuffled pixels (data.shuffle_pixels)
 * are rearranged row by row as they arrive, with the functions loading uses, so a streamed row
 * holds the bytes the in-memory copy would.
 *
 * Read-ahead: one thread per batch read ahead, into the second staging buffer, joined by
 * the next read (or by nni_stream_wait). Only that thread calls HDF5 while it runs. */
#include "data/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/corrupt.h"
#include "data/dataset_internal.h"
#include "data/gather.h"
#include "io/hdf5_util.h"

typedef struct stream_file {
    hid_t file, x;
    int64_t start, rows; /* its rows in the concatenation */
    size_t cache_bytes;  /* its chunk cache */
    char path[512];
    /* Samples stored plain (native type, no filter, chunks of whole rows or contiguous):
     * read with pread at these file offsets, past HDF5's per-read cost. fd < 0 otherwise. */
    int fd;
    int64_t chunk_rows;  /* rows per chunk (all of them when contiguous) */
    haddr_t *chunk_at;   /* file offset of each chunk */
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
    nni_pixel_shuffler pixels; /* data.shuffle_pixels, with its own scratch */
    unsigned char *row_scratch; /* a sample, for the channels-last rearrangement */
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
    int64_t nhwc_channels, nhwc_pixels; /* data.layout: nhwc: C and H x W; 0 otherwise */
    char split[64];
};

static void close_files(nni_stream *s)
{
    for (int i = 0; i < s->n_files; i++) {
        if (s->files[i].fd >= 0)
            close(s->files[i].fd);
        free(s->files[i].chunk_at);
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
    free(b->row_scratch);
    nni_pixel_shuffler_free(&b->pixels);
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

/* The chunk cache for rows read in file order, each batch visiting a chunk once: chunks
 * stored as they are (no filter) need none, HDF5 then reads just the rows asked for (with a
 * cache it would read whole chunks to serve single rows); compressed chunks are decoded
 * whole, and a cache of two keeps the one being read while the next comes in. */
static size_t chunk_cache_bytes(hid_t x)
{
    hid_t dcpl = H5Dget_create_plist(x);
    size_t bytes = 0;
    if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_nfilters(dcpl) > 0) {
        hsize_t chunk[NNI_DATASET_MAX_X_RANK];
        int rank = H5Pget_chunk(dcpl, NNI_DATASET_MAX_X_RANK, chunk);
        hid_t type = H5Dget_type(x);
        bytes = type >= 0 ? H5Tget_size(type) : 4;
        for (int d = 0; d < rank; d++)
            bytes *= (size_t)chunk[d];
        bytes *= 2;
        nni_h5_close(&type);
    }
    nni_h5_close(&dcpl);
    return bytes;
}

/* Where each chunk of plain samples starts in the file, when every row can be read with
 * pread: the stored type is the one read, nothing is filtered, and a chunk holds whole rows.
 * Leaves f->fd < 0 (HDF5 reads) otherwise. */
static void find_plain_rows(stream_file *f, const char *path, int x_is_uint8)
{
    hid_t dcpl = H5Dget_create_plist(f->x), type = H5Dget_type(f->x);
    const hid_t native = x_is_uint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT;
    int plain = dcpl >= 0 && type >= 0 && H5Tequal(type, native) > 0 && f->rows > 0;
    const H5D_layout_t layout = plain ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    int64_t chunks = 0;
    if (layout == H5D_CONTIGUOUS) {
        f->chunk_rows = f->rows;
        chunks = 1;
    } else if (layout == H5D_CHUNKED && H5Pget_nfilters(dcpl) == 0) {
        hsize_t chunk[NNI_DATASET_MAX_X_RANK];
        plain = H5Pget_chunk(dcpl, NNI_DATASET_MAX_X_RANK, chunk) == f->rank;
        for (int d = 1; d < f->rank && plain; d++)
            plain = chunk[d] == f->dims[d];
        f->chunk_rows = plain ? (int64_t)chunk[0] : 0;
        chunks = plain ? (f->rows + f->chunk_rows - 1) / f->chunk_rows : 0;
    } else {
        plain = 0;
    }
    if (plain && !(f->chunk_at = malloc((size_t)chunks * sizeof *f->chunk_at)))
        plain = 0;
    if (plain && layout == H5D_CONTIGUOUS) {
        f->chunk_at[0] = H5Dget_offset(f->x);
        plain = f->chunk_at[0] != HADDR_UNDEF;
    } else if (plain) {
        hsize_t stored = 0;
        hid_t space = H5Dget_space(f->x); /* HDF5 1.10 takes no H5S_ALL here */
        plain = space >= 0 && H5Dget_num_chunks(f->x, space, &stored) >= 0 &&
                (int64_t)stored == chunks;
        for (int64_t c = 0; c < chunks && plain; c++) {
            hsize_t offset[NNI_DATASET_MAX_X_RANK] = {0}, size = 0;
            unsigned mask = 0;
            haddr_t at = HADDR_UNDEF;
            plain = H5Dget_chunk_info(f->x, space, (hsize_t)c, offset, &mask, &at, &size) >= 0 &&
                    at != HADDR_UNDEF && offset[0] % (hsize_t)f->chunk_rows == 0 &&
                    (int64_t)(offset[0] / (hsize_t)f->chunk_rows) < chunks;
            if (plain)
                f->chunk_at[offset[0] / (hsize_t)f->chunk_rows] = at;
        }
        nni_h5_close(&space);
    }
    if (plain)
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        free(f->chunk_at);
        f->chunk_at = NULL;
    }
    nni_h5_close(&type);
    nni_h5_close(&dcpl);
}

/* The sample array of one file, with its chunk cache (a prime number of slots; chunks read
 * through are dropped first, w0 = 1). */
static nn_status open_file(stream_file *f, const char *path, const char *split,
                           const char *x_name, int x_is_uint8, nn_error *err)
{
    snprintf(f->path, sizeof f->path, "%s", path);
    nn_status st = nni_dataset_open_for_reading(path, &f->file, err);
    if (st)
        return st;
    char where[200];
    snprintf(where, sizeof where, "/%s/%s", split, x_name);
    f->x = H5Dopen2(f->file, where, H5P_DEFAULT);
    if (f->x < 0)
        return nn_fail(err, NN_ERR_DATA, "%s: %s: cannot open for streaming", path, where);
    f->cache_bytes = chunk_cache_bytes(f->x);
    nni_h5_close(&f->x);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 521, f->cache_bytes, 1.0);
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
    find_plain_rows(f, path, x_is_uint8);
    return NN_OK;
}

/* Rows unique_rows[k0..k1) of a plain file: one pread per run of consecutive rows within a
 * chunk. */
static nn_status pread_rows(const nni_stream *s, const stream_file *f, staged_batch *b,
                            int64_t k0, int64_t k1, const char *path, nn_error *err)
{
    for (int64_t k = k0; k < k1;) {
        const int64_t row = b->unique_rows[k] - f->start;
        const int64_t chunk = row / f->chunk_rows, chunk_end = (chunk + 1) * f->chunk_rows;
        int64_t run = 1;
        while (k + run < k1 && b->unique_rows[k + run] == b->unique_rows[k] + run &&
               row + run < chunk_end)
            run++;
        const size_t bytes = (size_t)run * s->row_bytes;
        const off_t at = (off_t)(f->chunk_at[chunk] +
                                 (haddr_t)(row - chunk * f->chunk_rows) * s->row_bytes);
        unsigned char *dst = b->samples + (size_t)k * s->row_bytes;
        size_t done = 0;
        while (done < bytes) {
            ssize_t got = pread(f->fd, dst + done, bytes - done, at + (off_t)done);
            if (got <= 0)
                return nn_fail(err, NN_ERR_DATA, "%s: /%s/x: reading rows %lld to %lld failed "
                               "(%s)", path, s->split, (long long)row,
                               (long long)(row + run - 1), got < 0 ? strerror(errno)
                                                                    : "the file is shorter");
            done += (size_t)got;
        }
        k += run;
    }
    return NN_OK;
}

static int alloc_stage(staged_batch *b, int64_t capacity, size_t row_bytes)
{
    const size_t rows = (size_t)(capacity > 0 ? capacity : 1);
    b->samples = malloc(rows * row_bytes);
    b->unique_rows = malloc(rows * sizeof *b->unique_rows);
    b->batch_rows = malloc(rows * sizeof *b->batch_rows);
    b->slot = malloc(rows * sizeof *b->slot);
    b->row_scratch = malloc(row_bytes ? row_bytes : 1);
    return b->samples && b->unique_rows && b->batch_rows && b->slot && b->row_scratch;
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
    for (int i = 0; i < files->n; i++) {
        s->files[i].file = s->files[i].x = H5I_INVALID_HID;
        s->files[i].fd = -1;
    }
    s->n_files = files->n;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status st = NN_OK;
    int64_t start = 0;
    for (int i = 0; i < files->n && !st; i++) {
        st = open_file(&s->files[i], files->paths[i], split, src && src->x ? src->x : "x",
                       ds->x_is_uint8, err);
        s->files[i].start = start;
        start += s->files[i].rows;
    }
    nni_h5_quiet_end(quiet);
    if (!st && src && src->channels_last && s->files[0].rank == 4) {
        s->nhwc_channels = ds->sample_shape[0];
        s->nhwc_pixels = ds->sample_shape[1] * ds->sample_shape[2];
    }
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

/* unique_rows[k0..k1) all lie in file f: one read per run of consecutive rows, in file
 * order (a union of many runs in one selection costs HDF5 far more than the reads). */
static nn_status read_from_file(const nni_stream *s, const stream_file *f, staged_batch *b,
                                int64_t k0, int64_t k1, const char *path, nn_error *err)
{
    hid_t file_space = H5Dget_space(f->x), mem_space = H5I_INVALID_HID;
    hsize_t start[NNI_DATASET_MAX_X_RANK] = {0}, block[NNI_DATASET_MAX_X_RANK];
    for (int d = 1; d < f->rank; d++)
        block[d] = f->dims[d];
    const hid_t type = s->view.x_is_uint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT;
    herr_t rc = file_space < 0 ? -1 : 0;
    int64_t failed_row = b->unique_rows[k0] - f->start, failed_run = 1;
    for (int64_t k = k0; k < k1 && rc >= 0;) {
        int64_t run = 1;
        while (k + run < k1 && b->unique_rows[k + run] == b->unique_rows[k] + run)
            run++;
        start[0] = (hsize_t)(b->unique_rows[k] - f->start);
        block[0] = (hsize_t)run;
        const hsize_t values = (hsize_t)run * (hsize_t)s->view.sample_size;
        nni_h5_close(&mem_space);
        if ((rc = H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, block, NULL)) < 0 ||
            (mem_space = H5Screate_simple(1, &values, NULL)) < 0)
            rc = -1;
        else
            rc = H5Dread(f->x, type, mem_space, file_space, H5P_DEFAULT,
                         b->samples + (size_t)k * s->row_bytes);
        failed_row = (int64_t)start[0];
        failed_run = run;
        k += run;
    }
    nn_status st = NN_OK;
    if (rc < 0) {
        nni_h5_detail detail = nni_h5_last_error();
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s/x: reading rows %lld to %lld failed (%s)", path,
                     s->split, (long long)failed_row, (long long)(failed_row + failed_run - 1),
                     detail.text);
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
        if (end > k)
            st = file->fd >= 0 ? pread_rows(s, file, b, k, end, file->path, err)
                               : read_from_file(s, file, b, k, end, file->path, err);
        k = end;
    }
    nni_h5_quiet_end(quiet);
    const size_t elem = s->view.x_is_uint8 ? 1 : sizeof(float);
    for (int64_t u = 0; u < b->unique && !st; u++) {
        unsigned char *row = b->samples + (size_t)u * s->row_bytes;
        if (s->nhwc_channels)
            nni_dataset_row_channels_first(row, elem, s->nhwc_channels, s->nhwc_pixels,
                                           b->row_scratch);
        nni_pixel_shuffler_apply(&b->pixels, row, s->view.x_is_uint8, b->unique_rows[u]);
    }
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

nn_status nni_stream_shuffle_pixels(nni_stream *s, int mode, uint64_t seed, nn_error *err)
{
    nn_status st = NN_OK;
    for (int i = 0; i < 2 && !st; i++) {
        nni_pixel_shuffler_free(&s->stage[i].pixels);
        st = nni_pixel_shuffler_init(&s->stage[i].pixels, (nni_pixel_shuffle)mode, seed,
                                     s->split, s->view.sample_size, err);
    }
    return st;
}

double nni_stream_buffer_mib(const nni_stream *s)
{
    double bytes = 2.0 * (double)s->capacity * (double)s->row_bytes;
    for (int i = 0; i < s->n_files; i++)
        bytes += (double)s->files[i].cache_bytes;
    return bytes / (1 << 20);
}

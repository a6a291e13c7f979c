/* The chunk-level shuffle (see chunk_shuffle.h). */
#include "data/chunk_shuffle.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"
#include "data/dataset_internal.h"
#include "io/hdf5_util.h"

static const char *const orders[] = {"rows", "chunks", NULL};

/* Streams of NNI_RNG_SHUFFLE told apart by their layer field (0: the row permutation). */
enum { STREAM_CHUNK_ORDER = 1, STREAM_WINDOW = 2 };

/* Rows per chunk of /split/x in path: 0 when it is not chunked. */
static nn_status file_chunk_rows(const char *path, const char *split, const char *x_name,
                                 int64_t *rows, nn_error *err)
{
    *rows = 0;
    hid_t file = H5I_INVALID_HID, x = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    nn_status st = nni_dataset_open_for_reading(path, &file, err);
    char where[200];
    snprintf(where, sizeof where, "/%s/%s", split, x_name);
    if (!st && (x = H5Dopen2(file, where, H5P_DEFAULT)) < 0)
        st = nn_fail(err, NN_ERR_DATA, "%s: %s: cannot open", path, where);
    if (!st && (dcpl = H5Dget_create_plist(x)) >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED) {
        hsize_t chunk[NNI_DATASET_MAX_X_RANK];
        if (H5Pget_chunk(dcpl, NNI_DATASET_MAX_X_RANK, chunk) >= 1)
            *rows = (int64_t)chunk[0];
    }
    nni_h5_close(&dcpl);
    nni_h5_close(&x);
    nni_h5_close(&file);
    nni_h5_quiet_end(quiet);
    return st;
}

nn_status nni_chunk_shuffle_read(const nn_cfg *data, const nni_file_list *files,
                                 const char *split, const nn_dataset_source *src,
                                 nni_chunk_shuffle *cs, nn_error *err)
{
    int order = 0;
    nn_status st = nn_cfg_read_choice(data, "shuffle", orders, "rows", &order, err);
    if (!st)
        st = nn_cfg_read_int(data, "shuffle_window", 4, &cs->window, err);
    if (!st)
        st = nn_cfg_read_int(data, "shuffle_chunk_rows", 0, &cs->chunk_rows, err);
    if (st)
        return st;
    cs->enabled = order == 1;
    if (cs->window < 1)
        return nn_cfg_fail(err, nn_cfg_get(data, "shuffle_window"), "must be >= 1 (chunks "
                           "whose rows are mixed)");
    if (nn_cfg_get(data, "shuffle_chunk_rows") && cs->chunk_rows < 1)
        return nn_cfg_fail(err, nn_cfg_get(data, "shuffle_chunk_rows"), "must be >= 1");
    if (!cs->enabled || cs->chunk_rows > 0)
        return NN_OK;
    if ((st = file_chunk_rows(files->paths[0], split, src && src->x ? src->x : "x",
                              &cs->chunk_rows, err)))
        return st;
    if (cs->chunk_rows < 1)
        return nn_cfg_fail(err, nn_cfg_get(data, "shuffle"), "chunks: %s /%s/x is not stored "
                           "in chunks; give data.shuffle_chunk_rows", files->paths[0], split);
    return NN_OK;
}

nn_status nni_chunk_shuffle_plan(nni_chunk_shuffle *cs, const int64_t *rows, int64_t n,
                                 int64_t first, nn_error *err)
{
    cs->group_start = malloc((size_t)(n + 1) * sizeof *cs->group_start);
    cs->group_order = malloc((size_t)(n ? n : 1) * sizeof *cs->group_order);
    if (!cs->group_start || !cs->group_order)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    cs->n_groups = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || (first + rows[i]) / cs->chunk_rows != (first + rows[i - 1]) / cs->chunk_rows)
            cs->group_start[cs->n_groups++] = i;
    cs->group_start[cs->n_groups] = n;
    return NN_OK;
}

/* Fisher-Yates over v[0..n) with the stream's draws. */
static void shuffle(nni_rng *rng, int64_t *v, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nni_rng_below(rng, (uint32_t)(i + 1));
        int64_t tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
    }
}

void nni_chunk_shuffle_epoch(nni_chunk_shuffle *cs, uint64_t seed, int epoch, int64_t *perm)
{
    for (int64_t g = 0; g < cs->n_groups; g++)
        cs->group_order[g] = g;
    nni_rng rng = nni_rng_stream(seed, NNI_RNG_SHUFFLE, (uint32_t)epoch, 0, STREAM_CHUNK_ORDER);
    shuffle(&rng, cs->group_order, cs->n_groups);
    int64_t k = 0;
    for (int64_t w = 0; w * cs->window < cs->n_groups; w++) {
        const int64_t window_start = k;
        for (int64_t g = w * cs->window; g < (w + 1) * cs->window && g < cs->n_groups; g++) {
            const int64_t group = cs->group_order[g];
            for (int64_t i = cs->group_start[group]; i < cs->group_start[group + 1]; i++)
                perm[k++] = i;
        }
        nni_rng mix = nni_rng_stream(seed, NNI_RNG_SHUFFLE, (uint32_t)epoch, (uint64_t)w + 1,
                                     STREAM_WINDOW);
        shuffle(&mix, perm + window_start, k - window_start);
    }
}

void nni_chunk_shuffle_free(nni_chunk_shuffle *cs)
{
    free(cs->group_start);
    free(cs->group_order);
    cs->group_start = cs->group_order = NULL;
}

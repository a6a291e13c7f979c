/* One copy of a split per node (see node_cache.h).
 *
 * The split is read once per node, in parallel: every rank first opens the file and checks
 * the split's layout (so a bad file fails every rank alike), the node's first rank creates
 * the mapping, and each rank reads its contiguous share of the rows into it. The copy holds
 * exactly the bytes a per-rank load would, so training reads the same values and the
 * results are bit-identical to `data.cache: memory`. Layout of the mapping: x, then the
 * labels or value targets, each starting on a page. */
#include "data/node_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "parallel/node_group.h"
#include "parallel/shm.h"

nn_status nni_node_cache_open(const nn_comm *group, nni_node_cache *cache, nn_error *err)
{
    memset(cache, 0, sizeof *cache);
    cache->group = group;
    /* The nodes of the gradient sums, simulated ones (NN_TEST_RANKS_PER_NODE) included:
     * a test of several nodes on one machine then also holds one copy per simulated node. */
    nn_status st = nni_node_split(group, &cache->node, err);
    if (st)
        return st;
    cache->open = 1;
    double leaders = cache->node.rank == 0;
    nn_comm_sum_doubles(group, &leaders, 1);
    cache->nodes = (int)leaders;
    return NN_OK;
}

void nni_node_cache_close(nni_node_cache *cache)
{
    if (cache->open)
        nn_comm_free(&cache->node);
    memset(cache, 0, sizeof *cache);
}

int nni_node_cache_leader(const nni_node_cache *cache)
{
    return cache->node.rank == 0;
}

static size_t target_row_bytes(const nn_dataset *ds)
{
    return ds->target_kind == NN_TARGET_LABELS ? sizeof(int32_t)
                                               : (size_t)ds->target_width * sizeof(float);
}

static size_t sample_bytes(const nn_dataset *ds)
{
    return (size_t)ds->sample_size * (ds->x_is_uint8 ? 1 : sizeof(float));
}

/* This rank's rows, read on its own, copied to their place in the mapping. */
static nn_status fill_share(const nni_node_cache *cache, const nni_file_list *files,
                            const char *split,
                            const nn_dataset_source *src, int64_t first, const nn_dataset *whole,
                            unsigned char *x, unsigned char *targets, double *lengths,
                            nn_error *err)
{
    int64_t share_first, share_count;
    nn_comm_share(&cache->node, whole->n, &share_first, &share_count);
    if (share_count == 0)
        return NN_OK;
    nn_dataset share;
    nn_status st = nni_file_list_load(files, split, src, first + share_first, share_count,
                                      &share, err);
    if (st)
        return st;
    const void *share_x = share.x_is_uint8 ? (const void *)share.x_u8 : (const void *)share.x_f32;
    const void *share_y = share.labels ? (const void *)share.labels : (const void *)share.targets;
    memcpy(x + (size_t)share_first * sample_bytes(whole), share_x,
           (size_t)share_count * sample_bytes(whole));
    memcpy(targets + (size_t)share_first * target_row_bytes(whole), share_y,
           (size_t)share_count * target_row_bytes(whole));
    const int32_t *share_lengths[2] = {share.x_lengths, share.y_lengths};
    for (int k = 0; lengths && k < 2; k++)
        if (share_lengths[k]) {
            for (int64_t i = 0; i < share_count; i++)
                lengths[k * whole->n + share_first + i] = share_lengths[k][i];
            lengths[2 * whole->n + k] = 1;
        }
    nn_dataset_free(&share);
    return NN_OK;
}

/* Sequence lengths (x_lengths, y_lengths) are small: every rank keeps its own whole copy,
 * gathered from the shares by one sum (each row has one contributor; two flags say which
 * arrays the file has). */
static nn_status gather_lengths(const nni_node_cache *cache, double *lengths, nn_dataset *whole,
                                nn_error *err)
{
    const int64_t n = whole->n;
    nn_comm_sum_doubles(&cache->node, lengths, 2 * n + 2);
    int32_t **out[2] = {&whole->x_lengths, &whole->y_lengths};
    for (int k = 0; k < 2; k++) {
        if (lengths[2 * n + k] == 0)
            continue;
        *out[k] = malloc((size_t)(n ? n : 1) * sizeof **out[k]);
        if (!*out[k])
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
        for (int64_t i = 0; i < n; i++)
            (*out[k])[i] = (int32_t)lengths[k * n + i];
    }
    return NN_OK;
}

nn_status nni_node_cache_load(nni_node_cache *cache, const nni_file_list *files,
                              const char *split,
                              const nn_dataset_source *src, int64_t first, int64_t count,
                              nn_dataset *ds, nn_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (count < 0)
        first = 0;
    /* Zero rows read: the layout, scale, classes and the split's size, checked by every
     * rank. */
    nn_dataset whole;
    const char *path = files->name;
    nn_status st = nni_file_list_load(files, split, src, first, 0, &whole, err);
    if (st)
        return st;
    if (count < 0)
        count = whole.rows_in_file;
    if (count > whole.rows_in_file - first) {
        st = nn_fail(err, NN_ERR_DATA, "%s: /%s: rows [%lld, %lld) outside the split's %lld rows",
                     path, split, (long long)first, (long long)(first + count),
                     (long long)whole.rows_in_file);
        nn_dataset_free(&whole);
        return st;
    }
    whole.n = count;
    whole.first = first;
    const size_t x_bytes = (size_t)count * sample_bytes(&whole);
    const size_t x_room = nni_shm_round_up(x_bytes ? x_bytes : 1, NN_SHM_PAGE);
    const size_t bytes =
        x_room + nni_shm_round_up((size_t)count * target_row_bytes(&whole) + 1, NN_SHM_PAGE);
    char why[160];
    unsigned char *base = nni_shm_map(&cache->node, bytes, why, sizeof why);
    if (!base) {
        nn_dataset_free(&whole);
        return nn_fail(err, NN_ERR_OTHER, "%s: /%s: data.cache: node needs %.1f MiB of node "
                       "shared memory: %s (data.cache: memory holds a copy per rank instead)",
                       path, split, (double)bytes / (1 << 20), why);
    }
    double *lengths = calloc((size_t)(2 * count + 2), sizeof *lengths);
    st = lengths ? fill_share(cache, files, split, src, first, &whole, base, base + x_room,
                              lengths, err)
                 : nn_fail(err, NN_ERR_OTHER, "out of memory");
    /* Every rank learns whether all shares were read; the collective also orders the
     * writes above before anyone reads the mapping. */
    int failed = (int)st;
    nn_comm_max_int(cache->group, &failed);
    if (!failed)
        st = gather_lengths(cache, lengths, &whole, err);
    free(lengths);
    if (failed || st) {
        munmap(base, bytes);
        nn_dataset_free(&whole);
        return st ? st : nn_fail(err, (nn_status)failed, "%s: /%s: another rank could not read "
                                 "its share of the split (its message says why)", path, split);
    }
    if (whole.x_is_uint8)
        whole.x_u8 = base;
    else
        whole.x_f32 = (float *)base;
    if (whole.target_kind == NN_TARGET_LABELS)
        whole.labels = (int32_t *)(base + x_room);
    else
        whole.targets = (float *)(base + x_room);
    whole.mapping = base;
    whole.mapping_bytes = bytes;
    *ds = whole;
    return NN_OK;
}

void nni_node_cache_seal(const nni_node_cache *cache, nn_dataset *const *splits, int n)
{
    nn_comm_barrier(&cache->node);
    for (int i = 0; i < n; i++)
        if (splits[i] && splits[i]->mapping)
            mprotect(splits[i]->mapping, splits[i]->mapping_bytes, PROT_READ);
}

/* The optimizer update shared by the ranks of one node (see shared_update.h).
 *
 * The mapping (shm.h) holds one block of flags per rank, each on its own cache line, then
 * the parameters (page-aligned) and the slots (slot k NN_OPTIM_SLOT_PAGE_OFFSET(k) bytes
 * into a page, as the optimizer's own):
 *
 *   flags of rank r: updated (the step whose range rank r has written into the mapping)
 *
 * Steps are counted by every rank the same way, from 1. The mapping's parameters are only a
 * meeting point: each rank computes with its own copy, streams its updated range in and
 * copies the others' ranges out. Reading the mapping directly would leave its lines in every
 * core's cache, and the next update, writing them, would wait on each core for every line. */
#include "shared_update.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "train/optim_internal.h"
#include "shm.h"

enum { FLAG_UPDATED, N_FLAGS };

/* Ranges start on a cache line, so that no two ranks write the same line. */
#define RANGE_ALIGN_FLOATS (NN_SHM_CACHE_LINE / (int64_t)sizeof(float))

struct nni_shared_update {
    const nn_comm *comm;
    void *base;
    size_t bytes;
    nni_shm_flag **flags;
    float *params;
    float **slots;
    int64_t *starts; /* rank r's range: [starts[r], starts[r + 1]) */
    uint64_t step;
};

/* The cut closest to an even share below `target`: ranges hold whole units between cuts. */
static int64_t cut_at_or_below(const int64_t *cuts, int n_cuts, int64_t target)
{
    int64_t best = 0;
    for (int i = 0; i < n_cuts; i++)
        if (cuts[i] <= target && cuts[i] > best)
            best = cuts[i];
    return best;
}

static int64_t rank_start(const nn_comm *comm, int64_t floats, const int64_t *cuts, int n_cuts,
                          int rank)
{
    if (rank == 0)
        return 0;
    if (rank == comm->size)
        return floats;
    const int64_t even = floats * rank / comm->size;
    if (cuts)
        return cut_at_or_below(cuts, n_cuts, even);
    return even / RANGE_ALIGN_FLOATS * RANGE_ALIGN_FLOATS;
}

nn_status nni_shared_update_create(const nn_comm *comm, int64_t floats, int slots,
                                   const int64_t *cuts, int n_cuts, nni_shared_update **out,
                                   char *why, size_t why_size, nn_error *err)
{
    *out = NULL;
    nni_shared_update *update = calloc(1, sizeof *update);
    if (update) {
        update->flags = calloc((size_t)comm->size, sizeof *update->flags);
        update->slots = calloc((size_t)(slots > 0 ? slots : 1), sizeof *update->slots);
        update->starts = calloc((size_t)comm->size + 1, sizeof *update->starts);
    }
    if (!update || !update->flags || !update->slots || !update->starts) {
        nni_shared_update_free(update);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    update->comm = comm;
    const size_t flag_block = nni_shm_round_up(N_FLAGS * sizeof(nni_shm_flag), NN_SHM_CACHE_LINE);
    const size_t flags_bytes = nni_shm_round_up((size_t)comm->size * flag_block, NN_SHM_PAGE);
    /* Laid out as the optimizer's own slots, so that slot k starts where they do within a
     * page (NN_OPTIM_SLOT_PAGE_OFFSET). */
    const size_t buffer_bytes = nni_optim_slot_stride(floats);
    const size_t bytes = flags_bytes + (size_t)(1 + slots) * buffer_bytes;
    if (!(update->base = nni_shm_map(comm, bytes, why, why_size))) {
        nni_shared_update_free(update);
        return NN_OK;
    }
    update->bytes = bytes;
    for (int r = 0; r < comm->size; r++)
        update->flags[r] = (nni_shm_flag *)((char *)update->base + (size_t)r * flag_block);
    update->params = (float *)((char *)update->base + flags_bytes);
    for (int k = 0; k < slots; k++)
        update->slots[k] = (float *)((char *)update->params + (size_t)(1 + k) * buffer_bytes +
                                     NN_OPTIM_SLOT_PAGE_OFFSET(k));
    for (int r = 0; r <= comm->size; r++)
        update->starts[r] = rank_start(comm, floats, cuts, n_cuts, r);
    *out = update;
    return NN_OK;
}

void nni_shared_update_free(nni_shared_update *update)
{
    if (!update)
        return;
    if (update->base)
        munmap(update->base, update->bytes);
    free(update->flags);
    free(update->slots);
    free(update->starts);
    free(update);
}

float *nni_shared_update_slot(const nni_shared_update *update, int k)
{
    return update->slots[k];
}

void nni_shared_update_range(const nni_shared_update *update, int64_t *first, int64_t *end)
{
    *first = update->starts[update->comm->rank];
    *end = update->starts[update->comm->rank + 1];
}

const int64_t *nni_shared_update_starts(const nni_shared_update *update)
{
    return update->starts;
}

void nni_shared_update_exchange(nni_shared_update *update, float *params)
{
    const nn_comm *comm = update->comm;
    const int64_t first = update->starts[comm->rank], end = update->starts[comm->rank + 1];
    update->step++;
    nni_shm_stream_copy(update->params + first, params + first, end - first);
    atomic_store_explicit(&update->flags[comm->rank][FLAG_UPDATED], update->step,
                          memory_order_release);
    nni_shm_wait_all(comm, update->flags, FLAG_UPDATED, update->step, "optimizer update");
    for (int r = 0; r < comm->size; r++)
        if (r != comm->rank)
            memcpy(params + update->starts[r], update->params + update->starts[r],
                   (size_t)(update->starts[r + 1] - update->starts[r]) * sizeof(float));
}

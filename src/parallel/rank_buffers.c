/* Per-rank buffers in node shared memory (see rank_buffers.h).
 *
 * The mapping holds one cache line of flags per rank (buffer published, buffers read), then
 * each rank's buffer, page-aligned. Operations are numbered from 1, the same on every rank.
 * A rank writes its buffer for operation s + 1 only after every rank has set `read` for s,
 * which each does after its last read of the others' buffers. */
#include "rank_buffers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shm.h"

enum { FLAG_PUBLISHED, FLAG_READ, N_FLAGS };

struct nni_rank_buffers {
    const nn_comm *comm;
    void *base;
    size_t bytes;
    uint64_t step;
    nni_shm_flag **flags; /* flags[r][FLAG_...] */
    int64_t **values;     /* values[r]: rank r's buffer */
};

nn_status nni_rank_buffers_create(const nn_comm *comm, int64_t n, nni_rank_buffers **out,
                                  char *why, size_t why_size, nn_error *err)
{
    *out = NULL;
    nni_rank_buffers *s = calloc(1, sizeof *s);
    if (s) {
        s->flags = calloc((size_t)comm->size, sizeof *s->flags);
        s->values = calloc((size_t)comm->size, sizeof *s->values);
    }
    if (!s || !s->flags || !s->values) {
        nni_rank_buffers_free(s);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    s->comm = comm;
    const size_t flag_bytes = NN_SHM_CACHE_LINE;
    const size_t head = nni_shm_round_up((size_t)comm->size * flag_bytes, NN_SHM_PAGE);
    const size_t value_bytes = nni_shm_round_up((size_t)n * sizeof(int64_t), NN_SHM_PAGE);
    const size_t bytes = head + (size_t)comm->size * value_bytes;
    if (!(s->base = nni_shm_map(comm, bytes, why, why_size))) {
        nni_rank_buffers_free(s);
        return NN_OK;
    }
    s->bytes = bytes;
    char *base = s->base;
    for (int r = 0; r < comm->size; r++) {
        s->flags[r] = (nni_shm_flag *)(base + (size_t)r * flag_bytes);
        s->values[r] = (int64_t *)(base + head + (size_t)r * value_bytes);
    }
    *out = s;
    return NN_OK;
}

void nni_rank_buffers_free(nni_rank_buffers *s)
{
    if (!s)
        return;
    if (s->base)
        munmap(s->base, s->bytes);
    free(s->flags);
    free(s->values);
    free(s);
}

int64_t *nni_rank_buffers_begin(nni_rank_buffers *s)
{
    s->step++;
    /* Every rank has finished reading this rank's buffer of the last operation. */
    if (s->step > 1)
        nni_shm_wait_all(s->comm, s->flags, FLAG_READ, s->step - 1, "unit sums");
    return s->values[s->comm->rank];
}

const int64_t *const *nni_rank_buffers_gather(nni_rank_buffers *s)
{
    atomic_store_explicit(&s->flags[s->comm->rank][FLAG_PUBLISHED], s->step,
                          memory_order_release);
    nni_shm_wait_all(s->comm, s->flags, FLAG_PUBLISHED, s->step, "unit sums");
    return (const int64_t *const *)s->values;
}

void nni_rank_buffers_done(nni_rank_buffers *s)
{
    /* The next nni_rank_buffers_begin of every rank waits for this. */
    atomic_store_explicit(&s->flags[s->comm->rank][FLAG_READ], s->step, memory_order_release);
}

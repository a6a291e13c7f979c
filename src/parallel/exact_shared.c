/* Exact sums through node shared memory (see exact_shared.h).
 *
 * The mapping holds one cache line of flags per rank (maxima published, values published,
 * slice summed), then each rank's maxima, each rank's values (page-aligned) and the common
 * result. Operations are numbered from 1, the same on every rank. A rank writes its maxima
 * and values for operation s + 1 only after every rank has set `summed` for s, which each
 * does after its last read of the others' memory; the result's slices are written for s + 1
 * only after every rank has published its maxima for s + 1, that is, finished reading the
 * result of s. */
#include "exact_shared.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shm.h"

enum { FLAG_MAXES, FLAG_VALUES, FLAG_SUMMED, N_FLAGS };

struct nni_exact_shared {
    const nn_comm *comm;
    void *base;
    size_t bytes;
    int64_t n;
    int n_max;
    uint64_t step;
    nni_shm_flag **flags; /* flags[r][FLAG_...] */
    double **maxes;       /* maxes[r]: n_max */
    int64_t **values;     /* values[r]: n */
    int64_t *total;       /* n */
};

nn_status nni_exact_shared_create(const nn_comm *comm, int64_t n, int n_max,
                                  nni_exact_shared **out, char *why, size_t why_size,
                                  nn_error *err)
{
    *out = NULL;
    nni_exact_shared *s = calloc(1, sizeof *s);
    if (s) {
        s->flags = calloc((size_t)comm->size, sizeof *s->flags);
        s->maxes = calloc((size_t)comm->size, sizeof *s->maxes);
        s->values = calloc((size_t)comm->size, sizeof *s->values);
    }
    if (!s || !s->flags || !s->maxes || !s->values) {
        nni_exact_shared_free(s);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    s->comm = comm;
    s->n = n;
    s->n_max = n_max;
    const size_t flag_bytes = NN_SHM_CACHE_LINE;
    const size_t max_bytes = nni_shm_round_up((size_t)n_max * sizeof(double), NN_SHM_CACHE_LINE);
    const size_t head = nni_shm_round_up((size_t)comm->size * (flag_bytes + max_bytes),
                                         NN_SHM_PAGE);
    const size_t value_bytes = nni_shm_round_up((size_t)n * sizeof(int64_t), NN_SHM_PAGE);
    const size_t bytes = head + (size_t)(comm->size + 1) * value_bytes;
    if (!(s->base = nni_shm_map(comm, bytes, why, why_size))) {
        nni_exact_shared_free(s);
        return NN_OK;
    }
    s->bytes = bytes;
    char *base = s->base;
    for (int r = 0; r < comm->size; r++) {
        s->flags[r] = (nni_shm_flag *)(base + (size_t)r * flag_bytes);
        s->maxes[r] = (double *)(base + (size_t)comm->size * flag_bytes + (size_t)r * max_bytes);
        s->values[r] = (int64_t *)(base + head + (size_t)r * value_bytes);
    }
    s->total = (int64_t *)(base + head + (size_t)comm->size * value_bytes);
    *out = s;
    return NN_OK;
}

void nni_exact_shared_free(nni_exact_shared *s)
{
    if (!s)
        return;
    if (s->base)
        munmap(s->base, s->bytes);
    free(s->flags);
    free(s->maxes);
    free(s->values);
    free(s);
}

int64_t *nni_exact_shared_begin(nni_exact_shared *s)
{
    s->step++;
    /* Every rank has finished reading this rank's buffers of the last operation. */
    if (s->step > 1)
        nni_shm_wait_all(s->comm, s->flags, FLAG_SUMMED, s->step - 1, "exact sum");
    return s->values[s->comm->rank];
}

void nni_exact_shared_max(nni_exact_shared *s, double *maxes)
{
    const int rank = s->comm->rank, size = s->comm->size;
    memcpy(s->maxes[rank], maxes, (size_t)s->n_max * sizeof *maxes);
    atomic_store_explicit(&s->flags[rank][FLAG_MAXES], s->step, memory_order_release);
    nni_shm_wait_all(s->comm, s->flags, FLAG_MAXES, s->step, "exact sum");
    for (int r = 0; r < size; r++)
        for (int g = 0; g < s->n_max; g++)
            maxes[g] = s->maxes[r][g] > maxes[g] ? s->maxes[r][g] : maxes[g];
}

const int64_t *nni_exact_shared_sum(nni_exact_shared *s)
{
    const int rank = s->comm->rank, size = s->comm->size;
    atomic_store_explicit(&s->flags[rank][FLAG_VALUES], s->step, memory_order_release);
    nni_shm_wait_all(s->comm, s->flags, FLAG_VALUES, s->step, "exact sum");
    const int64_t first = s->n * rank / size, end = s->n * (rank + 1) / size;
    memcpy(s->total + first, s->values[0] + first, (size_t)(end - first) * sizeof *s->total);
    for (int r = 1; r < size; r++) { /* unsigned: values out of range wrap */
        const uint64_t *restrict v = (const uint64_t *)s->values[r];
        uint64_t *restrict t = (uint64_t *)s->total;
        for (int64_t i = first; i < end; i++)
            t[i] += v[i];
    }
    atomic_store_explicit(&s->flags[rank][FLAG_SUMMED], s->step, memory_order_release);
    nni_shm_wait_all(s->comm, s->flags, FLAG_SUMMED, s->step, "exact sum");
    return s->total;
}

const int64_t *const *nni_exact_shared_gather(nni_exact_shared *s)
{
    atomic_store_explicit(&s->flags[s->comm->rank][FLAG_VALUES], s->step, memory_order_release);
    nni_shm_wait_all(s->comm, s->flags, FLAG_VALUES, s->step, "exact sum");
    return (const int64_t *const *)s->values;
}

void nni_exact_shared_done(nni_exact_shared *s)
{
    /* The next nni_exact_shared_begin of every rank waits for this. */
    atomic_store_explicit(&s->flags[s->comm->rank][FLAG_SUMMED], s->step, memory_order_release);
}

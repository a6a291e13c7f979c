/* Gradient sums through memory shared by the ranks of one node (see shared_sum.h).
 *
 * The mapping (shm.h) holds one block of flags per rank, then one buffer per rank:
 *
 *   flags of rank r:  published[b] (the step that last published bucket b), summed (the
 *                     step whose slices rank r last finished summing), gathered (a failed
 *                     step's sums, see nni_shared_sum_gather); a rank writes only its own
 *                     block, each on its own cache lines
 *   buffer of rank r: the gradients, page-aligned: the model's own, or, with owned ranges,
 *                     a copy of those outside rank r's range, streamed in as buckets are
 *                     published (the others read them; rank r's own gradients stay in its
 *                     private memory, where writing them never waits on another core)
 *
 * Steps are numbered from 1 and every rank counts them the same way, so "published[b] ==
 * step" means "final for this step". A rank writes its buffer for the next step only after
 * every rank's `summed` has reached this step (waited for here, or, with owned ranges, by
 * the caller's wait in the shared update, which every rank reaches after its sums), and no
 * rank touches another's buffer after setting its own `summed`.
 *
 * When the group spans nodes (`leaders`), each rank also marks reduced[b] once its slice of
 * bucket b is in every buffer of the node. The node's first rank (its leader) then sums the
 * bucket over the nodes in place in its own buffer, MPI_Iallreduce among the leaders, and
 * marks spread[b] when the result is there; every other rank of the node copies the bucket
 * from the leader's buffer into its own before it sets `summed`. The leader starts each
 * bucket as soon as the node has it, during backward, so the sums between nodes overlap with
 * the rest of backward as the flat MPI_Iallreduce does. */
#include "shared_sum.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/threads.h"
#include "shm.h"
#include "watchdog.h"

/* Floats summed per block: the partial sums stay in L1 while each buffer is read. */
#define SUM_BLOCK 1024
/* A slice at least this large is summed by the rank's whole thread team. */
#define SUM_PARALLEL_FLOATS ((int64_t)1 << 16)

struct nni_shared_sum {
    const nn_comm *comm;
    int n_buckets;
    int64_t *bounds;     /* bucket b: [bounds[2b], bounds[2b + 1]) */
    void *base;
    size_t bytes;
    nni_shm_flag **flags; /* flags[r]: see FLAG_SUMMED below */
    float **buffers;     /* buffers[r] */
    int64_t *owned;      /* rank r sums [owned[r], owned[r + 1]) only (NULL: every bucket's
                          * slices, into every buffer) */
    int64_t common_from; /* with `owned`: [common_from, floats) is summed by every rank */
    int64_t floats;
    float *common;       /* ... into this rank's private copy */
    float *grads;        /* with `owned`: this rank's gradients, in its private memory */
    uint64_t step;
    int published;       /* buckets this rank published this step */
    int next_to_sum;     /* buckets before it have had this rank's slice summed */
    const nn_comm *leaders; /* NULL: the group is this node; else the leaders' group (read on
                             * the leader only) */
    MPI_Request *requests;  /* the leader's: bucket b's sum between the nodes */
    int next_to_send;       /* the leader: buckets before it have been started between nodes */
    int next_to_spread;     /* the leader: buckets before it are summed over the nodes */
};

/* Flags of a rank: published[0 .. n_buckets), then summed, then gathered, then (between
 * nodes) reduced[0 .. n_buckets) and spread[0 .. n_buckets). */
#define FLAG_SUMMED(sum) ((sum)->n_buckets)
#define FLAG_GATHERED(sum) ((sum)->n_buckets + 1)
#define FLAG_REDUCED(sum, b) ((sum)->n_buckets + 2 + (b))
#define FLAG_SPREAD(sum, b) (2 * (sum)->n_buckets + 2 + (b))
/* The node's rank that sums between the nodes. */
#define LEADER 0

static size_t flag_block_bytes(int n_buckets)
{
    return nni_shm_round_up((size_t)(3 * n_buckets + 2) * sizeof(nni_shm_flag),
                            NN_SHM_CACHE_LINE);
}

nn_status nni_shared_sum_create(const nn_comm *comm, const nn_comm *leaders, int64_t floats,
                                int n_buckets, const int64_t *bounds, nni_shared_sum **out,
                                char *why, size_t why_size, nn_error *err)
{
    *out = NULL;
    nni_shared_sum *sum = calloc(1, sizeof *sum);
    if (sum) {
        sum->bounds = malloc((size_t)n_buckets * 2 * sizeof *sum->bounds);
        sum->flags = calloc((size_t)comm->size, sizeof *sum->flags);
        sum->buffers = calloc((size_t)comm->size, sizeof *sum->buffers);
        sum->requests = malloc((size_t)n_buckets * sizeof *sum->requests);
    }
    if (!sum || !sum->bounds || !sum->flags || !sum->buffers || !sum->requests) {
        nni_shared_sum_free(sum);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    for (int b = 0; b < n_buckets; b++)
        sum->requests[b] = MPI_REQUEST_NULL;
    sum->comm = comm;
    sum->leaders = leaders;
    sum->n_buckets = n_buckets;
    sum->floats = floats;
    memcpy(sum->bounds, bounds, (size_t)n_buckets * 2 * sizeof *bounds);
    const size_t flags_bytes =
        nni_shm_round_up((size_t)comm->size * flag_block_bytes(n_buckets), NN_SHM_PAGE);
    const size_t buffer_bytes = nni_shm_round_up((size_t)floats * sizeof(float), NN_SHM_PAGE);
    const size_t bytes = flags_bytes + (size_t)comm->size * buffer_bytes;
    if (!(sum->base = nni_shm_map(comm, bytes, why, why_size))) {
        nni_shared_sum_free(sum);
        return NN_OK;
    }
    sum->bytes = bytes;
    for (int r = 0; r < comm->size; r++) {
        sum->flags[r] =
            (nni_shm_flag *)((char *)sum->base + (size_t)r * flag_block_bytes(n_buckets));
        sum->buffers[r] = (float *)((char *)sum->base + flags_bytes + (size_t)r * buffer_bytes);
    }
    *out = sum;
    return NN_OK;
}

void nni_shared_sum_free(nni_shared_sum *sum)
{
    if (!sum)
        return;
    if (sum->base)
        munmap(sum->base, sum->bytes);
    free(sum->bounds);
    free(sum->owned);
    free(sum->common);
    free(sum->flags);
    free(sum->buffers);
    free(sum->requests);
    free(sum);
}

float *nni_shared_sum_buffer(const nni_shared_sum *sum)
{
    return sum->buffers[sum->comm->rank];
}

void nni_shared_sum_begin(nni_shared_sum *sum)
{
    sum->step++;
    sum->published = 0;
    sum->next_to_sum = 0;
    sum->next_to_send = 0;
    sum->next_to_spread = 0;
}

/* Where rank r's gradients are read from: its buffer, or this rank's private memory. */
static const float *source(const nni_shared_sum *sum, int r)
{
    return sum->grads && r == sum->comm->rank ? sum->grads : sum->buffers[r];
}

/* Sums [first, end) over every rank's gradients, in rank order; writes the sums into every
 * buffer, or only to `out` (where element `first` goes) when it is not NULL. */
static void sum_range(const nni_shared_sum *sum, int64_t first, int64_t end, float *out)
{
    const int size = sum->comm->size;
    const int64_t blocks = (end - first + SUM_BLOCK - 1) / SUM_BLOCK;
    const int threads = end - first >= SUM_PARALLEL_FLOATS ? nni_threads() : 1;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t k = 0; k < blocks; k++) {
        const int64_t at = first + k * SUM_BLOCK;
        const int64_t n = end - at < SUM_BLOCK ? end - at : SUM_BLOCK;
        float total[SUM_BLOCK];
        memcpy(total, source(sum, 0) + at, (size_t)n * sizeof(float));
        for (int r = 1; r < size; r++) {
            const float *restrict x = source(sum, r) + at;
            for (int64_t i = 0; i < n; i++)
                total[i] += x[i];
        }
        if (out)
            memcpy(out + (at - first), total, (size_t)n * sizeof(float));
        else
            for (int r = 0; r < size; r++)
                memcpy(sum->buffers[r] + at, total, (size_t)n * sizeof(float));
    }
}

/* This rank's slice of bucket b: the bucket cut into as many equal parts as ranks, or, with
 * owned ranges, the part of the bucket this rank owns and the common part. */
static void sum_my_slice(const nni_shared_sum *sum, int b)
{
    const int64_t start = sum->bounds[2 * b], end = sum->bounds[2 * b + 1];
    const int rank = sum->comm->rank, size = sum->comm->size;
    if (!sum->owned) {
        const int64_t length = end - start;
        if (size > 1) /* alone on its node, the buffer holds the node's sum already */
            sum_range(sum, start + length * rank / size, start + length * (rank + 1) / size,
                      NULL);
        if (sum->leaders)
            atomic_store_explicit(&sum->flags[rank][FLAG_REDUCED(sum, b)], sum->step,
                                  memory_order_release);
        return;
    }
    int64_t first = start > sum->owned[rank] ? start : sum->owned[rank];
    int64_t last = end < sum->owned[rank + 1] ? end : sum->owned[rank + 1];
    if (last > first)
        sum_range(sum, first, last, sum->grads + first);
    first = start > sum->common_from ? start : sum->common_from;
    if (end > first)
        sum_range(sum, first, end, sum->common + (first - sum->common_from));
}

nn_status nni_shared_sum_own_ranges(nni_shared_sum *sum, const int64_t *starts,
                                    int64_t common_from, float *grads, nn_error *err)
{
    if (sum->leaders)
        return nn_fail(err, NN_ERR_OTHER, "the gradient sums of a group on several nodes "
                       "cannot sum owned ranges only");
    const int size = sum->comm->size;
    sum->owned = malloc((size_t)(size + 1) * sizeof *sum->owned);
    sum->common = malloc((size_t)(sum->floats - common_from + 1) * sizeof *sum->common);
    if (!sum->owned || !sum->common) {
        free(sum->owned);
        free(sum->common);
        sum->owned = NULL;
        sum->common = NULL;
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    memcpy(sum->owned, starts, (size_t)(size + 1) * sizeof *starts);
    sum->common_from = common_from;
    sum->grads = grads;
    return NN_OK;
}

const float *nni_shared_sum_common(const nni_shared_sum *sum)
{
    return sum->common;
}

/* Marks bucket b final on this rank; with owned ranges, first streams the part of it that
 * other ranks sum into this rank's buffer. */
static void publish_bucket(nni_shared_sum *sum, int b)
{
    const int rank = sum->comm->rank;
    if (sum->owned) {
        const int64_t start = sum->bounds[2 * b], end = sum->bounds[2 * b + 1];
        const int64_t mine = sum->owned[rank], mine_end = sum->owned[rank + 1];
        float *buffer = sum->buffers[rank];
        const int64_t below = end < mine ? end : mine;
        if (below > start)
            nni_shm_stream_copy(buffer + start, sum->grads + start, below - start);
        const int64_t above = start > mine_end ? start : mine_end;
        if (end > above)
            nni_shm_stream_copy(buffer + above, sum->grads + above, end - above);
    }
    atomic_store_explicit(&sum->flags[rank][b], sum->step, memory_order_release);
}

/* ---- Between nodes ---------------------------------------------------------------------- */

/* The leader: bucket b's node sum, in its buffer, summed over the nodes in place. */
static void between_nodes_start(nni_shared_sum *sum, int b)
{
    const int64_t start = sum->bounds[2 * b], end = sum->bounds[2 * b + 1];
    MPI_Iallreduce(MPI_IN_PLACE, sum->buffers[LEADER] + start, (int)(end - start), MPI_FLOAT,
                   MPI_SUM, nni_comm_mpi(sum->leaders), &sum->requests[b]);
}

static void mark_spread(nni_shared_sum *sum, int b)
{
    atomic_store_explicit(&sum->flags[LEADER][FLAG_SPREAD(sum, b)], sum->step,
                          memory_order_release);
}

/* The leader, without waiting: starts every bucket the whole node has summed (in bucket
 * order, the same on every node, as MPI's collectives on one group must be) and marks the
 * buckets whose sums over the nodes have arrived. Testing a request also lets Open MPI
 * progress the others, which it does only inside MPI calls. */
static void between_nodes_advance(nni_shared_sum *sum)
{
    while (sum->next_to_send < sum->n_buckets &&
           nni_shm_all_arrived(sum->comm, sum->flags, FLAG_REDUCED(sum, sum->next_to_send),
                               sum->step))
        between_nodes_start(sum, sum->next_to_send++);
    while (sum->next_to_spread < sum->next_to_send) {
        int done = 0;
        MPI_Test(&sum->requests[sum->next_to_spread], &done, MPI_STATUS_IGNORE);
        if (!done)
            break;
        mark_spread(sum, sum->next_to_spread++);
    }
}

/* After this rank's slices: the leader sums what is left between the nodes; the others take
 * every bucket's result from the leader's buffer. */
static void between_nodes_finish(nni_shared_sum *sum)
{
    const int rank = sum->comm->rank;
    if (rank == LEADER) {
        for (; sum->next_to_send < sum->n_buckets; sum->next_to_send++) {
            nni_shm_wait_all(sum->comm, sum->flags, FLAG_REDUCED(sum, sum->next_to_send),
                             sum->step, "gradient allreduce");
            between_nodes_start(sum, sum->next_to_send);
        }
        for (; sum->next_to_spread < sum->n_buckets; sum->next_to_spread++) {
            nni_comm_wait(sum->leaders, 1, &sum->requests[sum->next_to_spread],
                          "gradient allreduce between nodes");
            mark_spread(sum, sum->next_to_spread);
        }
        return;
    }
    for (int b = 0; b < sum->n_buckets; b++) {
        const int64_t start = sum->bounds[2 * b], end = sum->bounds[2 * b + 1];
        nni_shm_wait_rank(sum->comm, sum->flags, LEADER, FLAG_SPREAD(sum, b), sum->step,
                          "gradient allreduce between nodes");
        memcpy(sum->buffers[rank] + start, sum->buffers[LEADER] + start,
               (size_t)(end - start) * sizeof(float));
    }
}

void nni_shared_sum_publish(nni_shared_sum *sum, int b)
{
    publish_bucket(sum, b);
    sum->published = b + 1;
    nni_shared_sum_progress(sum);
}

void nni_shared_sum_progress(nni_shared_sum *sum)
{
    while (sum->next_to_sum < sum->published &&
           nni_shm_all_arrived(sum->comm, sum->flags, sum->next_to_sum, sum->step))
        sum_my_slice(sum, sum->next_to_sum++);
    if (sum->leaders && sum->comm->rank == LEADER)
        between_nodes_advance(sum);
}

void nni_shared_sum_finish(nni_shared_sum *sum)
{
    const int rank = sum->comm->rank;
    for (int b = sum->published; b < sum->n_buckets; b++)
        publish_bucket(sum, b);
    sum->published = sum->n_buckets;
    for (; sum->next_to_sum < sum->n_buckets; sum->next_to_sum++) {
        nni_shm_wait_all(sum->comm, sum->flags, sum->next_to_sum, sum->step,
                         "gradient allreduce");
        sum_my_slice(sum, sum->next_to_sum);
    }
    if (sum->leaders)
        between_nodes_finish(sum);
    atomic_store_explicit(&sum->flags[rank][FLAG_SUMMED(sum)], sum->step, memory_order_release);
    /* With owned ranges no rank writes another's buffer, and this rank's gradients are its
     * own: the caller's wait before the next step's backward (the shared update's) keeps
     * the buffers until every rank has read them. */
    if (!sum->owned)
        nni_shm_wait_all(sum->comm, sum->flags, FLAG_SUMMED(sum), sum->step,
                         "gradient allreduce");
}

void nni_shared_sum_gather(nni_shared_sum *sum)
{
    if (!sum->owned)
        return;
    const int rank = sum->comm->rank;
    /* A rank's own range of its buffer is unused: the sums go there for the others. */
    memcpy(sum->buffers[rank] + sum->owned[rank], sum->grads + sum->owned[rank],
           (size_t)(sum->owned[rank + 1] - sum->owned[rank]) * sizeof(float));
    atomic_store_explicit(&sum->flags[rank][FLAG_GATHERED(sum)], sum->step,
                          memory_order_release);
    nni_shm_wait_all(sum->comm, sum->flags, FLAG_GATHERED(sum), sum->step, "gradient gather");
    for (int r = 0; r < sum->comm->size; r++)
        if (r != rank && sum->owned[r + 1] > sum->owned[r])
            memcpy(sum->grads + sum->owned[r], sum->buffers[r] + sum->owned[r],
                   (size_t)(sum->owned[r + 1] - sum->owned[r]) * sizeof(float));
    memcpy(sum->grads + sum->common_from, sum->common,
           (size_t)(sum->floats - sum->common_from) * sizeof(float));
}

/* Gradient sums through memory shared by the ranks of one node (see shared_sum.h).
 *
 * The mapping is a POSIX shared-memory object that rank 0 creates, every rank maps, and
 * rank 0 unlinks as soon as all have it: the memory goes with the last process, however
 * the job ends. It holds one block of flags per rank, then one gradient buffer per rank:
 *
 *   flags of rank r:  published[b] (the step that last published bucket b), summed (the
 *                     step whose slices rank r last finished summing); a rank writes only its
 *                     own block, each on its own cache lines
 *   buffer of rank r: the gradients, page-aligned
 *
 * Steps are numbered from 1 and every rank counts them the same way, so "published[b] ==
 * step" means "final for this step". A rank starts the next step's backward, which writes
 * its buffer, only after every rank's `summed` has reached this step, and no rank touches
 * another's buffer after setting its own `summed`. */
#include "shared_sum.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/threads.h"
#include "dist_internal.h"

#define CACHE_LINE 64
#define PAGE 4096
/* Floats summed per block: the partial sums stay in L1 while each buffer is read. */
#define SUM_BLOCK 1024
/* A slice at least this large is summed by the rank's whole thread team. */
#define SUM_PARALLEL_FLOATS ((int64_t)1 << 16)

typedef _Atomic uint64_t flag;

struct nn_shared_sum {
    const nn_comm *comm;
    int n_buckets;
    int64_t *bounds;     /* bucket b: [bounds[2b], bounds[2b + 1]) */
    void *base;
    size_t bytes;
    flag **flags;        /* flags[r][b]: published; flags[r][n_buckets]: summed */
    float **buffers;     /* buffers[r] */
    uint64_t step;
    int published;       /* buckets this rank published this step */
    int next_to_sum;     /* buckets before it have had this rank's slice summed */
};

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static size_t flag_block_bytes(int n_buckets)
{
    return round_up((size_t)(n_buckets + 1) * sizeof(flag), CACHE_LINE);
}

/* Rank 0 creates the object and maps it; the others open the name rank 0 sends. Returns 0
 * or an errno value. */
static int map_shared(nn_shared_sum *sum, const nn_comm *comm, char *name, size_t name_size)
{
    int fd;
    if (comm->rank == 0) {
        static int made;
        snprintf(name, name_size, "/nntrain-%ld-%d", (long)getpid(), made++);
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0)
            return errno;
        /* Allocate every page now: a full /dev/shm then fails here, not as a SIGBUS in the
         * middle of training. */
        int error = ftruncate(fd, (off_t)sum->bytes) ? errno
                                                      : posix_fallocate(fd, 0, (off_t)sum->bytes);
        if (error) {
            close(fd);
            shm_unlink(name);
            return error;
        }
    } else {
        fd = shm_open(name, O_RDWR, 0600);
        if (fd < 0)
            return errno;
    }
    sum->base = mmap(NULL, sum->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int error = sum->base == MAP_FAILED ? errno : 0;
    close(fd);
    if (error) {
        sum->base = NULL;
        if (comm->rank == 0)
            shm_unlink(name);
    }
    return error;
}

nn_status nn_shared_sum_create(const nn_comm *comm, int64_t floats, int n_buckets,
                               const int64_t *bounds, nn_shared_sum **out, char *why,
                               size_t why_size, nn_error *err)
{
    *out = NULL;
    MPI_Comm node;
    int node_size = 0;
    MPI_Comm_split_type(comm->comm, MPI_COMM_TYPE_SHARED, comm->rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_size);
    MPI_Comm_free(&node);
    /* Every rank sees the same answer: its node holds the whole group or it does not. */
    if (node_size != comm->size) {
        snprintf(why, why_size, "the ranks are on more than one node");
        return NN_OK;
    }
    nn_shared_sum *sum = calloc(1, sizeof *sum);
    if (sum) {
        sum->bounds = malloc((size_t)n_buckets * 2 * sizeof *sum->bounds);
        sum->flags = calloc((size_t)comm->size, sizeof *sum->flags);
        sum->buffers = calloc((size_t)comm->size, sizeof *sum->buffers);
    }
    if (!sum || !sum->bounds || !sum->flags || !sum->buffers) {
        nn_shared_sum_free(sum);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    sum->comm = comm;
    sum->n_buckets = n_buckets;
    memcpy(sum->bounds, bounds, (size_t)n_buckets * 2 * sizeof *bounds);
    const size_t flags_bytes = round_up((size_t)comm->size * flag_block_bytes(n_buckets), PAGE);
    const size_t buffer_bytes = round_up((size_t)floats * sizeof(float), PAGE);
    sum->bytes = flags_bytes + (size_t)comm->size * buffer_bytes;

    /* Rank 0 sends the name, or an empty one when it could not make the object (it says
     * why; the object is already gone then). */
    char name[64] = "";
    int error = comm->rank == 0 ? map_shared(sum, comm, name, sizeof name) : 0;
    if (error)
        name[0] = '\0';
    nn_comm_broadcast(comm, name, sizeof name, 0);
    if (comm->rank != 0)
        error = name[0] ? map_shared(sum, comm, name, sizeof name) : EIO;
    int failed = error != 0;
    nn_comm_max_int(comm, &failed);
    if (comm->rank == 0 && name[0])
        shm_unlink(name);
    if (failed) {
        snprintf(why, why_size, "shared memory (/dev/shm) unavailable: %s",
                 error ? strerror(error) : "another rank could not map it");
        nn_shared_sum_free(sum);
        return NN_OK;
    }
    for (int r = 0; r < comm->size; r++) {
        sum->flags[r] = (flag *)((char *)sum->base + (size_t)r * flag_block_bytes(n_buckets));
        sum->buffers[r] = (float *)((char *)sum->base + flags_bytes + (size_t)r * buffer_bytes);
    }
    *out = sum;
    return NN_OK;
}

void nn_shared_sum_free(nn_shared_sum *sum)
{
    if (!sum)
        return;
    if (sum->base)
        munmap(sum->base, sum->bytes);
    free(sum->bounds);
    free(sum->flags);
    free(sum->buffers);
    free(sum);
}

float *nn_shared_sum_buffer(const nn_shared_sum *sum)
{
    return sum->buffers[sum->comm->rank];
}

void nn_shared_sum_begin(nn_shared_sum *sum)
{
    sum->step++;
    sum->published = 0;
    sum->next_to_sum = 0;
}

/* The first rank whose flag `index` has not reached this step, or -1 when all have. */
static int first_behind(const nn_shared_sum *sum, int index)
{
    for (int r = 0; r < sum->comm->size; r++)
        if (atomic_load_explicit(&sum->flags[r][index], memory_order_acquire) != sum->step)
            return r;
    return -1;
}

/* Waits until every rank's flag `index` reaches this step. Spins (the other ranks are
 * normally on other cores and arrive within microseconds), yielding the core when it takes
 * longer, in case ranks share cores. */
static void wait_for_all(const nn_shared_sum *sum, int index)
{
    if (first_behind(sum, index) < 0)
        return;
    double start = nn_watchdog_now();
    for (long spins = 1;; spins++) {
        if (first_behind(sum, index) < 0)
            return;
        if (spins < 256)
            continue;
        sched_yield();
        if (spins % 1024 != 0 || nn_watchdog_now() - start < nn_watchdog_timeout())
            continue;
        char missing[512] = "";
        size_t used = 0;
        for (int r = 0; r < sum->comm->size && used < sizeof missing - 16; r++)
            if (atomic_load_explicit(&sum->flags[r][index], memory_order_acquire) != sum->step)
                used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d",
                                         used ? ", " : "", r);
        nn_watchdog_give_up(sum->comm, "gradient allreduce", missing);
    }
}

/* Sums [first, end) over every rank's buffer, in rank order, into every buffer. */
static void sum_range(const nn_shared_sum *sum, int64_t first, int64_t end)
{
    const int size = sum->comm->size;
    float *const *buffers = sum->buffers;
    const int64_t blocks = (end - first + SUM_BLOCK - 1) / SUM_BLOCK;
    const int threads = end - first >= SUM_PARALLEL_FLOATS ? nn_threads() : 1;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t k = 0; k < blocks; k++) {
        const int64_t at = first + k * SUM_BLOCK;
        const int64_t n = end - at < SUM_BLOCK ? end - at : SUM_BLOCK;
        float total[SUM_BLOCK];
        memcpy(total, buffers[0] + at, (size_t)n * sizeof(float));
        for (int r = 1; r < size; r++) {
            const float *restrict x = buffers[r] + at;
            for (int64_t i = 0; i < n; i++)
                total[i] += x[i];
        }
        for (int r = 0; r < size; r++)
            memcpy(buffers[r] + at, total, (size_t)n * sizeof(float));
    }
}

/* This rank's slice of bucket b: the bucket cut into as many equal parts as ranks. */
static void sum_my_slice(const nn_shared_sum *sum, int b)
{
    const int64_t start = sum->bounds[2 * b], length = sum->bounds[2 * b + 1] - start;
    const int rank = sum->comm->rank, size = sum->comm->size;
    sum_range(sum, start + length * rank / size, start + length * (rank + 1) / size);
}

void nn_shared_sum_publish(nn_shared_sum *sum, int b)
{
    atomic_store_explicit(&sum->flags[sum->comm->rank][b], sum->step, memory_order_release);
    sum->published = b + 1;
    while (sum->next_to_sum < sum->published && first_behind(sum, sum->next_to_sum) < 0)
        sum_my_slice(sum, sum->next_to_sum++);
}

void nn_shared_sum_finish(nn_shared_sum *sum)
{
    const int rank = sum->comm->rank;
    for (int b = sum->published; b < sum->n_buckets; b++)
        atomic_store_explicit(&sum->flags[rank][b], sum->step, memory_order_release);
    sum->published = sum->n_buckets;
    for (; sum->next_to_sum < sum->n_buckets; sum->next_to_sum++) {
        wait_for_all(sum, sum->next_to_sum);
        sum_my_slice(sum, sum->next_to_sum);
    }
    atomic_store_explicit(&sum->flags[rank][sum->n_buckets], sum->step, memory_order_release);
    wait_for_all(sum, sum->n_buckets);
}

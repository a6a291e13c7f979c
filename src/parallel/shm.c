/* Group shared memory and the waits on its flags (see shm.h).
 *
 * The mapping is a POSIX shared-memory object that rank 0 creates, every rank maps, and
 * rank 0 unlinks as soon as all have it. */
#include "core/clock.h"
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "node_group.h"
#include "watchdog.h"

/* Rank 0 creates the object and maps it; the others open the name rank 0 sends. Returns 0
 * or an errno value. */
static int map_object(const nn_comm *comm, size_t bytes, char *name, size_t name_size,
                      void **base)
{
    int fd;
    *base = NULL;
    if (comm->rank == 0) {
        static int made;
        snprintf(name, name_size, "/nntrain-%ld-%d", (long)getpid(), made++);
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0)
            return errno;
        /* Allocate every page now: a full /dev/shm then fails here, not as a SIGBUS in the
         * middle of training. */
        int error = ftruncate(fd, (off_t)bytes) ? errno : posix_fallocate(fd, 0, (off_t)bytes);
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
    void *mapped = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int error = mapped == MAP_FAILED ? errno : 0;
    close(fd);
    if (error) {
        if (comm->rank == 0)
            shm_unlink(name);
        return error;
    }
    *base = mapped;
    return 0;
}

void *nni_shm_map(const nn_comm *comm, size_t bytes, char *why, size_t why_size)
{
    nn_comm node;
    nn_error err;
    if (nni_node_split(comm, &node, &err)) {
        snprintf(why, why_size, "%s", err.msg);
        return NULL;
    }
    const int node_size = node.size;
    nn_comm_free(&node);
    /* Every rank sees the same answer: its node holds the whole group or it does not. */
    if (node_size != comm->size) {
        int simulated = 0;
        nni_node_simulated_ranks(&simulated, &err);
        snprintf(why, why_size, "the ranks are on more than one node%s",
                 simulated ? " (simulated: NN_TEST_RANKS_PER_NODE)" : "");
        return NULL;
    }
    /* Rank 0 sends the name, or an empty one when it could not make the object (it says
     * why; the object is already gone then). */
    char name[64] = "";
    void *base = NULL;
    int error = comm->rank == 0 ? map_object(comm, bytes, name, sizeof name, &base) : 0;
    if (error)
        name[0] = '\0';
    nn_comm_broadcast(comm, name, sizeof name, 0);
    if (comm->rank != 0)
        error = name[0] ? map_object(comm, bytes, name, sizeof name, &base) : EIO;
    int failed = error != 0;
    nn_comm_max_int(comm, &failed);
    if (comm->rank == 0 && name[0])
        shm_unlink(name);
    if (failed) {
        snprintf(why, why_size, "shared memory (/dev/shm) unavailable: %s",
                 error ? strerror(error) : "another rank could not map it");
        if (base)
            munmap(base, bytes);
        return NULL;
    }
    return base;
}

/* Copies with non-temporal stores: the destination is read by other ranks, not by this
 * one, so it need not displace this core's cache. Whole aligned vectors are streamed, the
 * unaligned head and the tail copied plainly; bytes are copied as they are (no arithmetic). */
static void stream_copy_bytes(void *dst, const void *src, size_t bytes)
{
#if defined(__AVX512F__)
    enum { ALIGN = 64 };
#elif defined(__AVX__)
    enum { ALIGN = 32 };
#elif defined(__SSE2__)
    enum { ALIGN = 16 }; /* every x86-64 CPU: a portable build streams too */
#else
    enum { ALIGN = 1 };
#endif
    char *d = dst;
    const char *s = src;
    size_t head = (ALIGN - (uintptr_t)d % ALIGN) % ALIGN;
    if (head > bytes)
        head = bytes;
    memcpy(d, s, head); /* up to the first aligned store */
    size_t i = head;
#if defined(__AVX512F__)
    for (; i + ALIGN <= bytes; i += ALIGN)
        _mm512_stream_si512((void *)(d + i), _mm512_loadu_si512(s + i));
#elif defined(__AVX__)
    for (; i + ALIGN <= bytes; i += ALIGN)
        _mm256_stream_si256((__m256i *)(d + i), _mm256_loadu_si256((const __m256i *)(s + i)));
#elif defined(__SSE2__)
    for (; i + ALIGN <= bytes; i += ALIGN)
        _mm_stream_si128((__m128i *)(d + i), _mm_loadu_si128((const __m128i *)(s + i)));
#endif
    memcpy(d + i, s + i, bytes - i);
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

void nni_shm_stream_copy(float *dst, const float *src, int64_t n)
{
    stream_copy_bytes(dst, src, (size_t)n * sizeof *dst);
}

void nni_shm_stream_copy_int64(int64_t *dst, const int64_t *src, int64_t n)
{
    stream_copy_bytes(dst, src, (size_t)n * sizeof *dst);
}

/* The first rank of [from, to) whose flag has not reached the step, or -1 when all have. */
static int first_behind(nni_shm_flag *const *flags, int from, int to, int index, uint64_t step)
{
    for (int r = from; r < to; r++)
        if (atomic_load_explicit(&flags[r][index], memory_order_acquire) != step)
            return r;
    return -1;
}

int nni_shm_all_arrived(const nn_comm *comm, nni_shm_flag *const *flags, int index,
                        uint64_t step)
{
    return first_behind(flags, 0, comm->size, index, step) < 0;
}

/* Waits for the flags of ranks [from, to). */
static void wait_ranks(const nn_comm *comm, nni_shm_flag *const *flags, int from, int to,
                       int index, uint64_t step, const char *what)
{
    if (first_behind(flags, from, to, index, step) < 0)
        return;
    double start = nni_clock_seconds();
    for (long spins = 1;; spins++) {
        if (first_behind(flags, from, to, index, step) < 0)
            return;
        if (spins < 256)
            continue;
        sched_yield();
        if (spins % 1024 != 0 || nni_clock_seconds() - start < nni_watchdog_timeout())
            continue;
        char missing[512] = "";
        size_t used = 0;
        for (int r = from; r < to && used < sizeof missing - 16; r++)
            if (atomic_load_explicit(&flags[r][index], memory_order_acquire) != step)
                used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d",
                                         used ? ", " : "", r);
        nni_watchdog_give_up(comm, what, missing);
    }
}

void nni_shm_wait_all(const nn_comm *comm, nni_shm_flag *const *flags, int index, uint64_t step,
                      const char *what)
{
    wait_ranks(comm, flags, 0, comm->size, index, step, what);
}

void nni_shm_wait_rank(const nn_comm *comm, nni_shm_flag *const *flags, int rank, int index,
                       uint64_t step, const char *what)
{
    wait_ranks(comm, flags, rank, rank + 1, index, step, what);
}

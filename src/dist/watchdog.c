/* The hang watchdog (see include/nn/dist.h). Each rank tells rank 0 which step it has
 * reached with a tiny nonblocking message before the step's collective; when a wait exceeds
 * the timeout, rank 0 lists the ranks whose latest notice is behind its own step, and every
 * rank that times out aborts the job rather than waiting until the allocation ends. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/dist.h"

#define NOTICE_TAG 7301
#define NOTICE_SLOTS 64

static double timeout_seconds = 300;
static int64_t notices[NOTICE_SLOTS][2]; /* send buffers: must outlive the freed requests */
static int next_slot;
static int64_t *latest_step; /* rank 0: latest step each rank announced */
static int latest_size;
static int64_t current_epoch, current_step;

void nn_watchdog_configure(double seconds)
{
    if (seconds > 0)
        timeout_seconds = seconds;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t encode(int epoch, int64_t step)
{
    return ((int64_t)epoch << 40) | step;
}

static void drain_notices(const nn_comm *comm)
{
    if (!latest_step || latest_size != comm->size) {
        free(latest_step);
        latest_step = calloc((size_t)comm->size, sizeof *latest_step);
        latest_size = comm->size;
        if (!latest_step)
            return;
        for (int r = 0; r < comm->size; r++)
            latest_step[r] = -1;
    }
    for (;;) {
        int pending = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, NOTICE_TAG, comm->comm, &pending, &status);
        if (!pending)
            break;
        int64_t notice[2];
        MPI_Recv(notice, 2, MPI_INT64_T, status.MPI_SOURCE, NOTICE_TAG, comm->comm,
                 MPI_STATUS_IGNORE);
        int64_t code = encode((int)notice[0], notice[1]);
        if (code > latest_step[status.MPI_SOURCE])
            latest_step[status.MPI_SOURCE] = code;
    }
}

void nn_watchdog_arrive(const nn_comm *comm, int epoch, int64_t step)
{
    current_epoch = epoch;
    current_step = step;
    if (comm->size == 1)
        return;
    if (comm->rank == 0) {
        drain_notices(comm);
        if (latest_step)
            latest_step[0] = encode(epoch, step);
        return;
    }
    int64_t *notice = notices[next_slot];
    next_slot = (next_slot + 1) % NOTICE_SLOTS;
    notice[0] = epoch;
    notice[1] = step;
    MPI_Request request;
    MPI_Isend(notice, 2, MPI_INT64_T, 0, NOTICE_TAG, comm->comm, &request);
    MPI_Request_free(&request);
}

void nn_comm_wait(const nn_comm *comm, int count, MPI_Request *requests, const char *what)
{
    if (count == 0)
        return;
    double start = now();
    for (long spins = 0;; spins++) {
        int done = 0;
        MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (done)
            return;
        if (spins % 1024 != 1023)
            continue;
        if (comm->rank == 0 && comm->size > 1)
            drain_notices(comm);
        if (now() - start < timeout_seconds)
            continue;
        char missing[512] = "";
        if (comm->rank == 0 && latest_step) {
            int64_t here = encode((int)current_epoch, current_step);
            size_t used = 0;
            for (int r = 1; r < comm->size && used < sizeof missing - 16; r++)
                if (latest_step[r] < here)
                    used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d",
                                             used ? ", " : "", r);
        }
        const char *detail = missing[0] ? "; ranks that have not arrived: "
                             : comm->rank == 0 && comm->size > 1
                                 ? "; every rank arrived, so one stopped responding inside the "
                                   "collective or the network failed"
                                 : "";
        fprintf(stderr, "rank %d: %s at epoch %lld, step %lld has not completed after %.0f s%s%s;"
                        " aborting the job (train.watchdog_seconds sets the limit)\n",
                comm->world_rank, what, (long long)current_epoch + 1, (long long)current_step + 1,
                timeout_seconds, detail, missing);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

/* The hang watchdog (see watchdog.h). Each rank tells rank 0 which step it has
 * reached with a tiny nonblocking message before the step's collective; when a wait exceeds
 * the timeout, rank 0 lists the ranks whose latest notice is behind its own step, and every
 * rank that times out aborts the job rather than waiting until the allocation ends. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "watchdog.h"

#define NOTICE_TAG 7301
#define NOTICE_AFTER_SECONDS 1.0
#define MAX_COMMS 16

static double timeout_seconds = 300;
static int64_t current_epoch, current_step;

/* Collectives entered so far, per communicator: ranks that entered the same number are at
 * the same collective. */
typedef struct comm_count {
    MPI_Comm comm;
    int64_t entered;
} comm_count;
static comm_count counts[MAX_COMMS];

static int64_t *count_of(MPI_Comm comm)
{
    for (int i = 0; i < MAX_COMMS; i++)
        if (counts[i].comm == comm)
            return &counts[i].entered;
    for (int i = 0; i < MAX_COMMS; i++)
        if (counts[i].comm == MPI_COMM_NULL || counts[i].comm == 0) {
            counts[i].comm = comm;
            counts[i].entered = 0;
            return &counts[i].entered;
        }
    return &counts[0].entered; /* more communicators than slots: names may be imprecise */
}

void nni_watchdog_configure(double seconds)
{
    if (seconds > 0)
        timeout_seconds = seconds;
}

void nni_watchdog_arrive(const nn_comm *comm, int epoch, int64_t step)
{
    (void)comm;
    current_epoch = epoch;
    current_step = step;
}

double nni_watchdog_timeout(void)
{
    return timeout_seconds;
}

/* Rank 0: the collective number each rank reported waiting in (-1: none yet). */
static void drain_notices(const nn_comm *comm, int64_t *waiting_in)
{
    for (;;) {
        int pending = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, NOTICE_TAG, nni_comm_mpi(comm), &pending, &status);
        if (!pending)
            break;
        int64_t entered;
        MPI_Recv(&entered, 1, MPI_INT64_T, status.MPI_SOURCE, NOTICE_TAG, nni_comm_mpi(comm),
                 MPI_STATUS_IGNORE);
        if (waiting_in && entered > waiting_in[status.MPI_SOURCE])
            waiting_in[status.MPI_SOURCE] = entered;
    }
}

/* Waits for the requests. Nothing extra happens while collectives complete promptly; a rank
 * that has waited a second tells rank 0 which collective it is waiting in, so that on a
 * timeout rank 0 can name the ranks that never got there. */
void nni_comm_wait(const nn_comm *comm, int count, MPI_Request *requests, const char *what)
{
    if (count == 0)
        return;
    int64_t *entered = count_of(nni_comm_mpi(comm));
    int64_t mine = ++*entered;
    double start = nni_clock_seconds();
    int noticed = 0;
    int64_t *waiting_in = NULL;
    static int64_t notice; /* the send buffer must outlive the freed request */
    for (long spins = 0;; spins++) {
        int done = 0;
        MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (done)
            break;
        if (spins % 1024 != 1023)
            continue;
        double waited = nni_clock_seconds() - start;
        if (comm->size > 1 && waited > NOTICE_AFTER_SECONDS) {
            if (comm->rank != 0 && !noticed) {
                MPI_Request request;
                notice = mine;
                MPI_Isend(&notice, 1, MPI_INT64_T, 0, NOTICE_TAG, nni_comm_mpi(comm), &request);
                MPI_Request_free(&request);
                noticed = 1;
            } else if (comm->rank == 0) {
                if (!waiting_in) {
                    waiting_in = malloc((size_t)comm->size * sizeof *waiting_in);
                    for (int r = 0; waiting_in && r < comm->size; r++)
                        waiting_in[r] = -1;
                }
                drain_notices(comm, waiting_in);
            }
        }
        if (waited < timeout_seconds)
            continue;
        char missing[512] = "";
        if (comm->rank == 0 && waiting_in) {
            size_t used = 0;
            for (int r = 1; r < comm->size && used < sizeof missing - 16; r++)
                if (waiting_in[r] < mine)
                    used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d",
                                             used ? ", " : "", r);
        }
        nni_watchdog_give_up(comm, what, missing);
    }
    /* Notices that arrived after this collective completed are stale; drop them. */
    if (comm->rank == 0 && comm->size > 1 && noticed == 0 &&
        nni_clock_seconds() - start > NOTICE_AFTER_SECONDS)
        drain_notices(comm, NULL);
    free(waiting_in);
}

void nni_watchdog_give_up(const nn_comm *comm, const char *what, const char *missing)
{
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
    abort(); /* MPI_Abort does not return */
}

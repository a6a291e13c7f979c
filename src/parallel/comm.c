/* Communicators and collectives (see include/nn/parallel.h). Sums over large buffers are cut
 * into pieces of at most 16 MiB: Open MPI's allreduce bandwidth drops sharply above that. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "parallel/watchdog.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PIECE_FLOATS ((int64_t)4 << 20)

/* The group behind an MPI communicator as this rank sees it; `parent` gives the place in
 * the world (NULL: the group is the world). */
static void set_group(nn_comm *out, MPI_Comm group, const nn_comm *parent)
{
    memset(out, 0, sizeof *out);
    nni_comm_set_mpi(out, group);
    MPI_Comm_rank(group, &out->rank);
    MPI_Comm_size(group, &out->size);
    out->world_rank = parent ? parent->world_rank : out->rank;
    out->world_size = parent ? parent->world_size : out->size;
}

/* Read before MPI_Init: Open MPI's singleton start sets PMIX_RANK in the process itself. */
static int launched_state = -1;

int nn_parallel_launched(void)
{
    if (launched_state < 0)
        launched_state = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") ||
                         getenv("PMI_RANK") || getenv("PMIX_RANK");
    return launched_state;
}

int nn_parallel_launcher_rank(void)
{
    static const char *const names[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                        "SLURM_PROCID"};
    if (!nn_parallel_launched())
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *value = getenv(names[i]);
        if (value && *value)
            return atoi(value);
    }
    return 0;
}

void nn_parallel_init_single(nn_comm *world)
{
    memset(world, 0, sizeof *world);
    nni_comm_set_mpi(world, MPI_COMM_SELF);
    world->size = world->world_size = 1;
}

nn_status nn_parallel_init(int *argc, char ***argv, nn_comm *world, nn_error *err)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    nn_parallel_launched();
    if (!initialized) {
        /* Open MPI's nonblocking collectives (libnbc) choose the allreduce algorithm by
         * message size; for gradient buckets (a few hundred KiB and up) the ring is the
         * bandwidth-optimal one, and an MLP step on 2 ranks ran about 3% faster with it
         * (tests/bench/run_dp_bench.sh). A value the user set wins; other MPIs ignore it. */
        setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
        int provided = 0;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return nn_fail(err, NN_ERR_OTHER, "MPI initialization failed");
    }
    /* Errors in collectives come back as codes so a failing rank can report and abort. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    set_group(world, MPI_COMM_WORLD, NULL);
    return NN_OK;
}

void nn_parallel_finalize(void)
{
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized)
        MPI_Finalize();
}

void nn_parallel_abort(int code)
{
    MPI_Abort(MPI_COMM_WORLD, code);
}

nn_status nn_comm_split(const nn_comm *parent, int color, nn_comm *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    MPI_Comm group;
    if (MPI_Comm_split(nni_comm_mpi(parent), color, parent->rank, &group) != MPI_SUCCESS)
        return nn_fail(err, NN_ERR_OTHER, "MPI_Comm_split failed");
    set_group(out, group, parent);
    return NN_OK;
}

void nn_comm_free(nn_comm *comm)
{
    MPI_Comm group = nni_comm_mpi(comm);
    if (group != MPI_COMM_WORLD && group != MPI_COMM_SELF && group != MPI_COMM_NULL) {
        MPI_Comm_free(&group);
        nni_comm_set_mpi(comm, group);
    }
}

/* Every collective is nonblocking plus nni_comm_wait, so the watchdog covers them all. */

void nn_comm_sum_floats(const nn_comm *comm, float *data, int64_t count)
{
    if (comm->size == 1)
        return;
    for (int64_t done = 0; done < count; done += MAX_PIECE_FLOATS) {
        int64_t piece = count - done < MAX_PIECE_FLOATS ? count - done : MAX_PIECE_FLOATS;
        MPI_Request request;
        MPI_Iallreduce(MPI_IN_PLACE, data + done, (int)piece, MPI_FLOAT, MPI_SUM,
                       nni_comm_mpi(comm), &request);
        nni_comm_wait(comm, 1, &request, "allreduce");
    }
}

void nn_comm_sum_doubles(const nn_comm *comm, double *data, int64_t count)
{
    if (comm->size == 1)
        return;
    MPI_Request request;
    MPI_Iallreduce(MPI_IN_PLACE, data, (int)count, MPI_DOUBLE, MPI_SUM, nni_comm_mpi(comm),
                   &request);
    nni_comm_wait(comm, 1, &request, "allreduce");
}

void nn_comm_max_int(const nn_comm *comm, int *value)
{
    if (comm->size == 1)
        return;
    MPI_Request request;
    MPI_Iallreduce(MPI_IN_PLACE, value, 1, MPI_INT, MPI_MAX, nni_comm_mpi(comm), &request);
    nni_comm_wait(comm, 1, &request, "allreduce");
}

void nn_comm_broadcast(const nn_comm *comm, void *data, int64_t bytes, int root)
{
    if (comm->size == 1)
        return;
    MPI_Request request;
    MPI_Ibcast(data, (int)bytes, MPI_BYTE, root, nni_comm_mpi(comm), &request);
    nni_comm_wait(comm, 1, &request, "broadcast");
}

void nn_comm_barrier(const nn_comm *comm)
{
    if (comm->size == 1)
        return;
    MPI_Request request;
    MPI_Ibarrier(nni_comm_mpi(comm), &request);
    nni_comm_wait(comm, 1, &request, "barrier");
}

void nn_comm_share(const nn_comm *comm, int64_t total, int64_t *first, int64_t *count)
{
    int64_t base = total / comm->size, extra = total % comm->size;
    *count = base + (comm->rank < extra ? 1 : 0);
    *first = comm->rank * base + (comm->rank < extra ? comm->rank : extra);
}

/* Data parallelism over MPI ranks: the communicator of a training group (the world, or a
 * sub-communicator per search trial) and the collectives a program around the trainer
 * needs. A group of one rank takes the same code path with the collectives reduced to
 * no-ops. How the trainer sums gradients (buckets overlapped with backward, node shared
 * memory, the shared optimizer update, the hang watchdog) is src/parallel's own. */
#ifndef NN_PARALLEL_H
#define NN_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/error.h"

/* A group of ranks. The MPI communicator behind it is held in `mpi_handle`, which only
 * src/parallel reads (parallel_internal.h), so that this header needs no <mpi.h>. */
typedef struct nn_comm {
    int rank, size;             /* this rank's place in the group, and the group's size */
    int world_rank, world_size; /* the same in the whole job */
    _Alignas(8) unsigned char mpi_handle[8];
} nn_comm;

/* MPI_Init (singleton init when started without a launcher) and the world group. */
nn_status nn_parallel_init(int *argc, char ***argv, nn_comm *world, nn_error *err);
/* MPI_Finalize, when MPI was started. */
void nn_parallel_finalize(void);
/* The world of a process on its own, without starting MPI (which costs a fraction of a
 * second): rank 0 of 1, for work that needs no communication (reading checkpoints,
 * evaluating, importing). The collectives above are then no-ops; training and searches
 * need nn_parallel_init. */
void nn_parallel_init_single(nn_comm *world);
/* 1 when a launcher (mpirun, srun) started this process as a rank of a job, 0 when it was
 * started on its own (where MPI_Init makes a singleton). */
int nn_parallel_launched(void);
/* This process's rank in the job as the launcher's environment gives it, before MPI starts
 * (0 when not launched or when the launcher does not say). */
int nn_parallel_launcher_rank(void);
/* Ends every rank of the job promptly with the given exit code. */
void nn_parallel_abort(int code);

/* Splits `parent` into groups by color (ranks keep their order). */
nn_status nn_comm_split(const nn_comm *parent, int color, nn_comm *out, nn_error *err);
void nn_comm_free(nn_comm *comm);

/* In-place sums over the group. */
void nn_comm_sum_floats(const nn_comm *comm, float *data, int64_t count);
void nn_comm_sum_doubles(const nn_comm *comm, double *data, int64_t count);
void nn_comm_max_int(const nn_comm *comm, int *value);
void nn_comm_broadcast(const nn_comm *comm, void *data, int64_t bytes, int root);
void nn_comm_barrier(const nn_comm *comm);

/* This rank's share [first, first + count) of `total` items split as evenly as possible
 * (the first total % size ranks take one more). */
void nn_comm_share(const nn_comm *comm, int64_t total, int64_t *first, int64_t *count);

#endif

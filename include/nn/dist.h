/* Distribution over MPI ranks: the communicator of a training group (the world, or a
 * sub-communicator per search trial) and the collective operations the trainer needs.
 * A group of one rank takes the same code path with the collectives reduced to no-ops. */
#ifndef NN_DIST_H
#define NN_DIST_H

#include <mpi.h>
#include <stdint.h>

#include "nn/error.h"

typedef struct nn_comm {
    MPI_Comm comm;
    int rank, size;
    int world_rank, world_size;
} nn_comm;

/* MPI_Init (singleton init when started without a launcher) and the world group. */
nn_status nn_dist_init(int *argc, char ***argv, nn_comm *world, nn_error *err);
void nn_dist_finalize(void);
/* Ends every rank of the job promptly with the given exit code. */
void nn_dist_abort(int code);

/* Split `parent` into groups of `group_size` consecutive ranks. */
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

/* What src/parallel's files and the few other internal users of raw MPI (the search's
 * control messages, the trainer's node layout) share: the MPI communicator behind an
 * nn_comm. */
#ifndef NN_PARALLEL_INTERNAL_H
#define NN_PARALLEL_INTERNAL_H

#include <mpi.h>
#include <string.h>

#include "nn/parallel.h"

_Static_assert(sizeof(MPI_Comm) <= sizeof(((nn_comm *)0)->mpi_handle) &&
                   _Alignof(MPI_Comm) <= 8,
               "nn_comm.mpi_handle must be able to hold an MPI_Comm");

/* The MPI communicator of a group (a copy of the handle; MPI_Comm is a handle type). */
static inline MPI_Comm nni_comm_mpi(const nn_comm *comm)
{
    MPI_Comm mpi;
    memcpy(&mpi, comm->mpi_handle, sizeof mpi);
    return mpi;
}

static inline void nni_comm_set_mpi(nn_comm *comm, MPI_Comm mpi)
{
    memcpy(comm->mpi_handle, &mpi, sizeof mpi);
}

#endif

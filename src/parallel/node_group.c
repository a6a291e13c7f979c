/* The ranks of a group per node and the nodes' leaders (see node_group.h). */
#include "node_group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parallel_internal.h"

#define SIMULATED_VARIABLE "NN_TEST_RANKS_PER_NODE"

nn_status nni_node_simulated_ranks(int *ranks_per_node, nn_error *err)
{
    *ranks_per_node = 0;
    const char *text = getenv(SIMULATED_VARIABLE);
    if (!text || !*text)
        return NN_OK;
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < 1 || value > 1 << 20)
        return nn_fail(err, NN_ERR_CONFIG, "%s: expected a whole number of ranks >= 1 (a "
                       "test-only setting that simulates nodes), got '%s'", SIMULATED_VARIABLE,
                       text);
    *ranks_per_node = (int)value;
    return NN_OK;
}

static void set_comm(nn_comm *out, MPI_Comm mpi, const nn_comm *group)
{
    memset(out, 0, sizeof *out);
    nni_comm_set_mpi(out, mpi);
    if (mpi != MPI_COMM_NULL) {
        MPI_Comm_rank(mpi, &out->rank);
        MPI_Comm_size(mpi, &out->size);
    }
    out->world_rank = group->world_rank;
    out->world_size = group->world_size;
}

nn_status nni_node_split(const nn_comm *group, nn_comm *node, nn_error *err)
{
    memset(node, 0, sizeof *node);
    int simulated = 0;
    nn_status st = nni_node_simulated_ranks(&simulated, err);
    if (st)
        return st;
    MPI_Comm real;
    if (MPI_Comm_split_type(nni_comm_mpi(group), MPI_COMM_TYPE_SHARED, group->rank,
                            MPI_INFO_NULL, &real) != MPI_SUCCESS)
        return nn_fail(err, NN_ERR_OTHER, "cannot find the ranks of this node "
                       "(MPI_Comm_split_type failed)");
    MPI_Comm mpi = real;
    if (simulated) {
        /* Consecutive world ranks, as a launcher fills nodes slot by slot. */
        int failed = MPI_Comm_split(real, group->world_rank / simulated, group->rank, &mpi) !=
                     MPI_SUCCESS;
        MPI_Comm_free(&real);
        if (failed)
            return nn_fail(err, NN_ERR_OTHER, "cannot split the ranks into simulated nodes "
                           "(MPI_Comm_split failed)");
    }
    set_comm(node, mpi, group);
    return NN_OK;
}

nn_status nni_node_group_open(const nn_comm *group, nni_node_group *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    nn_status st = nni_node_split(group, &out->node, err);
    if (st)
        return st;
    out->open = 1;
    MPI_Comm leaders;
    if (MPI_Comm_split(nni_comm_mpi(group), out->node.rank == 0 ? 0 : MPI_UNDEFINED,
                       group->rank, &leaders) != MPI_SUCCESS) {
        nni_node_group_close(out);
        return nn_fail(err, NN_ERR_OTHER, "cannot make the node leaders' group "
                       "(MPI_Comm_split failed)");
    }
    set_comm(&out->leaders, leaders, group);
    int nodes = out->leaders.size;
    nn_comm_broadcast(group, &nodes, sizeof nodes, 0); /* rank 0 leads its node */
    out->nodes = nodes;
    return NN_OK;
}

void nni_node_group_close(nni_node_group *group)
{
    if (group->open) {
        nn_comm_free(&group->leaders);
        nn_comm_free(&group->node);
    }
    memset(group, 0, sizeof *group);
}

/* Gradient sums through node shared memory (src/parallel/shared_sum.c), on real ranks: every
 * bucket's slices summed into every buffer, and owned ranges, where each rank's gradients
 * stay in its private memory and it sums only its own range. Values are small integers, so
 * every sum is exact and the expected totals are known. Checks, over several steps: with
 * owned ranges, a rank's private gradients hold the totals in its range and its own values
 * elsewhere, the common part's totals come back separately, writing the private gradients
 * right after the sum (as penalty terms do) changes no other rank's sums, and after
 * gathering the private gradients hold every total. With NN_TEST_RANKS_PER_NODE (nodes
 * simulated on one machine) the group spans nodes: each node sums in its shared memory and
 * the nodes' first ranks between the nodes (MPI_Iallreduce); every rank of every node must
 * then hold the group's totals, and owned ranges are refused. Run under mpirun with any
 * number of ranks. Exit status 0 when all hold. */
#include <stdio.h>
#include <stdlib.h>

#include "parallel/node_group.h"
#include "parallel/shared_sum.h"
#include "nn/parallel.h"

enum { FLOATS = 1003, COMMON_FROM = 1000, STEPS = 3 };

static const int64_t BOUNDS[] = {700, FLOATS, 300, 700, 0, 300}; /* bucket 0: the end */

static float value(int rank, int step, int64_t i)
{
    return (float)((rank + 1) * 3 + step * 5 + i % 11);
}

static float total(int size, int step, int64_t i)
{
    float sum = 0;
    for (int r = 0; r < size; r++)
        sum += value(r, step, i);
    return sum;
}

static int failures;

static void expect(int ok, const char *what, int rank, int64_t i, float got, float want)
{
    if (ok)
        return;
    if (failures++ < 5)
        fprintf(stderr, "sharedsum: rank %d: %s at %lld: %g, expected %g\n", rank, what,
                (long long)i, got, want);
}

/* One step: fill this rank's gradients, publish the buckets one by one, finish. */
static void run_step(nni_shared_sum *sum, float *grads, int rank, int step)
{
    for (int64_t i = 0; i < FLOATS; i++)
        grads[i] = value(rank, step, i);
    nni_shared_sum_begin(sum);
    for (int b = 0; b < 3; b++) {
        nni_shared_sum_publish(sum, b);
        nni_shared_sum_progress(sum);
    }
    nni_shared_sum_finish(sum);
}

/* The group on several nodes: every rank's buffer must hold the group's totals. */
static int between_nodes(const nn_comm *comm)
{
    nn_error err = {0};
    nni_node_group nodes;
    if (nni_node_group_open(comm, &nodes, &err)) {
        fprintf(stderr, "sharedsum: %s\n", err.msg);
        return 2;
    }
    char why[128] = "";
    nni_shared_sum *sum = NULL;
    if (nni_shared_sum_create(&nodes.node, &nodes.leaders, FLOATS, 3, BOUNDS, &sum, why,
                              sizeof why, &err) || !sum) {
        fprintf(stderr, "sharedsum: no shared sum on the node: %s%s\n", err.msg, why);
        return 2;
    }
    float *buffer = nni_shared_sum_buffer(sum);
    for (int step = 0; step < STEPS; step++) {
        run_step(sum, buffer, comm->rank, step);
        for (int64_t i = 0; i < FLOATS; i++)
            expect(buffer[i] == total(comm->size, step, i), "sum over nodes", comm->rank, i,
                   buffer[i], total(comm->size, step, i));
    }
    int64_t starts[2] = {0, COMMON_FROM};
    static float grads[FLOATS];
    expect(nni_shared_sum_own_ranges(sum, starts, COMMON_FROM, grads, &err) != NN_OK,
           "owned ranges accepted over nodes", comm->rank, 0, 0, 0);
    nn_comm_max_int(comm, &failures);
    if (comm->rank == 0)
        printf("sharedsum: %d ranks on %d nodes: %s\n", comm->size, nodes.nodes,
               failures ? "FAILED" : "sums agree");
    nni_shared_sum_free(sum);
    nni_node_group_close(&nodes);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    nn_comm comm;
    nn_error err = {0};
    if (nn_parallel_init(&argc, &argv, &comm, &err)) {
        fprintf(stderr, "sharedsum: %s\n", err.msg);
        return 2;
    }
    const int rank = comm.rank, size = comm.size;
    int simulated = 0;
    if (nni_node_simulated_ranks(&simulated, &err)) {
        fprintf(stderr, "sharedsum: %s\n", err.msg);
        return 2;
    }
    if (simulated && simulated < size) {
        const int status = between_nodes(&comm);
        nn_parallel_finalize();
        return status;
    }
    char why[128] = "";
    nni_shared_sum *sum = NULL;
    if (nni_shared_sum_create(&comm, NULL, FLOATS, 3, BOUNDS, &sum, why, sizeof why, &err) || !sum) {
        fprintf(stderr, "sharedsum: no shared sum: %s%s\n", err.msg, why);
        return 2;
    }
    float *buffer = nni_shared_sum_buffer(sum);

    /* Every bucket's slices, into every buffer. */
    for (int step = 0; step < STEPS; step++) {
        run_step(sum, buffer, rank, step);
        for (int64_t i = 0; i < FLOATS; i++)
            expect(buffer[i] == total(size, step, i), "sum", rank, i, buffer[i],
                   total(size, step, i));
        nn_comm_barrier(&comm);
    }

    /* Owned ranges: uneven, one of them empty when there are three ranks or more. */
    int64_t starts[64];
    for (int r = 0; r <= size; r++)
        starts[r] = r == size ? COMMON_FROM : r == 1 && size > 2 ? 0 : COMMON_FROM * r * r /
                                                                       (size * size);
    static float grads[FLOATS];
    if (nni_shared_sum_own_ranges(sum, starts, COMMON_FROM, grads, &err)) {
        fprintf(stderr, "sharedsum: %s\n", err.msg);
        return 2;
    }
    for (int step = 0; step < STEPS; step++) {
        run_step(sum, grads, rank, step);
        const float *common = nni_shared_sum_common(sum);
        for (int64_t i = 0; i < COMMON_FROM; i++) {
            const int mine = i >= starts[rank] && i < starts[rank + 1];
            const float want = mine ? total(size, step, i) : value(rank, step, i);
            expect(grads[i] == want, mine ? "owned sum" : "own value", rank, i, grads[i],
                   want);
        }
        for (int64_t i = COMMON_FROM; i < FLOATS; i++)
            expect(common[i - COMMON_FROM] == total(size, step, i), "common sum", rank, i,
                   common[i - COMMON_FROM], total(size, step, i));
        /* Another rank may still be summing: this rank's private gradients are its own. */
        if (step < STEPS - 1)
            for (int64_t i = 0; i < FLOATS; i++)
                if (i < starts[rank] || i >= starts[rank + 1])
                    grads[i] = -1000.0f;
        /* The caller's wait before publishing again (the shared update's). */
        nn_comm_barrier(&comm);
    }
    nni_shared_sum_gather(sum);
    for (int64_t i = 0; i < FLOATS; i++)
        expect(grads[i] == total(size, STEPS - 1, i), "gathered sum", rank, i, grads[i],
               total(size, STEPS - 1, i));

    nn_comm_max_int(&comm, &failures);
    nni_shared_sum_free(sum);
    nn_parallel_finalize();
    if (rank == 0)
        printf("sharedsum: %d ranks: %s\n", size, failures ? "FAILED" : "sums agree");
    return failures ? 1 : 0;
}

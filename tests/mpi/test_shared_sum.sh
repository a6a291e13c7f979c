# Gradient sums through node shared memory on 1 to 4 ranks: every bucket's slices into every
# buffer, and owned ranges (each rank sums only its own range) - see tests/mpi/sharedsum.c.
# Then the same group on several nodes, simulated on this machine (NN_TEST_RANKS_PER_NODE,
# test-only): 2 to 5 ranks as nodes of 1 and of 2 ranks (3 and 5 ranks: one node smaller),
# each node summing in its shared memory and the nodes' first ranks between the nodes.
set -euo pipefail
: "${NN_BINARY_DIR:?run through ctest}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for ranks in 1 2 3 4; do
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" \
        "$NN_BINARY_DIR/tests/sharedsum"
done
for ranks in 2 3 4 5; do
    for per_node in 1 2; do
        out=$(NN_TEST_RANKS_PER_NODE=$per_node mpirun --allow-run-as-root --oversubscribe \
                  --bind-to none -x NN_TEST_RANKS_PER_NODE -np "$ranks" "$NN_BINARY_DIR/tests/sharedsum")
        echo "$out"
        nodes=$(( (ranks + per_node - 1) / per_node ))
        [ "$nodes" = 1 ] || [[ "$out" == *"$ranks ranks on $nodes nodes: sums agree"* ]] || {
            echo "FAIL: $ranks ranks as nodes of $per_node did not sum over $nodes nodes" >&2
            exit 1; }
    done
done

# Gradient sums of a group on several nodes: within each node through its shared memory,
# then MPI_Iallreduce among the nodes' first ranks, then shared within the node. The nodes
# are simulated on this machine with the test-only NN_TEST_RANKS_PER_NODE (consecutive
# ranks per node), oversubscribed:
# - np=2 as 2 nodes x 1 rank: the same bits as the flat path (one node's shared memory, and
#   train.allreduce: mpi), parameters, optimizer slots and metrics, after 3 epochs: a sum of
#   two terms is the same in any order.
# - np=4 as 2 x 2: within 1e-6 (largest difference of each tensor over its largest value) of
#   the flat path at 4 ranks after 18 steps, the printed metrics equal. The order must
#   differ: one node adds the ranks in rank order, ((g0 + g1) + g2) + g3, two nodes add
#   (g0 + g1) + (g2 + g3). Measured: 4.4e-7 (an Adam slot), 3.9e-7 on the weights (LARS:
#   1.7e-7). The 2 x 2 result is the same bits with overlap on and off.
# - np=3 as 2 + 1: the same bits as one node of 3, since (g0 + g1) + g2 is the rank order.
# - The optimizer update is split over each node's ranks (Adam, and LARS, whose update reads
#   whole tensors), not over the group.
# - data.cache: node follows the simulated nodes (one copy per simulated node, filled and
#   changed by its first rank): the same bits as a copy per rank, label noise and shuffled
#   pixels included.
# - train.reproducible: bitwise stays the same bits as np=1 at 2 x 1 and 2 x 2 (its exact
#   sums go through MPI_Allreduce across nodes).
# - A bad NN_TEST_RANKS_PER_NODE is refused with exit 2.
source "$(dirname "$0")/../e2e/lib.sh"
ALL="--groups params,state,optim"
train() { # name np ranks-per-node(0: real nodes) args...
    local name=$1 np=$2 per_node=$3
    shift 3
    if [ "$per_node" = 0 ]; then
        $MPIRUN -np "$np" "$NNTRAIN" train "$@" --no-progress --run-dir "runs/$name" > "$name.txt" 2>&1 \
            || { cat "$name.txt"; fail "$name did not train"; }
    else
        NN_TEST_RANKS_PER_NODE=$per_node $MPIRUN -x NN_TEST_RANKS_PER_NODE -np "$np" "$NNTRAIN" \
            train "$@" --no-progress --run-dir "runs/$name" > "$name.txt" 2>&1 \
            || { cat "$name.txt"; fail "$name did not train"; }
    fi
}
exact() { # A B what: bit-identical checkpoints and epoch lines
    $COMPARE "runs/$1/last.h5" "runs/$2/last.h5" --exact $ALL >/dev/null || {
        $COMPARE "runs/$1/last.h5" "runs/$2/last.h5" --exact $ALL || true
        fail "$3: $1 and $2 differ"; }
    diff <(epoch_lines "$1.txt") <(epoch_lines "$2.txt") || fail "$3: metrics differ"
}
close() { # A B what: within 1e-6, printed metrics equal
    $COMPARE "runs/$1/last.h5" "runs/$2/last.h5" --rtol 1e-6 $ALL || fail "$3: $1 and $2 differ"
    diff <(epoch_lines "$1.txt") <(epoch_lines "$2.txt") || fail "$3: metrics differ"
}
banner() { # run: fails unless the gradients went through the nodes' leaders
    grep "^gradient allreduce: node shared memory within each of $2 nodes (simulated" "$1.txt" \
        >/dev/null || { cat "$1.txt"; fail "$1: not summed within and between $2 nodes"; }
}

small_config > small.yaml
# ---- 2 nodes x 1 rank: the flat path's bits ---------------------------------------------
train flat2 2 0 small.yaml
train flat2-mpi 2 0 small.yaml --set train.allreduce=mpi
train nodes2x1 2 1 small.yaml
banner nodes2x1 2
grep "^optimizer update: every rank updates every parameter (one rank on this node)" nodes2x1.txt \
    >/dev/null || fail "2 x 1: the update should not be split"
exact flat2 nodes2x1 "2 x 1 against one node"
exact flat2-mpi nodes2x1 "2 x 1 against MPI_Iallreduce"

# ---- 2 nodes x 2 ranks, 2 + 1: within 1e-6 of the flat path (18 steps) --------------------
SHORT=(small.yaml --set train.epochs=1 --set 'data.train_rows=[0, 1280]')
train flat4 4 0 "${SHORT[@]}"
train nodes2x2 4 2 "${SHORT[@]}"
banner nodes2x2 2
grep "^optimizer update: split over the 2 ranks of each node" nodes2x2.txt >/dev/null \
    || fail "2 x 2: the update is not split over each node's ranks"
close flat4 nodes2x2 "2 x 2 against one node of 4"
train nodes2x2-nooverlap 4 2 "${SHORT[@]}" --set train.overlap=false
exact nodes2x2 nodes2x2-nooverlap "2 x 2, overlap off"
train flat3 3 0 "${SHORT[@]}"
train nodes2+1 3 2 "${SHORT[@]}"
banner nodes2+1 2
exact flat3 nodes2+1 "2 + 1 against one node of 3"
LARS=(--set 'train.optimizer={type: lars, lr: 0.05, momentum: 0.9}')
train flat4-lars 4 0 "${SHORT[@]}" "${LARS[@]}"
train nodes2x2-lars 4 2 "${SHORT[@]}" "${LARS[@]}"
grep "^optimizer update: split over the 2 ranks of each node" nodes2x2-lars.txt >/dev/null \
    || fail "2 x 2 LARS: the update is not split over each node's ranks"
close flat4-lars nodes2x2-lars "2 x 2 LARS against one node of 4"

# ---- data.cache: node, one copy per simulated node ---------------------------------------
grep "^data: cache node (one copy per node, shared by its 2 ranks" nodes2x2.txt >/dev/null \
    || fail "2 x 2: the node cache does not follow the simulated nodes"
train nodes2x2-memory 4 2 "${SHORT[@]}" --set data.cache=memory
exact nodes2x2-memory nodes2x2 "2 x 2, node cache against a copy per rank"
CHANGES=(--set data.label_noise=0.3 --set data.shuffle_pixels=random)
train noisy-memory 4 2 "${SHORT[@]}" "${CHANGES[@]}" --set data.cache=memory
train noisy-node 4 2 "${SHORT[@]}" "${CHANGES[@]}" --set data.cache=node
exact noisy-memory noisy-node "2 x 2, label noise and shuffled pixels on each node's copy"

# ---- train.reproducible: bitwise, the same bits on any layout ----------------------------
BITWISE=(small.yaml --set train.epochs=2 --set train.reproducible=bitwise)
train bitwise1 1 0 "${BITWISE[@]}"
train bitwise2x1 2 1 "${BITWISE[@]}"
train bitwise2x2 4 2 "${BITWISE[@]}"
grep "^reproducible: bitwise.*through MPI (Alltoallv)" bitwise2x2.txt >/dev/null \
    || fail "bitwise 2 x 2: the exact sums should cross the nodes by MPI"
exact bitwise1 bitwise2x1 "bitwise 2 x 1"
exact bitwise1 bitwise2x2 "bitwise 2 x 2"

# ---- A bad setting ------------------------------------------------------------------------
NN_TEST_RANKS_PER_NODE=two expect_exit 2 "$NNTRAIN" train small.yaml --set train.epochs=1
grep "NN_TEST_RANKS_PER_NODE: expected a whole number of ranks >= 1" err.txt >/dev/null \
    || fail "bad NN_TEST_RANKS_PER_NODE: $(cat err.txt)"
echo "hierarchical gradient sums hold"

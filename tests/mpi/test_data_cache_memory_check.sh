# The memory check before training, against a node pretending to have little memory left
# (NN_TEST_MEMORY_AVAILABLE_MIB only lowers MemAvailable): the whole Fashion-MNIST training
# split is 44.9 MiB of samples. data.cache: auto streams it when a copy does not fit (1 rank,
# and a node copy at 2 ranks) and keeps it in memory when it fits; memory and node named
# explicitly are refused before training, with the MiB needed and left in one line, exit 2,
# and nothing written.
source "$(dirname "$0")/../e2e/lib.sh"
data=$(fashion_mnist)
cat > run.yaml <<YAML
data: {path: $data, test_rows: [0, 500]}
model: {input: [1, 28, 28], layers: [{name: out, type: dense, units: 10}]}
train: {epochs: 1, batch_size: 500, loss: cross_entropy, optimizer: {type: sgd, lr: 0.05}}
seed: 1
YAML
np2=($MPIRUN -np 2 -x NN_TEST_MEMORY_AVAILABLE_MIB)
# auto: what fits stays in memory, what does not is streamed.
NN_TEST_MEMORY_AVAILABLE_MIB=30 "$NNTRAIN" train run.yaml --run-dir runs/auto1 > auto1.txt
grep "^data: cache auto: /train's samples need 44.9 MiB x 1 copy but the node has 30.0 MiB of memory left: streamed instead$" auto1.txt >/dev/null \
    || { cat auto1.txt; fail "np=1: auto does not say why it streams"; }
grep "^data: cache none (samples streamed" auto1.txt >/dev/null || fail "np=1: auto did not stream"
NN_TEST_MEMORY_AVAILABLE_MIB=30 "${np2[@]}" "$NNTRAIN" train run.yaml --run-dir runs/auto2 > auto2.txt
grep "^data: cache none (samples streamed" auto2.txt >/dev/null || { cat auto2.txt; fail "np=2: auto did not stream"; }
NN_TEST_MEMORY_AVAILABLE_MIB=60 "${np2[@]}" "$NNTRAIN" train run.yaml --run-dir runs/auto2-fits > fits.txt
grep "^data: cache node (one copy per node" fits.txt >/dev/null || { cat fits.txt; fail "np=2: a node copy that fits is not used"; }
"$NNTRAIN" train run.yaml --set data.cache=memory --run-dir runs/mem > /dev/null
$COMPARE runs/mem/last.h5 runs/auto1/last.h5 --exact || fail "auto's streamed run changes the weights"

# memory and node named: refused before training, one line with the numbers.
refused() { # NAME EXPECTED-LINE command...
    local name=$1 line=$2
    shift 2
    expect_exit 2 "$@" --run-dir runs/$name
    grep "$line" err.txt >/dev/null || { cat err.txt; fail "$name: not the expected message"; }
    [ "$(grep -c 'MiB' err.txt)" -le 2 ] || { cat err.txt; fail "$name: more than a line per rank"; }
    ! ls runs/$name/*.h5 2> /dev/null || fail "$name: a checkpoint was written"
    grep '^epoch ' out.txt >/dev/null && fail "$name: trained before refusing"
    echo "$name: exit 2: $(grep -m1 MiB err.txt)"
}
export NN_TEST_MEMORY_AVAILABLE_MIB=30
refused memory1 "data.cache: memory: /train's samples need 44.9 MiB x 1 copy = 44.9 MiB but the node has 30.0 MiB of memory left; use data.cache: none (streaming) or auto" \
    "$NNTRAIN" train run.yaml --set data.cache=memory
refused node2 "node: /train's samples need 44.9 MiB x 1 copy = 44.9 MiB but the node has 30.0 MiB" \
    "${np2[@]}" "$NNTRAIN" train run.yaml --set data.cache=node
export NN_TEST_MEMORY_AVAILABLE_MIB=60
refused memory2 "memory: /train's samples need 44.9 MiB x 2 copies = 89.7 MiB but the node has 60.0 MiB" \
    "${np2[@]}" "$NNTRAIN" train run.yaml --set data.cache=memory
echo "memory check: auto streams what does not fit, memory and node refuse with the numbers"

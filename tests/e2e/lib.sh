# Helpers for the end-to-end tests (sourced). Each test runs in a fresh temporary directory.
set -euo pipefail
# Say which command failed when `set -e` ends a test.
trap 'echo "FAIL: ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND exited $?" >&2' ERR
: "${NNTRAIN:?NNTRAIN must point at the nntrain binary (run through ctest)}"
: "${NN_SOURCE_DIR:?NN_SOURCE_DIR must point at the source tree}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_exit CODE command...: runs the command, fails unless it exits with CODE.
expect_exit() {
    local want=$1
    shift
    set +e
    "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"
    local got=$?
    set -e
    [ "$got" -eq "$want" ] || { cat "$WORK/out.txt" "$WORK/err.txt" >&2;
                                fail "expected exit $want, got $got: $*"; }
}

# Fashion-MNIST imported once per build tree (the import itself is tested separately).
fashion_mnist() {
    local cache="${NN_BINARY_DIR:-$WORK}/fashion-mnist.h5"
    if [ ! -f "$cache" ]; then
        local src=/usr/share/datasets/fashion-mnist
        "$NNTRAIN" import idx --images $src/train-images-idx3-ubyte.gz \
            --labels $src/train-labels-idx1-ubyte.gz --test-images $src/t10k-images-idx3-ubyte.gz \
            --test-labels $src/t10k-labels-idx1-ubyte.gz -o "$cache.$$" >/dev/null
        mv "$cache.$$" "$cache"
    fi
    echo "$cache"
}

COMPARE="/usr/bin/python3 $NN_SOURCE_DIR/tests/tools/compare_h5.py"
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"

# A small Fashion-MNIST experiment: 4000 training rows (10% validation), 1000 test rows; the
# model has synchronized batchnorm and dropout, whose results must not depend on the ranks.
small_config() {
    local data
    data=$(fashion_mnist)
    cat <<YAML
data: {path: $data, train_rows: [0, 4000], val: {split: 0.1}, test_rows: [0, 1000]}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 64, bias: false}
    - {name: bn1, type: batchnorm, sync: true, activation: relu}
    - {name: drop1, type: dropout, p: 0.2}
    - {name: fc2, type: dense, units: 32, activation: tanh}
    - {name: out, type: dense, units: 10}
train: {epochs: 3, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.002},
        checkpoint: {every: 1, keep: 2}}
seed: 11
YAML
}

# The epoch lines of a run's output, without timings (comparable between runs).
epoch_lines() {
    grep '^epoch ' "$1" | sed 's/  lr .*//'
}

# catalogue_names TITLE: the names of the catalogue section of `nntrain train --help-catalogue`
# whose title starts with TITLE ("losses", "schedules", ...), in table order, one a line.
# A row is "  name ..."; rows in brackets ("(any type)") and continuation lines are not names.
catalogue_names() {
    "$NNTRAIN" train --help-catalogue |
        awk -v title="$1" 'index($0, title) == 1 { on = 1; next }
                           /^[^ ]/ { on = 0 }
                           on && /^  [a-z0-9_]+( |$)/ { print $1 }'
}

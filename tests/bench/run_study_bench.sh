#!/bin/bash
# The study commands' speeds on the example MLP and the Fashion-MNIST test split (10,000
# images): extraction against `eval`, linear CKA on every layer pair, one probe's training.
# Trains the MLP for 3 epochs first unless STUDY_CKPT names a checkpoint. Run it through
# CMake:  cmake --build build --target bench-study
set -euo pipefail
: "${BENCH_STUDY:?BENCH_STUDY must point at the bench_study program}"
: "${NNTRAIN:?NNTRAIN must point at the nntrain program}"
: "${NN_SOURCE_DIR:?}"
data="$NN_SOURCE_DIR/datasets/fashion-mnist.h5"
[ -f "$data" ] || { echo "run-study-bench: $data is missing (see README.md)" >&2; exit 3; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ckpt="${STUDY_CKPT:-}"
if [ -z "$ckpt" ]; then
    "$NNTRAIN" train "$NN_SOURCE_DIR/launch/configs/mlp.yaml" --no-progress \
        --set data.path="$data" --set train.epochs=3 --run-dir "$work/mlp" > /dev/null
    ckpt="$work/mlp/last.h5"
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for threads in 1 2; do
    echo "== $threads thread(s)"
    "$BENCH_STUDY" "$ckpt" --data "$data" --threads "$threads"
done

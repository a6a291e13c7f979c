#!/bin/bash
# Formula activations against the built-ins they equal: the example MLP
# (launch/configs/mlp.yaml, batch 128, Adam) with `activation: relu` and with
# {formula: "max(x, 0)"}, with swish and with {formula: "x * sigmoid(x)"}; bench_step's
# training step (forward, loss, backward, update) at 1 thread pinned to one core, the
# variants interleaved round by round so they meet the same load. Prints the median
# samples per CPU-second (what other work on a shared machine inflates least), wall
# samples/s, and the formula's rate as a share of the built-in's.
#     cmake --build build --target bench-formula
set -euo pipefail
: "${BENCH_STEP:?BENCH_STEP must point at the bench_step program}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-formula.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

names=(relu max_formula swish swish_formula)
activations=('relu' '{formula: "max(x, 0)"}' 'swish' '{formula: "x * sigmoid(x)"}')
for i in "${!names[@]}"; do
    sed "s/activation: relu/activation: ${activations[$i]}/" \
        "$SOURCE_DIR/launch/configs/mlp.yaml" > "$WORK/${names[$i]}.yaml"
done
declare -A cpu wall
for _ in $(seq "$ROUNDS"); do
    for name in "${names[@]}"; do
        taskset -c 0 "$BENCH_STEP" "$WORK/$name.yaml" --threads 1 \
            --seconds "$SECONDS_PER_RUN" > "$WORK/out.txt"
        cpu[$name]+="$(sed -n 's/.*(\([0-9]*\) samples per CPU-second).*/\1/p' "$WORK/out.txt") "
        wall[$name]+="$(sed -n 's/.* \([0-9]*\) samples\/s (train step).*/\1/p' "$WORK/out.txt") "
    done
done
echo "formula activations against built-ins: example MLP, batch 128, Adam, 1 thread"
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s %14s %12s %10s\n' activation "samples/CPU-s" "wall s/s" "vs built-in"
for i in "${!names[@]}"; do
    name=${names[$i]}
    c=$(echo "${cpu[$name]}" | tr ' ' '\n' | grep . | median)
    w=$(echo "${wall[$name]}" | tr ' ' '\n' | grep . | median)
    if [ $((i % 2)) -eq 0 ]; then base=$c; share=""; else
        share=$(awk -v a="$c" -v b="$base" 'BEGIN { printf "%.2f", a / b }'); fi
    printf '%-36s %14s %12s %10s\n' "${activations[$i]}" "$c" "$w" "$share"
done

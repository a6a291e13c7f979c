#!/bin/bash
# Recurrent training speed: nntrain (bench_step: forward, loss, backward, Adam on one batch)
# against PyTorch (torch.nn.LSTM) in the same run, pinned to 1 core and then 2: an lstm of 2
# layers x 128 units on T = 100 steps of F = 32 features, batch 64, the final state into 10
# classes. Prints samples/s, the ratio to PyTorch and both peak RSS; bench_step's per-layer
# table shows where nntrain's time goes. nntrain also runs with OpenBLAS's products
# (bench_step --gemm openblas) with the environment as it is ("OpenBLAS") and with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command only ("OB own").
#     cmake --build build --target bench-rnn
set -euo pipefail
: "${BENCH_STEP:?BENCH_STEP must point at the bench_step program}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-rnn.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

cat > "$WORK/lstm.yaml" <<'YAML'
model:
  input: [100, 32]
  layers:
    - {name: lstm1, type: lstm, units: 128, return_sequences: true}
    - {name: lstm2, type: lstm, units: 128}
    - {name: out, type: dense, units: 10}
train: {batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.001}}
YAML

echo "LSTM benchmark: 2 x 128 units, T 100, F 32, batch 64, Adam ($(lscpu | sed -n \
's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg))"
# PyTorch at its best setting (threads = cores, OPENBLAS_NUM_THREADS, passive OpenMP waits)
# and once more with glibc told to keep freed memory (+malloc), as in run_cnn_bench.sh.
printf '%-6s %12s %12s %12s %8s %8s %10s %10s %12s %12s\n' cores "nntrain s/s" "torch s/s" \
    "+malloc s/s" ratio "ratio+m" "ours MiB" "torch MiB" "OpenBLAS s/s" "OB own s/s"
for cores in 1 2; do
    cpus=$([ "$cores" = 1 ] && echo 0 || echo 0,1)
    ours=() theirs=() theirs_m=() blas=() blas_own=()
    for _ in $(seq "$ROUNDS"); do
        taskset -c "$cpus" "$BENCH_STEP" "$WORK/lstm.yaml" --threads "$cores" --batch 64 \
            --seconds "$SECONDS_PER_RUN" > "$WORK/ours.txt"
        ours+=("$(sed -n 's/.* \([0-9.]*\) samples\/s (train step).*/\1/p' "$WORK/ours.txt")")
        our_rss=$(sed -n 's/^peak RSS \([0-9.]*\) MiB/\1/p' "$WORK/ours.txt")
        taskset -c "$cpus" "$BENCH_STEP" "$WORK/lstm.yaml" --threads "$cores" --batch 64 \
            --seconds "$SECONDS_PER_RUN" --gemm openblas > "$WORK/blas.txt"
        blas+=("$(sed -n 's/.* \([0-9.]*\) samples\/s (train step).*/\1/p' "$WORK/blas.txt")")
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c "$cpus" "$BENCH_STEP" \
            "$WORK/lstm.yaml" --threads "$cores" --batch 64 --seconds "$SECONDS_PER_RUN" \
            --gemm openblas > "$WORK/blas_own.txt"
        blas_own+=("$(sed -n 's/.* \([0-9.]*\) samples\/s (train step).*/\1/p' \
            "$WORK/blas_own.txt")")
        OPENBLAS_NUM_THREADS=$cores OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$cores \
            taskset -c "$cpus" "$PYTHON" "$HERE/bench_rnn_torch.py" "$cores" \
            "$SECONDS_PER_RUN" > "$WORK/theirs.txt"
        theirs+=("$(sed -n 's/^samples\/s //p' "$WORK/theirs.txt")")
        their_rss=$(sed -n 's/^peak_rss_mib //p' "$WORK/theirs.txt")
        MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=1073741824 \
            OPENBLAS_NUM_THREADS=$cores OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$cores \
            taskset -c "$cpus" "$PYTHON" "$HERE/bench_rnn_torch.py" "$cores" \
            "$SECONDS_PER_RUN" > "$WORK/theirs_m.txt"
        theirs_m+=("$(sed -n 's/^samples\/s //p' "$WORK/theirs_m.txt")")
    done
    o=$(printf '%s\n' "${ours[@]}" | median)
    t=$(printf '%s\n' "${theirs[@]}" | median)
    tm=$(printf '%s\n' "${theirs_m[@]}" | median)
    printf '%-6s %12.0f %12.0f %12.0f %7.2fx %7.2fx %10s %10s %12.0f %12.0f\n' "$cores" "$o" \
        "$t" "$tm" "$(awk -v a="$o" -v b="$t" 'BEGIN {print a / b}')" \
        "$(awk -v a="$o" -v b="$tm" 'BEGIN {print a / b}')" "$our_rss" "$their_rss" \
        "$(printf '%s\n' "${blas[@]}" | median)" "$(printf '%s\n' "${blas_own[@]}" | median)"
    best_torch=$(printf '%s\n%s\n%s\n' "${best_torch:-0}" "$t" "$tm" | sort -n | tail -1)
    best_ours=$(printf '%s\n%s\n' "${best_ours:-0}" "$o" | sort -n | tail -1)
    [ "$cores" = 1 ] && cp "$WORK/ours.txt" "$WORK/profile.txt"
done
echo "OpenBLAS: $(sed -n 's/^gemm: //p' "$WORK/blas.txt"); OB own: $(sed -n 's/^gemm: //p' \
    "$WORK/blas_own.txt")"
echo "best: nntrain $best_ours samples/s, PyTorch $best_torch samples/s:" \
    "$(awk -v a="$best_ours" -v b="$best_torch" 'BEGIN {printf "%.2fx", a / b}')" \
    "(target 1.3x PyTorch's best setting)"
echo
echo "where nntrain's time goes (1 core):"
cat "$WORK/profile.txt"

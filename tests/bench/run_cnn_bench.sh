#!/bin/bash
# CNN training speed: nntrain (bench_step: forward, loss, backward, Adam on one batch of 32)
# against PyTorch (oneDNN convolutions) in the same run, pinned to 1 core and then 2, for the
# residual+inception network and the small CNN of launch/configs. Prints samples/s, the ratio
# and peak RSS; bench_step's per-layer table shows where nntrain's time goes. nntrain also runs
# with OpenBLAS's products (train.gemm: openblas, bench_step --gemm openblas) twice: with the
# environment as it is ("OpenBLAS") and with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for
# that command only ("OB own": the kernels OpenBLAS picks for this CPU itself); the kernels
# each ran are named below the table. "direct" is nntrain with its 3x3 and 5x5 convolutions as
# direct products instead of Winograd's (train.winograd: false, bench_step --winograd false).
#     cmake --build build --target bench-cnn
set -euo pipefail
: "${BENCH_STEP:?BENCH_STEP must point at the bench_step program}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
SECONDS_PER_RUN=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-cnn.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

echo "CNN benchmark, batch 32, Adam (load $(cut -d' ' -f1-3 /proc/loadavg))"
# PyTorch runs at its best setting (threads = cores, OPENBLAS_NUM_THREADS, passive OpenMP
# waits) and once more with glibc told to keep freed memory (+malloc): torch allocates its
# activations anew every step and the page faults of returned memory cost this VM dearly.
printf '%-7s %-6s %12s %12s %12s %8s %8s %10s %10s %12s %12s %12s\n' model cores \
    "nntrain s/s" "torch s/s" "+malloc s/s" ratio "ratio+m" "ours MiB" "torch MiB" \
    "OpenBLAS s/s" "OB own s/s" "direct s/s"
for model in resnet cnn; do
    cfg=$SOURCE_DIR/launch/configs/$([ $model = resnet ] && echo resnet-inception || echo cnn).yaml
    for cores in 1 2; do
        cpus=$([ "$cores" = 1 ] && echo 0 || echo 0,1)
        ours=() theirs=() theirs_m=() blas=() blas_own=() direct=()
        for _ in $(seq "$ROUNDS"); do
            taskset -c "$cpus" "$BENCH_STEP" "$cfg" --threads "$cores" --batch 32 \
                --seconds "$SECONDS_PER_RUN" > "$WORK/ours.txt"
            ours+=("$(sed -n 's/.* \([0-9]*\) samples\/s (train step).*/\1/p' "$WORK/ours.txt")")
            our_rss=$(sed -n 's/^peak RSS \([0-9.]*\) MiB/\1/p' "$WORK/ours.txt")
            taskset -c "$cpus" "$BENCH_STEP" "$cfg" --threads "$cores" --batch 32 \
                --seconds "$SECONDS_PER_RUN" --gemm openblas > "$WORK/blas.txt"
            blas+=("$(sed -n 's/.* \([0-9]*\) samples\/s (train step).*/\1/p' "$WORK/blas.txt")")
            env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c "$cpus" "$BENCH_STEP" "$cfg" \
                --threads "$cores" --batch 32 --seconds "$SECONDS_PER_RUN" --gemm openblas \
                > "$WORK/blas_own.txt"
            blas_own+=("$(sed -n 's/.* \([0-9]*\) samples\/s (train step).*/\1/p' \
                "$WORK/blas_own.txt")")
            taskset -c "$cpus" "$BENCH_STEP" "$cfg" --threads "$cores" --batch 32 \
                --seconds "$SECONDS_PER_RUN" --winograd false > "$WORK/direct.txt"
            direct+=("$(sed -n 's/.* \([0-9]*\) samples\/s (train step).*/\1/p' \
                "$WORK/direct.txt")")
            OPENBLAS_NUM_THREADS=$cores OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$cores \
                taskset -c "$cpus" "$PYTHON" "$HERE/bench_cnn_torch.py" $model "$cores" \
                "$SECONDS_PER_RUN" > "$WORK/theirs.txt"
            theirs+=("$(sed -n 's/^samples\/s //p' "$WORK/theirs.txt")")
            their_rss=$(sed -n 's/^peak_rss_mib //p' "$WORK/theirs.txt")
            MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=1073741824 \
                OPENBLAS_NUM_THREADS=$cores OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$cores \
                taskset -c "$cpus" "$PYTHON" "$HERE/bench_cnn_torch.py" $model "$cores" \
                "$SECONDS_PER_RUN" > "$WORK/theirs_m.txt"
            theirs_m+=("$(sed -n 's/^samples\/s //p' "$WORK/theirs_m.txt")")
        done
        o=$(printf '%s\n' "${ours[@]}" | median)
        t=$(printf '%s\n' "${theirs[@]}" | median)
        tm=$(printf '%s\n' "${theirs_m[@]}" | median)
        ob=$(printf '%s\n' "${blas[@]}" | median)
        obo=$(printf '%s\n' "${blas_own[@]}" | median)
        di=$(printf '%s\n' "${direct[@]}" | median)
        printf '%-7s %-6s %12.0f %12.0f %12.0f %7.2fx %7.2fx %10s %10s %12.0f %12.0f %12.0f\n' \
            $model "$cores" "$o" "$t" "$tm" "$(awk -v a="$o" -v b="$t" 'BEGIN {print a / b}')" \
            "$(awk -v a="$o" -v b="$tm" 'BEGIN {print a / b}')" "$our_rss" "$their_rss" "$ob" \
            "$obo" "$di"
        if [ "$model" = resnet ] && [ "$cores" = 1 ]; then
            cp "$WORK/ours.txt" "$WORK/profile.txt"
            cp "$WORK/blas.txt" "$WORK/profile_blas.txt"
            cp "$WORK/direct.txt" "$WORK/profile_direct.txt"
        fi
    done
done
echo "OpenBLAS: $(sed -n 's/^gemm: //p' "$WORK/blas.txt"); OB own: $(sed -n 's/^gemm: //p' \
    "$WORK/blas_own.txt")"
echo
echo "bf16 (train.precision: bf16) against nntrain fp32 and PyTorch bf16 autocast (best setting,"
echo "and with the malloc tuning):"
printf '%-7s %-6s %12s %12s %12s %12s %8s %8s %8s\n' model cores "fp32 s/s" "bf16 s/s" \
    "torch bf16" "+malloc" "/fp32" "/torch" "/+malloc"
for model in resnet cnn; do
    cfg=$SOURCE_DIR/launch/configs/$([ $model = resnet ] && echo resnet-inception || echo cnn).yaml
    for cores in 1 2; do
        cpus=$([ "$cores" = 1 ] && echo 0 || echo 0,1)
        fp32=() bf16=() theirs=() theirs_m=()
        for _ in $(seq "$ROUNDS"); do
            for precision in fp32 bf16; do
                taskset -c "$cpus" "$BENCH_STEP" "$cfg" --threads "$cores" --batch 32 \
                    --seconds "$SECONDS_PER_RUN" --precision $precision > "$WORK/ours.txt"
                rate=$(sed -n 's/.* \([0-9]*\) samples\/s (train step).*/\1/p' "$WORK/ours.txt")
                if [ $precision = fp32 ]; then fp32+=("$rate"); else bf16+=("$rate"); fi
            done
            OPENBLAS_NUM_THREADS=$cores OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$cores \
                taskset -c "$cpus" "$PYTHON" "$HERE/bench_cnn_torch.py" $model "$cores" \
                "$SECONDS_PER_RUN" bf16 > "$WORK/theirs.txt"
            theirs+=("$(sed -n 's/^samples\/s //p' "$WORK/theirs.txt")")
            MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=1073741824 \
                OPENBLAS_NUM_THREADS=$cores OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$cores \
                taskset -c "$cpus" "$PYTHON" "$HERE/bench_cnn_torch.py" $model "$cores" \
                "$SECONDS_PER_RUN" bf16 > "$WORK/theirs_m.txt"
            theirs_m+=("$(sed -n 's/^samples\/s //p' "$WORK/theirs_m.txt")")
        done
        f=$(printf '%s\n' "${fp32[@]}" | median)
        b=$(printf '%s\n' "${bf16[@]}" | median)
        t=$(printf '%s\n' "${theirs[@]}" | median)
        tm=$(printf '%s\n' "${theirs_m[@]}" | median)
        printf '%-7s %-6s %12.0f %12.0f %12.0f %12.0f %7.2fx %7.2fx %7.2fx\n' $model "$cores" \
            "$f" "$b" "$t" "$tm" "$(awk -v a="$b" -v c="$f" 'BEGIN {print a / c}')" \
            "$(awk -v a="$b" -v c="$t" 'BEGIN {print a / c}')" \
            "$(awk -v a="$b" -v c="$tm" 'BEGIN {print a / c}')"
    done
done
# What bounds bf16 / fp32 on this CPU: vdpbf16ps against float FMAs, from the last bf16 run
# (half the FMAs' flops on an Emerald Rapids Xeon without AMX, where bf16 runs slower), and
# AMX's tiles where the CPU has them (the bf16 runs' path then).
sed -n '/^bf16 peak/p; /^AMX peak/p' "$WORK/ours.txt"
echo
echo "where nntrain's time goes (residual+inception, 1 core):"
cat "$WORK/profile.txt"
echo
echo "the same with OpenBLAS's products (environment as it is):"
cat "$WORK/profile_blas.txt"
echo
echo "the same with direct products for the 3x3 and 5x5 convolutions (train.winograd: false):"
cat "$WORK/profile_direct.txt"

#!/bin/bash
# MLP training speed: nntrain against PyTorch on this machine, in one run, pinned to the same
# cores (taskset -c 0, then taskset -c 0,1). Run it through CMake:
#     cmake --build build --target bench
# or directly with BENCH_MLP and NNTRAIN pointing at the built programs.
#
# Compared, for 1 core and 2 cores:
#   nntrain          bench_mlp --threads T (the trainer's step on one synthetic batch)
#   nntrain+OpenBLAS the same with OpenBLAS's products (bench_mlp --gemm openblas, as
#                    train.gemm: openblas), with the environment as it is, and "+OB own" with
#                    OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command only (the
#                    kernels OpenBLAS picks for this CPU itself); both named below the table
#   PyTorch default  as a user runs it: no settings at all
#   PyTorch best     torch.set_num_threads(T), OPENBLAS_NUM_THREADS=T, OMP_WAIT_POLICY=PASSIVE
#                    (Debian's torch calls OpenBLAS, whose threads otherwise fight torch's own)
#   PyTorch +malloc  best, and glibc malloc told to keep freed memory
#                    (MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_ at 1 GiB): torch
#                    allocates every activation and gradient anew each step, and by default
#                    glibc hands those pages back to the kernel and takes page faults on them
#                    again in the next step, which costs this virtual machine dearly
# plus the GEMM-only time of the step (the ceiling: the step's GEMMs alone, split over the
# threads as the layers split them, or unsplit with OpenBLAS threading each call, whichever is
# faster), peak RSS, time to first step, the wall time of a real short `nntrain train` run
# (process start to exit) and the start-up line: start to exit of commands that start no MPI.
#
# OPENBLAS_CORETYPE and friends are left as the environment has them (but for "+OB own"): both
# sides load the same OpenBLAS and must use the same kernel.
#
# Every configuration runs BENCH_ROUNDS times (interleaved, so a busy spell on the shared
# machine hits all of them alike); the table shows medians over rounds of each process's
# median over repeats.
set -euo pipefail

: "${BENCH_MLP:?BENCH_MLP must point at the bench_mlp program}"
: "${NNTRAIN:?NNTRAIN must point at the nntrain program}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${BENCH_ROUNDS:-3}
STEPS=${BENCH_STEPS:-40}
REPEATS=${BENCH_REPEATS:-9}
WARMUP=${BENCH_WARMUP:-20}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# shellcheck source=capacity.sh
. "$HERE/capacity.sh"
capacity_before=$(capacity "$BENCH_MLP")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)

# run NAME COMMAND...: one process, its RESULT line appended to $WORK/NAME.
run() {
    local name=$1
    shift
    local log="$WORK/$name.log"
    if ! BENCH_T0=$(date +%s.%N) "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "run_mlp_bench.sh: failed: $*" >&2
        exit 1
    fi
    grep '^RESULT ' "$log" | cut -d' ' -f2- >>"$WORK/$name"
    grep '^gemm: ' "$log" | cut -d' ' -f2- >"$WORK/$name.gemm" || true
}

# A tiny dataset in the layout nntrain reads (uint8 images, scale 1/255), for the real run.
"$PYTHON" - "$WORK/tiny.h5" <<'EOF'
import sys
import h5py
import numpy as np
rng = np.random.default_rng(0)
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["num_classes"] = 10
    for split, n in (("train", 1024), ("test", 256)):
        g = f.create_group(split)
        x = g.create_dataset("x", data=rng.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8),
                             chunks=(64, 1, 28, 28))
        x.attrs["scale"] = np.float32(1 / 255)
        x.attrs["offset"] = np.float32(0)
        g.create_dataset("y", data=rng.integers(0, 10, n).astype(np.int32))
EOF

# The real binary: 1 epoch of 8 training batches (922 rows; the config carves 10% for
# validation) plus validation and test, from process start to exit, with its peak RSS.
real_run() {
    local round=$1
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$WORK/time.$round" taskset -c 0 "$NNTRAIN" train \
        "$SOURCE_DIR/launch/configs/mlp.yaml" --set "data.path=$WORK/tiny.h5" \
        --set train.epochs=1 --run-dir "$WORK/run.$round" \
        --no-progress >"$WORK/real.$round.log" 2>&1 || {
        cat "$WORK/real.$round.log" >&2
        echo "run_mlp_bench.sh: the real nntrain run failed" >&2
        exit 1
    }
    t1=$(date +%s.%N)
    # Commands that need no communication start no MPI: process start to exit of
    # --version, train --help and verify of the run's checkpoint (wall and CPU seconds).
    local line name args
    line=$(awk -v t0="$t0" -v t1="$t1" -v kib="$(tail -1 "$WORK/time.$round")" \
        'BEGIN { printf "wall_s=%.4f rss_mib=%.1f", t1 - t0, kib / 1024 }')
    for name in version help verify; do
        case $name in
            version) args=(--version) ;;
            help) args=(train --help) ;;
            verify) args=(verify "$WORK/run.$round/last.h5") ;;
        esac
        t0=$(date +%s.%N)
        /usr/bin/time -f "%U %S" -o "$WORK/start.$name" taskset -c 0 "$NNTRAIN" "${args[@]}" \
            >/dev/null
        t1=$(date +%s.%N)
        line+=$(awk -v n="$name" -v t0="$t0" -v t1="$t1" \
            '{ printf " %s_start_s=%.4f %s_cpu_s=%.4f", n, t1 - t0, n, $1 + $2 }' \
            "$WORK/start.$name")
    done
    echo "$line" >>"$WORK/real"
}

bench_args=(--steps "$STEPS" --repeats "$REPEATS" --warmup "$WARMUP")
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
    for cores in 1 2; do
        cpus=$([ "$cores" = 1 ] && echo 0 || echo 0,1)
        run "nntrain.$cores" taskset -c "$cpus" "$BENCH_MLP" --threads "$cores" "${bench_args[@]}"
        run "nntrain_openblas.$cores" taskset -c "$cpus" "$BENCH_MLP" --threads "$cores" \
            "${bench_args[@]}" --gemm openblas --no-gemm --no-data
        run "nntrain_openblas_own.$cores" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
            taskset -c "$cpus" "$BENCH_MLP" --threads "$cores" "${bench_args[@]}" \
            --gemm openblas --no-gemm --no-data
        run "torch_default.$cores" taskset -c "$cpus" "$PYTHON" "$HERE/bench_mlp_torch.py" \
            "${bench_args[@]}"
        run "torch_best.$cores" env OPENBLAS_NUM_THREADS="$cores" OMP_WAIT_POLICY=PASSIVE \
            taskset -c "$cpus" "$PYTHON" "$HERE/bench_mlp_torch.py" --threads "$cores" \
            "${bench_args[@]}"
        run "torch_malloc.$cores" env OPENBLAS_NUM_THREADS="$cores" OMP_WAIT_POLICY=PASSIVE \
            MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=1073741824 \
            taskset -c "$cpus" "$PYTHON" "$HERE/bench_mlp_torch.py" --threads "$cores" \
            "${bench_args[@]}"
        # bf16 (train.precision: bf16) against PyTorch's bf16 autocast, best setting.
        run "nntrain_bf16.$cores" taskset -c "$cpus" "$BENCH_MLP" --threads "$cores" --bf16 \
            --no-gemm --no-data "${bench_args[@]}"
        run "torch_bf16.$cores" env OPENBLAS_NUM_THREADS="$cores" OMP_WAIT_POLICY=PASSIVE \
            taskset -c "$cpus" "$PYTHON" "$HERE/bench_mlp_torch.py" --threads "$cores" --bf16 \
            "${bench_args[@]}"
        run "torch_bf16_malloc.$cores" env OPENBLAS_NUM_THREADS="$cores" \
            OMP_WAIT_POLICY=PASSIVE MALLOC_TRIM_THRESHOLD_=1073741824 \
            MALLOC_MMAP_THRESHOLD_=1073741824 taskset -c "$cpus" "$PYTHON" \
            "$HERE/bench_mlp_torch.py" --threads "$cores" --bf16 "${bench_args[@]}"
    done
    real_run "$round"
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
capacity_after=$(capacity "$BENCH_MLP")
echo "before: $capacity_before"
echo "after:  $capacity_after"
"$PYTHON" - "$WORK" "$ROUNDS" "$REPEATS" "$STEPS" "$load_before" "$load_after" \
    "$(($(date +%s) - started))" <<'EOF'
import statistics
import sys

work, rounds, repeats, steps, load_before, load_after, seconds = sys.argv[1:]


def results(name):
    rows = []
    with open(f"{work}/{name}") as f:
        for line in f:
            rows.append({k: float(v) for k, v in (kv.split("=") for kv in line.split())})
    return rows


def med(name, key):
    return statistics.median(r[key] for r in results(name))


print()
print(f"MLP 784-256-128-64-10 relu, cross-entropy, Adam lr 0.001, batch 128: one training step")
print(f"medians of {rounds} runs x {repeats} repeats x {steps} steps; "
      f"load average {load_before} before, {load_after} after; {seconds} s")
print()
head = (f"{'cores':>5}  {'':<16} {'samples/s':>9} {'fastest':>9} {'per CPU-s':>9} "
        f"{'/default':>9} {'/best':>7} {'/+malloc':>9} {'step ms':>8} {'/GEMM':>6} "
        f"{'RSS MiB':>8} {'1st step':>9}")
print(head)
print("-" * len(head))
for cores in (1, 2):
    default = med(f"torch_default.{cores}", "samples_per_s")
    best = med(f"torch_best.{cores}", "samples_per_s")
    tuned = med(f"torch_malloc.{cores}", "samples_per_s")
    gemm_ratio = med(f"nntrain.{cores}", "gemm_ratio")
    nn_step = med(f"nntrain.{cores}", "step_ms")
    for name, label in (("nntrain", "nntrain"), ("nntrain_openblas", "nntrain+OpenBLAS"),
                        ("nntrain_openblas_own", "nntrain+OB own"),
                        ("torch_default", "PyTorch default"),
                        ("torch_best", "PyTorch best"), ("torch_malloc", "PyTorch +malloc")):
        key = f"{name}.{cores}"
        rate = med(key, "samples_per_s")
        step = med(key, "step_ms")
        # The step over the GEMM-only time: nntrain's own is the median of ratios taken
        # within each repeat; PyTorch's step is compared with nntrain's, scaled likewise.
        ratio = gemm_ratio * step / nn_step
        print(f"{cores:>5}  {label:<16} {rate:>9.0f} {med(key, 'best_samples_per_s'):>9.0f} "
              f"{med(key, 'cpu_samples_per_s'):>9.0f} "
              f"{rate / default:>8.2f}x {rate / best:>6.2f}x {rate / tuned:>8.2f}x "
              f"{step:>8.3f} {ratio:>6.2f} {med(key, 'rss_mib'):>8.1f} "
              f"{med(key, 'first_step_s'):>8.3f}s")
print()
print("fastest: the best repeat (least disturbed by other work on the machine).")
print("per CPU-s: samples per second of CPU time of all the process's threads; on 1 core it")
print("  leaves out the time other work held the core (spinning BLAS threads count).")
print("/default, /best, /+malloc: samples/s over PyTorch's in that setting, same cores.")
for name, label in (("nntrain_openblas", "nntrain+OpenBLAS"), ("nntrain_openblas_own", "+OB own")):
    print(f"{label}: gemm: {open(f'{work}/{name}.1.gemm').read().strip()}")
print("/GEMM: step time over the GEMM-only time of the same step in nntrain (the ceiling:")
print("  the faster of the GEMMs split as the layers split them, and unsplit with OpenBLAS")
print("  threading each call), taken within each repeat (the machine's capacity drifts)")
print()
for cores in (1, 2):
    key = f"nntrain.{cores}"
    parts = "  ".join(f"{p} {med(key, p + '_ms'):.3f}" for p in
                      ("forward", "loss", "backward", "optim"))
    print(f"nntrain {cores} core(s): GEMM-only {med(key, 'gemm_ms'):.3f} ms/step split as the "
          f"layers split them, {med(key, 'gemm_openblas_ms'):.3f} unsplit (OpenBLAS threads); "
          f"step ms: {parts}")
    print(f"nntrain {cores} core(s) with the batch gathered from an in-memory uint8 dataset: "
          f"{med(key, 'data_samples_per_s'):.0f} samples/s")
print()
print("bf16 (train.precision: bf16; PyTorch: torch.autocast('cpu', dtype=torch.bfloat16), "
      "best setting and +malloc):")
for cores in (1, 2):
    fp32 = med(f"nntrain.{cores}", "samples_per_s")
    ours = med(f"nntrain_bf16.{cores}", "samples_per_s")
    theirs = med(f"torch_bf16.{cores}", "samples_per_s")
    tuned = med(f"torch_bf16_malloc.{cores}", "samples_per_s")
    print(f"{cores:>5} core(s): nntrain bf16 {ours:.0f} samples/s ({ours / fp32:.2f}x nntrain "
          f"fp32 {fp32:.0f}), PyTorch bf16 autocast {theirs:.0f} ({ours / theirs:.2f}x), "
          f"+malloc {tuned:.0f} ({ours / tuned:.2f}x)")
print(f"PyTorch: import torch alone {med('torch_default.1', 'import_s'):.3f} s "
      f"(time to first step includes it)")
print(f"nntrain train, real binary, 1 core, tiny dataset, 1 epoch of 8 batches + validation "
      f"+ test, process start to exit: {med('real', 'wall_s'):.3f} s, "
      f"peak RSS {med('real', 'rss_mib'):.1f} MiB")
print("start-up without MPI, process start to exit (CPU time in brackets): " +
      ", ".join(f"{label} {1e3 * med('real', n + '_start_s'):.0f} ms "
                f"({1e3 * med('real', n + '_cpu_s'):.0f} ms)"
                for n, label in (("version", "nntrain --version"),
                                 ("help", "nntrain train --help"),
                                 ("verify", "nntrain verify last.h5"))))
EOF

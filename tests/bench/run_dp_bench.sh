#!/bin/bash
# Data-parallel scaling: nntrain's real training loop (`nntrain train`, data gathered from
# the HDF5 split, global sampling) on Fashion-MNIST at np=1 x 2 threads, np=1 x 1 thread and
# np=2 x 1 thread, with the allreduce overlapped with backward and not, and with the
# gradients summed through the node's shared memory (the default) and by MPI_Iallreduce; PyTorch
# DistributedDataParallel (gloo) at np=2 x 1 thread on the same model and global batch; and
# train.reproducible: bitwise at np=1 (core 0) and np=2 x 1 thread beside the default mode,
# "X% slower" meaning the default's samples/s over bitwise's, minus 1, round by round.
# The sums of a job on several nodes, on nodes simulated on this machine with the test-only
# NN_TEST_RANKS_PER_NODE: np=2 as 2 nodes x 1 rank beside np=2 on one node (shared memory)
# and with MPI_Iallreduce, and np=4 x 1 thread (4 ranks on the 2 cores: oversubscribed) as
# 2 nodes x 2 ranks beside np=4 on one node and with MPI_Iallreduce; ratios round by round.
#     cmake --build build --target bench-dp
# Models: the MLP (784-256-128-64-10, global batch 256) and, when launch/configs/cnn.yaml
# exists, the small CNN (global batch as in its config).
#
# The two cores of a virtual machine need not be equal, nor stay so: np=1 x 1 thread runs on
# core 0 and on core 1, and the scaling efficiency is given against both (the issue's figure:
# np=2 over twice core 0's rate) and against the two cores' rates summed (what two ranks
# could reach at most). Two np=1 x 1 thread runs at once, one per core, measure what the
# machine gives two cores of this work when nothing is synchronized: np=2's share of that is
# the cost of data parallelism itself. Every configuration, PyTorch DDP's included, runs
# BENCH_ROUNDS times, interleaved; the table shows medians, and the efficiencies and the ratio
# to DDP are medians of each round's own. The machine's parallel capacity (capacity.sh) is
# printed before and after, and at the start of every round next to that round's scaling.
# So is how much one MLP step of one rank's share varies in wall time while both cores work
# (bench_step on each core at once): a synchronous step waits for the slower rank.
# BENCH_BITWISE_ONLY=1 runs only the four configurations of the bitwise comparison (default
# and bitwise at np=1 on core 0 and at np=2), interleaved, for more rounds in the same time.
set -euo pipefail
: "${NNTRAIN:?NNTRAIN must point at the nntrain program}"
: "${BENCH_MLP:?BENCH_MLP must point at the bench_mlp program}"
: "${BENCH_STEP:?BENCH_STEP must point at the bench_step program}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
ROWS=${BENCH_ROWS:-60000}
EPOCHS=${BENCH_EPOCHS:-3}
ROUNDS=${BENCH_ROUNDS:-5}
BITWISE_ONLY=${BENCH_BITWISE_ONLY:-0}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-dp.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# shellcheck source=capacity.sh
. "$HERE/capacity.sh"
cd "$WORK"
data=${BENCH_DATA:-${NN_BINARY_DIR:-$WORK}/fashion-mnist.h5}
if [ ! -f "$data" ]; then
    src=/usr/share/datasets/fashion-mnist
    "$NNTRAIN" import idx --images $src/train-images-idx3-ubyte.gz --labels $src/train-labels-idx1-ubyte.gz \
        --test-images $src/t10k-images-idx3-ubyte.gz --test-labels $src/t10k-labels-idx1-ubyte.gz -o "$data" >/dev/null
fi

# Median samples/s over epochs 2.. (epoch 1 warms caches), and the allreduce wait (mean
# over ranks).
rate_of() { grep '^epoch ' "$1" | tail -n +2 | sed 's/.*  \([0-9]*\) samples\/s.*/\1/' | sort -n |
            awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }
wait_of() { sed -n 's/^allreduce wait: \([0-9.]*\)%.*/\1/p' "$1"; }
# median of the numbers on standard input
median() { sort -n | awk '{a[NR]=$1} END {print (NR ? (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2) : 0)}'; }

run() { # name np threads cpus overlap config rows [allreduce [reproducible [ranks-per-node]]]
    local name=$1 np=$2 threads=$3 cpus=$4 overlap=$5 cfg=$6 rows=$7 allreduce=${8:-auto}
    local reproducible=${9:-default} per_node=${10:-}
    local simulate=(env)
    [ -z "$per_node" ] || simulate=(env NN_TEST_RANKS_PER_NODE="$per_node")
    "${simulate[@]}" taskset -c "$cpus" mpirun --allow-run-as-root --oversubscribe --bind-to none \
        ${per_node:+-x NN_TEST_RANKS_PER_NODE} -np "$np" \
        "$NNTRAIN" train "$cfg" --set train.threads="$threads" --set train.overlap="$overlap" \
        --set train.allreduce="$allreduce" --set train.reproducible="$reproducible" \
        --set train.epochs="$EPOCHS" --set data.train_rows="[0, $rows]" --set data.test=none \
        --set train.checkpoint.every=0 --set train.checkpoint.best=false --no-progress \
        --run-dir "runs/$name" > "$name.txt" 2>&1 || { cat "$name.txt"; exit 1; }
    rm -rf "runs/$name"
    rate_of "$name.txt" >> "$name.rates"
    wait_of "$name.txt" >> "$name.waits"
}

# What this machine gives two cores of this exact work: two np=1 x 1 thread runs at once, one
# per core, each on half the rows (the same global batch, so the same work per sample as
# np=1). Their summed rate is the most np=2 could reach if synchronizing cost nothing.
run_pair() { # name config rows
    local name=$1 cfg=$2 rows=$3 core pids=()
    for core in 0 1; do
        taskset -c "$core" mpirun --allow-run-as-root --oversubscribe --bind-to none -np 1 \
            "$NNTRAIN" train "$cfg" --set train.threads=1 \
            --set train.epochs="$EPOCHS" \
            --set data.train_rows="[$((core * rows / 2)), $(((core + 1) * rows / 2))]" \
            --set data.test=none --set train.checkpoint.every=0 \
            --set train.checkpoint.best=false --no-progress \
            --run-dir "runs/$name-$core" > "$name-$core.txt" 2>&1 &
        pids+=($!)
    done
    for core in 0 1; do
        wait "${pids[$core]}" || { cat "$name-$core.txt"; exit 1; }
    done
    rm -rf "runs/$name-0" "runs/$name-1"
    echo $(( $(rate_of "$name-0.txt") + $(rate_of "$name-1.txt") )) >> "$name.rates"
}

# The spread of one rank's MLP step (half the global batch) on each core, both at once.
step_spread() { # config
    local out0
    out0=$(mktemp)
    taskset -c 0 "$BENCH_STEP" "$1" --threads 1 --batch 128 --seconds 5 >"$out0" &
    taskset -c 1 "$BENCH_STEP" "$1" --threads 1 --batch 128 --seconds 5 |
        sed -n 's/^step wall time/core 1: MLP step wall time/p' >"$out0.1"
    wait
    sed -n 's/^step wall time/core 0: MLP step wall time/p' "$out0"
    cat "$out0.1"
    rm -f "$out0" "$out0.1"
}

measure_model() { # label config rows ddp-kind global-batch
    local label=$1 cfg=$2 rows=$3 kind=$4 batch=$5
    for round in $(seq "$ROUNDS"); do
        echo "$label round $round/$ROUNDS (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
        capacity "$BENCH_MLP" | sed 's/^parallel capacity: \([0-9.]*\) cores.*/\1/' >> "$label.capacity"
        if [ "$BITWISE_ONLY" = 1 ]; then
            run "$label-np1t1c0" 1 1 0 true "$cfg" "$rows"
            run "$label-np1t1c0-bitwise" 1 1 0 true "$cfg" "$rows" auto bitwise
            run "$label-np2t1" 2 1 0,1 true "$cfg" "$rows"
            run "$label-np2t1-bitwise" 2 1 0,1 true "$cfg" "$rows" auto bitwise
            continue
        fi
        run "$label-np1t2" 1 2 0,1 true "$cfg" "$rows"
        run "$label-np1t1c0" 1 1 0 true "$cfg" "$rows"
        run "$label-np1t1c1" 1 1 1 true "$cfg" "$rows"
        run "$label-np2t1" 2 1 0,1 true "$cfg" "$rows"
        run_pair "$label-pair" "$cfg" "$rows"
        run "$label-np2t1-nooverlap" 2 1 0,1 false "$cfg" "$rows"
        run "$label-np2t1-mpi" 2 1 0,1 true "$cfg" "$rows" mpi
        run "$label-np1t1c0-bitwise" 1 1 0 true "$cfg" "$rows" auto bitwise
        run "$label-np2t1-bitwise" 2 1 0,1 true "$cfg" "$rows" auto bitwise
        run "$label-np2t1-2x1" 2 1 0,1 true "$cfg" "$rows" auto default 1
        run "$label-np4t1" 4 1 0,1 true "$cfg" "$rows"
        run "$label-np4t1-mpi" 4 1 0,1 true "$cfg" "$rows" mpi
        run "$label-np4t1-2x2" 4 1 0,1 true "$cfg" "$rows" auto default 2
        taskset -c 0,1 "$PYTHON" "$HERE/bench_ddp.py" "$kind" "$batch" 2 "${BENCH_DDP_STEPS:-60}" |
            sed -n 's/^samples\/s //p' >> "$label-ddp.rates"
    done
}

report_model() { # label
    local label=$1
    if [ "$BITWISE_ONLY" = 1 ]; then
        printf '%-5s %-30s %10.0f\n' "$label" "np=1 x 1 thread, core 0" "$(median < "$label-np1t1c0.rates")"
        printf '%-5s %-30s %10.0f\n' "$label" "np=2 x 1 thread" "$(median < "$label-np2t1.rates")"
        report_bitwise "$label"
        return
    fi
    local ddp r12 c0 c1 r21 r21off r21mpi w_on w_off w_mpi
    ddp=$(median < "$label-ddp.rates")
    r12=$(median < "$label-np1t2.rates"); c0=$(median < "$label-np1t1c0.rates")
    c1=$(median < "$label-np1t1c1.rates"); r21=$(median < "$label-np2t1.rates")
    r21off=$(median < "$label-np2t1-nooverlap.rates")
    r21mpi=$(median < "$label-np2t1-mpi.rates")
    w_on=$(median < "$label-np2t1.waits"); w_off=$(median < "$label-np2t1-nooverlap.waits")
    w_mpi=$(median < "$label-np2t1-mpi.waits")
    printf '%-5s %-30s %10.0f\n' "$label" "np=1 x 2 threads" "$r12"
    printf '%-5s %-30s %10.0f\n' "$label" "np=1 x 1 thread, core 0" "$c0"
    printf '%-5s %-30s %10.0f\n' "$label" "np=1 x 1 thread, core 1" "$c1"
    # Efficiencies are taken within each round (its runs follow each other within a minute)
    # and then the median over rounds: the machine's capacity drifts between rounds.
    local eff_c0 eff_both eff_mpi
    eff_c0=$(paste "$label-np2t1.rates" "$label-np1t1c0.rates" |
             awk '{printf "%.1f\n", 100 * $1 / (2 * $2)}' | median)
    eff_both=$(paste "$label-np2t1.rates" "$label-np1t1c0.rates" "$label-np1t1c1.rates" |
               awk '{printf "%.1f\n", 100 * $1 / ($2 + $3)}' | median)
    printf '%-5s %-30s %10.0f   scaling efficiency %.0f%% of 2 x core 0, %.0f%% of core 0 + core 1\n' \
        "$label" "np=2 x 1 thread" "$r21" "$eff_c0" "$eff_both"
    # Round by round, next to the capacity the machine gave at the start of the round.
    paste "$label.capacity" "$label-np2t1.rates" "$label-np1t1c0.rates" "$label-np2t1.waits" |
        awk -v l="$label" '{printf "%-5s   round %d: capacity %.2f cores, scaling %.0f%%, allreduce wait %s%%\n",
                                  l, NR, $1, 100 * $2 / (2 * $3), $4}'
    local pair eff_pair
    pair=$(median < "$label-pair.rates")
    eff_pair=$(paste "$label-pair.rates" "$label-np1t1c0.rates" |
               awk '{printf "%.1f\n", 100 * $1 / (2 * $2)}' | median)
    printf '%-5s %-30s %10.0f   ceiling: %.0f%% of 2 x core 0; np=2 reaches %.0f%% of it\n' \
        "$label" "2 x np=1 x 1 thread at once" "$pair" "$eff_pair" \
        "$(paste "$label-np2t1.rates" "$label-pair.rates" |
           awk '{printf "%.1f\n", 100 * $1 / $2}' | median)"
    printf '%-5s %-30s %10.0f\n' "$label" "np=2 x 1 thread, overlap off" "$r21off"
    printf '%-5s %-30s %10s   allreduce wait %s%% of step time (overlap on), %s%% (off)\n' \
        "$label" "" "" "$w_on" "$w_off"
    eff_mpi=$(paste "$label-np2t1-mpi.rates" "$label-np1t1c0.rates" |
              awk '{printf "%.1f\n", 100 * $1 / (2 * $2)}' | median)
    printf '%-5s %-30s %10.0f   scaling efficiency %.0f%% of 2 x core 0, allreduce wait %s%%\n' \
        "$label" "np=2 x 1 thread, MPI_Iallreduce" "$r21mpi" "$eff_mpi" "$w_mpi"
    report_bitwise "$label"
    report_layouts "$label"
    report_ddp "$label"
}

# train.reproducible: bitwise beside the default, each round's own ratio, then the median.
report_bitwise() { # label
    local label=$1
    local bw1 bw2
    bw1=$(median < "$label-np1t1c0-bitwise.rates"); bw2=$(median < "$label-np2t1-bitwise.rates")
    printf '%-5s %-30s %10.0f   %.0f%% slower than the default mode (rounds: %s)\n' \
        "$label" "np=1 x 1 thread, core 0, bitwise" "$bw1" \
        "$(paste "$label-np1t1c0.rates" "$label-np1t1c0-bitwise.rates" |
           awk '{printf "%.1f\n", 100 * ($1 / $2 - 1)}' | median)" \
        "$(paste "$label-np1t1c0.rates" "$label-np1t1c0-bitwise.rates" |
           awk '{printf "%s%.0f%%", (NR > 1 ? ", " : ""), 100 * ($1 / $2 - 1)}')"
    printf '%-5s %-30s %10.0f   %.0f%% slower than the default mode (rounds: %s)\n' \
        "$label" "np=2 x 1 thread, bitwise" "$bw2" \
        "$(paste "$label-np2t1.rates" "$label-np2t1-bitwise.rates" |
           awk '{printf "%.1f\n", 100 * ($1 / $2 - 1)}' | median)" \
        "$(paste "$label-np2t1.rates" "$label-np2t1-bitwise.rates" |
           awk '{printf "%s%.0f%%", (NR > 1 ? ", " : ""), 100 * ($1 / $2 - 1)}')"
}

# Simulated nodes beside the flat layouts, each round's own ratio, then the median.
report_layouts() { # label
    local label=$1
    local layout base name title mpi
    for layout in "np2t1-2x1:np=2 x 1, 2 nodes x 1 (sim.):np2t1:np2t1-mpi" \
                  "np4t1:np=4 x 1, one node (oversub.):np4t1:np4t1-mpi" \
                  "np4t1-mpi:np=4 x 1, MPI_Iallreduce:np4t1:np4t1-mpi" \
                  "np4t1-2x2:np=4 x 1, 2 nodes x 2 (sim.):np4t1:np4t1-mpi"; do
        IFS=: read -r name title base mpi <<< "$layout"
        printf '%-5s %-30s %10.0f   %.2fx one node (shared memory), %.2fx MPI_Iallreduce; allreduce wait %s%%\n' \
            "$label" "$title" "$(median < "$label-$name.rates")" \
            "$(paste "$label-$name.rates" "$label-$base.rates" | awk '{printf "%.3f\n", $1 / $2}' | median)" \
            "$(paste "$label-$name.rates" "$label-$mpi.rates" | awk '{printf "%.3f\n", $1 / $2}' | median)" \
            "$(median < "$label-$name.waits")"
    done
}

# DDP runs in every round too: the ratio is each round's own, then the median.
report_ddp() { # label
    local label=$1
    local ddp ratio ratios
    ddp=$(median < "$label-ddp.rates")
    ratio=$(paste "$label-np2t1.rates" "$label-ddp.rates" |
            awk '{printf "%.2f\n", $1 / $2}' | median)
    ratios=$(paste "$label-np2t1.rates" "$label-ddp.rates" |
             awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $2}')
    printf '%-5s %-30s %10.0f   nntrain np=2 / DDP = %.2fx (rounds: %s; DDP %s samples/s)\n' \
        "$label" "PyTorch DDP gloo np=2 x 1" "$ddp" "$ratio" "$ratios" \
        "$(sort -n "$label-ddp.rates" | awk '{printf "%s%.0f", (NR > 1 ? ", " : ""), $1}')"
}

capacity_before=$(capacity "$BENCH_MLP")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
sed -e "s#datasets/fashion-mnist.h5#$data#" -e 's/batch_size: 128/batch_size: 256/' \
    -e 's/val: {split: 0.1}/val: none/' "$SOURCE_DIR/launch/configs/mlp.yaml" > mlp.yaml
spread_before=$(step_spread mlp.yaml)
measure_model mlp mlp.yaml "$ROWS" mlp 256
spread_after=$(step_spread mlp.yaml)
have_cnn=0
if [ -f "$SOURCE_DIR/launch/configs/cnn.yaml" ]; then
    have_cnn=1
    sed -e "s#datasets/fashion-mnist.h5#$data#" -e 's/val: {split: 0.1}/val: none/' \
        "$SOURCE_DIR/launch/configs/cnn.yaml" > cnn.yaml
    cnn_batch=$(sed -n 's/.*batch_size: *\([0-9]*\).*/\1/p' cnn.yaml | head -1)
    measure_model cnn cnn.yaml "${BENCH_CNN_ROWS:-6000}" cnn "${cnn_batch:-128}"
fi
capacity_after=$(capacity "$BENCH_MLP")

echo
echo "data-parallel benchmark (MLP $ROWS training rows, $EPOCHS epochs, medians of $ROUNDS rounds;"
echo "load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after)"
echo "before: $capacity_before"
echo "after:  $capacity_after"
echo "before the MLP rounds, both cores at once:"
echo "$spread_before"
echo "after them:"
echo "$spread_after"
printf '%-5s %-30s %10s\n' model configuration samples/s
report_model mlp
if [ "$have_cnn" = 1 ]; then
    report_model cnn
fi

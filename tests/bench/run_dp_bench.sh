#!/bin/bash
# Data-parallel scaling: nntrain's real training loop (`nntrain train`, data gathered from
# the HDF5 split, global sampling) on Fashion-MNIST at np=1 x 2 threads, np=1 x 1 thread and
# np=2 x 1 thread, with the allreduce overlapped with backward and not; PyTorch
# DistributedDataParallel (gloo) at np=2 x 1 thread on the same model and global batch.
#     cmake --build build --target bench-dp
# Models: the MLP (784-256-128-64-10, global batch 256) and, when launch/configs/cnn.yaml
# exists, the small CNN (global batch as in its config).
set -euo pipefail
: "${NNTRAIN:?NNTRAIN must point at the nntrain program}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
ROWS=${BENCH_ROWS:-30000}
EPOCHS=${BENCH_EPOCHS:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-dp.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$WORK"
data=${BENCH_DATA:-${NN_BINARY_DIR:-$WORK}/fashion-mnist.h5}
if [ ! -f "$data" ]; then
    src=/usr/share/datasets/fashion-mnist
    "$NNTRAIN" import idx --images $src/train-images-idx3-ubyte.gz --labels $src/train-labels-idx1-ubyte.gz \
        --test-images $src/t10k-images-idx3-ubyte.gz --test-labels $src/t10k-labels-idx1-ubyte.gz -o "$data" >/dev/null
fi

# Median samples/s over epochs 2.. (epoch 1 warms caches), and the allreduce wait line.
rate_of() { grep '^epoch ' "$1" | tail -n +2 | sed 's/.*  \([0-9]*\) samples\/s.*/\1/' | sort -n |
            awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }
wait_of() { sed -n 's/^allreduce wait: \([0-9.]*\)%.*/\1/p' "$1"; }

run() { # name np threads cpus overlap config
    local name=$1 np=$2 threads=$3 cpus=$4 overlap=$5 cfg=$6
    taskset -c "$cpus" mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$np" \
        "$NNTRAIN" train "$cfg" --set train.threads="$threads" --set train.overlap="$overlap" \
        --set train.epochs="$EPOCHS" --set data.train_rows="[0, $ROWS]" --set data.test=none \
        --set train.checkpoint.every=0 --set train.checkpoint.best=false \
        --run-dir "runs/$name" > "$name.txt" 2>&1 || { cat "$name.txt"; exit 1; }
}

bench_model() { # label config ddp-kind global-batch
    local label=$1 cfg=$2 kind=$3 batch=$4
    run "$label-np1t2" 1 2 0,1 true "$cfg"
    run "$label-np1t1" 1 1 0 true "$cfg"
    run "$label-np2t1" 2 1 0,1 true "$cfg"
    run "$label-np2t1-nooverlap" 2 1 0,1 false "$cfg"
    local ddp
    ddp=$(taskset -c 0,1 "$PYTHON" "$HERE/bench_ddp.py" "$kind" "$batch" 2 "${BENCH_DDP_STEPS:-60}" |
          sed -n 's/^samples\/s //p')
    local r21 r11 r12 w_on w_off
    r12=$(rate_of "$label-np1t2.txt"); r11=$(rate_of "$label-np1t1.txt"); r21=$(rate_of "$label-np2t1.txt")
    w_on=$(wait_of "$label-np2t1.txt"); w_off=$(wait_of "$label-np2t1-nooverlap.txt")
    printf '%-5s %-28s %12s\n' "$label" "np=1 x 2 threads" "$r12"
    printf '%-5s %-28s %12s\n' "$label" "np=1 x 1 thread" "$r11"
    printf '%-5s %-28s %12s   scaling efficiency %s%%\n' "$label" "np=2 x 1 thread" "$r21" \
        "$(awk -v a="$r21" -v b="$r11" 'BEGIN {printf "%.0f", 100 * a / (2 * b)}')"
    printf '%-5s %-28s %12s   allreduce wait %s%% (overlap on), %s%% (off)\n' "$label" \
        "" "" "$w_on" "$w_off"
    printf '%-5s %-28s %12.0f   nntrain np=2 / DDP = %sx\n' "$label" "PyTorch DDP gloo np=2 x 1" \
        "$ddp" "$(awk -v a="$r21" -v b="$ddp" 'BEGIN {printf "%.2f", a / b}')"
}

echo "data-parallel benchmark ($ROWS training rows, $EPOCHS epochs; load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-5s %-28s %12s\n' model configuration samples/s
sed -e "s#datasets/fashion-mnist.h5#$data#" -e 's/batch_size: 128/batch_size: 256/' \
    -e 's/val: {split: 0.1}/val: none/' "$SOURCE_DIR/launch/configs/mlp.yaml" > mlp.yaml
bench_model mlp mlp.yaml mlp 256
if [ -f "$SOURCE_DIR/launch/configs/cnn.yaml" ]; then
    sed -e "s#datasets/fashion-mnist.h5#$data#" -e 's/val: {split: 0.1}/val: none/' \
        "$SOURCE_DIR/launch/configs/cnn.yaml" > cnn.yaml
    batch=$(sed -n 's/.*batch_size: *\([0-9]*\).*/\1/p' cnn.yaml | head -1)
    ROWS=${BENCH_CNN_ROWS:-6000} bench_model cnn cnn.yaml cnn "${batch:-128}"
fi

# bench-data: samples/s of the three data caches (memory: a copy per rank; node: one copy
# per node in shared memory; none: streamed from the file batch by batch) for the MLP and a
# small CNN on Fashion-MNIST stored in chunks of 256 rows, 2 ranks on one node, one epoch
# each, from a warm page cache and from a cold one (the file dropped from the page cache
# with posix_fadvise(DONTNEED) first); with the seconds before the first step (loading) and
# the proportional memory summed over the ranks (the node's total). `none-chunks` streams with
# data.shuffle: chunks (the file's chunks of 256 rows in a random order, rows mixed within
# windows of 4 chunks) instead of the row shuffle. BENCH_DATA_CACHES and BENCH_DATA_PAGES
# (space-separated) run a part of the table.
set -euo pipefail
: "${NNTRAIN:?}" "${NN_SOURCE_DIR:?}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
work=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-bench-data.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
source=${FASHION_MNIST:-$NN_SOURCE_DIR/datasets/fashion-mnist.h5}
/usr/bin/python3 - "$source" <<'PY'
import sys, h5py
src = h5py.File(sys.argv[1], "r")
with h5py.File("fm-chunked.h5", "w") as f:
    for a in src.attrs:
        f.attrs[a] = src.attrs[a]
    for split in ("train", "test"):
        x = src[f"{split}/x"]
        d = f.create_dataset(f"{split}/x", data=x[:], chunks=(256,) + x.shape[1:])
        for a in x.attrs:
            d.attrs[a] = x.attrs[a]
        f[f"{split}/y"] = src[f"{split}/y"][:]
PY
cat > mlp.yaml <<'YAML'
data: {path: fm-chunked.h5, test: none}
model: {input: [1, 28, 28], layers: [{type: dense, units: 256, activation: relu}, {type: dense, units: 128, activation: relu}, {name: out, type: dense, units: 10}]}
train: {epochs: 1, batch_size: 128, loss: cross_entropy, optimizer: {type: adam, lr: 0.001}, checkpoint: {every: 0, best: false}}
YAML
cat > cnn.yaml <<'YAML'
data: {path: fm-chunked.h5, test: none}
model:
  input: [1, 28, 28]
  layers:
    - {type: conv2d, filters: 8, kernel: 3, activation: relu}
    - {type: maxpool, size: 2}
    - {type: conv2d, filters: 16, kernel: 3, activation: relu}
    - {type: maxpool, size: 2}
    - {name: out, type: dense, units: 10}
train: {epochs: 1, batch_size: 128, loss: cross_entropy, optimizer: {type: adam, lr: 0.001}, checkpoint: {every: 0, best: false}}
YAML
drop_cache() {
    /usr/bin/python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' fm-chunked.h5
}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %-11s %-5s %10s %8s %12s\n' model cache page samples/s load_s node_MiB
for model in mlp cnn; do
    for cache in ${BENCH_DATA_CACHES:-memory node none none-chunks}; do
        for page in ${BENCH_DATA_PAGES:-warm cold}; do
            [ $page = cold ] && drop_cache || cat fm-chunked.h5 > /dev/null
            start=$(date +%s.%N)
            flags=(--set data.cache=$cache)
            [ $cache != none-chunks ] || flags=(--set data.cache=none --set data.shuffle=chunks)
            $MPIRUN -np 2 "$NNTRAIN" train $model.yaml "${flags[@]}" --no-progress \
                --run-dir runs/$model-$cache-$page > out.txt
            total=$(echo "$(date +%s.%N) - $start" | bc)
            rate=$(sed -n 's/^epoch 1\/1 .* \([0-9]*\) samples\/s  \([0-9.]*\)s$/\1/p' out.txt)
            epoch=$(sed -n 's/^epoch 1\/1 .* samples\/s  \([0-9.]*\)s$/\1/p' out.txt)
            memory=$(sed -n 's/^memory per rank (MiB): .*(sum \([0-9.]*\))$/\1/p' out.txt)
            printf '%-4s %-11s %-5s %10s %8.1f %12s\n' $model $cache $page "$rate" \
                "$(echo "$total - $epoch" | bc)" "$memory"
        done
    done
done

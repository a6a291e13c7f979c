# data.shuffle: chunks: the same bits whether the samples are streamed or held in memory, and
# at 1 and 2 ranks with exact sums (the order is drawn from the seed alone); another order
# than the row shuffle's; the chunk rows default to the file's HDF5 chunks (and an explicit
# data.shuffle_chunk_rows of the same size gives the same run); refused with sampling: shard
# and on an unchunked file without data.shuffle_chunk_rows.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
/usr/bin/python3 - "$data" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as src, h5py.File("chunked.h5", "w") as dst:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    for split, rows in (("train", 4000), ("test", 500)):
        x = src[split + "/x"][:rows]
        d = dst.create_dataset(split + "/x", data=x, chunks=(100,) + x.shape[1:])
        for k, v in src[split + "/x"].attrs.items():
            d.attrs[k] = v
        dst[split + "/y"] = src[split + "/y"][:rows]
with h5py.File("chunked.h5", "r") as src, h5py.File("contiguous.h5", "w") as dst:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    for name in ("train/x", "train/y", "test/x", "test/y"):
        d = dst.create_dataset(name, data=src[name][:])
        for k, v in src[name].attrs.items():
            d.attrs[k] = v
PY
cat > run.yaml <<'YAML'
data: {path: chunked.h5, val: {split: 0.1}, shuffle: chunks}
model: {input: [1, 28, 28], layers: [{name: fc, type: dense, units: 32, activation: relu},
                                     {name: out, type: dense, units: 10}]}
train: {epochs: 2, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.002}}
seed: 4
YAML
"$NNTRAIN" train run.yaml --set data.cache=memory --run-dir runs/mem1 > mem1.txt
"$NNTRAIN" train run.yaml --set data.cache=none --run-dir runs/none1 > /dev/null
"$NNTRAIN" train run.yaml --set data.shuffle_chunk_rows=100 --run-dir runs/explicit > /dev/null
for run in none1 explicit; do
    $COMPARE runs/mem1/last.h5 runs/$run/last.h5 --exact || fail "$run: not the bits of the in-memory run"
done
$MPIRUN -np 2 "$NNTRAIN" train run.yaml --set data.cache=memory --run-dir runs/mem2 > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train run.yaml --set data.cache=none --run-dir runs/none2 > /dev/null
$COMPARE runs/mem2/last.h5 runs/none2/last.h5 --exact || fail "np=2: streaming changes the weights"
# The order itself does not depend on the ranks: with sums made exact (train.reproducible:
# bitwise), 1 and 2 ranks give the same bits.
"$NNTRAIN" train run.yaml --set train.reproducible=bitwise --run-dir runs/exact1 > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train run.yaml --set data.cache=node --set train.reproducible=bitwise --run-dir runs/exact2 > /dev/null
$COMPARE runs/exact1/last.h5 runs/exact2/last.h5 --exact || fail "the chunk order depends on the number of ranks"
grep "^data: shuffle chunks of 100 rows, in windows of 4 chunks" mem1.txt >/dev/null || { cat mem1.txt; fail "no start-up line for the chunk shuffle"; }
"$NNTRAIN" train run.yaml --set data.shuffle=rows --run-dir runs/rows > /dev/null
! $COMPARE runs/mem1/last.h5 runs/rows/last.h5 --exact > /dev/null || fail "chunks gives the row shuffle's weights"
"$NNTRAIN" train run.yaml --set data.shuffle_chunk_rows=50 --run-dir runs/fifty > /dev/null
! $COMPARE runs/mem1/last.h5 runs/fifty/last.h5 --exact > /dev/null || fail "shuffle_chunk_rows is ignored"

expect_exit 2 "$NNTRAIN" train run.yaml --set data.sampling=shard
grep "chunks orders the chunks of the whole training split, but with sampling: shard" err.txt >/dev/null || fail "shard: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train run.yaml --set data.path=contiguous.h5
grep "/train/x is not stored in chunks; give data.shuffle_chunk_rows" err.txt >/dev/null || fail "unchunked: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train run.yaml --set data.shuffle_window=0
grep "must be >= 1" err.txt >/dev/null || fail "window 0: $(cat err.txt)"
echo "chunk shuffle: same bits at np=1 and 2, streamed or in memory"

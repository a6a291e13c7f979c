# data.cache: none streams each batch's samples from the file: the same bits as in memory
# for the MLP and a CNN with augmentation over 2 epochs, at 1 and 2 ranks, also with shuffled
# pixels, channels-last samples and an autoencoder (data.target: input), for samples stored
# plain (read with pread) and gzip-compressed (read through HDF5); a chunk that fails to read
# mid-epoch stops the run with exit 3 on every rank, leaves the last checkpoint intact, and
# the run resumed mid-epoch once the file is whole again ends with the in-memory run's bits.
# A ~1 GB file trains with a peak resident memory bounded by the batch and cache sizes.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
small_config > mlp.yaml
cat > cnn.yaml <<YAML
data: {path: $data, train_rows: [0, 1200], val: {split: 0.1}, test_rows: [0, 300]}
model:
  input: [1, 28, 28]
  layers:
    - {name: c1, type: conv2d, filters: 4, kernel: 3, activation: relu}
    - {name: p1, type: maxpool, size: 2}
    - {name: out, type: dense, units: 10}
train: {epochs: 2, batch_size: 50, loss: cross_entropy, optimizer: {type: adam, lr: 0.002},
        augment: {shift: 2, flip: true, noise: 0.05}}
seed: 7
YAML
for model in mlp cnn; do
    "$NNTRAIN" train $model.yaml --set data.cache=memory --run-dir runs/$model-mem > $model-mem.txt
    "$NNTRAIN" train $model.yaml --set data.cache=none --run-dir runs/$model-none > $model-none.txt
    grep "^data: cache none (samples streamed" $model-none.txt >/dev/null || fail "$model: not streamed"
    $COMPARE runs/$model-mem/last.h5 runs/$model-none/last.h5 --exact || fail "$model: streaming changes the weights"
    diff <(epoch_lines $model-mem.txt) <(epoch_lines $model-none.txt) || fail "$model: metrics differ"
    diff <(grep '^test:' $model-mem.txt) <(grep '^test:' $model-none.txt) || fail "$model: test differs"
done
$MPIRUN -np 2 "$NNTRAIN" train mlp.yaml --set data.cache=memory --run-dir runs/np2-mem > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train mlp.yaml --set data.cache=none --run-dir runs/np2-none > /dev/null
$COMPARE runs/np2-mem/last.h5 runs/np2-none/last.h5 --exact || fail "np=2: streaming changes the weights"

# What rearranges the samples works on streamed rows too, with the in-memory bits: shuffled
# pixels (one permutation, and one per row), channels-last samples of 3 channels, and an
# autoencoder (data.target: input) whose targets are the streamed clean inputs, augmented
# with noise (a denoising autoencoder), at 1 and 2 ranks.
/usr/bin/python3 - "$data" <<'PY'
import sys, h5py, numpy as np
src = h5py.File(sys.argv[1], "r")
with h5py.File("nhwc.h5", "w") as f:
    f.attrs["num_classes"] = 10
    for split, rows in (("train", 1200), ("test", 300)):
        img = src[f"{split}/x"][:rows, 0]  # N x 28 x 28
        x = np.stack([img, img[:, ::-1, :], img.transpose(0, 2, 1)], axis=-1)  # N x H x W x 3
        d = f.create_dataset(f"{split}/x", data=x, chunks=(32, 28, 28, 3))
        d.attrs["scale"], d.attrs["offset"] = np.float32(1 / 255), np.float32(0)
        f[f"{split}/y"] = src[f"{split}/y"][:rows]
PY
sed -e 's|path: [^,]*,|path: nhwc.h5, layout: nhwc,|' -e 's|input: \[1, 28, 28\]|input: [3, 28, 28]|' cnn.yaml > nhwc.yaml
cat > ae.yaml <<YAML
data: {path: $data, train_rows: [0, 1500], val: {split: 0.2}, test_rows: [0, 300], target: input}
model: {input: [1, 28, 28], layers: [{name: code, type: dense, units: 32, activation: relu},
                                     {name: out, type: dense, units: 784, activation: sigmoid}]}
train: {epochs: 2, batch_size: 50, loss: mse, optimizer: {type: adam, lr: 0.002},
        augment: {noise: 0.1}}
seed: 5
YAML
for case in "pixels-fixed mlp.yaml --set data.shuffle_pixels=fixed" \
            "pixels-random cnn.yaml --set data.shuffle_pixels=random" \
            "nhwc nhwc.yaml" "autoencoder ae.yaml" \
            "autoencoder-pixels ae.yaml --set data.shuffle_pixels=random"; do
    set -- $case
    name=$1
    shift
    for np in 1 2; do
        launch=("$NNTRAIN")
        [ $np -eq 1 ] || launch=($MPIRUN -np $np "$NNTRAIN")
        "${launch[@]}" train "$@" --set data.cache=memory --run-dir runs/$name$np-mem > $name-mem.txt
        "${launch[@]}" train "$@" --set data.cache=none --run-dir runs/$name$np-none > $name-none.txt
        grep "^data: cache none (samples streamed" $name-none.txt >/dev/null || fail "$name: not streamed"
        $COMPARE runs/$name$np-mem/last.h5 runs/$name$np-none/last.h5 --exact \
            || fail "$name, np=$np: streaming changes the weights"
        diff <(epoch_lines $name-mem.txt) <(epoch_lines $name-none.txt) || fail "$name, np=$np: metrics differ"
        diff <(grep '^test:' $name-mem.txt) <(grep '^test:' $name-none.txt) || fail "$name, np=$np: test differs"
    done
    echo "$name: streamed = in memory at np=1 and 2 ($(grep -m1 '^test:' $name-none.txt))"
done
# The streamed channels-last rows are the channels-first file's: the same bits as that file
# held in memory.
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
with h5py.File("nhwc.h5", "r") as src, h5py.File("nchw.h5", "w") as f:
    f.attrs["num_classes"] = 10
    for split in ("train", "test"):
        d = f.create_dataset(f"{split}/x", data=src[f"{split}/x"][:].transpose(0, 3, 1, 2))
        d.attrs["scale"], d.attrs["offset"] = np.float32(1 / 255), np.float32(0)
        f[f"{split}/y"] = src[f"{split}/y"][:]
PY
"$NNTRAIN" train nhwc.yaml --set data.path=nchw.h5 --set data.layout=nchw --set data.cache=memory --run-dir runs/nchw > /dev/null
$COMPARE runs/nchw/last.h5 runs/nhwc1-none/last.h5 --exact || fail "nhwc: streamed rows are not the channels-first ones"

# The same rows, gzip-compressed in chunks of 10 rows; then one chunk's bytes spoiled.
/usr/bin/python3 - "$data" <<'PY'
import sys, shutil, h5py, numpy as np
src = h5py.File(sys.argv[1], "r")
with h5py.File("gz.h5", "w") as f:
    for a in src.attrs:
        f.attrs[a] = src.attrs[a]
    for split, rows in (("train", 2000), ("test", 300)):
        x = f.create_dataset(f"{split}/x", data=src[f"{split}/x"][:rows], chunks=(10, 1, 28, 28),
                             compression="gzip")
        for a in ("scale", "offset"):
            x.attrs[a] = src["train/x"].attrs[a]
        f[f"{split}/y"] = src[f"{split}/y"][:rows]
shutil.copy("gz.h5", "gz-good.h5")
with h5py.File("gz.h5", "r") as f:
    info = f["train/x"].id.get_chunk_info(150)  # rows 1500-1509
with open("gz.h5", "r+b") as f:
    f.seek(info.byte_offset)
    f.write(b"\xff" * info.size)
PY
cat > gz.yaml <<'YAML'
data: {path: gz.h5, cache: none}
model: {input: [1, 28, 28], layers: [{name: fc, type: dense, units: 16, activation: relu}, {name: out, type: dense, units: 10}]}
train: {epochs: 2, batch_size: 100, loss: cross_entropy, optimizer: {type: sgd, lr: 0.05},
        checkpoint: {every_steps: 1}}
seed: 3
YAML
"$NNTRAIN" train gz.yaml --set data.path=gz-good.h5 --set data.cache=memory --run-dir runs/gz-mem > /dev/null
"$NNTRAIN" train gz.yaml --set data.path=gz-good.h5 --run-dir runs/gz-good > /dev/null
$COMPARE runs/gz-mem/last.h5 runs/gz-good/last.h5 --exact || fail "compressed: streaming changes the weights"
expect_exit 3 $MPIRUN -np 2 "$NNTRAIN" train gz.yaml --run-dir runs/gz
grep "gz.h5: /train/x: reading rows 15[0-9][0-9] to 15[0-9][0-9] failed" err.txt >/dev/null || { cat err.txt; fail "the failed read is not named"; }
/usr/bin/python3 - <<'PY' || fail "the last checkpoint is not a complete mid-epoch one"
import h5py
with h5py.File("runs/gz/last.h5", "r") as f:
    epoch, step = int(f["meta"].attrs["epoch"]), int(f["meta"].attrs["step"])
    print("failed run's last checkpoint: epoch", epoch, "step", step)
    assert step > 0, "not inside an epoch"
PY
cp gz-good.h5 gz.h5
$MPIRUN -np 2 "$NNTRAIN" train gz.yaml --resume runs/gz > resumed.txt
$MPIRUN -np 2 "$NNTRAIN" train gz.yaml --set data.cache=memory --run-dir runs/gz-np2-mem > /dev/null
$COMPARE runs/gz-np2-mem/last.h5 runs/gz/last.h5 --exact || fail "resumed mid-epoch: not the in-memory bits"

# About 1 GB of samples (87,400 rows of 3 x 64 x 64 bytes, chunks of 64 rows) trained for
# one epoch: the peak resident memory stays within what a small file of the same layout
# needs plus the streamed buffers and chunk cache the start-up line states, plus 16 MiB.
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(1)
for name, rows in (("big.h5", 87400), ("tiny.h5", 1000)):
    with h5py.File(name, "w") as f:
        f.attrs["num_classes"] = 10
        x = f.create_dataset("train/x", (rows, 3, 64, 64), dtype="u1", chunks=(64, 3, 64, 64))
        for start in range(0, rows, 6400):
            n = min(6400, rows - start)
            x[start:start + n] = rng.integers(0, 256, (n, 3, 64, 64), dtype=np.uint8)
        x.attrs["scale"], x.attrs["offset"] = np.float32(1 / 255), np.float32(0)
        f["train/y"] = rng.integers(0, 10, rows).astype(np.int32)
PY
size=$(stat -c %s big.h5)
[ "$size" -gt 1000000000 ] || fail "big.h5 is only $size bytes"
cat > big.yaml <<'YAML'
data: {path: big.h5}
model: {input: [3, 64, 64], layers: [{name: out, type: dense, units: 10}]}
train: {epochs: 1, batch_size: 256, loss: cross_entropy, optimizer: {type: sgd, lr: 0.01},
        checkpoint: {every: 1}}
YAML
"$NNTRAIN" train big.yaml --set data.path=tiny.h5 --set data.cache=memory --run-dir runs/tiny > tiny.txt
"$NNTRAIN" train big.yaml --set data.cache=none --run-dir runs/big > big.txt
peak() { sed -n 's/^memory per rank (MiB): peak resident \([0-9.]*\);.*/\1/p' "$1"; }
buffers=$(sed -n 's/^data: cache none .* \([0-9.]*\) MiB of buffers and chunk cache per rank$/\1/p' big.txt)
tiny_data=$(sed -n 's/^data: cache memory (a copy per rank): \([0-9.]*\) MiB per rank.*/\1/p' tiny.txt)
[ -n "$buffers" ] && [ -n "$tiny_data" ] || fail "no data lines: $(grep ^data big.txt tiny.txt)"
/usr/bin/python3 - "$(peak tiny.txt)" "$tiny_data" "$buffers" "$(peak big.txt)" "$size" <<'PY' || fail "streaming holds too much"
import sys
tiny_peak, tiny_data, buffers, big_peak, size = map(float, sys.argv[1:])
# The tiny run's own pages, the streamed buffers, the big split's labels (4 bytes a row).
bound = (tiny_peak - tiny_data) + buffers + 87400 * 4 / 2**20 + 16
print(f"streaming {size / 2**20:.0f} MiB: peak resident {big_peak:.1f} MiB, bound {bound:.1f} MiB")
sys.exit(0 if big_peak <= bound else 1)
PY
echo "streaming: same bits as in memory, memory bounded by the batch"

# data.path as a list of files, a glob and an HDF5 virtual dataset made by h5py: the splits
# are the files' rows concatenated in order, so training gives the same bits as on one file
# holding the same rows (also through the node cache at 2 ranks, whose shares cross the file
# boundaries). Resuming with another list of files is refused; files of different layouts,
# a pattern that matches nothing and a virtual dataset whose source file is gone are clear
# errors.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
/usr/bin/python3 - "$data" <<'PY'
import sys, h5py, numpy as np
src = h5py.File(sys.argv[1], "r")
train_cut, test_cut = [0, 1500, 2600, 4000], [0, 300, 301, 1000]
def put(f, split, x, y):
    f[f"{split}/x"] = x
    f[f"{split}/y"] = y
    for a in ("scale", "offset"):
        f[f"{split}/x"].attrs[a] = src["train/x"].attrs[a]
def classes(f):
    for a in src.attrs:
        f.attrs[a] = src.attrs[a]
tx, ty = src["train/x"][:4000], src["train/y"][:4000]
vx, vy = src["test/x"][:1000], src["test/y"][:1000]
with h5py.File("whole.h5", "w") as f:
    classes(f); put(f, "train", tx, ty); put(f, "test", vx, vy)
for i in range(3):
    with h5py.File(f"part-{i}.h5", "w") as f:
        classes(f)
        put(f, "train", tx[train_cut[i]:train_cut[i + 1]], ty[train_cut[i]:train_cut[i + 1]])
        put(f, "test", vx[test_cut[i]:test_cut[i + 1]], vy[test_cut[i]:test_cut[i + 1]])
# A virtual dataset over the parts, as h5py makes it (relative source names).
with h5py.File("virtual.h5", "w") as f:
    classes(f)
    for split, cut, ref in (("train", train_cut, tx), ("test", test_cut, vx)):
        for name, shape, dtype in (("x", ref.shape, ref.dtype), ("y", (cut[-1],), ty.dtype)):
            layout = h5py.VirtualLayout(shape=(cut[-1],) + shape[1:], dtype=dtype)
            for i in range(3):
                rows = cut[i + 1] - cut[i]
                layout[cut[i]:cut[i + 1]] = h5py.VirtualSource(
                    f"part-{i}.h5", f"{split}/{name}", shape=(rows,) + shape[1:])
            d = f.create_virtual_dataset(f"{split}/{name}", layout)
            if name == "x":
                for a in ("scale", "offset"):
                    d.attrs[a] = src["train/x"].attrs[a]
# A part of another layout: float samples.
with h5py.File("float-part.h5", "w") as f:
    classes(f)
    put(f, "train", tx[:10].astype(np.float32) / 255, ty[:10])
    put(f, "test", vx[:10].astype(np.float32) / 255, vy[:10])
PY
cat > files.yaml <<'YAML'
data: {path: whole.h5, val: {split: 0.1}}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 32, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 2, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.002}}
seed: 5
YAML
"$NNTRAIN" train files.yaml --run-dir runs/whole > whole.txt
grep "4000\|3600 training samples" whole.txt >/dev/null || fail "whole file: unexpected size"
"$NNTRAIN" train files.yaml --set 'data.path=[part-0.h5, part-1.h5, part-2.h5]' --run-dir runs/list > list.txt
"$NNTRAIN" train files.yaml --set 'data.path=part-*.h5' --run-dir runs/glob > glob.txt
"$NNTRAIN" train files.yaml --set data.path=virtual.h5 --run-dir runs/virtual > virtual.txt
$MPIRUN -np 2 "$NNTRAIN" train files.yaml --set 'data.path=[part-0.h5, part-1.h5, part-2.h5]' \
    --set data.cache=node --run-dir runs/list-node > list-node.txt
# Two ranks sum in another order than one: the node cache over the list is compared with a
# copy per rank of the one file, at 2 ranks.
$MPIRUN -np 2 "$NNTRAIN" train files.yaml --set data.cache=memory --run-dir runs/whole-np2 > whole-np2.txt
$COMPARE runs/whole-np2/last.h5 runs/list-node/last.h5 --exact || fail "list-node: not the bits of one file"
for run in list glob virtual; do
    $COMPARE runs/whole/last.h5 runs/$run/last.h5 --exact || fail "$run: not the bits of one file"
    diff <(grep '^test:' whole.txt) <(grep '^test:' $run.txt) || fail "$run: test metrics differ"
done
# Evaluation reads the checkpoint's list of files.
"$NNTRAIN" eval runs/list/last.h5 > eval-list.txt
"$NNTRAIN" eval runs/whole/last.h5 > eval-whole.txt
diff eval-whole.txt eval-list.txt || fail "eval over the list differs"

# Resuming with another list of files (the same rows split otherwise, or fewer) is refused.
"$NNTRAIN" train files.yaml --set 'data.path=part-*.h5' --set train.epochs=1 --run-dir runs/resume > /dev/null
expect_exit 2 "$NNTRAIN" train files.yaml --set 'data.path=[part-0.h5, part-1.h5]' --set train.epochs=2 \
    --resume runs/resume
grep "resume: the data differ" err.txt >/dev/null || fail "a shorter list was not refused"
"$NNTRAIN" train files.yaml --set 'data.path=part-*.h5' --set train.epochs=2 --resume runs/resume > resumed.txt
$COMPARE runs/glob/last.h5 runs/resume/last.h5 --exact || fail "resumed over the same files differs"

expect_exit 3 "$NNTRAIN" train files.yaml --set 'data.path=[part-0.h5, float-part.h5]'
grep "float-part.h5: /train: its sample type differs from part-0.h5's" err.txt >/dev/null || fail "layout mismatch: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train files.yaml --set 'data.path=nothing-*.h5'
grep "no file matches 'nothing-\*.h5'" err.txt >/dev/null || fail "empty glob: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train files.yaml --set 'data.path=[]'
mv part-1.h5 moved.h5
expect_exit 3 "$NNTRAIN" train files.yaml --set data.path=virtual.h5
grep "virtual.h5: /train/x: a virtual dataset whose source file part-1.h5 cannot be read" err.txt >/dev/null \
    || fail "missing virtual source: $(cat err.txt)"
echo "many files: same bits as one file"

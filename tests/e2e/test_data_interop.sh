# Data interop: arrays under other names (data.x, data.y) and channels-last images
# (data.layout: nhwc) train exactly as the canonical file does; a layout mix-up is a clear
# error naming the fix; CSV class names round-trip through import (class_names, sorted) and a
# pandas index column is dropped by name or refused; a regression model's predict writes
# outputs only and its metrics.csv has no accuracy columns.
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(1)
with h5py.File("nchw.h5", "w") as a, h5py.File("nhwc.h5", "w") as b:
    for split, n in (("train", 480), ("test", 160)):
        x = rng.random((n, 3, 6, 5), dtype=np.float32)
        y = (x[:, 0, :3].mean((1, 2)) > x[:, 2, 3:].mean((1, 2))).astype(np.int64)
        a[f"{split}/x"] = x
        a[f"{split}/y"] = y
        b[f"{split}/X_{split}"] = x.transpose(0, 2, 3, 1)   # N x H x W x C, as h5py users keep it
        b[f"{split}/y_{split}"] = y
PY
cat > img.yaml <<'YAML'
data: {path: nchw.h5}
model:
  input: [3, 6, 5]
  layers:
    - {name: c, type: conv2d, filters: 4, kernel: 3, padding: same, activation: relu}
    - {name: out, type: dense, units: 2}
train: {epochs: 2, batch_size: 32, loss: cross_entropy, optimizer: {type: adam, lr: 0.01}}
seed: 4
YAML
"$NNTRAIN" train img.yaml --no-progress --run-dir canonical > out1.txt
# The split's own names: X_train / y_train for train, X_test / y_test for test.
expect_exit 3 "$NNTRAIN" train img.yaml --no-progress --run-dir missing --set data.path=nhwc.h5 \
    --set data.layout=nhwc --set data.x=X_train --set data.y=y_train
grep -q "/test/X_train: no such dataset" err.txt || fail "missing array not named: $(cat err.txt)"
"$NNTRAIN" train img.yaml --no-progress --run-dir nhwc --set data.path=nhwc.h5 \
    --set data.layout=nhwc --set data.x=X_train --set data.y=y_train --set data.test=none > out2.txt
"$NNTRAIN" train img.yaml --no-progress --run-dir canonical2 --set data.test=none > out3.txt
diff <(cut -d, -f1-6 canonical2/metrics.csv) <(cut -d, -f1-6 nhwc/metrics.csv) ||
    fail "data.layout: nhwc trains differently from the channels-first file"

# Without data.layout the channels-last file is refused, with the fix named.
expect_exit 2 "$NNTRAIN" train img.yaml --no-progress --run-dir bad1 --set data.path=nhwc.h5 \
    --set data.x=X_train --set data.y=y_train --set data.test=none
grep -q "channels-last.*data.layout: nhwc" err.txt || fail "NHWC mix-up message: $(cat err.txt)"
grep -q "img.yaml:3:" err.txt || fail "the message names no config line: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train img.yaml --no-progress --run-dir bad2 --set data.layout=nhwc
grep -q "already channels-first.*remove data.layout" err.txt || fail "NCHW read as NHWC: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train img.yaml --no-progress --run-dir bad3 --set "model.input=[3, 5, 6]"
grep -q "height 5 (model) vs 6 (file)" err.txt || fail "dimension not named: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train img.yaml --no-progress --run-dir bad4 --set data.layout=nhw
grep -q "nchw" err.txt || fail "unknown layout: $(cat err.txt)"

# CSV with class names and pandas' unnamed index column.
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(2)
names = ["setosa", "versicolor", "virginica"]
for split, n in (("train", 300), ("test", 60)):
    with open(f"{split}.csv", "w") as f:
        f.write(",length,width,species\n")
        for i in range(n):
            k = int(rng.integers(0, 3))
            f.write(f"{i},{k + rng.normal(0, 0.2):.4f},{-k + rng.normal(0, 0.2):.4f},{names[k]}\n")
PY
expect_exit 3 "$NNTRAIN" import csv --train train.csv -o iris.h5
grep -q "train.csv:1:1: the column has no name.*--index-column" err.txt || fail "unnamed index: $(cat err.txt)"
[ ! -e iris.h5 ] || fail "a refused import left a file"
expect_exit 3 "$NNTRAIN" import csv --train train.csv --index-column id -o iris.h5
grep -q "no column named 'id'" err.txt || fail "unknown index column: $(cat err.txt)"
"$NNTRAIN" import csv --train train.csv --test test.csv --index-column '' -o iris.h5 > /dev/null
/usr/bin/python3 - <<'PY' || fail "CSV class names did not round-trip"
import csv
import h5py
with h5py.File("iris.h5", "r") as f:
    names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["class_names"]]
    assert names == ["setosa", "versicolor", "virginica"], names
    assert int(f.attrs["num_classes"]) == 3
    for split in ("train", "test"):
        x, y = f[f"{split}/x"][()], f[f"{split}/y"][()]
        rows = list(csv.reader(open(f"{split}.csv")))[1:]
        assert x.shape == (len(rows), 2), x.shape          # the index column is gone
        for r, row in enumerate(rows):
            assert names[y[r]] == row[3], (split, r, row)
            assert abs(x[r, 0] - float(row[1])) < 1e-6, (split, r)
PY
cat > iris.yaml <<'YAML'
data: {path: iris.h5}
model: {input: [2], mlp: [16, 3]}
train: {epochs: 8, batch_size: 20, loss: cross_entropy, optimizer: {type: adam, lr: 0.05}}
YAML
"$NNTRAIN" train iris.yaml --no-progress --run-dir iris > out4.txt
awk '/^test:/ { exit !($5 > 0.9) }' out4.txt || fail "string-label CSV did not train: $(tail -1 out4.txt)"

# Every flag of import csv / idx is in its --help.
"$NNTRAIN" import csv --help > help.txt
for flag in train test label-column targets index-column header no-header delimiter output; do
    grep -q -- "--$flag" help.txt || fail "import csv --help lacks --$flag"
done
"$NNTRAIN" import idx --help | grep -q -- "--test-labels" || fail "import idx --help"
expect_exit 2 "$NNTRAIN" import csv --train train.csv --indexcolumn x -o y.h5
grep -q "index-column" err.txt || fail "no closest flag suggested: $(cat err.txt)"

# Regression: outputs only, no accuracy columns.
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(3)
with h5py.File("reg.h5", "w") as f:
    for split, n in (("train", 256), ("test", 64)):
        x = rng.standard_normal((n, 4)).astype(np.float32)
        f[f"{split}/x"] = x
        f[f"{split}/y"] = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32))
PY
cat > reg.yaml <<'YAML'
data: {path: reg.h5, val: {split: 0.25}}
model: {input: [4], mlp: [8, 1]}
train: {epochs: 2, batch_size: 32, loss: mse, optimizer: {type: adam, lr: 0.01}}
YAML
"$NNTRAIN" train reg.yaml --no-progress --run-dir reg > out5.txt
[ "$(head -1 reg/metrics.csv)" = "epoch,lr,loss,val_loss,seconds,samples_per_second" ] ||
    fail "regression metrics.csv header: $(head -1 reg/metrics.csv)"
[ "$(head -1 canonical/metrics.csv | cut -d, -f4)" = accuracy ] || fail "classification lost accuracy"
"$NNTRAIN" predict reg/last.h5 -o reg-pred.h5 > /dev/null
"$NNTRAIN" predict canonical/last.h5 -o img-pred.h5 > /dev/null
/usr/bin/python3 - <<'PY' || fail "predict datasets"
import h5py
with h5py.File("reg-pred.h5", "r") as f:
    assert sorted(f.keys()) == ["outputs"], list(f.keys())
    assert f["outputs"].shape == (64, 1)
with h5py.File("img-pred.h5", "r") as f:
    assert sorted(f.keys()) == ["classes", "outputs"], list(f.keys())
PY
echo "data interop: ok"

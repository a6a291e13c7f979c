# Training options end to end on Fashion-MNIST:
# - train.schedule (with warmup) and lr_scaling: linear set the lr column of metrics.csv;
# - early stopping on a run engineered to overfit (few rows, a wide layer, a large lr) stops
#   `patience` epochs after the best one and restores its weights: last.h5 then equals
#   best.h5, and evaluating it gives the printed test numbers' model;
# - a frozen layer (trainable: false, weights from a file) keeps its weights exactly, even
#   under decoupled weight decay and L1, while the others train.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)

# ---- schedule and lr scaling ------------------------------------------------------------
cat > sched.yaml <<YAML
data: {path: $data, train_rows: [0, 256], test: none}
model: {input: [1, 28, 28], mlp: [16, 10]}
train:
  epochs: 5
  batch_size: 64                # 4 steps per epoch
  lr_scaling: linear
  lr_reference_batch: 32        # lr x 2
  loss: cross_entropy
  optimizer: {type: sgd, lr: 0.01}
  schedule: {type: step, gamma: 0.5, step_size: 2, warmup_epochs: 1}
seed: 1
YAML
"$NNTRAIN" train sched.yaml --no-progress --run-dir sched > out.txt || { cat out.txt; fail "schedule run"; }
# The lr column is the lr of each epoch's last step: epoch 1 ends warmup at step 3 of 4,
# factor 1/3 + 2/3 * 3/4 = 5/6; then 0.02 halved every 2 epochs.
/usr/bin/python3 - <<'PY' || fail "lr column of metrics.csv does not follow the schedule"
import csv
rows = list(csv.DictReader(open("sched/metrics.csv")))
got = [float(r["lr"]) for r in rows]
want = [0.02 * 5 / 6, 0.02, 0.01, 0.01, 0.005]
print("lr column:", got)
assert len(got) == 5 and all(abs(g - w) <= 1e-7 * w for g, w in zip(got, want)), want
PY

# ---- early stopping with restore_best ---------------------------------------------------
cat > es.yaml <<YAML
data: {path: $data, train_rows: [0, 400], val: {split: 0.5}, test_rows: [0, 500]}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 256, activation: relu}
    - {name: out, type: dense, units: 10}
train:
  epochs: 40
  batch_size: 20
  loss: cross_entropy
  optimizer: {type: adam, lr: 0.003}
  early_stopping: {monitor: val_loss, patience: 3, restore_best: true}
  checkpoint: {every: 1, keep: 40}
seed: 4
YAML
"$NNTRAIN" train es.yaml --no-progress --run-dir es > out.txt || { cat out.txt; fail "early stopping run"; }
cat out.txt
best_epoch=$(/usr/bin/python3 - <<'PY'
import csv
rows = list(csv.DictReader(open("es/metrics.csv")))
losses = [float(r["val_loss"]) for r in rows]
best = min(range(len(losses)), key=lambda i: (losses[i], i)) + 1
# Every epoch after the best is worse than it, and the run stopped 3 epochs later.
assert all(l >= losses[best - 1] for l in losses[best:]), losses
assert len(rows) == best + 3, f"{len(rows)} epochs run, best {best}, patience 3: {losses}"
print(best)
PY
) || fail "early stopping did not stop patience epochs after the best one"
[ "$best_epoch" -lt 37 ] || fail "the run did not overfit (best epoch $best_epoch)"
grep -q "^early stopping: val_loss has not improved for 3 epochs (best [0-9.]* at epoch $best_epoch)" out.txt ||
    fail "early stopping message"
grep -q "^restored the weights of epoch $best_epoch " out.txt || fail "restore message"
# The final model is the best epoch's: last.h5 equals best.h5 and the epoch-N file of the
# best epoch, and differs from the last epoch trained.
$COMPARE es/last.h5 es/best.h5 --exact || fail "last.h5 does not hold the restored weights"
$COMPARE es/last.h5 "es/epoch-$(printf %03d "$best_epoch").h5" --exact ||
    fail "last.h5 differs from the best epoch's checkpoint"
last_epoch=$(printf %03d $((best_epoch + 3)))
if $COMPARE es/last.h5 "es/epoch-$last_epoch.h5" --exact >/dev/null 2>&1; then
    fail "epoch-$last_epoch.h5 should keep the weights the last epoch ended with"
fi
"$NNTRAIN" eval es/last.h5 > eval_last.txt
"$NNTRAIN" eval es/best.h5 > eval_best.txt
"$NNTRAIN" eval "es/epoch-$last_epoch.h5" > eval_end.txt
cmp -s eval_last.txt eval_best.txt || fail "eval of last.h5 and best.h5 differ"
cmp -s eval_last.txt eval_end.txt && fail "eval of the last epoch equals the restored model's"

# patience 0 stops at the first epoch without improvement.
"$NNTRAIN" train es.yaml --no-progress --run-dir es0 --set train.early_stopping.patience=0 \
    --set train.early_stopping.restore_best=false > out.txt
/usr/bin/python3 - <<'PY' || fail "patience 0"
import csv
losses = [float(r["val_loss"]) for r in csv.DictReader(open("es0/metrics.csv"))]
assert all(b < a for a, b in zip(losses[:-2], losses[1:-1])) and losses[-1] >= losses[-2], losses
PY

# ---- frozen layers ----------------------------------------------------------------------
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(2)
with h5py.File("fc1.h5", "w") as f:
    f["pca/components"] = (rng.standard_normal((32, 784)) * 0.05).astype(np.float32)
PY
cat > frozen.yaml <<YAML
data: {path: $data, train_rows: [0, 1000], test: none}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 32, activation: relu, trainable: false,
       init: {type: file, path: fc1.h5, dataset: pca/components},
       bias_init: {type: constant, value: 0.1}}
    - {name: fc2, type: dense, units: 16, activation: tanh}
    - {name: out, type: dense, units: 10}
train:
  epochs: 2
  batch_size: 50
  loss: cross_entropy
  optimizer: {type: adamw, lr: 0.01, weight_decay: 0.5, l1: 0.001}
seed: 9
YAML
"$NNTRAIN" train frozen.yaml --no-progress --run-dir frozen > out.txt || { cat out.txt; fail "frozen run"; }
grep -q "parameters (698 trainable)" out.txt || { cat out.txt; fail "frozen parameters counted as trainable"; }
/usr/bin/python3 - <<'PY' || fail "frozen layer changed or the others did not train"
import h5py
import numpy as np
with h5py.File("fc1.h5", "r") as f:
    initial = f["pca/components"][()]
with h5py.File("frozen/last.h5", "r") as f, h5py.File("frozen/epoch-001.h5", "r") as e:
    assert np.array_equal(f["params/fc1/weight"][()], initial), "fc1.weight changed"
    assert np.array_equal(f["params/fc1/bias"][()], np.full(32, 0.1, np.float32)), "fc1.bias"
    for name in ("fc2/weight", "fc2/bias", "out/weight", "out/bias"):
        moved = np.abs(f["params/" + name][()] - e["params/" + name][()]).max()
        assert moved > 1e-4, f"{name} did not train in epoch 2 ({moved})"
PY
echo "train options: ok"

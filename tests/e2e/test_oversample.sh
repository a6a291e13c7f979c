# data.oversample end to end: an imbalanced 3-class table (300 : 60 : 30 rows) trained with
# smote and with random oversampling; the run says how many rows it added (the smaller classes
# brought up to the largest: 240 + 270), 2 ranks train to the weights of 1 (1e-4; smote with
# a copy of the split per rank, random beside the node's shared copy), and the config errors
# are one line, exit 2.
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(4)
counts = [300, 60, 30]
y = np.concatenate([np.full(n, c, np.int32) for c, n in enumerate(counts)])
x = rng.standard_normal((len(y), 5)).astype(np.float32) + y[:, None] * 0.8
order = rng.permutation(len(y))
with h5py.File("table.h5", "w") as f:
    f["train/x"], f["train/y"] = x[order], y[order]
    f["test/x"], f["test/y"] = x[:60], y[:60]
PY
cat > table.yaml <<'YAML'
data: {path: table.h5, oversample: {method: smote, k: 5}}
model: {input: [5], layers: [{type: dense, units: 16, activation: relu}, {type: dense, units: 3}]}
train: {epochs: 3, batch_size: 32, loss: cross_entropy, optimizer: {type: adam, lr: 0.01}}
seed: 5
YAML
"$NNTRAIN" train table.yaml --no-progress --run-dir one > one.txt || { cat one.txt; fail "smote run"; }
grep "oversampling: 510 training rows added to the smaller classes" one.txt > /dev/null ||
    { cat one.txt; fail "smote count"; }
grep "900 training samples" one.txt > /dev/null || { cat one.txt; fail "900 rows after smote"; }
$MPIRUN -np 2 "$NNTRAIN" train table.yaml --no-progress --run-dir two > two.txt 2>&1 ||
    { cat two.txt; fail "2-rank smote run"; }
$COMPARE one/last.h5 two/last.h5 --rtol 1e-4 --groups params || fail "2 ranks differ from 1"
"$NNTRAIN" train table.yaml --no-progress --run-dir rnd \
    --set 'data.oversample={method: random, ratio: 0.5}' > rnd.txt || fail "random run"
grep "oversampling: 210 training rows added" rnd.txt > /dev/null || { cat rnd.txt; fail "random count"; }
# random keeps the node's shared copy (data.cache auto at 2 ranks): the same weights as 1 rank
$MPIRUN -np 2 "$NNTRAIN" train table.yaml --no-progress --run-dir rnd2 \
    --set 'data.oversample={method: random, ratio: 0.5}' > rnd2.txt 2>&1 ||
    { cat rnd2.txt; fail "2-rank random run"; }
$COMPARE rnd/last.h5 rnd2/last.h5 --rtol 1e-4 --groups params || fail "random: 2 ranks differ"
expect_exit 2 "$NNTRAIN" train table.yaml --no-progress --run-dir bad0 --set data.cache=node
grep "node shares one read-only copy, but data.oversample smote appends rows" "$WORK/err.txt" \
    > /dev/null || { cat "$WORK/err.txt"; fail "smote with a node cache message"; }
expect_exit 2 "$NNTRAIN" train table.yaml --no-progress --run-dir bad1 \
    --set 'data.oversample={method: smote, ratio: 2}'
grep "must be in (0, 1\]" "$WORK/err.txt" > /dev/null || { cat "$WORK/err.txt"; fail "ratio message"; }
expect_exit 2 "$NNTRAIN" train table.yaml --no-progress --run-dir bad2 --set data.sampling=shard
grep "needs sampling: global" "$WORK/err.txt" > /dev/null || { cat "$WORK/err.txt"; fail "shard message"; }
[ "$(wc -l < "$WORK/err.txt")" -eq 1 ] || fail "more than one line"
echo "PASS"

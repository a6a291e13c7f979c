# Variable-length sequences end to end: sequences of 4-12 steps padded to 12 with x_lengths,
# label sequences with y_lengths (labels, not -1, after them), a bidirectional lstm, a dense
# layer per step and ctc. The padding is never read: a file whose padded steps and padded
# labels hold other values trains to bit-identical weights. 2 ranks train to the weights of
# 1 (1e-4); eval's label error rate equals the one computed from predict's decodings of the
# valid steps. A per-step mse on a sequence output trains too (masked), a loss that cannot
# skip padded steps is a config error. Lengths of 0, beyond T or beyond y's width: one line,
# exit 3.
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(0)
T, F = 12, 4

def make(n, pad_x, pad_y):
    x = 0.3 * rng.standard_normal((n, T, F)).astype(np.float32)
    y = np.full((n, 3), pad_y, np.float32)
    x_len = np.zeros(n, np.int32)
    y_len = np.zeros(n, np.int32)
    for i in range(n):
        k = rng.integers(1, 4)
        symbols = rng.integers(1, F, k)          # classes 1..3; 0 is the blank
        for j, s in enumerate(symbols):          # each symbol: 2 steps, then a gap
            x[i, 4 * j:4 * j + 2, s] += 1.5
        y[i, :k] = symbols
        y_len[i] = k
        x_len[i] = min(T, 4 * k + rng.integers(0, 3))
        x[i, x_len[i]:] = pad_x
    return x, y, x_len, y_len

data = {}
for split, n in (("test", 128), ("train", 512)):
    data[split] = make(n, 0.0, 1)
for name, pad_x, pad_y in (("seq.h5", 0.0, 1), ("other.h5", 7.0, 2)):
    with h5py.File(name, "w") as f:
        for split, (x, y, x_len, y_len) in data.items():
            x = x.copy()
            y = y.copy()
            for i in range(len(x)):
                x[i, x_len[i]:] = pad_x
                y[i, y_len[i]:] = pad_y
            f[split + "/x"], f[split + "/y"] = x, y
            f[split + "/x_lengths"], f[split + "/y_lengths"] = x_len, y_len
        x, y, x_len, y_len = data["train"]
        f["zero/x"], f["zero/y"], f["zero/y_lengths"] = x, y, y_len
        bad = x_len.copy()
        bad[5] = 0
        f["zero/x_lengths"] = bad
        f["long/x"], f["long/y"], f["long/y_lengths"] = x, y, y_len
        bad = x_len.copy()
        bad[9] = 13
        f["long/x_lengths"] = bad
        f["ylong/x"], f["ylong/y"], f["ylong/x_lengths"] = x, y, x_len
        bad = y_len.copy()
        bad[2] = 4
        f["ylong/y_lengths"] = bad
        # regression per step: the running sum of feature 0 over the valid steps
        f["sum/x"], f["sum/x_lengths"] = x, x_len
        f["sum/y"] = np.cumsum(x[:, :, :1], axis=1).reshape(len(x), T)
PY
cat > seq.yaml <<'YAML'
data: {path: seq.h5, train_rows: [0, 448], val: {rows: [448, 512]}}
model:
  input: [12, 4]
  layers:
    - {name: read, type: lstm, units: 12, bidirectional: true, return_sequences: true}
    - {name: scores, type: dense, units: 4}
train: {epochs: 8, batch_size: 32, loss: {type: ctc, classes: 4}, clip: {norm: 5},
        optimizer: {type: adam, lr: 0.01}}
seed: 3
YAML
"$NNTRAIN" train seq.yaml --no-progress --run-dir one > out.txt || { cat out.txt; fail "training"; }
cat out.txt
"$NNTRAIN" train seq.yaml --no-progress --run-dir other --set data.path=other.h5 > /dev/null ||
    fail "training on other padding"
$COMPARE one/last.h5 other/last.h5 --exact --groups params ||
    fail "the padded steps or labels changed the training"
"$NNTRAIN" eval one/last.h5 > eval.txt
cat eval.txt
ler=$(sed -n 's/.*label_error_rate \([0-9.]*\).*/\1/p' eval.txt)
[ -n "$ler" ] || fail "eval printed no label error rate"
awk -v r="$ler" 'BEGIN { exit !(r < 0.3) }' || fail "label error rate $ler: the model did not learn"
"$NNTRAIN" predict one/last.h5 -o pred.h5 > /dev/null
/usr/bin/python3 - "$ler" <<'PY'
import sys
import h5py
import numpy as np
def distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
    return d[len(b)]
with h5py.File("seq.h5") as f:
    y, y_len, x_len = f["test/y"][()], f["test/y_lengths"][()], f["test/x_lengths"][()]
with h5py.File("pred.h5") as f:
    outputs = f["outputs"][()].reshape(len(y), 12, 4)
    decoded = f["decoded"][()]
edits = labels = 0
for row, scores, target, n, steps in zip(decoded, outputs, y, y_len, x_len):
    best = scores[:steps].argmax(1)     # greedy over the valid steps only
    mine = [int(c) for i, c in enumerate(best) if c != 0 and (i == 0 or c != best[i - 1])]
    got = [int(v) for v in row if v >= 0]
    assert got == mine, (got, mine)
    edits += distance(got, [int(v) for v in target[:n]])
    labels += n
assert abs(edits / labels - float(sys.argv[1])) < 1e-4, (edits / labels, sys.argv[1])
print(f"label error rate from the decodings: {edits / labels:.4f}")
PY

$MPIRUN -np 2 "$NNTRAIN" train seq.yaml --no-progress --run-dir two > out2.txt 2>&1 ||
    { cat out2.txt; fail "2-rank run failed"; }
$COMPARE one/last.h5 two/last.h5 --rtol 1e-4 --groups params || fail "2 ranks differ from 1 rank"

# A per-step regression on the valid steps (mse masked), stacked gru over the lstm.
"$NNTRAIN" train seq.yaml --no-progress --run-dir sum --set data.train=sum --set data.val=none \
    --set data.test=none --set 'model.layers=[{type: lstm, units: 8, return_sequences: true},
    {type: gru, units: 8, bidirectional: true, return_sequences: true}, {type: dense, units: 1}]' \
    --set train.loss=mse --set train.epochs=6 > sum.txt || { cat sum.txt; fail "mse on steps"; }
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "loss") c = i } NR == 2 { first = $c }
         END { if (!($c < 0.5 * first)) { print "loss " first " -> " $c; exit 1 } }' \
    sum/metrics.csv || fail "the masked per-step mse did not fall"
expect_exit 2 "$NNTRAIN" train seq.yaml --no-progress --run-dir bad0 --set data.train=sum \
    --set data.val=none --set data.test=none --set 'model.layers=[{type: lstm, units: 8,
    return_sequences: true}, {type: dense, units: 1}]' --set train.loss=kl_div
grep "loss kl_div cannot skip the padded steps" "$WORK/err.txt" > /dev/null ||
    { cat "$WORK/err.txt"; fail "unmaskable loss message"; }

expect_exit 3 "$NNTRAIN" train seq.yaml --no-progress --run-dir bad1 --set data.train=zero \
    --set data.val=none
grep "seq.h5: /zero/x_lengths\[5\]: length 0 outside \[1, 12\]" "$WORK/err.txt" > /dev/null ||
    { cat "$WORK/err.txt"; fail "zero length message"; }
[ "$(wc -l < "$WORK/err.txt")" -eq 1 ] || fail "more than one line for a zero length"
expect_exit 3 "$NNTRAIN" train seq.yaml --no-progress --run-dir bad2 --set data.train=long \
    --set data.val=none
grep "seq.h5: /long/x_lengths\[9\]: length 13 outside \[1, 12\]" "$WORK/err.txt" > /dev/null ||
    { cat "$WORK/err.txt"; fail "long length message"; }
[ "$(wc -l < "$WORK/err.txt")" -eq 1 ] || fail "more than one line for a long length"
expect_exit 3 "$NNTRAIN" train seq.yaml --no-progress --run-dir bad3 --set data.train=ylong \
    --set data.val=none
grep "seq.h5: /ylong/y_lengths\[2\]: length 4 outside \[0, 3\]" "$WORK/err.txt" > /dev/null ||
    { cat "$WORK/err.txt"; fail "y_lengths message"; }
echo "PASS"

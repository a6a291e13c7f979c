# Sequences end to end: (steps, features) data written by h5py (N x T x F), a bidirectional
# lstm and a gru stacked, a dense layer per step and the ctc loss learn to read 1-3 symbols
# out of noisy sequences; eval reports the label error rate, which equals the one computed
# here from predict's greedy decodings; 2 and 4 ranks give the same epoch losses as 1, and a resumed
# run ends with the same bits as an uninterrupted one. Bad data is
# refused before training with one line and exit 3: a label equal to the blank, a target the
# steps cannot emit, sequences whose steps do not match the model's.
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(0)
T, F = 12, 4

def make(n):
    x = 0.3 * rng.standard_normal((n, T, F)).astype(np.float32)
    y = -np.ones((n, 3), np.float32)
    for i in range(n):
        k = rng.integers(1, 4)
        symbols = rng.integers(1, F, k)          # classes 1..3; 0 is the blank
        start = rng.integers(0, 2)
        for j, s in enumerate(symbols):          # each symbol: 2 steps, then a gap
            t = start + 4 * j
            x[i, t:t + 2, s] += 1.5
        y[i, :k] = symbols
    return x, y

with h5py.File("seq.h5", "w") as f:
    for split, n in (("test", 256), ("train", 768)):
        x, y = make(n)
        f[split + "/x"] = x
        f[split + "/y"] = y
    bad = y.copy()
    bad[3, 1] = 0                                # the blank as a label
    f["blank/x"], f["blank/y"] = x, bad
    long = y.copy()
    long[5] = [2, 2, 2]                          # fits: 3 + 2 repeats = 5 <= 12
    f["fits/x"], f["fits/y"] = x, long
    short = y.copy()
    short[7] = [2, 2, 2]                         # needs 5 steps
    f["short/x"], f["short/y"] = x[:, :4], short # 4 steps
PY
cat > seq.yaml <<'YAML'
data: {path: seq.h5, train_rows: [0, 640], val: {rows: [640, 768]}}
model:
  input: [12, 4]
  layers:
    - {name: read, type: lstm, units: 12, bidirectional: true, return_sequences: true}
    - {name: again, type: gru, units: 12, return_sequences: true}
    - {name: scores, type: dense, units: 4}
train: {epochs: 12, batch_size: 32, loss: {type: ctc, classes: 4}, clip: {norm: 5},
        optimizer: {type: adam, lr: 0.01}}
seed: 2
YAML
"$NNTRAIN" train seq.yaml --no-progress --run-dir one > out.txt || { cat out.txt; fail "training"; }
cat out.txt
"$NNTRAIN" eval one/last.h5 > eval.txt
cat eval.txt
ler=$(sed -n 's/.*label_error_rate \([0-9.]*\).*/\1/p' eval.txt)
[ -n "$ler" ] || fail "eval printed no label error rate"
awk -v r="$ler" 'BEGIN { exit !(r < 0.25) }' || fail "label error rate $ler: the model did not learn"
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
    y = f["test/y"][()]
with h5py.File("pred.h5") as f:
    decoded = f["decoded"][()]
    assert f["outputs"].shape == (len(y), 12 * 4), f["outputs"].shape
edits = labels = 0
for row, target in zip(decoded, y):
    got, want = [int(v) for v in row if v >= 0], [int(v) for v in target if v >= 0]
    edits += distance(got, want)
    labels += len(want)
assert abs(edits / labels - float(sys.argv[1])) < 1e-4, (edits / labels, sys.argv[1])
print(f"label error rate from the decodings: {edits / labels:.4f}")
PY

for np in 2 4; do
mpirun --allow-run-as-root --oversubscribe -np $np "$NNTRAIN" train seq.yaml --no-progress \
    --run-dir np$np > out$np.txt 2>&1 || { cat out$np.txt; fail "$np-rank run failed"; }
paste -d, one/metrics.csv np$np/metrics.csv | awk -F, 'NR == 1 {
        for (i = 1; i <= NF / 2; i++) if ($i == "loss" || $i == "val_loss") cols[i] = 1
    }
    NR > 1 {
        n = NF / 2
        for (c in cols) {
            a = $c; b = $(c + n); d = a - b; if (d < 0) d = -d
            if (d > 1e-4 * (1 + (a < 0 ? -a : a))) { print "epoch " $1 ": " a " vs " b; bad = 1 }
        }
    } END { exit bad }' || fail "$np ranks differ from 1 rank"
done

# Resuming continues bit for bit: 6 + 6 epochs equal the 12 above.
"$NNTRAIN" train seq.yaml --no-progress --run-dir half --set train.epochs=6 > /dev/null
"$NNTRAIN" train seq.yaml --no-progress --resume half > /dev/null
$COMPARE one/last.h5 half/last.h5 --exact --groups params,optim || fail "6 + 6 epochs differ from 12"

expect_exit 3 "$NNTRAIN" train seq.yaml --no-progress --run-dir bad --set data.train=blank \
    --set data.val=none
grep -q "seq.h5 /blank/y: row 3 position 1: label 0 is the blank" "$WORK/err.txt" ||
    { cat "$WORK/err.txt"; fail "blank label message"; }
[ "$(wc -l < "$WORK/err.txt")" -eq 1 ] || fail "more than one line for a blank label"
"$NNTRAIN" train seq.yaml --no-progress --run-dir fits --set data.train=fits --set data.val=none \
    --set train.epochs=1 > /dev/null || fail "a target that fits exactly was refused"
expect_exit 3 "$NNTRAIN" train seq.yaml --no-progress --run-dir bad2 --set data.train=fits \
    --set data.val=none --set 'model.input=[4, 12]' --set 'train.loss={type: ctc, classes: 4}'
grep -q "x must hold sequences of 4 steps of 12 features" "$WORK/err.txt" ||
    { cat "$WORK/err.txt"; fail "steps message"; }
expect_exit 3 "$NNTRAIN" train seq.yaml --no-progress --run-dir bad3 --set data.train=short \
    --set data.val=none --set data.test=none --set 'model.input=[4, 4]'
grep -q "3 labels (2 repeated) need at least 5 steps but the model outputs 4" "$WORK/err.txt" ||
    { cat "$WORK/err.txt"; fail "too-long target message"; }
echo "sequences: ok"

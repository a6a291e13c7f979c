# Regression end to end: float targets of width 3 written by h5py; a two-headed model (means
# and softplus variances, concatenated) trained with gaussian_nll plus an l2_penalty, with
# prelu, rrelu and dropout inside, learns; mse and huber train too; and 2 ranks give the same
# per-epoch losses as 1 (dropout masks and rrelu slopes are keyed by sample, not by rank).
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(0)
w = np.linspace(-1, 1, 24).reshape(8, 3).astype(np.float32)
with h5py.File("reg.h5", "w") as f:
    for split, n in (("train", 2000), ("test", 500)):
        x = rng.standard_normal((n, 8)).astype(np.float32)
        f[split + "/x"] = x
        f[split + "/y"] = (np.tanh(x @ w) + 0.05 * rng.standard_normal((n, 3))).astype(np.float32)
PY
cat > reg.yaml <<'YAML'
data: {path: reg.h5, train: train, val: {split: 0.1}, test: test}
model:
  input: [8]
  layers:
    - {name: h, type: dense, units: 32, activation: prelu}
    - {type: dropout, p: 0.1}
    - {name: h2, type: dense, units: 32, activation: {type: rrelu, lower: 0.1, upper: 0.3}}
    - {name: mean, type: dense, units: 3}
    - {name: var, type: dense, units: 3, inputs: [h2], activation: softplus}
    - {type: concat, inputs: [mean, var]}
train:
  epochs: 5
  batch_size: 32
  loss: [{type: gaussian_nll}, {type: l2_penalty, weight: 1.0e-4}]
  optimizer: {type: adam, lr: 0.003}
seed: 3
YAML
"$NNTRAIN" train reg.yaml --no-progress --run-dir one > out.txt
cat out.txt
# A regression run's metrics.csv has no accuracy columns: column 4 is val_loss. The Gaussian
# NLL must fall well below its start.
[ "$(head -1 one/metrics.csv | cut -d, -f4)" = val_loss ] || fail "metrics.csv: $(head -1 one/metrics.csv)"
awk -F, 'NR == 2 { first = $4 } NR == 6 { last = $4 } END { exit !(last < first - 0.4) }' \
    one/metrics.csv || fail "gaussian_nll val_loss did not fall: $(cut -d, -f4 one/metrics.csv | xargs)"
grep -q '^test: loss' out.txt || fail "no test loss printed"

mpirun --allow-run-as-root --oversubscribe -np 2 "$NNTRAIN" train reg.yaml --no-progress \
    --run-dir two > out2.txt 2>&1 || { cat out2.txt; fail "2-rank run failed"; }
paste -d, one/metrics.csv two/metrics.csv | awk -F, 'NR > 1 {
        for (c = 3; c <= 4; c++) {   # loss, val_loss
            a = $c; b = $(c + 6); d = a - b; if (d < 0) d = -d
            if (d > 1e-5 * (1 + (a < 0 ? -a : a))) { print "epoch " $1 ": " a " vs " b; bad = 1 }
        }
    } END { exit bad }' || fail "2 ranks differ from 1 rank"

n=0
for loss in mse "{type: huber, delta: 0.5}"; do
    n=$((n + 1))
    "$NNTRAIN" train reg.yaml --no-progress --run-dir "point$n" \
        --set "train.loss=$loss"         --set "model.layers[5]={type: add, inputs: [mean, var]}" > out3.txt ||
        { cat out3.txt; fail "training with $loss failed"; }
    awk -F, 'NR == 2 { first = $4 } NR == 6 { last = $4 } END { exit !(last < 0.6 * first) }' \
        "point$n/metrics.csv" || fail "$loss: val_loss did not fall"
done
echo "regression: ok"

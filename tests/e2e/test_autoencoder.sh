# Autoencoders end to end on Fashion-MNIST rows: `data.target: input` trains a convolutional
# autoencoder (strided conv2d down, conv2d_transpose and upsample back, sigmoid output, bce)
# whose validation loss falls; `predict` writes reconstructions of the input's shape, and
# eval's loss equals the bce between those reconstructions and the inputs (so eval, too,
# takes the inputs as targets). Denoising: `train.augment.noise` reaches the input only, the
# targets stay clean (a model that outputs zeros has the same mse with and without noise).
# Bad `data.target` values are config errors (exit 2).
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > ae.yaml <<YAML
data: {path: $data, train_rows: [0, 2000], val: {split: 0.1}, test_rows: [0, 300],
       target: input}
model:
  input: [1, 28, 28]
  layers:
    - {name: enc1, type: conv2d, filters: 8, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {name: enc2, type: conv2d, filters: 8, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {name: dec1, type: conv2d_transpose, filters: 8, kernel: 3, stride: 2, padding: 1,
       output_padding: 1, activation: relu}
    - {name: up, type: upsample, scale: 2, mode: bilinear}
    - {name: out, type: conv2d, filters: 1, kernel: 3, padding: same, activation: sigmoid}
train: {epochs: 3, batch_size: 32, loss: bce, optimizer: {type: adam, lr: 0.003}}
seed: 5
YAML
"$NNTRAIN" train ae.yaml --no-progress --run-dir ae > out.txt || { cat out.txt; fail "training"; }
cat out.txt
# Columns by name: a model without class labels has no accuracy columns.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "val_loss") v = i }
         NR == 2 { first = $v } NR == 4 { last = $v } END { exit !(v && last < first - 0.02) }' \
    ae/metrics.csv || fail "val_loss did not fall: $(cat ae/metrics.csv | xargs)"
# Rank invariance, as for the other families: 2 and 4 ranks train the same weights (1e-4).
for np in 2 4; do
    mpirun --allow-run-as-root --oversubscribe -np $np "$NNTRAIN" train ae.yaml --no-progress \
        --run-dir ae-np$np > out-np$np.txt 2>&1 || { cat out-np$np.txt; fail "np=$np training"; }
    $COMPARE ae/last.h5 ae-np$np/last.h5 --rtol 1e-4 --groups params ||
        fail "np=$np weights differ from np=1"
done
"$NNTRAIN" predict ae/last.h5 --split test -o recon.h5 > /dev/null
"$NNTRAIN" eval ae/last.h5 --split test > eval.txt
cat eval.txt
grep -q accuracy eval.txt && fail "eval reports an accuracy for reconstructions"
/usr/bin/python3 - "$data" "$(sed -n 's/.*loss \([0-9.]*\).*/\1/p' eval.txt)" <<'PY'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    x = f["test/x"][:].reshape(len(f["test/x"]), -1).astype(np.float64) / 255.0
with h5py.File("recon.h5", "r") as f:
    r = f["outputs"][()].astype(np.float64)
assert r.shape == x.shape, (r.shape, x.shape)
r = np.clip(r, 1e-12, 1 - 1e-12)
bce = -(x * np.log(r) + (1 - x) * np.log(1 - r)).mean(axis=1).mean()
eval_loss = float(sys.argv[2])
assert abs(bce - eval_loss) < 1e-3, f"bce of the reconstructions {bce} vs eval {eval_loss}"
print(f"reconstruction bce {bce:.4f} = eval loss {eval_loss:.4f}")
PY

# Zero output (frozen zero weights): the loss is mean(target^2), whatever the input noise.
cat > zero.yaml <<YAML
data: {path: $data, train_rows: [0, 256], val: none, target: input}
model:
  input: [1, 28, 28]
  layers:
    - {type: dense, units: 784, init: zeros, bias_init: zeros, trainable: false}
train: {epochs: 1, batch_size: 64, loss: mse, optimizer: {type: sgd, lr: 0.1}}
seed: 5
YAML
"$NNTRAIN" train zero.yaml --no-progress --run-dir clean > clean.txt || { cat clean.txt; fail "clean"; }
"$NNTRAIN" train zero.yaml --no-progress --run-dir noisy --set "train.augment={noise: 0.5}" \
    > noisy.txt || { cat noisy.txt; fail "noisy"; }
a=$(awk -F, 'NR == 2 { print $3 }' clean/metrics.csv)
b=$(awk -F, 'NR == 2 { print $3 }' noisy/metrics.csv)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "augmentation noise reached the targets: loss $a vs $b"

expect_exit 2 "$NNTRAIN" train zero.yaml --no-progress --run-dir bad --set data.target=inputs
grep -q "did you mean 'input'" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "target message"; }
echo "autoencoder: ok"

# Formulas through the real binary: a config with a formula activation (a learned beta), a
# formula loss and a formula schedule trains; resuming gives the same bits as training
# straight through (beta included), at the same and at another thread count; 2 ranks match 1
# within 1e-4; summary prints the schedule's first epochs; a misspelt function, an unclosed
# call, a formula too long or too deeply nested are exit 2 pointing at the character; a
# division by zero is exit 4 naming the formula's layer; a non-finite lr is exit 4.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > formula.yaml <<YAML
data: {path: $data, train_rows: [0, 3000], val: {split: 0.1}, test_rows: [0, 1000]}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 48,
       activation: {formula: "x * sigmoid(beta * x)", params: {beta: 1.5}, learn: [beta]}}
    - {name: fc2, type: dense, units: 32, activation: {formula: "max(x, 0)"}}
    - {name: out, type: dense, units: 10}
train:
  epochs: 4
  batch_size: 64
  loss: [{type: formula, per_output: "-t * logp + 0.1 * p * logp", reduce: sum},
         {type: l2_penalty, weight: 1e-5}]
  optimizer: {type: adam, lr: 0.002}
  schedule: {formula: "lr * 0.5 ^ floor(epoch / 2)"}
  checkpoint: {every: 1, keep: 2}
seed: 5
YAML
"$NNTRAIN" train formula.yaml --run-dir runs/full > full.txt
grep -q "^epoch 4/4 " full.txt || { cat full.txt; fail "4 epochs"; }
grep -q "^epoch 2/4 .* lr 0.002 " full.txt && grep -q "^epoch 3/4 .* lr 0.001 " full.txt \
    || { cat full.txt; fail "the schedule did not halve after 2 epochs"; }
acc=$(grep '^test:' full.txt | sed 's/.*accuracy \([0-9.]*\).*/\1/')
awk -v a="$acc" 'BEGIN { exit !(a > 0.6) }' || { cat full.txt; fail "test accuracy $acc"; }
beta=$(/usr/bin/python3 -c "import h5py, sys; f = h5py.File(sys.argv[1]); \
print(f['params/fc1.formula/beta'][0])" runs/full/last.h5)
awk -v b="$beta" 'BEGIN { exit !(b != 1.5) }' || fail "beta did not train ($beta)"

# Resumed: the same bits.
"$NNTRAIN" train formula.yaml --set train.epochs=2 --run-dir runs/split > /dev/null
"$NNTRAIN" train formula.yaml --resume runs/split > /dev/null
$COMPARE runs/full/last.h5 runs/split/last.h5 --exact --groups params,state,optim \
    || fail "2 + 2 epochs differ from 4"
# At another thread count too (the learned parameter's gradient sums in one order).
"$NNTRAIN" train formula.yaml --set train.epochs=2 --set train.threads=1 --run-dir runs/t1 \
    > /dev/null
"$NNTRAIN" train formula.yaml --set train.threads=2 --resume runs/t1 > /dev/null
$COMPARE runs/full/last.h5 runs/t1/last.h5 --exact --groups params,state,optim \
    || fail "2 epochs at 1 thread + 2 at 2 differ from 4 at 2"
# Two ranks: the learned parameter's gradient is summed like the others'.
$MPIRUN -np 2 "$NNTRAIN" train formula.yaml --run-dir runs/np2 > np2.txt
$COMPARE runs/full/last.h5 runs/np2/last.h5 --rtol 1e-4 || fail "2 ranks differ from 1"

# summary: the schedule's lr for the first epochs.
"$NNTRAIN" summary formula.yaml > summary.txt
grep -q "fc1.formula *formula .*x \* sigmoid(beta \* x); beta=1.5 (learned)" summary.txt \
    || { cat summary.txt; fail "summary's formula layer"; }
grep -q "^schedule: lr by epoch: 0.002 0.002 0.001 0.001 (first step" summary.txt \
    || { cat summary.txt; fail "summary's schedule"; }

# Errors.
expect_exit 2 "$NNTRAIN" train formula.yaml --set 'train.schedule={formula: "lr * sigmod(epoch)"}'
grep -q "train.schedule.formula: formula:1:6: unknown function 'sigmod' (did you mean 'sigmoid'?)" \
    err.txt || { cat err.txt; fail "misspelt function"; }
[ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "more than one line"; }
expect_exit 2 "$NNTRAIN" train formula.yaml \
    --set 'model.layers[1].activation={formula: "max(x, 0"}'
grep -q "activation.formula: formula:1:9: expected ',' or ')' in the arguments of max()" \
    err.txt || { cat err.txt; fail "unclosed parenthesis"; }
long=$(printf 'x+%.0s' $(seq 600))x
expect_exit 2 "$NNTRAIN" train formula.yaml --set "model.layers[1].activation={formula: \"$long\"}"
grep -q "formula:1:1001: formula too long (1201 characters; at most 1000)" err.txt \
    || { cat err.txt; fail "too long"; }
deep=$(printf '(%.0s' $(seq 80))x$(printf ')%.0s' $(seq 80))
expect_exit 2 "$NNTRAIN" train formula.yaml --set "train.loss={type: formula, per_output: \"$deep\"}"
grep -q "train.loss.per_output: formula:1:.*: formula nested too deeply" err.txt \
    || { cat err.txt; fail "too deep"; }
expect_exit 4 "$NNTRAIN" train formula.yaml --set train.epochs=1 \
    --set 'model.layers[1].activation={formula: "x / (x - x)"}'
grep -q "the first value that is not finite is in the output of layer 'fc2.formula' (formula: x / (x - x))" \
    err.txt || { cat err.txt; fail "the NaN guard does not name the formula's layer"; }
expect_exit 4 "$NNTRAIN" train formula.yaml --set train.epochs=2 \
    --set 'train.schedule={formula: "lr / (1 - epoch)"}'
grep -q "train.schedule: the learning rate at epoch 2, step 1 is inf" err.txt \
    || { cat err.txt; fail "non-finite lr"; }
echo "formulas work end to end"

# Augmentation end to end on Fashion-MNIST (shift, flip, rotate and noise together):
# reproducible run to run, the same per-epoch losses on 2 ranks as on 1 (each sample's draws
# are keyed by its global index, not by the rank holding it), a real change to training, and
# never applied to validation or test data.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > aug.yaml <<YAML
data: {path: $data, train_rows: [0, 2000], val: {split: 0.1}, test_rows: [0, 1000]}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 64, activation: relu}
    - {name: out, type: dense, units: 10}
train:
  epochs: 3
  batch_size: 50
  loss: cross_entropy
  optimizer: {type: adam, lr: 0.002}
  augment: {shift: 2, flip: true, rotate: 10, noise: 0.05}
seed: 5
YAML
"$NNTRAIN" train aug.yaml --no-progress --run-dir one > out1.txt || { cat out1.txt; fail "1-rank run"; }
"$NNTRAIN" train aug.yaml --no-progress --run-dir again > /dev/null
cut -d, -f1-6 one/metrics.csv > a.csv
cut -d, -f1-6 again/metrics.csv > b.csv
cmp -s a.csv b.csv || fail "two runs with the same seed differ: $(paste a.csv b.csv)"
$COMPARE one/last.h5 again/last.h5 --exact || fail "two runs with the same seed end differently"

$MPIRUN -np 2 "$NNTRAIN" train aug.yaml --no-progress --run-dir two > out2.txt 2>&1 ||
    { cat out2.txt; fail "2-rank run failed"; }
paste -d, one/metrics.csv two/metrics.csv | awk -F, 'NR > 1 {
        for (c = 3; c <= 6; c++) {   # loss, accuracy, val_loss, val_accuracy
            a = $c; b = $(c + 8); d = a - b; if (d < 0) d = -d
            if (d > 1e-5 * (1 + (a < 0 ? -a : a))) { print "epoch " $1 " column " c ": " a " vs " b; bad = 1 }
        }
    } END { exit bad }' || fail "2 ranks differ from 1 rank with augmentation"

"$NNTRAIN" train aug.yaml --no-progress --run-dir plain --set 'train.augment={}' > /dev/null
first_loss() { awk -F, 'NR == 2 { print $3 }' "$1/metrics.csv"; }
[ "$(first_loss plain)" != "$(first_loss one)" ] || fail "augmentation did not change training"

# Validation on the test split with strong noise: the last epoch's val_loss, the final test
# loss and `nntrain eval` of the final checkpoint must all be the clean evaluation.
"$NNTRAIN" train aug.yaml --no-progress --run-dir noisy --set data.val=test \
    --set data.test_rows='[0, 10000]' --set 'train.augment={noise: 1.0, flip: true}' > out3.txt ||
    { cat out3.txt; fail "noisy run"; }
val=$(grep '^epoch 3/3' out3.txt | sed 's/.*val_loss \([0-9.]*\).*/\1/')
test_loss=$(sed -n 's/^test: loss \([0-9.]*\) .*/\1/p' out3.txt)
eval_loss=$("$NNTRAIN" eval noisy/last.h5 | sed -n 's/^test: loss \([0-9.]*\) .*/\1/p')
[ -n "$val" ] && [ "$val" = "$test_loss" ] && [ "$val" = "$eval_loss" ] ||
    fail "validation or test data were augmented: val_loss $val, test $test_loss, eval $eval_loss"
train_loss=$(awk -F, 'NR == 4 { printf "%.4f", $3 }' noisy/metrics.csv)
awk -v t="$train_loss" -v v="$val" 'BEGIN { exit !(t > v + 0.1) }' ||
    fail "noise 1.0 should make the training loss ($train_loss) well above the clean one ($val)"
echo "augment: ok"

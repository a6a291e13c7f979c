# Random labels and shuffled pixels end to end (data.label_noise, data.shuffle_pixels):
# with every label random, a wide MLP memorizes 1,000 training samples (over 95% training
# accuracy) while its test accuracy stays at chance; noisy labels give the same per-epoch
# figures on 2 ranks as on 1; shuffled pixels are applied the same way when a checkpoint is
# evaluated; bad values are config errors naming the key.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > random.yaml <<YAML
data: {path: $data, train_rows: [0, 1000], test_rows: [0, 2000], label_noise: 1.0}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 1024, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 70, batch_size: 50, loss: cross_entropy, optimizer: {type: adam, lr: 0.001}}
seed: 3
YAML
"$NNTRAIN" train random.yaml --no-progress --run-dir random > out.txt || { cat out.txt; fail "random labels run"; }
train_acc=$(tail -n 1 random/metrics.csv | cut -d, -f4)
test_acc=$(sed -n 's/^test: loss [0-9.]*  accuracy \([0-9.]*\) .*/\1/p' out.txt)
awk -v a="$train_acc" 'BEGIN { exit !(a > 0.95) }' ||
    fail "random labels: training accuracy $train_acc, expected memorization (> 0.95)"
awk -v a="$test_acc" 'BEGIN { exit !(a > 0.05 && a < 0.15) }' ||
    fail "random labels: test accuracy $test_acc, expected chance (0.10 +- 0.05)"

# Half the labels random, 2 epochs: 2 ranks agree with 1 (labels keyed by the file row).
cat > half.yaml <<YAML
data: {path: $data, train_rows: [0, 2000], val: {split: 0.1}, test_rows: [0, 500], label_noise: 0.5}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 64, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 2, batch_size: 50, loss: cross_entropy, optimizer: {type: adam, lr: 0.002}}
seed: 4
YAML
"$NNTRAIN" train half.yaml --no-progress --run-dir one > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train half.yaml --no-progress --run-dir two > out2.txt 2>&1 ||
    { cat out2.txt; fail "2-rank run failed"; }
paste -d, one/metrics.csv two/metrics.csv | awk -F, 'NR > 1 {
        for (c = 3; c <= 6; c++) {
            a = $c; b = $(c + 8); d = a - b; if (d < 0) d = -d
            if (d > 1e-5 * (1 + (a < 0 ? -a : a))) { print "epoch " $1 " column " c ": " a " vs " b; bad = 1 }
        }
    } END { exit bad }' || fail "2 ranks differ from 1 rank with label noise"
"$NNTRAIN" train half.yaml --no-progress --run-dir clean --set data.label_noise=0 > /dev/null
[ "$(sed -n 2p clean/metrics.csv | cut -d, -f3)" != "$(sed -n 2p one/metrics.csv | cut -d, -f3)" ] ||
    fail "label_noise 0.5 did not change training"
# Validation rows keep their labels: with clean validation data the first epoch's
# val_accuracy of a half-noisy run stays far above chance.
awk -F, 'NR == 2 { exit !($6 > 0.4) }' one/metrics.csv ||
    fail "validation accuracy at chance: validation labels were randomized"

# Shuffled pixels: training, the final test line and `nntrain eval` see the same inputs.
"$NNTRAIN" train half.yaml --no-progress --run-dir fixed --set data.label_noise=0 \
    --set data.shuffle_pixels=fixed --set data.test_rows="[0, 10000]" > out3.txt
"$NNTRAIN" eval fixed/last.h5 > eval.txt
[ "$(sed -n 's/^test: \(.*\) (.*/\1/p' out3.txt)" = "$(sed -n 's/^test: \(.*\) (.*/\1/p' eval.txt)" ] ||
    fail "eval of a shuffled-pixel model differs: $(cat out3.txt eval.txt)"
[ "$(sed -n 2p fixed/metrics.csv | cut -d, -f3)" != "$(sed -n 2p clean/metrics.csv | cut -d, -f3)" ] ||
    fail "shuffle_pixels did not change the inputs"

expect_exit 2 "$NNTRAIN" train half.yaml --set data.label_noise=1.5
grep -q "label_noise" err.txt || fail "label_noise error does not name the key: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train half.yaml --set data.shuffle_pixels=rows
grep -q "shuffle_pixels" err.txt || fail "shuffle_pixels error does not name the key: $(cat err.txt)"
echo "ok: train $train_acc test $test_acc with random labels"

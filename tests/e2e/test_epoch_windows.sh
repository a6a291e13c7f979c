# Epoch windows end to end (augment, data.label_noise, dropout, decay_epochs): every window
# empty trains bit for bit as no regularizer at all, and windows covering every epoch as the
# same settings without windows; random labels in epoch window [2, 3) show in that epoch's
# training accuracy only; windowed runs give the same per-epoch figures on 2 ranks as on 1;
# a bad window is one line naming the key, exit 2. (What a window does to the augmented
# batches and the weights is checked in tests/unit/test_epoch_window.c and
# tests/ref/test_blur_ref.py.)
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
# The same small MLP with the regularizers given as arguments.
write_config() { # AUGMENT NOISE DROPOUT_WINDOW DECAY_WINDOW DROPOUT_P WEIGHT_DECAY
    cat <<YAML
data: {path: $data, train_rows: [0, 1500], val: {split: 0.1}, test_rows: [0, 500],
       label_noise: $2}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 64, activation: relu}
    - {name: drop, type: dropout, p: $5$3}
    - {name: out, type: dense, units: 10}
train:
  epochs: 4
  batch_size: 50
  loss: cross_entropy
  optimizer: {type: adam, lr: 0.002, weight_decay: $6$4}
  augment: $1
seed: 8
YAML
}
write_config '{}' 0 '' '' 0 0 > none.yaml
write_config '{blur: 1.0, shift: 2, noise: 0.2, epochs: [2, 2]}' '{p: 1.0, epochs: [1, 1]}' \
    ', epochs: [0, 0]' ', decay_epochs: [3, 3]' 0.5 0.01 > empty.yaml
write_config '{blur: 1.0, shift: 2, noise: 0.2}' 0.3 '' '' 0.5 0.01 > always.yaml
write_config '{blur: 1.0, shift: 2, noise: 0.2, epochs: [0, 4]}' '{p: 0.3, epochs: [0, 9]}' \
    ', epochs: [0, 4]' ', decay_epochs: [0, 100]' 0.5 0.01 > covering.yaml
write_config '{blur: {value: 1.0, epochs: [1, 3]}, flip: true}' '{p: 0.3, epochs: [0, 2]}' \
    ', epochs: [1, 2]' ', decay_epochs: [2, 4]' 0.5 0.01 > windows.yaml
for name in none empty always covering windows; do
    "$NNTRAIN" train $name.yaml --no-progress --run-dir $name > $name.txt 2>&1 ||
        { cat $name.txt; fail "run $name"; }
done
$COMPARE none/last.h5 empty/last.h5 --exact ||
    fail "empty windows do not train as no regularizer at all"
$COMPARE always/last.h5 covering/last.h5 --exact ||
    fail "windows covering every epoch do not train as no windows"
cmp -s <(cut -d, -f1-6 always/metrics.csv) <(cut -d, -f1-6 covering/metrics.csv) ||
    fail "covering windows: the epochs' figures differ"
! $COMPARE none/last.h5 windows/last.h5 --exact > /dev/null 2>&1 ||
    fail "the windowed regularizers changed nothing"

# Every training label random in epoch 2 (from 0) only: the third row of metrics.csv.
"$NNTRAIN" train none.yaml --no-progress --run-dir noisy --set 'data.label_noise={p: 1.0, epochs: [2, 3]}' > noisy.txt
acc() { awk -F, -v row="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "accuracy") c = i }
                             NR == row + 1 { print $c }' "$1/metrics.csv"; }
a1=$(acc noisy 1) a2=$(acc noisy 2) a3=$(acc noisy 3) a4=$(acc noisy 4) clean2=$(acc none 2)
[ "$a1" = "$(acc none 1)" ] && [ "$a2" = "$clean2" ] ||
    fail "label noise acted before its window: $a1 $a2 vs $(acc none 1) $clean2"
awk -v a="$a3" -v b="$a2" -v c="$a4" 'BEGIN { exit !(a < 0.25 && b > 0.6 && c > a + 0.3) }' ||
    fail "random labels in epoch window [2, 3): training accuracy by epoch $a1 $a2 $a3 $a4"

# 2 ranks: the same epochs' figures as 1 rank with every kind of window.
$MPIRUN -np 2 "$NNTRAIN" train windows.yaml --no-progress --run-dir two > two.txt 2>&1 ||
    { cat two.txt; fail "2-rank run failed"; }
paste -d, windows/metrics.csv two/metrics.csv | awk -F, 'NR > 1 {
        for (c = 3; c <= 6; c++) {   # loss, accuracy, val_loss, val_accuracy
            a = $c; b = $(c + 8); d = a - b; if (d < 0) d = -d
            if (d > 1e-5 * (1 + (a < 0 ? -a : a))) { print "epoch " $1 " column " c ": " a " vs " b; bad = 1 }
        }
    } END { exit bad }' || fail "2 ranks differ from 1 rank with epoch windows"

# Bad windows: one line naming the key, exit 2, no run directory left.
check_bad() { # WHAT KEY --set ...
    local what=$1 key=$2
    shift 2
    expect_exit 2 "$NNTRAIN" train none.yaml --no-progress --run-dir bad "$@"
    [ "$(wc -l < err.txt)" -eq 1 ] || fail "$what: not one line: $(cat err.txt)"
    grep "$key" err.txt > /dev/null || fail "$what: the error does not name $key: $(cat err.txt)"
    [ ! -e bad/last.h5 ] || fail "$what: a checkpoint was written"
}
check_bad "a > b" "train.augment.blur.epochs" --set 'train.augment={blur: {value: 1, epochs: [3, 1]}}'
check_bad "negative" "data.label_noise.epochs" --set 'data.label_noise={p: 0.5, epochs: [-1, 2]}'
check_bad "not whole" "train.optimizer.decay_epochs" --set 'train.optimizer.decay_epochs=[1.5, 3]'
check_bad "one number" "train.augment.epochs" --set 'train.augment={noise: 0.1, epochs: 2}'
echo "epoch windows: ok (noisy-label epoch accuracy $a3 between $a2 and $a4)"

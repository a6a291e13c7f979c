# train.log_every_steps: metrics-steps.csv has the fixed header and one row every N steps with
# finite values; 2 ranks log the same losses and gradient norms as 1 (the norm is of the
# summed gradient); checkpoints name the columns in /meta/history's step_columns; a resumed
# run drops rows of steps after its checkpoint and appends its own.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > steps.yaml <<YAML
data: {path: $data, train_rows: [0, 2000], test: none}
model: {input: [1, 28, 28], mlp: [32, 10]}
train: {epochs: 2, batch_size: 100, loss: cross_entropy, optimizer: {type: sgd, lr: 0.05}, log_every_steps: 5,
        clip: {norm: 0.5}}
seed: 5
YAML
"$NNTRAIN" train steps.yaml --no-progress --run-dir one > out1.txt
header=$(head -1 one/metrics-steps.csv)
[ "$header" = "epoch,step,loss,accuracy,lr,grad_norm,samples_per_s" ] ||
    fail "metrics-steps.csv header: $header"
# 20 steps per epoch, a row every 5: steps 5, 10, 15, 20 of epochs 1 and 2.
got=$(tail -n +2 one/metrics-steps.csv | cut -d, -f1,2 | xargs)
[ "$got" = "1,5 1,10 1,15 1,20 2,5 2,10 2,15 2,20" ] || fail "logged steps: $got"
awk -F, 'NR > 1 && !($3 > 0 && $3 < 5 && $4 >= 0 && $4 <= 1 && $5 == 0.05 && $6 > 0 &&
                     $7 > 0) { print "bad row: " $0; bad = 1 } END { exit bad }' \
    one/metrics-steps.csv || fail "implausible per-step values"
# Clipping at 0.5 must not hide the norm: it is measured before clipping.
awk -F, 'NR > 1 && $6 > 0.5 { big = 1 } END { exit !big }' one/metrics-steps.csv ||
    fail "every grad_norm <= the clip norm: measured after clipping?"

$MPIRUN -np 2 "$NNTRAIN" train steps.yaml --no-progress --run-dir two > out2.txt 2>&1 ||
    { cat out2.txt; fail "2-rank run failed"; }
paste -d, one/metrics-steps.csv two/metrics-steps.csv | awk -F, 'NR > 1 {
        for (c = 3; c <= 6; c++) {   # loss, accuracy, lr, grad_norm
            a = $c; b = $(c + 7); d = a - b; if (d < 0) d = -d
            if (d > 1e-4 * (1 + a)) { print "row " NR ": column " c ": " a " vs " b; bad = 1 }
        }
    } END { exit bad }' || fail "2 ranks log other values than 1 rank"

/usr/bin/python3 - <<'PY' || fail "/meta/history step_columns"
import h5py
with h5py.File("one/last.h5", "r") as f:
    cols = f["meta/history"].attrs["step_columns"]
    cols = cols.decode() if isinstance(cols, bytes) else cols
    assert cols == open("one/metrics-steps.csv").readline().strip(), cols
PY

# A run of one epoch, then resumed for a second: a row of a step after the checkpoint (as a
# killed run would leave) is dropped; the file ends as the uninterrupted run's.
"$NNTRAIN" train steps.yaml --no-progress --run-dir three --set train.epochs=1 > out3.txt
echo "2,5,9,0.5,0.05,1,1" >> three/metrics-steps.csv
"$NNTRAIN" train steps.yaml --no-progress --resume three > out4.txt
[ "$(grep -c '^epoch,' three/metrics-steps.csv)" = 1 ] || fail "header repeated on resume"
diff <(cut -d, -f1-6 one/metrics-steps.csv) <(cut -d, -f1-6 three/metrics-steps.csv) ||
    fail "resumed metrics-steps.csv differs from the uninterrupted run's"
echo "step metrics: ok"

# Bad command lines, configs and data give one clear line, the right exit code, and leave
# no run directory behind.
source "$(dirname "$0")/lib.sh"
"$NNTRAIN" import csv --train /dev/null -o x.h5 >/dev/null 2>&1 || true
python_free_data() {
    # A tiny dataset through the CSV importer: 40 rows, 3 features, labels 0..1.
    for i in $(seq 0 39); do echo "$((i % 2)),0.$i,1.$i,$((i % 5))"; done > d.csv
    "$NNTRAIN" import csv --train d.csv --label-column 0 --no-header -o d.h5 >/dev/null
}
python_free_data
good() {
    cat <<YAML
data: {path: d.h5, test: none}
model: {input: [3], layers: [{type: dense, units: 2}]}
train: {epochs: 1, batch_size: 8, loss: cross_entropy, optimizer: {type: sgd, lr: 0.1}}
YAML
}
good > good.yaml
"$NNTRAIN" train good.yaml >/dev/null || fail "the good config should train"

expect_exit 2 "$NNTRAIN"
expect_exit 2 "$NNTRAIN" frobnicate
grep -q "unknown command 'frobnicate'" err.txt || fail "unknown command message"

good | sed 's/lr: 0.1/lrr: 0.1/' > typo.yaml
expect_exit 2 "$NNTRAIN" train typo.yaml
grep -q "typo.yaml:3:[0-9]*: .*unknown key 'lrr' (did you mean 'lr'?)" err.txt || { cat err.txt; fail "typo message"; }
[ "$(wc -l < err.txt)" -eq 1 ] || fail "error must be one line"

expect_exit 2 "$NNTRAIN" train good.yaml --set train.optimizer.lr=-1
grep -q "lr must be > 0" err.txt || fail "negative lr message"
expect_exit 2 "$NNTRAIN" train good.yaml --set train.optimizer.type=adamm
grep -q "did you mean 'adam'" err.txt || fail "optimizer suggestion"
expect_exit 2 "$NNTRAIN" train good.yaml --set model.layers[0].activation=rleu
grep -q "unknown activation 'rleu'" err.txt || fail "activation message"
expect_exit 2 "$NNTRAIN" train good.yaml --set train.epochs=zero
grep -q "train.epochs" err.txt || fail "epochs message"
expect_exit 2 "$NNTRAIN" train missing.yaml
expect_exit 2 "$NNTRAIN" train good.yaml --bogus

expect_exit 3 "$NNTRAIN" train good.yaml --set data.path=nowhere.h5
grep -q "nowhere.h5" err.txt || fail "missing data file message"
expect_exit 3 "$NNTRAIN" train good.yaml --set data.train=validation
grep -q "d.h5" err.txt || fail "missing split message"
expect_exit 2 "$NNTRAIN" train good.yaml --set model.input=[4]
grep -q "model input" err.txt || fail "input size mismatch"

[ "$(ls runs | wc -l)" -eq 1 ] || fail "failed runs must not leave run directories: $(ls runs)"
echo "all CLI error cases behave"

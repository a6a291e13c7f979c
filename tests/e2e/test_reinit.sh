# Layer re-initialization (train.checkpoint.keep_initial, nntrain reinit): epoch-000.h5 holds
# the weights before the first step and a resumed run leaves it alone; resetting every layer
# gives exactly the evaluation of epoch-000.h5 and resetting none that of the checkpoint;
# 2 ranks give the table 1 rank gives; bad requests are one-line usage errors.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > ri.yaml <<YAML
data: {path: $data, train_rows: [0, 2000], test_rows: [0, 1000]}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 64, activation: relu}
    - {name: bn, type: batchnorm}
    - {name: fc2, type: dense, units: 32, activation: relu}
    - {name: out, type: dense, units: 10}
train:
  epochs: 2
  batch_size: 50
  loss: cross_entropy
  optimizer: {type: adam, lr: 0.002}
  checkpoint: {keep_initial: true, keep: 10}
seed: 8
YAML
"$NNTRAIN" train ri.yaml --no-progress --run-dir run > /dev/null
[ -f run/epoch-000.h5 ] || fail "keep_initial wrote no epoch-000.h5"
cp run/epoch-000.h5 initial-copy.h5
"$NNTRAIN" train ri.yaml --no-progress --resume run --set train.epochs=3 > /dev/null
cmp -s run/epoch-000.h5 initial-copy.h5 || fail "resuming rewrote epoch-000.h5"

"$NNTRAIN" reinit run --epochs 1,2 -o one.csv > table.txt || { cat table.txt; fail "reinit"; }
grep -q "critical" table.txt || fail "no verdict: $(cat table.txt)"
# The table: (no reset) of the final weights = eval of last.h5; (all layers) = eval of
# epoch-000.h5, at every checkpoint (batchnorm's running statistics reset too).
eval_of() { "$NNTRAIN" eval "$1" | sed -n 's/^test: loss \([0-9.]*\)  accuracy \([0-9.]*\) .*/\2/p'; }
final=$(eval_of run/last.h5)
initial=$(eval_of run/epoch-000.h5)
awk -F, -v f="$final" -v i="$initial" '
    $1 == "final" && $3 == "(no reset)" { if ($4 + 0 != f + 0) { print "no reset " $4 " vs " f; bad = 1 }; seen++ }
    $3 == "(all layers)" { if ($4 + 0 != i + 0) { print $1 $2 " all layers " $4 " vs " i; bad = 1 }; seen++ }
    END { exit bad || seen != 4 }' one.csv || fail "reinit table disagrees with eval: $(cat one.csv)"
[ "$(grep -c ',fc1,\|,bn,\|,fc2,\|,out,' one.csv)" -eq 12 ] || fail "expected 4 layers x 3 checkpoints: $(cat one.csv)"

$MPIRUN -np 2 "$NNTRAIN" reinit run --epochs 1,2 -o two.csv > /dev/null 2>&1 || fail "reinit on 2 ranks"
cmp -s one.csv two.csv || fail "2 ranks give another table: $(diff one.csv two.csv)"
"$NNTRAIN" reinit run --layers fc2 --to random -o random.csv > /dev/null
[ "$(wc -l < random.csv)" -eq 4 ] || fail "--layers fc2: expected 3 rows: $(cat random.csv)"

expect_exit 2 "$NNTRAIN" reinit run --epochs 7
grep -q "epoch-007.h5 is missing" err.txt || fail "missing epoch: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" reinit run --layers fc9
grep -q "no layer 'fc9'.*fc1, bn, fc2, out" err.txt || fail "unknown layer: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" reinit run --to zero
"$NNTRAIN" train ri.yaml --no-progress --run-dir plain --set train.checkpoint.keep_initial=false \
    --set train.epochs=1 > /dev/null
expect_exit 2 "$NNTRAIN" reinit plain
grep -q "keep_initial" err.txt || fail "no hint at keep_initial: $(cat err.txt)"
echo ok

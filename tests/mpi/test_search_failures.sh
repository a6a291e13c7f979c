# Failing trials are recorded with their reason and the search goes on: a learning rate that
# makes the loss non-finite, a combination of values that does not fit the config (a list
# index past the end of another parameter's list) and one the trainer rejects (an unknown
# activation). A search whose every trial fails exits with the failure's code; errors in the
# search section itself are config errors naming the key.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > base.yaml
{ cat base.yaml; cat <<'YAML'
search:
  metric: val_accuracy
  parameters:
    train.optimizer.type: [sgd]
    train.optimizer.lr: [0.001, 1e38, 0.01]
YAML
} > nan.yaml
$MPIRUN -np 2 "$NNTRAIN" search nan.yaml --set train.epochs=2 > nan.txt
csv=searches/nan/trials.csv
grep -q '^1,sgd,0.001,finished,0\.[0-9]*,' $csv || { cat $csv; fail "trial 1 did not finish"; }
grep -q '^3,sgd,0.01,finished,0\.[0-9]*,' $csv || { cat $csv; fail "trial 3 did not finish"; }
grep -q '^2,sgd,1e38,failed,,,,[0-9.]*,[01],"non-finite loss at epoch 1, step [0-9]*; largest gradient norm in layer' $csv \
    || { cat $csv; fail "the NaN trial is not recorded as failed with its reason"; }
grep -q "^trial 2 failed (numerical failure): non-finite loss" nan.txt || { cat nan.txt; fail "leaderboard failure line"; }
grep -q "^best: trial 3," nan.txt || fail "best trial"
grep -q "outcome=failed status=4 " searches/nan/journal || fail "journal failure event"
# Failures are final: a re-run does not try again.
$MPIRUN -np 2 "$NNTRAIN" search nan.yaml --set train.epochs=2 > nan2.txt
[ "$(grep -c '^start trial=2 ' searches/nan/journal)" -eq 1 ] || fail "the failed trial ran again"

# Combinations: a 1-layer model has no layers[1]; 'bogus' is no activation.
{ cat base.yaml; cat <<'YAML'
search:
  metric: val_loss
  parameters:
    model.layers:
      values:
        - [{name: fc1, type: dense, units: 32, activation: relu}, {name: fc2, type: dense, units: 16}, {name: out, type: dense, units: 10}]
        - [{name: out, type: dense, units: 10}]
    model.layers[1].activation: [tanh, bogus]
YAML
} > combo.yaml
"$NNTRAIN" search combo.yaml --dry-run > plan.txt
grep -qE '^ +3 .*does not fit the config: .*index 1 is past the end of model.layers \(1 entry\)' plan.txt \
    || { cat plan.txt; fail "dry-run does not flag the misfit"; }
$MPIRUN -np 2 "$NNTRAIN" search combo.yaml --set train.epochs=1 > combo.txt
csv=searches/combo/trials.csv
grep -q '^1,.*,tanh,finished,' $csv || { cat $csv; fail "the fitting combination did not finish"; }
grep -q '^2,.*,bogus,failed,.*unknown activation .bogus' $csv || { cat $csv; fail "trainer config error not recorded"; }
grep -q '^3,.*,failed,.*index 1 is past the end of model.layers' $csv || { cat $csv; fail "misfit not recorded"; }
grep -q '^4,.*,failed,.*index 1 is past the end of model.layers' $csv || { cat $csv; fail "misfit not recorded"; }
grep -q "^trial 2 failed (config error): " combo.txt || { cat combo.txt; fail "config error kind"; }

# Every trial failing: the exit code of the failure (4: numerical).
{ cat base.yaml; printf 'search:\n  parameters:\n    train.optimizer.type: [sgd]\n    train.optimizer.lr: [1e38, 2e38]\n'; } > allnan.yaml
expect_exit 4 "$NNTRAIN" search allnan.yaml --set train.epochs=1
grep -q "every trial failed" err.txt || { cat err.txt; fail "all-failed message"; }
[ "$(grep -c ',failed,' searches/allnan/trials.csv)" -eq 2 ] || fail "all-failed table"

# Errors in the search section are config errors, on every rank, reported once.
expect_exit 2 $MPIRUN -np 2 "$NNTRAIN" search nan.yaml --set search.metric=val_acc
grep -q "search.metric: expected one of val_loss, val_accuracy, got 'val_acc' (did you mean 'val_accuracy'?)" err.txt || { cat err.txt; fail "metric error"; }
[ "$(grep -c "val_acc" err.txt)" -eq 1 ] || { cat err.txt; fail "error printed more than once"; }
expect_exit 2 "$NNTRAIN" search nan.yaml --set search.methd=grid
grep -q "did you mean 'method'" err.txt || { cat err.txt; fail "unknown search key"; }
expect_exit 2 "$NNTRAIN" search base.yaml
grep -q "no 'search' section" err.txt || { cat err.txt; fail "missing search section"; }
expect_exit 2 "$NNTRAIN" search nan.yaml --bogus
grep -q "unknown flag '--bogus'" err.txt || fail "unknown flag"
expect_exit 2 "$NNTRAIN" search --status nowhere
echo "failing trials are recorded and the search goes on"

# method: bayes end to end: a small search (2 random configurations, then batches of 2
# chosen by expected improvement) on two groups. The dry run lists the initial draws and
# says the others wait for results; every proposal is in its range (an integer for units);
# the same search on one group proposes the same values (batches depend on earlier results
# only); a search whose journal lost its later events replays to the same proposals.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > base.yaml
{ cat base.yaml; cat <<'YAML'
search:
  method: bayes
  trials: 6
  initial: 2
  batch: 2
  seed: 4
  metric: val_loss
  parameters:
    train.optimizer.lr: {distribution: log_uniform_values, min: 1.0e-4, max: 0.05}
    model.layers[0].units: {min: 16, max: 64}
YAML
} > bayes.yaml
SET="--set train.threads=1 --set train.epochs=1"

"$NNTRAIN" search bayes.yaml $SET --dry-run > plan.txt
grep -q "^bayes: the first 2 configurations drawn at random, then batches of 2" plan.txt || { cat plan.txt; fail "plan line"; }
[ "$(grep -cE '^ +[1-2] +[0-9.e-]+ +[0-9]+$' plan.txt)" -eq 2 ] || { cat plan.txt; fail "plan: initial draws"; }
[ "$(grep -c '?  *?  *(chosen from the results before it)' plan.txt)" -eq 4 ] || { cat plan.txt; fail "plan: undecided trials"; }

$MPIRUN -np 2 "$NNTRAIN" search bayes.yaml $SET --set search.dir=s/np2 > np2.txt
"$NNTRAIN" search bayes.yaml $SET --set search.dir=s/np1 > np1.txt
csv=s/np2/trials.csv
[ "$(grep -c ',finished,' $csv)" -eq 6 ] || { cat $csv np2.txt; fail "not 6 finished trials"; }
tail -n +2 $csv | awk -F, '{ if ($2 < 1e-4 || $2 > 0.05 || $3 !~ /^[0-9]+$/ || $3 < 16 || $3 > 64) bad = 1 }
    END { exit bad }' || { cat $csv; fail "a proposal is out of its range"; }
diff <(cut -d, -f1-3 $csv) <(cut -d, -f1-3 s/np1/trials.csv) || fail "proposals depend on the number of groups"
[ "$(cut -d, -f2-3 $csv | sort -u | wc -l)" -eq 7 ] || { cat $csv; fail "proposals repeat a configuration"; }

# Replay: keep the header and the events of the first 4 trials; the re-run records trials
# 5 and 6 from their checkpoints, deciding their values again from the same results.
cp $csv before.csv
awk 'NR == 1 || $2 ~ /^trial=[1-4]$/' s/np2/journal > j && mv j s/np2/journal
"$NNTRAIN" search bayes.yaml $SET --set search.dir=s/np2 > replay.txt
grep -q "resuming: 4 of 6 trials done" replay.txt || { cat replay.txt; fail "replay: resume line"; }
diff <(cut -d, -f1-4 before.csv) <(cut -d, -f1-4 $csv) || fail "the replayed search proposed other values"
"$NNTRAIN" search --status s/np2 > status.txt
grep -q "^best: trial [1-6], val_loss" status.txt || { cat status.txt; fail "--status"; }
echo "bayes: proposals in range, independent of the groups, replayed from the journal"

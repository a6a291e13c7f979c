# A grid search over optimizer x init x lr (2 x 2 x 2) at np=1, at np=2 with one rank per
# trial and at np=4 (oversubscribed) with two: all 8 trials finish, the table is complete,
# and a trial trained by a group gives the weights of the same configuration trained alone
# (nntrain train with the same overrides), bit for bit. --status prints the leaderboard,
# --final-test evaluates the best trial's best.h5 on the test split.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > grid.yaml
cat >> grid.yaml <<'YAML'
search:
  method: grid
  metric: {name: val_accuracy, goal: maximize}
  parameters:
    train.optimizer.type: {values: [sgd, adam]}
    model.init: {values: [glorot_uniform, he_normal]}
    train.optimizer.lr: [0.01, 0.05]
YAML
# BLAS threads change float summation order; fix them so runs compare bit for bit.
SET="--set train.threads=1"

"$NNTRAIN" search grid.yaml $SET --set search.dir=s/np1 --final-test > np1.txt
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/np2 > np2.txt
$MPIRUN -np 4 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/np4 --set search.ranks_per_trial=2 > np4.txt
grep -q "2 groups of 1 rank (world 2)" np2.txt || { cat np2.txt; fail "np=2 layout"; }
grep -q "2 groups of 2 ranks (world 4)" np4.txt || { cat np4.txt; fail "np=4 layout"; }

for run in np1 np2 np4; do
    csv=s/$run/trials.csv
    [ "$(head -1 $csv)" = "trial,train.optimizer.type,model.init,train.optimizer.lr,status,val_accuracy,best_epoch,epochs,seconds,group,reason" ] \
        || { head -1 $csv; fail "$run: trials.csv header"; }
    [ "$(tail -n +2 $csv | wc -l)" -eq 8 ] || fail "$run: trials.csv has not 8 rows"
    [ "$(grep -c ',finished,0\.[0-9]*,[1-3],3,' $csv)" -eq 8 ] || { cat $csv; fail "$run: not all 8 finished with a metric"; }
    for t in 1 2 3 4 5 6 7 8; do
        d=s/$run/trial-00$t
        [ -f $d/config.yaml ] && [ -f $d/metrics.csv ] && [ -f $d/best.h5 ] && [ -f $d/last.h5 ] \
            || fail "$run: trial $t run directory incomplete"
        [ "$(tail -n +2 $d/metrics.csv | wc -l)" -eq 3 ] || fail "$run: trial $t metrics.csv"
    done
    grep -q "^best: trial " $run.txt || fail "$run: no leaderboard"
    [ -f s/$run/best.yaml ] || fail "$run: no best.yaml"
done
# Both groups trained (trials go to whichever group asks first).
for run in np2 np4; do
    cut -d, -f10 s/$run/trials.csv | grep -qx 0 || fail "$run: group 0 ran nothing"
    cut -d, -f10 s/$run/trials.csv | grep -qx 1 || fail "$run: group 1 ran nothing"
done
# One rank per trial: the same metrics whichever group, and the same weights as alone.
diff <(cut -d, -f1-8 s/np1/trials.csv) <(cut -d, -f1-8 s/np2/trials.csv) || fail "np=1 and np=2 tables differ"
tail -n +2 s/np1/trials.csv | while IFS=, read -r t opt init lr rest; do
    "$NNTRAIN" train grid.yaml $SET --set train.optimizer.type=$opt --set model.init=$init \
        --set train.optimizer.lr=$lr --run-dir runs/alone-$t > alone-$t.txt
    for run in np1 np2; do
        $COMPARE runs/alone-$t/last.h5 s/$run/trial-00$t/last.h5 --exact --groups params,state,optim \
            || fail "$run trial $t differs from training it alone"
    done
    # The trial's recorded metric is the best val_accuracy of the run trained alone.
    best=$(tail -n +2 runs/alone-$t/metrics.csv | cut -d, -f6 | sort -g | tail -1)
    grep -q "^$t,.*,finished,$best," s/np1/trials.csv || fail "trial $t metric is not $best"
done
# Two ranks per trial: the same weights as `mpirun -np 2 nntrain train` of that configuration.
row=$(grep '^6,' s/np4/trials.csv)
IFS=, read -r t opt init lr rest <<< "$row"
$MPIRUN -np 2 "$NNTRAIN" train grid.yaml $SET --set train.optimizer.type=$opt --set model.init=$init \
    --set train.optimizer.lr=$lr --run-dir runs/np2-6 > /dev/null
$COMPARE runs/np2-6/last.h5 s/np4/trial-006/last.h5 --exact --groups params,state,optim \
    || fail "np=4 trial 6 differs from mpirun -np 2 nntrain train"

# best.yaml trains the winner: its config is the best trial's.
best=$(sed -n 's/^best: trial \([0-9]*\),.*/\1/p' np1.txt)
[ -n "$best" ] || fail "no best trial printed"
grep -q "^# best trial $best " s/np1/best.yaml || fail "best.yaml is not trial $best's"
diff <(grep -v '^#' s/np1/best.yaml) <(grep -v '^#' s/np1/trial-00$best/config.yaml) || fail "best.yaml differs from the trial's config"
# The leaderboard: 8 ranked rows, best first, and --status prints the same.
"$NNTRAIN" search --status s/np1 > status.txt
grep -q "search s/np1: grid, 8 trials: 8 finished; metric val_accuracy (maximize)" status.txt || { cat status.txt; fail "--status header"; }
[ "$(grep -cE '^ +[1-8] +[1-8] +0\.[0-9]{4} ' status.txt)" -eq 8 ] || { cat status.txt; fail "--status rows"; }
grep -qE "^ +1 +$best " status.txt || fail "--status does not rank trial $best first"
sort -c -s -r -g -k3,3 <(grep -E '^ +[1-8] +[1-8] +0\.' status.txt) || fail "leaderboard not sorted"
# --final-test: the best trial's best.h5 on the test split, as nntrain eval reports it.
"$NNTRAIN" eval s/np1/trial-00$best/best.h5 --split test > eval.txt
want=$(sed 's/^test: //' eval.txt)
grep -q "^final test of trial $best (s/np1/trial-00$best/best.h5) on /test: $want" np1.txt \
    || { grep final np1.txt; cat eval.txt; fail "--final-test result"; }
# The test split is never used to choose: no trial evaluated it.
! grep -q "^test:" s/np1/trial-00*/log.txt || fail "a trial evaluated the test split"
echo "grid search: 8 trials at np=1, 2 and 4; trials equal training alone"

# Successive halving: 8 trials for 1 epoch, the best 4 continue to 2, the best 2 to 4. The
# decisions match the full grid's own epoch-by-epoch metrics, it trains fewer epochs than
# the grid, keeps the grid's best trial, and a continued trial ends with exactly the weights
# of a trial trained for all its epochs at once. Runs at np=2 (groups wait for each rung).
source "$(dirname "$0")/../e2e/lib.sh"
small_config > base.yaml
{ cat base.yaml; cat <<'YAML'
search:
  method: halving
  metric: val_loss
  min_epochs: 1
  eta: 2
  max_epochs: 4
  parameters:
    train.optimizer.lr: [0.00001, 0.0001, 0.001, 0.005]
    model.init: [glorot_uniform, he_normal]
YAML
} > halving.yaml
SET="--set train.threads=1 --set train.epochs=4"
"$NNTRAIN" search halving.yaml $SET --dry-run > plan.txt
grep -q "^rungs: 8 trials to epoch 1, 4 trials to epoch 2, 2 trials to epoch 4 (at most 16 trial-epochs; 32 for every trial to epoch 4)" plan.txt \
    || { cat plan.txt; fail "halving plan"; }
$MPIRUN -np 2 "$NNTRAIN" search halving.yaml $SET > halving.txt
# The same space as a grid, every trial to epoch 4.
sed 's/method: halving/method: grid/; /min_epochs/d; /eta:/d; /max_epochs/d' halving.yaml > grid.yaml
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET > grid.txt

h=searches/halving/trials.csv g=searches/grid/trials.csv
[ "$(grep -c ',finished,' $h)" -eq 2 ] && [ "$(grep -c ',pruned,' $h)" -eq 6 ] || { cat $h; fail "halving: expected 2 finished and 6 pruned"; }
epochs_h=$(tail -n +2 $h | awk -F, '{ s += $7 } END { print s }')
epochs_g=$(tail -n +2 $g | awk -F, '{ s += $7 } END { print s }')
[ "$epochs_h" -eq 16 ] && [ "$epochs_g" -eq 32 ] || fail "trained epochs: halving $epochs_h, grid $epochs_g"
for t in 1 2 3 4 5 6 7 8; do
    want=$(grep "^$t," $h | cut -d, -f7)
    [ "$(tail -n +2 searches/halving/trial-00$t/metrics.csv | wc -l)" -eq "$want" ] || fail "trial $t metrics.csv rows"
done
grep -q "rung 1 of 3 (epoch 1) done: 4 trials continue to epoch 2" halving.txt || { cat halving.txt; fail "rung 1 message"; }

# The decisions, recomputed from the grid's metrics: the best val_loss up to each rung.
best_upto() { # trial epochs
    tail -n +2 searches/grid/trial-00$1/metrics.csv | head -$2 | cut -d, -f5 | sort -g | head -1
}
top() { # epochs count trials...
    local e=$1 n=$2; shift 2
    for t in "$@"; do echo "$(best_upto $t $e) $t"; done | sort -g -k1,1 -k2,2n | head -$n | awk '{print $2}' | sort -n | tr '\n' ' '
}
rung1=$(top 1 4 1 2 3 4 5 6 7 8)
rung2=$(top 2 2 $rung1)
got1=$(tail -n +2 $h | awk -F, '$7 >= 2 {print $1}' | sort -n | tr '\n' ' ')
got2=$(tail -n +2 $h | awk -F, '$7 == 4 {print $1}' | sort -n | tr '\n' ' ')
[ "$got1" = "$rung1" ] || fail "rung 1 promoted '$got1', the grid's metrics say '$rung1'"
[ "$got2" = "$rung2" ] || fail "rung 2 promoted '$got2', the grid's metrics say '$rung2'"

# It keeps the best trial: the grid's winner wins, with the same metric and weights.
best_h=$(sed -n 's/^best: trial \([0-9]*\),.*/\1/p' halving.txt)
best_g=$(sed -n 's/^best: trial \([0-9]*\),.*/\1/p' grid.txt)
[ -n "$best_h" ] && [ "$best_h" = "$best_g" ] || fail "halving chose trial '$best_h', the grid '$best_g'"
[ "$(grep "^$best_h," $h | cut -d, -f5-7)" = "$(grep "^$best_g," $g | cut -d, -f5-7)" ] || { grep "^$best_h," $h $g; fail "winner's metric differs"; }
for t in $got2; do
    $COMPARE searches/grid/trial-00$t/last.h5 searches/halving/trial-00$t/last.h5 --exact --groups params,state,optim \
        || fail "trial $t continued over 3 rungs differs from 4 epochs at once"
done
# The winner's config trains to max_epochs.
grep -q "epochs: 4" searches/halving/best.yaml || fail "best.yaml epochs"
echo "halving: $epochs_h epochs instead of $epochs_g, best trial $best_h kept"

# Random search: the same seed lists the same trials every time (also under mpirun, with
# the rank layout), another seed other trials; draws stay in their ranges. A short random
# search runs, and --predict ranks configurations not yet run by a surrogate fitted to the
# finished trials (after a grid search too: points between the grid's values).
source "$(dirname "$0")/../e2e/lib.sh"
small_config > base.yaml
{ cat base.yaml; cat <<'YAML'
search:
  method: random
  trials: 12
  seed: 3
  metric: val_loss
  parameters:
    train.optimizer.lr: {distribution: log_uniform, min: 1.0e-4, max: 0.05}
    train.optimizer.type: {values: [sgd, adam, rmsprop]}
    model.layers[0].units: {distribution: int_uniform, min: 8, max: 64}
    model.layers[1].activation: [relu, tanh, gelu]
YAML
} > random.yaml

"$NNTRAIN" search random.yaml --dry-run > a.txt
"$NNTRAIN" search random.yaml --dry-run > b.txt
cmp a.txt b.txt || fail "the same seed listed different trials"
"$NNTRAIN" search random.yaml --dry-run --set search.seed=4 > c.txt
[ "$(grep -cE '^ +[0-9]+ ' a.txt)" -eq 12 ] || { cat a.txt; fail "dry-run does not list 12 trials"; }
diff <(grep -E '^ +[0-9]+ ' a.txt) <(grep -E '^ +[0-9]+ ' c.txt) > /dev/null && fail "another seed drew the same trials"
grep -q "^search: random over 4 parameters, 12 trials; metric val_loss (minimize)" a.txt || { cat a.txt; fail "dry-run header"; }
# Ranges: lr in [1e-4, 0.05], units an integer in [8, 64], activations from the list.
grep -E '^ +[0-9]+ ' a.txt | awk '{ if ($2 < 1e-4 || $2 > 0.05 || $4 !~ /^[0-9]+$/ || $4 < 8 || $4 > 64 ||
    ($3 != "sgd" && $3 != "adam" && $3 != "rmsprop") || ($5 != "relu" && $5 != "tanh" && $5 != "gelu")) bad = 1 }
    END { exit bad }' || { cat a.txt; fail "a draw is out of its range"; }
# The draws do not depend on the number of ranks; the layout is printed.
$MPIRUN -np 4 "$NNTRAIN" search random.yaml --dry-run --set search.ranks_per_trial=2 > d.txt
diff <(grep -E '^ +[0-9]+ ' a.txt) <(grep -E '^ +[0-9]+ ' d.txt) || fail "draws depend on the rank count"
grep -q "^layout: 4 ranks, 2 per trial, 2 groups: group 0: ranks 0-1 (rank 0 also coordinates), group 1: ranks 2-3" d.txt \
    || { cat d.txt; fail "layout line"; }
$MPIRUN -np 3 "$NNTRAIN" search random.yaml --dry-run --set search.coordinator_trains=false > e.txt
grep -q "group 0: rank 1, group 1: rank 2; rank 0 coordinates only" e.txt || { cat e.txt; fail "coordinator-only layout"; }
expect_exit 2 $MPIRUN -np 3 "$NNTRAIN" search random.yaml --dry-run --set search.ranks_per_trial=2
grep -q "2 does not divide the 3 ranks that train" err.txt || { cat err.txt; fail "layout error"; }
# The example search (launch/configs/search-lr.yaml): the five learning rates on two groups.
$MPIRUN -np 2 "$NNTRAIN" search "$NN_SOURCE_DIR/launch/configs/search-lr.yaml" --dry-run > lr.txt
grep -q "^search: grid over 1 parameter, 5 trials; metric val_accuracy (maximize); directory searches/search-lr" lr.txt \
    || { cat lr.txt; fail "search-lr.yaml plan"; }
[ "$(grep -E '^ +[1-5] +0\.' lr.txt | awk '{print $2}' | tr '\n' ' ')" = "0.001 0.005 0.01 0.05 0.1 " ] \
    || { cat lr.txt; fail "search-lr.yaml learning rates"; }
grep -q "group 0: rank 0 (rank 0 also coordinates), group 1: rank 1" lr.txt || fail "search-lr.yaml layout"
# A dry run writes nothing.
[ ! -e searches ] || fail "--dry-run created the search directory"

# Run it (2 epochs to keep it short) and predict.
$MPIRUN -np 2 "$NNTRAIN" search random.yaml --set train.epochs=2 > run.txt
[ "$(grep -c ',finished,' searches/random/trials.csv)" -eq 12 ] || { cat searches/random/trials.csv; fail "random trials did not finish"; }
# The trials ran with the values listed by the dry run.
for t in 1 7 12; do
    listed=$(grep -E "^ +$t " a.txt | awk '{print $2, $3, $4, $5}')
    ran=$(grep "^$t," searches/random/trials.csv | awk -F, '{print $2, $3, $4, $5}')
    [ "$listed" = "$ran" ] || fail "trial $t ran '$ran', the dry run listed '$listed'"
    grep -q "lr: $(echo $listed | cut -d' ' -f1)" searches/random/trial-0$(printf %02d $t)/config.yaml \
        || fail "trial $t config does not hold its lr"
done
"$NNTRAIN" search --predict searches/random --top 5 > p.txt
grep -q "^surrogate: Gaussian process on 12 finished trials of searches/random" p.txt || { cat p.txt; fail "predict header"; }
grep -q "train.optimizer.lr (log10), train.optimizer.type (one-hot), model.layers\[0\].units, model.layers\[1\].activation (one-hot)" p.txt \
    || { cat p.txt; fail "predict features"; }
rows=$(grep -E '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +draw ' p.txt)
[ "$(echo "$rows" | wc -l)" -eq 5 ] || { cat p.txt; fail "predict: not 5 ranked draws"; }
echo "$rows" | awk '{print $2}' | sort -c -g || fail "predictions not ranked (val_loss: lowest first)"
echo "$rows" | awk '{ if ($5 <= 12) bad = 1 } END { exit bad }' || fail "predicted a trial that already ran"
# A draw named by --predict is that draw of the stream: the dry run of a bigger budget lists it.
first=$(echo "$rows" | head -1 | awk '{print $5, $6, $7, $8, $9}')
draw=$(echo "$first" | cut -d' ' -f1)
"$NNTRAIN" search random.yaml --dry-run --set search.trials=$draw --set search.dir=other > big.txt
[ "$(grep -E "^ +$draw " big.txt | awk '{print $2, $3, $4, $5}')" = "$(echo "$first" | cut -d' ' -f2-)" ] \
    || fail "draw $draw is not the stream's"

# After a grid: configurations between the grid's values, ranked best first.
{ cat base.yaml; cat <<'YAML'
search:
  metric: val_accuracy
  parameters:
    train.optimizer.lr: [0.0005, 0.002, 0.008, 0.032]
    model.layers[0].units: [16, 64]
YAML
} > grid.yaml
"$NNTRAIN" search grid.yaml --set train.epochs=1 > grid.txt
"$NNTRAIN" search --predict searches/grid > gp.txt
grep -q "train.optimizer.lr (log10), model.layers\[0\].units" gp.txt || { cat gp.txt; fail "grid features"; }
rows=$(grep -E '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +between grid points ' gp.txt)
# 7 lr values (4 + 3 geometric midpoints) x 3 widths (2 + 1), minus the 8 grid points: 13.
[ "$(echo "$rows" | wc -l)" -eq 10 ] || { cat gp.txt; fail "grid predictions: expected the top 10"; }
grep -q "the 10 best of 13 configurations not yet run" gp.txt || { cat gp.txt; fail "grid candidates"; }
echo "$rows" | awk '{print $2}' | sort -c -g -r || fail "grid predictions not ranked (highest first)"
grep -qE ' 0\.001 +(16|40|64)$' gp.txt || { cat gp.txt; fail "no geometric midpoint of 0.0005 and 0.002"; }
grep -qE ' 40$' gp.txt || { cat gp.txt; fail "no midpoint of 16 and 64 units"; }
expect_exit 2 "$NNTRAIN" search --predict nowhere
grep -q "nowhere is not a search directory" err.txt || { cat err.txt; fail "--predict on a non-search"; }
echo "random search reproducible; predictions ranked"

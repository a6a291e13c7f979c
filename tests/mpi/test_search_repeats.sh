# search.repeats: a grid of 2 learning rates x 2 seeds on two groups gives 4 distinct runs;
# each is, metric for metric, the standalone `nntrain train` of its configuration with its
# seed (seed, seed + 1); configs.csv holds each configuration's mean, sd and 95% interval
# computed from trials.csv; the leaderboard ranks configurations; a search whose journal
# lost its last result resumes to the same table; another repeats count is another search.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > base.yaml
{ cat base.yaml; cat <<'YAML'
search:
  metric: {name: val_accuracy, goal: maximize}
  repeats: 2
  parameters:
    train.optimizer.lr: [0.002, 0.01]
YAML
} > rep.yaml
SET="--set train.threads=1 --set train.epochs=2"

"$NNTRAIN" search rep.yaml $SET --dry-run > plan.txt
grep -q "^repeats: 2 configurations x 2 seeds (11 to 12;" plan.txt || { cat plan.txt; fail "plan: repeats line"; }
[ "$(grep -cE '^ +[1-4] +0\.0(02|1) +seed 1[12]$' plan.txt)" -eq 4 ] || { cat plan.txt; fail "plan: trials and seeds"; }

$MPIRUN -np 2 "$NNTRAIN" search rep.yaml $SET > run.txt
csv=searches/rep/trials.csv
[ "$(head -1 $csv)" = "trial,train.optimizer.lr,status,val_accuracy,best_epoch,epochs,seconds,group,reason,config,seed" ] \
    || { head -1 $csv; fail "trials.csv header"; }
[ "$(grep -c ',finished,' $csv)" -eq 4 ] || { cat $csv; fail "not 4 finished trials"; }

# Per-epoch metrics of a run, without timings.
metrics() {
    /usr/bin/python3 - "$1" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    print(row["epoch"], row["loss"], row["accuracy"], row["val_loss"], row["val_accuracy"])
PY
}
for t in 1 2 3 4; do
    row=$(grep "^$t," $csv)
    lr=$(echo "$row" | cut -d, -f2)
    seed=$(echo "$row" | awk -F, '{print $NF}')
    config=$(echo "$row" | awk -F, '{print $(NF-1)}')
    [ "$config" -eq $(( (t - 1) / 2 + 1 )) ] || fail "trial $t: configuration $config"
    [ "$seed" -eq $(( 11 + (t - 1) % 2 )) ] || fail "trial $t: seed $seed"
    "$NNTRAIN" train base.yaml $SET --set train.optimizer.lr=$lr --set seed=$seed --run-dir solo$t > /dev/null
    diff <(metrics searches/rep/trial-00$t/metrics.csv) <(metrics solo$t/metrics.csv) \
        || fail "trial $t (lr $lr, seed $seed) differs from nntrain train with that seed"
done
# Two seeds are two runs.
metrics searches/rep/trial-001/metrics.csv > a.txt
metrics searches/rep/trial-002/metrics.csv > b.txt
cmp -s a.txt b.txt && fail "the two seeds of configuration 1 gave the same run"

# configs.csv against trials.csv: mean, sample sd, mean -+ t(0.975, 1) sd / sqrt(2).
/usr/bin/python3 - searches/rep <<'PY' || fail "configs.csv does not match trials.csv"
import csv, math, sys
d = sys.argv[1]
trials = list(csv.DictReader(open(d + "/trials.csv")))
configs = list(csv.DictReader(open(d + "/configs.csv")))
assert len(configs) == 2, configs
means = {}
for c in configs:
    vals = [float(t["val_accuracy"]) for t in trials if t["config"] == c["config"]]
    mean = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    half = 12.706204736 * sd / math.sqrt(len(vals))
    for key, want in (("mean", mean), ("sd", sd), ("ci95_low", mean - half), ("ci95_high", mean + half)):
        assert abs(float(c[key]) - want) < 1e-8, (key, c[key], want)
    assert c["finished"] == "2" and c["repeats"] == "2"
    means[c["config"]] = mean
best = max(means, key=means.get)
assert configs[0]["config"] == best and configs[0]["rank"] == "1", configs
assert configs[0]["overlaps_best"] == "1"
PY
grep -q "^best: configuration [12], val_accuracy 0\.[0-9]* (mean of 2)" run.txt || { cat run.txt; fail "leaderboard: best configuration"; }
grep -q "each configuration ran with seeds 11 to 12" run.txt || { cat run.txt; fail "leaderboard: seeds"; }
"$NNTRAIN" search --status searches/rep > status.txt
grep -qE "^ +1 +[12] +0\.[0-9]{4} +0\.[0-9]{4} +\[" status.txt || { cat status.txt; fail "--status: configuration rows"; }

# Resume: the journal loses the last result; the re-run records it from the checkpoint.
cp $csv before.csv
grep -n '^end ' searches/rep/journal | tail -1 | cut -d: -f1 | xargs -I{} sed -i '{}d' searches/rep/journal
"$NNTRAIN" search rep.yaml $SET > resume.txt
grep -q "its checkpoint already holds epoch 2" resume.txt || { cat resume.txt; fail "resume did not recover the result"; }
diff <(cut -d, -f1-6,10- before.csv) <(cut -d, -f1-6,10- $csv) || fail "the resumed table differs"
expect_exit 2 "$NNTRAIN" search rep.yaml $SET --set search.repeats=3
grep -q "different search space" err.txt || { cat err.txt; fail "another repeats count resumed"; }
echo "repeats: per-seed runs equal standalone runs; means and intervals match"

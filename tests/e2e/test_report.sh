# nntrain report on real runs and a real search on Fashion-MNIST: each page is well-formed,
# self-contained, its tables equal metrics.csv / trials.csv, the confusion matrix equals
# `nntrain predict`'s; a hand-made metrics-steps.csv gives per-step curves; a run without
# validation, a run killed mid-epoch, a regression run and a search with failed trials give
# pages of what exists; bad input is one line and a non-zero exit with nothing overwritten;
# --watch rewrites the page; headless Chromium renders every page (screenshots kept in the
# build tree under report-screenshots/).
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
CHECK="/usr/bin/python3 $NN_SOURCE_DIR/tests/tools/check_report.py"
SHOTS="${NN_BINARY_DIR:-$WORK}/report-screenshots"
mkdir -p "$SHOTS"
RUN_SECTIONS=curves,timings,evaluation,model,config,layout,checkpoints

cat > run.yaml <<YAML
data: {path: $data, train_rows: [0, 3000], val: {split: 0.1}, test_rows: [0, 500]}
model:
  input: [1, 28, 28]
  mlp: [32, 10]
train: {epochs: 2, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.003},
        threads: 1}
seed: 5
YAML
"$NNTRAIN" train run.yaml --no-progress > train.txt
# The per-step record, as the trainer writes it (epoch,step,...): 2 epochs of 40 steps,
# steps counted within each epoch.
awk 'BEGIN { print "epoch,step,loss,accuracy,lr,grad_norm,samples_per_s"
             for (e = 1; e <= 2; e++) for (s = 1; s <= 40; s++) {
                 t = (e - 1) * 40 + s
                 printf "%d,%d,%.5f,%.4f,%.6g,%.4f,%.1f\n", e, s, 2.3 / (1 + 0.05 * t),
                        0.1 + 0.8 * t / (t + 10), 0.003 * 0.98 ^ t, 30 * exp(-t / 12) + 0.5,
                        4000 + 10 * s }
           }' > runs/run/metrics-steps.csv
# The run's closing test evaluation is kept (test-confusion.csv, test-misclassified.csv): its
# counts sum to the split, its diagonal is the accuracy the run printed, and the page draws
# it for last.h5 without running the model; it equals `nntrain predict` on last.h5.
/usr/bin/python3 - runs/run train.txt <<'PY' || fail "test-confusion.csv"
import csv, re, sys
rows = list(csv.reader(open(sys.argv[1] + "/test-confusion.csv")))
counts = [[int(v) for v in r[1:]] for r in rows[1:]]
assert len(counts) == 10 and all(len(r) == 10 for r in counts), rows[0]
total = sum(map(sum, counts))
assert total == 500, total
printed = float(re.search(r"test: loss \S+  accuracy (\S+)", open(sys.argv[2]).read()).group(1))
diag = sum(counts[i][i] for i in range(10)) / total
assert abs(diag - printed) < 6e-5, (diag, printed)
wrong = list(csv.reader(open(sys.argv[1] + "/test-misclassified.csv")))[1:]
assert 0 < len(wrong) <= 24 and all(r[1] != r[2] for r in wrong), wrong
assert [int(r[0]) for r in wrong] == sorted(int(r[0]) for r in wrong)
PY
"$NNTRAIN" report runs/run -o recorded.html > report.txt
grep -q "^wrote recorded.html$" report.txt || fail "report did not say what it wrote"
grep -q 'runs/run/last.h5</code> (the final model, after epoch 2), over the run.s <b>test</b> rows' recorded.html ||
    fail "the page does not use the run's own test evaluation"
$CHECK page recorded.html --sections evaluation,misclassified,per-class-table --absent lr
grep -q 'The learning rate stayed at 0.003 in every epoch.' recorded.html ||
    fail "a constant learning rate should be a sentence, not a flat chart"
/usr/bin/python3 - <<'PY' || fail "misclassified.png beside the page"
from PIL import Image
n = sum(1 for _ in open("runs/run/test-misclassified.csv")) - 1
im = Image.open("recorded-plots/misclassified.png")
assert im.size == (min(n, 8) * 30 - 2, (n + 7) // 8 * 30 - 2), (im.size, n)
PY
"$NNTRAIN" predict runs/run/last.h5 -o predictions-last.h5 > /dev/null
$CHECK confusion recorded.html predictions-last.h5 "$data" --rows 500
# A record older than last.h5 (a later epoch rewrote it) is not used: the best checkpoint is
# evaluated instead.
touch runs/run/last.h5
"$NNTRAIN" report runs/run -o run.html > report.txt
$CHECK page run.html --sections $RUN_SECTIONS,steps,misclassified,per-class-table \
    --metrics runs/run/metrics.csv --steps runs/run/metrics-steps.csv
grep -q 'runs/run/best.h5' run.html || fail "the page does not name the weights of the confusion matrix"
"$NNTRAIN" predict runs/run/best.h5 -o predictions.h5 > /dev/null
$CHECK confusion run.html predictions.h5 "$data"
[ -f run-plots/confusion.svg ] && [ -f run-plots/step-grad_norm.svg ] || fail "plots beside the page"
# The evaluation is kept beside the checkpoint: a second report is the same page without a
# forward pass; a stale record (another checkpoint) is recomputed.
[ -f runs/run/report-eval.txt ] || fail "no evaluation record beside the checkpoint"
"$NNTRAIN" report runs/run -o cached.html > /dev/null
cmp -s cached.html run.html || fail "the cached evaluation gives another page"
sed -i '2s/.*/key epoch-001.h5 1 2 3 test/; 14s/^[0-9]*/9999/' runs/run/report-eval.txt
"$NNTRAIN" report runs/run -o stale.html > /dev/null
$CHECK confusion stale.html predictions.h5 "$data"
grep -q '^key best.h5 ' runs/run/report-eval.txt || fail "a stale evaluation record was not replaced"
# Without a checkpoint to evaluate, or with --no-eval: no evaluation, and no error.
"$NNTRAIN" report runs/run --no-eval -o noeval.html > /dev/null
$CHECK page noeval.html --sections curves --absent evaluation
# The default output is the run's own report.html.
"$NNTRAIN" report runs/run --no-eval > /dev/null
[ -f runs/run/report.html ] || fail "default output runs/run/report.html"

# A second run, without validation; then both compared.
sed 's/, val: {split: 0.1}//' run.yaml > noval.yaml
"$NNTRAIN" train noval.yaml --no-progress --set train.epochs=3 --run-dir runs/noval > /dev/null
[ "$(tail -n +2 runs/noval/metrics.csv | cut -d, -f5 | sort -u)" = nan ] || fail "noval: val_loss should be nan"
"$NNTRAIN" report runs/noval -o noval.html > /dev/null
$CHECK page noval.html --sections $RUN_SECTIONS --metrics runs/noval/metrics.csv
"$NNTRAIN" report runs/run runs/noval -o compare.html > /dev/null
$CHECK page compare.html --sections curves,runs,compare-loss

# A run killed mid-epoch: no checkpoint yet and metrics.csv ending in half a line.
mkdir -p runs/killed
cp runs/run/config.yaml runs/run/log.txt runs/killed/
head -2 runs/run/metrics.csv > runs/killed/metrics.csv
printf '2,0.003,0.61' >> runs/killed/metrics.csv
"$NNTRAIN" report runs/killed -o killed.html > /dev/null
head -2 runs/run/metrics.csv > killed-complete.csv
$CHECK page killed.html --sections curves,evaluation,model --metrics killed-complete.csv
grep -q 'No best.h5 or last.h5' killed.html || fail "killed run: the page should say there are no weights"

# A regression run: predicted against true values instead of a confusion matrix.
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(1)
with h5py.File("reg.h5", "w") as f:
    for split, n in (("train", 600), ("test", 200)):
        x = rng.standard_normal((n, 4)).astype(np.float32)
        f[split + "/x"] = x
        f[split + "/y"] = np.tanh(x[:, :1] - x[:, 1:2]).astype(np.float32)
PY
cat > reg.yaml <<'YAML'
data: {path: reg.h5, val: {split: 0.2}}
model: {input: [4], layers: [{name: h, type: dense, units: 8, activation: tanh},
                             {name: out, type: dense, units: 1}]}
train: {epochs: 2, batch_size: 32, loss: mse, optimizer: {type: adam, lr: 0.01}, threads: 1}
YAML
"$NNTRAIN" train reg.yaml --no-progress --run-dir runs/reg > /dev/null
"$NNTRAIN" report runs/reg -o reg.html > /dev/null
$CHECK page reg.html --sections curves,evaluation,predicted-vs-true,residuals --absent confusion \
    --metrics runs/reg/metrics.csv

# A search: successive halving over the learning rate (one value fails: a non-finite loss)
# and two seeds per value.
{ sed 's/optimizer: {type: adam, lr: 0.003}/optimizer: {type: sgd, lr: 0.003}/' run.yaml; cat <<'YAML'
search:
  method: halving
  metric: {name: val_accuracy, goal: maximize}
  min_epochs: 1
  eta: 2
  max_epochs: 2
  parameters:
    train.optimizer.lr: [0.01, 1.0e38, 0.1]
    seed: [1, 2]
YAML
} > search.yaml
$MPIRUN -np 2 "$NNTRAIN" search search.yaml --set train.threads=1 > search.txt 2>&1 || { cat search.txt; fail "search"; }
grep -q ',failed,' searches/search/trials.csv || fail "the search should have failed trials"
grep -q ',pruned,' searches/search/trials.csv || fail "the search should have pruned trials"
"$NNTRAIN" report searches/search -o search.html > /dev/null
$CHECK page search.html --sections leaderboard,parameters,param-0,param-1,parallel,best-curves,rungs,seeds,seeds-table \
    --trials searches/search/trials.csv
grep -q 'failed: non-finite loss' search.html || fail "the search page does not give the failure's reason"

# A grid search: the surrogate's predictions (as `nntrain search --predict` prints them)
# join the metric-against-parameter chart.
{ cat run.yaml; printf 'search:\n  metric: val_loss\n  parameters:\n    train.optimizer.lr: [0.0003, 0.003, 0.03]\n'; } > grid.yaml
"$NNTRAIN" search grid.yaml --set train.epochs=1 > grid.txt 2>&1 || { cat grid.txt; fail "grid search"; }
"$NNTRAIN" search --predict searches/grid > predict.txt
want=$(awk '/^rank +predicted/ { on = 1; next } on && NF { n++ } END { print n + 0 }' predict.txt)
[ "$want" -gt 0 ] || { cat predict.txt; fail "no predictions to compare with"; }
"$NNTRAIN" report searches/grid -o grid.html > /dev/null
$CHECK page grid.html --sections leaderboard,param-0,best-curves --absent rungs,seeds \
    --trials searches/grid/trials.csv
grep -q "With the predicted val_loss of $want configurations not yet run" grid.html ||
    { cat predict.txt; grep -o 'With the predicted[^.]*' grid.html; fail "the grid page does not show the $want predictions"; }
grep -q '>predicted</text>' grid.html || fail "no predictions in the chart's legend"

# Study outputs: nntrain reinit's table as a heatmap on the run page; a search over
# data.label_noise draws training (noisy labels) and validation accuracy per noise level.
"$NNTRAIN" train run.yaml --no-progress --set train.checkpoint.keep_initial=true \
    --set train.checkpoint.keep=10 --run-dir runs/ri > /dev/null
"$NNTRAIN" reinit runs/ri --epochs 1 -o runs/ri/reinit.csv > /dev/null
"$NNTRAIN" report runs/ri --no-eval -o ri.html > /dev/null
$CHECK page ri.html --sections reinit,reinit-0 --reinit runs/ri/reinit.csv
{ sed 's/train_rows: \[0, 3000\]/train_rows: [0, 1000]/' run.yaml
  printf 'search:\n  metric: val_accuracy\n  parameters:\n    data.label_noise: [0, 1]\n'; } > noise.yaml
"$NNTRAIN" search noise.yaml > noise.txt 2>&1 || { cat noise.txt; fail "label-noise search"; }
"$NNTRAIN" report searches/noise -o noise.html > /dev/null
$CHECK page noise.html --sections label-noise,label-noise-train,label-noise-val \
    --trials searches/noise/trials.csv
# The output directories of nntrain cka and probe get a study page: the CKA heatmap holds
# cka.csv's values, the probe chart names the layers in depth order; the table is listed.
"$NNTRAIN" cka runs/run/best.h5 --rows 0:300 -o study-cka > /dev/null
"$NNTRAIN" probe runs/run/best.h5 --train-rows 0:1000 --eval-rows 0:300 --epochs 2 \
    -o study-probe > /dev/null
"$NNTRAIN" report study-cka -o cka.html > /dev/null
"$NNTRAIN" report study-probe -o probe.html > /dev/null
$CHECK page cka.html --sections cka,cka-heatmap,cka-table
$CHECK page probe.html --sections probe,probe-accuracy,probe-table
/usr/bin/python3 - <<'PY' || fail "the study pages' numbers"
import csv, re
rows = list(csv.reader(open("study-cka/cka.csv")))
want = sorted(float(v) for r in rows[1:] for v in r[1:])
svg = re.search(r'<svg[^>]*id="cka-heatmap".*?</svg>', open("cka.html").read(), re.S).group(0)
got = sorted(float(v) for v in re.findall(r'data-value="([^"]+)"', svg))
assert len(got) == len(want) and all(abs(g - w) < 1e-5 for g, w in zip(got, want)), (got, want)
layers = [r[0] for r in csv.reader(open("study-probe/probe.csv"))][1:]
svg = re.search(r'<svg[^>]*id="probe-accuracy".*?</svg>', open("probe.html").read(), re.S).group(0)
named = [t for t in re.findall(r'>([^<>]+)</text>', svg) if t in layers]
assert named == layers, (named, layers)
PY
# nntrain compare's CSV in a directory: latency per sample against the batch size per model,
# and its table as written.
mkdir study-compare
"$NNTRAIN" compare run.yaml noval.yaml --batch 1,16 --repeats 3 --threads 1 \
    -o study-compare/compare.csv > /dev/null
"$NNTRAIN" report study-compare -o compare-models.html > /dev/null
$CHECK page compare-models.html --sections compare,compare-latency,compare-table
/usr/bin/python3 - <<'PY' || fail "the compare page's table"
import csv, re
want = list(csv.reader(open("study-compare/compare.csv")))[1:]
html = open("compare-models.html").read()
table = re.search(r'<table id="compare-table">.*?</table>', html, re.S).group(0)
got = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
assert got == want, (got, want)
svg = re.search(r'<svg[^>]*id="compare-latency".*?</svg>', html, re.S).group(0)
assert ">run.yaml</text>" in svg and ">noval.yaml</text>" in svg, "legend"
PY
expect_exit 2 "$NNTRAIN" report study-cka runs/run -o mixed.html
[ ! -e mixed.html ] || fail "a refused report wrote mixed.html"

# Bad input: one line, exit 2 (or 1 for the unwritable output), nothing overwritten.
cp run.html before.html
mkdir notarun
expect_exit 2 "$NNTRAIN" report notarun -o run.html
[ "$(wc -l < err.txt)" -eq 1 ] && grep -q 'notarun is neither a run' err.txt || { cat err.txt; fail "not-a-run message"; }
expect_exit 2 "$NNTRAIN" report missing-dir -o run.html
expect_exit 2 "$NNTRAIN" report runs/run searches/search -o run.html
expect_exit 1 "$NNTRAIN" report runs/run --no-eval -o no/such/dir/run.html
[ "$(wc -l < err.txt)" -eq 1 ] && grep -q 'no/such/dir/run.html' err.txt || { cat err.txt; fail "unwritable output message"; }
expect_exit 2 "$NNTRAIN" report runs/run --bogus
cmp -s before.html run.html || fail "a failed report changed run.html"
[ ! -e no ] || fail "a failed report left files behind"

# --watch: the page is rewritten when an epoch is added, and reloads itself.
cp -r runs/killed runs/watched
head -2 runs/run/metrics.csv > runs/watched/metrics.csv
"$NNTRAIN" report runs/watched --watch -o watched.html > watch.txt 2>&1 &
watcher=$!
for _ in $(seq 100); do grep -q wrote watch.txt && break; sleep 0.2; done
grep -q 'http-equiv="refresh"' watched.html || { kill $watcher; fail "a watched page must reload itself"; }
sed -n 3p runs/run/metrics.csv >> runs/watched/metrics.csv
third=$(sed -n 3p runs/run/metrics.csv | cut -d, -f3)
for _ in $(seq 100); do grep -q "<td>$third</td>" watched.html && break; sleep 0.2; done
kill -TERM $watcher
wait $watcher || fail "report --watch did not exit 0 on SIGTERM"
grep -q "<td>$third</td>" watched.html || fail "report --watch did not rewrite the page after an epoch"

# In a real browser.
$CHECK browser run.html "$SHOTS/run.png" --sections $RUN_SECTIONS,steps,confusion,loss
$CHECK browser cka.html "$SHOTS/cka.png" --sections cka,cka-heatmap
$CHECK browser probe.html "$SHOTS/probe.png" --sections probe,probe-accuracy
$CHECK browser search.html "$SHOTS/search.png" --sections leaderboard,parallel,rungs,seeds
$CHECK browser compare.html "$SHOTS/compare.png" --sections curves,runs
$CHECK browser reg.html "$SHOTS/regression.png" --sections residuals
$CHECK browser ri.html "$SHOTS/reinit.png" --sections reinit
$CHECK browser noise.html "$SHOTS/label-noise.png" --sections label-noise
echo "screenshots in $SHOTS"

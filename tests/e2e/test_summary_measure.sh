# nntrain summary --measure and nntrain compare: the parameter, state and byte counts equal
# what a checkpoint holds in /params and /state (read with h5py); the latency table has one
# row per --batch size, each the median of the --repeats asked for (the structure is
# checked, never the timing: min <= median <= max, the repeats counted in the CSV); compare
# lines up configs, checkpoints and run directories with the same figures; bad flags are one
# line and exit 2.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > bn.yaml <<YAML
data: {path: $data, train_rows: [0, 500], val: {split: 0.2}, test_rows: [0, 200]}
model:
  input: [1, 28, 28]
  layers:
    - {name: conv, type: conv2d, filters: 4, kernel: 3, activation: relu}
    - {name: bn, type: batchnorm}
    - {name: fc, type: dense, units: 10}
train: {epochs: 1, batch_size: 50, loss: cross_entropy, optimizer: {type: adam, lr: 0.001}}
seed: 2
YAML
"$NNTRAIN" train bn.yaml --no-progress --run-dir run > train.txt || { cat train.txt; fail "training"; }
"$NNTRAIN" summary run/last.h5 --measure --batch 1,8,33 --repeats 5 --threads 1 > summary.txt ||
    { cat summary.txt; fail "summary --measure"; }
read -r params state bytes < <(/usr/bin/python3 - run/last.h5 <<'PY'
import sys, h5py
sizes = {"params": 0, "state": 0, "bytes": 0}
with h5py.File(sys.argv[1], "r") as f:
    for group in ("params", "state"):
        if group in f:
            def add(name, obj, group=group):
                if isinstance(obj, h5py.Dataset):
                    sizes[group] += obj.size
                    sizes["bytes"] += obj.nbytes
            f[group].visititems(add)
print(sizes["params"], sizes["state"], sizes["bytes"])
PY
)
[ "$state" -gt 0 ] || fail "the checkpoint holds no state: the test needs batchnorm"
grep "^measured: $params parameters + $state state = $bytes bytes as float32" summary.txt > /dev/null ||
    fail "summary's counts differ from the checkpoint's ($params + $state, $bytes bytes): $(grep measured summary.txt)"
grep "^forward latency, median of 5 repeats, 1 thread:" summary.txt > /dev/null ||
    fail "no median-of-repeats header: $(cat summary.txt)"
awk '/^forward latency, median/ { on = 1; getline; next }
     on && NF == 7 { n++; batch[n] = $1; if (!($4 <= $2 && $2 <= $5 && $2 > 0)) bad = 1
                     # us/sample = 1000 ms/batch / batch, up to the rounding of the two printed
                     # figures (ms to 4 decimals: 0.15% of a 0.03 ms batch, us to 3)
                     d = $3 - 1000 * $2 / $1; if (d < 0) d = -d
                     if (d > 1000 * 0.00005 / $1 + 0.0005 + 1e-6 * $3) bad = 1 }
     END { exit !(n == 3 && batch[1] == 1 && batch[2] == 8 && batch[3] == 33 && !bad) }' summary.txt ||
    fail "the latency table is not one row per batch with min <= median <= max: $(cat summary.txt)"

# compare: a config, the checkpoint and the run directory, 4 repeats each.
cat > wide.yaml <<YAML
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 64, activation: relu}
    - {name: fc2, type: dense, units: 10}
train: {batch_size: 50}
YAML
"$NNTRAIN" compare wide.yaml run/last.h5 run --batch 1,16 --repeats 4 --threads 1 -o cmp.csv > cmp.txt ||
    { cat cmp.txt; fail "compare"; }
[ "$(wc -l < cmp.csv)" -eq 7 ] || fail "compare: expected 6 rows (3 models x 2 batches): $(cat cmp.csv)"
/usr/bin/python3 - cmp.csv "$params" "$state" "$bytes" <<'PY' || fail "compare's CSV"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
params, state, nbytes = (int(v) for v in sys.argv[2:5])
for r in rows:
    assert int(r["repeats"]) == 4, r
    assert float(r["min_ms"]) <= float(r["median_ms"]) <= float(r["max_ms"]), r
    per_sample = float(r["median_ms"]) * 1000 / int(r["batch"])
    assert abs(float(r["us_per_sample"]) - per_sample) <= 1e-3 * per_sample, r
for r in rows[2:]:
    assert (int(r["params"]), int(r["state"]), int(r["bytes"])) == (params, state, nbytes), r
    assert r["val_accuracy"] != "", r
assert int(rows[0]["params"]) == 784 * 64 + 64 + 64 * 10 + 10, rows[0]
assert rows[0]["val_accuracy"] == ""
assert [int(r["batch"]) for r in rows] == [1, 16] * 3
PY
grep "median of 4 repeats" cmp.txt > /dev/null || fail "compare's header: $(cat cmp.txt)"

# Bad input: one line, exit 2.
for bad in "summary run/last.h5 --measure --repeats 1" "summary run/last.h5 --measure --batch 0,4" \
           "summary run/last.h5 --batch 4" "compare wide.yaml missing.yaml" \
           "compare wide.yaml --threads none"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$NNTRAIN" $bad
    [ "$(wc -l < err.txt)" -eq 1 ] || fail "$bad: not one line: $(cat err.txt)"
done
echo "summary --measure and compare: ok ($params parameters, $state state, $bytes bytes)"

# One live job per run directory and per search directory: a second job aimed at a
# directory in use is refused with one line naming the holder, and the first job goes on
# unaffected; once the first has ended, the directory is free again.
source "$(dirname "$0")/lib.sh"
for i in $(seq 0 399); do echo "$((i % 2)),0.$i,1.$i,$((i % 5))"; done > d.csv
"$NNTRAIN" import csv --train d.csv --label-column 0 --no-header -o d.h5 > /dev/null
cat > cfg.yaml <<'YAML'
data: {path: d.h5, test: none, val: {split: 0.1}}
model: {input: [3], layers: [{type: dense, units: 16, activation: relu}, {type: dense, units: 2}]}
train: {epochs: 100000, batch_size: 4, threads: 1, loss: cross_entropy,
        optimizer: {type: sgd, lr: 0.01}}
YAML
wait_for() { # FILE: until it exists
    for _ in $(seq 1200); do [ -s "$1" ] && return 0; sleep 0.05; done
    fail "$1 did not appear"
}

# A run directory: the first job trains until it is told to stop.
"$NNTRAIN" train cfg.yaml --run-dir run > first.txt 2>&1 &
first=$!
wait_for run/last.h5
expect_exit 2 "$NNTRAIN" train cfg.yaml --resume run
grep -q "run is in use by another job (pid $first on " err.txt ||
    fail "second job on a run directory: $(cat err.txt)"
[ "$(wc -l < err.txt)" -eq 1 ] || fail "the refusal is one line: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" train cfg.yaml --run-dir run
grep -q "in use by another job" err.txt || fail "--run-dir of a live run: $(cat err.txt)"
kill -TERM "$first"
wait "$first" || { cat first.txt >&2; fail "the first job failed after the refusals"; }
grep -q "stopped on a signal" first.txt || fail "the first job did not stop cleanly"
"$NNTRAIN" verify run/last.h5 > /dev/null || fail "the first job's checkpoint"
# Free again: the run resumes for one more epoch.
epochs=$("$NNTRAIN" verify run/last.h5 | sed -n 's/.*(epoch \([0-9]*\).*/\1/p')
"$NNTRAIN" train cfg.yaml --resume run --set train.epochs=$((epochs + 1)) > resumed.txt 2>&1 ||
    { cat resumed.txt >&2; fail "resume after the first job ended"; }

# A search directory.
cat > search.yaml <<'YAML'
data: {path: d.h5, test: none, val: {split: 0.1}}
model: {input: [3], layers: [{type: dense, units: 16, activation: relu}, {type: dense, units: 2}]}
train: {epochs: 100000, batch_size: 4, threads: 1, loss: cross_entropy,
        optimizer: {type: sgd, lr: 0.01}}
search:
  dir: s
  parameters: {train.optimizer.lr: [0.01, 0.02]}
YAML
"$NNTRAIN" search search.yaml > search1.txt 2>&1 &
first=$!
wait_for s/journal
expect_exit 2 "$NNTRAIN" search search.yaml
grep -q "s is in use by another job (pid $first on " err.txt ||
    fail "second search on a search directory: $(cat err.txt)"
journal=$(cat s/journal)
kill -TERM "$first"
wait "$first" || { cat search1.txt >&2; fail "the first search failed after the refusal"; }
grep -q "run the same command again to resume" search1.txt || fail "the first search's end"
[ "$(head -c ${#journal} s/journal)" = "$journal" ] || fail "the journal was rewritten"
echo "dir_lock: ok"

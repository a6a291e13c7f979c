# Loading a split into memory or the node cache draws a progress line on a terminal (forced
# here with --progress, the output being a file): rows and MiB read and the percentage,
# redrawn in place with carriage returns, the finished line left standing; a node copy shows
# rank 0's share. --no-progress and a streamed split (nothing loaded) draw none.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > run.yaml <<YAML
data: {path: $data, test_rows: [0, 500]}
model: {input: [1, 28, 28], layers: [{name: out, type: dense, units: 10}]}
train: {epochs: 1, batch_size: 1000, loss: cross_entropy, optimizer: {type: sgd, lr: 0.05}}
YAML
"$NNTRAIN" train run.yaml --set data.cache=memory --progress --run-dir runs/mem > mem.txt
tr '\r' '\n' < mem.txt | grep "data: loading /train: 60000 of 60000 rows, 44.9 of 44.9 MiB (100%), [0-9.]* s$" >/dev/null \
    || { cat -A mem.txt | head; fail "memory: no finished progress line"; }
tr '\r' '\n' < mem.txt | grep "data: loading /test: 500 of 500 rows" >/dev/null || fail "memory: no line for /test"
# The rows read so far never go back, and the last figure is the whole split.
tr '\r' '\n' < mem.txt | sed -n 's/.*data: loading \/train: \([0-9]*\) of.*/\1/p' |
    /usr/bin/python3 -c 'import sys; v = [int(l) for l in sys.stdin]; sys.exit(0 if v == sorted(v) and v[-1] == 60000 else 1)' \
    || fail "memory: the progress figures are not increasing to 60000"
$MPIRUN -np 2 "$NNTRAIN" train run.yaml --set data.cache=node --progress --run-dir runs/node > node.txt
tr '\r' '\n' < node.txt | grep "data: loading /train (this rank's share of the node copy): 30000 of 30000 rows, 22.4 of 22.4 MiB (100%)" >/dev/null \
    || { cat node.txt; fail "node: no progress line for rank 0's share"; }
"$NNTRAIN" train run.yaml --set data.cache=memory --no-progress --run-dir runs/quiet > quiet.txt
! grep "data: loading" quiet.txt >/dev/null || fail "--no-progress draws the loading line"
"$NNTRAIN" train run.yaml --set data.cache=none --progress --run-dir runs/none > none.txt
! grep "data: loading" none.txt >/dev/null || fail "a streamed split draws a loading line"
echo "loading progress: $(tr '\r' '\n' < mem.txt | grep -c 'data: loading /train') lines drawn for /train"

# Kernel sets end to end: the start-up line names the set in use, NN_KERNELS forces one, a
# bad value stops the run with exit code 2 and one line saying what is valid, and a model
# trained on the generic kernels learns as on the CPU's own (same data, same seed; the
# products round differently, so the losses agree closely, not bit for bit).
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > cnn.yaml <<YAML
data: {path: $data, train_rows: [0, 1024], test_rows: [0, 512]}
model:
  input: [1, 28, 28]
  layers:
    - {name: conv1, type: conv2d, filters: 8, kernel: 3, padding: same, activation: relu}
    - {name: pool1, type: maxpool, size: 2}
    - {name: fc1, type: dense, units: 32, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 2, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.002}}
seed: 5
YAML

"$NNTRAIN" train cnn.yaml --no-progress --run-dir cpu > cpu.txt || { cat cpu.txt; fail "run on the CPU's set"; }
grep -q '^kernels: [a-z0-9]* (.*; chosen from the CPU)$' cpu.txt || { cat cpu.txt; fail "no kernels line"; }
NN_KERNELS=generic "$NNTRAIN" train cnn.yaml --no-progress --run-dir generic > generic.txt ||
    { cat generic.txt; fail "run on the generic set"; }
grep -q '^kernels: generic (.*; forced by NN_KERNELS)$' generic.txt ||
    { cat generic.txt; fail "NN_KERNELS=generic not named at start-up"; }

expect_exit 2 env NN_KERNELS=sse9 "$NNTRAIN" train cnn.yaml --no-progress --run-dir bad
[ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "more than one error line"; }
grep -q "NN_KERNELS=sse9: unknown kernel set (valid: auto, .*generic)" err.txt ||
    { cat err.txt; fail "message for an unknown kernel set"; }
[ ! -e bad ] || fail "a refused run left its run directory"

# The final training loss of the two runs within 1% of each other.
/usr/bin/python3 - <<'PY' || fail "generic and CPU kernels train differently"
import csv
a = [float(r["loss"]) for r in csv.DictReader(open("cpu/metrics.csv"))]
b = [float(r["loss"]) for r in csv.DictReader(open("generic/metrics.csv"))]
print("loss per epoch, CPU's set:", a, "generic:", b)
assert len(a) == len(b) == 2 and all(abs(x - y) <= 0.01 * x for x, y in zip(a, b))
PY
echo "ok"

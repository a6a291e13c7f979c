# nntrain export's command line: --help lists every flag; usage errors exit 2, a missing or
# corrupt checkpoint 3; an interpreter that fails leaves no output file behind; a formula
# layer is written as a torch expression.
source "$(dirname "$0")/lib.sh"
"$NNTRAIN" export --help > help.txt
for flag in format output python opset; do
    grep -q -- "--$flag" help.txt || fail "export --help lacks --$flag"
done
expect_exit 2 "$NNTRAIN" export
expect_exit 2 "$NNTRAIN" export some.h5
grep -q -- "-o OUT is required" err.txt || fail "missing -o: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" export some.h5 --format tflite -o m.py
grep -q "unknown --format 'tflite' (valid: torch, onnx)" err.txt || fail "bad format: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" export some.h5 --format onnx --opset x -o m.onnx
expect_exit 3 "$NNTRAIN" export missing.h5 -o m.py
grep -q "missing.h5" err.txt || fail "missing checkpoint not named: $(cat err.txt)"
echo "not a checkpoint" > bad.h5
expect_exit 3 "$NNTRAIN" export bad.h5 -o m.py
[ ! -e m.py ] || fail "a failed export left m.py"

/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
rng = np.random.default_rng(0)
with h5py.File("d.h5", "w") as f:
    f["train/x"] = rng.random((64, 6), dtype=np.float32)
    f["train/y"] = rng.integers(0, 3, 64)
PY
cat > m.yaml <<'YAML'
data: {path: d.h5}
model: {input: [6], mlp: [4, 3]}
train: {epochs: 1, batch_size: 16, loss: cross_entropy, optimizer: {type: sgd, lr: 0.1}}
YAML
"$NNTRAIN" train m.yaml --no-progress --run-dir run > /dev/null
expect_exit 1 "$NNTRAIN" export run/last.h5 --format onnx --python /bin/false -o m.onnx
grep -q "/bin/false failed to write the ONNX model" err.txt || fail "failing python: $(cat err.txt)"
expect_exit 1 "$NNTRAIN" export run/last.h5 --format onnx --python /no/such/python -o m.onnx
grep -q "cannot run /no/such/python" err.txt || fail "missing python: $(cat err.txt)"
[ -z "$(ls m.onnx* 2>/dev/null)" ] || fail "a failed ONNX export left $(ls m.onnx*)"
"$NNTRAIN" export run/last.h5 -o m.py > /dev/null
grep -q "^CHECKPOINT = \"$PWD/run/last.h5\"" m.py || fail "the module does not name the checkpoint"
# A formula layer: its formula becomes a torch expression written from the parsed formula
# (the values are compared with nntrain's in tests/ref/test_export_torch.py).
cat > f.yaml <<'YAML'
data: {path: d.h5}
model:
  input: [6]
  layers:
    - {name: h, type: dense, units: 4}
    - {name: act, type: formula, formula: "x * sigmoid(x)"}
    - {name: out, type: dense, units: 3}
train: {epochs: 1, batch_size: 16, loss: cross_entropy, optimizer: {type: sgd, lr: 0.1}}
YAML
"$NNTRAIN" train f.yaml --no-progress --run-dir frun > /dev/null
"$NNTRAIN" export frun/last.h5 -o f.py > /dev/null
grep -F 'Formula("x * sigmoid(x)", lambda x, p: (x * torch.sigmoid(x))' f.py > /dev/null ||
    fail "formula layer: $(grep Formula f.py)"
echo "export cli: ok"

# train.precision: bf16 on Fashion-MNIST. An MLP and a small CNN train (the training loss
# falls, the test accuracy stays near fp32's); the MLP's weights are the same bits on 1 and 2
# threads, the CNN's on two runs with the same threads (its weight gradients are summed over
# threads, in fp32 too); 2 ranks agree with 1 within the fp32 rank-invariance tolerance
# (1e-4, tests/mpi/test_rank_invariance.sh) after 10 steps, and with train.reproducible:
# bitwise to the bit (MLP on 1 and 2 ranks, CNN on 1 and 2 threads); the emulated path
# (NN_BF16=emulated) gives the native path's (vdpbf16ps) bits; where the CPU has AMX-BF16
# the default is its path, which every run above takes (the bits invariances included), and
# NN_BF16=amx on a CPU without it exits 2 in one line; checkpoints stay float32 and bf16 really
# changes the products (the weights differ from fp32's). Bad settings exit 2: an unknown
# NN_BF16 (one line), an unknown precision, bf16 with train.gemm: openblas.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)

cat > mlp.yaml <<YAML
data: {path: $data, train_rows: [0, 4000], test_rows: [0, 1000]}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 128, activation: relu}
    - {name: fc2, type: dense, units: 64, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 3, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.002},
        precision: bf16}
seed: 5
YAML
cat > cnn.yaml <<YAML
data: {path: $data, train_rows: [0, 2000], test_rows: [0, 500]}
model:
  input: [1, 28, 28]
  init: he_uniform
  layers:
    - {name: conv1, type: conv2d, filters: 8, kernel: 3, padding: same, activation: relu}
    - {name: pool1, type: maxpool, size: 2}
    - {name: conv2, type: conv2d, filters: 16, kernel: 3, padding: same, activation: relu}
    - {name: pool2, type: maxpool, size: 2}
    - {name: fc1, type: dense, units: 10}
train: {epochs: 2, batch_size: 32, loss: cross_entropy, optimizer: {type: adam, lr: 0.002},
        precision: bf16, threads: 2}
seed: 6
YAML

# column RUN NAME: the values of metrics.csv's column NAME, one a line.
column() {
    awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                          c { print $c }' "$1/metrics.csv"
}
# falls RUN: the training loss of the last epoch is below the first's.
falls() {
    local first last
    first=$(column "$1" loss | head -1)
    last=$(column "$1" loss | tail -1)
    [ -n "$first" ] && [ -n "$last" ] || fail "$1: no loss column"
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.8 * a) }' \
        || fail "$1: training loss did not fall ($first -> $last)"
}
test_accuracy() {
    sed -n 's/^test: loss [0-9.]*  accuracy \([0-9.]*\).*/\1/p' "$1"
}

"$NNTRAIN" train mlp.yaml --set train.threads=1 --run-dir runs/mlp-t1 > mlp-t1.txt
"$NNTRAIN" train mlp.yaml --set train.threads=2 --run-dir runs/mlp-t2 > mlp-t2.txt
grep '^precision: bf16 products' mlp-t1.txt >/dev/null || fail "no precision line"
falls runs/mlp-t1
$COMPARE runs/mlp-t1/last.h5 runs/mlp-t2/last.h5 --exact || fail "MLP: 1 and 2 threads differ"
diff <(epoch_lines mlp-t1.txt) <(epoch_lines mlp-t2.txt) || fail "MLP: thread metrics differ"

# Checkpoints hold float32 weights, and bf16 is not fp32 under another name.
/usr/bin/python3 - runs/mlp-t1/last.h5 <<'PY' || fail "checkpoint weights are not float32"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    kinds = set()
    f.visititems(lambda n, o: kinds.add(o.dtype.str) if isinstance(o, h5py.Dataset)
                 and n.startswith("params/") else None)
sys.exit(0 if kinds == {"<f4"} else 1)
PY
"$NNTRAIN" train mlp.yaml --set train.precision=fp32 --run-dir runs/mlp-fp32 > mlp-fp32.txt
if $COMPARE runs/mlp-t1/last.h5 runs/mlp-fp32/last.h5 --rtol 1e-6 >/dev/null; then
    fail "bf16 weights equal fp32's: the bf16 products did not run"
fi
a16=$(test_accuracy mlp-t1.txt)
a32=$(test_accuracy mlp-fp32.txt)
awk -v a="$a16" -v b="$a32" 'BEGIN { d = a - b; exit !(d < 0.03 && d > -0.03) }' \
    || fail "MLP test accuracy bf16 $a16 vs fp32 $a32"

# Ranks: the gradient sums over ranks round differently in float, as in fp32; bf16's coarse
# rounding of the weights amplifies that step by step (about 1e-3 after one epoch of 63
# steps here), so compare after 10 steps. train.reproducible: bitwise gives the same bits.
ten=(--set 'data.train_rows=[0, 640]' --set train.epochs=1 --set train.threads=1)
"$NNTRAIN" train mlp.yaml "${ten[@]}" --run-dir runs/ten-np1 > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train mlp.yaml "${ten[@]}" --run-dir runs/ten-np2 > /dev/null
$COMPARE runs/ten-np1/last.h5 runs/ten-np2/last.h5 --rtol 1e-4 || fail "MLP: np=2 differs from np=1"
bitwise=(--set train.reproducible=bitwise --set train.epochs=2)
"$NNTRAIN" train mlp.yaml "${bitwise[@]}" --set train.threads=2 --run-dir runs/bit-np1 > bit-np1.txt
$MPIRUN -np 2 "$NNTRAIN" train mlp.yaml "${bitwise[@]}" --set train.threads=1 \
    --run-dir runs/bit-np2 > bit-np2.txt
grep '^precision: bf16' bit-np2.txt >/dev/null || fail "bitwise: bf16 not in use"
$COMPARE runs/bit-np1/last.h5 runs/bit-np2/last.h5 --exact --groups params,state,optim \
    || fail "bf16 with train.reproducible: bitwise: np=2 differs from np=1"
falls runs/bit-np1

# The emulated path: the same bits as the native one (on a shorter run; it is slow).
if grep -w avx512_bf16 /proc/cpuinfo >/dev/null; then
    short=(--set 'data.train_rows=[0, 640]' --set train.epochs=1 --set train.threads=2)
    NN_BF16=native "$NNTRAIN" train mlp.yaml "${short[@]}" --run-dir runs/native > native.txt
    NN_BF16=emulated "$NNTRAIN" train mlp.yaml "${short[@]}" --run-dir runs/emulated \
        > emulated.txt
    grep '^precision: bf16 .*emulated (plain C, slow' emulated.txt >/dev/null \
        || fail "emulated path not announced"
    $COMPARE runs/native/last.h5 runs/emulated/last.h5 --exact \
        || fail "emulated and native bf16 differ"
    NN_BF16=emulated "$NNTRAIN" train cnn.yaml --set 'data.train_rows=[0, 96]' \
        --set train.epochs=1 --run-dir runs/cnn-emulated > /dev/null
    NN_BF16=native "$NNTRAIN" train cnn.yaml --set 'data.train_rows=[0, 96]' \
        --set train.epochs=1 --run-dir runs/cnn-native > /dev/null
    $COMPARE runs/cnn-native/last.h5 runs/cnn-emulated/last.h5 --exact \
        || fail "CNN: emulated and native bf16 differ"
else
    expect_exit 2 "$NNTRAIN" train mlp.yaml
    grep 'AVX512_BF16' err.txt >/dev/null || fail "missing instructions not named"
    [ "$(wc -l < err.txt)" -eq 1 ] || fail "more than one line for the missing instructions"
fi

"$NNTRAIN" train cnn.yaml --run-dir runs/cnn-a > cnn-a.txt
"$NNTRAIN" train cnn.yaml --run-dir runs/cnn-b > cnn-b.txt
falls runs/cnn-a
$COMPARE runs/cnn-a/last.h5 runs/cnn-b/last.h5 --exact || fail "CNN: two runs differ"
awk -v a="$(test_accuracy cnn-a.txt)" 'BEGIN { exit !(a > 0.6) }' || fail "CNN did not learn"

# The CNN with bitwise: the same bits on 1 and 2 threads (conv2d's per-unit gradients).
cnn_bit=(--set train.reproducible=bitwise --set 'data.train_rows=[0, 256]' --set train.epochs=1)
"$NNTRAIN" train cnn.yaml "${cnn_bit[@]}" --set train.threads=1 --run-dir runs/cnn-bit1 > /dev/null
"$NNTRAIN" train cnn.yaml "${cnn_bit[@]}" --set train.threads=2 --run-dir runs/cnn-bit2 > /dev/null
$COMPARE runs/cnn-bit1/last.h5 runs/cnn-bit2/last.h5 --exact \
    || fail "CNN bf16 bitwise: 1 and 2 threads differ"
# AMX's tiles by default where the CPU has them (their own last bits: not compared with
# vdpbf16ps's here; tests/unit/test_gemm_bf16.c bounds the difference).
if grep -w amx_bf16 /proc/cpuinfo >/dev/null; then
    grep '^precision: bf16 .*AMX (tdpbf16ps' mlp-t1.txt >/dev/null || fail "AMX not in use"
else
    NN_BF16=amx expect_exit 2 "$NNTRAIN" train mlp.yaml
    grep 'NN_BF16=amx: this CPU' err.txt >/dev/null || fail "missing AMX not named"
    [ "$(wc -l < err.txt)" -eq 1 ] || fail "more than one line for the missing AMX"
fi
NN_BF16=fast expect_exit 2 "$NNTRAIN" train mlp.yaml
grep 'NN_BF16=fast: unknown bf16 path' err.txt >/dev/null || fail "unknown NN_BF16"
expect_exit 2 "$NNTRAIN" train mlp.yaml --set train.precision=fp16
expect_exit 2 "$NNTRAIN" train mlp.yaml --set train.gemm=openblas
grep 'cannot be combined with train.gemm: openblas' err.txt >/dev/null || fail "bf16 with OpenBLAS"
echo "bf16 MLP test accuracy $a16 (fp32 $a32), CNN $(test_accuracy cnn-a.txt)"

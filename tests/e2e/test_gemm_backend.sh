# train.gemm end to end: the start-up line names the backend; `auto` takes nntrain's kernels on a
# CPU with a tuned kernel set (the same bits as train.gemm=nntrain) and OpenBLAS on one
# without; an MLP and a small CNN trained 10 steps with OpenBLAS's products end within 1e-5
# (relative to each tensor's largest weight) of nntrain's; OpenBLAS's MLP weights do not
# depend on the thread count and agree within 1e-5 on 2 ranks; a bad value, and OpenBLAS
# with train.reproducible: bitwise, are one line and exit 2.
#
# Why 1e-5 is sound: the two backends compute the same products in other orders, so every
# gradient differs by float rounding, about 1e-7 relative. Plain SGD (lr 0.05) moves a weight
# by lr times its gradient, so after 10 steps the weights differ by about 10 x 0.05 x 1e-7 of
# a gradient's size, plus what the first differences change in later gradients: orders of
# magnitude below 1e-5 of the weights. Adam would not do: it divides
# each gradient by its own running size, so a gradient that cancels to near zero in a sum can
# change its update by up to lr between backends. Nor max pooling: on the flat background of
# Fashion-MNIST images two pixels of a window can differ by a rounding only, and then the two
# backends may pick different maxima and send the gradient to different pixels (seen with
# OpenBLAS's Cooperlake kernels: conv1's weights 1e-5 apart after 10 steps); the CNN here
# pools by averages, which has no such switch. Measured here: 2e-7 for the MLP and the CNN, and
# for the MLP on 2 ranks.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > mlp.yaml <<YAML
data: {path: $data, train_rows: [0, 640], val: none, test_rows: [0, 256]}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 256, activation: relu}
    - {name: fc2, type: dense, units: 128, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 1, batch_size: 64, loss: cross_entropy, optimizer: {type: sgd, lr: 0.05}}
seed: 5
YAML
cat > cnn.yaml <<YAML
data: {path: $data, train_rows: [0, 320], val: none, test_rows: [0, 256]}
model:
  input: [1, 28, 28]
  layers:
    - {name: conv1, type: conv2d, filters: 16, kernel: 3, padding: same, activation: relu}
    - {name: pool1, type: avgpool, size: 2}
    - {name: conv2, type: conv2d, filters: 32, kernel: 3, padding: same, activation: relu}
    - {name: conv3, type: conv2d, filters: 32, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {name: fc1, type: dense, units: 64, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 1, batch_size: 32, loss: cross_entropy, optimizer: {type: sgd, lr: 0.05}}
seed: 5
YAML

train() { # CONFIG RUN_DIR GEMM [more --set ...]
    local cfg=$1 dir=$2 gemm=$3
    shift 3
    "$NNTRAIN" train "$cfg" --no-progress --run-dir "$dir" --set "train.gemm=$gemm" "$@" \
        > "$dir.txt" || { cat "$dir.txt"; fail "training $dir"; }
}

for model in mlp cnn; do
    for gemm in auto nntrain openblas; do
        train $model.yaml $model-$gemm $gemm --set train.threads=1
    done
    grep -q '^gemm: nntrain ([a-z0-9]* kernels; train.gemm: nntrain)$' $model-nntrain.txt ||
        { cat $model-nntrain.txt; fail "$model: no gemm line for nntrain"; }
    grep -q '^gemm: openblas ([A-Za-z0-9]* kernels, one thread per call; train.gemm: openblas)$' \
        $model-openblas.txt || { cat $model-openblas.txt; fail "$model: no gemm line for openblas"; }
    # auto: nntrain's kernels unless the CPU runs only the generic set.
    if grep -q '^kernels: generic (.*chosen from the CPU)' $model-auto.txt; then
        grep -q '^gemm: openblas (.*train.gemm: auto)$' $model-auto.txt ||
            { cat $model-auto.txt; fail "$model: auto did not pick OpenBLAS for generic kernels"; }
        $COMPARE $model-openblas/last.h5 $model-auto/last.h5 --exact ||
            fail "$model: auto and openblas differ"
    else
        grep -q '^gemm: nntrain (avx[0-9]* kernels; train.gemm: auto)$' $model-auto.txt ||
            { cat $model-auto.txt; fail "$model: auto did not pick nntrain's tuned kernels"; }
        $COMPARE $model-nntrain/last.h5 $model-auto/last.h5 --exact ||
            fail "$model: auto and nntrain differ"
    fi
    $COMPARE $model-nntrain/last.h5 $model-openblas/last.h5 --rtol 1e-5 ||
        fail "$model: OpenBLAS and nntrain weights differ by more than 1e-5"
    # The two really ran different products.
    if $COMPARE $model-nntrain/last.h5 $model-openblas/last.h5 --exact > /dev/null 2>&1; then
        fail "$model: OpenBLAS gave nntrain's bits: were its products used at all?"
    fi
done

# The dense layers split rows and output units over the threads; OpenBLAS's products give
# the same bits however they are cut, so the thread count does not change the weights.
train mlp.yaml mlp-openblas-2 openblas --set train.threads=2
grep -q '^nntrain: 1 rank x 2 threads' mlp-openblas-2.txt || fail "not 2 threads"
$COMPARE mlp-openblas/last.h5 mlp-openblas-2/last.h5 --exact ||
    fail "OpenBLAS MLP weights depend on the thread count"

# Two ranks sum the gradients in another order than one (as with nntrain's products, the
# default mode is rank invariant up to that order): the same weights within 1e-5.
$MPIRUN -np 2 "$NNTRAIN" train mlp.yaml --no-progress --run-dir mlp-openblas-np2 \
    --set train.gemm=openblas --set train.threads=1 > mlp-openblas-np2.txt ||
    { cat mlp-openblas-np2.txt; fail "training on 2 ranks"; }
grep -q '^nntrain: 2 ranks' mlp-openblas-np2.txt || fail "not 2 ranks"
$COMPARE mlp-openblas/last.h5 mlp-openblas-np2/last.h5 --rtol 1e-5 ||
    fail "OpenBLAS MLP weights on 2 ranks differ from 1 rank's by more than 1e-5"

# The resolved config keeps the choice.
grep -q 'gemm: openblas' mlp-openblas/config.yaml || { cat mlp-openblas/config.yaml; fail "config.yaml"; }

expect_exit 2 "$NNTRAIN" train mlp.yaml --no-progress --run-dir bad --set train.gemm=mkl
[ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "more than one error line"; }
grep -q "train.gemm" err.txt && grep -q "auto, nntrain, openblas" err.txt ||
    { cat err.txt; fail "message for an unknown backend"; }
[ ! -e bad ] || fail "a refused run left its run directory"

# Bitwise mode needs products whose bits do not depend on the rows beside a sample: refused.
expect_exit 2 "$NNTRAIN" train mlp.yaml --no-progress --run-dir bad --set train.gemm=openblas \
    --set train.reproducible=bitwise
[ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "more than one error line"; }
grep -q "train.reproducible: bitwise needs nntrain's products (train.gemm: nntrain)" err.txt ||
    { cat err.txt; fail "message for bitwise with OpenBLAS"; }
[ ! -e bad ] || fail "a refused run left its run directory"
echo "ok"

# train.reproducible: bitwise sums the units' gradients in one fixed tree (parallel/unit_tree.h)
# whose shape follows the number of units only. Shapes that are not one power of two, and
# ranks whose units are not whole nodes of it, must still give the same bits as one rank:
# 100 samples a batch in units of 7 (15 units: blocks of 8, 4, 2 and 1) at np = 1, 2, 3, 5
# and with MPI sums; the same with 3 micro-batches a step (45 units, each rank's units in 3
# runs); and an MLP initialized 20 times too large, whose gradients and losses pass 2^21
# (the tree has no range to leave).
source "$(dirname "$0")/../e2e/lib.sh"
data=$(fashion_mnist)
ALL="--groups params,state,optim"
sed -e "s#datasets/fashion-mnist.h5#$data#" "$NN_SOURCE_DIR/launch/configs/mlp.yaml" > mlp.yaml
BASE=(mlp.yaml --set train.epochs=1 --set train.threads=1 --set train.reproducible=bitwise
      --set 'data.train_rows=[0, 2400]' --set data.test=none --set 'data.val=none')
train() { # name np args...
    local name=$1 np=$2
    shift 2
    $MPIRUN -np "$np" "$NNTRAIN" train "$@" --no-progress --run-dir "runs/$name" > "$name.txt" 2>&1 \
        || { cat "$name.txt"; fail "$name did not train"; }
}
same() { # reference name
    $COMPARE "runs/$1/last.h5" "runs/$2/last.h5" --exact $ALL >/dev/null || {
        $COMPARE "runs/$1/last.h5" "runs/$2/last.h5" --exact $ALL || true
        fail "$2 differs from $1"; }
    diff <(grep '^epoch ' "$1.txt" | sed 's/  [0-9]* samples.*//') \
         <(grep '^epoch ' "$2.txt" | sed 's/  [0-9]* samples.*//') || fail "$2: metrics differ"
}
check() { # label args...: np=1 is the reference for np = 2, 3, 5 and MPI sums
    local label=$1
    shift
    train "$label-1" 1 "$@"
    train "$label-2" 2 "$@"
    train "$label-3" 3 "$@"
    train "$label-5" 5 "$@"
    train "$label-2mpi" 2 "$@" --set train.allreduce=mpi
    train "$label-3mpi" 3 "$@" --set train.allreduce=mpi
    for name in "$label-2" "$label-3" "$label-5" "$label-2mpi" "$label-3mpi"; do
        same "$label-1" "$name"
    done
}
SHAPE=(--set train.batch_size=100 --set train.reproducible_unit=7)
check odd "${BASE[@]}" "${SHAPE[@]}"
grep '^reproducible: bitwise, units of 7 samples' odd-1.txt >/dev/null || fail "unit: $(cat odd-1.txt)"
check accumulate "${BASE[@]}" "${SHAPE[@]}" --set train.accumulate=3
check large "${BASE[@]}" --set 'model.init={type: glorot_uniform, gain: 20}'
# The large run's first epoch loss is large (its first steps' losses pass 2^21).
first=$(sed -n 's/^epoch 1\/1  loss \([0-9.e+]*\).*/\1/p' large-1.txt)
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$first') > 10 else 1)" \
    || fail "the large run's loss $first is not large"
echo "bitwise in odd tree shapes, with accumulation and with large values: same bits at np = 1, 2, 3, 5 and MPI"

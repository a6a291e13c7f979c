# train.reproducible: bitwise beyond the wide fixed point's range (parallel/exact_sum.h): an
# MLP initialized 20 times too large has units whose gradients and losses pass 2^21, so
# some steps are summed with a scale per tensor agreed first and the others in the wide
# fixed point. Both kinds of step must give the same bits at np = 1, 2, 3 and with MPI sums,
# every run must switch at the same steps, and a run in range must not switch at all.
source "$(dirname "$0")/../e2e/lib.sh"
data=$(fashion_mnist)
ALL="--groups params,state,optim"
sed -e "s#datasets/fashion-mnist.h5#$data#" "$NN_SOURCE_DIR/launch/configs/mlp.yaml" > mlp.yaml
RANGE=(mlp.yaml --set train.epochs=1 --set train.threads=1 --set train.reproducible=bitwise
       --set 'data.train_rows=[0, 2400]' --set data.test=none --set 'data.val=none'
       --set 'model.init={type: glorot_uniform, gain: 20}')
train() { # name np args...
    local name=$1 np=$2
    shift 2
    $MPIRUN -np "$np" "$NNTRAIN" train "$@" --no-progress --run-dir "runs/$name" > "$name.txt" 2>&1 \
        || { cat "$name.txt"; fail "$name did not train"; }
}
train range1 1 "${RANGE[@]}"
grep '^reproducible: [0-9]* steps had a unit' range1.txt > switched1.txt \
    || fail "no step went beyond the wide range: $(cat range1.txt)"
steps=$(sed 's/^reproducible: \([0-9]*\) steps.*/\1/' switched1.txt)
[ "$steps" -lt 18 ] || fail "every step ($steps) was beyond the range: the wide sums went untested"
for run in "range2 2" "range3 3" "range2-mpi 2 --set train.allreduce=mpi"; do
    set -- $run
    name=$1 np=$2
    shift 2
    train "$name" "$np" "${RANGE[@]}" "$@"
    $COMPARE runs/range1/last.h5 "runs/$name/last.h5" --exact $ALL >/dev/null || {
        $COMPARE runs/range1/last.h5 "runs/$name/last.h5" --exact $ALL || true
        fail "$name differs from np=1"; }
    diff switched1.txt <(grep '^reproducible: [0-9]* steps had a unit' "$name.txt") \
        || fail "$name switched at another number of steps"
    diff <(grep '^epoch ' range1.txt | sed 's/  [0-9]* samples.*//') \
         <(grep '^epoch ' "$name.txt" | sed 's/  [0-9]* samples.*//') || fail "$name: metrics differ"
done
train inrange 2 "${RANGE[@]}" --set 'model.init=glorot_uniform'
if grep '^reproducible: [0-9]* steps had a unit' inrange.txt >/dev/null; then
    fail "a run of ordinary gradients left the wide range"
fi
echo "bitwise beyond the wide range holds ($steps of 19 steps summed with shared scales)"

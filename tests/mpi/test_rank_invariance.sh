# The same training on 1, 2 and 4 ranks (oversubscribed) gives the same weights within 1e-4
# relative and the same printed metrics, with the gradients summed through the node's shared
# memory (the default, where the ranks also split the optimizer update) and through
# MPI_Iallreduce; an uneven split (B = 130 on 4 ranks) too;
# overlap on and off give identical weights, and so do other bucket sizes in shared memory;
# gradient accumulation matches the larger batch.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
"$NNTRAIN" train small.yaml --run-dir runs/np1 > np1.txt
for np in 2 4; do
    $MPIRUN -np $np "$NNTRAIN" train small.yaml --run-dir runs/np$np > np$np.txt
    $MPIRUN -np $np "$NNTRAIN" train small.yaml --set train.allreduce=mpi --run-dir runs/np$np-mpi \
        > np$np-mpi.txt
    grep -q "^nntrain: $np ranks" np$np.txt || fail "np=$np banner"
    grep -q "^gradient allreduce: node shared memory, " np$np.txt || fail "np=$np: not shared memory"
    grep -q "^gradient allreduce: MPI_Iallreduce (train.allreduce: mpi), " np$np-mpi.txt \
        || fail "np=$np: train.allreduce=mpi not used"
    grep -q "^optimizer update: split over the $np ranks through node shared memory" np$np.txt \
        || fail "np=$np: optimizer update not split"
    grep -q "^optimizer update: every rank updates every parameter" np$np-mpi.txt \
        || fail "np=$np: MPI sums with a split update"
    for run in np$np np$np-mpi; do
        $COMPARE runs/np1/last.h5 runs/$run/last.h5 --rtol 1e-4 || fail "$run weights differ"
        diff <(epoch_lines np1.txt) <(epoch_lines $run.txt) || fail "$run metrics differ"
        diff <(grep '^test:' np1.txt) <(grep '^test:' $run.txt) || fail "$run test metrics differ"
    done
done
# Two ranks' sum is the same bits either way, and so is the update split over the ranks
# (with shared memory) or made whole by every rank (with MPI), optimizer state included.
$COMPARE runs/np2/last.h5 runs/np2-mpi/last.h5 --exact || fail "shared memory and MPI sums differ at np=2"
# The same for an update that reads whole tensors (LARS: ranges hold whole tensors), with
# what reads the parameters or all gradients between the sum and the update (a penalty in
# the loss, clipping by the global norm), and for early stopping's restore of the best
# weights into the shared parameters.
others=(--set 'train.optimizer={type: lars, lr: 0.05, weight_decay: 1e-4}'
        --set 'train.loss=[{type: cross_entropy}, {type: l2_penalty, weight: 1e-4}]'
        --set 'train.clip={norm: 0.5}'
        --set 'train.early_stopping={monitor: val_accuracy, patience: 5, restore_best: true}')
for transport in auto mpi; do
    $MPIRUN -np 2 "$NNTRAIN" train small.yaml "${others[@]}" --set train.allreduce=$transport \
        --run-dir runs/others-$transport > others-$transport.txt
    grep -q "^restored the weights of epoch" others-$transport.txt || fail "$transport: no restore"
done
grep -q "^optimizer update: split over the 2 ranks" others-auto.txt || fail "LARS update not split"
$COMPARE runs/others-auto/last.h5 runs/others-mpi/last.h5 --exact \
    || fail "split and whole updates differ (lars, penalty, clipping, restore)"
diff <(epoch_lines others-auto.txt) <(epoch_lines others-mpi.txt) || fail "lars run metrics differ"
# Shared memory sums every value in rank order, whatever the buckets: a bucket per layer,
# summed while backward goes on, give the same bits at np=4.
$MPIRUN -np 4 "$NNTRAIN" train small.yaml --set train.bucket_mb=0.002 --run-dir runs/np4-tiny > np4-tiny.txt
grep -q "^gradient allreduce: node shared memory, 4 buckets" np4-tiny.txt || fail "np=4: not a bucket per layer"
$COMPARE runs/np4/last.h5 runs/np4-tiny/last.h5 --exact || fail "np=4: bucket size changes shared-memory sums"

# Uneven split: 130 rows over 4 ranks is 33/33/32/32.
"$NNTRAIN" train small.yaml --set train.batch_size=130 --run-dir runs/b130-np1 > b1.txt
$MPIRUN -np 4 "$NNTRAIN" train small.yaml --set train.batch_size=130 --run-dir runs/b130-np4 > b4.txt
$COMPARE runs/b130-np1/last.h5 runs/b130-np4/last.h5 --rtol 1e-4 || fail "uneven split differs"

# Overlap switched off: the same buckets, so bit-identical results.
for run in np2 np2-mpi; do
    $MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.overlap=false \
        --set train.allreduce="$([ $run = np2 ] && echo auto || echo mpi)" --run-dir runs/$run-no-overlap > /dev/null
    $COMPARE runs/$run/last.h5 runs/$run-no-overlap/last.h5 --exact || fail "$run: overlap changes results"
done
# Small buckets: many of them in flight during backward.
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.bucket_mb=0.05 --set train.allreduce=mpi \
    --run-dir runs/small-buckets > /dev/null
$COMPARE runs/np2/last.h5 runs/small-buckets/last.h5 --rtol 1e-4 || fail "small buckets differ"

# Accumulating 2 micro-batches of 32 is one step of 64 (for a model without batch statistics
# or dropout, whose masks are per micro-batch row).
plain=(--set 'model.layers=[{name: fc1, type: dense, units: 64, activation: relu}, {name: out, type: dense, units: 10}]')
"$NNTRAIN" train small.yaml "${plain[@]}" --run-dir runs/plain64 > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train small.yaml "${plain[@]}" --set train.batch_size=32 \
    --set train.accumulate=2 --run-dir runs/accumulate > acc.txt
$COMPARE runs/plain64/last.h5 runs/accumulate/last.h5 --rtol 1e-4 || fail "accumulation differs"
echo "rank-count invariance holds"

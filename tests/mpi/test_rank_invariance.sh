# The same training on 1, 2 and 4 ranks (oversubscribed) gives the same weights within 1e-4
# relative and the same printed metrics; an uneven split (B = 130 on 4 ranks) too; overlap on
# and off give identical weights; gradient accumulation matches the larger batch.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
"$NNTRAIN" train small.yaml --run-dir runs/np1 > np1.txt
for np in 2 4; do
    $MPIRUN -np $np "$NNTRAIN" train small.yaml --run-dir runs/np$np > np$np.txt
    grep -q "^nntrain: $np ranks" np$np.txt || fail "np=$np banner"
    $COMPARE runs/np1/last.h5 runs/np$np/last.h5 --rtol 1e-4 || fail "np=$np weights differ"
    diff <(epoch_lines np1.txt) <(epoch_lines np$np.txt) || fail "np=$np metrics differ"
    diff <(grep '^test:' np1.txt) <(grep '^test:' np$np.txt) || fail "np=$np test metrics differ"
done

# Uneven split: 130 rows over 4 ranks is 33/33/32/32.
"$NNTRAIN" train small.yaml --set train.batch_size=130 --run-dir runs/b130-np1 > b1.txt
$MPIRUN -np 4 "$NNTRAIN" train small.yaml --set train.batch_size=130 --run-dir runs/b130-np4 > b4.txt
$COMPARE runs/b130-np1/last.h5 runs/b130-np4/last.h5 --rtol 1e-4 || fail "uneven split differs"

# Overlap switched off: the same buckets, so bit-identical results.
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.overlap=false --run-dir runs/no-overlap > /dev/null
$COMPARE runs/np2/last.h5 runs/no-overlap/last.h5 --exact || fail "overlap changes results"
# Small buckets: many of them in flight during backward.
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.bucket_mb=0.05 --run-dir runs/small-buckets > /dev/null
$COMPARE runs/np2/last.h5 runs/small-buckets/last.h5 --rtol 1e-4 || fail "small buckets differ"

# Accumulating 2 micro-batches of 32 is one step of 64 (for a model without batch statistics
# or dropout, whose masks are per micro-batch row).
plain=(--set 'model.layers=[{name: fc1, type: dense, units: 64, activation: relu}, {name: out, type: dense, units: 10}]')
"$NNTRAIN" train small.yaml "${plain[@]}" --run-dir runs/plain64 > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train small.yaml "${plain[@]}" --set train.batch_size=32 \
    --set train.accumulate=2 --run-dir runs/accumulate > acc.txt
$COMPARE runs/plain64/last.h5 runs/accumulate/last.h5 --rtol 1e-4 || fail "accumulation differs"
echo "rank-count invariance holds"

# Resuming continues bit for bit: 2 x 3 epochs equals 6 epochs on 1 and on 2 ranks, and
# across thread counts (3 epochs at 1 thread resumed at 3 give 6 epochs at 2); a
# checkpoint written with 2 ranks resumes on 1 and the reverse; metrics.csv has every epoch
# once; a changed model or data is refused, more epochs or another lr are allowed and logged.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
for np in 1 2; do
    $MPIRUN -np $np "$NNTRAIN" train small.yaml --set train.epochs=6 --run-dir runs/full$np > /dev/null
    $MPIRUN -np $np "$NNTRAIN" train small.yaml --set train.epochs=3 --run-dir runs/split$np > /dev/null
    cp runs/split$np/last.h5 after3-np$np.h5
    $MPIRUN -np $np "$NNTRAIN" train small.yaml --set train.epochs=6 --resume runs/split$np > resume$np.txt
    grep -q "changed: train.epochs: 3 -> 6" resume$np.txt || { cat resume$np.txt; fail "change not recorded"; }
    $COMPARE runs/full$np/last.h5 runs/split$np/last.h5 --exact --groups params,state,optim \
        || fail "np=$np: 3+3 epochs differ from 6"
    [ "$(cut -d, -f1 runs/split$np/metrics.csv | tr '\n' ' ')" = "epoch 1 2 3 4 5 6 " ] \
        || { cat runs/split$np/metrics.csv; fail "np=$np: metrics.csv epochs"; }
    diff <(cut -d, -f1-6 runs/full$np/metrics.csv) <(cut -d, -f1-6 runs/split$np/metrics.csv) \
        || fail "np=$np: resumed metrics differ"
done
# Across thread counts: each element of a layer's products sums its terms in the same order
# however the threads cut the product, so the bits do not change.
"$NNTRAIN" train small.yaml --set train.epochs=6 --set train.threads=2 --run-dir runs/t2 >/dev/null
"$NNTRAIN" train small.yaml --set train.epochs=3 --set train.threads=1 --run-dir runs/t13 >/dev/null
"$NNTRAIN" train small.yaml --set train.epochs=6 --set train.threads=3 --resume runs/t13 >t13.txt
grep -q "train.threads: 1 -> 3" t13.txt || { cat t13.txt; fail "thread change not recorded"; }
$COMPARE runs/t2/last.h5 runs/t13/last.h5 --exact --groups params,state,optim \
    || fail "3 epochs at 1 thread + 3 at 3 threads differ from 6 at 2"
# Across rank counts: the checkpoint does not depend on the world size.
"$NNTRAIN" train small.yaml --set train.epochs=3 --run-dir runs/cross21 > /dev/null
cp after3-np2.h5 runs/cross21/last.h5
"$NNTRAIN" train small.yaml --set train.epochs=6 --resume runs/cross21 > cross21.txt
grep -q "written by 2 ranks" cross21.txt || fail "cross-rank resume banner"
$COMPARE runs/full2/last.h5 runs/cross21/last.h5 --rtol 1e-4 || fail "2 -> 1 rank resume"
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.epochs=3 --run-dir runs/cross12 > /dev/null
cp after3-np1.h5 runs/cross12/last.h5
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.epochs=6 --resume runs/cross12 > /dev/null
$COMPARE runs/full1/last.h5 runs/cross12/last.h5 --rtol 1e-4 || fail "1 -> 2 rank resume"

# Refusals, leaving the run untouched.
before=$(md5sum runs/split1/*.h5 runs/split1/metrics.csv)
expect_exit 2 "$NNTRAIN" train small.yaml --set train.epochs=8 --set model.layers[0].units=65 --resume runs/split1
grep -q "different model" err.txt || { cat err.txt; fail "changed model message"; }
expect_exit 2 "$NNTRAIN" train small.yaml --set train.epochs=8 --set data.train_rows=[0,3000] --resume runs/split1
grep -q "data differ" err.txt || { cat err.txt; fail "changed data message"; }
expect_exit 2 "$NNTRAIN" train small.yaml --set train.epochs=6 --resume runs/split1
grep -q "already finished 6 epochs" err.txt || fail "finished run message"
[ "$before" = "$(md5sum runs/split1/*.h5 runs/split1/metrics.csv)" ] || fail "a refused resume changed files"
# A deliberate change: another lr for the remaining epochs.
"$NNTRAIN" train small.yaml --set train.epochs=7 --set train.optimizer.lr=0.001 --resume runs/split1 > lr.txt
grep -q "train.optimizer.lr: 0.002 -> 0.001" lr.txt || { cat lr.txt; fail "lr change not recorded"; }
grep -q "train.optimizer.lr: 0.002 -> 0.001" runs/split1/log.txt || fail "lr change not in log.txt"

# Automatic resume when the config says so.
cat small.yaml > auto.yaml
echo "name: auto" >> auto.yaml
"$NNTRAIN" train auto.yaml --set train.epochs=2 --set train.resume=auto > /dev/null
"$NNTRAIN" train auto.yaml --set train.epochs=4 --set train.resume=auto > auto.txt
grep -q "resuming runs/auto" auto.txt || fail "automatic resume"
[ ! -d runs/auto-2 ] || fail "automatic resume made a new run directory"
echo "resume is exact"

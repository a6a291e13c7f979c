# Writes that fail for real: a file-size limit put on the running ranks (prlimit; set after
# MPI has started, whose own shared-memory files must not hit it), the run directory made
# read-only mid-run (chmod) and a full file system (a small tmpfs, when this machine lets the
# test mount one). Each failed write must keep the
# previous good file, say which file and why in one line, stop the run with exit 1 on every
# rank (not hang), leave no temporary file, and `--resume` must then finish the run bit for
# bit as if nothing had happened. A dataset import that cannot be written leaves nothing.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
# 30,000 rows: an epoch long enough (a few tenths of a second even on fast cores) that the
# limit below is in place before the resumed run's first checkpoint.
settings=(--set train.epochs=3 --set 'data.train_rows=[0, 30000]')
# The uninterrupted runs to compare with (summation order, hence the bits, depend on the ranks).
for np in 1 2; do
    $MPIRUN -np $np "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/full$np > /dev/null
done
checkpoint_bytes=$(stat -c %s runs/full1/last.h5)

# no_leftovers DIR: every checkpoint verifies and no temporary file is left.
no_leftovers() {
    for f in "$1"/*.h5; do
        "$NNTRAIN" verify "$f" > /dev/null || fail "$f does not verify"
    done
    ! ls "$1" | grep -q '\.tmp$' || { ls -l "$1"; fail "a temporary file is left in $1"; }
}

# finish_and_compare DIR NP: resume without limits; the weights equal the uninterrupted run's.
finish_and_compare() {
    $MPIRUN -np "$2" "$NNTRAIN" train small.yaml "${settings[@]}" --resume "$1" > /dev/null \
        || fail "resuming $1 after the failed write"
    $COMPARE "runs/full$2/last.h5" "$1/last.h5" --exact --groups params,state,optim \
        || fail "$1: resumed weights differ from the uninterrupted run's"
    [ "$(cut -d, -f1 "$1/metrics.csv" | tr '\n' ' ')" = "epoch 1 2 3 " ] \
        || { cat "$1/metrics.csv"; fail "$1: metrics.csv after the failed write"; }
}

# 1. A checkpoint larger than the file-size limit, on 1 and 2 ranks: the epoch-1 checkpoint
# (written without a limit) stays as it was, byte for byte.
for np in 1 2; do
    dir=runs/limit$np
    $MPIRUN -np $np "$NNTRAIN" train small.yaml "${settings[@]}" --set train.epochs=1 \
        --run-dir $dir > /dev/null
    cp $dir/last.h5 good.h5
    $MPIRUN -np $np "$NNTRAIN" train small.yaml "${settings[@]}" --resume $dir \
        > out$np.txt 2> err$np.txt &
    job=$!
    # Once the run has resumed (its first line in log.txt), limit every rank's file size.
    for _ in $(seq 3000); do grep -q "^resuming" $dir/log.txt 2> /dev/null && break; sleep 0.02; done
    for rank in $(pgrep -P $job); do
        prlimit --pid "$rank" --fsize=$(( checkpoint_bytes / 2 )) || fail "prlimit"
    done
    code=0
    wait $job || code=$?
    [ $code -eq 1 ] || { cat out$np.txt err$np.txt; fail "np=$np: exit $code under a file-size limit, expected 1"; }
    grep -q "$dir/last.h5: cannot write: File too large" err$np.txt \
        || { cat err$np.txt; fail "np=$np: the error does not name the file and the reason"; }
    cmp -s good.h5 $dir/last.h5 || fail "np=$np: the previous good checkpoint was changed"
    no_leftovers $dir
    finish_and_compare $dir $np
    echo "file-size limit, np=$np: $(grep -m1 'cannot write' err$np.txt); last.h5 kept; resumed exactly"
done

# 2. The run directory turns read-only mid-run (chmod a-w once epoch 1's checkpoints are
# written). The job runs without CAP_DAC_OVERRIDE, which would let root write there anyway.
nocap=(setpriv --inh-caps=-all --bounding-set=-dac_override,-dac_read_search --)
for np in 1 2; do
    dir=runs/readonly$np
    "${nocap[@]}" $MPIRUN -np $np "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir $dir \
        > ro-out$np.txt 2> ro-err$np.txt &
    job=$!
    # best.h5 is the last file epoch 1 writes (after last.h5 and the epoch-001.h5 link).
    for _ in $(seq 6000); do [ -e $dir/best.h5 ] && break; sleep 0.02; done
    chmod a-w $dir
    cp $dir/last.h5 good.h5
    code=0
    wait $job || code=$?
    chmod u+w $dir
    [ $code -eq 1 ] || { cat ro-out$np.txt ro-err$np.txt; fail "read-only directory, np=$np: exit $code, expected 1"; }
    grep -q "$dir/last.h5: cannot write: Permission denied" ro-err$np.txt \
        || { cat ro-err$np.txt; fail "read-only directory, np=$np: the error does not name the file and why"; }
    cmp -s good.h5 $dir/last.h5 || fail "read-only directory, np=$np: the previous checkpoint was changed"
    no_leftovers $dir
    finish_and_compare $dir $np
    echo "read-only directory mid-run, np=$np: $(grep -m1 'cannot write' ro-err$np.txt); last.h5 kept; resumed exactly"
done

# 3. A full file system: the run directory on a tmpfs with room for about two checkpoints,
# and a dataset import that does not fit.
mkdir disk
if ! mount -t tmpfs -o size=$(( checkpoint_bytes * 5 / 2 / 1024 ))k tmpfs disk 2> /dev/null; then
    echo "SKIPPED the full-disk cases: cannot mount a tmpfs here (not root?)"
    exit 0
fi
trap 'umount "$WORK/disk" 2> /dev/null; rm -rf "$WORK"' EXIT
code=0
"$NNTRAIN" train small.yaml "${settings[@]}" --run-dir disk/run > full.txt 2> full-err.txt || code=$?
[ $code -eq 1 ] || { cat full.txt full-err.txt; fail "exit $code on a full disk, expected 1"; }
[ "$(wc -l < full-err.txt)" -eq 1 ] && grep -q "cannot write: No space left on device" full-err.txt \
    || { cat full-err.txt; fail "the full-disk error is not one line saying which file and why"; }
no_leftovers disk/run
cp -a disk/run runs/fromdisk
echo "full disk ($(( checkpoint_bytes * 5 / 2 / 1024 )) KiB tmpfs): $(cat full-err.txt); left $(ls disk/run | tr '\n' ' ')"
rm -rf disk/run
finish_and_compare runs/fromdisk 1

src=/usr/share/datasets/fashion-mnist
import=(import idx --images $src/t10k-images-idx3-ubyte.gz --labels $src/t10k-labels-idx1-ubyte.gz)
printf 'a,b,label\n1,2,0\n3,4,1\n' > small.csv
"$NNTRAIN" import csv --train small.csv -o disk/kept.h5 > /dev/null
cp disk/kept.h5 kept-before.h5
for out in disk/new.h5 disk/kept.h5; do
    code=0
    "$NNTRAIN" "${import[@]}" -o $out > /dev/null 2> import-err.txt || code=$?
    [ $code -eq 1 ] || { cat import-err.txt; fail "import to a full disk: exit $code"; }
    [ "$(wc -l < import-err.txt)" -eq 1 ] && grep -q "$out: cannot write: No space left" import-err.txt \
        || { cat import-err.txt; fail "the import error is not one line naming the file and why"; }
    [ ! -e $out.tmp ] || fail "a failed import left $out.tmp"
done
[ ! -e disk/new.h5 ] || fail "a failed import left disk/new.h5"
cmp -s disk/kept.h5 kept-before.h5 || fail "a failed import changed the existing disk/kept.h5"
echo "full disk, import: $(cat import-err.txt); the existing dataset kept"

# Writes that fail for real: a file-size limit (ulimit -f) and a full file system (a small
# tmpfs, when this machine lets the test mount one). Each failed write must keep the previous
# good file, say which file and why in one line, stop the run with exit 1 on every rank (not
# hang), leave no temporary file, and `--resume` must then finish the run bit for bit as if
# nothing had happened. Dataset imports that cannot be written leave no output behind.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
settings=(--set train.epochs=3)
"$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/full > /dev/null
checkpoint_kb=$(( $(stat -c %s runs/full/last.h5) / 1024 ))

# no_leftovers DIR: every checkpoint verifies and no temporary file is left.
no_leftovers() {
    for f in "$1"/*.h5; do
        "$NNTRAIN" verify "$f" > /dev/null || fail "$f does not verify"
    done
    ! ls "$1" | grep -q '\.tmp$' || { ls -l "$1"; fail "a temporary file is left in $1"; }
}

# finish_and_compare DIR: resume without limits; the weights equal the uninterrupted run's.
finish_and_compare() {
    $MPIRUN -np "$2" "$NNTRAIN" train small.yaml "${settings[@]}" --resume "$1" > /dev/null \
        || fail "resuming $1 after the failed write"
    $COMPARE runs/full/last.h5 "$1/last.h5" --exact --groups params,state,optim \
        || fail "$1: resumed weights differ from the uninterrupted run's"
    [ "$(cut -d, -f1 "$1/metrics.csv" | tr '\n' ' ')" = "epoch 1 2 3 " ] \
        || { cat "$1/metrics.csv"; fail "$1: metrics.csv after the failed write"; }
}

# 1. A checkpoint larger than the file-size limit, on 1 and 2 ranks: the epoch-1 checkpoint
# (written without a limit) stays as it was, byte for byte.
for np in 1 2; do
    dir=runs/limit$np
    $MPIRUN -np $np "$NNTRAIN" train small.yaml --set train.epochs=1 --run-dir $dir > /dev/null
    cp $dir/last.h5 good.h5
    set +e
    (ulimit -f $(( checkpoint_kb / 2 )); timeout 300 $MPIRUN -np $np "$NNTRAIN" train small.yaml \
        "${settings[@]}" --resume $dir > out$np.txt 2> err$np.txt)
    code=$?
    set -e
    [ $code -eq 1 ] || { cat out$np.txt err$np.txt; fail "np=$np: exit $code under a file-size limit, expected 1"; }
    grep -q "last.h5.tmp: writing the checkpoint failed: File too large" err$np.txt \
        || { cat err$np.txt; fail "np=$np: the error does not name the file and the reason"; }
    cmp -s good.h5 $dir/last.h5 || fail "np=$np: the previous good checkpoint was changed"
    no_leftovers $dir
    finish_and_compare $dir $np
done

# 2. A full file system: the run directory on a tmpfs with room for about two checkpoints.
mkdir disk
if mount -t tmpfs -o size=$(( checkpoint_kb * 5 / 2 ))k tmpfs disk 2> /dev/null; then
    trap 'umount "$WORK/disk" 2>/dev/null; rm -rf "$WORK"' EXIT
    set +e
    "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir disk/run > full.txt 2> full-err.txt
    code=$?
    set -e
    [ $code -eq 1 ] || { cat full.txt full-err.txt; fail "exit $code on a full disk, expected 1"; }
    [ "$(wc -l < full-err.txt)" -eq 1 ] && grep -q "No space left on device" full-err.txt \
        || { cat full-err.txt; fail "the full-disk error is not one line saying why"; }
    no_leftovers disk/run
    cp -a disk/run runs/fromdisk
    umount disk
    finish_and_compare runs/fromdisk 1
    echo "full tmpfs ($(( checkpoint_kb * 5 / 2 )) KiB): $(cat full-err.txt)"
else
    echo "SKIPPED the full-disk case: cannot mount a tmpfs here (not root?)"
fi

# 3. A dataset import over the limit leaves neither the output nor a temporary file, and an
# existing dataset stays as it was.
src=/usr/share/datasets/fashion-mnist
import=(import idx --images $src/t10k-images-idx3-ubyte.gz --labels $src/t10k-labels-idx1-ubyte.gz)
set +e
(ulimit -f 512; "$NNTRAIN" "${import[@]}" -o new.h5 > /dev/null 2> import-err.txt)
code=$?
set -e
[ $code -eq 1 ] || { cat import-err.txt; fail "import under a file-size limit: exit $code"; }
[ "$(wc -l < import-err.txt)" -eq 1 ] && grep -q "new.h5" import-err.txt \
    || { cat import-err.txt; fail "the import error is not one line naming the file"; }
[ ! -e new.h5 ] && [ ! -e new.h5.tmp ] || fail "a failed import left a file behind"
printf 'a,b,label\n1,2,0\n3,4,1\n' > small.csv
"$NNTRAIN" import csv --train small.csv -o kept.h5 > /dev/null
cp kept.h5 kept-before.h5
set +e
(ulimit -f 512; "$NNTRAIN" "${import[@]}" -o kept.h5 > /dev/null 2>&1)
code=$?
set -e
[ $code -eq 1 ] && cmp -s kept.h5 kept-before.h5 && [ ! -e kept.h5.tmp ] \
    || fail "a failed import over an existing dataset changed it (exit $code)"
echo "file-size limit: checkpoints kept and resumed exactly on 1 and 2 ranks; imports left nothing"

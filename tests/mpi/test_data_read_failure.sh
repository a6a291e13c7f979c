# A dataset whose chunks cannot be read: a chunk in the middle of the training rows corrupted
# (deflate stream and checksum broken) and the file cut short. Read into memory before the
# first step (data.cache memory or node) or streamed batch by batch (data.cache: none, where
# the bad chunk is met mid-epoch), the job must stop with a data error (exit 3) naming the
# file and the array, on 2 ranks as on 1, without hanging and without writing a checkpoint.
# Then a streamed file that goes away mid-epoch at 2 ranks: exit 3 on every rank, the last
# checkpoint intact, resume refused while the file is away and bit-identical once it is back.
source "$(dirname "$0")/../e2e/lib.sh"
data=$(fashion_mnist)
# 4000 training rows in chunks of 100 rows, compressed and checksummed (fletcher32).
/usr/bin/python3 - "$data" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as src, h5py.File("chunked.h5", "w") as dst:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    for split, rows in (("train", 4000), ("test", 1000)):
        g = dst.create_group(split)
        x = src[split + "/x"][:rows]
        g.create_dataset("x", data=x, chunks=(100,) + x.shape[1:], compression="gzip",
                         fletcher32=True)
        g.create_dataset("y", data=src[split + "/y"][:rows])
PY
cat > chunked.yaml <<'YAML'
data: {path: chunked.h5, val: {split: 0.1}}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 32, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 1, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.002}}
seed: 3
YAML
"$NNTRAIN" train chunked.yaml --run-dir runs/good > /dev/null || fail "the intact chunked file does not train"

# Chunk 25 of /train/x (rows 2500-2599): bytes in the middle of its compressed stream flipped.
/usr/bin/python3 - <<'PY'
import shutil, h5py
shutil.copy("chunked.h5", "bad-chunk.h5")
with h5py.File("chunked.h5", "r") as f:
    info = f["train/x"].id.get_chunk_info(25)
with open("bad-chunk.h5", "r+b") as f:
    f.seek(info.byte_offset + info.size // 2)
    block = bytearray(f.read(64))
    f.seek(info.byte_offset + info.size // 2)
    f.write(bytes(b ^ 0x5A for b in block))
PY
sed 's/chunked.h5/bad-chunk.h5/' chunked.yaml > bad-chunk.yaml
# The same file streamed (data.cache: none): the bad chunk is met mid-epoch, by the rank
# whose batch holds one of its rows (the read-ahead thread reads it).
sed 's/chunked.h5/bad-chunk.h5, cache: none/' chunked.yaml > streamed.yaml
# The file cut at the middle of the training images.
head -c "$(( $(stat -c %s chunked.h5) / 2 ))" chunked.h5 > cut.h5
sed 's/chunked.h5/cut.h5/' chunked.yaml > cut.yaml

for np in 1 2; do
    launch=("$NNTRAIN")
    [ $np -eq 1 ] || launch=($MPIRUN -np $np "$NNTRAIN")
    for bad in bad-chunk streamed cut; do
        code=0
        timeout 300 "${launch[@]}" train $bad.yaml --run-dir runs/$bad$np > out.txt 2> err.txt \
            || code=$?
        [ $code -ne 124 ] || fail "$bad, np=$np: the job hung"
        [ $code -eq 3 ] || { cat out.txt err.txt; fail "$bad, np=$np: exit $code, expected 3"; }
        file=$bad.h5
        [ $bad != streamed ] || file=bad-chunk.h5
        grep -q "$file: /train/x: \|$file: cannot open" err.txt || { cat err.txt; fail "$bad, np=$np: the error does not name the file and array"; }
        # (mpirun adds its own note about the exit status)
        [ "$(grep -c "$file" err.txt)" -le "$np" ] || { cat err.txt; fail "$bad, np=$np: more than a line per rank"; }
        ! ls runs/$bad$np/*.h5 2> /dev/null || fail "$bad, np=$np: a checkpoint was written"
        echo "$bad, np=$np: exit 3: $(grep -m1 "$file" err.txt)"
    done
done

# Streamed, the file goes away mid-epoch, at 2 ranks: from the checkpoint of step 3 on every
# read of it fails with ESTALE (fail_reads.c: a file deleted on a network file system), so
# the step after the read ahead meets it. Every rank stops with a data error naming the file
# (exit 3), the checkpoint stays whole (`nntrain verify`); a resume while the file is renamed
# away is refused the same way, touching nothing; once it is back the resumed run ends with
# the bits of a run never interrupted.
FAIL_READS="$NN_BINARY_DIR/tests/libfail_reads.so"
[ -f "$FAIL_READS" ] || fail "no $FAIL_READS (build the fail_reads target)"
/usr/bin/python3 - <<'PY'
import h5py
with h5py.File("chunked.h5", "r") as src, h5py.File("plain.h5", "w") as dst:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    for split in ("train", "test"):
        x = src[split + "/x"][:]
        dst.create_dataset(split + "/x", data=x, chunks=(100,) + x.shape[1:])
        dst[split + "/y"] = src[split + "/y"][:]
PY
sed -e 's/chunked.h5/plain.h5, cache: none/' -e 's/epochs: 1,/epochs: 2, checkpoint: {every_steps: 3},/' \
    chunked.yaml > plain.yaml
$MPIRUN -np 2 "$NNTRAIN" train plain.yaml --run-dir runs/whole > /dev/null
code=0
NN_FAIL_READ_PATH=plain.h5 NN_FAIL_READ_WHEN=runs/gone/last.h5 LD_PRELOAD="$FAIL_READS" \
    timeout 300 $MPIRUN -np 2 -x NN_FAIL_READ_PATH -x NN_FAIL_READ_WHEN -x LD_PRELOAD \
    "$NNTRAIN" train plain.yaml --run-dir runs/gone > out.txt 2> err.txt || code=$?
[ $code -ne 124 ] || fail "vanished file: the job hung"
[ $code -eq 3 ] || { cat out.txt err.txt; fail "vanished file: exit $code, expected 3"; }
grep "plain.h5: /train/x: reading rows [0-9]* to [0-9]* failed (Stale file handle)" err.txt > /dev/null \
    || { cat err.txt; fail "vanished file: the failed read is not named"; }
for r in 0 1; do
    [ "$(grep -c "^rank $r: .*plain.h5" err.txt)" -eq 1 ] || { cat err.txt; fail "vanished file: rank $r does not say it in one line"; }
done
echo "vanished file, np=2: exit 3:"; grep "plain.h5" err.txt
"$NNTRAIN" verify runs/gone/last.h5 > /dev/null || fail "vanished file: the last checkpoint does not verify"
/usr/bin/python3 - <<'PY' || fail "vanished file: the last checkpoint is not the step-3 one"
import h5py
with h5py.File("runs/gone/last.h5", "r") as f:
    epoch, step = int(f["meta"].attrs["epoch"]), int(f["meta"].attrs["step"])
    assert (epoch, step) == (0, 3), (epoch, step)  # the first epoch, its step 3
PY
sum=$(md5sum < runs/gone/last.h5)
mv plain.h5 away.h5
code=0
timeout 300 $MPIRUN -np 2 "$NNTRAIN" train plain.yaml --resume runs/gone > out.txt 2> err.txt || code=$?
[ $code -eq 3 ] || { cat out.txt err.txt; fail "resume without the file: exit $code, expected 3"; }
grep "plain.h5" err.txt > /dev/null || { cat err.txt; fail "resume without the file: the file is not named"; }
[ "$(md5sum < runs/gone/last.h5)" = "$sum" ] || fail "resume without the file: last.h5 changed"
echo "resume without the file: exit 3: $(grep -m1 plain.h5 err.txt)"
mv away.h5 plain.h5
$MPIRUN -np 2 "$NNTRAIN" train plain.yaml --resume runs/gone > /dev/null
$COMPARE runs/whole/last.h5 runs/gone/last.h5 --exact || fail "resumed after the file came back: not the uninterrupted bits"

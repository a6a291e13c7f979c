# A corrupted or truncated checkpoint is a data error (exit 3) for eval and --resume, and
# nothing is overwritten; a corrupted last.h5 falls back to the newest good epoch file. A
# non-finite loss stops with exit 4 naming the layer, keeping the last good checkpoint.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
"$NNTRAIN" train small.yaml --run-dir runs/a > /dev/null
cp runs/a/last.h5 good.h5
head -c 20000 good.h5 > truncated.h5
expect_exit 3 "$NNTRAIN" eval truncated.h5
grep -q "truncated.h5" err.txt || fail "truncated message"
# Flip bytes inside the largest dataset's data: the checksum catches it.
/usr/bin/python3 - <<'PY'
import h5py
with h5py.File("good.h5", "r") as f:
    offset = f["params/fc1/weight"].id.get_chunk_info(0).byte_offset
data = bytearray(open("good.h5", "rb").read())
for i in range(16):
    data[offset + 1000 + i] ^= 0xFF
open("flipped.h5", "wb").write(bytes(data))
PY
expect_exit 3 "$NNTRAIN" eval flipped.h5
grep -q "checksum" err.txt || { cat err.txt; fail "checksum message"; }
expect_exit 3 "$NNTRAIN" verify flipped.h5

# --resume with a corrupt last.h5 and no epoch files: exit 3, nothing touched.
mkdir -p runs/bad && cp flipped.h5 runs/bad/last.h5 && cp runs/a/metrics.csv runs/bad/
before=$(md5sum runs/bad/*)
expect_exit 3 "$NNTRAIN" train small.yaml --set train.epochs=5 --resume runs/bad
[ "$before" = "$(md5sum runs/bad/*)" ] || fail "failed resume changed files"
# ... with good epoch files: falls back to the newest and says so.
cp runs/a/epoch-002.h5 runs/bad/epoch-002.h5
"$NNTRAIN" train small.yaml --set train.epochs=3 --resume runs/bad > fallback.txt
grep -q "falling back to runs/bad/epoch-002.h5" fallback.txt || { cat fallback.txt; fail "fallback"; }

# NaN: an absurd learning rate.
"$NNTRAIN" train small.yaml --set train.epochs=1 --set train.optimizer.type=sgd --run-dir runs/nan > /dev/null
cp runs/nan/last.h5 nan-before.h5
expect_exit 4 "$NNTRAIN" train small.yaml --set train.epochs=3 --set train.optimizer.type=sgd \
    --set train.optimizer.lr=1e38 --resume runs/nan
grep -q "non-finite loss at epoch 2, step [0-9]*; largest gradient norm in layer '[a-z0-9]*'" err.txt \
    || { cat err.txt; fail "NaN message"; }
cmp -s runs/nan/last.h5 nan-before.h5 || fail "the last good checkpoint was replaced"
echo "corruption and NaN are handled"

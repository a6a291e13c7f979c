# nntrain import series against a NumPy reference: a CSV of 3 columns (one of them the row
# number, so where each window came from can be read back), windows of W steps every S rows,
# targets the next H values (or a class column H rows after the window), split at a row and
# at a fraction; every window and target equals NumPy's, no training window or its targets
# reaches the split row, no test window starts before it. A column that is not numeric or not
# in the header, and windows that do not fit, are one line and exit 3 / 2.
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(1)
n = 203
with open("series.csv", "w") as f:
    f.write("row,level,noise,kind\n")
    level = np.cumsum(rng.standard_normal(n))
    for i in range(n):
        kind = ["calm", "rise", "fall"][int(level[i] * 3) % 3]
        f.write(f"{i},{level[i]:.6f},{rng.standard_normal():.6f},{kind}\n")
with open("bad.csv", "w") as f:
    f.write("a,b\n1,2\n3,x7\n")
PY
"$NNTRAIN" import series --csv series.csv --columns row,level,noise --target level --window 10 \
    --horizon 3 --stride 2 --split-at 150 -o rows.h5 > /dev/null
"$NNTRAIN" import series --csv series.csv --columns level,row --window 7 --horizon 1 \
    --split-at 0.75 -o frac.h5 > /dev/null
"$NNTRAIN" import series --csv series.csv --columns row,noise --target kind --classes \
    --window 5 --horizon 2 --stride 3 --split-at 100 -o kind.h5 > /dev/null
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
table = np.genfromtxt("series.csv", delimiter=",", names=True, dtype=None, encoding=None)
def windows(columns, target, W, H, S, first, end, classes=False):
    data = np.stack([table[c].astype(np.float32) for c in columns], axis=1)
    xs, ys = [], []
    for s in range(first, end - W - H + 1, S):
        xs.append(data[s:s + W])
        if classes:
            names = sorted(set(table[target]))
            ys.append(names.index(table[target][s + W + H - 1]))
        else:
            ys.append(table[target][s + W:s + W + H].astype(np.float32))
    return np.array(xs), np.array(ys)
def check(path, columns, target, W, H, S, split, classes=False):
    with h5py.File(path) as f:
        for name, first, end in (("train", 0, split), ("test", split, len(table))):
            x, y = windows(columns, target, W, H, S, first, end, classes)
            got_x, got_y = f[name + "/x"][()], f[name + "/y"][()]
            assert got_x.shape == x.shape, (path, name, got_x.shape, x.shape)
            assert np.array_equal(got_x, x), (path, name, "x")
            assert np.array_equal(got_y, y), (path, name, "y")
            rows = got_x[:, :, columns.index("row")]
            if name == "train":  # the window and its targets end before the split
                assert rows.max() + H < split, (path, rows.max())
            else:
                assert rows.min() >= split, (path, rows.min())
        if classes:
            names = [s.decode() if isinstance(s, bytes) else s for s in f.attrs["class_names"]]
            assert names == sorted(set(table[target])), names
    print(path, "matches NumPy")
check("rows.h5", ["row", "level", "noise"], "level", 10, 3, 2, 150)
check("frac.h5", ["level", "row"], "level", 7, 1, 1, int(0.75 * 203))
check("kind.h5", ["row", "noise"], "kind", 5, 2, 3, 100, classes=True)
PY
expect_exit 3 "$NNTRAIN" import series --csv bad.csv --columns a,b --window 1 --horizon 1 -o b.h5
grep "bad.csv:3:2: column 'b' holds 'x7', not a number" "$WORK/err.txt" > /dev/null ||
    { cat "$WORK/err.txt"; fail "non-numeric message"; }
[ "$(wc -l < "$WORK/err.txt")" -eq 1 ] || fail "more than one line for a non-numeric value"
[ ! -e b.h5 ] || fail "a file was written after the error"
expect_exit 3 "$NNTRAIN" import series --csv series.csv --columns level,kind --window 3 \
    --horizon 1 -o b.h5
grep "series.csv:2:4: column 'kind' holds '[a-z]*', not a number" "$WORK/err.txt" > /dev/null ||
    { cat "$WORK/err.txt"; fail "string column message"; }
expect_exit 2 "$NNTRAIN" import series --csv series.csv --columns level,temp --window 3 \
    --horizon 1 -o b.h5
grep "no column 'temp' in the header (columns: row, level, noise, kind)" "$WORK/err.txt" \
    > /dev/null || { cat "$WORK/err.txt"; fail "missing column message"; }
expect_exit 3 "$NNTRAIN" import series --csv series.csv --columns level --window 50 \
    --horizon 10 --split-at 190 -o b.h5
grep "no window of 50 + 10 rows fits in the 13 test rows after the split at row 190" \
    "$WORK/err.txt" > /dev/null || { cat "$WORK/err.txt"; fail "window fit message"; }
expect_exit 2 "$NNTRAIN" import series --csv series.csv --columns level --window 5 \
    --horizon 1 --split-at 1.5 -o b.h5
echo "PASS"

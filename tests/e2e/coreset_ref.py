"""NumPy references for nntrain coreset (tests/e2e/test_coreset.sh).

    coreset_ref.py make SMALL.h5          a 300 x 12 float dataset with 3 classes
    coreset_ref.py check SMALL.h5 SUBSET.h5 METHOD K
        exits 1 unless SUBSET.h5's /train/source_rows are the rows the reference chooses
        and its /train/x, /train/y are those rows of SMALL.h5.
"""
import sys

import h5py
import numpy as np


def make(path):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 12)).astype(np.float32)
    y = rng.integers(0, 3, size=300).astype(np.int32)
    x[y == 1] += 2.0
    with h5py.File(path, "w") as f:
        f.attrs["num_classes"] = 3
        f["train/x"] = x
        f["train/y"] = y


def kcenter(x, k):
    mean = x.mean(0).astype(np.float32).astype(np.float64)  # the first center, as float
    dist = ((x - mean) ** 2).sum(1)
    nxt = int(np.argmin(dist))
    dist = np.full(len(x), np.inf)
    chosen = []
    for _ in range(k):
        chosen.append(nxt)
        dist = np.minimum(dist, ((x - x[nxt]) ** 2).sum(1))
        nxt = int(np.argmax(dist))
    return chosen


def herding(x, k):
    mean = x.mean(0)
    w = mean.copy()
    taken = np.zeros(len(x), bool)
    chosen = []
    for _ in range(k):
        score = x @ w
        score[taken] = -np.inf
        best = int(np.argmax(score))
        taken[best] = True
        chosen.append(best)
        w += mean - x[best]
    return chosen


def check(small, subset, method, k):
    with h5py.File(small) as f:
        x, y = f["train/x"][()], f["train/y"][()]
    with h5py.File(subset) as f:
        rows = list(f["train/source_rows"][()])
        sub_x, sub_y = f["train/x"][()], f["train/y"][()]
    want = {"kcenter": kcenter, "herding": herding}[method](x.astype(np.float64), k)
    if rows != want:
        print(f"{method}: nntrain chose {rows[:12]}..., the reference {want[:12]}...")
        return 1
    if not (np.array_equal(sub_x, x[rows]) and np.array_equal(sub_y, y[rows])):
        print(f"{method}: the subset's x or y are not the source rows")
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))

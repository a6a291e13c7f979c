"""Compare the parameters (and optionally state/optimizer slots) of two nntrain checkpoints.

usage: compare_h5.py A.h5 B.h5 [--exact | --rtol R] [--groups params,state,optim]
Exit 0 when every dataset agrees; prints the worst difference otherwise."""
import argparse
import sys

import h5py
import numpy as np


def datasets(path, groups):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] in groups:
                out[name] = obj[()]
        f.visititems(visit)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--groups", default="params,state")
    args = ap.parse_args()
    groups = args.groups.split(",")
    a, b = datasets(args.a, groups), datasets(args.b, groups)
    if not a:
        sys.exit(f"{args.a}: no datasets in {groups}")
    if sorted(a) != sorted(b):
        sys.exit(f"different datasets: {sorted(set(a) ^ set(b))}")
    worst = (0.0, None)
    for name in sorted(a):
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        if args.exact:
            if not np.array_equal(a[name], b[name]):
                i = int(np.argmax(np.abs(x - y).reshape(-1)))
                sys.exit(f"{name}: not bit-identical (element {i}: {x.reshape(-1)[i]!r} vs "
                         f"{y.reshape(-1)[i]!r})")
            continue
        scale = max(np.abs(y).max(), 1e-12)
        rel = np.abs(x - y).max() / scale
        if rel > worst[0]:
            worst = (rel, name)
    if not args.exact and worst[0] > args.rtol:
        sys.exit(f"{worst[1]}: relative difference {worst[0]:.3g} > {args.rtol}")
    print(f"{len(a)} datasets agree" + ("" if args.exact else f" (max rel diff {worst[0]:.3g})"))


if __name__ == "__main__":
    main()

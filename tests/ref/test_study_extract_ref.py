"""nntrain extract: the last layer's representation equals `nntrain predict`'s outputs bit
for bit; every inner layer (a batchnorm and a concat among them) equals what PyTorch
computes with the checkpoint's weights; a row range is that slice of the whole; two ranks
give what one gives."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["NN_SOURCE_DIR"], "tests", "ref"))
import studylib as s  # noqa: E402


def main():
    work = s.workdir()
    ckpt = s.train(work, "a")
    data = os.path.join(work, "data.h5")
    x, y = s.test_inputs(data)
    failures = []

    reps1 = os.path.join(work, "reps1.h5")
    s.run_ok([s.NNTRAIN, "extract", ckpt, "--layers", "all", "-o", reps1])
    layers, labels = s.read_reps(reps1)
    if sorted(layers) != sorted(s.LAYERS):
        failures.append(f"extracted layers {sorted(layers)}, expected {sorted(s.LAYERS)}")
    if not np.array_equal(labels, y):
        failures.append("labels differ from the dataset's")

    preds = os.path.join(work, "preds.h5")
    s.run_ok([s.NNTRAIN, "predict", ckpt, "-o", preds])
    with h5py.File(preds, "r") as f:
        if not np.array_equal(f["outputs"][()], layers["out"]):
            failures.append("layer 'out' differs from predict's outputs (bit for bit)")

    theirs = s.torch_outputs(ckpt, x)
    for name in s.LAYERS:
        ours = layers.get(name)
        if ours is None or ours.shape != theirs[name].shape:
            failures.append(f"{name}: shape {None if ours is None else ours.shape}, torch "
                            f"{theirs[name].shape}")
            continue
        err = np.max(np.abs(ours - theirs[name]) / (1 + np.abs(theirs[name])))
        print(f"{name:10s} {ours.shape}  max error against torch {err:.2e}")
        if err > 1e-5:
            failures.append(f"{name}: differs from torch by {err:.2e}")

    part = os.path.join(work, "part.h5")
    s.run_ok([s.NNTRAIN, "extract", ckpt, "--layers", "bn,cat", "--rows", "10:50", "-o", part])
    some, some_labels = s.read_reps(part)
    for name in ("bn", "cat"):
        if not np.array_equal(some[name], layers[name][10:50]):
            failures.append(f"--rows 10:50 of {name} is not rows 10..49 of the whole")
    if not np.array_equal(some_labels, y[10:50]):
        failures.append("--rows 10:50: labels are not rows 10..49")

    reps2 = os.path.join(work, "reps2.h5")
    s.run_ok(s.MPIRUN + ["-np", "2", s.NNTRAIN, "extract", ckpt, "-o", reps2])
    layers2, _ = s.read_reps(reps2)
    for name in s.LAYERS:
        err = np.max(np.abs(layers2[name] - layers[name]))
        if err > 1e-6:
            failures.append(f"{name}: np=2 differs from np=1 by {err:.2e}")

    if failures:
        sys.exit("FAIL:\n  " + "\n  ".join(failures))
    print("ok")


if __name__ == "__main__":
    main()

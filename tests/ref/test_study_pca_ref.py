"""nntrain pca against NumPy's SVD of the centered data (components up to sign, explained
variance, bias = -W mean); the same with two ranks; and the components loaded as a frozen
dense layer (init: {type: file}) stay fixed in training and output the projection."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.environ["NN_SOURCE_DIR"], "tests", "ref"))
import studylib as s  # noqa: E402

K = 6


def main():
    work = s.workdir()
    data = os.path.join(work, "data.h5")
    s.make_dataset(data)
    failures = []
    pca = os.path.join(work, "pca.h5")
    print(s.run_ok([s.NNTRAIN, "pca", data, "--components", str(K), "-o", pca]))
    with h5py.File(data, "r") as f:
        x = (f["train/x"][()].reshape(800, -1).astype(np.float32) * np.float32(1 / 255))
    x = x.astype(np.float64)
    mean = x.mean(0)
    _, sv, vt = np.linalg.svd(x - mean, full_matrices=False)
    with h5py.File(pca, "r") as f:
        w, b = f["weight"][()], f["bias"][()]
        variance, ratio = f["explained_variance"][()], f["explained_variance_ratio"][()]
        ours_mean = f["mean"][()]
    if w.shape != (K, 64) or b.shape != (K,):
        failures.append(f"weight {w.shape}, bias {b.shape}: expected ({K}, 64), ({K},)")
    signs = np.sign(np.sum(w * vt[:K], 1))[:, None]
    err = np.max(np.abs(w - signs * vt[:K]))
    print(f"components: max |nntrain - numpy svd| up to sign = {err:.2e}")
    if err > 1e-4:
        failures.append(f"components differ from NumPy's SVD by {err:.2e}")
    want_var = sv[:K] ** 2 / (len(x) - 1)
    if np.max(np.abs(variance - want_var) / want_var) > 1e-5:
        failures.append(f"explained variance {variance} != {want_var}")
    total = np.sum(sv ** 2) / (len(x) - 1)
    if np.max(np.abs(ratio - want_var / total)) > 1e-6:
        failures.append("explained variance ratio differs")
    if np.max(np.abs(ours_mean - mean)) > 1e-6 or np.max(np.abs(b + w @ mean)) > 1e-5:
        failures.append("mean or bias (-W mean) differs")

    pca2 = os.path.join(work, "pca2.h5")
    s.run_ok(s.MPIRUN + ["-np", "2", s.NNTRAIN, "pca", data, "-k", str(K), "-o", pca2])
    with h5py.File(pca2, "r") as f:
        if np.max(np.abs(f["weight"][()] - w)) > 1e-6 or np.max(np.abs(f["bias"][()] - b)) > 1e-6:
            failures.append("np=2 components differ from np=1")

    cfg = os.path.join(work, "frozen.yaml")
    with open(cfg, "w") as f:
        f.write(f"""data: {{path: {data}}}
model:
  input: [1, 8, 8]
  layers:
    - {{name: pca, type: dense, units: {K}, trainable: false,
       init: {{type: file, path: {pca}, dataset: /weight}},
       bias_init: {{type: file, path: {pca}, dataset: /bias}}}}
    - {{name: fc, type: dense, units: 16, activation: relu}}
    - {{name: out, type: dense, units: 4}}
train: {{epochs: 2, batch_size: 32, loss: cross_entropy, optimizer: {{type: adam, lr: 0.01}}}}
""")
    run = os.path.join(work, "run")
    s.run_ok([s.NNTRAIN, "train", cfg, "--run-dir", run])
    with h5py.File(os.path.join(run, "last.h5"), "r") as f:
        if not (np.array_equal(f["params/pca/weight"][()], w) and
                np.array_equal(f["params/pca/bias"][()], b)):
            failures.append("the frozen PCA layer changed in training")
        fc_moved = not np.allclose(f["params/fc/weight"][()], 0)
    if not fc_moved:
        failures.append("the layer above the PCA layer did not train")
    reps = os.path.join(work, "reps.h5")
    s.run_ok([s.NNTRAIN, "extract", os.path.join(run, "last.h5"), "--layers", "pca", "-o", reps])
    projected, _ = s.read_reps(reps)
    xt, _ = s.test_inputs(data)
    want = (xt.reshape(len(xt), -1).astype(np.float64) - mean) @ w.T.astype(np.float64)
    err = np.max(np.abs(projected["pca"] - want))
    print(f"frozen PCA layer against the projection: {err:.2e}")
    if err > 1e-5:
        failures.append(f"the PCA layer's outputs differ from the projection by {err:.2e}")

    if failures:
        sys.exit("FAIL:\n  " + "\n  ".join(failures))
    print("ok")


if __name__ == "__main__":
    main()

"""nntrain cka against NumPy: linear CKA (nntrain's feature-space products against the
Gram-matrix formula), RBF CKA with the median bandwidth, minibatch CKA with the unbiased
HSIC, two checkpoints against each other, and the same numbers with two ranks."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.environ["NN_SOURCE_DIR"], "tests", "ref"))
import studylib as s  # noqa: E402


def expect(failures, label, ours, theirs, tol=1e-5):
    err = np.max(np.abs(ours - theirs))
    print(f"{label:28s} max |nntrain - numpy| = {err:.2e}")
    if not err <= tol:
        failures.append(f"{label}: differs from NumPy by {err:.2e} (tolerance {tol})")


def reference(reps_a, reps_b, rows, cols, fn):
    return np.array([[fn(reps_a[r], reps_b[c]) for c in cols] for r in rows])


def main():
    work = s.workdir()
    ckpt_a = s.train(work, "a", seed=1)
    ckpt_b = s.train(work, "b", seed=2)
    reps = os.path.join(work, "reps.h5")
    s.run_ok([s.NNTRAIN, "extract", ckpt_a, "-o", reps])
    a, _ = s.read_reps(reps)
    reps_b = os.path.join(work, "reps_b.h5")
    s.run_ok([s.NNTRAIN, "extract", ckpt_b, "-o", reps_b])
    b, _ = s.read_reps(reps_b)
    failures = []

    def cka_of(name, *args):
        out = os.path.join(work, name)
        s.run_ok([s.NNTRAIN, "cka", *args, "-o", out])
        return s.read_csv_matrix(os.path.join(out, "cka.csv"))

    rows, cols, linear = cka_of("linear", ckpt_a)
    if rows != cols or sorted(rows) != sorted(s.LAYERS):
        failures.append(f"rows {rows} / columns {cols}: expected every layer")
    lin = lambda x, y: s.cka(s.gram_linear(x), s.gram_linear(y))  # noqa: E731
    expect(failures, "linear", linear, reference(a, a, rows, cols, lin))
    if np.max(np.abs(np.diag(linear) - 1)) > 1e-6:
        failures.append("linear CKA of a layer with itself is not 1")

    # Fewer rows (20) than features (up to 32): the Gram-matrix path.
    rows, cols, narrow = cka_of("narrow", ckpt_a, "--rows", "0:20")
    few = {k: v[:20] for k, v in a.items()}
    expect(failures, "linear, 20 rows", narrow, reference(few, few, rows, cols, lin))

    rows, cols, rbf = cka_of("rbf", ckpt_a, "--kernel", "rbf", "--rows", "0:200")
    sub = {k: v[:200] for k, v in a.items()}
    rbf_fn = lambda x, y: s.cka(s.gram_rbf(x), s.gram_rbf(y))  # noqa: E731
    expect(failures, "rbf, 200 rows", rbf, reference(sub, sub, rows, cols, rbf_fn))

    rows, cols, mini = cka_of("mini", ckpt_a, "--minibatch", "64")
    mini_fn = lambda x, y: s.cka_minibatch(x, y, 64)  # noqa: E731
    expect(failures, "minibatch 64", mini, reference(a, a, rows, cols, mini_fn))

    rows, cols, mini_rbf = cka_of("mini_rbf", ckpt_a, "--minibatch", "100", "--kernel", "rbf",
                                  "--layers", "h1.tanh,cat,out")
    mini_rbf_fn = lambda x, y: s.cka_minibatch(x, y, 100, s.gram_rbf)  # noqa: E731
    expect(failures, "minibatch 100 rbf", mini_rbf, reference(a, a, rows, cols, mini_rbf_fn))

    rows, cols, cross = cka_of("cross", ckpt_a, ckpt_b, "--layers", "bn,cat,out",
                               "--layers-b", "h2.relu,out")
    if rows != ["bn", "cat", "out"] or cols != ["h2.relu", "out"]:
        failures.append(f"A against B: rows {rows}, columns {cols}")
    expect(failures, "A against B", cross, reference(a, b, rows, cols, lin))

    out2 = os.path.join(work, "np2")
    s.run_ok(s.MPIRUN + ["-np", "2", s.NNTRAIN, "cka", ckpt_a, "-o", out2])
    _, _, linear2 = s.read_csv_matrix(os.path.join(out2, "cka.csv"))
    expect(failures, "np=2 against np=1", linear2, linear, 1e-6)
    if not os.path.getsize(os.path.join(out2, "cka.svg")) > 1000:
        failures.append("no heatmap written")

    if failures:
        sys.exit("FAIL:\n  " + "\n  ".join(failures))
    print("ok")


if __name__ == "__main__":
    main()

"""nntrain ensemble: mean_prob equals the mean of the members' softmax outputs computed by
PyTorch for the same checkpoints, mean_logit the softmax of their mean logits; each member's
and the ensemble's accuracy and loss equal NumPy's; the mean_prob ensemble's loss is at most
the members' mean (Jensen's inequality: -log of a mean is at most the mean of -logs); two
ranks give the same."""
import csv
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.environ["NN_SOURCE_DIR"], "tests", "ref"))
import studylib as s  # noqa: E402


def read(path):
    with open(os.path.join(path, "ensemble.csv")) as f:
        rows = list(csv.DictReader(f))
    with h5py.File(os.path.join(path, "ensemble.h5"), "r") as f:
        return rows, f["probs"][()]


def main():
    work = s.workdir()
    ckpts = [s.train(work, f"m{seed}", seed=seed, epochs=2) for seed in (1, 2, 3)]
    x, y = s.test_inputs(os.path.join(work, "data.h5"))
    logits = [torch.from_numpy(s.torch_outputs(c, x)["out"]) for c in ckpts]
    probs = [torch.softmax(z.double(), 1).numpy() for z in logits]
    failures = []

    out = os.path.join(work, "mean_prob")
    print(s.run_ok([s.NNTRAIN, "ensemble", *ckpts, "-o", out]))
    rows, ours = read(out)
    want = np.mean(probs, 0)
    err = np.max(np.abs(ours - want))
    print(f"mean_prob against torch: {err:.2e}")
    if err > 1e-5:
        failures.append(f"mean_prob differs from torch's mean softmax by {err:.2e}")
    for row, p in zip(rows, probs + [want]):
        acc = np.mean(p.argmax(1) == y)
        nll = -np.mean(np.log(p[np.arange(len(y)), y]))
        if abs(float(row["accuracy"]) - acc) > 1e-6 or abs(float(row["loss"]) - nll) > 1e-5:
            failures.append(f"{row['model']}: accuracy/loss {row['accuracy']}/{row['loss']}, "
                            f"numpy {acc:.6f}/{nll:.6f}")
    members = rows[:3]
    ens = rows[3]
    if float(ens["loss"]) > np.mean([float(r["loss"]) for r in members]) + 1e-9:
        failures.append("the mean_prob ensemble's loss exceeds the members' mean")

    out = os.path.join(work, "mean_logit")
    s.run_ok([s.NNTRAIN, "ensemble", *ckpts, "--combine", "mean_logit", "-o", out])
    _, ours = read(out)
    want = torch.softmax(torch.stack(logits).double().mean(0), 1).numpy()
    if np.max(np.abs(ours - want)) > 1e-5:
        failures.append("mean_logit differs from torch's softmax of the mean logits")

    out = os.path.join(work, "vote")
    s.run_ok([s.NNTRAIN, "ensemble", *ckpts, "--combine", "vote", "-o", out])
    rows_vote, ours = read(out)
    votes = np.stack([z.numpy().argmax(1) for z in logits])
    agree = votes[0] == votes[1]  # two of three agree: their class wins
    if not np.all(ours.argmax(1)[agree] == votes[0][agree]):
        failures.append("vote does not follow the majority")

    out = os.path.join(work, "np2")
    s.run_ok(s.MPIRUN + ["-np", "2", s.NNTRAIN, "ensemble", *ckpts, "-o", out])
    _, ours2 = read(out)
    if np.max(np.abs(ours2 - read(os.path.join(work, "mean_prob"))[1])) > 1e-6:
        failures.append("np=2 differs from np=1")

    if failures:
        sys.exit("FAIL:\n  " + "\n  ".join(failures))
    print("ok")


if __name__ == "__main__":
    main()

"""nntrain probe: on the logits layer, where the classes are linearly separable by the
model's own argmax, the probe is at least the model's accuracy minus one point; every probe
beats the majority class; the concatenation is probed; two ranks give the same numbers."""
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.environ["NN_SOURCE_DIR"], "tests", "ref"))
import studylib as s  # noqa: E402


def read_probe(path):
    with open(os.path.join(path, "probe.csv")) as f:
        return {row["layer"]: row for row in csv.DictReader(f)}


def main():
    work = s.workdir()
    ckpt = s.train(work, "a", epochs=6)
    x, y = s.test_inputs(os.path.join(work, "data.h5"))
    own = float(np.mean(s.torch_outputs(ckpt, x)["out"].argmax(1) == y))
    majority = np.bincount(y).max() / len(y)
    failures = []

    args = ["probe", ckpt, "--layers", "out,bn,h2.relu", "--concat", "h2.relu,side",
            "--epochs", "40", "--lr", "0.01", "--batch", "64"]
    one = os.path.join(work, "p1")
    stdout = s.run_ok([s.NNTRAIN, *args, "-o", one])
    print(stdout)
    rows = read_probe(one)
    expected = ["out", "bn", "h2.relu", "concat(h2.relu+side)"]
    if list(rows) != expected:
        failures.append(f"probe rows {list(rows)}, expected {expected}")
    else:
        logits = float(rows["out"]["eval_accuracy"])
        print(f"model {own:.4f}, probe on its logits {logits:.4f}, majority class {majority:.4f}")
        if logits < own - 0.01:
            failures.append(f"probe on the logits {logits:.4f} < model accuracy {own:.4f} - 1 pt")
        for name, row in rows.items():
            if float(row["eval_accuracy"]) < majority + 0.05:
                failures.append(f"{name}: {row['eval_accuracy']} is no better than the majority "
                                f"class ({majority:.3f})")
        if int(rows["concat(h2.relu+side)"]["features"]) != 24:
            failures.append("the concatenation of h2.relu and side should have 24 features")

    two = os.path.join(work, "p2")
    s.run_ok(s.MPIRUN + ["-np", "2", s.NNTRAIN, *args, "-o", two])
    rows2 = read_probe(two)
    for name in rows:
        for key in ("train_accuracy", "eval_accuracy"):
            if abs(float(rows[name][key]) - float(rows2.get(name, {}).get(key, "nan"))) > 1e-6:
                failures.append(f"{name} {key}: np=2 differs from np=1")
    if not os.path.getsize(os.path.join(one, "probe.svg")) > 1000:
        failures.append("no plot written")

    if failures:
        sys.exit("FAIL:\n  " + "\n  ".join(failures))
    print("ok")


if __name__ == "__main__":
    main()

"""Shared helpers for the PyTorch reference checks: write a model's weights and a batch to
HDF5, run nntrain's refdriver on them, read back outputs, gradients and updated weights,
and compare with what PyTorch computed."""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

torch.set_num_threads(1)
torch.manual_seed(0)


def run_driver(spec_yaml, x, y, params, state=None, x_lengths=None, y_lengths=None):
    """params/state: dict name ('layer/param') -> numpy array in PyTorch layout; x_lengths,
    y_lengths: optional per-row sequence lengths (the dataset arrays of the same names)."""
    driver = os.environ.get("REFDRIVER")
    if not driver:
        sys.exit("REFDRIVER is not set (run through ctest)")
    workdir = tempfile.mkdtemp(prefix="nnref-")
    spec_path = os.path.join(workdir, "spec.yaml")
    in_path = os.path.join(workdir, "in.h5")
    out_path = os.path.join(workdir, "out.h5")
    with open(spec_path, "w") as f:
        f.write(spec_yaml)
    with h5py.File(in_path, "w") as f:
        f["x"] = np.asarray(x, dtype=np.float32)
        f["y"] = np.asarray(y)
        if x_lengths is not None:
            f["x_lengths"] = np.asarray(x_lengths, dtype=np.int32)
        if y_lengths is not None:
            f["y_lengths"] = np.asarray(y_lengths, dtype=np.int32)
        for name, value in params.items():
            f["params/" + name] = np.asarray(value, dtype=np.float32)
        for name, value in (state or {}).items():
            f["state/" + name] = np.asarray(value, dtype=np.float32)
    result = subprocess.run([driver, spec_path, in_path, out_path], capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit("refdriver failed: " + result.stderr.strip())
    out = {}
    with h5py.File(out_path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
    return out


class Checker:
    """Collects comparisons; exits non-zero at the end if any failed."""

    def __init__(self, rtol):
        self.rtol = rtol
        self.failures = []
        self.count = 0

    def close(self, label, ours, theirs, rtol=None, atol=None, outliers=0.0, outlier_bound=0.0):
        """outliers: fraction of elements allowed to exceed the tolerance, each by at most
        outlier_bound. Adam-like optimizers normalize every gradient element, so an element
        whose gradient is at rounding-noise level (cancellation in the batch sum) moves by
        up to lr in a direction float rounding decides; such elements are few."""
        rtol = self.rtol if rtol is None else rtol
        ours = np.asarray(ours, dtype=np.float64).reshape(-1)
        theirs = np.asarray(theirs, dtype=np.float64).reshape(-1)
        self.count += 1
        if ours.shape != theirs.shape:
            self.failures.append(f"{label}: shape {ours.shape} vs {theirs.shape}")
            return
        scale = max(np.abs(theirs).max(), 1e-30)
        # Relative to the tensor's scale: elementwise relative error is meaningless for
        # entries that are zero up to rounding.
        atol = rtol * scale if atol is None else atol
        err = np.abs(ours - theirs)
        bad = err > atol + rtol * np.abs(theirs)
        if outliers > 0 and bad.mean() <= outliers and err.max() <= outlier_bound:
            return
        if bad.any():
            i = int(np.argmax(err - rtol * np.abs(theirs)))
            self.failures.append(f"{label}: element {i}: nntrain {ours[i]:.9g} vs torch "
                                 f"{theirs[i]:.9g} (max rel err {err.max() / scale:.3g}, "
                                 f"{int(bad.sum())} of {bad.size} elements)")

    def no_worse(self, label, ours, theirs, truth, unit, slack=1.5, floor_worst=0.0,
                 floor_share=0.0):
        """ours and theirs (torch in float32) against truth (torch in float64): ours may be
        off where float rounding decides (Adam moves an element whose gradient is rounding
        noise by up to lr, in a direction the rounding picks), but by no more than torch's
        own float32 run is, give or take `slack` times and 0.1 `unit` (the learning rate):
        its largest error, and its share of elements off by more than 0.1 unit. How lucky
        torch's rounding is depends on the CPU, so floor_worst (in units) and floor_share
        (a share of the elements, at least 2 of them) give fixed allowances beside it."""
        self.count += 1
        truth = np.asarray(truth, dtype=np.float64).reshape(-1)
        ours_err = np.abs(np.asarray(ours, dtype=np.float64).reshape(-1) - truth)
        theirs_err = np.abs(np.asarray(theirs, dtype=np.float64).reshape(-1) - truth)
        worst_ours, worst_theirs = ours_err.max() / unit, theirs_err.max() / unit
        off_ours = (ours_err > 0.1 * unit).mean()
        off_theirs = (theirs_err > 0.1 * unit).mean()
        share = max(floor_share, 2.0 / truth.size) if floor_share else 0.0
        if (worst_ours > max(slack * worst_theirs + 0.1, floor_worst) or
                off_ours > max(slack * off_theirs + 1e-3, share)):
            self.failures.append(
                f"{label}: off float64 by up to {worst_ours:.3g} lr ({100 * off_ours:.2f}% "
                f"of elements by > 0.1 lr); torch float32 by {worst_theirs:.3g} lr "
                f"({100 * off_theirs:.2f}%)")

    def covers(self, what, names, checked):
        """Every name of a catalogue (catalogue_names) has a check here: a new table row
        without its reference check fails."""
        self.count += 1
        missing = [n for n in names if n not in checked]
        if not names:
            self.failures.append(f"{what}: no names in --help-catalogue")
        elif missing:
            self.failures.append(f"{what}: no reference check for {', '.join(missing)}")

    def finish(self):
        for f in self.failures:
            print("FAIL", f)
        print(f"{self.count - len(self.failures)} passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)


def catalogue_rows(title):
    """(name, row text) of the `nntrain train --help-catalogue` section whose title starts
    with `title`, in table order (as tests/e2e/lib.sh's catalogue_names reads them)."""
    text = subprocess.run([os.environ["NNTRAIN"], "train", "--help-catalogue"], check=True,
                          capture_output=True, text=True).stdout
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith(title):
            inside = True
        elif line and not line.startswith(" "):
            inside = False
        elif inside and re.match(r"  [a-z0-9_]+( |$)", line):
            rows.append((line.split()[0], line))
    return rows


def catalogue_names(title):
    return [name for name, _ in catalogue_rows(title)]


def mentioned(names, specs):
    """The names that appear as words in any of the config specs."""
    text = " ".join(specs)
    return {n for n in names if re.search(rf"(?<![a-z0-9_]){n}(?![a-z0-9_])", text)}


def torch_params(module_by_layer):
    """{'layer': torch module} -> {'layer/weight': array, ...} for parameters."""
    params = {}
    for layer, module in module_by_layer.items():
        for pname, p in module.named_parameters(recurse=False):
            params[f"{layer}/{pname}"] = p.detach().numpy().copy()
    return params

"""Shared fixture of the study-command tests: a small labelled dataset written by h5py, a
model with a batchnorm and a concat layer trained on it by nntrain, the same model in
PyTorch, and NumPy references of CKA (the formulas of Kornblith et al. 2019 and Nguyen,
Raghu and Kornblith 2021, written from the papers on Gram matrices, independent of the
feature-space shortcut nntrain takes)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.nn as nn

NNTRAIN = os.environ.get("NNTRAIN")
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]

CONFIG = """data: {{path: {data}}}
model:
  input: [1, 8, 8]
  layers:
    - {{name: h1, type: dense, units: 32, activation: tanh}}
    - {{name: bn, type: batchnorm}}
    - {{name: h2, type: dense, units: 16, activation: relu}}
    - {{name: side, type: dense, units: 8, inputs: [input]}}
    - {{name: cat, type: concat, inputs: [h2, side]}}
    - {{name: out, type: dense, units: 4}}
train: {{epochs: {epochs}, batch_size: 32, loss: cross_entropy,
        optimizer: {{type: adam, lr: 0.01}}}}
seed: {seed}
"""


def make_dataset(path, seed=5, n_train=800, n_test=300):
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        for split, n in (("train", n_train), ("test", n_test)):
            x = rng.integers(0, 256, (n, 1, 8, 8), dtype=np.uint8)
            y = (x.reshape(n, -1)[:, :16].astype(np.int64).sum(1) * 4 // (16 * 256)) % 4
            f[f"{split}/x"] = x
            f[f"{split}/x"].attrs["scale"] = 1 / 255
            f[f"{split}/x"].attrs["offset"] = 0.0
            f[f"{split}/y"] = y.astype(np.int32)
        f.attrs["num_classes"] = 4


def train(work, name, seed=1, epochs=3, data=None):
    """Trains the fixture model; returns the checkpoint path."""
    if data is None:
        data = os.path.join(work, "data.h5")
        if not os.path.exists(data):
            make_dataset(data)
    cfg = os.path.join(work, name + ".yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(data=data, epochs=epochs, seed=seed))
    run = os.path.join(work, name)
    run_ok([NNTRAIN, "train", cfg, "--run-dir", run])
    return os.path.join(run, "last.h5")


def run_ok(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def workdir():
    if not NNTRAIN:
        sys.exit("NNTRAIN is not set (run through ctest)")
    return tempfile.mkdtemp(prefix="nnstudy-")


def test_inputs(data):
    with h5py.File(data, "r") as f:
        return f["test/x"][()].astype(np.float32) * np.float32(1 / 255), f["test/y"][()]


class TorchFixture(nn.Module):
    """The fixture model in PyTorch, loaded from a checkpoint; forward returns every layer's
    output by nntrain's layer names."""

    def __init__(self, ckpt):
        super().__init__()
        self.h1 = nn.Linear(64, 32)
        self.bn = nn.BatchNorm1d(32)
        self.h2 = nn.Linear(32, 16)
        self.side = nn.Linear(64, 8)
        self.out = nn.Linear(24, 4)
        with h5py.File(ckpt, "r") as f, torch.no_grad():
            for name in ("h1", "h2", "side", "out", "bn"):
                layer = getattr(self, name)
                layer.weight.copy_(torch.from_numpy(f[f"params/{name}/weight"][()]))
                layer.bias.copy_(torch.from_numpy(f[f"params/{name}/bias"][()]))
            self.bn.running_mean.copy_(torch.from_numpy(f["state/bn/running_mean"][()]))
            self.bn.running_var.copy_(torch.from_numpy(f["state/bn/running_var"][()]))
        self.eval()

    def forward(self, x):
        flat = x.reshape(len(x), -1)
        o = {"input": flat}
        o["h1"] = self.h1(flat)
        o["h1.tanh"] = torch.tanh(o["h1"])
        o["bn"] = self.bn(o["h1.tanh"])
        o["h2"] = self.h2(o["bn"])
        o["h2.relu"] = torch.relu(o["h2"])
        o["side"] = self.side(flat)
        o["cat"] = torch.cat([o["h2.relu"], o["side"]], 1)
        o["out"] = self.out(o["cat"])
        return o


LAYERS = ["h1", "h1.tanh", "bn", "h2", "h2.relu", "side", "cat", "out"]


def torch_outputs(ckpt, x):
    with torch.no_grad():
        return {k: v.numpy() for k, v in TorchFixture(ckpt)(torch.from_numpy(x)).items()}


def center_gram(k):
    n = len(k)
    h = np.eye(n) - np.ones((n, n)) / n
    return h @ k @ h


def gram_linear(x):
    x = x.astype(np.float64)
    return x @ x.T


def gram_rbf(x):
    g = gram_linear(x)
    norms = np.diag(g)
    d2 = np.maximum(norms[:, None] + norms[None, :] - 2 * g, 0)
    return np.exp(-d2 / (2 * np.median(d2)))


def cka(k, l):
    """CKA of two Gram matrices with the biased HSIC (the ICML 2019 paper's eq. 2)."""
    kc, lc = center_gram(k), center_gram(l)
    return np.sum(kc * lc) / np.sqrt(np.sum(kc * kc) * np.sum(lc * lc))


def hsic_unbiased(k, l):
    n = len(k)
    k = k.copy()
    l = l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(n)
    return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * (one @ k @ l @ one)) / (n * (n - 3))


def cka_minibatch(xs, ys, m, gram=gram_linear):
    """Minibatch CKA: the unbiased HSIC summed over consecutive batches of m rows."""
    kl = kk = ll = 0.0
    for first in range(0, len(xs) - m + 1, m):
        k, l = gram(xs[first:first + m]), gram(ys[first:first + m])
        kl += hsic_unbiased(k, l)
        kk += hsic_unbiased(k, k)
        ll += hsic_unbiased(l, l)
    return kl / np.sqrt(kk * ll)


def read_csv_matrix(path):
    with open(path) as f:
        lines = f.read().strip().split("\n")
    cols = lines[0].split(",")[1:]
    rows, values = [], []
    for line in lines[1:]:
        parts = line.split(",")
        rows.append(parts[0])
        values.append([float(v) for v in parts[1:]])
    return rows, cols, np.array(values)


def read_reps(path):
    with h5py.File(path, "r") as f:
        return {k: f["layers"][k][()] for k in f["layers"]}, f["labels"][()]

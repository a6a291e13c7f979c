"""h5py reads an nntrain checkpoint; a PyTorch model loaded from it predicts what
`nntrain predict` writes (same weights, same layouts, no transposes)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.environ["NN_SOURCE_DIR"], "tests", "ref"))
from reflib import Checker  # noqa: E402

NNTRAIN = os.environ["NNTRAIN"]


def main():
    work = tempfile.mkdtemp(prefix="nnckpt-")
    rng = np.random.default_rng(5)
    # A small dataset in the documented layout, written by h5py.
    data = os.path.join(work, "data.h5")
    with h5py.File(data, "w") as f:
        for split, n in (("train", 600), ("test", 200)):
            x = rng.integers(0, 256, (n, 1, 8, 8), dtype=np.uint8)
            y = (x.reshape(n, -1)[:, :16].astype(np.int64).sum(1) % 4)
            f[f"{split}/x"] = x
            f[f"{split}/x"].attrs["scale"] = 1 / 255
            f[f"{split}/x"].attrs["offset"] = 0.0
            f[f"{split}/y"] = y
        f.attrs["num_classes"] = 4
    cfg = os.path.join(work, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write(f"""data: {{path: {data}}}
model:
  input: [1, 8, 8]
  layers:
    - {{name: h1, type: dense, units: 32, activation: tanh}}
    - {{name: h2, type: dense, units: 16, activation: relu}}
    - {{name: out, type: dense, units: 4}}
train: {{epochs: 2, batch_size: 32, loss: cross_entropy, optimizer: {{type: adam, lr: 0.01}}}}
""")
    run = os.path.join(work, "run")
    subprocess.run([NNTRAIN, "train", cfg, "--run-dir", run], check=True, capture_output=True)
    preds = os.path.join(work, "preds.h5")
    subprocess.run([NNTRAIN, "predict", os.path.join(run, "last.h5"), "-o", preds], check=True,
                   capture_output=True)

    with h5py.File(os.path.join(run, "last.h5"), "r") as f:
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 16),
                              nn.ReLU(), nn.Linear(16, 4))
        with torch.no_grad():
            for index, name in ((1, "h1"), (3, "h2"), (5, "out")):
                model[index].weight.copy_(torch.from_numpy(f[f"params/{name}/weight"][()]))
                model[index].bias.copy_(torch.from_numpy(f[f"params/{name}/bias"][()]))
        meta = f["meta"]
        assert meta.attrs["epoch"] == 2, meta.attrs["epoch"]
        assert "h1" in meta["config"][()].decode()
        assert meta["history"].shape == (2, 8)
        for slot in ("exp_avg", "exp_avg_sq"):
            assert f[f"optim/h1/weight/{slot}"].shape == (32, 64)
    with h5py.File(data, "r") as f:
        x = f["test/x"][()].astype(np.float32) * np.float32(1 / 255)
    with torch.no_grad():
        ours_torch = model(torch.from_numpy(x)).numpy()
    with h5py.File(preds, "r") as f:
        outputs = f["outputs"][()]
        classes = f["classes"][()]
    check = Checker(rtol=1e-5)
    check.close("predictions", outputs, ours_torch)
    if not np.array_equal(classes, ours_torch.argmax(1)):
        check.failures.append("classes differ from torch's argmax")
    check.finish()


if __name__ == "__main__":
    main()

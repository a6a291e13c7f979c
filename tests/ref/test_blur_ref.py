"""augment.blur against PyTorch and NumPy: a gaussian of standard deviation sigma pixels,
radius ceil(3 sigma), normalized, zero outside the image, as torch conv2d with that kernel
and zero padding; a NumPy loop gives the same. Windows: outside [a, b) the batch comes back
unchanged, inside it is the blurred one."""
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.nn.functional as F

driver = os.path.join(os.environ.get("NN_BINARY_DIR", ""), "tests", "augdriver")
if not os.path.exists(driver):
    sys.exit("augdriver not found under NN_BINARY_DIR (run through ctest)")

rng = np.random.default_rng(3)
x = rng.uniform(-1, 2, size=(5, 2, 13, 11)).astype(np.float32)
work = tempfile.mkdtemp(prefix="nnblur-")
with h5py.File(os.path.join(work, "in.h5"), "w") as f:
    f["x"] = x


def run(yaml, epoch=0):
    out = os.path.join(work, "out.h5")
    r = subprocess.run([driver, yaml, os.path.join(work, "in.h5"), out, str(epoch), "1"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("augdriver failed: " + r.stderr.strip())
    with h5py.File(out, "r") as f:
        return f["x"][...]


def kernel(sigma):
    r = math.ceil(3 * sigma)
    k = np.exp(-np.arange(-r, r + 1, dtype=np.float64) ** 2 / (2 * sigma * sigma))
    return k / k.sum(), r


def torch_blur(x, sigma):
    k, r = kernel(sigma)
    k2 = torch.tensor(np.outer(k, k), dtype=torch.float64)[None, None]
    n, c, h, w = x.shape
    t = torch.tensor(x, dtype=torch.float64).reshape(n * c, 1, h, w)
    return F.conv2d(t, k2, padding=r).reshape(n, c, h, w).numpy()


def numpy_blur(x, sigma):
    k, r = kernel(sigma)
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * r, w + 2 * r))
    padded[:, :, r:r + h, r:r + w] = x
    out = np.zeros((n, c, h, w))
    for i in range(2 * r + 1):
        for j in range(2 * r + 1):
            out += k[i] * k[j] * padded[:, :, i:i + h, j:j + w]
    return out


worst = 0.0
for sigma in (0.3, 0.8, 1.0, 2.5):
    got = run("{blur: %g}" % sigma)
    want = torch_blur(x, sigma)
    err = np.abs(got - want).max()
    err_np = np.abs(numpy_blur(x, sigma) - want).max()
    worst = max(worst, err)
    print(f"sigma {sigma}: max |nntrain - torch| {err:.2e}, |numpy - torch| {err_np:.2e}")
    if not err < 1e-5 or not err_np < 1e-9:
        sys.exit(f"blur sigma {sigma} differs from the reference: {err:.3g}")
    if np.abs(got - x).max() < 1e-3:
        sys.exit("the blur changed nothing")

window = "{blur: {value: 1.0, epochs: [2, 4]}}"
for epoch in range(6):
    got = run(window, epoch)
    want = torch_blur(x, 1.0) if 2 <= epoch < 4 else x
    if not np.abs(got - want).max() < 1e-5:
        sys.exit(f"epoch {epoch}: the windowed blur is {'off' if 2 <= epoch < 4 else 'on'}")
print(f"blur: ok (worst difference {worst:.2e})")

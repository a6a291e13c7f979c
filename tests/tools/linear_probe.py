"""Linear probe of a dense autoencoder's bottleneck: the representation a checkpoint's
encoder layers compute (dense + relu each, in the order given) for the train and test
images of a Fashion-MNIST file, then a multinomial logistic regression (torch, L-BFGS) fitted
on the train representations and scored on the test ones. Also prints the test MSE of the
reconstructions `nntrain predict` wrote, when given.

    /usr/bin/python3 tests/tools/linear_probe.py CHECKPOINT.h5 DATA.h5 enc,code [RECON.h5]
"""
import sys

import h5py
import numpy as np
import torch


def encode(ckpt, layers, x):
    h = torch.tensor(x)
    with h5py.File(ckpt, "r") as f:
        for name in layers:
            w = torch.tensor(f[f"params/{name}/weight"][()])
            b = torch.tensor(f[f"params/{name}/bias"][()])
            h = torch.relu(h @ w.T + b)
    return h


def images(path, split):
    with h5py.File(path, "r") as f:
        x = f[split + "/x"][()].reshape(len(f[split + "/y"]), -1).astype(np.float32) / 255.0
        return x, f[split + "/y"][()].astype(np.int64)


def main():
    ckpt, data, layers = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    (xtr, ytr), (xte, yte) = images(data, "train"), images(data, "test")
    htr, hte = encode(ckpt, layers, xtr), encode(ckpt, layers, xte)
    mean, std = htr.mean(0), htr.std(0) + 1e-6
    htr, hte = (htr - mean) / std, (hte - mean) / std
    probe = torch.nn.Linear(htr.shape[1], 10)
    opt = torch.optim.LBFGS(probe.parameters(), max_iter=500, history_size=20,
                            line_search_fn="strong_wolfe")
    target = torch.tensor(ytr)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(probe(htr), target)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        acc = (probe(hte).argmax(1).numpy() == yte).mean()
    print(f"linear probe on {htr.shape[1]} features ({'+'.join(layers)}): test accuracy "
          f"{acc:.4f}")
    if len(sys.argv) > 4:
        with h5py.File(sys.argv[4], "r") as f:
            recon = f["outputs"][()]
        print(f"reconstruction test MSE {((recon - xte) ** 2).mean():.5f}")


if __name__ == "__main__":
    main()

"""The MLP of launch/configs/mlp.yaml (784-256-128-64-10, relu) against PyTorch with the
same weights: outputs, loss, input and parameter gradients, and weights after 10 SGD and
10 Adam steps, within 1e-5 relative."""
import numpy as np
import torch
import torch.nn as nn

from reflib import Checker, run_driver, torch_params

WIDTHS = [784, 256, 128, 64, 10]
BATCH = 32

MODEL = """model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 256, activation: relu}
    - {name: fc2, type: dense, units: 128, activation: relu}
    - {name: fc3, type: dense, units: 64, activation: relu}
    - {name: fc4, type: dense, units: 10}
loss: cross_entropy
"""


def build():
    torch.manual_seed(1)
    layers = {f"fc{i + 1}": nn.Linear(WIDTHS[i], WIDTHS[i + 1]) for i in range(4)}
    seq = nn.Sequential(nn.Flatten(), layers["fc1"], nn.ReLU(), layers["fc2"], nn.ReLU(),
                        layers["fc3"], nn.ReLU(), layers["fc4"])
    return seq, layers


def main():
    check = Checker(rtol=1e-5)
    rng = np.random.default_rng(3)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)

    for optimizer, steps in [("{type: sgd, lr: 0.05}", 10),
                             ("{type: adam, lr: 0.001}", 10)]:
        seq, layers = build()
        params = torch_params(layers)
        spec = MODEL + f"optimizer: {optimizer}\nsteps: {steps}\n"
        ours = run_driver(spec, x, y, params)

        xt = torch.tensor(x, requires_grad=True)
        yt = torch.tensor(y)
        out = seq(xt)
        loss = nn.functional.cross_entropy(out, yt)
        loss.backward()
        check.close("output", ours["output"], out.detach().numpy())
        check.close("loss", ours["loss"], loss.item())
        check.close("dinput", ours["dinput"], xt.grad.numpy())
        for name, module in layers.items():
            check.close(f"grad {name}.weight", ours[f"grad/{name}/weight"],
                        module.weight.grad.numpy())
            check.close(f"grad {name}.bias", ours[f"grad/{name}/bias"],
                        module.bias.grad.numpy())

        opt = (torch.optim.SGD(seq.parameters(), lr=0.05) if "sgd" in optimizer
               else torch.optim.Adam(seq.parameters(), lr=0.001))
        seq.zero_grad()
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(seq(torch.tensor(x)), yt).backward()
            opt.step()
        # Adam: see Checker.close on elements with near-zero gradients (5 in 10^4 allowed,
        # each off by at most one step's lr; a Zen 4 EPYC has 4 of fc2's 32768).
        loose = dict(outliers=5e-4, outlier_bound=0.001) if "adam" in optimizer else {}
        for name, module in layers.items():
            check.close(f"{optimizer} after {steps}: {name}.weight",
                        ours[f"after/{name}/weight"], module.weight.detach().numpy(), **loose)
            check.close(f"{optimizer} after {steps}: {name}.bias",
                        ours[f"after/{name}/bias"], module.bias.detach().numpy(), **loose)
    check.finish()


if __name__ == "__main__":
    main()

"""The residual + inception network of launch/configs/resnet-inception.yaml (its model
section, read from the file) against PyTorch with the same weights: forward output, loss,
input gradient and every parameter gradient within 1e-4 relative, then the weights after 5
Adam steps on the same batch, as close to PyTorch's float64 run as PyTorch's float32 run is
(or within the fixed allowance below).
A second network puts batchnorm in both a dense and a convolutional stack and checks weights
and running statistics after 5 Adam steps."""
import copy
import os
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reflib import Checker, run_driver, torch_params

warnings.filterwarnings("ignore", message="Using padding='same'")
BATCH = 16
STEPS = 5
LR = 0.001
# Adam divides each gradient element by its own magnitude, so an element whose gradient is
# tiny against the rest of its tensor (a sum over 16 x 784 products that nearly cancels)
# carries float rounding into a visible share of lr, and a max-pool window whose two
# largest inputs differ by a rounding routes its gradient either way. Measured against a
# float64 run: torch's float32 weights are off by up to 3.3 lr (inc_5x5), on up to 3% of a
# tensor's elements, on a Zen 5 EPYC, but by no more than 0.005 lr on a Zen 4 one; ours are
# off by up to 3.3 lr on either (on different elements: our products round differently), so
# the weights after the steps are compared with the float64 run, not with torch's float32
# one, and beside "no worse than torch" a fixed allowance holds: Adam moves an element by
# about lr a step at most, so two runs that round such an element differently end at most
# 2 x STEPS lr apart, and few elements do (at most 4% of a tensor). A wrong gradient or
# update moves most elements.
FLOOR_WORST = 2 * STEPS
FLOOR_SHARE = 0.04


class ResnetInception(nn.Module):
    def __init__(self):
        super().__init__()
        conv = lambda i, o, k: nn.Conv2d(i, o, k, padding="same")
        self.layers = {
            "res_conv1": conv(1, 64, 3), "res_conv2": conv(64, 64, 3),
            "res_proj": nn.Conv2d(1, 64, 1),
            "inc_1x1": nn.Conv2d(64, 32, 1), "inc_3x3_reduce": nn.Conv2d(64, 64, 1),
            "inc_3x3": conv(64, 64, 3), "inc_5x5_reduce": nn.Conv2d(64, 64, 1),
            "inc_5x5": conv(64, 64, 5), "inc_pool_proj": nn.Conv2d(64, 16, 1),
            "logits": nn.Linear(176, 10),
        }
        for name, module in self.layers.items():
            self.add_module(name, module)

    def forward(self, x):
        m = self.layers
        r = m["res_conv2"](F.relu(m["res_conv1"](x)))
        r = F.relu(r + m["res_proj"](x))
        p = F.max_pool2d(r, 2)
        b1 = F.relu(m["inc_1x1"](p))
        b2 = F.relu(m["inc_3x3"](F.relu(m["inc_3x3_reduce"](p))))
        b3 = F.relu(m["inc_5x5"](F.relu(m["inc_5x5_reduce"](p))))
        b4 = F.relu(m["inc_pool_proj"](F.max_pool2d(p, 3, 1, padding=1)))
        c = F.max_pool2d(torch.cat([b1, b2, b3, b4], 1), 2)
        return m["logits"](F.adaptive_avg_pool2d(c, 1).flatten(1))


class BatchnormNet(nn.Module):
    """conv (no bias) -> bn -> relu -> maxpool -> dense (no bias) -> bn -> relu -> dense."""

    def __init__(self):
        super().__init__()
        self.layers = {"c1": nn.Conv2d(1, 8, 3, padding="same", bias=False),
                       "bn1": nn.BatchNorm2d(8), "fc1": nn.Linear(8 * 7 * 7, 32, bias=False),
                       "bn2": nn.BatchNorm1d(32, momentum=0.2), "fc2": nn.Linear(32, 10)}
        for name, module in self.layers.items():
            self.add_module(name, module)

    def forward(self, x):
        m = self.layers
        h = F.max_pool2d(F.relu(m["bn1"](m["c1"](x))), 2)
        h = F.relu(m["bn2"](m["fc1"](h.flatten(1))))
        return m["fc2"](h)


BN_MODEL = """model:
  input: [1, 14, 14]
  layers:
    - {name: c1, type: conv2d, filters: 8, kernel: 3, padding: same, bias: false}
    - {name: bn1, type: batchnorm, activation: relu}
    - {type: maxpool, size: 2}
    - {name: fc1, type: dense, units: 32, bias: false}
    - {name: bn2, type: batchnorm, momentum: 0.2, activation: relu}
    - {name: fc2, type: dense, units: 10}
"""


def model_section(path):
    """The `model:` block of a config file, as text."""
    lines, inside = [], False
    with open(path) as f:
        for line in f:
            if line.startswith("model:"):
                inside = True
            elif inside and line.strip() and not line.startswith((" ", "#")):
                break
            if inside:
                lines.append(line)
    return "".join(lines)


def adam_steps_float64(net, x, y):
    """The weights after STEPS Adam steps of a float64 copy of net: the rounding-free
    reference (batchnorm's running statistics are updated too, as in the float32 run)."""
    exact = copy.deepcopy(net).double()
    opt = torch.optim.Adam(exact.parameters(), lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(exact(torch.tensor(x, dtype=torch.float64)), torch.tensor(y)).backward()
        opt.step()
    return {f"{name}/{pname}": p.detach().numpy()
            for name, module in exact.layers.items()
            for pname, p in module.named_parameters(recurse=False)}


def check_network(check, label, net, spec_model, x, y, with_state=False):
    params = torch_params(net.layers)
    state = {}
    if with_state:
        for name, module in net.layers.items():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                state[f"{name}/running_mean"] = module.running_mean.numpy().copy()
                state[f"{name}/running_var"] = module.running_var.numpy().copy()
    spec = (spec_model + f"loss: cross_entropy\noptimizer: {{type: adam, lr: {LR}}}\n"
            f"steps: {STEPS}\n")
    ours = run_driver(spec, x, y, params, state)
    exact = adam_steps_float64(net, x, y)

    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y)
    out = net(xt)
    loss = F.cross_entropy(out, yt)
    loss.backward()
    check.close(f"{label}: output", ours["output"], out.detach().numpy())
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    for name, module in net.layers.items():
        for pname, p in module.named_parameters(recurse=False):
            check.close(f"{label}: grad {name}.{pname}", ours[f"grad/{name}/{pname}"],
                        p.grad.numpy())

    # The driver's first pass above is step 1's forward/backward; torch does the same.
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    opt.step()
    for _ in range(STEPS - 1):
        opt.zero_grad()
        F.cross_entropy(net(torch.tensor(x)), yt).backward()
        opt.step()
    # refdriver runs one more forward after the last step (steps + 1 forwards in all);
    # batchnorm's running statistics see it too.
    with torch.no_grad():
        net(torch.tensor(x))
    for name, module in net.layers.items():
        for pname, p in module.named_parameters(recurse=False):
            check.no_worse(f"{label}: after {STEPS} adam steps: {name}.{pname}",
                           ours[f"after/{name}/{pname}"], p.detach().numpy(),
                           exact[f"{name}/{pname}"], unit=LR, floor_worst=FLOOR_WORST,
                           floor_share=FLOOR_SHARE)
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            for buf in ("running_mean", "running_var"):
                check.close(f"{label}: after {STEPS} steps: {name}.{buf}",
                            ours[f"after_state/{name}/{buf}"], getattr(module, buf).numpy())


def main():
    check = Checker(rtol=1e-4)
    rng = np.random.default_rng(5)
    source = os.environ.get("NN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    config = os.path.join(source, "launch", "configs", "resnet-inception.yaml")

    torch.manual_seed(2)
    net = ResnetInception()
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    check_network(check, "resnet-inception", net, model_section(config), x, y)

    torch.manual_seed(3)
    net = BatchnormNet()
    x = rng.standard_normal((BATCH, 1, 14, 14)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    check_network(check, "batchnorm net", net, BN_MODEL, x, y, with_state=True)
    check.finish()


if __name__ == "__main__":
    main()

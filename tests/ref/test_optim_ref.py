"""Every optimizer against PyTorch: 20 steps from the same weights on the same batch
(gradients recomputed every step, as a training loop does), for several settings of each
(weight decay, dampening, nesterov, amsgrad, centered RMSprop, Adagrad's lr_decay and
initial accumulator, L1, bias/norm exemption from decay, the defaults). The weights after
the 20 steps must agree within 1e-5 relative. PyTorch has no LARS and no moving-average
momentum: those are checked against the documented formulas, written out below with
PyTorch computing only the gradients."""
import numpy as np
import torch
import torch.nn as nn

from reflib import Checker, run_driver, torch_params

STEPS = 20
BATCH = 16

MODEL = """model:
  input: [6]
  layers:
    - {name: h, type: dense, units: 10, activation: tanh}
    - {name: out, type: dense, units: 3}
loss: cross_entropy
"""


def build():
    torch.manual_seed(5)
    layers = {"h": nn.Linear(6, 10), "out": nn.Linear(10, 3)}
    seq = nn.Sequential(layers["h"], nn.Tanh(), layers["out"])
    return seq, layers


def batch():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((BATCH, 6)).astype(np.float32)
    y = rng.integers(0, 3, BATCH).astype(np.int64)
    return x, y


def groups(layers, weight_decay, exempt):
    """torch param groups: with the exemption, biases get no weight decay."""
    if not exempt:
        return [{"params": [p for m in layers.values() for p in m.parameters()],
                 "weight_decay": weight_decay}]
    return [{"params": [m.weight for m in layers.values()], "weight_decay": weight_decay},
            {"params": [m.bias for m in layers.values()], "weight_decay": 0.0}]


def torch_run(layers, seq, x, y, make_opt, l1=0.0, exempt=False):
    opt = make_opt()
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(STEPS):
        opt.zero_grad()
        nn.functional.cross_entropy(seq(xt), yt).backward()
        if l1:
            # nntrain's l1 adds l1 * sign(w) to the gradient, like weight decay adds wd * w.
            for m in layers.values():
                for name, p in m.named_parameters():
                    if not (exempt and name == "bias"):
                        p.grad.add_(torch.sign(p.detach()), alpha=l1)
        opt.step()


def formula_run(layers, seq, x, y, update):
    """update(name, w, g, state) -> new w, in float64 numpy; gradients from PyTorch."""
    xt, yt = torch.tensor(x), torch.tensor(y)
    params = {f"{n}.{pn}": p for n, m in layers.items() for pn, p in m.named_parameters()}
    state = {name: {} for name in params}
    for _ in range(STEPS):
        seq.zero_grad()
        nn.functional.cross_entropy(seq(xt), yt).backward()
        with torch.no_grad():
            for name, p in params.items():
                w = p.detach().numpy().astype(np.float64)
                g = p.grad.numpy().astype(np.float64)
                p.copy_(torch.tensor(update(name, w, g, state[name]), dtype=torch.float32))


def ema_momentum(lr, m):
    def update(name, w, g, s):
        s["v"] = m * s.get("v", 0.0) + (1 - m) * g
        return w - lr * s["v"]
    return update


def lars(lr, m, trust, wd, eps=1e-8):
    """You et al. 2017: r = trust ||w|| / (||g|| + wd ||w|| + eps) for weight tensors, 1 for
    biases; v = m v + lr r (g + wd w); w -= v."""
    def update(name, w, g, s):
        r = 1.0
        if name.endswith("weight"):
            wn, gn = np.linalg.norm(w), np.linalg.norm(g)
            r = trust * wn / (gn + wd * wn + eps)
        s["v"] = m * s.get("v", 0.0) + lr * r * (g + wd * w)
        return w - s["v"]
    return update


O = torch.optim
# (nntrain optimizer, PyTorch optimizer from param groups or a formula, extra options)
CASES = [
    ("{type: sgd, lr: 0.1}", lambda g: O.SGD(g, lr=0.1), {}),
    ("{type: sgd, lr: 0.1, weight_decay: 0.05}", lambda g: O.SGD(g, lr=0.1), {"wd": 0.05}),
    ("{type: sgd, lr: 0.1, l1: 0.01}", lambda g: O.SGD(g, lr=0.1), {"l1": 0.01}),
    ("{type: sgd, lr: 0.1, weight_decay: 0.05, l1: 0.01, decay_exempt_bias_and_norm: true}",
     lambda g: O.SGD(g, lr=0.1), {"wd": 0.05, "l1": 0.01, "exempt": True}),
    ("{type: momentum, lr: 0.05}", lambda g: O.SGD(g, lr=0.05, momentum=0.9), {}),
    ("{type: momentum, lr: 0.05, momentum: 0.8, dampening: 0.3, weight_decay: 0.01}",
     lambda g: O.SGD(g, lr=0.05, momentum=0.8, dampening=0.3), {"wd": 0.01}),
    ("{type: nesterov, lr: 0.05}", lambda g: O.SGD(g, lr=0.05, momentum=0.9, nesterov=True), {}),
    ("{type: nesterov, lr: 0.03, momentum: 0.7, weight_decay: 0.02}",
     lambda g: O.SGD(g, lr=0.03, momentum=0.7, nesterov=True), {"wd": 0.02}),
    ("adam", lambda g: O.Adam(g), {}),
    ("{type: adam, lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1.0e-6}",
     lambda g: O.Adam(g, lr=0.01, betas=(0.8, 0.99), eps=1e-6), {}),
    ("{type: adam, lr: 0.01, amsgrad: true, weight_decay: 0.01}",
     lambda g: O.Adam(g, lr=0.01, amsgrad=True), {"wd": 0.01}),
    ("adamw", lambda g: O.AdamW(g), {"wd": 0.01}),
    ("{type: adamw, lr: 0.01, weight_decay: 0.1, amsgrad: true, decay_exempt_bias_and_norm: true}",
     lambda g: O.AdamW(g, lr=0.01, amsgrad=True), {"wd": 0.1, "exempt": True}),
    ("rmsprop", lambda g: O.RMSprop(g), {}),
    ("{type: rmsprop, lr: 0.005, alpha: 0.9, momentum: 0.5, weight_decay: 0.01}",
     lambda g: O.RMSprop(g, lr=0.005, alpha=0.9, momentum=0.5), {"wd": 0.01}),
    ("{type: rmsprop, lr: 0.005, centered: true}",
     lambda g: O.RMSprop(g, lr=0.005, centered=True), {}),
    ("{type: rmsprop, lr: 0.002, centered: true, momentum: 0.9, eps: 1.0e-6}",
     lambda g: O.RMSprop(g, lr=0.002, centered=True, momentum=0.9, eps=1e-6), {}),
    ("adagrad", lambda g: O.Adagrad(g), {}),
    ("{type: adagrad, lr: 0.1, lr_decay: 0.05, initial_accumulator_value: 0.1, weight_decay: 0.01}",
     lambda g: O.Adagrad(g, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1), {"wd": 0.01}),
    ("{type: momentum, lr: 0.1, momentum: 0.9, form: ema}", ema_momentum(0.1, 0.9), {}),
    ("{type: momentum, lr: 0.2, momentum: 0.5, form: ema}", ema_momentum(0.2, 0.5), {}),
    ("{type: lars, lr: 1.0, momentum: 0.9, trust: 0.01}", lars(1.0, 0.9, 0.01, 0.0), {}),
    ("{type: lars, lr: 2.0, momentum: 0.5, trust: 0.02, weight_decay: 0.01}",
     lars(2.0, 0.5, 0.02, 0.01), {}),
]


def main():
    check = Checker(rtol=1e-5)
    x, y = batch()
    for spec, reference, opts in CASES:
        seq, layers = build()
        ours = run_driver(MODEL + f"optimizer: {spec}\nsteps: {STEPS}\n", x, y,
                          torch_params(layers))
        if reference.__name__ == "update":
            formula_run(layers, seq, x, y, reference)
        else:
            param_groups = groups(layers, opts.get("wd", 0.0), opts.get("exempt", False))
            torch_run(layers, seq, x, y, lambda: reference(param_groups), opts.get("l1", 0.0),
                      opts.get("exempt", False))
        for name, module in layers.items():
            for pname in ("weight", "bias"):
                theirs = getattr(module, pname).detach().numpy()
                check.close(f"{spec}: {name}.{pname} after {STEPS} steps",
                            ours[f"after/{name}/{pname}"], theirs)
        # The comparison means something only if the weights moved well beyond the tolerance.
        start = torch_params(build()[1])
        change = max(float(np.abs(ours[f"after/{k}"] - v).max()) for k, v in start.items())
        if change < 1e-2:
            check.failures.append(f"{spec}: weights moved only {change:.3g} in {STEPS} steps")
    check.finish()


if __name__ == "__main__":
    main()

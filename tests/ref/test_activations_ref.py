"""Every activation PyTorch has, against PyTorch: dense -> activation -> dense with the same
weights, comparing outputs, loss, input and parameter gradients (prelu's slopes too) within
1e-5 relative; and each activation alone on chosen points including 0, +-30 and +-1e4,
compared elementwise with float64 PyTorch. rrelu is compared in evaluation mode (its
training slopes come from nntrain's own per-sample generator). The functions PyTorch lacks (isru, isrlu, sqnl,
bipolar_relu, binary_step) are checked against their formulas in
tests/unit/test_layers_catalogue.c."""
import numpy as np
import torch
import torch.nn as nn

from reflib import Checker, catalogue_names, catalogue_rows, mentioned, run_driver, torch_params

BATCH, IN, HIDDEN, OUT = 8, 6, 10, 3

# Checked against their formulas in tests/unit/test_layers_catalogue.c instead.
WITHOUT_TORCH = {"isru", "isrlu", "sqnl", "bipolar_relu", "binary_step"}

# (config spec, torch module factory)
ACTIVATIONS = [
    ("identity", lambda: nn.Identity()),
    ("sigmoid", lambda: nn.Sigmoid()),
    ("tanh", lambda: nn.Tanh()),
    ("arctan", lambda: Lambda(torch.atan)),
    ("relu", lambda: nn.ReLU()),
    ("leaky_relu", lambda: nn.LeakyReLU(0.01)),
    ("{type: leaky_relu, alpha: 0.2}", lambda: nn.LeakyReLU(0.2)),
    ("elu", lambda: nn.ELU()),
    ("{type: elu, alpha: 0.7}", lambda: nn.ELU(0.7)),
    ("selu", lambda: nn.SELU()),
    ("softsign", lambda: nn.Softsign()),
    ("softplus", lambda: nn.Softplus()),
    ("{type: softplus, beta: 2.5}", lambda: nn.Softplus(beta=2.5)),
    ("swish", lambda: nn.SiLU()),
    ("silu", lambda: nn.SiLU()),
    ("gelu", lambda: nn.GELU()),
    ("mish", lambda: nn.Mish()),
    ("hard_sigmoid", lambda: nn.Hardsigmoid()),
    ("softmax", lambda: nn.Softmax(dim=1)),
    ("log_softmax", lambda: nn.LogSoftmax(dim=1)),
    ("rrelu", lambda: nn.RReLU()),
    ("{type: rrelu, lower: 0.05, upper: 0.6}", lambda: nn.RReLU(0.05, 0.6)),
    ("prelu", lambda: nn.PReLU(HIDDEN, init=0.25)),
    ("{type: prelu, shared: true}", lambda: nn.PReLU(1, init=0.25)),
    # Formulas: the derivatives come from the formula, the learned parameter's too.
    ('{type: formula, formula: "x > 0 ? x : a * (exp(x) - 1)", params: {a: 0.5}}',
     lambda: nn.ELU(0.5)),
    ('{type: formula, formula: "x * sigmoid(beta * x)", params: {beta: 1.5}, learn: [beta]}',
     lambda: LearnedSwish(1.5)),
    ('{type: formula, formula: "x * sigmoid(beta * x)", params: {beta: 1.5}, learn: [beta], '
     'per_channel: true}', lambda: LearnedSwish(1.5, HIDDEN)),
]


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class LearnedSwish(nn.Module):
    """x sigmoid(beta x) with beta learned, one per layer or one per feature."""

    def __init__(self, beta, features=1):
        super().__init__()
        self.features = features
        self.beta = nn.Parameter(torch.full((features,), beta))

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


def spec_name(spec):
    return spec.split(",")[0].replace("{type: ", "").strip("{} ")


def compare(check, label, ours, out, loss, xt, modules):
    check.close(f"{label}: output", ours["output"], out.detach().numpy())
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    for name, module in modules.items():
        for pname, p in module.named_parameters(recurse=False):
            check.close(f"{label}: grad {name}.{pname}", ours[f"grad/{name}/{pname}"],
                        p.grad.numpy())


def check_in_mlp(check, rng, spec, make):
    """dense -> activation -> dense; the first layer's output spreads over about [-6, 6]."""
    torch.manual_seed(2)
    fc1, fc2 = nn.Linear(IN, HIDDEN), nn.Linear(HIDDEN, OUT)
    with torch.no_grad():
        fc1.weight.mul_(4.0)
    act = make()
    act.eval()  # rrelu: the mean slope
    modules = {"fc1": fc1, "fc2": fc2}
    act_name = "fc1." + spec_name(spec)
    if isinstance(act, nn.PReLU):
        with torch.no_grad():  # distinct slopes, so a per-channel mix-up shows
            act.weight.copy_(torch.linspace(0.05, 0.5, act.weight.numel()))
    if list(act.parameters()):
        modules[act_name] = act
    x = rng.standard_normal((BATCH, IN)).astype(np.float32)
    y = rng.standard_normal((BATCH, OUT)).astype(np.float32)
    spec_yaml = (f"model:\n  input: [{IN}]\n  layers:\n"
                 f"    - {{name: fc1, type: dense, units: {HIDDEN}, activation: {spec}}}\n"
                 f"    - {{name: fc2, type: dense, units: {OUT}}}\n"
                 "loss: mse\ntraining: 0\n")
    ours = run_driver(spec_yaml, x, y, torch_params(modules))
    xt = torch.tensor(x, requires_grad=True)
    out = fc2(act(fc1(xt)))
    loss = nn.functional.mse_loss(out, torch.tensor(y))
    loss.backward()
    compare(check, spec, ours, out, loss, xt, modules)


EDGES = np.array([0.0, -0.0, 0.25, -0.25, 1.0, -1.0, 2.9, -2.9, 3.0, -3.0, 30.0, -30.0,
                  1e4, -1e4, 5.0, -5.0], dtype=np.float32)


def check_on_points(check, spec, make):
    """The activation alone on the edge points, against PyTorch in float64 (float32 PyTorch
    itself loses digits there, e.g. softsign's composite gradient at 1e4 or elu's at -30),
    elementwise within 1e-5 relative."""
    act = make()
    act.eval()
    n = EDGES.size
    params = {}
    if isinstance(act, nn.PReLU):
        act = nn.PReLU(n if act.weight.numel() > 1 else 1, init=0.25)
        params = torch_params({"a": act})
    elif list(act.parameters()):
        if getattr(act, "features", 1) > 1:  # one per point
            act = LearnedSwish(1.5, n)
        params = torch_params({"a": act})
    act = act.double()
    x = np.stack([EDGES, EDGES[::-1]]).astype(np.float32)
    y = np.full((2, n), 0.5, dtype=np.float32)
    layer = spec if spec.startswith("{") else "{type: " + spec + "}"
    layer = layer.replace("{type:", "{name: a, type:", 1)
    spec_yaml = f"model:\n  input: [{n}]\n  layers:\n    - {layer}\nloss: mse\ntraining: 0\n"
    ours = run_driver(spec_yaml, x, y, params)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = act(xt)
    loss = nn.functional.mse_loss(out, torch.tensor(y, dtype=torch.float64))
    loss.backward()
    for key, value in [("output", out.detach().numpy()), ("dinput", xt.grad.numpy())]:
        mine = ours[key]
        if not np.all(np.isfinite(mine)):
            check.failures.append(f"{spec} at edges: {key} not finite: {mine}")
        # Elementwise, down to 1e-12 of the largest value: below that, float64 PyTorch's
        # own formulas lose digits (sigmoid's y (1 - y) and tanh's 1 - y^2 at x = 30) and
        # float underflows (gelu(-30) ~ 1e-197); tests/unit checks those tails.
        check.close(f"{spec} at edges: {key}", mine, value,
                    atol=1e-12 * max(np.abs(value).max(), 1e-30))
    check.close(f"{spec} at edges: loss", ours["loss"], loss.item())


def check_prelu_channels(check, rng):
    """prelu on an image: one slope per channel (dim 1 of N x C x H x W in torch)."""
    torch.manual_seed(4)
    act, fc = nn.PReLU(3), nn.Linear(3 * 4 * 4, 2)
    with torch.no_grad():
        act.weight.copy_(torch.tensor([0.1, -0.3, 0.7]))
    modules = {"p": act, "fc": fc}
    x = rng.standard_normal((BATCH, 3, 4, 4)).astype(np.float32)
    y = rng.integers(0, 2, BATCH).astype(np.int64)
    spec_yaml = ("model:\n  input: [3, 4, 4]\n  layers:\n"
                 "    - {name: p, type: prelu}\n    - {name: fc, type: dense, units: 2}\n"
                 "loss: cross_entropy\n")
    ours = run_driver(spec_yaml, x, y, torch_params(modules))
    xt = torch.tensor(x, requires_grad=True)
    out = fc(act(xt).flatten(1))
    loss = nn.functional.cross_entropy(out, torch.tensor(y))
    loss.backward()
    compare(check, "prelu per channel", ours, out, loss, xt, modules)


def main():
    check = Checker(rtol=1e-5)
    rng = np.random.default_rng(11)
    for spec, make in ACTIVATIONS:
        check_in_mlp(check, rng, spec, make)
        check_on_points(check, spec, make)
    check_prelu_channels(check, rng)
    names = catalogue_names("activations") + [
        name for name, row in catalogue_rows("layer types")
        if row.endswith("also as a layer's activation:")]
    check.covers("activations", names,
                 mentioned(names, [spec for spec, _ in ACTIVATIONS]) | WITHOUT_TORCH)
    check.finish()


if __name__ == "__main__":
    main()

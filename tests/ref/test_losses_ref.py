"""Every loss PyTorch has, against torch.nn.functional with reduction='mean' ('batchmean' for
kl_div): a dense layer (with the head activation the loss expects: sigmoid for bce,
log_softmax for nll and kl_div, softplus for rates and variances) and the loss, comparing
outputs, loss, input and parameter gradients within 1e-5 relative. Also weighted sums of
terms, L1/L2 penalties (including three SGD steps with them), gaussian_nll with variances
at and below its eps clamp, and class weights, whose documented mean is the weighted sum
divided by the batch size (torch's reduction='sum' / N for hard labels; exactly torch's
'mean' for target distributions)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reflib import Checker, catalogue_names, mentioned, run_driver, torch_params

N, IN, C, T = 12, 7, 5, 3
W = [1.0, 2.0, 0.5, 3.0, 0.25]
rng = np.random.default_rng(21)


def targets(kind, width):
    if kind == "labels":
        return rng.integers(0, width, N).astype(np.int64)
    if kind == "labels01":
        return rng.integers(0, 2, N).astype(np.int64)
    if kind in ("soft", "soft0"):
        p = rng.random((N, width)).astype(np.float32) + 0.05
        if kind == "soft0":
            p[rng.random((N, width)) < 0.3] = 0
            p[:, 0] += 0.1  # no row all zero
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    if kind == "logsoft":
        return np.log(targets("soft", width)).astype(np.float32)
    if kind == "unit":
        return rng.random((N, width)).astype(np.float32)
    if kind == "binary":
        return rng.integers(0, 2, (N, width)).astype(np.float32)
    if kind == "counts":
        return rng.integers(0, 7, (N, width)).astype(np.float32)
    return rng.standard_normal((N, width)).astype(np.float32)  # real


def onehot(y, width):
    return F.one_hot(torch.tensor(y), width).float()


HEADS = {
    None: lambda z: z,
    "sigmoid": torch.sigmoid,
    "log_softmax": lambda z: F.log_softmax(z, dim=1),
    "softplus": F.softplus,
}

t_ = torch.tensor
# (loss yaml, head activation, target kind, output width, torch loss of (out, y tensor, y))
CASES = [
    ("cross_entropy", None, "labels", C, lambda o, y, yn: F.cross_entropy(o, y)),
    ("{type: cross_entropy, label_smoothing: 0.1}", None, "labels", C,
     lambda o, y, yn: F.cross_entropy(o, y, label_smoothing=0.1)),
    ("cross_entropy", None, "soft", C, lambda o, y, yn: F.cross_entropy(o, y)),
    ("{type: cross_entropy, label_smoothing: 0.2}", None, "soft", C,
     lambda o, y, yn: F.cross_entropy(o, y, label_smoothing=0.2)),
    (f"{{type: cross_entropy, class_weights: {W}}}", None, "soft", C,
     lambda o, y, yn: F.cross_entropy(o, y, weight=t_(W))),
    (f"{{type: cross_entropy, class_weights: {W}}}", None, "labels", C,
     lambda o, y, yn: F.cross_entropy(o, y, weight=t_(W), reduction="sum") / N),
    (f"{{type: cross_entropy, class_weights: {W}, label_smoothing: 0.1}}", None, "labels", C,
     lambda o, y, yn: F.cross_entropy(o, y, weight=t_(W), label_smoothing=0.1,
                                      reduction="sum") / N),
    ("nll", "log_softmax", "labels", C, lambda o, y, yn: F.nll_loss(o, y)),
    (f"{{type: nll, class_weights: {W}}}", "log_softmax", "labels", C,
     lambda o, y, yn: F.nll_loss(o, y, weight=t_(W), reduction="sum") / N),
    ("bce", "sigmoid", "unit", C, lambda o, y, yn: F.binary_cross_entropy(o, y)),
    ("bce", "sigmoid", "labels01", 1,
     lambda o, y, yn: F.binary_cross_entropy(o[:, 0], y.float())),
    ("bce_with_logits", None, "unit", C,
     lambda o, y, yn: F.binary_cross_entropy_with_logits(o, y)),
    ("bce_with_logits", None, "labels", C,
     lambda o, y, yn: F.binary_cross_entropy_with_logits(o, onehot(yn, C))),
    ("bce_with_logits", None, "labels01", 1,
     lambda o, y, yn: F.binary_cross_entropy_with_logits(o[:, 0], y.float())),
    ("{type: bce_with_logits, pos_weight: [0.5, 1, 2, 3, 0]}", None, "binary", C,
     lambda o, y, yn: F.binary_cross_entropy_with_logits(
         o, y, pos_weight=t_([0.5, 1, 2, 3, 0]))),
    ("{type: bce_with_logits, pos_weight: 2.5}", None, "unit", C,
     lambda o, y, yn: F.binary_cross_entropy_with_logits(o, y, pos_weight=t_([2.5]))),
    ("mse", None, "real", C, lambda o, y, yn: F.mse_loss(o, y)),
    ("mse", None, "labels", C, lambda o, y, yn: F.mse_loss(o, onehot(yn, C))),
    ("l1", None, "real", C, lambda o, y, yn: F.l1_loss(o, y)),
    ("huber", None, "real", C, lambda o, y, yn: F.huber_loss(o, y)),
    ("{type: huber, delta: 0.5}", None, "real", C,
     lambda o, y, yn: F.huber_loss(o, y, delta=0.5)),
    ("smooth_l1", None, "real", C, lambda o, y, yn: F.smooth_l1_loss(o, y)),
    ("{type: smooth_l1, beta: 0.5}", None, "real", C,
     lambda o, y, yn: F.smooth_l1_loss(o, y, beta=0.5)),
    ("kl_div", "log_softmax", "soft0", C,
     lambda o, y, yn: F.kl_div(o, y, reduction="batchmean")),
    ("kl_div", "log_softmax", "labels", C,
     lambda o, y, yn: F.kl_div(o, onehot(yn, C), reduction="batchmean")),
    ("{type: kl_div, log_target: true}", "log_softmax", "logsoft", C,
     lambda o, y, yn: F.kl_div(o, y, reduction="batchmean", log_target=True)),
    ("poisson_nll", None, "counts", C, lambda o, y, yn: F.poisson_nll_loss(o, y)),
    ("{type: poisson_nll, full: true}", None, "counts", C,
     lambda o, y, yn: F.poisson_nll_loss(o, y, full=True)),
    ("{type: poisson_nll, log_input: false}", "softplus", "counts", C,
     lambda o, y, yn: F.poisson_nll_loss(o, y, log_input=False)),
    ("{type: poisson_nll, log_input: false, full: true, eps: 0.001}", "softplus", "counts", C,
     lambda o, y, yn: F.poisson_nll_loss(o, y, log_input=False, full=True, eps=0.001)),
    ("gaussian_nll", "softplus", "real", 2 * T,
     lambda o, y, yn: F.gaussian_nll_loss(o[:, :T], y, o[:, T:])),
    ("{type: gaussian_nll, full: true, eps: 0.01}", "softplus", "real", 2 * T,
     lambda o, y, yn: F.gaussian_nll_loss(o[:, :T], y, o[:, T:], full=True, eps=0.01)),
    ("[{type: cross_entropy}, {type: mse, weight: 0.1}]", None, "labels", C,
     lambda o, y, yn: F.cross_entropy(o, y) + 0.1 * F.mse_loss(o, onehot(yn, C))),
    ("[{type: bce_with_logits, weight: 0.5}, {type: huber, delta: 0.3, weight: 2}]", None,
     "unit", C, lambda o, y, yn: 0.5 * F.binary_cross_entropy_with_logits(o, y)
     + 2 * F.huber_loss(o, y, delta=0.3)),
    # Formulas: a penalized mse, cross-entropy with an entropy penalty (p and logp), huber.
    ('{type: formula, per_output: "(y - t)^2 + 0.1 * abs(y - t)"}', None, "real", T,
     lambda o, y, yn: ((o - y) ** 2 + 0.1 * (o - y).abs()).mean()),
    ('{type: formula, per_output: "-t * logp + 0.2 * p * logp", reduce: sum}', None, "labels",
     C, lambda o, y, yn: (-(onehot(yn, C) * F.log_softmax(o, 1))
                          + 0.2 * F.softmax(o, 1) * F.log_softmax(o, 1)).sum(1).mean()),
    ('{type: formula, per_output: "where(abs(y - t) < d, 0.5 * (y - t)^2, d * (abs(y - t) - '
     '0.5 * d))", params: {d: 0.6}}', None, "real", T,
     lambda o, y, yn: F.huber_loss(o, y, delta=0.6)),
]


def run_case(check, loss_yaml, head, kind, width, torch_loss):
    target_width = T if "gaussian" in loss_yaml else width
    y = targets(kind, C if kind == "labels" else target_width)
    x = rng.standard_normal((N, IN)).astype(np.float32)
    torch.manual_seed(5)
    fc = nn.Linear(IN, width)
    with torch.no_grad():
        fc.weight.mul_(2.0)
    activation = f", activation: {head}" if head else ""
    spec = (f"model:\n  input: [{IN}]\n  layers:\n"
            f"    - {{name: fc, type: dense, units: {width}{activation}}}\n"
            f"loss: {loss_yaml}\n")
    ours = run_driver(spec, x, y, torch_params({"fc": fc}))
    xt = torch.tensor(x, requires_grad=True)
    out = HEADS[head](fc(xt))
    loss = torch_loss(out, torch.tensor(y), y)
    loss.backward()
    label = f"{loss_yaml} [{kind}]"
    check.close(f"{label}: output", ours["output"], out.detach().numpy())
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    check.close(f"{label}: grad weight", ours["grad/fc/weight"], fc.weight.grad.numpy())
    check.close(f"{label}: grad bias", ours["grad/fc/bias"], fc.bias.grad.numpy())


def gaussian_at_clamp(check):
    """Variances at 0, below and above eps: clamped values, gradients passing through."""
    means = rng.standard_normal((4, T)).astype(np.float32)
    var = np.array([[0, 1e-7, 1e-6], [2e-6, 0.5, 0], [1e-9, 3.0, 1e-5], [0.1, 0.2, 0.3]],
                   dtype=np.float32)
    x = np.concatenate([means, var], axis=1)
    y = rng.standard_normal((4, T)).astype(np.float32) * 1e-3
    spec = f"model:\n  input: [{2 * T}]\n  layers:\n    - {{type: identity}}\nloss: gaussian_nll\n"
    ours = run_driver(spec, x, y, {})
    xt = torch.tensor(x, requires_grad=True)
    loss = F.gaussian_nll_loss(xt[:, :T], torch.tensor(y), xt[:, T:])
    loss.backward()
    check.close("gaussian_nll at eps: loss", ours["loss"], loss.item())
    check.close("gaussian_nll at eps: dinput", ours["dinput"], xt.grad.numpy())


def penalties(check, include_bias):
    """cross_entropy + l2_penalty + l1_penalty on two dense layers: loss, gradients, and the
    weights after three SGD steps."""
    torch.manual_seed(6)
    fc1, fc2 = nn.Linear(IN, 8), nn.Linear(8, C)
    params = torch_params({"fc1": fc1, "fc2": fc2})
    x = rng.standard_normal((N, IN)).astype(np.float32)
    y = targets("labels", C)
    bias = ", include_bias: true" if include_bias else ""
    spec = (f"model:\n  input: [{IN}]\n  layers:\n"
            "    - {name: fc1, type: dense, units: 8, activation: tanh}\n"
            f"    - {{name: fc2, type: dense, units: {C}}}\n"
            f"loss: [{{type: cross_entropy}}, {{type: l2_penalty, weight: 0.01{bias}}},"
            f" {{type: l1_penalty, weight: 0.002{bias}}}]\n"
            "optimizer: {type: sgd, lr: 0.1}\nsteps: 3\n")
    ours = run_driver(spec, x, y, params)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y)
    model = nn.Sequential(fc1, nn.Tanh(), fc2)

    def objective(inp):
        penalized = [p for n, p in model.named_parameters() if include_bias or "weight" in n]
        return (F.cross_entropy(model(inp), yt)
                + 0.01 * sum((p * p).sum() for p in penalized)
                + 0.002 * sum(p.abs().sum() for p in penalized))

    loss = objective(xt)
    loss.backward()
    label = f"penalties (include_bias={include_bias})"
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    for name, module in (("fc1", fc1), ("fc2", fc2)):
        check.close(f"{label}: grad {name}.weight", ours[f"grad/{name}/weight"],
                    module.weight.grad.numpy())
        check.close(f"{label}: grad {name}.bias", ours[f"grad/{name}/bias"],
                    module.bias.grad.numpy())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.zero_grad()
    for _ in range(3):
        opt.zero_grad()
        objective(torch.tensor(x)).backward()
        opt.step()
    for name, module in (("fc1", fc1), ("fc2", fc2)):
        check.close(f"{label}: after 3 steps {name}.weight", ours[f"after/{name}/weight"],
                    module.weight.detach().numpy())
        check.close(f"{label}: after 3 steps {name}.bias", ours[f"after/{name}/bias"],
                    module.bias.detach().numpy())


def main():
    check = Checker(rtol=1e-5)
    for case in CASES:
        run_case(check, *case)
    gaussian_at_clamp(check)
    penalties(check, include_bias=False)
    penalties(check, include_bias=True)
    losses = catalogue_names("losses")
    check.covers("losses", losses,
                 mentioned(losses, [case[0] for case in CASES] + ["l1_penalty l2_penalty",
                                                                  "ctc"]))  # test_ctc_ref.py
    check.finish()


if __name__ == "__main__":
    main()

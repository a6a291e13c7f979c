"""train.precision: bf16 against PyTorch: one dense layer (and a two-layer MLP) run by
nntrain's engine with bf16 products, and by torch under torch.autocast('cpu',
dtype=torch.bfloat16) with the same weights. The output, the input gradient and the
parameter gradients agree within bf16 tolerance (torch also rounds the layer's output and its
gradient to bf16: 2^-8 of each tensor's scale); the output also matches a float64 product of
the bf16-rounded input and weights within float accumulation error (1e-5 of the scale), which
nntrain's fp32 products do not (so the test fails if bf16 is not in use)."""
import numpy as np
import torch
import torch.nn as nn

from reflib import Checker, run_driver, torch_params

BATCH = 32
IN, OUT = 300, 70


def spec(layers, precision):
    return f"""model:
  input: [{IN}]
  layers:
{layers}
loss: cross_entropy
precision: {precision}
"""


def bf16_rounded(a):
    return torch.tensor(a).to(torch.bfloat16).to(torch.float64).numpy()


def main():
    check = Checker(rtol=2.0 ** -8)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((BATCH, IN)).astype(np.float32)
    y = rng.integers(0, OUT, BATCH).astype(np.int64)

    torch.manual_seed(2)
    fc = nn.Linear(IN, OUT)
    layers = {"fc": fc}
    params = torch_params(layers)
    one = "    - {name: fc, type: dense, units: %d}" % OUT
    ours = run_driver(spec(one, "bf16"), x, y, params)
    ours32 = run_driver(spec(one, "fp32"), x, y, params)

    xt = torch.tensor(x, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fc(xt)
    assert out.dtype == torch.bfloat16, "autocast did not run the product in bf16"
    loss = nn.functional.cross_entropy(out.float(), torch.tensor(y))
    loss.backward()
    check.close("dense output vs autocast", ours["output"], out.float().detach().numpy())
    check.close("dense loss vs autocast", ours["loss"], loss.item())
    check.close("dense dinput vs autocast", ours["dinput"], xt.grad.numpy())
    check.close("dense grad weight vs autocast", ours["grad/fc/weight"], fc.weight.grad.numpy())
    check.close("dense grad bias vs autocast", ours["grad/fc/bias"], fc.bias.grad.numpy())

    # The exact product of the rounded factors: bf16 products are within float summation
    # error of it, fp32 products of the unrounded factors are not.
    exact = bf16_rounded(x) @ bf16_rounded(params["fc/weight"]).T + params["fc/bias"]
    check.close("dense output vs float64 of bf16 inputs", ours["output"], exact, rtol=1e-5)
    scale = np.abs(exact).max()
    if np.abs(ours32["output"] - exact).max() <= 1e-5 * scale:
        check.failures.append("fp32 products match the bf16-rounded reference: the check "
                              "cannot tell the precisions apart")

    # Two layers with relu between: the gradient flows through a bf16 input-gradient product.
    torch.manual_seed(3)
    mlp = {"h": nn.Linear(IN, 128), "o": nn.Linear(128, OUT)}
    two = ("    - {name: h, type: dense, units: 128, activation: relu}\n"
           "    - {name: o, type: dense, units: %d}" % OUT)
    ours = run_driver(spec(two, "bf16"), x, y, torch_params(mlp))
    xt = torch.tensor(x, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = mlp["o"](torch.relu(mlp["h"](xt)))
    loss = nn.functional.cross_entropy(out.float(), torch.tensor(y))
    loss.backward()
    # Two bf16 roundings of the hidden layer (torch rounds its output, both round it as the
    # next product's input): twice the tolerance.
    check.close("mlp output vs autocast", ours["output"], out.float().detach().numpy(),
                rtol=2.0 ** -7)
    check.close("mlp dinput vs autocast", ours["dinput"], xt.grad.numpy(), rtol=2.0 ** -7)
    for name, module in mlp.items():
        check.close(f"mlp grad {name}.weight vs autocast", ours[f"grad/{name}/weight"],
                    module.weight.grad.numpy(), rtol=2.0 ** -7)
    check.finish()


if __name__ == "__main__":
    main()

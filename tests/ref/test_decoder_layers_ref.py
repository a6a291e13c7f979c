"""The decoder layers against PyTorch with the same weights: conv2d_transpose as
nn.ConvTranspose2d (strides, padding, output_padding, dilation, non-square kernels, no bias)
and upsample as nn.Upsample (nearest; bilinear with and without align_corners; unequal
factors). Each case compares the forward output, the loss (mse against random targets), the
input gradient and every parameter gradient, within 1e-5 relative to each tensor's scale."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reflib import Checker, run_driver

BATCH = 3


def run_case(check, label, layer_yaml, module, in_shape, params=None, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH,) + tuple(in_shape)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    flat = module(xt).reshape(BATCH, -1)
    y = rng.standard_normal(flat.shape).astype(np.float32)
    loss = F.mse_loss(flat, torch.tensor(y))
    loss.backward()
    spec = (f"model:\n  input: {list(in_shape)}\n  layers:\n    - {layer_yaml}\n"
            f"loss: mse\ntraining: 1\n")
    ours = run_driver(spec, x, y, params or {})
    check.close(f"{label}: output", ours["output"], flat.detach().numpy())
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    return ours


def transpose_case(check, label, spec, in_shape, out_c, kernel, stride=1, padding=0,
                   output_padding=0, dilation=1, bias=True):
    conv = nn.ConvTranspose2d(in_shape[0], out_c, kernel, stride=stride, padding=padding,
                              output_padding=output_padding, dilation=dilation, bias=bias)
    params = {"t/weight": conv.weight.detach().numpy().copy()}
    if bias:
        params["t/bias"] = conv.bias.detach().numpy().copy()
    ours = run_case(check, label, "{name: t, type: conv2d_transpose, " + spec + "}", conv,
                    in_shape, params)
    check.close(f"{label}: weight grad", ours["grad/t/weight"], conv.weight.grad.numpy())
    if bias:
        check.close(f"{label}: bias grad", ours["grad/t/bias"], conv.bias.grad.numpy())


def transpose_cases(check):
    torch.manual_seed(1)
    transpose_case(check, "convT 3x3", "filters: 4, kernel: 3", (3, 5, 6), 4, 3)
    transpose_case(check, "convT 2x2 stride 2", "filters: 8, kernel: 2, stride: 2", (6, 7, 7),
                   8, 2, stride=2)
    transpose_case(check, "convT 3x3 stride 2 pad 1 out_pad 1",
                   "filters: 5, kernel: 3, stride: 2, padding: 1, output_padding: 1",
                   (4, 7, 7), 5, 3, stride=2, padding=1, output_padding=1)
    transpose_case(check, "convT [2, 3] stride [3, 1] pad [1, 0] out_pad [2, 0]",
                   "filters: 3, kernel: [2, 3], stride: [3, 1], padding: [1, 0], "
                   "output_padding: [2, 0]", (2, 4, 5), 3, (2, 3), stride=(3, 1),
                   padding=(1, 0), output_padding=(2, 0))
    transpose_case(check, "convT dilation 2", "filters: 3, kernel: 3, dilation: 2, padding: 1",
                   (3, 5, 5), 3, 3, dilation=2, padding=1)
    transpose_case(check, "convT 4x4 stride 2 pad 1 no bias",
                   "filters: 2, kernel: 4, stride: 2, padding: 1, bias: false", (5, 6, 4), 2, 4,
                   stride=2, padding=1, bias=False)
    transpose_case(check, "convT 1x1 to 1 channel", "filters: 1, kernel: 1", (16, 7, 7), 1, 1)


def upsample_cases(check):
    shape = (3, 5, 4)
    cases = [
        ("upsample nearest 2", "{type: upsample}", nn.Upsample(scale_factor=2)),
        ("upsample nearest [3, 2]", "{type: upsample, scale: [3, 2]}",
         nn.Upsample(scale_factor=(3, 2))),
        ("upsample bilinear 2", "{type: upsample, mode: bilinear}",
         nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)),
        ("upsample bilinear [2, 3]", "{type: upsample, scale: [2, 3], mode: bilinear}",
         nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=False)),
        ("upsample bilinear 4 align_corners",
         "{type: upsample, scale: 4, mode: bilinear, align_corners: true}",
         nn.Upsample(scale_factor=4, mode="bilinear", align_corners=True)),
    ]
    for label, spec, module in cases:
        run_case(check, label, spec, module, shape)


def main():
    check = Checker(rtol=1e-5)
    transpose_cases(check)
    upsample_cases(check)
    check.finish()


if __name__ == "__main__":
    main()

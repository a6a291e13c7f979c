"""The CNN layers one by one against PyTorch with the same weights: conv2d (strides,
padding same/valid/explicit, even and non-square kernels, dilation, groups, no bias; 3x3
with 8 channels or more by Winograd's F(2x2, 3x3)),
maxpool and avgpool (padding, overlapping windows; avgpool with torch's default
count_include_pad=True, which nntrain follows, and with count_include_pad=False),
global_avgpool (AdaptiveAvgPool2d(1)), flatten, and batchnorm over dense and spatial inputs
in training (batch statistics; running statistics after the step) and evaluation (running
statistics). Each case compares the forward output, the loss (mse against random targets),
the input gradient and every parameter gradient, within 1e-4 relative."""
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reflib import Checker, run_driver

BATCH = 4
# torch notes that padding='same' with even kernels copies the input; that is the point.
warnings.filterwarnings("ignore", message="Using padding='same'")


def same_pad(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding (what nntrain does): (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


class Padded(nn.Module):
    """F.pad (left, right, top, bottom) with a fill, then the module: torch's own padding
    is symmetric only."""

    def __init__(self, pad, module, fill=0.0):
        super().__init__()
        self.pad, self.module, self.fill = pad, module, fill

    def forward(self, x):
        return self.module(F.pad(x, self.pad, value=self.fill))


def run_case(check, label, layer_yaml, module, in_shape, params=None, state=None,
             training=True, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH,) + tuple(in_shape)).astype(np.float32)
    module.train(training)
    xt = torch.tensor(x, requires_grad=True)
    out = module(xt)
    flat = out.reshape(BATCH, -1)
    y = rng.standard_normal(flat.shape).astype(np.float32)
    loss = F.mse_loss(flat, torch.tensor(y))
    loss.backward()

    spec = (f"model:\n  input: {list(in_shape)}\n  layers:\n    - {layer_yaml}\n"
            f"loss: mse\ntraining: {1 if training else 0}\n")
    ours = run_driver(spec, x, y, params or {}, state)
    check.close(f"{label}: output", ours["output"], flat.detach().numpy())
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    return ours


def conv_case(check, label, spec, in_shape, out_c, kernel, stride=1, padding=0, dilation=1,
              groups=1, bias=True, pad=None):
    conv = nn.Conv2d(in_shape[0], out_c, kernel, stride=stride, padding=padding,
                     dilation=dilation, groups=groups, bias=bias)
    module = Padded(pad, conv) if pad else conv
    params = {"c/weight": conv.weight.detach().numpy().copy()}
    if bias:
        params["c/bias"] = conv.bias.detach().numpy().copy()
    ours = run_case(check, label, "{name: c, type: conv2d, " + spec + "}", module, in_shape,
                    params)
    check.close(f"{label}: weight grad", ours["grad/c/weight"], conv.weight.grad.numpy())
    if bias:
        check.close(f"{label}: bias grad", ours["grad/c/bias"], conv.bias.grad.numpy())


def conv_cases(check):
    torch.manual_seed(1)
    conv_case(check, "conv 3x3 valid", "filters: 8, kernel: 3", (3, 9, 8), 8, 3)
    conv_case(check, "conv 3x3 same", "filters: 8, kernel: 3, padding: same", (3, 9, 8), 8, 3,
              padding="same")
    conv_case(check, "conv 4x4 same (even)", "filters: 6, kernel: 4, padding: same", (2, 9, 7),
              6, 4, padding="same")
    conv_case(check, "conv 2x3 same", "filters: 5, kernel: [2, 3], padding: same", (3, 7, 8), 5,
              (2, 3), padding="same")
    conv_case(check, "conv 5x5 same", "filters: 16, kernel: 5, padding: same", (8, 14, 14), 16,
              5, padding="same")
    conv_case(check, "conv 3x3 stride 2 pad 1", "filters: 8, kernel: 3, stride: 2, padding: 1",
              (4, 11, 9), 8, 3, stride=2, padding=1)
    h, w = same_pad(11, 3, 2), same_pad(10, 3, 2)
    conv_case(check, "conv 3x3 stride 2 same", "filters: 8, kernel: 3, stride: 2, padding: same",
              (4, 11, 10), 8, 3, stride=2, pad=(w[0], w[1], h[0], h[1]))
    conv_case(check, "conv explicit 4-sided",
              "filters: 4, kernel: 3, stride: [1, 2], padding: [0, 2, 1, 0]", (3, 8, 9), 4, 3,
              stride=(1, 2), pad=(1, 0, 0, 2))
    conv_case(check, "conv dilation 2", "filters: 6, kernel: 3, dilation: 2, padding: same",
              (3, 10, 9), 6, 3, dilation=2, padding="same")
    conv_case(check, "conv groups 2", "filters: 8, kernel: 3, groups: 2, padding: 1", (4, 7, 7),
              8, 3, groups=2, padding=1)
    conv_case(check, "conv depthwise", "filters: 6, kernel: 3, groups: 6, stride: 2",
              (6, 9, 9), 6, 3, stride=2, groups=6)
    conv_case(check, "conv 1x1", "filters: 12, kernel: 1", (5, 6, 7), 12, 1)
    conv_case(check, "conv 1x1 stride 2 no bias", "filters: 4, kernel: 1, stride: 2, bias: false",
              (5, 7, 7), 4, 1, stride=2, bias=False)
    conv_case(check, "conv 1 -> 64 channels 3x3 same", "filters: 64, kernel: 3, padding: same",
              (1, 12, 12), 64, 3, padding="same")
    # 8 channels or more on both sides: Winograd's F(2x2, 3x3) (src/core/winograd.h), with odd
    # sizes, explicit padding, groups, and a 28-wide image (the residual net's shape)
    conv_case(check, "conv 3x3 same Winograd", "filters: 16, kernel: 3, padding: same",
              (8, 9, 11), 16, 3, padding="same")
    conv_case(check, "conv 3x3 valid Winograd", "filters: 12, kernel: 3", (10, 8, 7), 12, 3)
    conv_case(check, "conv 3x3 explicit Winograd", "filters: 8, kernel: 3, padding: [0, 2, 1, 0]",
              (8, 7, 6), 8, 3, pad=(1, 0, 0, 2))
    conv_case(check, "conv 3x3 groups Winograd", "filters: 16, kernel: 3, groups: 2, padding: 1",
              (16, 6, 7), 16, 3, groups=2, padding=1)
    conv_case(check, "conv 3x3 28x28 Winograd", "filters: 32, kernel: 3, padding: same",
              (32, 28, 28), 32, 3, padding="same")
    conv_case(check, "conv 3x3 40 wide Winograd", "filters: 8, kernel: 3, padding: same",
              (8, 5, 40), 8, 3, padding="same")


def pool_case(check, label, spec, in_shape, module):
    run_case(check, label, spec, module, in_shape)


def pool_cases(check):
    shape = (3, 9, 8)
    pool_case(check, "maxpool 2", "{type: maxpool, size: 2}", shape, nn.MaxPool2d(2))
    pool_case(check, "maxpool 3/1 same", "{type: maxpool, size: 3, stride: 1, padding: same}",
              shape, nn.MaxPool2d(3, 1, padding=1))
    pool_case(check, "maxpool 3/2 pad 1", "{type: maxpool, size: 3, stride: 2, padding: 1}",
              shape, nn.MaxPool2d(3, 2, padding=1))
    pool_case(check, "maxpool [2, 3] / [1, 2]", "{type: maxpool, size: [2, 3], stride: [1, 2]}",
              shape, nn.MaxPool2d((2, 3), (1, 2)))
    h, w = same_pad(9, 2, 2), same_pad(8, 2, 2)
    pool_case(check, "maxpool 2 same (odd height)", "{type: maxpool, size: 2, padding: same}",
              shape, Padded((w[0], w[1], h[0], h[1]), nn.MaxPool2d(2), fill=-float("inf")))
    pool_case(check, "avgpool 2", "{type: avgpool, size: 2}", shape, nn.AvgPool2d(2))
    pool_case(check, "avgpool 3/1 pad 1 (count_include_pad)",
              "{type: avgpool, size: 3, stride: 1, padding: 1}", shape,
              nn.AvgPool2d(3, 1, padding=1))
    pool_case(check, "avgpool 3/2 pad 1 exclude pad",
              "{type: avgpool, size: 3, stride: 2, padding: 1, count_include_pad: false}", shape,
              nn.AvgPool2d(3, 2, padding=1, count_include_pad=False))
    pool_case(check, "avgpool 2 same (odd height, zero-padded)",
              "{type: avgpool, size: 2, padding: same}", shape,
              Padded((w[0], w[1], h[0], h[1]), nn.AvgPool2d(2)))
    pool_case(check, "global_avgpool", "{type: global_avgpool}", shape,
              nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
    pool_case(check, "flatten", "{type: flatten}", shape, nn.Flatten())


def bn_case(check, label, in_shape, module, training, momentum=0.1, eps=1e-5):
    torch.manual_seed(7)
    with torch.no_grad():
        module.weight.uniform_(0.5, 1.5)
        module.bias.uniform_(-0.5, 0.5)
        module.running_mean.uniform_(-0.5, 0.5)
        module.running_var.uniform_(0.5, 2.0)
    params = {"bn/weight": module.weight.detach().numpy().copy(),
              "bn/bias": module.bias.detach().numpy().copy()}
    state = {"bn/running_mean": module.running_mean.numpy().copy(),
             "bn/running_var": module.running_var.numpy().copy()}
    ours = run_case(check, label,
                    f"{{name: bn, type: batchnorm, momentum: {momentum}, eps: {eps}}}", module,
                    in_shape, params, state, training=training, seed=3)
    check.close(f"{label}: weight grad", ours["grad/bn/weight"], module.weight.grad.numpy())
    check.close(f"{label}: bias grad", ours["grad/bn/bias"], module.bias.grad.numpy())
    # After the step (steps: 0): training updated the running statistics, evaluation not.
    check.close(f"{label}: running_mean", ours["after_state/bn/running_mean"],
                module.running_mean.numpy())
    check.close(f"{label}: running_var", ours["after_state/bn/running_var"],
                module.running_var.numpy())


def bn_cases(check):
    for training in (True, False):
        mode = "train" if training else "eval"
        bn_case(check, f"batchnorm1d {mode}", (6,), nn.BatchNorm1d(6), training)
        bn_case(check, f"batchnorm2d {mode}", (5, 7, 6), nn.BatchNorm2d(5, momentum=0.3),
                training, momentum=0.3)
        bn_case(check, f"batchnorm2d eps {mode}", (3, 4, 4), nn.BatchNorm2d(3, eps=1e-3),
                training, eps=1e-3)


def main():
    check = Checker(rtol=1e-4)
    conv_cases(check)
    pool_cases(check)
    bn_cases(check)
    check.finish()


if __name__ == "__main__":
    main()

"""The recurrent layers against PyTorch with the same weights: rnn (tanh, relu), lstm and gru
as torch.nn.RNN / LSTM / GRU (batch_first), one- and bidirectional, one layer or two stacked
(torch's num_layers=2 is two of our layers, the first returning sequences), with
return_sequences (torch's output) or without (the final hidden state of each direction,
torch's h_n). Each case compares the output, the loss (mse against random targets), the
input gradient and the gradient of every weight and bias, within 1e-5 relative to each
tensor's scale. Also an embedding layer (torch.nn.Embedding) feeding an lstm: the output and
the gradients of the embedding's weight and the lstm's.

Variable lengths: the same cases on sequences padded to T with x_lengths, against torch on
pack_padded_sequence (enforce_sorted=False): outputs (zero at padded steps, as
pad_packed_sequence gives them), h_n at each row's last valid step (the reverse direction
starting there), the loss with padded steps masked (each row's mse over its valid steps'
outputs, then the mean over rows) and every gradient, the input's zero at padded steps."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from reflib import Checker, run_driver

BATCH, STEPS, FEATURES, UNITS = 4, 7, 5, 6
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def case(check, kind, nonlinearity="tanh", bidirectional=False, layers=1, sequences=True,
         seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    module = MODULES[kind](FEATURES, UNITS, num_layers=layers, batch_first=True,
                           bidirectional=bidirectional, **extra)
    with torch.no_grad():  # biases of a visible size, not torch's small uniform only
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5)
    x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out, state = module(xt)
    if not sequences:
        h_n = state[0] if kind == "lstm" else state
        directions = 2 if bidirectional else 1
        out = torch.cat(list(h_n[-directions:]), dim=1)
    flat = out.reshape(BATCH, -1)
    y = rng.standard_normal(flat.shape).astype(np.float32)
    loss = F.mse_loss(flat, torch.tensor(y))
    loss.backward()

    option = f", nonlinearity: {nonlinearity}" if kind == "rnn" else ""
    specs, params, grads = [], {}, {}
    for layer in range(layers):
        last = layer == layers - 1
        returns = "true" if (sequences or not last) else "false"
        specs.append(f"{{name: r{layer}, type: {kind}, units: {UNITS}, bidirectional: "
                     f"{'true' if bidirectional else 'false'}, return_sequences: {returns}"
                     f"{option}}}")
        for base in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            for suffix in ("", "_reverse") if bidirectional else ("",):
                p = getattr(module, f"{base}_l{layer}{suffix}")
                params[f"r{layer}/{base}{suffix}"] = p.detach().numpy().copy()
                grads[f"r{layer}/{base}{suffix}"] = p.grad.numpy()
    layer_yaml = "\n    - ".join(specs)
    spec = (f"model:\n  input: [{STEPS}, {FEATURES}]\n  layers:\n    - {layer_yaml}\n"
            f"loss: mse\ntraining: 1\n")
    ours = run_driver(spec, x, y, params)
    label = (f"{kind}{'/' + nonlinearity if kind == 'rnn' else ''} "
             f"{'bi' if bidirectional else 'uni'} x{layers} "
             f"{'sequences' if sequences else 'final'}")
    check.close(f"{label}: output", ours["output"], flat.detach().numpy())
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    for name, grad in grads.items():
        check.close(f"{label}: grad {name}", ours["grad/" + name], grad)


def lengths_case(check, kind, nonlinearity="tanh", bidirectional=False, layers=1,
                 sequences=True, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    module = MODULES[kind](FEATURES, UNITS, num_layers=layers, batch_first=True,
                           bidirectional=bidirectional, **extra)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5)
    lengths = np.array([STEPS, 1, 4, 6][:BATCH])
    rng.shuffle(lengths)
    x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
    for n, length in enumerate(lengths):  # padding that would change the result if read
        x[n, length:] = 3.0
    xt = torch.tensor(x, requires_grad=True)
    packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                  enforce_sorted=False)
    out, state = module(packed)
    directions = 2 if bidirectional else 1
    if sequences:
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=STEPS)
        flat = out.reshape(BATCH, -1)
        y = rng.standard_normal(flat.shape).astype(np.float32)
        width = directions * UNITS
        mask = torch.tensor(np.repeat(np.arange(STEPS)[None, :] < lengths[:, None], width,
                                      axis=1).astype(np.float32))
        per_row = (((flat - torch.tensor(y)) ** 2) * mask).sum(1) / mask.sum(1)
        loss = per_row.mean()
    else:
        h_n = state[0] if kind == "lstm" else state
        flat = torch.cat(list(h_n[-directions:]), dim=1)
        y = rng.standard_normal(flat.shape).astype(np.float32)
        loss = F.mse_loss(flat, torch.tensor(y))
    loss.backward()

    option = f", nonlinearity: {nonlinearity}" if kind == "rnn" else ""
    specs, params, grads = [], {}, {}
    for layer in range(layers):
        last = layer == layers - 1
        returns = "true" if (sequences or not last) else "false"
        specs.append(f"{{name: r{layer}, type: {kind}, units: {UNITS}, bidirectional: "
                     f"{'true' if bidirectional else 'false'}, return_sequences: {returns}"
                     f"{option}}}")
        for base in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            for suffix in ("", "_reverse") if bidirectional else ("",):
                p = getattr(module, f"{base}_l{layer}{suffix}")
                params[f"r{layer}/{base}{suffix}"] = p.detach().numpy().copy()
                grads[f"r{layer}/{base}{suffix}"] = p.grad.numpy()
    layer_yaml = "\n    - ".join(specs)
    spec = (f"model:\n  input: [{STEPS}, {FEATURES}]\n  layers:\n    - {layer_yaml}\n"
            f"loss: mse\ntraining: 1\n")
    ours = run_driver(spec, x, y, params, x_lengths=lengths)
    label = (f"lengths {list(lengths)}: {kind}{'/' + nonlinearity if kind == 'rnn' else ''} "
             f"{'bi' if bidirectional else 'uni'} x{layers} "
             f"{'sequences' if sequences else 'final'}")
    check.close(f"{label}: output", ours["output"], flat.detach().numpy())
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    for name, grad in grads.items():
        check.close(f"{label}: grad {name}", ours["grad/" + name], grad)


def embedding_case(check):
    torch.manual_seed(11)
    rng = np.random.default_rng(11)
    emb, lstm = nn.Embedding(9, 5), nn.LSTM(5, UNITS, batch_first=True)
    ids = rng.integers(0, 9, (BATCH, STEPS))
    out, _ = lstm(emb(torch.tensor(ids)))
    flat = out.reshape(BATCH, -1)
    y = rng.standard_normal(flat.shape).astype(np.float32)
    loss = F.mse_loss(flat, torch.tensor(y))
    loss.backward()
    params = {"e/weight": emb.weight.detach().numpy().copy()}
    grads = {"e/weight": emb.weight.grad.numpy()}
    for name, p in lstm.named_parameters():
        params["r/" + name.replace("_l0", "")] = p.detach().numpy().copy()
        grads["r/" + name.replace("_l0", "")] = p.grad.numpy()
    spec = (f"model:\n  input: [{STEPS}]\n  layers:\n    - {{name: e, type: embedding, num: 9, "
            f"dim: 5}}\n    - {{name: r, type: lstm, units: {UNITS}, return_sequences: true}}\n"
            f"loss: mse\ntraining: 1\n")
    ours = run_driver(spec, ids.astype(np.float32), y, params)
    check.close("embedding + lstm: output", ours["output"], flat.detach().numpy())
    check.close("embedding + lstm: loss", ours["loss"], loss.item())
    for name, grad in grads.items():
        check.close(f"embedding + lstm: grad {name}", ours["grad/" + name], grad)


def main():
    check = Checker(rtol=1e-5)
    seed = 0
    for kind, nonlinearity in (("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"),
                               ("gru", "tanh")):
        for bidirectional in (False, True):
            for layers in (1, 2):
                for sequences in (True, False):
                    seed += 1
                    case(check, kind, nonlinearity, bidirectional, layers, sequences, seed)
                    lengths_case(check, kind, nonlinearity, bidirectional, layers, sequences,
                                 seed + 100)
    embedding_case(check)
    check.finish()


if __name__ == "__main__":
    main()

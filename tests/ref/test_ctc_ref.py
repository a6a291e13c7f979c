"""The ctc loss against torch.nn.CTCLoss (reduction='mean'): per-step scores from a dense
layer applied to every step of a (steps, features) input (torch.nn.Linear on the last
dimension), and from a bidirectional lstm followed by that dense layer, normalized by
log_softmax and fed to CTCLoss with targets padded (nntrain: -1) and their lengths. Random
labels with repeats, empty targets, targets as long as the steps allow, blank indices 0 and
last, and zero_infinity with targets the steps cannot emit. Compares the scores, the loss,
the input gradient and every parameter gradient within 1e-4 relative.

Padded cases: inputs of fewer valid steps than T (x_lengths, torch's input_lengths; the lstm
on pack_padded_sequence) and target lengths given as y_lengths with labels, not -1, after
them (torch's target_lengths), so neither padding may be read."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from reflib import Checker, run_driver

N, T, FEATURES = 6, 8, 4


def make_targets(rng, classes, blank, width, kinds):
    labels = [c for c in range(classes) if c != blank]
    y = -np.ones((N, width), np.float32)
    lengths = []
    for r, kind in enumerate(kinds):
        if kind == "empty":
            seq = []
        elif kind == "repeats":
            seq = [labels[0], labels[0], labels[1], labels[1]][:width]
        elif kind == "longest":   # no repeats: as many labels as steps (capped by width)
            seq = [labels[i % len(labels)] for i in range(width)]
        elif kind == "impossible":  # one label repeated: needs 2 * width - 1 > T steps
            seq = [labels[0]] * width
        else:
            seq = list(rng.choice(labels, size=rng.integers(1, width + 1)))
            while len(seq) + sum(a == b for a, b in zip(seq, seq[1:])) > T:
                seq.pop()
        y[r, :len(seq)] = seq
        lengths.append(len(seq))
    return y, lengths


class Head(nn.Module):
    def __init__(self, classes, lstm_units):
        super().__init__()
        self.lstm = (nn.LSTM(FEATURES, lstm_units, batch_first=True, bidirectional=True)
                     if lstm_units else None)
        self.dense = nn.Linear(2 * lstm_units if lstm_units else FEATURES, classes)

    def forward(self, x, steps=None):
        if self.lstm is not None and steps is not None:
            packed = pack_padded_sequence(x, torch.tensor(steps), batch_first=True,
                                          enforce_sorted=False)
            x, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=T)
        elif self.lstm is not None:
            x, _ = self.lstm(x)
        return self.dense(x)


def case(check, label, classes, blank, width, kinds, zero_infinity=False, lstm_units=0, seed=0,
         padded=False):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = Head(classes, lstm_units)
    x = rng.standard_normal((N, T, FEATURES)).astype(np.float32)
    y, lengths = make_targets(rng, classes, blank, width, kinds)
    steps = None
    if padded:  # each row as few steps as its labels and repeats need, or more
        steps = []
        for r, length in enumerate(lengths):
            need = length + sum(a == b for a, b in zip(y[r, :length], y[r, 1:length]))
            steps.append(int(rng.integers(max(min(need, T), 1), T + 1)))
            x[r, steps[-1]:] = 3.0
            y[r, length:] = [c for c in range(classes) if c != blank][0]
    xt = torch.tensor(x, requires_grad=True)
    scores = head(xt, steps)
    log_probs = F.log_softmax(scores, dim=2).transpose(0, 1)
    targets = torch.tensor(np.where(y < 0, blank, y).astype(np.int64))
    input_lengths = torch.tensor(steps) if padded else torch.full((N,), T, dtype=torch.long)
    loss = nn.CTCLoss(blank=blank, reduction="mean", zero_infinity=zero_infinity)(
        log_probs, targets, input_lengths, torch.tensor(lengths))
    loss.backward()
    if not (torch.isfinite(loss) and torch.isfinite(xt.grad).all()):
        check.failures.append(f"{label}: torch's loss or gradient is not finite (bad case)")

    params = {"d/weight": head.dense.weight.detach().numpy().copy(),
              "d/bias": head.dense.bias.detach().numpy().copy()}
    grads = {"d/weight": head.dense.weight.grad, "d/bias": head.dense.bias.grad}
    layers = []
    if lstm_units:
        layers.append(f"{{name: r, type: lstm, units: {lstm_units}, bidirectional: true, "
                      f"return_sequences: true}}")
        for name, p in head.lstm.named_parameters():
            ours = "r/" + name.replace("_l0", "")
            params[ours] = p.detach().numpy().copy()
            grads[ours] = p.grad
    layers.append(f"{{name: d, type: dense, units: {classes}}}")
    spec = (f"model:\n  input: [{T}, {FEATURES}]\n  layers:\n    - "
            + "\n    - ".join(layers)
            + f"\nloss: {{type: ctc, classes: {classes}, blank: {blank}, zero_infinity: "
            f"{'true' if zero_infinity else 'false'}}}\ntraining: 1\n")
    ours = run_driver(spec, x, y, params, x_lengths=steps,
                      y_lengths=lengths if padded else None)
    scores = scores.detach().numpy()
    if padded:  # the padded steps' scores are whatever the layers make of the padding
        valid = np.arange(T)[None, :] < np.array(steps)[:, None]
        scores = np.where(valid[:, :, None], scores, ours["output"].reshape(scores.shape))
    check.close(f"{label}: scores", ours["output"], scores)
    check.close(f"{label}: loss", ours["loss"], loss.item())
    check.close(f"{label}: dinput", ours["dinput"], xt.grad.numpy())
    for name, grad in grads.items():
        check.close(f"{label}: grad {name}", ours["grad/" + name], grad.numpy())


def main():
    check = Checker(rtol=1e-4)
    mixed = ["random", "repeats", "empty", "longest", "random", "repeats"]
    case(check, "ctc blank 0", 5, 0, 4, mixed, seed=1)
    case(check, "ctc blank last", 5, 4, 4, mixed, seed=2)
    case(check, "ctc targets as long as the steps", 4, 0, T, ["longest"] * 3 + ["random"] * 3,
         seed=3)
    case(check, "ctc two classes", 2, 0, 3, ["random", "empty", "longest", "random", "random",
                                             "empty"], seed=4)
    case(check, "ctc zero_infinity", 5, 0, 6,
         ["impossible", "random", "impossible", "empty", "repeats", "random"],
         zero_infinity=True, seed=5)
    case(check, "ctc after a bidirectional lstm", 6, 0, 4, mixed, lstm_units=5, seed=6)
    case(check, "ctc padded inputs and y_lengths", 5, 0, 4, mixed, seed=7, padded=True)
    case(check, "ctc padded, zero_infinity", 5, 0, 6,
         ["impossible", "random", "impossible", "empty", "repeats", "random"],
         zero_infinity=True, seed=8, padded=True)
    case(check, "ctc padded after a bidirectional lstm", 6, 0, 4, mixed, lstm_units=5, seed=9,
         padded=True)
    check.finish()


if __name__ == "__main__":
    main()

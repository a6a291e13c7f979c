"""Learning-rate schedules against torch.optim.lr_scheduler: the lr of every optimizer step
over 20+ epochs, within 1e-9 relative. StepLR, MultiStepLR (repeated milestones count
twice), ExponentialLR, CosineAnnealingLR (nntrain holds eta_min after `epochs`, where torch's
cosine would rise again), ReduceLROnPlateau (min and max modes, threshold, cooldown,
min_lr), warmup as LinearLR stepped per optimizer step, chained with the others, and
formula schedules against the torch scheduler they equal (LambdaLR for the others)."""
import os
import subprocess
import sys
import tempfile
import warnings

import torch
from torch.optim import lr_scheduler as S

from reflib import Checker, catalogue_names, mentioned

warnings.filterwarnings("ignore")


def ours(schedule, lr, epochs, steps, metrics=None):
    driver = os.environ.get("SCHEDDRIVER")
    if not driver:
        sys.exit("SCHEDDRIVER is not set (run through ctest)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(f"schedule: {schedule}\nlr: {lr!r}\nepochs: {epochs}\nsteps_per_epoch: {steps}\n")
        if metrics is not None:
            f.write("metrics: [" + ", ".join(repr(m) for m in metrics) + "]\n")
        path = f.name
    result = subprocess.run([driver, path], capture_output=True, text=True)
    os.unlink(path)
    if result.returncode != 0:
        sys.exit(f"scheddriver failed on {schedule}: {result.stderr.strip()}")
    return [float(line.split()[2]) for line in result.stdout.splitlines()]


def theirs(lr, epochs, steps, main=None, warmup=None, metrics=None):
    """main(opt) -> per-epoch scheduler; warmup = (start_factor, total_steps) -> LinearLR
    stepped after every optimizer step."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    per_step = S.LinearLR(opt, start_factor=warmup[0], total_iters=warmup[1]) if warmup else None
    per_epoch = main(opt) if main else None
    lrs = []
    for epoch in range(epochs):
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_step:
                per_step.step()
        if isinstance(per_epoch, S.ReduceLROnPlateau):
            per_epoch.step(metrics[epoch])
        elif per_epoch:
            per_epoch.step()
    return lrs


# A validation loss that improves, stalls, wobbles within the threshold, improves again.
LOSSES = [1.0, 0.8, 0.7, 0.69, 0.695, 0.7, 0.7, 0.6, 0.5, 0.5, 0.499, 0.5, 0.51, 0.52, 0.4,
          0.41, 0.42, 0.43, 0.44, 0.45, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
ACCURACIES = [0.5, 0.6, 0.6, 0.61, 0.6, 0.7, 0.7, 0.7, 0.7, 0.72, 0.72, 0.72, 0.72, 0.8, 0.8,
              0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.81, 0.81, 0.81, 0.81, 0.81, 0.81, 0.81, 0.81,
              0.81]

# (nntrain schedule, lr, epochs, steps per epoch, torch main scheduler, warmup, metrics)
CASES = [
    ("constant", 0.1, 20, 1, None, None, None),
    ("{type: step, gamma: 0.5, step_size: 3}", 0.1, 25, 1,
     lambda o: S.StepLR(o, step_size=3, gamma=0.5), None, None),
    ("step", 0.3, 20, 2, lambda o: S.StepLR(o, step_size=1, gamma=0.1), None, None),
    ("{type: multistep, milestones: [5, 12, 12, 20], gamma: 0.3}", 0.05, 25, 1,
     lambda o: S.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3), None, None),
    ("{type: exponential, gamma: 0.951}", 0.01, 30, 1,
     lambda o: S.ExponentialLR(o, gamma=0.951), None, None),
    ("{type: cosine, epochs: 20, eta_min: 0.001}", 0.1, 21, 1,
     lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001), None, None),
    ("cosine", 0.1, 24, 1, lambda o: S.CosineAnnealingLR(o, T_max=24), None, None),
    ("{type: reduce_on_plateau, factor: 0.5, patience: 2, threshold: 0.01, cooldown: 1, "
     "min_lr: 0.01}", 0.1, 30, 1,
     lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.01, cooldown=1,
                                   min_lr=0.01), None, LOSSES),
    ("{type: reduce_on_plateau, patience: 1}", 1.0, 30, 1,
     lambda o: S.ReduceLROnPlateau(o, patience=1), None, LOSSES),
    ("{type: reduce_on_plateau, monitor: val_accuracy, factor: 0.3, patience: 3}", 0.1, 30, 1,
     lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=3), None, ACCURACIES),
    ("{type: constant, warmup_steps: 10}", 0.1, 20, 2, None, (1 / 3, 10), None),
    ("{type: exponential, gamma: 0.9, warmup_steps: 7, warmup_start_factor: 0.1}", 0.2, 20, 3,
     lambda o: S.ExponentialLR(o, gamma=0.9), (0.1, 7), None),
    ("{type: step, gamma: 0.5, step_size: 4, warmup_epochs: 2, warmup_start_factor: 0.25}",
     0.1, 20, 4, lambda o: S.StepLR(o, step_size=4, gamma=0.5), (0.25, 8), None),
    ("{type: multistep, milestones: [3, 10], warmup_steps: 9, warmup_start_factor: 0.5}",
     0.1, 20, 2, lambda o: S.MultiStepLR(o, milestones=[3, 10]), (0.5, 9), None),
    ("{type: cosine, epochs: 20, warmup_epochs: 3, warmup_start_factor: 0.01}", 0.1, 20, 5,
     lambda o: S.CosineAnnealingLR(o, T_max=20), (0.01, 15), None),
    # Formulas: the course's step decay, a polynomial decay with a parameter, per-step decay
    # (one step per epoch, so torch's per-epoch LambdaLR sees the same count), with warmup.
    ('{formula: "lr * 0.5 ^ floor(epoch / 3)"}', 0.1, 25, 2,
     lambda o: S.StepLR(o, step_size=3, gamma=0.5), None, None),
    ('{type: formula, formula: "lr * (1 - epoch / epochs) ^ power", params: {power: 0.9}}',
     0.1, 20, 2, lambda o: S.LambdaLR(o, lambda e: (1 - e / 20) ** 0.9), None, None),
    ('{formula: "lr / sqrt(1 + step)"}', 0.05, 20, 1,
     lambda o: S.LambdaLR(o, lambda e: 1 / (1 + e) ** 0.5), None, None),
    ('{formula: "lr * 0.9 ^ epoch", warmup_steps: 7, warmup_start_factor: 0.1}', 0.2, 20, 3,
     lambda o: S.ExponentialLR(o, gamma=0.9), (0.1, 7), None),
]


def since_best_reference(lr, metrics, patience):
    """lr * 0.5 ^ floor(since_best / patience), since_best counted after each epoch."""
    best, since, lrs = float("inf"), 0, []
    for m in metrics:
        lrs.append(lr * 0.5 ** (since // patience))
        if m < best:
            best, since = m, 0
        else:
            since += 1
    return lrs


def main():
    check = Checker(rtol=1e-9)
    for schedule, lr, epochs, steps, main_sched, warmup, metrics in CASES:
        got = ours(schedule, lr, epochs, steps, metrics)
        want = theirs(lr, epochs, steps, main_sched, warmup, metrics)
        check.close(f"{schedule} ({epochs} epochs x {steps} steps)", got, want, atol=0)
        # A schedule that never changed the lr would test little.
        if schedule != "constant" and len(set(got)) < 3:
            check.failures.append(f"{schedule}: the lr took only {sorted(set(got))}")

    # After `epochs`, cosine stays at eta_min.
    got = ours("{type: cosine, epochs: 10, eta_min: 0.002}", 0.1, 25, 1)
    check.close("cosine after its epochs", got[10:], [0.002] * 15, atol=0)
    # A plateau-like formula over since_best: no torch scheduler has it; its definition.
    got = ours('{formula: "lr * 0.5 ^ floor(since_best / 2)", monitor: val_loss}', 0.1, 30, 1,
               LOSSES)
    check.close("formula over since_best", got, since_best_reference(0.1, LOSSES, 2), atol=0)
    if len(set(got)) < 3:
        check.failures.append(f"since_best formula: the lr took only {sorted(set(got))}")
    schedules = catalogue_names("schedules")
    check.covers("schedules", schedules, mentioned(schedules, [case[0] for case in CASES]))
    check.finish()


if __name__ == "__main__":
    main()

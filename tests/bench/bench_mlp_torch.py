"""PyTorch side of the MLP training-step benchmark (run by tests/bench/run_mlp_bench.sh).

    bench_mlp_torch.py [--threads T] [--steps N] [--repeats R] [--warmup W] [--bf16]

The same model, loss, optimizer and batch as bench_mlp.c: 784-256-128-64-10 with relu,
cross-entropy, Adam lr 0.001, batch 128, one synthetic batch (uint8-like values scaled to
[0, 1], uniform labels). A step is what a user writes: zero_grad, forward, loss, backward,
step. Each repeat times N steps; samples/s is the median over repeats (also per second of
CPU time of the process, which a busy shared machine disturbs less).

--bf16 runs forward and loss under torch.autocast('cpu', dtype=torch.bfloat16) (the
products in bf16, the weights and optimizer in float32).

--threads T calls torch.set_num_threads(T); without it torch keeps its defaults. Thread
environment variables (OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY) are the caller's business: they
must be set before the process starts.

Time to first step and the import time of torch count from BENCH_T0 (wall-clock seconds, set
by the caller just before starting this process) when it is set, else from the start of this
script. The last line is machine-readable: "RESULT key=value ...".
"""
import os
import time

T0 = float(os.environ.get("BENCH_T0", time.time()))
import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402

import torch  # noqa: E402

IMPORTED = time.time()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--bf16", action="store_true")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    torch.manual_seed(42)
    batch = 128
    model = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):  # glorot_uniform, zero bias, as the config says
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    x = torch.randint(0, 256, (batch, 1, 28, 28), dtype=torch.uint8).float() / 255.0
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    first_loss = step().item()
    first_step_s = time.time() - T0
    for _ in range(args.warmup - 1):
        step()
    rates, cpu_rates = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            step()
        rates.append(args.steps * batch / (time.perf_counter() - t))
        cpu_rates.append(args.steps * batch / (time.process_time() - c))
    last_loss = step().item()
    rate, cpu_rate = statistics.median(rates), statistics.median(cpu_rates)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    import_s = IMPORTED - T0
    print(f"PyTorch {torch.__version__} MLP step: batch {batch}, torch threads "
          f"{torch.get_num_threads()}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', '-')}, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', '-')}, {args.repeats} x {args.steps} steps")
    print(f"  samples/s            {rate:10.0f}  (median; min {min(rates):.0f}, "
          f"max {max(rates):.0f})")
    print(f"  samples/CPU-second   {cpu_rate:10.0f}  (median; CPU time of all threads)")
    print(f"  step                 {1e3 * batch / rate:10.3f} ms")
    print(f"  peak RSS             {rss:10.1f} MiB")
    print(f"  import torch         {import_s:10.3f} s")
    print(f"  time to first step   {first_step_s:10.3f} s")
    print(f"  loss first/last      {first_loss:10.4f} / {last_loss:.4f}")
    print(f"RESULT samples_per_s={rate:.1f} best_samples_per_s={max(rates):.1f} "
          f"cpu_samples_per_s={cpu_rate:.1f} "
          f"step_ms={1e3 * batch / rate:.4f} rss_mib={rss:.1f} import_s={import_s:.4f} "
          f"first_step_s={first_step_s:.4f}")


if __name__ == "__main__":
    main()

"""PyTorch DistributedDataParallel (gloo) reference for the data-parallel benchmark: the same
model, optimizer (Adam lr 0.001) and global batch as nntrain, ranks x 1 thread, synthetic data.

usage: bench_ddp.py mlp|cnn GLOBAL_BATCH RANKS STEPS
Prints: samples/s <value>"""
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn


def make_model(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def worker(rank, world, kind, global_batch, steps, port, queue):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(make_model(kind))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    local = global_batch // world
    x = torch.rand(local, 1, 28, 28)
    y = torch.randint(0, 10, (local,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    dist.barrier()
    elapsed = time.perf_counter() - start
    if rank == 0:
        queue.put(global_batch * steps / elapsed)
    dist.destroy_process_group()


def main():
    kind, global_batch, world, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = 29500 + os.getpid() % 1000
    procs = [ctx.Process(target=worker, args=(r, world, kind, global_batch, steps, port, queue))
             for r in range(world)]
    for p in procs:
        p.start()
    rate = queue.get()
    for p in procs:
        p.join()
    print(f"samples/s {rate:.1f}")


if __name__ == "__main__":
    main()

"""PyTorch side of the CNN benchmark: the residual+inception network and the small CNN of
launch/configs, batch 32, Adam, synthetic Fashion-MNIST-shaped data; training steps timed
like bench_step (warm-up, then steps for a fixed time).

usage: bench_cnn_torch.py resnet|cnn THREADS SECONDS [bf16]
(bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16))
Prints: samples/s <value>, peak_rss_mib <value>"""
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 64, 3, padding=1)
        self.c2 = nn.Conv2d(64, 64, 3, padding=1)
        self.proj = nn.Conv2d(1, 64, 1)
        self.b1 = nn.Conv2d(64, 32, 1)
        self.b2a = nn.Conv2d(64, 64, 1)
        self.b2b = nn.Conv2d(64, 64, 3, padding=1)
        self.b3a = nn.Conv2d(64, 64, 1)
        self.b3b = nn.Conv2d(64, 64, 5, padding=2)
        self.b4 = nn.Conv2d(64, 16, 1)
        self.fc = nn.Linear(176, 10)

    def forward(self, x):
        h = self.c2(F.relu(self.c1(x)))
        h = F.max_pool2d(F.relu(h + self.proj(x)), 2)
        h = torch.cat([F.relu(self.b1(h)), F.relu(self.b2b(F.relu(self.b2a(h)))),
                       F.relu(self.b3b(F.relu(self.b3a(h)))),
                       F.relu(self.b4(F.max_pool2d(h, 3, stride=1, padding=1)))], 1)
        h = F.max_pool2d(h, 2)
        return self.fc(h.mean((2, 3)))


def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    kind, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    bf16 = len(sys.argv) > 4 and sys.argv[4] == "bf16"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResInception() if kind == "resnet" else small_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    x = torch.rand(32, 1, 28, 28)
    y = torch.randint(0, 10, (32,))

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 3:
        step()
        steps += 1
    rate = 32 * steps / (time.perf_counter() - start)
    print(f"samples/s {rate:.1f}")
    print(f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()

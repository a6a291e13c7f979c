"""PyTorch side of the recurrent benchmark: torch.nn.LSTM (2 layers, 128 units, batch_first)
on T = 100 steps of F = 32 features, batch 64, the final hidden state into a 10-way linear
layer, cross-entropy, Adam; synthetic data; training steps timed like bench_step (warm-up,
then steps for a fixed time).

usage: bench_rnn_torch.py THREADS SECONDS
Prints: samples/s <value>, peak_rss_mib <value>"""
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, STEPS, FEATURES, UNITS = 64, 100, 32, 128


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(FEATURES, UNITS, num_layers=2, batch_first=True)
        self.fc = nn.Linear(UNITS, 10)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.fc(h_n[-1])


def main():
    threads, seconds = int(sys.argv[1]), float(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    x = torch.randn(BATCH, STEPS, FEATURES)
    y = torch.randint(0, 10, (BATCH,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 3:
        step()
        steps += 1
    rate = BATCH * steps / (time.perf_counter() - start)
    print(f"samples/s {rate:.1f}")
    print(f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()

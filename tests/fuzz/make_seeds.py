#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/ (run from anywhere; the seeds are
committed, this script documents how they were made and regenerates them)."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def idx_images(n, h, w):
    return struct.pack(">IIII", 0x803, n, h, w) + bytes((i * 37) % 256 for i in range(n * h * w))


def idx_labels(n, classes):
    return struct.pack(">II", 0x801, n) + bytes(i % classes for i in range(n))


def two_files(flags, first, second):
    return bytes([flags]) + struct.pack(">H", len(first)) + first + second


# Config: every example config, and a few with --set assignments after NUL bytes.
configs = os.path.join(ROOT, "launch", "configs")
for name in sorted(os.listdir(configs)):
    with open(os.path.join(configs, name), "rb") as f:
        put("config", name, f.read())
with open(os.path.join(configs, "mlp.yaml"), "rb") as f:
    mlp = f.read()
put("config", "mlp-sets", mlp + b"\0train.optimizer.lr=0.01\0model.layers[0].units=[1, 2]"
    b"\0train.schedule={type: cosine}\0model.layers[1]={type: dropout, rate: 0.5}")
put("config", "small-search", b"model:\n  input: [4]\n  layers:\n    - {type: dense, units: 3}\n"
    b"train: {loss: cross_entropy, optimizer: sgd, epochs: 2}\n"
    b"search:\n  method: halving\n  trials: 4\n  min_epochs: 1\n"
    b"  parameters:\n    train.optimizer.lr: {log_uniform: [1e-4, 1e-1]}\n"
    b"    model.layers[0].units: {choice: [2, 4]}\n")
put("config", "anchors", b"a: &x {b: [1, 2, \"3\"], c: 'yes'}\nd: *x\ne: |\n  text\n  more\n"
    b"f: !!str 0x10\ng: ~\nh: .inf\n")

# IDX: valid pairs raw and gzip'ed, with and without a test split.
images, labels = idx_images(6, 4, 3), idx_labels(6, 3)
put("idx", "raw", two_files(0, images, labels))
put("idx", "gzip-test", two_files(7, images, labels))
put("idx", "fashion-shape", two_files(0, idx_images(2, 28, 28), idx_labels(2, 10)))

# CSV: headers, quotes, CRLF, value targets, ';'.
put("csv", "labels", two_files(0, b"a,b,label\n1,2,0\n3,4.5,1\n-1,2e3,2\n", b""))
put("csv", "quoted-crlf", two_files(64, b"\"x\",\"y\",\"c\"\r\n\"1.5\",2,1\r\n\r\n3,4,0\r\n",
                                    b"1,2,1\n"))
put("csv", "targets", two_files(16 | 128 | 2, b"1,2,0.5,0.25\n3,4,1.5,2.5\n", b""))
put("csv", "semicolon", two_files(32 | 4, b"1;2;3\n4;5;6\n", b""))

# Dataset and checkpoint: the valid templates alone, and a few operations on them.
put("dataset", "uint8", bytes([1, 0, 4]))
put("dataset", "float", bytes([2, 1, 2]))
put("dataset", "update", bytes([5, 0, 0]))
put("dataset", "new-file", bytes([0, 0, 0, 1, 1, 0, 2, 3, 0, 1, 2, 1, 2, 1, 2, 3, 4, 5, 6, 7]))
put("ckpt", "template", bytes([1]))
put("ckpt", "template-no-optim", bytes([3]))
put("ckpt", "history-replaced", bytes([1, 2, 1, 9, 2, 3, 8, 0]))

# Journal: a header and events of every kind.
put("journal", "events", b"nntrain-search 1 method=halving trials=4 space=0123456789abcdef "
    b"base=fedcba9876543210\nstart trial=1 rung=0 group=0\n"
    b"end trial=1 rung=0 group=0 outcome=ok status=0 paused=1 epochs=1 best_epoch=1 "
    b"metric=0.5 seconds=1.250 reason=\n"
    b"end trial=2 rung=0 group=1 outcome=failed status=4 paused=0 epochs=0 best_epoch=0 "
    b"metric=nan seconds=0.100 reason=non-finite loss\nstart trial=3 rung=1 gro")

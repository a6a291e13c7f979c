"""Builds datasets/fashion-strips.h5 for sequence reading with CTC: strips of 1 to 5
Fashion-MNIST images side by side (left-aligned on a 28 x 140 canvas, the rest background),
read left to right in steps of 4 pixel columns: x is N x 35 x 112 (steps x features, uint8
with scale 1/255), y the images' classes + 1 (0 is the CTC blank), N x 5 float, padded with -1.
Train strips use only images of the train split, test strips only the test split.

    /usr/bin/python3 datasets/fashion_strips.py [--source datasets/fashion-mnist.h5]
        [--out datasets/fashion-strips.h5] [--train 20000] [--test 2000] [--seed 1]
"""
import argparse

import h5py
import numpy as np

MAX_IMAGES, SIDE, COLUMNS_PER_STEP = 5, 28, 4


def strips(images, labels, count, rng):
    steps = MAX_IMAGES * SIDE // COLUMNS_PER_STEP
    x = np.zeros((count, steps, COLUMNS_PER_STEP * SIDE), np.uint8)
    y = -np.ones((count, MAX_IMAGES), np.float32)
    for n in range(count):
        k = rng.integers(1, MAX_IMAGES + 1)
        pick = rng.integers(0, len(images), k)
        canvas = np.zeros((SIDE, MAX_IMAGES * SIDE), np.uint8)
        canvas[:, :k * SIDE] = np.concatenate([images[i].reshape(SIDE, SIDE) for i in pick],
                                              axis=1)
        # columns become steps; each step holds COLUMNS_PER_STEP columns, top to bottom
        x[n] = canvas.T.reshape(steps, COLUMNS_PER_STEP * SIDE)
        y[n, :k] = labels[pick] + 1
    return x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="datasets/fashion-mnist.h5")
    parser.add_argument("--out", default="datasets/fashion-strips.h5")
    parser.add_argument("--train", type=int, default=20000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    tmp = args.out + ".tmp"
    with h5py.File(args.source, "r") as src, h5py.File(tmp, "w") as out:
        for split, count in (("train", args.train), ("test", args.test)):
            x, y = strips(src[split + "/x"][()], src[split + "/y"][()].astype(np.int64), count,
                          rng)
            d = out.create_dataset(split + "/x", data=x, chunks=(min(256, count),) + x.shape[1:])
            d.attrs["scale"] = np.float32(1 / 255)
            d.attrs["offset"] = np.float32(0)
            out[split + "/y"] = y
    import os
    os.replace(tmp, args.out)
    print(f"{args.out}: {args.train} train and {args.test} test strips of 1-{MAX_IMAGES} images, "
          f"x {x.shape[1:]} per strip")


if __name__ == "__main__":
    main()

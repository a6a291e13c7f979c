"""The cars table of Debian's python3-vega-datasets as CSV files for `nntrain import csv`:
origin (USA, Japan, Europe: 245, 79 and 68 of the 392 complete rows, an imbalanced
3-class problem) from miles per gallon, cylinders, displacement, horsepower, weight,
acceleration and model year. A fixed random 30% of the rows is the test split; features are
standardized with the training rows' mean and deviation.

    /usr/bin/python3 datasets/cars_origin.py      # datasets/cars-train.csv, cars-test.csv
    nntrain import csv --train datasets/cars-train.csv --test datasets/cars-test.csv \
        -o datasets/cars.h5
"""
import json
import os

import numpy as np

SOURCE = "/usr/lib/python3/dist-packages/vega_datasets/_data/cars.json"
FEATURES = ["Miles_per_Gallon", "Cylinders", "Displacement", "Horsepower", "Weight_in_lbs",
            "Acceleration", "Year"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(SOURCE) as f:
        cars = [c for c in json.load(f) if all(c[k] is not None for k in FEATURES + ["Origin"])]
    x = np.array([[float(c[k][:4]) if k == "Year" else float(c[k]) for k in FEATURES]
                  for c in cars])
    origin = [c["Origin"] for c in cars]
    order = np.random.default_rng(0).permutation(len(cars))
    n_test = int(0.3 * len(cars))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0)
    x = (x - mean) / std
    for name, rows in (("cars-train.csv", train), ("cars-test.csv", test)):
        with open(os.path.join(here, name), "w") as f:
            f.write(",".join(FEATURES + ["Origin"]) + "\n")
            for r in sorted(rows):
                f.write(",".join(f"{v:.6f}" for v in x[r]) + f",{origin[r]}\n")
    counts = {o: origin.count(o) for o in sorted(set(origin))}
    print(f"{len(train)} train, {len(test)} test rows; classes {counts}")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Imports Debian's Fashion-MNIST (package dataset-fashion-mnist) into nntrain's HDF5 layout.
#   datasets/import-fashion-mnist.sh [NNTRAIN] [OUT.h5]
set -euo pipefail
nntrain=${1:-build/nntrain}
out=${2:-datasets/fashion-mnist.h5}
src=/usr/share/datasets/fashion-mnist
if [ ! -f "$src/train-images-idx3-ubyte.gz" ]; then
    echo "import-fashion-mnist: $src is missing; install the dataset-fashion-mnist package" >&2
    exit 3
fi
if [ -f "$out" ]; then
    echo "import-fashion-mnist: $out already exists"
    exit 0
fi
"$nntrain" import idx \
    --images "$src/train-images-idx3-ubyte.gz" --labels "$src/train-labels-idx1-ubyte.gz" \
    --test-images "$src/t10k-images-idx3-ubyte.gz" --test-labels "$src/t10k-labels-idx1-ubyte.gz" \
    -o "$out"

#!/usr/bin/env bash
# On a fresh Debian 12 machine: install, build, import Fashion-MNIST, train the example MLP
# and print its test accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
datasets/import-fashion-mnist.sh build/nntrain datasets/fashion-mnist.h5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
build/nntrain train launch/configs/mlp.yaml "$@"

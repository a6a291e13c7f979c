#!/usr/bin/env bash
# Installs what nntrain needs on Debian 12 and builds it (build/nntrain).
#   launch/setup.sh [--tests]   --tests also installs PyTorch/h5py for the reference checks
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(build-essential cmake pkg-config libopenblas-dev libhdf5-dev libopenmpi-dev
          openmpi-bin libcmocka-dev libyaml-dev zlib1g-dev dataset-fashion-mnist help2man)
if [ "${1:-}" = "--tests" ]; then
    packages+=(python3-torch python3-h5py python3-numpy hdf5-tools clang libomp-dev
              python3-onnx chromium python3-pil)
    packages+=(python3-vega-datasets) # the Seattle temperatures and cars examples
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"

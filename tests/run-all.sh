#!/usr/bin/env bash
# The whole test suite: install what it needs, build twice (release, and ASan+UBSan with clang
# for the unit tests and the fuzz smoke) and run everything through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh --tests
# The reference tests import Debian's python3-torch and python3-h5py: its interpreter first,
# ahead of any other python3 on PATH.
export PATH="/usr/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
(cd build && ctest --output-on-failure -j"$jobs")
# The sanitizer build is clang's, so that it also builds the fuzz harnesses (tests/fuzz): their
# smoke (every seed and regression input, then a few seconds of fuzzing each) runs with the
# unit tests.
CC=clang cmake -S . -B build-asan -DNN_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -j"$jobs" -L 'unit|fuzz')

#!/usr/bin/env bash
# run_fuzz.sh HARNESS WORK_DIR CORPUS_DIR SECONDS [SEED]: replays every input of CORPUS_DIR
# (seeds and the regression inputs of bugs found), then fuzzes for SECONDS, keeping new inputs
# in WORK_DIR; SEED fixes libFuzzer's random sequence (the suite's smoke passes one, so that
# it explores the same inputs on every run; the long runs draw a new one). Prints the executions done; a crash, leak, timeout or out-of-memory fails (the
# input is left in WORK_DIR as crash-*, leak-*, timeout-* or oom-*).
set -euo pipefail
harness=$1 work=$2 corpus=$3 seconds=$4 seed=${5:-0}
mkdir -p "$work"
# The loaders write and fsync HDF5 files: on tmpfs that costs nothing.
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
# One thread: idle OpenMP/BLAS workers spin and take the CPU from the input being run.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
log="$work/log.txt"
# 2 GiB is libFuzzer's default RSS limit; -malloc_limit_mb makes one huge allocation a
# finding of its own (a file header must not be able to ask for gigabytes).
if ! "$harness" "$work" "$corpus" -max_total_time="$seconds" -seed="$seed" -timeout=60 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -max_len=8192 -artifact_prefix="$work/" -print_final_stats=1 \
        > "$log" 2>&1; then
    tail -60 "$log"
    echo "$(basename "$harness"): FAILED (inputs in $work)"
    exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
echo "$(basename "$harness"): ${execs:-?} executions in ${seconds}s, no finding"

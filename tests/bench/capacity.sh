#!/bin/bash
# capacity BENCH_MLP: prints how many cores' worth of compute this machine gives two processes
# at once. On a virtual machine the two vCPUs may share one physical core with other guests,
# and that changes over minutes: a 2-core figure is only meaningful next to this one.
# Runs bench_mlp's single-thread step alone on core 0, then on cores 0 and 1 at once.
capacity() {
    local bench=$1 args=(--threads 1 --steps 40 --repeats 5 --warmup 10 --no-data --no-gemm)
    local solo a b
    solo=$(taskset -c 0 "$bench" "${args[@]}" | sed -n 's/^RESULT samples_per_s=\([0-9.]*\).*/\1/p')
    a=$(mktemp)
    taskset -c 0 "$bench" "${args[@]}" >"$a" &
    b=$(taskset -c 1 "$bench" "${args[@]}" | sed -n 's/^RESULT samples_per_s=\([0-9.]*\).*/\1/p')
    wait
    a_rate=$(sed -n 's/^RESULT samples_per_s=\([0-9.]*\).*/\1/p' "$a")
    rm -f "$a"
    awk -v s="$solo" -v a="$a_rate" -v b="$b" 'BEGIN {
        printf "parallel capacity: %.2f cores (one process alone %.0f samples/s; two at once %.0f + %.0f)\n",
               (a + b) / s, s, a, b }'
}

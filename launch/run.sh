#!/usr/bin/env bash
# Run nntrain with mpirun on a machine without SLURM, choosing ranks x threads for the node.
#
#   launch/run.sh [-n RANKS] [-t THREADS] train|search CONFIG.yaml [nntrain arguments...]
#
# Defaults: one rank per 2 cores (at least 1) and cores / ranks threads per rank, so
# ranks x threads equals the cores this process may use (taskset / cgroup limits included).
set -euo pipefail
cd "$(dirname "$0")/.."
cores=$(nproc)
ranks=""
threads=""
while getopts "n:t:" opt; do
    case $opt in
        n) ranks=$OPTARG ;;
        t) threads=$OPTARG ;;
        *) echo "usage: launch/run.sh [-n RANKS] [-t THREADS] train|search CONFIG.yaml [args...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: launch/run.sh [-n RANKS] [-t THREADS] train|search CONFIG.yaml [args...]" >&2; exit 2; }
[ -n "$ranks" ] || ranks=$(( cores >= 2 ? cores / 2 : 1 ))
[ -n "$threads" ] || threads=$(( cores / ranks >= 1 ? cores / ranks : 1 ))
if [ $((ranks * threads)) -gt "$cores" ]; then
    echo "launch/run.sh: $ranks ranks x $threads threads oversubscribes $cores cores" >&2
fi
nntrain=${NNTRAIN:-build/nntrain}
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-run-as-root)
[ "$ranks" -gt "$cores" ] && extra+=(--oversubscribe)
echo "launch/run.sh: $ranks ranks x $threads threads on $cores cores"
command=$1
shift
exec mpirun "${extra[@]}" -np "$ranks" --bind-to none "$nntrain" "$command" "$@" \
    --set "train.threads=$threads"

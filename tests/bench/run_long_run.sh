#!/bin/bash
# Long runs do not grow: the example MLP for 100 epochs and the example CNN for 20 on the full
# Fashion-MNIST training split (60,000 rows), checkpoints every epoch, with each rank's
# resident memory and open file descriptors sampled every half second. After the first
# epoch both must stay flat (RSS within 5% + 8 MiB of its peak in the first epoch, no more
# descriptors at rest), and no temporary file may be left in the run directory or in TMPDIR.
#     cmake --build build --target long-run
#     NN_LONG_RUNS=cnn NN_LONG_NP=2 bash tests/bench/run_long_run.sh    (the CNN on 2 ranks)
#     NN_LONG_MLP_EPOCHS=10 NN_LONG_ROWS=6000 bash tests/bench/run_long_run.sh   (a shorter run)
# NN_LONG_RUNS picks the runs (default "mlp cnn"), NN_LONG_NP the ranks (default 1, more run
# under mpirun), NN_LONG_ROWS the training rows (default all), NN_LONG_THREADS train.threads
# (default the config's), NN_LONG_OUT a directory that keeps each run's samples (NAME.tsv:
# seconds, epochs done, rank, RSS KiB, fds) and output. The data is the repository's
# datasets/fashion-mnist.h5 when it is there, imported from the IDX files otherwise.
set -euo pipefail
: "${NNTRAIN:?NNTRAIN must point at the nntrain binary}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-long.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
# The runs get a TMPDIR of their own, to find whatever they leave there.
mkdir tmp
data=$SOURCE_DIR/datasets/fashion-mnist.h5
if [ ! -f "$data" ]; then
    src=/usr/share/datasets/fashion-mnist
    "$NNTRAIN" import idx --images $src/train-images-idx3-ubyte.gz \
        --labels $src/train-labels-idx1-ubyte.gz --test-images $src/t10k-images-idx3-ubyte.gz \
        --test-labels $src/t10k-labels-idx1-ubyte.gz -o fashion.h5 > /dev/null
    data=$WORK/fashion.h5
fi
settings=()
[ -z "${NN_LONG_ROWS:-}" ] || settings=(--set "data.train_rows=[0, $NN_LONG_ROWS]")
[ -z "${NN_LONG_THREADS:-}" ] || settings+=(--set "train.threads=$NN_LONG_THREADS")
np=${NN_LONG_NP:-1}
launch=()
[ "$np" -eq 1 ] || launch=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$np")
status=0

# long_run NAME CONFIG EPOCHS: trains, sampling "seconds epochs rank rss_kib fds" of every
# rank into NAME.tsv.
long_run() {
    local name=$1 config=$2 epochs=$3
    if [ -n "${NN_LONG_OUT:-}" ]; then
        mkdir -p "$NN_LONG_OUT"
        ln -sf "$NN_LONG_OUT/$name.tsv" "$name.tsv"
        ln -sf "$NN_LONG_OUT/$name.out" "$name.out"
    fi
    TMPDIR=$WORK/tmp "${launch[@]}" "$NNTRAIN" train "$config" --set data.path="$data" \
        "${settings[@]}" --set train.epochs="$epochs" --set train.checkpoint.every=1 \
        --run-dir "runs/$name" > "$name.out" 2>&1 &
    local job=$! start=$SECONDS
    : > "$name.tsv"
    while kill -0 $job 2> /dev/null; do
        local pids rank=0 rss fds done_epochs=0
        # The ranks: the job itself, or mpirun's children in process-id order (rank 0, the
        # one writing the run's files, first: it holds the most descriptors).
        if [ "$np" -eq 1 ]; then pids=$job; else pids=$(pgrep -P $job || true); fi
        [ -f "runs/$name/metrics.csv" ] && done_epochs=$(( $(wc -l < "runs/$name/metrics.csv") - 1 ))
        for pid in $pids; do
            rss=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status 2> /dev/null || true)
            fds=$(find /proc/$pid/fd -mindepth 1 -maxdepth 1 2> /dev/null | wc -l)
            [ -n "$rss" ] && echo "$((SECONDS - start)) $done_epochs $rank $rss $fds" >> "$name.tsv"
            rank=$((rank + 1))
        done
        sleep 0.5
    done
    wait $job || { cat "$name.out"; echo "$name: training failed"; status=1; return; }
    # Per rank and epoch: the largest RSS, and the fewest descriptors (a checkpoint being
    # written holds one more for a moment; a leak holds it for good).
    awk -v name="$name" '
        { key = $3 SUBSEP $2
          if ($4 > rss[key]) rss[key] = $4
          if (!(key in fds) || $5 < fds[key]) fds[key] = $5
          if ($2 > last) last = $2
          if ($3 > ranks) ranks = $3 }
        END {
            grew = 0
            printf "%s: rank  epoch  rss_MiB  fds\n", name
            for (r = 0; r <= ranks; r++) {
                base = rss[r, 1]; basefd = fds[r, 1]; worst = 0; worstfd = 0
                for (e = 0; e <= last; e++) if ((r, e) in rss) {
                    if (e <= 3 || e % 10 == 0 || e % 25 == 0 || e == last)
                        printf "%s: %4d  %5d  %7.1f  %3d\n", name, r, e, rss[r, e] / 1024, fds[r, e]
                    if (e >= 1 && rss[r, e] > worst) worst = rss[r, e]
                    if (e >= 1 && fds[r, e] > worstfd) worstfd = fds[r, e]
                }
                printf "%s: rank %d after epoch 1: rss %.1f MiB, peak later %.1f MiB (%+.1f%%), at the last epoch %.1f MiB; fds %d, most later %d, at the last epoch %d\n",
                       name, r, base / 1024, worst / 1024, 100 * (worst - base) / base,
                       rss[r, last] / 1024, basefd, worstfd, fds[r, last]
                if (worst > base * 1.05 + 8192 || worstfd > basefd) grew = 1
            }
            exit grew
        }' "$name.tsv" || { echo "$name: memory or descriptors grew"; status=1; }
    if find "runs/$name" -name '*.tmp' | grep . > /dev/null; then
        echo "$name: temporary files left in the run directory"; status=1
    fi
    if find tmp -mindepth 1 | grep . > /dev/null; then
        echo "$name: left in TMPDIR: $(find tmp -mindepth 1 | head -5 | tr '\n' ' ')"; status=1
    fi
    echo "$name: $(ls "runs/$name" | tr '\n' ' ')"
}

for run in ${NN_LONG_RUNS:-mlp cnn}; do
    case $run in
        mlp) long_run mlp "$SOURCE_DIR/launch/configs/mlp.yaml" "${NN_LONG_MLP_EPOCHS:-100}" ;;
        cnn) long_run cnn "$SOURCE_DIR/launch/configs/cnn.yaml" "${NN_LONG_CNN_EPOCHS:-20}" ;;
        *) echo "NN_LONG_RUNS: unknown run $run (mlp, cnn)"; exit 2 ;;
    esac
done
exit $status

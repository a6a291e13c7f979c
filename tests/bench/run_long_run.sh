#!/bin/bash
# Long runs do not grow: the example MLP for 100 epochs and the example CNN for 20, checkpoints
# every epoch, with the process's resident memory and open file descriptors sampled every
# half second. After the first epoch both must stay flat (RSS within 5% + 8 MiB of its
# peak in the epoch after the first, no more descriptors at rest), and no temporary file may
# be left.
#     cmake --build build --target long-run
#     NN_LONG_MLP_EPOCHS=10 NN_LONG_ROWS=6000 bash tests/bench/run_long_run.sh   (a shorter run)
set -euo pipefail
: "${NNTRAIN:?NNTRAIN must point at the nntrain binary}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-long.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
src=/usr/share/datasets/fashion-mnist
"$NNTRAIN" import idx --images $src/train-images-idx3-ubyte.gz \
    --labels $src/train-labels-idx1-ubyte.gz --test-images $src/t10k-images-idx3-ubyte.gz \
    --test-labels $src/t10k-labels-idx1-ubyte.gz -o fashion.h5 > /dev/null
rows=${NN_LONG_ROWS:-60000}
status=0

# long_run NAME CONFIG EPOCHS: trains, sampling "seconds epochs rss_kib fds" into NAME.tsv.
long_run() {
    local name=$1 config=$2 epochs=$3
    "$NNTRAIN" train "$config" --set data.path=fashion.h5 --set "data.train_rows=[0, $rows]" \
        --set train.epochs="$epochs" --set train.checkpoint.every=1 --run-dir "runs/$name" \
        > "$name.out" 2>&1 &
    local pid=$! start=$SECONDS
    : > "$name.tsv"
    while kill -0 $pid 2> /dev/null; do
        local rss fds done_epochs
        rss=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status 2> /dev/null || true)
        fds=$(ls /proc/$pid/fd 2> /dev/null | wc -l)
        done_epochs=0
        [ -f "runs/$name/metrics.csv" ] && done_epochs=$(( $(wc -l < "runs/$name/metrics.csv") - 1 ))
        [ -n "$rss" ] && echo "$((SECONDS - start)) $done_epochs $rss $fds" >> "$name.tsv"
        sleep 0.5
    done
    wait $pid || { cat "$name.out"; echo "$name: training failed"; status=1; return; }
    # Per epoch: the largest RSS, and the fewest descriptors (a checkpoint being written holds
    # one more for a moment; a leak holds it for good).
    awk -v name="$name" '
        { if ($3 > rss[$2]) rss[$2] = $3
          if (!($2 in fds) || $4 < fds[$2]) fds[$2] = $4
          last = $2 }
        END {
            base = rss[1]; basefd = fds[1]; worst = 0; worstfd = 0
            printf "%s: epoch  rss_MiB  fds\n", name
            for (e = 0; e <= last; e++) if (e in rss) {
                if (e <= 3 || e % 10 == 0 || e == last)
                    printf "%s: %5d  %7.1f  %3d\n", name, e, rss[e] / 1024, fds[e]
                if (e >= 1 && rss[e] > worst) worst = rss[e]
                if (e >= 1 && fds[e] > worstfd) worstfd = fds[e]
            }
            printf "%s: after epoch 1: rss %.1f MiB, peak later %.1f MiB (%+.1f%%), at the last epoch %.1f MiB; fds %d, most later %d, at the last epoch %d\n",
                   name, base / 1024, worst / 1024, 100 * (worst - base) / base, rss[last] / 1024, basefd, worstfd, fds[last]
            if (worst > base * 1.05 + 8192 || worstfd > basefd) exit 1
        }' "$name.tsv" || { echo "$name: memory or descriptors grew"; status=1; }
    if ls "runs/$name" | grep -q '\.tmp$'; then
        echo "$name: temporary files left"; status=1
    fi
    echo "$name: $(ls "runs/$name" | tr '\n' ' ')"
}

long_run mlp "$SOURCE_DIR/launch/configs/mlp.yaml" "${NN_LONG_MLP_EPOCHS:-100}"
long_run cnn "$SOURCE_DIR/launch/configs/cnn.yaml" "${NN_LONG_CNN_EPOCHS:-20}"
exit $status

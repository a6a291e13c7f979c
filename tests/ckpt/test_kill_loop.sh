# SIGKILL at random moments, checkpoints every step so many kills land inside a write: after
# each kill every *.h5 in the run directory validates, and resuming to the end gives the
# weights of an uninterrupted run, bit for bit.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
iterations=${NN_KILL_ITERATIONS:-20}
# NN_KILL_RANKS=2 runs every training on 2 ranks and kills one of them (the job then ends).
ranks=${NN_KILL_RANKS:-1}
launch=("$NNTRAIN")
[ "$ranks" -eq 1 ] || launch=($MPIRUN -np "$ranks" "$NNTRAIN")
settings=(--set train.epochs=4 --set train.checkpoint.every_steps=3)
"${launch[@]}" train small.yaml "${settings[@]}" --run-dir runs/full > /dev/null
"${launch[@]}" train small.yaml "${settings[@]}" --set train.epochs=1 --run-dir runs/killed > /dev/null
RANDOM=12345
finished=0
for i in $(seq "$iterations"); do
    "${launch[@]}" train small.yaml "${settings[@]}" --resume runs/killed > run$i.txt 2>&1 &
    pid=$!
    victim=$pid
    if [ "$ranks" -gt 1 ]; then
        # A rank (one of mpirun's children), never mpirun itself, whose ranks would live on.
        for _ in $(seq 100); do
            [ "$(pgrep -P $pid | wc -l)" -ge "$ranks" ] && break
            sleep 0.1
        done
    fi
    sleep "0.$(( RANDOM % 6 + 1 ))$(( RANDOM % 10 ))"
    if [ "$ranks" -gt 1 ]; then
        victim=$(pgrep -P $pid | sed -n "$(( RANDOM % ranks + 1 ))p" || true)
    fi
    [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null || true
    wait $pid 2>/dev/null || true
    for f in runs/killed/*.h5; do
        "$NNTRAIN" verify "$f" > /dev/null || fail "iteration $i: $f does not validate"
    done
    if grep -q "^test:" run$i.txt; then finished=$((finished + 1)); fi
done
# Finish whatever is left (a finished run refuses to resume further, which is fine).
"${launch[@]}" train small.yaml "${settings[@]}" --resume runs/killed > final.txt 2>&1 || \
    grep -q "already finished" final.txt || { cat final.txt; fail "final resume"; }
$COMPARE runs/full/last.h5 runs/killed/last.h5 --exact --groups params,state,optim \
    || fail "killed-and-resumed weights differ"
[ "$(cut -d, -f1 runs/killed/metrics.csv | tr '\n' ' ')" = "epoch 1 2 3 4 " ] \
    || { cat runs/killed/metrics.csv; fail "metrics.csv after kills"; }
echo "$iterations kills on $ranks rank(s), every checkpoint complete, final weights exact"

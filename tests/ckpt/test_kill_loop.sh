# SIGKILL at random moments, a checkpoint every 3 steps so that many kills land inside a
# write: after each kill every *.h5 in the run directory validates. The run is resumed under
# kills until it finishes, when its weights must equal an uninterrupted run's bit for bit,
# and a new round starts, until NN_KILL_ITERATIONS kills (default 20) have ended a training.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
iterations=${NN_KILL_ITERATIONS:-20} # kills that end a running training
# NN_KILL_RANKS=2 runs every training on 2 ranks and kills one of them (the job then ends).
ranks=${NN_KILL_RANKS:-1}
launch=("$NNTRAIN")
[ "$ranks" -eq 1 ] || launch=($MPIRUN -np "$ranks" "$NNTRAIN")
settings=(--set train.epochs=4 --set train.checkpoint.every_steps=3)
"${launch[@]}" train small.yaml "${settings[@]}" --run-dir runs/full > /dev/null
# Every round starts from this run after its first epoch and is resumed under kills until it
# finishes; a finished round is compared with the uninterrupted run and the next starts over,
# until $iterations kills have ended a training.
"${launch[@]}" train small.yaml "${settings[@]}" --set train.epochs=1 --run-dir runs/start > /dev/null
cp -a runs/start runs/killed
# finish_round: the weights equal the uninterrupted run's bit for bit, metrics.csv is whole.
rounds=0
finish_round() {
    $COMPARE runs/full/last.h5 runs/killed/last.h5 --exact --groups params,state,optim \
        || fail "round $((rounds + 1)): killed-and-resumed weights differ"
    [ "$(cut -d, -f1 runs/killed/metrics.csv | tr '\n' ' ')" = "epoch 1 2 3 4 " ] \
        || { cat runs/killed/metrics.csv; fail "metrics.csv after kills"; }
    rounds=$((rounds + 1))
    rm -rf runs/killed
    cp -a runs/start runs/killed
}
RANDOM=12345
kills=0 started=0
while [ "$kills" -lt "$iterations" ]; do
    started=$((started + 1))
    [ "$started" -le $(( iterations * 5 )) ] || fail "only $kills of $started runs were killed"
    i=$started
    resumed=$(grep -c '^resuming' runs/killed/log.txt || true)
    "${launch[@]}" train small.yaml "${settings[@]}" --resume runs/killed > run$i.txt 2>&1 &
    pid=$!
    victim=$pid
    # The kill comes at a random moment after the run has resumed (its line in log.txt),
    # so that it lands in training, not in the start-up.
    for _ in $(seq 1200); do
        [ "$(grep -c '^resuming' runs/killed/log.txt || true)" -gt "$resumed" ] && break
        kill -0 $pid 2> /dev/null || break
        sleep 0.05
    done
    sleep "0.$(( RANDOM % 6 + 1 ))$(( RANDOM % 10 ))"
    if [ "$ranks" -gt 1 ]; then
        # A rank (one of mpirun's children), never mpirun itself, whose ranks would live on.
        victim=$(pgrep -P $pid | sed -n "$(( RANDOM % ranks + 1 ))p" || true)
    fi
    [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null || true
    code=0
    wait $pid 2>/dev/null || code=$?
    for f in runs/killed/*.h5; do
        "$NNTRAIN" verify "$f" > /dev/null || fail "run $i: $f does not validate"
    done
    if grep -q "^test:" run$i.txt || grep -q "already finished" run$i.txt; then
        finish_round
    elif [ "$code" -ne 0 ]; then
        kills=$((kills + 1))
    else
        cat run$i.txt
        fail "run $i ended with exit 0 without finishing"
    fi
    rm -f run$i.txt
done
# Finish the last round.
"${launch[@]}" train small.yaml "${settings[@]}" --resume runs/killed > final.txt 2>&1 || \
    grep -q "already finished" final.txt || { cat final.txt; fail "final resume"; }
finish_round
echo "$kills kills on $ranks rank(s) in $started runs; every checkpoint complete after each;" \
     "$rounds runs finished through the kills, each with the uninterrupted run's weights bit for bit"

# SIGTERM / SIGUSR1 / SIGINT: finish the step, write last.h5, exit 0 with a resume hint; the
# resumed run ends with the weights of an uninterrupted one. A second SIGINT exits at once.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml
"$NNTRAIN" train small.yaml --set train.epochs=6 --run-dir runs/full > /dev/null

wait_for_epoch() {
    for _ in $(seq 200); do grep -q "^epoch $2/" "$1" && return 0; sleep 0.05; done
    fail "no epoch $2 line in $1"
}

# One process, SIGTERM.
"$NNTRAIN" train small.yaml --set train.epochs=6 --run-dir runs/term > term.txt 2>&1 &
pid=$!
wait_for_epoch term.txt 1
kill -TERM $pid
code=0; wait $pid || code=$?
[ "$code" -eq 0 ] || { cat term.txt; fail "SIGTERM exit code $code"; }
grep -q "resume with: nntrain train small.yaml --resume runs/term" term.txt || fail "resume hint"
"$NNTRAIN" verify runs/term/last.h5 > /dev/null || fail "last.h5 after SIGTERM"
"$NNTRAIN" train small.yaml --set train.epochs=6 --resume runs/term > /dev/null
$COMPARE runs/full/last.h5 runs/term/last.h5 --exact --groups params,state,optim || fail "SIGTERM resume"

# Two ranks, SIGUSR1 to one rank only: both stop after the same step.
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.epochs=6 --run-dir runs/usr1 > usr1.txt 2>&1 &
job=$!
wait_for_epoch usr1.txt 1
victim=$(pgrep -f "run-dir runs/usr1" | grep -v "^$job\$" | tail -1)
kill -USR1 "$victim"
code=0; wait $job || code=$?
[ "$code" -eq 0 ] || { cat usr1.txt; fail "SIGUSR1 exit code $code"; }
grep -q "resume with" usr1.txt || fail "no resume hint after SIGUSR1"
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.epochs=6 --run-dir runs/full2 > /dev/null
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.epochs=6 --resume runs/usr1 > /dev/null
$COMPARE runs/full2/last.h5 runs/usr1/last.h5 --exact --groups params,state,optim || fail "SIGUSR1 resume"

# A second SIGINT exits at once; only complete checkpoints remain.
"$NNTRAIN" train small.yaml --set train.epochs=50 --set train.checkpoint.every_steps=1 \
    --run-dir runs/int > int.txt 2>&1 &
pid=$!
wait_for_epoch int.txt 1
kill -INT $pid; kill -INT $pid
code=0; wait $pid || code=$?
[ "$code" -eq 0 ] || [ "$code" -eq 130 ] || fail "double SIGINT exit code $code"
for f in runs/int/*.h5; do "$NNTRAIN" verify "$f" > /dev/null || fail "$f incomplete"; done
echo "signals stop cleanly"

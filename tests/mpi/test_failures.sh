# A job never hangs: a rank killed by a signal ends the job within seconds; a data error on
# one rank ends it with that rank's message; the watchdog aborts a stuck collective.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > small.yaml

# Kill one rank of a 2-rank run mid-epoch, with the gradients summed through shared memory
# (the default on one node) and through MPI.
for transport in auto mpi; do
    : > kill.txt
    $MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.epochs=200 --set train.allreduce=$transport \
        --run-dir runs/kill-$transport > kill.txt 2>&1 &
    job=$!
    # kill.txt is emptied here, not by the background job's redirection, which happens only
    # once that job has started: a stale epoch line from the last run must not count.
    victim=""
    for _ in $(seq 200); do
        victim=$(pgrep -f "nntrain train small.yaml --set train.epochs=200" | grep -v "^$job\$" | tail -1 || true)
        [ -n "$victim" ] && grep -q '^epoch 1/' kill.txt && break
        sleep 0.1
    done
    [ -n "$victim" ] || { cat kill.txt; fail "$transport: no rank process found"; }
    kill -9 "$victim"
    start=$(date +%s)
    code=0
    wait $job || code=$?
    elapsed=$(( $(date +%s) - start ))
    [ "$code" -ne 0 ] || fail "$transport: job exited 0 after a rank was killed"
    [ "$elapsed" -le 10 ] || fail "$transport: job took ${elapsed}s to end after a rank was killed"
    echo "killed rank ($transport): job ended in ${elapsed}s with exit $code"
done

# A data error on rank 1 only.
expect_exit 3 $MPIRUN -np 2 "$NNTRAIN" train small.yaml --rank-set 1:data.path=/nonexistent/x.h5
grep -q "rank 1: /nonexistent/x.h5" err.txt || { cat err.txt; fail "rank 1's data error not reported"; }

# A config error on every rank: exit 2, one line per rank naming the key.
expect_exit 2 $MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.optimizer.lr=-1
grep -q "lr must be > 0" err.txt || fail "config error message"
echo "failures end the job promptly"

# A rank that stops answering (world rank 1, before step 6 of epoch 1): the watchdog names it
# and aborts the job, whichever way the gradients are summed. Batchnorm is not synchronized
# here, so that the first collective the other rank waits in is the gradient sum.
: "${STALL_RANK:?STALL_RANK must point at the stall_rank test program (run through ctest)}"
small_config | sed 's/sync: true/sync: false/' > unsynced.yaml
grep -q "sync: false" unsynced.yaml || fail "unsynced.yaml: no batchnorm to unsynchronize"
for transport in auto mpi; do
    start=$(date +%s)
    code=0
    $MPIRUN -np 2 "$STALL_RANK" unsynced.yaml 1 5 runs/stuck-$transport train.watchdog_seconds=3 \
        train.allreduce=$transport > stuck.txt 2>&1 || code=$?
    elapsed=$(( $(date +%s) - start ))
    [ "$code" -ne 0 ] || fail "$transport: stuck job exited 0"
    grep -q "rank 0: gradient allreduce at epoch 1, step 6 has not completed after 3 s; ranks that have not arrived: 1;" stuck.txt \
        || { cat stuck.txt; fail "$transport: watchdog message"; }
    [ "$elapsed" -le 30 ] || fail "$transport: watchdog took ${elapsed}s"
    echo "watchdog ($transport) ended a stuck job in ${elapsed}s"
done

# Killing a search and running the same command again: SIGTERM (the running trials
# checkpoint and stop, exit 0) and SIGKILL of the whole job at np=2, SIGKILL of a single
# process. Finished trials are not re-run, interrupted ones continue from their checkpoints,
# and the final table equals an uninterrupted search's. A job that died between a trial's
# end and its record, a torn journal line and a trial that keeps taking the job down are
# handled; a changed search space or base config is refused.
source "$(dirname "$0")/../e2e/lib.sh"
small_config > base.yaml
{ cat base.yaml; cat <<'YAML'
search:
  method: grid
  metric: val_accuracy
  parameters:
    train.optimizer.type: [sgd, adam]
    model.init: [glorot_uniform, he_normal]
    train.optimizer.lr: [0.01, 0.05]
YAML
} > grid.yaml
SET="--set train.threads=1 --set train.epochs=5"
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/ref > ref.txt
table() { tail -n +2 "$1" | cut -d, -f1-8; } # without wall time and group

count() { grep -c "$1" "$2" 2>/dev/null || true; } # pattern journal: 0 before the journal exists
wait_for_ends() { # journal count
    for _ in $(seq 600); do
        [ "$(count '^end' "$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    fail "$1: fewer than $2 trials ended"
}
starts() { count "^start trial=$2 " "$1"; }
# signal_mid_trial SIGNAL journal pid...: sends the signal while the journal shows a trial
# that started and has not ended. The processes are stopped before the journal is read, so
# the trial cannot end between the look and the signal.
signal_mid_trial() {
    local signal=$1 journal=$2
    shift 2
    for _ in $(seq 600); do
        kill -STOP "$@"
        if [ "$(count '^start' "$journal")" -gt "$(count '^end' "$journal")" ]; then
            kill "-$signal" "$@"
            kill -CONT "$@" 2>/dev/null || true
            return 0
        fi
        kill -CONT "$@"
        sleep 0.02
    done
    fail "$journal: no trial was running in 12 s"
}

# SIGTERM to every rank (as SLURM does): the running trials checkpoint and stop.
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/term > term1.txt 2>&1 &
job=$!
wait_for_ends s/term/journal 2
signal_mid_trial TERM s/term/journal $(pgrep -P $job)
code=0; wait $job || code=$?
[ "$code" -eq 0 ] || { cat term1.txt; fail "SIGTERM: exit $code"; }
grep -q "search stopped with [1-9] trials\? to go; run the same command again to resume it" term1.txt \
    || { cat term1.txt; fail "SIGTERM: no resume hint"; }
grep -q "outcome=interrupted" s/term/journal || fail "SIGTERM: no trial was interrupted"
done_before=$(grep '^end.*outcome=ok' s/term/journal | sed 's/.*trial=\([0-9]*\) .*/\1/')
for t in $(grep '^end.*outcome=interrupted' s/term/journal | sed 's/.*trial=\([0-9]*\) .*/\1/'); do
    "$NNTRAIN" verify s/term/trial-00$t/last.h5 > /dev/null || fail "interrupted trial $t has no checkpoint"
done
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/term > term2.txt
grep -q "^resuming: " term2.txt || fail "SIGTERM: the re-run did not say it resumes"
grep -q "from its checkpoint" term2.txt || { cat term2.txt; fail "no trial continued from its checkpoint"; }
for t in $done_before; do
    [ "$(starts s/term/journal $t)" -eq 1 ] || fail "finished trial $t ran again"
done
diff <(table s/ref/trials.csv) <(table s/term/trials.csv) || fail "SIGTERM + resume: table differs"

# SIGKILL of the whole job at np=2.
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/kill2 > kill2.txt 2>&1 &
job=$!
wait_for_ends s/kill2/journal 3
signal_mid_trial KILL s/kill2/journal $(pgrep -P $job) $job
wait $job || true
finished=$(grep -c '^end' s/kill2/journal)
[ "$finished" -lt 8 ] || fail "SIGKILL came too late"
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/kill2 > kill2b.txt
for t in $(grep '^end' s/kill2/journal | head -$finished | sed 's/.*trial=\([0-9]*\) .*/\1/'); do
    [ "$(starts s/kill2/journal $t)" -eq 1 ] || fail "np=2 SIGKILL: finished trial $t ran again"
done
diff <(table s/ref/trials.csv) <(table s/kill2/trials.csv) || fail "SIGKILL np=2 + resume: table differs"

# SIGKILL of a single process (no launcher), with a checkpoint every 10 steps.
"$NNTRAIN" search grid.yaml $SET --set train.checkpoint.every_steps=10 --set search.dir=s/kill1 > kill1.txt 2>&1 &
pid=$!
wait_for_ends s/kill1/journal 2
signal_mid_trial KILL s/kill1/journal $pid
wait $pid || true
"$NNTRAIN" search --status s/kill1 > status.txt
grep -q " started " status.txt || { cat status.txt; fail "--status does not show the trial the kill interrupted"; }
grep -q "^(started: " status.txt || fail "--status does not explain 'started'"
# A torn last line (the job died writing it) is cut off.
printf 'end trial=8 rung=0 gr' >> s/kill1/journal
"$NNTRAIN" search grid.yaml $SET --set train.checkpoint.every_steps=10 --set search.dir=s/kill1 > kill1b.txt
diff <(table s/ref/trials.csv) <(table s/kill1/trials.csv) || fail "SIGKILL np=1 + resume: table differs"
grep -q "^end trial=8 rung=0 gr$" s/kill1/journal && fail "the torn line is still there"

# The job died after a trial finished and before its end was recorded: the checkpoint
# already holds the result, which is recorded without training again.
cp -r s/ref s/window
grep -v '^end trial=8 ' s/ref/journal > s/window/journal
"$NNTRAIN" search grid.yaml $SET --set search.dir=s/window > window.txt
grep -q "^trial 8/8: its checkpoint already holds epoch 5; recording the result" window.txt \
    || { cat window.txt; fail "result not recovered from the checkpoint"; }
[ "$(starts s/window/journal 8)" -eq 1 ] || fail "trial 8 trained again"
diff <(table s/ref/trials.csv) <(table s/window/trials.csv) || fail "recovered table differs"

# A trial that was running each time the job died is given up after search.max_restarts.
cp -r s/ref s/crashy
grep -v '^end trial=3 ' s/ref/journal > s/crashy/journal
rm -f s/crashy/trial-003/*.h5
for _ in 1 2; do echo "start trial=3 rung=0 group=0" >> s/crashy/journal; done
"$NNTRAIN" search grid.yaml $SET --set search.dir=s/crashy --set search.max_restarts=2 > crashy.txt
grep -q "^trial 3/8 failed (error): the search ended 3 times while this trial was training (search.max_restarts: 2)" crashy.txt \
    || { cat crashy.txt; fail "crashing trial not given up"; }
grep -q '^3,.*,failed,' s/crashy/trials.csv || fail "crashing trial not recorded as failed"

# A finished search run again runs nothing and prints its leaderboard.
lines=$(wc -l < s/ref/journal)
$MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/ref > again.txt
[ "$(wc -l < s/ref/journal)" -eq "$lines" ] || fail "a finished search ran trials again"
grep -q "^best: trial" again.txt || fail "no leaderboard for a finished search"
# The ranks per trial may change; the space and the base config may not.
"$NNTRAIN" search grid.yaml $SET --set search.dir=s/ref --set search.coordinator_trains=true > /dev/null
sed 's/train.optimizer.lr: \[0.01, 0.05\]/train.optimizer.lr: [0.01, 0.02]/' grid.yaml > changed.yaml
expect_exit 2 "$NNTRAIN" search changed.yaml $SET --set search.dir=s/ref
grep -q "s/ref holds a search with a different search space (search.parameters.train.optimizer.lr\[1\]: 0.05 -> 0.02)" err.txt \
    || { cat err.txt; fail "changed space not refused"; }
expect_exit 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/ref --set model.layers[0].units=16
grep -q "different base config (model.layers\[0\].units: 64 -> 16)" err.txt || { cat err.txt; fail "changed base not refused"; }
expect_exit 2 $MPIRUN -np 2 "$NNTRAIN" search grid.yaml $SET --set search.dir=s/ref --set train.epochs=6
grep -q "different base config (train.epochs: 5 -> 6)" err.txt || { cat err.txt; fail "changed epochs not refused at np=2"; }
[ "$(wc -l < s/ref/journal)" -eq "$lines" ] || fail "a refused search wrote to the journal"
echo "killed searches resume to the uninterrupted table"

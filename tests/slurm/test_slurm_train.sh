# Against a real SLURM started here: a 2-task train.sbatch job gives the weights of the same
# training started with mpirun; a job that gets the early-warning signal mid-training
# checkpoints, is requeued, resumes and ends with the weights of an uninterrupted run.
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/cluster.sh"
trap 'slurm_cluster_stop; rm -rf "$WORK"' EXIT
slurm_cluster_start "$WORK/cluster"
export NNTRAIN
SBATCH="sbatch --parsable -p test --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=20 --chdir=$WORK"
script="$NN_SOURCE_DIR/launch/slurm/train.sbatch"
small_config > small.yaml

# Plain job.
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --run-dir runs/mpirun > mpirun.txt
id=$(NNTRAIN_RUN_DIR=runs/job $SBATCH -o job.out "$script" small.yaml)
state=$(slurm_wait_job "$id" 300)
[ "$state" = COMPLETED ] || { cat job.out; fail "job $id ended $state"; }
grep -q "^nntrain: 2 ranks" job.out || { cat job.out; fail "the job did not run 2 ranks"; }
$COMPARE runs/mpirun/last.h5 runs/job/last.h5 --exact || fail "sbatch and mpirun weights differ"

# Early warning mid-training: checkpoint, requeue, resume, same final weights.
$MPIRUN -np 2 "$NNTRAIN" train small.yaml --set train.epochs=12 --run-dir runs/mpirun12 > /dev/null
id=$(NNTRAIN_RUN_DIR=runs/warned $SBATCH -o warned.out "$script" small.yaml --set train.epochs=12)
for _ in $(seq 600); do grep -q '^epoch 2/' runs/warned/log.txt 2>/dev/null && break; sleep 0.1; done
grep -q '^epoch 2/' runs/warned/log.txt || { cat warned.out; fail "the job never reached epoch 2"; }
for _ in 1 2 3 4 5; do scancel --signal=USR1 --batch "$id" && break; sleep 0.5; done
# A requeued job waits for its begin time; start it now rather than in minutes.
for _ in $(seq 600); do
    info=$(scontrol show job "$id" 2>/dev/null || true)
    if echo "$info" | grep -q "Restarts=1"; then
        # The job may leave PENDING between the two commands: then the update is refused
        # and the next pass sees it running.
        if echo "$info" | grep -q "JobState=PENDING"; then
            scontrol update JobId="$id" StartTime=now 2>/dev/null || true
        fi
        echo "$info" | grep -qE "JobState=(RUNNING|COMPLETED)" && break
    fi
    sleep 0.2
done
state=$(slurm_wait_job "$id" 300)
[ "$state" = COMPLETED ] || { cat warned.out; fail "warned job ended $state"; }
grep -q "checkpoint written, requeueing" warned.out || { cat warned.out; fail "no requeue"; }
grep -q "restart 1," warned.out || { cat warned.out; fail "SLURM_RESTART_COUNT not shown"; }
grep -q "^resuming runs/warned" warned.out || { cat warned.out; fail "did not resume"; }
$COMPARE runs/mpirun12/last.h5 runs/warned/last.h5 --exact --groups params,state,optim \
    || fail "requeued job's weights differ from an uninterrupted run"
echo "SLURM jobs train, survive the warning signal and requeue exactly"

# A small grid through search.sbatch runs to completion.
cat small.yaml > grid.yaml
cat >> grid.yaml <<'YAML'
search:
  method: grid
  metric: {name: val_accuracy, goal: maximize}
  ranks_per_trial: 1
  parameters:
    train.optimizer.lr: {values: [0.001, 0.003]}
    train.epochs: {values: [1, 2]}
YAML
id=$(NNTRAIN_SEARCH_DIR=searches/grid $SBATCH -o search.out "$NN_SOURCE_DIR/launch/slurm/search.sbatch" grid.yaml)
state=$(slurm_wait_job "$id" 300)
[ "$state" = COMPLETED ] || { cat search.out; fail "search job ended $state"; }
[ "$(grep -c ',finished,' searches/grid/trials.csv)" -eq 4 ] || { cat searches/grid/trials.csv; fail "search.sbatch did not finish 4 trials"; }
[ -f searches/grid/best.yaml ] || fail "no best.yaml"
echo "search.sbatch ran a grid to completion"

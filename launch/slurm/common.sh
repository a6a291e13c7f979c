# Shared by the nntrain batch scripts (sourced): find nntrain and a launcher, run it in the
# background so signals reach this script, forward the early-warning signal, and requeue the
# job when nntrain stopped on it with a checkpoint.

NNTRAIN=${NNTRAIN:-$(command -v nntrain || echo "$SLURM_SUBMIT_DIR/build/nntrain")}
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-0}
# threads come from SLURM's CPU binding (nntrain reads its affinity mask); the explicit
# setting keeps OpenMP-using libraries in step.
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}

nntrain_job_banner() {
    echo "nntrain job ${SLURM_JOB_ID}: $1; restart ${SLURM_RESTART_COUNT:-0}," \
         "${SLURM_NTASKS:-1} tasks x ${SLURM_CPUS_PER_TASK:-1} cpus on ${SLURM_JOB_NODELIST:-?}"
}

# srun with PMIx where the cluster offers it, else mpirun inside the allocation.
nntrain_launcher() {
    if srun --mpi=list 2>&1 | grep -q pmix; then
        echo "srun --mpi=pmix --kill-on-bad-exit=1"
    else
        echo "mpirun --bind-to none"
    fi
}

# nntrain_run_requeueable OUTPUT PATTERN ARGS...: runs nntrain ARGS with its output copied to
# OUTPUT; on USR1/TERM forwards USR1 (finish the step, checkpoint, exit 0); if nntrain then
# printed PATTERN (it stopped before the end), requeues this job, which resumes by itself.
nntrain_run_requeueable() {
    local output=$1 pattern=$2
    shift 2
    local launcher signalled=0 code
    launcher=$(nntrain_launcher)
    mkdir -p "$(dirname "$output")"
    # shellcheck disable=SC2086
    $launcher "$NNTRAIN" "$@" > >(tee -a "$output") &
    local pid=$!
    trap 'signalled=1; kill -USR1 $pid 2>/dev/null' USR1 TERM
    while :; do
        wait "$pid"
        code=$?
        kill -0 "$pid" 2>/dev/null || break # wait was interrupted by a trapped signal
    done
    trap - USR1 TERM
    sleep 0.2 # let tee finish copying
    if [ "$signalled" = 1 ] && [ "$code" = 0 ] && grep -q "$pattern" "$output"; then
        echo "nntrain job ${SLURM_JOB_ID}: checkpoint written, requeueing"
        scontrol requeue "$SLURM_JOB_ID"
    fi
    return "$code"
}

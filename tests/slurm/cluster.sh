# A single-node SLURM cluster for the tests, started from scratch in a temporary directory:
# munged, slurmctld and slurmd run as plain background daemons (no systemd) with their own
# sockets, ports, spool and state directories, and are stopped (exactly those processes) by
# slurm_cluster_stop. Sourced by the tests; needs root (apt-get installs missing packages).

slurm_cluster_fail() {
    echo "FAIL: SLURM cannot start on this machine: $*" >&2
    [ -n "${SLURM_TEST_DIR:-}" ] && tail -n 20 "$SLURM_TEST_DIR"/log/*.log >&2 2>/dev/null
    exit 1
}

slurm_cluster_install() {
    local missing=()
    for p in slurm-wlm munge; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
            || slurm_cluster_fail "apt-get install ${missing[*]} failed"
    fi
}

# slurm_cluster_start DIR: everything under DIR; exports SLURM_CONF for the client commands.
slurm_cluster_start() {
    slurm_cluster_install
    SLURM_TEST_DIR=$1
    local d=$SLURM_TEST_DIR host cpus port
    host=$(hostname -s)
    cpus=$(nproc)
    # Ports chosen from the directory name's hash so parallel test runs do not collide.
    port=$(( 20000 + $(echo "$d" | cksum | cut -d' ' -f1) % 20000 ))
    mkdir -p "$d"/{log,state,spool,munge,run}
    chmod 700 "$d/munge"
    dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$d/munge/munge.key"
    munged --force --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
        --pid-file="$d/run/munged.pid" --log-file="$d/log/munged.log" \
        --seed-file="$d/munge/munged.seed" || slurm_cluster_fail "munged did not start"
    cat > "$d/slurm.conf" <<CONF
ClusterName=nntest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
    export SLURM_CONF="$d/slurm.conf"
    slurmctld -f "$SLURM_CONF" || slurm_cluster_fail "slurmctld did not start"
    slurmd -f "$SLURM_CONF" || slurm_cluster_fail "slurmd did not start"
    for _ in $(seq 60); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)'; then return 0; fi
        sleep 0.5
    done
    slurm_cluster_fail "the node never became idle: $(sinfo 2>&1 | tr '\n' ' ')"
}

slurm_cluster_stop() {
    local d=${SLURM_TEST_DIR:-}
    [ -n "$d" ] || return 0
    for f in slurmd slurmctld munged; do
        if [ -f "$d/run/$f.pid" ]; then
            local pid
            pid=$(cat "$d/run/$f.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
}

# slurm_wait_job ID [TIMEOUT]: waits until the job has left the queue; prints its final state.
slurm_wait_job() {
    local id=$1 timeout=${2:-300} state=""
    for _ in $(seq $((timeout * 2))); do
        state=$(scontrol show job "$id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
        case "$state" in
            COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$state"; return 0 ;;
        esac
        sleep 0.5
    done
    echo "TIMEOUT_WAITING($state)"
}

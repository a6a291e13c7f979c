# The progress bar: drawn on a terminal (a pseudo-terminal from `script`) for a
# single-process run, whose Open MPI singleton start sets PMIX_RANK, and on rank 0 under
# mpirun when mpirun writes to a terminal; never when the output is a pipe or a file.
source "$(dirname "$0")/lib.sh"
for i in $(seq 0 199); do echo "$((i % 2)),0.$i,1.$i,$((i % 5))"; done > d.csv
"$NNTRAIN" import csv --train d.csv --label-column 0 --no-header -o d.h5 > /dev/null
cat > cfg.yaml <<'YAML'
data: {path: d.h5, test: none}
model: {input: [3], layers: [{type: dense, units: 2}]}
train: {epochs: 2, batch_size: 8, threads: 1, loss: cross_entropy,
        optimizer: {type: sgd, lr: 0.1}, checkpoint: {every: 0}}
YAML
bar=$'\r\033\[Kepoch 2/2 \[' # the bar's line, redrawn in place

# on_terminal FILE command...: runs the command with a pseudo-terminal as its output.
on_terminal() {
    local out=$1
    shift
    script -qefc "$(printf '%q ' "$@")" /dev/null < /dev/null > "$out"
}

on_terminal tty.txt "$NNTRAIN" train cfg.yaml --run-dir r1
grep -q "$bar" tty.txt || { cat -v tty.txt >&2; fail "no progress bar on a terminal"; }
"$NNTRAIN" train cfg.yaml --run-dir r2 | cat > pipe.txt
grep -q $'\r' pipe.txt && fail "a progress bar in a pipe"
grep -q "^epoch 2/2" pipe.txt || { cat pipe.txt >&2; fail "no epoch lines in a pipe"; }
"$NNTRAIN" train cfg.yaml --run-dir r3 > file.txt
grep -q $'\r' file.txt && fail "a progress bar in a file"
# The log never has the bar.
grep -q $'\r' r1/log.txt && fail "a progress bar in log.txt"

on_terminal mpi-tty.txt $MPIRUN -np 2 "$NNTRAIN" train cfg.yaml --run-dir r4
grep -q "$bar" mpi-tty.txt || { cat -v mpi-tty.txt >&2; fail "no bar under mpirun on a terminal"; }
$MPIRUN -np 2 "$NNTRAIN" train cfg.yaml --run-dir r5 | cat > mpi-pipe.txt
grep -q $'\r' mpi-pipe.txt && fail "a progress bar under mpirun into a pipe"
grep -q "^epoch 2/2" mpi-pipe.txt || { cat mpi-pipe.txt >&2; fail "no epoch lines under mpirun"; }
echo "progress: ok"

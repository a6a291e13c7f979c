# Writes that fail in exactly the file named, through an interposed write (tests/tools/
# fail_writes.c, LD_PRELOAD): metrics.csv, metrics-steps.csv, log.txt, a checkpoint, the
# test record, the search's journal, trials.csv and a trial's checkpoint, and a report page.
# Each failure must stop the job with exit 1 and one line naming the file and the reason,
# leave the previous good file (appended files keep whole lines only, no temporary file is
# left), and running again (--resume, the same search command, the same report) must end
# exactly like a job that never failed; the test record, written after the last checkpoint,
# leaves the final weights on disk already,
# and --resume runs only the test to write it. tests/ckpt/test_io_failures.sh makes writes fail for real (file-size limit,
# full and read-only directories).
source "$(dirname "$0")/../e2e/lib.sh"
: "${FAIL_WRITES:?FAIL_WRITES must point at libfail_writes.so (run through ctest)}"
small_config > small.yaml
settings=(--set train.epochs=3 --set train.log_every_steps=5)

# failing NAME AFTER [ERRNO] command...: runs the command with writes to files whose path
# contains NAME failing after AFTER write operations on them (fail_writes.c); records the
# exit code in $code and the output in out.txt and err.txt.
failing() {
    local name=$1 after=$2 errno=ENOSPC
    shift 2
    case ${1:-} in E*) errno=$1; shift ;; esac
    code=0
    env LD_PRELOAD="$FAIL_WRITES" NN_FAIL_PATH="$name" NN_FAIL_AFTER="$after" \
        NN_FAIL_ERRNO="$errno" timeout 600 "$@" > out.txt 2> err.txt || code=$?
}
# one_line_error WHAT PATTERN: exit 1 and stderr exactly one line matching PATTERN.
one_line_error() {
    [ "$code" -eq 1 ] || { cat out.txt err.txt; fail "$1: exit $code, expected 1"; }
    [ "$(wc -l < err.txt)" -eq 1 ] && grep -q -- "$2" err.txt \
        || { cat err.txt; fail "$1: not one line saying which file and why"; }
}
# whole_lines FILE: every line has the header's number of fields and ends with a newline.
whole_lines() {
    [ -z "$(tail -c1 "$1")" ] || fail "$1 ends in a partial line"
    awk -F, 'NR == 1 { n = NF } NF != n { exit 1 }' "$1" || { cat "$1"; fail "$1: a torn row"; }
}
no_temporary_files() {
    ! find "$1" -name '*.tmp' | grep . || fail "a temporary file is left in $1"
}
# resume_and_compare DIR: --resume without failures ends like the uninterrupted run.
resume_and_compare() {
    "$NNTRAIN" train small.yaml "${settings[@]}" --resume "$1" > /dev/null \
        || fail "$1: --resume after the failed write"
    $COMPARE runs/full/last.h5 "$1/last.h5" --exact --groups params,state,optim \
        || fail "$1: resumed weights differ from the uninterrupted run's"
    cmp -s <(cut -d, -f1 runs/full/metrics.csv) <(cut -d, -f1 "$1/metrics.csv") \
        || { cat "$1/metrics.csv"; fail "$1: metrics.csv epochs after resuming"; }
    cmp -s <(cut -d, -f1,2 runs/full/metrics-steps.csv) <(cut -d, -f1,2 "$1/metrics-steps.csv") \
        || fail "$1: metrics-steps.csv steps after resuming"
}
"$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/full > /dev/null

# 1. metrics.csv: created, its header and epoch 1's row written; epoch 2's row fails.
failing metrics.csv 3 "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/metrics
one_line_error metrics.csv "^nntrain: runs/metrics/metrics.csv: cannot write: No space left on device$"
[ "$(cut -d, -f1 runs/metrics/metrics.csv | tr '\n' ' ')" = "epoch 1 " ] \
    || { cat runs/metrics/metrics.csv; fail "metrics.csv: not the rows before the failure"; }
"$NNTRAIN" verify runs/metrics/last.h5 | grep -q "ok (epoch 1," || fail "metrics.csv: last.h5 is not epoch 1's"
no_temporary_files runs/metrics
echo "metrics.csv: $(cat err.txt); left: header + epoch 1, last.h5 of epoch 1"
resume_and_compare runs/metrics

# 2. metrics-steps.csv: created, the header and 14 rows written (11 in epoch 1, a row every
# 5 of its 57 steps); the 15th, in epoch 2, fails (file too large).
failing metrics-steps.csv 16 EFBIG "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/steps
one_line_error metrics-steps.csv "^nntrain: runs/steps/metrics-steps.csv: cannot write: File too large$"
whole_lines runs/steps/metrics-steps.csv
[ "$(wc -l < runs/steps/metrics-steps.csv)" -eq 15 ] || { cat runs/steps/metrics-steps.csv; fail "metrics-steps.csv: not the 14 rows written before"; }
no_temporary_files runs/steps
echo "metrics-steps.csv: $(cat err.txt); left: header + 14 whole rows"
resume_and_compare runs/steps

# 3. The checkpoint: epoch 1's last.h5 written (created, written); epoch 2's cannot be.
failing last.h5 2 "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/ckpt
one_line_error last.h5 "^nntrain: runs/ckpt/last.h5: cannot write: No space left on device"
"$NNTRAIN" verify runs/ckpt/last.h5 | grep -q "ok (epoch 1," || fail "last.h5: not epoch 1's"
[ "$(cut -d, -f1 runs/ckpt/metrics.csv | tr '\n' ' ')" = "epoch 1 2 " ] || fail "last.h5: metrics.csv"
no_temporary_files runs/ckpt
echo "last.h5: $(cat err.txt); left: last.h5 of epoch 1 (metrics.csv has epoch 2, rewritten on resume)"
resume_and_compare runs/ckpt

# 4. On 2 ranks (rank 0 writes): the job ends with exit 1, no rank is left waiting.
failing metrics.csv 3 $MPIRUN -np 2 "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/np2
[ "$code" -eq 1 ] || { cat out.txt err.txt; fail "np=2: exit $code, expected 1"; }
grep -q "^rank 0: runs/np2/metrics.csv: cannot write: No space left on device$" err.txt \
    || { cat err.txt; fail "np=2: the error does not name the file and why"; }
[ "$(cut -d, -f1 runs/np2/metrics.csv | tr '\n' ' ')" = "epoch 1 " ] || fail "np=2: metrics.csv"
echo "np=2, metrics.csv: $(grep cannot err.txt); the job ended"

# 5. A search (grid of 4, np=1): the journal, trials.csv and a trial's checkpoint fail in
# turn; running the same command again ends with the table of a search that never failed.
{ cat small.yaml; cat <<'YAML'
search:
  method: grid
  metric: val_accuracy
  parameters:
    train.optimizer.lr: [0.001, 0.003]
    model.init: [glorot_uniform, he_normal]
YAML
} > grid.yaml
SET=(--set train.threads=1 --set train.epochs=2)
"$NNTRAIN" search grid.yaml "${SET[@]}" --set search.dir=s/ref > /dev/null
table() { tail -n +2 "$1" | cut -d, -f1-7; } # without wall time and group
n=0
for target in journal:4 trials.csv:2 trial-002/last.h5:1; do
    n=$((n + 1))
    name=${target%:*} after=${target#*:} dir=s/case$n
    failing "$name" "$after" "$NNTRAIN" search grid.yaml "${SET[@]}" --set search.dir=$dir
    one_line_error "search $name" "^nntrain: .*$dir/$name: cannot write: No space left on device"
    whole_lines $dir/journal
    [ ! -e $dir/trials.csv ] || whole_lines $dir/trials.csv
    no_temporary_files $dir
    echo "search, $name: $(cat err.txt); left: $(grep -c '^end' $dir/journal) ended trials in the journal"
    "$NNTRAIN" search grid.yaml "${SET[@]}" --set search.dir=$dir > again.txt \
        || { cat again.txt; fail "search $name: running it again"; }
    diff <(table s/ref/trials.csv) <(table $dir/trials.csv) || fail "search $name: table differs"
done

# 6. A report page: the second report of a run cannot be written; the first stays.
"$NNTRAIN" report runs/full -o page.html > /dev/null
cp page.html first.html
failing page.html 0 "$NNTRAIN" report runs/full -o page.html
one_line_error report "^nntrain: page.html: cannot write: No space left on device$"
cmp -s first.html page.html || fail "report: the previous page was changed"
no_temporary_files .
echo "report: $(cat err.txt); the previous page kept"
"$NNTRAIN" report runs/full -o page.html > /dev/null || fail "report: again without the failure"

# 7. log.txt: epoch 2's line fails (EIO) once the start-up lines and epoch 1's are written
# (the first operation creates the file). The run stops before epoch 2's metrics row and
# checkpoint; log.txt keeps whole lines.
before_epoch2=$(grep -n '^epoch 2/3 ' runs/full/log.txt | cut -d: -f1)
failing log.txt "$before_epoch2" EIO "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/log
one_line_error log.txt "^nntrain: runs/log/log.txt: cannot write: Input/output error$"
whole_lines runs/log/metrics.csv
[ -z "$(tail -c1 runs/log/log.txt)" ] || fail "log.txt ends in a partial line"
cmp -s <(head -n $((before_epoch2 - 1)) runs/full/log.txt | cut -c1-40) <(cut -c1-40 runs/log/log.txt) \
    || { cat runs/log/log.txt; fail "log.txt: not the lines before the failure"; }
[ "$(cut -d, -f1 runs/log/metrics.csv | tr '\n' ' ')" = "epoch 1 " ] || fail "log.txt: metrics.csv"
"$NNTRAIN" verify runs/log/last.h5 | grep -q "ok (epoch 1," || fail "log.txt: last.h5 is not epoch 1's"
no_temporary_files runs/log
echo "log.txt, epoch 2's line: $(cat err.txt); left: $((before_epoch2 - 1)) whole lines, metrics.csv and last.h5 of epoch 1"
resume_and_compare runs/log
grep -q '^resuming' runs/log/log.txt || fail "log.txt: the resumed run does not log"

# 8. log.txt fails among the start-up lines: the run stops before its first step, with no
# checkpoint; the same command again trains from the start.
failing log.txt 2 "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/logstart
one_line_error "log.txt at start-up" "^nntrain: runs/logstart/log.txt: cannot write: No space left on device$"
[ "$(wc -l < runs/logstart/log.txt)" -eq 1 ] || { cat runs/logstart/log.txt; fail "log.txt at start-up: not the first line alone"; }
[ "$(wc -l < runs/logstart/metrics.csv)" -eq 1 ] && ! ls runs/logstart/*.h5 2> /dev/null \
    || fail "log.txt at start-up: the run trained after the failure"
echo "log.txt, a start-up line: $(cat err.txt); left: the first line, metrics.csv's header, no checkpoint"

# 9. log.txt on 2 ranks (rank 0 writes it): epoch 2's line fails; the job ends with exit 1
# and --resume on 2 ranks ends bit for bit like the uninterrupted 2-rank run.
$MPIRUN -np 2 "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/full2 > /dev/null
before_epoch2=$(grep -n '^epoch 2/3 ' runs/full2/log.txt | cut -d: -f1)
failing log.txt "$before_epoch2" $MPIRUN -np 2 "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/log2
[ "$code" -eq 1 ] || { cat out.txt err.txt; fail "log.txt, np=2: exit $code, expected 1"; }
grep -q "^rank 0: runs/log2/log.txt: cannot write: No space left on device$" err.txt \
    || { cat err.txt; fail "log.txt, np=2: the error does not name the file and why"; }
[ "$(cut -d, -f1 runs/log2/metrics.csv | tr '\n' ' ')" = "epoch 1 " ] || fail "log.txt, np=2: metrics.csv"
no_temporary_files runs/log2
$MPIRUN -np 2 "$NNTRAIN" train small.yaml "${settings[@]}" --resume runs/log2 > /dev/null \
    || fail "log.txt, np=2: --resume after the failed write"
$COMPARE runs/full2/last.h5 runs/log2/last.h5 --exact --groups params,state,optim \
    || fail "log.txt, np=2: resumed weights differ from the uninterrupted run's"
echo "np=2, log.txt: $(grep cannot err.txt); the job ended; resumed exactly"

# 10. The test record (test-confusion.csv) at the end of the run: every epoch and checkpoint
# is written, so last.h5 holds the uninterrupted run's final weights; no part of the record
# is left, and --resume writes it.
failing test-confusion.csv 0 "$NNTRAIN" train small.yaml "${settings[@]}" --run-dir runs/record
one_line_error test-confusion.csv "^nntrain: runs/record/test-confusion.csv: cannot write: No space left on device"
[ ! -e runs/record/test-confusion.csv ] || fail "test-confusion.csv: written after the failure"
no_temporary_files runs/record
$COMPARE runs/full/last.h5 runs/record/last.h5 --exact --groups params,state,optim \
    || fail "test-confusion.csv: last.h5 is not the uninterrupted run's"
cmp -s <(cut -d, -f1-6 runs/full/metrics.csv) <(cut -d, -f1-6 runs/record/metrics.csv) \
    || fail "test-confusion.csv: metrics.csv differs from the uninterrupted run's"
echo "test-confusion.csv: $(cat err.txt); left: every epoch's checkpoint and row, no record"
# --resume then runs the test alone and writes the record; a second --resume finds it finished.
"$NNTRAIN" train small.yaml "${settings[@]}" --resume runs/record > resume.txt 2>&1 \
    || { cat resume.txt; fail "test-confusion.csv: --resume did not write the record"; }
grep '^epoch' resume.txt >/dev/null && fail "test-confusion.csv: --resume trained again"
cmp -s runs/full/test-confusion.csv runs/record/test-confusion.csv \
    || fail "test-confusion.csv: the resumed record differs from the uninterrupted run's"
$COMPARE runs/full/last.h5 runs/record/last.h5 --exact --groups params,state,optim \
    || fail "test-confusion.csv: --resume changed the final weights"
expect_exit 2 "$NNTRAIN" train small.yaml "${settings[@]}" --resume runs/record
grep "has already finished" "$WORK/err.txt" >/dev/null || fail "test-confusion.csv: second --resume"
echo "test-confusion.csv: --resume ran the test alone and wrote the uninterrupted run's record"
echo "every injected write failure stopped with one line and left the previous good files"

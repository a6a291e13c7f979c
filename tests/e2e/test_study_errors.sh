# The study commands on bad input: one clear line, the right exit code, nothing written or
# overwritten.
source "$(dirname "$0")/lib.sh"
csv_data() { # csv_data FILE FEATURES SHIFT: 60 rows, labels 0..2
    for i in $(seq 0 59); do
        line="$((i % 3))"
        for f in $(seq 1 "$2"); do line="$line,$(( (i * f + $3) % 7 )).$f"; done
        echo "$line"
    done > "$1.csv"
    "$NNTRAIN" import csv --train "$1.csv" --test "$1.csv" --label-column 0 --no-header \
        -o "$1.h5" >/dev/null
}
model() { # model NAME DATA FEATURES
    cat > "$1.yaml" <<YAML
data: {path: $2}
model: {input: [$3], layers: [{name: h, type: dense, units: 5, activation: relu},
                              {name: out, type: dense, units: 3}]}
train: {epochs: 1, batch_size: 16, loss: cross_entropy, optimizer: {type: sgd, lr: 0.1}}
YAML
    "$NNTRAIN" train "$1.yaml" --run-dir "$1" >/dev/null
}
csv_data d 3 0
csv_data d2 3 1
csv_data e 4 0
model a d.h5 3
model same_shape d2.h5 3
model wide e.h5 4

one_line() { [ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "$1: not one line"; }; }

expect_exit 2 "$NNTRAIN" extract a/last.h5 --layers h,outt -o r.h5
grep -q "unknown layer 'outt' (did you mean 'out'?)" err.txt || fail "layer suggestion"
one_line "unknown layer"
[ ! -e r.h5 ] || fail "extract wrote a file after an error"
expect_exit 2 "$NNTRAIN" cka a/last.h5 --layers hh -o c1
grep -q "did you mean 'h'" err.txt || fail "cka layer suggestion"
[ ! -e c1 ] || fail "cka made its directory after an error"

expect_exit 3 "$NNTRAIN" cka a/last.h5 wide/last.h5 -o c2
grep -q "takes 3 input values per sample, .*takes 4" err.txt || fail "input shapes message"
one_line "input shapes"
expect_exit 3 "$NNTRAIN" cka a/last.h5 same_shape/last.h5 -o c3
grep -q "give both the same samples" err.txt || fail "different datasets message"
expect_exit 3 "$NNTRAIN" ensemble a/last.h5 same_shape/last.h5
grep -q "give both the same samples" err.txt || fail "ensemble of different datasets"
[ ! -e c2 ] && [ ! -e c3 ] || fail "cka made a directory after an error"
# The same samples given explicitly: accepted.
"$NNTRAIN" cka a/last.h5 same_shape/last.h5 --data d.h5 -o c4 >/dev/null
[ -f c4/cka.csv ] || fail "cka with --data"

expect_exit 2 "$NNTRAIN" extract a/last.h5 --rows 5:5 -o r.h5
grep -q "empty" err.txt || fail "empty row range"
expect_exit 2 "$NNTRAIN" cka a/last.h5 --rows 10:1000 -o c5
grep -q "rows 10:1000: /test has rows 0:60" err.txt || fail "row range past the end"
expect_exit 2 "$NNTRAIN" probe a/last.h5 --train-rows x:3 -o p1
grep -q "not a row number" err.txt || fail "bad row number"

mkdir kept && echo keep > kept/cka.csv
expect_exit 2 "$NNTRAIN" cka a/last.h5 -o kept
grep -q "kept exists" err.txt || fail "existing directory message"
one_line "existing directory"
[ "$(cat kept/cka.csv)" = keep ] || fail "cka overwrote an existing directory"
expect_exit 2 "$NNTRAIN" probe a/last.h5 -o kept
expect_exit 2 "$NNTRAIN" ensemble a/last.h5 a/last.h5 -o kept
echo keep > kept.h5
expect_exit 2 "$NNTRAIN" extract a/last.h5 -o kept.h5
expect_exit 2 "$NNTRAIN" pca d.h5 -k 2 -o kept.h5
[ "$(cat kept.h5)" = keep ] || fail "an existing file was overwritten"

expect_exit 2 "$NNTRAIN" pca d.h5 -k 0 -o p.h5
grep -q "components" err.txt || fail "pca -k 0"
expect_exit 2 "$NNTRAIN" pca d.h5 -k 9 -o p.h5
grep -q "the data have 3 features" err.txt || fail "pca: more components than features"
[ ! -e p.h5 ] || fail "pca wrote a file after an error"
expect_exit 2 "$NNTRAIN" cka a/last.h5 --kernel cosine -o c6
grep -q "expected linear or rbf" err.txt || fail "unknown kernel"
expect_exit 2 "$NNTRAIN" cka a/last.h5 --minibatch 2 -o c6
expect_exit 2 "$NNTRAIN" ensemble a/last.h5 a/last.h5 --combine votes
grep -q "did you mean 'vote'" err.txt || fail "combine suggestion"
expect_exit 2 "$NNTRAIN" ensemble a/last.h5
expect_exit 2 "$NNTRAIN" extract a/last.h5
grep -q "\-o REPS.h5 is required" err.txt || fail "extract without -o"
expect_exit 3 "$NNTRAIN" extract missing.h5 -o r.h5
one_line "missing checkpoint"
echo ok

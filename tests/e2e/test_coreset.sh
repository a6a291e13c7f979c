# nntrain coreset: k-center greedy and herding choose exactly the rows of a NumPy reference
# (tests/e2e/coreset_ref.py) and copy those rows; random choices are k distinct rows fixed
# by the seed; --balanced takes k/K rows per class; a subset of Fashion-MNIST trains and
# keeps the source's test split; bad requests are one-line usage errors.
source "$(dirname "$0")/lib.sh"
REF="/usr/bin/python3 $NN_SOURCE_DIR/tests/e2e/coreset_ref.py"
$REF make small.h5
for method in kcenter herding; do
    "$NNTRAIN" coreset small.h5 --k 40 --method $method -o $method.h5 > /dev/null
    $REF check small.h5 $method.h5 $method 40 || fail "$method differs from the NumPy reference"
done

rows_of() { /usr/bin/python3 -c "import h5py,sys; print(' '.join(map(str, h5py.File(sys.argv[1])['train/source_rows'][()])))" "$1"; }
"$NNTRAIN" coreset small.h5 --k 50 --method random --seed 3 -o r1.h5 > /dev/null
"$NNTRAIN" coreset small.h5 --k 50 --method random --seed 3 -o r2.h5 > /dev/null
"$NNTRAIN" coreset small.h5 --k 50 --method random --seed 4 -o r3.h5 > /dev/null
[ "$(rows_of r1.h5)" = "$(rows_of r2.h5)" ] || fail "random coreset not fixed by its seed"
[ "$(rows_of r1.h5)" != "$(rows_of r3.h5)" ] || fail "random coreset ignores its seed"
[ "$(rows_of r1.h5 | tr ' ' '\n' | sort -u | wc -l)" -eq 50 ] || fail "random rows repeat"

"$NNTRAIN" coreset small.h5 --k 31 --balanced -o balanced.h5 > /dev/null
counts=$(/usr/bin/python3 -c "import h5py, numpy as np; print(np.bincount(h5py.File('balanced.h5')['train/y'][()]).tolist())")
[ "$counts" = "[11, 10, 10]" ] || fail "--balanced k=31 over 3 classes gave $counts"

data=$(fashion_mnist)
"$NNTRAIN" coreset "$data" --k 500 --method random -o subset.h5 > /dev/null
cat > sub.yaml <<YAML
data: {path: subset.h5}
model:
  input: [1, 28, 28]
  layers:
    - {name: fc1, type: dense, units: 32, activation: relu}
    - {name: out, type: dense, units: 10}
train: {epochs: 2, batch_size: 50, loss: cross_entropy, optimizer: adam}
YAML
"$NNTRAIN" train sub.yaml --no-progress --run-dir sub > out.txt || { cat out.txt; fail "training on the subset"; }
grep -q "500 training samples" out.txt || fail "the subset does not hold 500 rows: $(head -3 out.txt)"
grep -q "^test: .*(10000 samples)" out.txt || fail "the subset lost the test split: $(tail -2 out.txt)"

expect_exit 2 "$NNTRAIN" coreset small.h5 --k 400 -o big.h5
grep -q "more than the 300 rows" err.txt || fail "--k too large: $(cat err.txt)"
[ ! -e big.h5 ] || fail "a refused coreset left a file"
expect_exit 2 "$NNTRAIN" coreset small.h5 --k 4 -o small.h5
expect_exit 2 "$NNTRAIN" coreset small.h5 --k 4 --method best -o x.h5
expect_exit 2 "$NNTRAIN" coreset small.h5 --k 4 --features nolayer -o x.h5
expect_exit 2 "$NNTRAIN" coreset small.h5 -o x.h5
expect_exit 3 "$NNTRAIN" coreset missing.h5 --k 4 -o x.h5
echo ok

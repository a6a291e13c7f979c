# Trains a small MLP on a subset of real Fashion-MNIST and checks that it learns: test
# accuracy far above chance (0.10), run directory complete.
source "$(dirname "$0")/lib.sh"
data=$(fashion_mnist)
cat > mlp.yaml <<YAML
data: {path: $data, train_rows: [0, 12000], val: {split: 0.1}, test_rows: [0, 2000]}
model:
  input: [1, 28, 28]
  mlp: [128, 64, 10]
train: {epochs: 3, batch_size: 64, loss: cross_entropy, optimizer: {type: adam, lr: 0.002}}
seed: 7
YAML
"$NNTRAIN" train mlp.yaml > out.txt
cat out.txt
acc=$(sed -n 's/^test: loss [0-9.]*  accuracy \([0-9.]*\).*/\1/p' out.txt)
[ -n "$acc" ] || fail "no test accuracy printed"
awk -v a="$acc" 'BEGIN { exit !(a > 0.78) }' || fail "test accuracy $acc is not above 0.78"
[ -f runs/mlp/config.yaml ] || fail "runs/mlp/config.yaml missing"
[ "$(wc -l < runs/mlp/metrics.csv)" -eq 4 ] || fail "metrics.csv should have a header and 3 rows"
grep -q '^epoch,lr,loss,accuracy,val_loss,val_accuracy' runs/mlp/metrics.csv || fail "metrics.csv header"
# A second run never writes into the first one's directory.
"$NNTRAIN" train mlp.yaml --set train.epochs=1 > out2.txt
[ -d runs/mlp-2 ] || fail "second run did not get its own directory"
[ "$(wc -l < runs/mlp/metrics.csv)" -eq 4 ] || fail "first run's metrics were touched"
echo "test accuracy $acc"

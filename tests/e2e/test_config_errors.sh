# Bad values through `nntrain train`: negative or zero lr, probabilities outside [0, 1),
# unknown names of every catalogue (optimizer, schedule, loss, activation, initializer,
# layer type, metric) and out-of-range settings of every section. Each is exit code 2 with
# one line on stderr that names the key (with file:line:col when it comes from the file) and,
# for names, the valid ones; no run directory is left behind.
source "$(dirname "$0")/lib.sh"
for i in $(seq 0 39); do echo "$((i % 2)),0.$i,1.$i,$((i % 5))"; done > d.csv
"$NNTRAIN" import csv --train d.csv --label-column 0 --no-header -o d.h5 >/dev/null
cat > good.yaml <<'YAML'
data: {path: d.h5, val: {split: 0.25}, test: none}
model:
  input: [3]
  layers:
    - {type: dense, units: 4, activation: relu}
    - {type: dropout, p: 0.2}
    - {type: dense, units: 2}
train:
  epochs: 1
  batch_size: 8
  loss: cross_entropy
  optimizer: {type: sgd, lr: 0.1}
YAML
"$NNTRAIN" train good.yaml --run-dir ok > /dev/null || fail "the good config should train"

# bad OVERRIDE EXPECTED...: --set OVERRIDE fails with exit 2 and one line holding each
# EXPECTED string.
bad() {
    local set=$1
    shift
    expect_exit 2 "$NNTRAIN" train good.yaml --set "$set"
    [ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "--set $set: error must be one line"; }
    for want in "$@"; do
        grep -qF -- "$want" err.txt || { cat err.txt; fail "--set $set: message lacks '$want'"; }
    done
}
# The "valid:" lists name every entry of the catalogue's table, in table order, which
# --help-catalogue prints from the same table.
names_list() { catalogue_names "$1" | paste -sd, | sed 's/,/, /g'; }
OPTIMIZERS="valid: $(names_list optimizers)"
SCHEDULES="$(names_list schedules)"
INITS="valid: $(names_list initializers)"
LOSSES="valid: $(names_list losses)"
METRICS="valid: loss, accuracy, val_loss, val_accuracy"
for list in "$OPTIMIZERS" "$SCHEDULES" "$INITS" "$LOSSES"; do
    [ "$(echo "$list" | tr ',' '\n' | wc -l)" -ge 5 ] || fail "short catalogue list: $list"
done

bad train.optimizer.lr=-0.1 "train.optimizer.lr" "lr must be > 0"
bad train.optimizer.lr=0 "train.optimizer.lr" "lr must be > 0"
bad 'train.optimizer={type: adam, lr: -1}' "train.optimizer.lr" "lr must be > 0"
bad 'train.optimizer={type: momentum, momentum: 1}' "train.optimizer.momentum" "must be in [0, 1)"
bad 'train.optimizer={type: adam, beta2: 1.5}' "train.optimizer.beta2" "must be in [0, 1)"
bad 'train.optimizer={type: adamw, weight_decay: -1}' "train.optimizer.weight_decay" "must be >= 0"
bad 'train.optimizer={type: rmsprop, eps: 0}' "train.optimizer.eps" "must be > 0"
bad 'train.optimizer={type: sgd, momentum: 0.9}' "unknown key 'momentum'"
bad train.optimizer.type=adamm "train.optimizer.type" "unknown optimizer 'adamm'" "did you mean 'adam'" "$OPTIMIZERS"
bad train.optimizer=rmsprob "train.optimizer" "did you mean 'rmsprop'" "$OPTIMIZERS"
bad 'train.optimizer={type: momentum, form: nest}' "train.optimizer.form" "expected one of classic, ema"
bad model.layers[1].p=1 "model.layers[1].p" "must be in [0, 1)"
bad model.layers[1].p=-0.1 "model.layers[1].p" "must be in [0, 1)"
bad 'model.layers[1]={type: rrelu, lower: 0.5, upper: 0.1}' "model.layers[1].upper" "upper must be in [lower, 1]"
bad train.loss=crossentropy "train.loss" "did you mean 'cross_entropy'" "$LOSSES"
bad model.layers[0].activation=rleu "model.layers[0].activation" "did you mean 'relu'" "valid: " "gelu"
bad model.layers[0].type=dens "model.layers[0].type" "did you mean 'dense'" "valid: dense"
bad model.init=glorot "model.init" "unknown initializer 'glorot'" "$INITS"
bad 'model.layers[2].bias_init={type: normal, std: -1}' "model.layers[2].bias_init" "std must be >= 0"
bad train.schedule=cosinus "train.schedule" "did you mean 'cosine'" "valid: $SCHEDULES"
bad 'train.schedule={type: expo}' "train.schedule.type" "unknown schedule 'expo'" "did you mean 'exponential'" "valid: $SCHEDULES"
bad 'train.schedule={type: step, gamma: -1}' "train.schedule.gamma" "must be > 0"
bad 'train.schedule={type: step, milestones: [2]}' "train.schedule" "unknown key 'milestones'"
bad 'train.schedule={type: reduce_on_plateau, factor: 1}' "train.schedule.factor" "must be in (0, 1)"
bad 'train.schedule={type: reduce_on_plateau, monitor: acc}' "train.schedule.monitor" "unknown metric 'acc'" "$METRICS"
bad 'train.schedule={type: cosine, warmup_start_factor: 2}' "train.schedule.warmup_start_factor" "must be in [0, 1]"
bad 'train.early_stopping={monitor: val_acc}' "train.early_stopping.monitor" "did you mean 'val_accuracy'" "$METRICS"
bad 'train.early_stopping={patience: -1}' "train.early_stopping.patience" "must be >= 0"
bad 'train.early_stopping={mode: up}' "train.early_stopping.mode" "expected one of min, max"
bad 'train.checkpoint={keep: -1}' "train.checkpoint.keep" "must be >= 0"
bad 'train.clip={norm: -1}' "train.clip.norm" "must be > 0"
bad 'train.augment={noise: -1}' "train.augment.noise" "must be a standard deviation >= 0"
bad 'train.augment={flip: true}' "train.augment.flip" "needs image samples"
bad 'train.augment={shfit: 1}' "train.augment" "unknown key 'shfit'" "did you mean 'shift'"
bad train.lr_scaling=lin "train.lr_scaling" "expected one of none, linear"
bad train.lr_reference_batch=0 "train.lr_reference_batch" "must be >= 1"
bad train.batch_size=0 "train.batch_size" "must be >= 1"
bad train.epochs=-3 "train.epochs" "must be >= 1"
bad 'model.layers[0]={repeat: 0, layers: [{type: dense, units: 4}]}' "model.layers[0].repeat" "must be in [1, 1000]"

# From the file, the message starts with file:line:col of the value.
sed 's/lr: 0.1/lr: -2/' good.yaml > neg.yaml
expect_exit 2 "$NNTRAIN" train neg.yaml
grep -q "^nntrain: neg.yaml:12:[0-9]*: train.optimizer.lr: lr must be > 0, got -2$" err.txt ||
    { cat err.txt; fail "negative lr in the file"; }
sed 's/p: 0.2/p: 1.2/' good.yaml > p.yaml
expect_exit 2 "$NNTRAIN" train p.yaml
grep -q "^nntrain: p.yaml:6:[0-9]*: model.layers\[1\].p: .*\[0, 1)" err.txt || { cat err.txt; fail "p in the file"; }
sed 's/type: sgd/type: lamb/' good.yaml > name.yaml
expect_exit 2 "$NNTRAIN" train name.yaml
grep -q "^nntrain: name.yaml:12:[0-9]*: train.optimizer.type: unknown optimizer 'lamb'.*; $OPTIMIZERS$" err.txt ||
    { cat err.txt; fail "unknown optimizer in the file"; }

[ "$(ls runs 2>/dev/null | wc -l)" -eq 0 ] || fail "failed runs left run directories: $(ls runs)"
echo "config errors: ok"

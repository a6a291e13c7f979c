# --help-catalogue lists every name the config accepts: each loss, activation, layer type,
# optimizer, schedule and initializer that the "valid" lists of the config errors name,
# every loss parameter, each optimizer's own keys with its defaults, and the keys of
# augmentation, early stopping and checkpoints.
source "$(dirname "$0")/lib.sh"
"$NNTRAIN" train --help-catalogue > help.txt
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
with h5py.File("tiny.h5", "w") as f:
    f["train/x"] = np.zeros((4, 3), np.float32)
    f["train/y"] = np.zeros((4, 2), np.float32)
PY
# valid_names CONFIG: the names of the "valid:" list in the error nntrain gives for CONFIG.
valid_names() {
    expect_exit 2 "$NNTRAIN" "$@"
    sed -n 's/.*; valid: //p' "$WORK/err.txt" | tr ',' '\n' | tr -d ' '
}
in_help() { grep -Eq "^  $1( |$)" help.txt || fail "--help-catalogue does not list '$1'"; }

cat > loss.yaml <<'YAML'
data: {path: tiny.h5}
model: {input: [3], layers: [{type: dense, units: 2}]}
train: {epochs: 1, loss: nope}
YAML
names=$(valid_names train loss.yaml --run-dir r)
[ "$(echo "$names" | wc -l)" -ge 13 ] || fail "loss list too short: $names"
for n in $names; do in_help "$n"; done

printf 'model: {input: [3], layers: [{type: dense, units: 2, activation: nope}]}\n' > act.yaml
names=$(valid_names summary act.yaml)
[ "$(echo "$names" | wc -l)" -ge 23 ] || fail "activation list too short: $names"
for n in $names; do in_help "$n"; done

printf 'model: {input: [3], layers: [{type: nope}]}\n' > layer.yaml
names=$(valid_names summary layer.yaml)
for n in dense softmax log_softmax add concat dropout prelu rrelu; do
    echo "$names" | grep -qx "$n" || fail "unknown layer type error does not list '$n'"
done
for n in $names; do in_help "$n"; done

for key in label_smoothing class_weights pos_weight delta= beta= log_target log_input \
           full= eps= include_bias; do
    grep -q "$key" help.txt || fail "--help-catalogue does not name the loss parameter $key"
done

# Optimizers, schedules and initializers: names from the errors, then their keys.
base='data: {path: tiny.h5}
model: {input: [3], layers: [{type: dense, units: 2}]}'
printf '%s\ntrain: {epochs: 1, loss: mse, optimizer: nope}\n' "$base" > opt.yaml
names=$(valid_names train opt.yaml --run-dir r)
[ "$(echo "$names" | wc -l)" -eq 8 ] || fail "optimizer list: $names"
for n in $names; do in_help "$n"; done
printf '%s\ntrain: {epochs: 1, loss: mse, optimizer: sgd, schedule: {type: nope}}\n' "$base" > s.yaml
names=$(valid_names train s.yaml --run-dir r)
[ "$(echo "$names" | wc -l)" -eq 6 ] || fail "schedule list: $names"
for n in $names; do in_help "$n"; done
printf 'model: {input: [3], init: nope, layers: [{type: dense, units: 2}]}\n' > init.yaml
names=$(valid_names summary init.yaml)
[ "$(echo "$names" | wc -l)" -eq 13 ] || fail "initializer list: $names"
for n in $names; do in_help "$n"; done

# Each optimizer's line carries its own keys and defaults (torch.optim's where torch has it).
for line in "sgd       lr=0.01 weight_decay=0 l1=0" \
            "momentum  lr=0.01 momentum=0.9 dampening=0 form=classic|ema" \
            "nesterov  lr=0.01 momentum=0.9 weight_decay=0" \
            "adam      lr=0.001 beta1=0.9 beta2=0.999 eps=1e-08 amsgrad=false weight_decay=0" \
            "adamw     lr=0.001 beta1=0.9 beta2=0.999 eps=1e-08 amsgrad=false weight_decay=0.01" \
            "rmsprop   lr=0.01 alpha=0.99 eps=1e-08 momentum=0 centered=false" \
            "adagrad   lr=0.01 lr_decay=0 eps=1e-10 initial_accumulator_value=0" \
            "lars      lr=0.01 momentum=0.9 trust=0.001 eps=1e-08"; do
    grep -qF "  $line" help.txt || fail "--help-catalogue lacks '$line'"
done
[ "$(grep -c 'decay_exempt_bias_and_norm=false' help.txt)" -eq 8 ] || fail "optimizer penalties"
for key in gamma=0.1 step_size=1 milestones= eta_min=0 factor=0.1 patience=10 threshold=1e-4 \
           cooldown=0 min_lr=0 warmup_epochs=0 warmup_steps=0 warmup_start_factor=1/3 \
           lr_reference_batch=256 \
           shift=0 flip=false rotate=0 noise=0 \
           monitor=val_loss mode=min patience=5 min_delta=0 restore_best=false \
           every=1 keep=3 every_steps=0 best=true repeat: block_input train_only_batchnorm; do
    grep -qF "$key" help.txt || fail "--help-catalogue does not name $key"
done
echo "catalogue: ok"

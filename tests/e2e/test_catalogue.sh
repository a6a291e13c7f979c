# --help-catalogue is generated from the catalogue tables: every name the config accepts is
# listed once, in the order of the "valid:" lists of the config errors (which come from the
# same tables), with no list kept here; every loss parameter, each optimizer's own keys with
# their defaults (torch.optim's), the schedules' keys and the keys of augmentation, early
# stopping and checkpoints are named.
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
# same_list WHAT EXPECTED GOT: the two lists of names are equal (order and count).
same_list() {
    [ -n "$2" ] || fail "$1: no names at all"
    [ "$2" = "$3" ] || { diff <(echo "$2") <(echo "$3") >&2 || true;
                         fail "$1: --help-catalogue and the config error list other names"; }
}

layers=$(catalogue_names "layer types")
activations=$(catalogue_names "activations")
# Layer types usable as a layer's activation: say so in their row.
layer_activations=$(sed -n '/^layer types/,/^[^ ]/p' help.txt |
                    awk "/also as a layer's activation:\$/ { print \$1 }")

printf 'model: {input: [3], layers: [{type: nope}]}\n' > layer.yaml
same_list "layer types" "$(valid_names summary layer.yaml)" "$layers
$activations"
printf 'model: {input: [3], layers: [{type: dense, units: 2, activation: nope}]}\n' > act.yaml
same_list "activations" "$(valid_names summary act.yaml)" "$layer_activations
$activations"
# Each name once in the whole catalogue (add and concat used to be listed twice).
dups=$(echo "$layers $activations" | tr ' ' '\n' | sort | uniq -d)
[ -z "$dups" ] || fail "listed more than once: $dups"
for n in dense conv2d add concat dropout batchnorm; do
    echo "$layers" | grep -qx "$n" || fail "layer type '$n' missing"
done

cat > loss.yaml <<'YAML'
data: {path: tiny.h5}
model: {input: [3], layers: [{type: dense, units: 2}]}
train: {epochs: 1, loss: nope}
YAML
same_list "losses" "$(valid_names train loss.yaml --run-dir r)" "$(catalogue_names losses)"
for key in label_smoothing class_weights pos_weight delta= beta= log_target log_input \
           full= eps= include_bias; do
    grep -q "$key" help.txt || fail "--help-catalogue does not name the loss parameter $key"
done

base='data: {path: tiny.h5}
model: {input: [3], layers: [{type: dense, units: 2}]}'
printf '%s\ntrain: {epochs: 1, loss: mse, optimizer: nope}\n' "$base" > opt.yaml
optimizers=$(catalogue_names optimizers)
same_list "optimizers" "$(valid_names train opt.yaml --run-dir r)" "$optimizers"
printf '%s\ntrain: {epochs: 1, loss: mse, optimizer: sgd, schedule: {type: nope}}\n' "$base" \
    > s.yaml
same_list "schedules" "$(valid_names train s.yaml --run-dir r)" "$(catalogue_names schedules)"
printf 'model: {input: [3], init: nope, layers: [{type: dense, units: 2}]}\n' > init.yaml
same_list "initializers" "$(valid_names summary init.yaml)" "$(catalogue_names initializers)"

# Each optimizer's row carries its own keys and defaults (torch.optim's where torch has it).
for line in "sgd lr=0.01 weight_decay=0 l1=0" \
            "momentum lr=0.01 momentum=0.9 dampening=0 form=classic|ema" \
            "nesterov lr=0.01 momentum=0.9 weight_decay=0" \
            "adam lr=0.001 beta1=0.9 beta2=0.999 eps=1e-08 amsgrad=false weight_decay=0" \
            "adamw lr=0.001 beta1=0.9 beta2=0.999 eps=1e-08 amsgrad=false weight_decay=0.01" \
            "rmsprop lr=0.01 alpha=0.99 eps=1e-08 momentum=0 centered=false" \
            "adagrad lr=0.01 lr_decay=0 eps=1e-10 initial_accumulator_value=0" \
            "lars lr=0.01 momentum=0.9 trust=0.001 eps=1e-08"; do
    # The name, then its keys after the name column's padding.
    awk -v name="${line%% *}" -v keys="${line#* }" \
        '$1 == name && index($0, "  " name " ") == 1 && index($0, keys) { found = 1 }
         END { exit !found }' help.txt || fail "--help-catalogue lacks '$line'"
done
[ "$(grep -c 'decay_exempt_bias_and_norm=false' help.txt)" -eq "$(echo "$optimizers" | wc -l)" ] ||
    fail "not every optimizer lists its penalties"
for key in gamma=0.1 step_size=1 milestones= eta_min=0 factor=0.1 patience=10 threshold=0.0001 \
           cooldown=0 min_lr=0 warmup_epochs=0 warmup_steps=0 warmup_start_factor=1/3 \
           lr_reference_batch=256 \
           shift=0 flip=false rotate=0 noise=0 \
           monitor=val_loss mode=min patience=5 min_delta=0 restore_best=false \
           every=1 keep=3 every_steps=0 best=true repeat: block_input train_only_batchnorm; do
    grep -qF "$key" help.txt || fail "--help-catalogue does not name $key"
done
echo "catalogue: ok"

# --help-catalogue lists every name the config accepts: each loss, activation and layer type
# that the "valid:" lists of the config errors name, and every loss parameter.
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
echo "catalogue: ok"

# A run records the nntrain that made it: the version line of `nntrain --version` as the
# first line of config.yaml (a comment: the file still trains) and as /meta's
# nntrain_version attribute of every checkpoint.
source "$(dirname "$0")/lib.sh"
for i in $(seq 0 99); do echo "$((i % 2)),0.$i,1.$i,$((i % 5))"; done > d.csv
"$NNTRAIN" import csv --train d.csv --label-column 0 --no-header -o d.h5 > /dev/null
cat > cfg.yaml <<'YAML'
data: {path: d.h5, test: none}
model: {input: [3], layers: [{type: dense, units: 2}]}
train: {epochs: 1, batch_size: 8, threads: 1, loss: cross_entropy, optimizer: {type: sgd, lr: 0.1}}
YAML
"$NNTRAIN" train cfg.yaml --run-dir run > /dev/null
version=$("$NNTRAIN" --version | sed 's/^nntrain //')
[ "$(head -1 run/config.yaml)" = "# written by nntrain $version" ] ||
    fail "config.yaml's first line: '$(head -1 run/config.yaml)', expected nntrain $version"
"$NNTRAIN" train run/config.yaml --run-dir again > /dev/null || fail "config.yaml does not train"
stored=$(/usr/bin/python3 -c '
import sys, h5py
print(h5py.File(sys.argv[1], "r")["meta"].attrs["nntrain_version"])' run/last.h5)
[ "$stored" = "$version" ] || fail "/meta nntrain_version '$stored', expected '$version'"
echo "version record: $version"

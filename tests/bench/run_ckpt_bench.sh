#!/bin/bash
# Checkpoint write time and size for the residual+inception network and a 10M-parameter MLP.
#     cmake --build build --target bench-ckpt
set -euo pipefail
: "${BENCH_CKPT:?BENCH_CKPT must point at the bench_ckpt program}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${NN_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-ckpt.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# 784-3072-2048-1024-10: 2.41M + 6.29M + 2.10M + 0.01M = 10.8M parameters.
cat > "$WORK/mlp10m.yaml" <<YAML
model: {input: [784], mlp: [3072, 2048, 1024, 10]}
YAML
"$BENCH_CKPT" "$SOURCE_DIR/launch/configs/resnet-inception.yaml" "$WORK"
"$BENCH_CKPT" "$WORK/mlp10m.yaml" "$WORK"

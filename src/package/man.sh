#!/bin/bash
# man.sh NNTRAIN HELP2MAN OUT: writes the man page nntrain.1 from the program's own help:
# help2man's page from `nntrain --help` and `--version`, and a COMMANDS section with
# `nntrain COMMAND --help` of every command `nntrain --help` lists (so a new verb appears
# by being in the verb table). Run by the build (src/package/install.cmake).
set -euo pipefail
nntrain=$1
help2man=$2
out=$3
include=$(mktemp)
trap 'rm -f "$include"' EXIT

# Text as roff: backslashes escaped, lines that start with . or ' kept as text.
roff_text() {
    sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

{
    echo "[COMMANDS]"
    "$nntrain" --help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 }
        on && /^  [a-z]/ { print $1 ($2 ~ /^[a-z]+$/ ? " " $2 : "") }' | uniq |
        while read -r command; do
            # shellcheck disable=SC2086 # "import csv" is a command and a subcommand
            text=$("$nntrain" $command --help 2>/dev/null) || continue
            printf '.SS "nntrain %s"\n.nf\n' "$command"
            printf '%s\n' "$text" | roff_text
            printf '.fi\n'
        done
    printf '[EXIT STATUS]\n0 ok, 1 other failure, 2 usage or config error, 3 data error, '
    printf '4 numerical failure.\n'
} >"$include"
"$help2man" --no-info --no-discard-stderr --section 1 \
    --name "train neural networks, data-parallel over MPI ranks" \
    --include "$include" --output "$out" "$nntrain"

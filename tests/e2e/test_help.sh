# Every command of `nntrain --help` (commands added later included) answers --help with exit
# 0 and names in it every flag of its parser's table (the hidden --list-flags prints the
# table); --version and `nntrain version` give the project version; --help-catalogue names
# every data: key the trainer accepts; --list-config-keys lists every settable key, set or
# default; the bash completion loads and completes commands, flags and every settable
# config key.
source "$(dirname "$0")/lib.sh"

# "train", "import idx", ...: the first word of each command line of `nntrain --help`, with
# the second when it is a subcommand (a lowercase word).
"$NNTRAIN" --help > top.txt
commands=$(awk '/^commands:/ { on = 1; next } /^$/ { on = 0 }
    on && /^  [a-z]/ { print $1 ($2 ~ /^[a-z]+$/ ? " " $2 : "") }' top.txt | uniq)
[ "$(echo "$commands" | wc -l)" -ge 8 ] || fail "too few commands in nntrain --help: $commands"
# (grep without -q below: -q ends the pipe early, and pipefail counts the writer's SIGPIPE.)
for expected in train search summary eval predict verify version; do
    echo "$commands" | grep -x "$expected" > /dev/null || fail "nntrain --help does not list $expected"
done

# Every command is checked; the ones that fail are named together at the end.
undocumented=""
while read -r command; do
    # shellcheck disable=SC2086 # "import idx" is a command and its subcommand
    if ! "$NNTRAIN" $command --help > help.txt 2> err.txt || [ ! -s help.txt ] ||
        ! grep -q "^usage: nntrain" help.txt; then
        undocumented+="  nntrain $command --help: exit or text wrong: $(head -1 err.txt)"$'\n'
        continue
    fi
    # shellcheck disable=SC2086
    if ! "$NNTRAIN" $command --list-flags > flags.txt 2> err.txt ||
        ! grep -qx -- "--help" flags.txt; then
        undocumented+="  nntrain $command: no flag table (src/cli/options.h): $(head -1 err.txt)"$'\n'
        continue
    fi
    while read -r flag _; do
        grep -qE -- "(^|[ ,])$flag( |,|$)" help.txt ||
            undocumented+="  nntrain $command --help does not mention $flag"$'\n'
    done < flags.txt
    echo "help: $command: $(wc -l < flags.txt) flags in its table"
done <<< "$commands"
[ -z "$undocumented" ] || fail "commands without a complete --help:"$'\n'"$undocumented"

# A flag the table does not have is refused, naming the closest one.
expect_exit 2 "$NNTRAIN" train --resme x
grep -q "did you mean '--resume'" err.txt || fail "train --resme: no suggestion: $(cat err.txt)"
expect_exit 2 "$NNTRAIN" verify
grep -q "usage: nntrain verify" err.txt || fail "verify without a checkpoint: $(cat err.txt)"

# --version: the project version of CMakeLists.txt, the same from `nntrain version`.
version=$(sed -n 's/^project(nntrain VERSION \([0-9.]*\).*/\1/p' "$NN_SOURCE_DIR/CMakeLists.txt")
[ -n "$version" ] || fail "no project version in CMakeLists.txt"
"$NNTRAIN" --version > v1.txt
"$NNTRAIN" version > v2.txt
grep -qE "^nntrain $version( \(commit [0-9a-f]+(-dirty)?\))?$" v1.txt ||
    fail "--version: '$(cat v1.txt)', expected nntrain $version"
cmp -s v1.txt v2.txt || fail "--version and 'nntrain version' differ"

# --help-catalogue names every key of data: (the list the trainer checks against).
"$NNTRAIN" train --help-catalogue > catalogue.txt
data_keys=$(sed -n '/data_keys\[\] = {/,/};/p' "$NN_SOURCE_DIR/src/train/data_splits.c" |
            grep -o '"[a-z_]*"' | tr -d '"')
[ "$(echo "$data_keys" | wc -w)" -ge 5 ] || fail "could not read data_keys: $data_keys"
for key in $data_keys; do
    sed -n '/^data keys/,/^$/p' catalogue.txt | grep -E "^  $key(=| )" > /dev/null ||
        fail "--help-catalogue's data section does not describe data.$key"
done
"$NNTRAIN" train --help | grep -- "--help-catalogue" > /dev/null || fail "train --help: no pointer"

# --list-config-keys: every key --set can give, the ones the file sets marked "set", the
# others "default": the optimizer's own keys (from its catalogue row), the layers' keys, the
# sections' keys; none below a section written as a name.
cat > c.yaml <<'YAML'
data: {path: d.h5}
model:
  input: [4]
  layers:
    - {name: h, type: dense, units: 3}
    - {name: r, type: lstm, units: 2}
train: {epochs: 2, loss: cross_entropy, optimizer: {type: adam, lr: 0.1}}
YAML
"$NNTRAIN" train c.yaml --list-config-keys > keys.txt
for line in "train.optimizer.lr	set" "train.optimizer.beta2	default" "train.epochs	set" \
            "train.batch_size	default" "model.layers[0].units	set" "model.layers[0].bias	default" \
            "model.layers[1].bidirectional	default" "train.early_stopping.patience	default" \
            "data.path	set" "data.layout	default" "data.val.split	default" \
            "train.loss	set" "seed	default"; do
    grep -xF "$line" keys.txt > /dev/null || fail "--list-config-keys lacks '$line': $(cat keys.txt)"
done
grep "^train.loss\." keys.txt > /dev/null && fail "--list-config-keys offers keys below 'loss: cross_entropy'"
[ "$(cut -f1 keys.txt | sort | uniq -d)" = "" ] || fail "--list-config-keys repeats keys"

# Bash completion: loads, completes commands, a command's flags and --set's keys.
complete_words() { # words...: the completions of the last word
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _nntrain
             printf "%s\n" "${COMPREPLY[@]}"' _ "$NN_SOURCE_DIR/src/package/nntrain.bash" "$@"
}
bash -c 'source "$1" && complete -p nntrain' _ "$NN_SOURCE_DIR/src/package/nntrain.bash" \
    > /dev/null || fail "the completion script does not load"
complete_words "$NNTRAIN" ver | grep -x version > /dev/null || fail "completion: commands"
complete_words "$NNTRAIN" train c.yaml --res | grep -x -- --resume > /dev/null || fail "completion: flags"
complete_words "$NNTRAIN" train c.yaml --set train.optimizer. > words.txt
for word in train.optimizer.lr= train.optimizer.beta1= train.optimizer.amsgrad=; do
    grep -xF "$word" words.txt > /dev/null || fail "completion: --set lacks $word: $(cat words.txt)"
done
echo "help: ok"

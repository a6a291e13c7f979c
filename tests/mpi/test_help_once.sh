# Under mpirun -np 2, what needs no communication is said once (by rank 0) and every rank
# ends with the same exit code: each command's --help, --version and `nntrain version`,
# --help-catalogue, the top-level usage, an unknown command, and command-line errors (an
# unknown flag, a missing operand, a switch given a value).
source "$(dirname "$0")/../e2e/lib.sh"

# once TEXT FILE: TEXT occurs on exactly one line of FILE.
once() {
    local n
    n=$(grep -cF -- "$1" "$2" || true)
    [ "$n" -eq 1 ] || fail "'$1' printed $n times under mpirun -np 2: $(cat "$2")"
}

for command in train search summary eval predict verify export report; do
    $MPIRUN -np 2 "$NNTRAIN" $command --help > out.txt 2>&1 || fail "$command --help under mpirun"
    once "usage: nntrain $command" out.txt
done
$MPIRUN -np 2 "$NNTRAIN" --version > out.txt 2>&1 || fail "--version under mpirun"
once "nntrain " out.txt
$MPIRUN -np 2 "$NNTRAIN" version > out.txt 2>&1 || fail "version under mpirun"
once "nntrain " out.txt
$MPIRUN -np 2 "$NNTRAIN" train --help-catalogue > out.txt 2>&1 || fail "--help-catalogue"
once "data keys (data:):" out.txt
$MPIRUN -np 2 "$NNTRAIN" --help > out.txt 2>&1 || fail "--help under mpirun"
once "usage: nntrain <command>" out.txt

# Usage errors: exit 2 (mpirun passes a rank's code on), the message once, without a rank
# prefix (it is every rank's).
usage_error() { # MESSAGE ARGS...
    local message=$1 code=0
    shift
    $MPIRUN -np 2 "$NNTRAIN" "$@" > out.txt 2>&1 || code=$?
    [ "$code" -eq 2 ] || fail "nntrain $* under mpirun: exit $code, expected 2: $(cat out.txt)"
    once "$message" out.txt
    grep -F "rank 1:" out.txt > /dev/null && fail "nntrain $*: a rank-prefixed copy: $(cat out.txt)"
    echo "help once: nntrain $*: ok"
}
usage_error "unknown command 'bogus'" bogus
usage_error "did you mean '--resume'" train --resme x
usage_error "usage: nntrain verify" verify
usage_error "usage: nntrain eval" eval
usage_error "--progress takes no value" train c.yaml --progress=yes
echo "help once: ok"

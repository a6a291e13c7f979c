# bash completion for nntrain: the commands (and import's subcommands), each command's flags
# and, after --set or --rank-set, every key the config file on the command line can be given
# (those it sets and those left at their defaults). Everything is asked from nntrain itself
# (`nntrain --help`, `nntrain COMMAND --list-flags`, `nntrain train CONFIG
# --list-config-keys`, whose first column is the key), none of which starts MPI.
_nntrain_commands() {
    "$1" --help 2>/dev/null | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 }
        on && /^  [a-z]/ { print $1 }' | uniq
}

_nntrain_subcommands() {
    "$1" --help 2>/dev/null | awk -v verb="$2" '/^commands:/ { on = 1; next } /^$/ { on = 0 }
        on && $1 == verb && $2 ~ /^[a-z]+$/ { print $2 }' | uniq
}

_nntrain() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prog=${COMP_WORDS[0]} command=()
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_nntrain_commands "$prog") --help --version" \
            -- "$cur")
        return
    fi
    command=("${COMP_WORDS[1]}")
    local subcommands
    subcommands=$(_nntrain_subcommands "$prog" "${COMP_WORDS[1]}")
    if [ -n "$subcommands" ]; then
        if [ "$COMP_CWORD" -eq 2 ]; then
            mapfile -t COMPREPLY < <(compgen -W "$subcommands" -- "$cur")
            return
        fi
        command+=("${COMP_WORDS[2]}")
    fi
    local flags
    flags=$("$prog" "${command[@]}" --list-flags 2>/dev/null)
    if [ "$prev" = --set ] || [ "$prev" = --rank-set ]; then
        local word config=""
        for word in "${COMP_WORDS[@]:2}"; do
            case $word in *.yaml | *.yml) [ -f "$word" ] && config=$word && break ;; esac
        done
        [ -n "$config" ] || return
        local prefix=""
        [ "$prev" = --rank-set ] && [[ $cur == *:* ]] && prefix=${cur%%:*}:
        compopt -o nospace 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -P "$prefix" -S = \
            -W "$("$prog" train "$config" --list-config-keys 2>/dev/null | cut -f1)" \
            -- "${cur#"$prefix"}")
        return
    fi
    # A flag that takes a value (its --list-flags line has a placeholder): files.
    if printf '%s\n' "$flags" | grep -qx -- "$prev [A-Z].*"; then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(printf '%s\n' "$flags" | cut -d' ' -f1)" \
            -- "$cur")
        return
    fi
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

complete -o filenames -F _nntrain nntrain

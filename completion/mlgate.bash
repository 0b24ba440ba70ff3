# mlgate.bash - bash completion for mlgate; commands and options are read from `mlgate --help` and `mlgate CMD --help` at completion time.
#
# Install as ${datadir}/bash-completion/completions/mlgate (bash-completion loads it on first use), or
# source it from ~/.bashrc. Needs bash >= 4.2, nothing else. What each --help printed is parsed once per
# shell session and executable (the cache is _MLGATE_CACHE). Values: --gpu/-g the names of
# `mlgate scan --list-gpus` (quoted: they contain spaces; after a comma the next name of a list) and
# all; --color auto always never; --flash-attn/-fa on off auto; --ctk/--ctv the cache types; fit's
# --engine and --kv-cache-dtype their words;
# options with a DIR argument directories; other path-like arguments and operands files.

declare -gA _MLGATE_CACHE 2>/dev/null || return 0

# _mlgate_exe WORD: the executable COMP_WORDS[0] names, in _mlgate_bin (status 1 when there is none)
_mlgate_exe() {
    local w=$1
    # shellcheck disable=SC2088 # a literal ~/ as typed
    [[ $w == "~/"* ]] && w=$HOME/${w#"~/"}
    if [[ $w == */* ]]; then
        [[ -x $w && ! -d $w ]] || return 1
        _mlgate_bin=$w
    else
        _mlgate_bin=$(type -P -- "$w") || return 1
    fi
}

# _mlgate_cached KEY COMMAND...: COMMAND's stdout, run once per KEY and executable; in _mlgate_out
_mlgate_cached() {
    local key=$_mlgate_bin$'\x1f'$1
    shift
    if [[ -z ${_MLGATE_CACHE[$key]+set} ]]; then
        _MLGATE_CACHE[$key]=$("$@" 2>/dev/null)
    fi
    _mlgate_out=${_MLGATE_CACHE[$key]}
}

# The command names: the indented first words of the block after the "commands:" line of `mlgate --help`.
_mlgate_commands() {
    local line inlist=0 names=()
    _mlgate_cached top-help "$_mlgate_bin" --help
    while IFS= read -r line; do
        if [[ $line =~ ^[A-Za-z\ ]*[Cc]ommands:$ ]]; then
            inlist=1
        elif [[ -z $line ]]; then
            inlist=0
        elif ((inlist)) && [[ $line =~ ^[[:space:]]+([a-z][a-z0-9_-]*)([[:space:]]|$) ]]; then
            names+=("${BASH_REMATCH[1]}")
        fi
    done <<<"$_mlgate_out"
    _mlgate_cmds="${names[*]}"
}

# The options of one help text (on stdin), one "OPTION<TAB>ARGUMENT" line each (ARGUMENT empty for a
# flag): the option lines are the indented lines starting with '-'; "-g, --gpu LIST", "--ctk/--ctv TYPE".
_mlgate_parse_options() {
    local line term tok a meta opts alts o
    local -a toks
    while IFS= read -r line; do
        [[ $line =~ ^[[:space:]]+-[^[:space:]] ]] || continue
        line=${line#"${line%%[![:space:]]*}"}
        term=${line%%"  "*}
        read -ra toks <<<"$term"
        opts=() meta=
        for tok in "${toks[@]}"; do
            if [[ $tok == -* ]]; then
                tok=${tok%,}
                IFS=/ read -ra alts <<<"$tok"
                for a in "${alts[@]}"; do
                    a=${a%%[=[]*}
                    [[ $a =~ ^--?[A-Za-z0-9] ]] && opts+=("$a")
                done
            else
                # an argument looks like LIST, REGEX=CPU or on|off|auto; a description word does not
                [[ $tok =~ ^[][A-Z0-9_=\<\>.:-]+$ || $tok == *'|'* ]] && meta=$tok
                break
            fi
        done
        for o in "${opts[@]}"; do
            printf '%s\t%s\n' "$o" "$meta"
        done
    done
}

# The options of command $1: _mlgate_opts (words) and _mlgate_optargs (OPTION<TAB>ARGUMENT lines)
_mlgate_options() {
    _mlgate_cached "options:$1" _mlgate_run_parse "$1"
    _mlgate_optargs=$_mlgate_out
    local line
    _mlgate_opts=
    while IFS= read -r line; do
        [[ -n $line ]] && _mlgate_opts+=" ${line%%$'\t'*}"
    done <<<"$_mlgate_optargs"
}
_mlgate_run_parse() { "$_mlgate_bin" ${1:+"$1"} --help 2>/dev/null | _mlgate_parse_options; }

# The GPU names: the first column (up to two spaces) of `mlgate scan --list-gpus`, after its header.
_mlgate_gpu_names() {
    _mlgate_cached gpus "$_mlgate_bin" scan --list-gpus
    local line n=0
    _mlgate_gpus=()
    while IFS= read -r line; do
        ((n++ == 0)) && [[ $line =~ ^GPU[[:space:]] ]] && continue
        line=${line%%"  "*}
        [[ -n $line ]] && _mlgate_gpus+=("$line")
    done <<<"$_mlgate_out"
}

# _mlgate_unquote WORD: WORD as the shell will read it ('RTX 50, "RTX 50, RTX\ 50 -> RTX 50), in
# _mlgate_uq; the opening quote in _mlgate_q ('' when unquoted)
_mlgate_unquote() {
    local w=$1 out='' c i
    _mlgate_q=
    case $w in
    \'*) _mlgate_q="'" _mlgate_uq=${w:1} && _mlgate_uq=${_mlgate_uq%\'} && return ;;
    \"*) _mlgate_q='"' w=${w:1} w=${w%\"} ;;
    esac
    for ((i = 0; i < ${#w}; i++)); do
        c=${w:i:1}
        if [[ $c == \\ ]] && ((i + 1 < ${#w})); then
            ((i++))
            c=${w:i:1}
        fi
        out+=$c
    done
    _mlgate_uq=$out
}

# _mlgate_backslash WORD: WORD with a backslash before each character the shell would take apart, in
# _mlgate_uq (patsub's & differs between bash versions: a loop)
_mlgate_backslash() {
    local w=$1 out='' c i
    for ((i = 0; i < ${#w}; i++)); do
        c=${w:i:1}
        [[ $c == [A-Za-z0-9_.,:=+@%/-] ]] || out+=\\
        out+=$c
    done
    _mlgate_uq=$out
}

# Complete GPU names for the word $cur: the list's last element after a comma; names quoted as the word
# was (backslashes when unquoted, nothing inside an open quote).
_mlgate_complete_gpus() {
    _mlgate_gpu_names
    _mlgate_unquote "$cur"
    local v=$_mlgate_uq head='' stem name r
    if [[ $v == *,* ]]; then
        head=${v%,*},
        stem=${v##*,}
    else
        stem=$v
    fi
    COMPREPLY=()
    for name in "${_mlgate_gpus[@]}" all; do
        [[ $name == "$stem"* ]] || continue
        r=$head$name
        [[ -z $_mlgate_q ]] && _mlgate_backslash "$r" && r=$_mlgate_uq
        COMPREPLY+=("$r")
    done
}

_mlgate_words() { # _mlgate_words WORD...: the WORDs starting with $cur
    mapfile -t COMPREPLY < <(compgen -W "$*" -- "$cur")
}

_mlgate_files() { # _mlgate_files [-d]: files (or directories) for $cur
    # compgen -f dequotes the word inside a completion but not everywhere: give it the plain name
    _mlgate_unquote "$cur"
    compopt -o filenames 2>/dev/null
    if [[ ${1-} == -d ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$_mlgate_uq")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$_mlgate_uq")
    fi
}

_mlgate() {
    local cur=${COMP_WORDS[COMP_CWORD]} cword=$COMP_CWORD prev='' cmd eq='' arg='' line i
    local _mlgate_bin _mlgate_out _mlgate_cmds _mlgate_opts _mlgate_optargs _mlgate_uq _mlgate_q
    local -a _mlgate_gpus
    COMPREPLY=()
    ((cword > 0)) && prev=${COMP_WORDS[cword - 1]}
    _mlgate_exe "${COMP_WORDS[0]}" || return 0

    if ((cword == 1)); then
        _mlgate_commands
        if [[ $cur == -* ]]; then
            # what `mlgate --help` lists, and what main() always takes
            _mlgate_cached top-options _mlgate_run_parse ""
            line=" --help -h --version "
            while IFS=$'\t' read -r i _; do
                [[ -n $i && $line != *" $i "* ]] && line+="$i "
            done <<<"$_mlgate_out"
            _mlgate_words "$line"
        else
            _mlgate_words "$_mlgate_cmds"
        fi
        return 0
    fi
    cmd=${COMP_WORDS[1]}
    _mlgate_commands
    [[ " $_mlgate_cmds " == *" $cmd "* ]] || return 0
    case $cmd in
    help)
        if ((cword == 2)); then
            for i in $_mlgate_cmds; do [[ $i != help ]] && line+=" $i"; done
            _mlgate_words "$line"
        fi
        return 0
        ;;
    version) return 0 ;;
    esac

    # --opt=value: COMP_WORDBREAKS usually splits it into --opt, =, value
    if [[ $cur == = && $prev == -* ]]; then
        cur=
    elif [[ $prev == = ]] && ((cword >= 3)) && [[ ${COMP_WORDS[cword - 2]} == -* ]]; then
        prev=${COMP_WORDS[cword - 2]}
    elif [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        eq=$prev=
        cur=${cur#*=}
    fi
    # after --, only operands
    for ((i = 2; i < cword; i++)); do
        [[ ${COMP_WORDS[i]} == -- ]] && { _mlgate_files; return 0; }
    done

    _mlgate_options "$cmd"
    if [[ $prev == -* ]]; then
        while IFS=$'\t' read -r i line; do
            [[ $i == "$prev" ]] && arg=$line && break
        done <<<"$_mlgate_optargs"
    fi
    if [[ -n $arg ]]; then
        case $prev in
        --gpu | -g) _mlgate_complete_gpus ;;
        --color) _mlgate_words auto always never ;;
        --flash-attn | -fa) _mlgate_words on off auto ;;
        --ctk | --ctv) _mlgate_words f16 f32 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 iq4_nl ;;
        --engine) _mlgate_words vllm sglang transformers ;;
        --kv-cache-dtype) _mlgate_words auto fp8 fp8_e4m3 fp8_e5m2 bfloat16 float16 float32 ;;
        *)
            case $arg in
            DIR | *_DIR) _mlgate_files -d ;;
            *'|'*) _mlgate_words "${arg//|/ }" ;;
            N | SEC | SECS | SIZE | VER | LIST | L | WHEN | TYPE | *REGEX* | *=*) ;;
            *) _mlgate_files ;;
            esac
            ;;
        esac
        [[ -n $eq ]] && COMPREPLY=("${COMPREPLY[@]/#/$eq}")
        return 0
    fi
    if [[ $cur == -* ]]; then
        _mlgate_words "$_mlgate_opts"
    else
        _mlgate_files
    fi
    return 0
}

complete -F _mlgate mlgate

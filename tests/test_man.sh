#!/bin/sh
# test_man.sh - the man pages (scripts/help2man.sh) and the bash completion against what every `mlgate ... --help` prints.
# usage: test_man.sh MLGATE SCRIPTS_DIR COMPLETION_FILE
# Prints each failure, then "N passed, M failed"; exits 1 when something failed, 2 on bad usage.
# Rendering (groff or man) and the completion (bash) are skipped, with a SKIP line, where the tool is missing.
set -u
if [ $# -ne 3 ]; then
    echo "usage: test_man.sh MLGATE SCRIPTS_DIR COMPLETION_FILE" >&2
    exit 2
fi
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
mlgate=$(abs "$1")
scripts=$(abs "$2")
compfile=$(abs "$3")
for f in "$mlgate" "$scripts/help2man.sh" "$compfile"; do
    [ -f "$f" ] || { echo "test_man.sh: no $f" >&2; exit 2; }
done

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check WHAT COMMAND...: passes when COMMAND succeeds
    what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_man.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

version=$("$mlgate" --version)
version=${version##* }
"$mlgate" --help >"$tmp/top.help"

# the commands of `mlgate --help` that have their own help text get a page
commands() { # commands HELPFILE: the names in its command list
    awk '/^[A-Za-z ]*[Cc]ommands:$/ { f = 1; next } f && /^$/ { f = 0 } f && /^ +[a-z]/ { print $1 }' "$1"
}
pages=
for c in $(commands "$tmp/top.help"); do
    case $c in help | version) continue ;; esac
    "$mlgate" "$c" --help 2>/dev/null | head -n 1 | grep -q '^usage:' && pages="$pages $c"
done
for c in scan doctor inspect fit plan check history; do
    case " $pages " in *" $c "*) ok ;; *) bad "'$c' is not a command with a help text in 'mlgate --help'" ;; esac
done

# ---- helpers over a help text ($1) and a page ($2) ----
long_options() { # every --long-option the text mentions, once
    awk '{ s = $0
           while (match(s, /--[A-Za-z0-9][A-Za-z0-9_-]*/)) {
               if (RSTART == 1 || substr(s, RSTART - 1, 1) !~ /[A-Za-z0-9_-]/) { o = substr(s, RSTART, RLENGTH); sub(/-+$/, "", o); if (!(o in seen)) { seen[o]; print o } }
               s = substr(s, RSTART + RLENGTH) } }' "$1"
}
option_lines() { awk 'match($0, /^ +-[^ ]/) && RLENGTH <= 11' "$1"; }
term_options() { # the options the option lines define: "-g, --gpu LIST" -> -g --gpu; "--ctk/--ctv TYPE"
    option_lines "$1" | awk '{ t = $0; sub(/^ +/, "", t); i = index(t, "  "); if (i) t = substr(t, 1, i - 1)
        n = split(t, w, / +/)
        for (k = 1; k <= n; k++) { if (w[k] !~ /^-/) break; m = split(w[k], a, "/")
            for (j = 1; j <= m; j++) { x = a[j]; sub(/[,=[].*$/, "", x); if (x ~ /^--?[A-Za-z0-9][A-Za-z0-9_-]*$/ && !seen[x]++) print x } } }'
}
short_options() { term_options "$1" | grep -v '^--'; }
in_page() { # in_page PAGE TEXT: TEXT occurs in PAGE, not as the start of a longer name
    want=$2 awk 'BEGIN { want = ENVIRON["want"] } { s = $0
        while ((i = index(s, want)) > 0) { r = substr(s, i + length(want))
            if (r !~ /^[A-Za-z0-9_]/ && r !~ /^\\-[A-Za-z0-9]/) { found = 1; exit }
            s = substr(s, i + 1) } }
        END { exit !found }' "$1"
}
in_text() { # in_text FILE WORD: WORD occurs in FILE as a whole word
    want=$2 awk 'BEGIN { want = ENVIRON["want"] } { s = " " $0 " "
        while ((i = index(s, want)) > 0) { a = substr(s, i - 1, 1); b = substr(s, i + length(want), 1)
            if (a !~ /[A-Za-z0-9_-]/ && b !~ /[A-Za-z0-9_-]/) { found = 1; exit }
            s = substr(s, i + 1) } }
        END { exit !found }' "$1"
}
troff_esc() { printf '%s' "$1" | sed 's/-/\\-/g'; }
has_line() { grep -qxF -- "$2" "$1"; }
see_also() { has_line "$1" ".BR $2 (1)," || has_line "$1" ".BR $2 (1)"; }
section_items() { # section_items PAGE SECTION: the .TP count in that .SH section
    want=".SH $2" awk 'BEGIN { s = ENVIRON["want"] } $0 == s { f = 1; next } /^\.SH / { f = 0 } f && /^\.TP$/ { n++ } END { print n + 0 }' "$1"
}
next_line() { # next_line PAGE LINE: the line after LINE
    want=$2 awk 'BEGIN { s = ENVIRON["want"] } f { print; exit } $0 == s { f = 1 }' "$1"
}
requests_known() { # every request line is one help2man.sh writes; a text line never starts with . or '
    awk '/^[.'"'"']/ && !/^\.(TH|SH|SS|TP|PP|RS|RE|nf|fi|br|ad|nh|BR|B|I|IP)( |$)/ && !/^\.\\"/ { bad = 1; print "  stray request: " $0 }
         END { exit bad }' "$1"
}
words_kept() { # words_kept HELP PAGE: every word of the help (headings and labels aside) is in the page's text
    awk 'NR == FNR { if ($0 ~ /^\.\\"/) next
            sub(/^\.[A-Za-z]+ /, ""); gsub(/\\f[BIRP]/, ""); gsub(/\\\([a-z][a-z]/, " "); gsub(/\\e/, " "); gsub(/\\&/, "")
            n = split(tolower($0), w, /[^a-z0-9]+/); for (i = 1; i <= n; i++) have[w[i]]; next }
         { l = $0; sub(/^ *(usage|or): /, "", l)
           if (l ~ /^[A-Za-z]+( [A-Za-z]+)?( [A-Za-z]+)?( [A-Za-z]+)?( [A-Za-z]+)?( [A-Za-z]+)?:( |$)/) sub(/^[^:]*:/, "", l)
           n = split(tolower(l), w, /[^a-z0-9]+/)
           for (i = 1; i <= n; i++) if (w[i] != "" && !(w[i] in have) && !(w[i] in told)) { told[w[i]]; bad = 1; print "  lost: " w[i] } }
         END { exit bad }' "$2" "$1"
}
no_raw_options() { # option names are written with \- (a raw - would render as a hyphen)
    awk '!/^\.\\"/ && !/^\.TH/ && ($0 ~ "(^|[ (,/])--?[A-Za-z]") { bad = 1; print "  raw option: " $0 } END { exit bad }' "$1"
}

renderer=
if command -v groff >/dev/null 2>&1; then
    renderer=groff
elif command -v man >/dev/null 2>&1; then
    renderer='man'
else
    echo "SKIP rendering: neither groff nor man is installed"
fi
render_warnings() { # render_warnings PAGE: the renderer's complaints (none expected)
    if [ "$renderer" = groff ]; then
        groff -man -Tutf8 -ww -z "$1" 2>&1
    else
        # shellcheck disable=SC2069 # stderr only
        LC_ALL=C MANWIDTH=80 MANPAGER=cat man --warnings -l "$1" 2>&1 >/dev/null
    fi
}
render_text() {
    if [ "$renderer" = groff ]; then
        groff -man -Tascii -P-cbou "$1" 2>/dev/null
    else
        LC_ALL=C MANWIDTH=80 MANPAGER=cat man -l "$1" 2>/dev/null | cat
    fi
}

# check_page CMD HELPFILE PAGE: the page of CMD holds everything its help text says
check_page() {
    c=$1
    h=$2
    p=$3
    if [ "$c" = mlgate ]; then name=mlgate; else name=mlgate-$c; fi
    title=$(troff_esc "$(printf '%s' "$name" | tr a-z A-Z)")
    th=$(grep '^\.TH ' "$p")
    case $th in
    ".TH \"$title\" \"1\" \"20"[0-9][0-9]-[01][0-9]-[0-3][0-9]"\" \"mlgate $version\""*) ok ;;
    *) bad "$name: .TH is '$th', want the title $title, a date and version $version" ;;
    esac
    for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
        check "$name: .SH $s" has_line "$p" ".SH $s"
    done
    nl=$(next_line "$p" ".SH NAME")
    case $nl in
    "$(troff_esc "$name") \\- "?*) ok ;;
    *) bad "$name: NAME line is '$nl'" ;;
    esac
    if [ "$c" != mlgate ]; then
        summary=$(awk -v c="$c" '/^[A-Za-z ]*[Cc]ommands:$/ { f = 1; next } f && /^$/ { f = 0 }
            f && $1 == c { sub(/^ +[^ ]+ +/, ""); print; exit }' "$tmp/top.help")
        words=$(printf '%s' "$summary" | awk '{ print $1, $2, $3 }' | sed 's/-/\\-/g')
        case $nl in *"$words"*) ok ;; *) bad "$name: NAME lacks the summary '$summary'" ;; esac
    fi
    nl=$(next_line "$p" ".SH SYNOPSIS")
    if [ "$c" = mlgate ]; then want='\fBmlgate\fR'; else want="\\fBmlgate $c\\fR"; fi
    case $nl in "$want"*) ok ;; *) bad "$name: SYNOPSIS line is '$nl'" ;; esac
    nopt=$(option_lines "$h" | wc -l)
    if [ "$c" != mlgate ] || [ "$nopt" -gt 0 ]; then
        check "$name: .SH OPTIONS" has_line "$p" ".SH OPTIONS"
        got=$(section_items "$p" OPTIONS)
        [ "$got" -eq "$nopt" ] && ok || bad "$name: OPTIONS has $got items, the help $nopt option lines"
    fi
    if [ "$c" = mlgate ]; then
        check "$name: .SH COMMANDS" has_line "$p" ".SH COMMANDS"
        for x in $(commands "$h"); do
            check "$name: COMMANDS lists $x" has_line "$p" "\\fB$x\\fR"
        done
    fi
    for o in $(long_options "$h"); do
        check "$name: $o is in the page (as $(troff_esc "$o"))" in_page "$p" "$(troff_esc "$o")"
    done
    for o in $(short_options "$h"); do
        check "$name: $o is in the page" in_page "$p" "\\fB$(troff_esc "$o")\\fR"
    done
    # every heading of the help ("Examples:", "Verdicts per file and target:") is a section
    awk '$0 ~ "^[A-Za-z][A-Za-z0-9 /-]*:$" && prev == "" { print substr($0, 1, length($0) - 1) } { prev = $0 }' "$h" >"$tmp/headings"
    while IFS= read -r l; do
        u=$(printf '%s' "$l" | tr a-z A-Z)
        case $u in EXAMPLE) u=EXAMPLES ;; OPTIONS) ;; *" OPTIONS") u="SS" ;; esac
        if [ "$u" = SS ]; then check "$name: heading '$l' is a subsection" has_line "$p" ".SS $l"
        else check "$name: heading '$l' is a section" has_line "$p" ".SH $u"; fi
    done <"$tmp/headings"
    if grep -qE '^Exit (status|codes):' "$h"; then
        check "$name: .SH EXIT STATUS" has_line "$p" ".SH EXIT STATUS"
    fi
    for x in mlgate $pages; do
        [ "$x" = "$c" ] && continue
        if [ "$x" = mlgate ]; then ref=mlgate; else ref="mlgate\\-$x"; fi
        check "$name: SEE ALSO $ref" see_also "$p" "$ref"
    done
    check "$name: every word of the help is in the page" words_kept "$h" "$p"
    check "$name: only known requests" requests_known "$p"
    check "$name: options escaped" no_raw_options "$p"
    if [ -n "$renderer" ]; then
        w=$(render_warnings "$p")
        [ -z "$w" ] && ok || { bad "$name: $renderer warns"; printf '%s\n' "$w" | head -5; }
        render_text "$p" >"$tmp/rendered"
        check "$name: renders" test -s "$tmp/rendered"
        for o in $(long_options "$h"); do
            check "$name: $o in the rendered page" in_text "$tmp/rendered" "$o"
        done
    fi
}

mkdir -p "$tmp/man"
for c in mlgate $pages; do
    if [ "$c" = mlgate ]; then h=$tmp/top.help; p=$tmp/man/mlgate.1; else
        h=$tmp/$c.help; p=$tmp/man/mlgate-$c.1; "$mlgate" "$c" --help >"$h"; fi
    if sh "$scripts/help2man.sh" "$mlgate" "$c" "$tmp/man" 2>"$tmp/err" && [ -s "$p" ]; then
        ok
        [ -s "$tmp/err" ] && bad "help2man.sh $c warns: $(head -n 1 "$tmp/err")" || ok
        check_page "$c" "$h" "$p"
    else
        bad "help2man.sh $c: $(head -n 3 "$tmp/err")"
    fi
done
check "help2man.sh refuses a bad command name" sh -c '! sh "$1" "$2" "../x" "$3" 2>/dev/null' sh "$scripts/help2man.sh" "$mlgate" "$tmp/man"

# ---- a help text that changed: a new command, option lines and sections, troff specials ----
fake=$tmp/fake/mlgate
mkdir -p "$tmp/fake"
cat >"$tmp/frob.help" <<'EOF'
usage: mlgate frobnicate [options] FILE...
   or: mlgate frobnicate --reset

Twiddles the frobs of FILE, a path like C:\frobs\x.
.hidden lines start with a dot,
'quoted' lines with an apostrophe; -1 is a number, --reset an option.

  -f, --frob-level N    how hard (default 3)
      --very-long-option-name VALUE
                        its text on the next line
      --dry-run         change nothing
                        (this line continues --dry-run)
      --reset           start again

Output options:
  -q, --quiet           say less

Environment:
  MLGATE_FROB   where the frobs are

Examples:
  mlgate frobnicate -f 2 --dry-run .

Exit status: 0 frobbed, 1 not, 2 usage error.
EOF
cat >"$fake" <<EOF
#!/bin/sh
case "\$1" in
--help) "$mlgate" --help | awk '/^[A-Za-z ]*[Cc]ommands:\$/ { print "options:"; print "  -h, --help    this help"; print "      --version print the version"; print "" }
    { print } /^[A-Za-z ]*[Cc]ommands:\$/ { print "  frobnicate  twiddle the frobs (a test command)" }' ;;
frobnicate) cat "$tmp/frob.help" ;;
nohelp) echo "mlgate 0.1.0" ;;
*) exec "$mlgate" "\$@" ;;
esac
EOF
chmod +x "$fake"
"$fake" --help >"$tmp/fake.help"
pages="$pages frobnicate"
if sh "$scripts/help2man.sh" "$fake" frobnicate "$tmp/man" 2>"$tmp/err"; then
    ok
    p=$tmp/man/mlgate-frobnicate.1
    check_page frobnicate "$tmp/frob.help" "$p"
    for s in ENVIRONMENT EXAMPLES "EXIT STATUS"; do
        check "frobnicate: new section $s" has_line "$p" ".SH $s"
    done
    check "frobnicate: 2nd usage line" grep -q '^\\fBmlgate frobnicate\\fR \\fB\\-\\-reset\\fR$' "$p"
    check "frobnicate: backslashes as \\e" grep -qF 'C:\efrobs\ex.' "$p"
    check "frobnicate: leading dot escaped" grep -q '^\\&\.hidden' "$p"
    check "frobnicate: leading apostrophe escaped" grep -q '^\\(aqquoted' "$p"
    check "frobnicate: a number's minus" grep -qF '\-1 is a number' "$p"
    check "frobnicate: continuation joined to --dry-run" sh -c "awk '/^\\.TP\$/ { t = \"\" } /dry\\\\-run/ && !t { t = \$0 } /this line continues/ { print t; exit }' \"\$1\" | grep -q '^\\\\fB\\\\-\\\\-dry\\\\-run\\\\fR\$'" sh "$p"
    check "frobnicate: text of an option on its own line" sh -c "awk 'f { print; exit } /very\\\\-long\\\\-option\\\\-name/ { f = 1 }' \"\$1\" | grep -qx 'its text on the next line'" sh "$p"
    check "frobnicate: examples are literal" sh -c "grep -A2 '^\\.nf\$' \"\$1\" | grep -qF 'mlgate frobnicate \\-f 2 \\-\\-dry\\-run .'" sh "$p"
else
    bad "help2man.sh frobnicate: $(head -n 3 "$tmp/err")"
fi
check "help2man.sh refuses what is no help text" sh -c '! sh "$1" "$2" nohelp "$3" 2>/dev/null && [ ! -e "$3/mlgate-nohelp.1" ]' sh "$scripts/help2man.sh" "$fake" "$tmp/man"
if sh "$scripts/help2man.sh" "$fake" mlgate "$tmp/man" 2>"$tmp/err"; then
    check_page mlgate "$tmp/fake.help" "$tmp/man/mlgate.1"
    check "new command in mlgate.1" has_line "$tmp/man/mlgate.1" '\fBfrobnicate\fR'
    check "new command in mlgate.1's SEE ALSO" grep -q '^\.BR mlgate\\-frobnicate (1)' "$tmp/man/mlgate.1"
else
    bad "help2man.sh mlgate (new command): $(head -n 3 "$tmp/err")"
fi

# ---- bash completion: sourced in bash -c with COMP_WORDS/COMP_CWORD set ----
complete_at() { # complete_at WORD...: the completions of the last WORD, one a line (sorted)
    bash -c '
        . "$1" || exit 3
        shift
        spec=$(complete -p mlgate 2>/dev/null) || exit 4
        fn=${spec##*-F }; fn=${fn%% *}
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        prev=; ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
        COMPREPLY=()
        "$fn" mlgate "${COMP_WORDS[COMP_CWORD]}" "$prev" || exit 5
        printf "%s\n" "${COMPREPLY[@]}"
    ' sh "$compfile" "$@" 2>"$tmp/comp.err" | sed '/^$/d' | LC_ALL=C sort
}
expect() { # expect WHAT WANTED WORD...: the completions are exactly the lines of WANTED
    what=$1
    want=$(printf '%s\n' "$2" | sed '/^$/d' | LC_ALL=C sort)
    shift 2
    got=$(complete_at "$@")
    if [ "$got" = "$want" ] && [ ! -s "$tmp/comp.err" ]; then ok; else
        bad "completion $what: got '$(printf '%s' "$got" | tr '\n' ' ')', want '$(printf '%s' "$want" | tr '\n' ' ')'"
        [ -s "$tmp/comp.err" ] && echo "  and it wrote on stderr: $(head -n 3 "$tmp/comp.err")"
    fi
}
lines() { printf '%s\n' "$@"; }

if command -v bash >/dev/null 2>&1; then
    expect "mlgate sc" scan "$mlgate" sc
    expect "mlgate scan --js" --json "$mlgate" scan --js
    expect "mlgate fit --flash-attn" "$(lines on off auto)" "$mlgate" fit --flash-attn ''
    expect "mlgate fit -fa o" "$(lines on off)" "$mlgate" fit -fa o
    gpus=$("$mlgate" scan --list-gpus | awk 'NR > 1 { i = index($0, "  "); n = i ? substr($0, 1, i - 1) : $0; if (index(n, "RTX 50") == 1) print n }')
    [ -n "$gpus" ] && ok || bad "scan --list-gpus lists no 'RTX 50' GPU"
    expect "mlgate scan --gpu RTX\\ 50" "$(printf '%s\n' "$gpus" | sed 's/ /\\ /g')" "$mlgate" scan --gpu 'RTX\ 50'
    expect "mlgate scan --gpu 'RTX 50" "$gpus" "$mlgate" scan --gpu "'RTX 50"
    expect "mlgate fit --gpu H100,RTX\\ 5090" 'H100,RTX\ 5090' "$mlgate" fit --gpu 'H100,RTX\ 5090'
    expect "mlgate scan --gpu al" all "$mlgate" scan --gpu al
    expect "mlgate scan --color" "$(lines auto always never)" "$mlgate" scan --color ''
    expect "mlgate scan --color=a" "$(lines auto always)" "$mlgate" scan --color = a
    expect "mlgate fit --ctk" "$(lines f16 f32 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 iq4_nl)" "$mlgate" fit --ctk ''
    expect "mlgate fit --ctv q5" "$(lines q5_0 q5_1)" "$mlgate" fit --ctv q5
    expect "mlgate (commands)" "$(commands "$tmp/top.help")" "$mlgate" ''
    expect "mlgate help" "$(commands "$tmp/top.help" | grep -vx help)" "$mlgate" help ''
    expect "mlgate --" "$( (term_options "$tmp/top.help"; lines --help --version) | grep '^--' | sort -u)" "$mlgate" --
    for c in $pages; do
        [ "$c" = frobnicate ] && continue
        "$mlgate" "$c" --help >"$tmp/h"
        expect "mlgate $c --" "$(term_options "$tmp/h" | grep '^--')" "$mlgate" "$c" --
        expect "mlgate $c - (short options too)" "$(term_options "$tmp/h")" "$mlgate" "$c" -
    done
    mkdir -p "$tmp/files/sub dir" "$tmp/files/subway"
    : >"$tmp/files/sub dir/model.gguf"
    : >"$tmp/files/subfile.gguf"
    expect "file operand" "$(lines "$tmp/files/sub dir" "$tmp/files/subway" "$tmp/files/subfile.gguf")" "$mlgate" inspect "$tmp/files/sub"
    expect "file in a quoted directory" "$tmp/files/sub dir/model.gguf" "$mlgate" fit "$(printf '%s' "$tmp/files/sub\\ dir/m")"
    expect "doctor --root: directories" "$(lines "$tmp/files/sub dir" "$tmp/files/subway")" "$mlgate" doctor --root "$tmp/files/sub"
    expect "check --junit: files" "$(lines "$tmp/files/sub dir" "$tmp/files/subway" "$tmp/files/subfile.gguf")" "$mlgate" check --junit "$tmp/files/sub"
    expect "scan -j N: nothing" "" "$mlgate" scan -j ''
    case $(basename "$mlgate") in
    mlgate) got=$(PATH="$(dirname "$mlgate"):$PATH" complete_at mlgate sc)
        [ "$got" = scan ] && ok || bad "completion: 'mlgate sc' with mlgate from PATH gave '$got'" ;;
    esac
    # a new command and a new option appear without touching the completion
    expect "new command" frobnicate "$fake" fr
    expect "new command's options" "$(lines --frob-level)" "$fake" frobnicate --fr
    expect "new command's short options" "$(lines -f --frob-level --very-long-option-name --dry-run --reset -q --quiet)" "$fake" frobnicate -
else
    echo "SKIP completion: bash is not installed"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

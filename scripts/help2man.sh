#!/bin/sh
# help2man.sh - writes the man page (troff man(7)) of mlgate or one of its commands from that command's own --help text.
#
# usage: help2man.sh MLGATE CMD OUTDIR
#   CMD "mlgate" writes OUTDIR/mlgate.1 from `MLGATE --help`; any other CMD writes OUTDIR/mlgate-CMD.1
#   from `MLGATE CMD --help`. POSIX sh + awk only (build time on any Debian). The page's date is
#   SOURCE_DATE_EPOCH's when that is set (reproducible builds), else today's.
#
# How a help text becomes a page (see `mlgate scan --help`):
#   usage: ... lines                      -> SYNOPSIS
#   the paragraphs before the options     -> DESCRIPTION
#   "  -g, --gpu LIST   text" lines       -> OPTIONS, one .TP each; deeper-indented lines continue the text
#   a block starting "Some heading:"      -> .SH SOME HEADING ("options:" -> OPTIONS, "X options:" -> .SS)
#   after the options, "Label: text" lines -> .SH LABEL ("Exit status:"/"Exit codes:" -> EXIT STATUS)
#   indented "term   text" lines          -> .TP lists; other indented lines (and all of EXAMPLES) -> .nf blocks
#   NAME comes from the command's one-line summary in `MLGATE --help`'s command list; SEE ALSO lists
#   the pages of the other commands there (those whose --help starts with "usage:", but help and version).
set -eu

if [ $# -ne 3 ]; then
    echo "usage: help2man.sh MLGATE CMD OUTDIR" >&2
    exit 2
fi
mlgate=$1
cmd=$2
outdir=$3
case $cmd in
'' | -* | *[!A-Za-z0-9_-]*)
    echo "help2man.sh: '$cmd' is not a command name" >&2
    exit 2
    ;;
esac
die() {
    echo "help2man.sh: $*" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/help2man.XXXXXX") || die "cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

version=$("$mlgate" --version) || die "'$mlgate --version' failed"
version=${version##* }
case $version in
[0-9]*) ;;
*) die "'$mlgate --version' printed no version" ;;
esac

"$mlgate" --help >"$tmp/top" || die "'$mlgate --help' failed"
if [ "$cmd" = mlgate ]; then
    cp "$tmp/top" "$tmp/help"
    page=mlgate
else
    "$mlgate" "$cmd" --help >"$tmp/help" || die "'$mlgate $cmd --help' failed"
    page=mlgate-$cmd
fi
[ -s "$tmp/top" ] || die "'$mlgate --help' printed nothing"
[ -s "$tmp/help" ] || die "'$mlgate $cmd --help' printed nothing"

# The commands of the command list that have a page: their --help is a real help text (help and
# version, which mlgate.1 describes, have none).
pages=
for c in $(awk '
    /^[A-Za-z ]*[Cc]ommands:$/ { inlist = 1; next }
    inlist && /^$/ { inlist = 0 }
    inlist && /^ +[a-z][a-z0-9_-]*( |$)/ { print $1 }' "$tmp/top"); do
    case $c in help | version) continue ;; esac
    if [ "$c" = "$cmd" ] || "$mlgate" "$c" --help 2>/dev/null | head -n 1 | grep -q '^[Uu]sage:'; then
        pages="$pages $c"
    fi
done
# shellcheck disable=SC2086 # one name a line
pages=$(printf '%s\n' $pages | sort | tr '\n' ' ')

if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d 2>/dev/null ||
        date -u -r "$SOURCE_DATE_EPOCH" +%Y-%m-%d) || die "bad SOURCE_DATE_EPOCH"
else
    date=$(date +%Y-%m-%d)
fi

cat >"$tmp/h2m.awk" <<'EOF'
function rtrim(s) { sub(/[ \t\r]+$/, "", s); return s }
function ltrim(s) { sub(/^[ \t]+/, "", s); return s }
function indent(s) { match(s, /^ */); return RLENGTH }
function untab(s,    out, i, c) {
    if (index(s, "\t") == 0) return s
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\t") { out = out " "; while (length(out) % 8) out = out " " }
        else out = out c
    }
    return out
}
function warn(m) { print "help2man.sh: " page ": " m > "/dev/stderr" }

# ---- troff escaping ----
function isdelim(c) { return index(" ([{,/|=<\"'`", c) > 0 }
function ch(c) {
    if (c == "\\") return "\\e"
    if (c == "'") return "\\(aq"
    if (c == "`") return "\\(ga"
    if (c == "~") return "\\(ti"
    if (c == "^") return "\\(ha"
    return c
}
# esc(s, mode): s as troff text. "pre": every hyphen is a minus (\-), nothing else changes.
# "prose": option names (-x, --long-name at the start of a word) in bold with \- hyphens, every
# hyphen of a word that starts with '-' a minus, `code` in bold when the backquotes pair up.
function esc(s, mode,    out, i, n, c, prev, dashtok, nbt, bton, inbt, tok) {
    n = length(s); out = ""; prev = " "; dashtok = 0; inbt = 0; nbt = 0
    for (i = 1; i <= n; i++) if (substr(s, i, 1) == "`") nbt++
    bton = (mode == "prose" && nbt > 0 && nbt % 2 == 0)
    i = 1
    while (i <= n) {
        c = substr(s, i, 1)
        if (isdelim(prev)) {
            dashtok = (c == "-")
            if (mode == "prose" && !inbt && c == "-" && match(substr(s, i), /^--?[A-Za-z][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*/)) {
                tok = substr(s, i, RLENGTH)
                out = out "\\fB" esc(tok, "pre") "\\fR"
                i += RLENGTH; prev = "x"; continue
            }
        }
        if (c == "`" && bton) { out = out (inbt ? "\\fR" : "\\fB"); inbt = !inbt }
        else if (c == "-" && mode == "prose" && prev == " " && (i == n || substr(s, i + 1, 1) == " ")) out = out "\\(en"
        else if (c == "-" && (mode == "pre" || dashtok)) out = out "\\-"
        else out = out ch(c)
        prev = c; i++
    }
    if (inbt) out = out "\\fR"
    return out
}
# An option list's term: option names bold, their arguments italic ("\fB\-g\fR, \fB\-\-gpu\fR \fILIST\fR").
function fmt_term(t,    nw, w, k, out) {
    if (substr(t, 1, 1) != "-") return "\\fB" esc(t, "pre") "\\fR"
    nw = split(t, w, / +/); out = ""
    for (k = 1; k <= nw; k++) {
        if (k > 1) out = out " "
        if (substr(w[k], 1, 1) == "-") out = out esc(w[k], "prose")
        else out = out "\\fI" esc(w[k], "pre") "\\fR"
    }
    return out
}
# One output line: a leading '.' or '\'' would be a request.
function emit(s,    c0) {
    s = ltrim(s)
    if (s == "") return
    c0 = substr(s, 1, 1)
    if (c0 == "." || c0 == "'") s = "\\&" s
    print s
}

# ---- sections: names in order, their body lines (blank = paragraph break, "\001SS x" = subsection) ----
function section(name,    k) {
    for (k = 1; k <= nsec; k++) if (secname[k] == name) { cur = k; addline(""); return }
    secname[++nsec] = name; nbody[nsec] = 0; cur = nsec
}
function addline(l) { body[cur, ++nbody[cur]] = l }
function words(s,    w) { return split(s, w, / +/) }
function is_heading(l) { return l ~ "^[A-Za-z][A-Za-z0-9 /-]*:$" && words(l) <= 6 }
function is_label(l) { return l ~ /^[A-Z][A-Za-z]*( [A-Za-z]+)?( [A-Za-z]+)?( [A-Za-z]+)?: +[^ ]/ }
function secfor(label,    u) {
    u = toupper(label)
    if (u == "EXIT CODES" || u == "EXIT CODE" || u == "EXIT STATUS" || u == "EXIT VALUES") return "EXIT STATUS"
    if (u == "EXAMPLE") return "EXAMPLES"
    if (u == "USAGE") return "SYNOPSIS"
    return u
}
function start_heading(label,    l) {
    l = tolower(label)
    if (l == "options") section("OPTIONS")
    else if (l ~ / options$/) { section("OPTIONS"); addline("\001SS " label) }
    else section(secfor(label))
}

# ---- rendering ----
function render(k,    m, j, l, pre, started, a) {
    m = nbody[k]; started = 0; j = 1
    pre = (secname[k] == "EXAMPLES")
    while (j <= m) {
        l = body[k, j]
        if (l == "") { j++; continue }
        if (substr(l, 1, 1) == "\001") { print ".SS " esc(substr(l, 5), "prose"); started = 0; j++; continue }
        if (indent(l) == 0) {
            if (started) print ".PP"
            while (j <= m && body[k, j] != "" && indent(body[k, j]) == 0 && substr(body[k, j], 1, 1) != "\001") {
                emit(esc(body[k, j], "prose")); j++
            }
        } else {
            a = j
            while (j <= m && body[k, j] != "" && indent(body[k, j]) > 0) j++
            render_group(k, a, j - 1, pre, started)
        }
        started = 1
    }
}
# Indented lines a..b of section k: a .TP list when they are "term   text" items (text column
# found from the items' alignment, deeper-indented lines continuing an item), else an .nf block.
function render_group(k, a, b, pre, started,    j, l, ind, rest, col, best, bestn, ni, dl, t, x, gcol, base) {
    split("", cnt); split("", iterm); split("", itext); split("", iind)
    best = -1; bestn = 0
    for (j = a; j <= b; j++) {
        l = body[k, j]; ind = indent(l); rest = substr(l, ind + 1)
        if (match(rest, /  +[^ ]/)) {
            col = ind + RSTART + RLENGTH - 2
            if (++cnt[col] > bestn || (cnt[col] == bestn && col < best)) { best = col; bestn = cnt[col] }
        }
    }
    if (best < 0)   # no aligned text: the column continuation lines are indented to
        for (j = a + 1; j <= b; j++) {
            ind = indent(body[k, j])
            if (ind > indent(body[k, a]) && (best < 0 || ind < best)) best = ind
        }
    ni = 0
    for (j = a; j <= b; j++) {
        l = body[k, j]; ind = indent(l); rest = substr(l, ind + 1)
        if (ni > 0 && ((best >= 0 && ind >= best) || (itext[ni] == "" && ind > iind[ni]))) {
            itext[ni] = itext[ni] (itext[ni] == "" ? "" : "\n") rest
            continue
        }
        ni++; iind[ni] = ind
        gcol = -1
        if (match(rest, /  +[^ ]/)) gcol = ind + RSTART + RLENGTH - 2
        if (gcol >= 0 && (best < 0 || gcol <= best)) {
            iterm[ni] = substr(rest, 1, RSTART - 1); itext[ni] = substr(rest, RSTART + RLENGTH - 1)
        } else if (gcol < 0 && best > ind + 1 && length(l) > best && substr(l, best, 1) == " " && substr(l, best + 1, 1) != " ") {
            iterm[ni] = rtrim(substr(l, ind + 1, best - ind)); itext[ni] = substr(l, best + 1)
        } else if (gcol >= 0) {
            iterm[ni] = substr(rest, 1, RSTART - 1); itext[ni] = substr(rest, RSTART + RLENGTH - 1)
        } else {
            iterm[ni] = rest; itext[ni] = ""
        }
    }
    dl = !pre && best >= 0
    for (j = 1; j <= ni && dl; j++)
        if (itext[j] == "" && substr(iterm[j], 1, 1) != "-") dl = 0
    if (dl) {
        for (j = 1; j <= ni; j++) {
            print ".TP"
            emit(fmt_term(iterm[j]))
            x = split(itext[j], t, "\n")
            for (col = 1; col <= x; col++) emit(esc(t[col], "prose"))
        }
        return
    }
    base = -1
    for (j = a; j <= b; j++) if (base < 0 || indent(body[k, j]) < base) base = indent(body[k, j])
    if (started) print ".PP"
    print ".RS 4"
    print ".nf"
    for (j = a; j <= b; j++) {
        l = esc(substr(body[k, j], base + 1), "pre")
        if (substr(l, 1, 1) == ".") l = "\\&" l
        print l
    }
    print ".fi"
    print ".RE"
}

NR == FNR { top[++ntop] = untab(rtrim($0)); next }
{ h[++n] = untab(rtrim($0)) }

END {
    # the command's summary in the command list
    summary = ""; inlist = 0
    for (i = 1; i <= ntop; i++) {
        l = top[i]
        if (l ~ /^[A-Za-z ]*[Cc]ommands:$/) { inlist = 1; continue }
        if (l == "") inlist = 0
        if (inlist && ltrim(l) ~ ("^" cmd "( |$)")) { summary = ltrim(substr(ltrim(l), length(cmd) + 1)); break }
    }

    i = 1
    while (i <= n && h[i] == "") i++
    nu = 0
    if (h[i] ~ /^[Uu]sage:/) {
        for (; i <= n && h[i] != ""; i++) {
            l = ltrim(h[i])
            if (l ~ /^([Uu]sage|or):/) { sub(/^[A-Za-z]+: */, "", l); usage[++nu] = l }
            else usage[nu] = usage[nu] " " l
        }
    }
    if (nu == 0) { warn("the help text does not start with 'usage:': not a help text"); exit 3 }

    nsec = 0; section("DESCRIPTION"); after = 0
    while (i <= n) {
        if (h[i] == "") { i++; continue }
        j = i; while (j <= n && h[j] != "") j++
        first = h[i]; from = i
        if (is_heading(first)) { start_heading(substr(first, 1, length(first) - 1)); after = 1; from = i + 1 }
        else if (indent(first) > 0 && ltrim(first) ~ /^-/ && secname[cur] != "OPTIONS") { section("OPTIONS"); after = 1 }
        else if (nbody[cur] > 0) addline("")
        for (k = from; k < j; k++) {
            l = h[k]
            if (after && is_label(l)) {
                x = index(l, ":")
                section(secfor(substr(l, 1, x - 1)))
                l = ltrim(substr(l, x + 1))
            }
            addline(l)
        }
        i = j
    }

    # NAME: the summary; mlgate's own page (or a command missing from the list): the first paragraph
    if (summary == "" || cmd == "mlgate") {
        if (cmd != "mlgate") warn("'" cmd "' is not in the command list of 'mlgate --help'")
        x = ""
        for (k = 1; k <= nbody[1] && body[1, k] != ""; k++) x = x (x == "" ? "" : " ") ltrim(body[1, k])
        if (cmd != "mlgate" && match(x, /[.:;] /)) x = substr(x, 1, RSTART - 1)
        summary = x
    }
    sub(/[.]$/, "", summary)
    if (summary == "") summary = (cmd == "mlgate" ? "ML stack checks" : "mlgate " cmd)

    title = toupper(page); gsub(/-/, "\\-", title)
    print ".\\\" " page ".1 - generated by scripts/help2man.sh from the output of '" (cmd == "mlgate" ? "mlgate" : "mlgate " cmd) " --help'; do not edit."
    print ".TH \"" title "\" \"1\" \"" date "\" \"mlgate " version "\" \"mlgate manual\""
    print ".ad l"
    print ".nh"
    print ".SH NAME"
    print esc(page, "pre") " \\- " esc(summary, "prose")
    print ".SH SYNOPSIS"
    for (k = 1; k <= nu; k++) {
        if (k > 1) print ".br"
        l = usage[k]; x = ""
        if (l ~ /^mlgate( |$)/) { x = "mlgate"; l = substr(l, 7) }
        if (x != "" && cmd != "mlgate" && substr(l, 1, length(cmd) + 1) == " " cmd && (length(l) == length(cmd) + 1 || substr(l, length(cmd) + 2, 1) == " ")) {
            x = x " " cmd; l = substr(l, length(cmd) + 2)
        }
        emit((x != "" ? "\\fB" x "\\fR" : "") esc(l, "prose"))
    }
    for (k = 1; k <= nsec; k++) {
        if (nbody[k] == 0 && secname[k] == "DESCRIPTION") continue
        print ".SH " esc(secname[k], "pre")
        render(k)
    }
    print ".SH SEE ALSO"
    ns = split(pages, p, / +/); nsa = 0
    if (cmd != "mlgate") sa[++nsa] = "mlgate"
    for (k = 1; k <= ns; k++) if (p[k] != "" && p[k] != cmd) sa[++nsa] = "mlgate\\-" p[k]
    for (k = 1; k <= nsa; k++) print ".BR " sa[k] " (1)" (k < nsa ? "," : "")
}
EOF

mkdir -p "$outdir"
out=$outdir/$page.1
awk -v cmd="$cmd" -v page="$page" -v version="$version" -v date="$date" -v pages="$pages" \
    -f "$tmp/h2m.awk" "$tmp/top" "$tmp/help" >"$out.tmp" || {
    rm -f "$out.tmp"
    die "converting the help of '$cmd' failed"
}
mv "$out.tmp" "$out"

#!/bin/sh
# deps.sh - installs the Debian packages mlgate builds with (as root), or prints the apt-get line.
# usage: scripts/deps.sh        the build's packages (missing ones are an error)
#        scripts/deps.sh clang  clang, for make asan-clang and make fuzz (missing: an error)
#        scripts/deps.sh test   the tests' tooling (scripts/test-tools.sh): python3-venv where `python3 -m venv`
#                               cannot make a venv (an error), espeak-ng, g++, prometheus, umoci and skopeo
#                               (without them some tests skip)
# shellcheck disable=SC2086 # the package lists are split into words on purpose
set -eu
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
root() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; }
updated=""
install() { # install PACKAGES...: apt-get install as root (the package lists updated once); its output on failure
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    if { [ -n "$updated" ] || apt-get update -qq; } >"$log" 2>&1 && updated=1 &&
        apt-get install -y -qq --no-install-recommends "$@" >>"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    sed 's/^/  | /' "$log" >&2
    rm -f "$log"
    return 1
}

if [ "${1:-}" = clang ]; then
    command -v clang >/dev/null && exit 0
    if root; then
        echo "mlgate: installing clang (for the clang sanitizer build and the fuzzers)" >&2
        install clang && exit 0
        echo "mlgate: could not install clang" >&2
        exit 1
    fi
    echo "mlgate: the clang sanitizer build and the fuzzers need clang. Install it with:" >&2
    echo "  sudo apt-get install -y clang" >&2
    exit 1
fi

if [ "${1:-}" = test ]; then
    # Required: a venv with pip. Debian's own python3 needs python3-venv for that (ensurepip); another
    # python3 (pyenv, a distribution of its own) may have it already, whatever dpkg says.
    need=""
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need=" python3-venv"
    # Optional: the real TTS engine for test_engines, the C++ compiler for the llama.cpp build.
    want=""
    have espeak-ng || command -v espeak-ng >/dev/null || want="$want espeak-ng"
    have g++ || command -v g++ >/dev/null || want="$want g++"
    # the real Prometheus server that scrapes `mlgate serve` in test_serve_prometheus (and promtool)
    have prometheus || command -v prometheus >/dev/null || want="$want prometheus"
    # umoci and skopeo: real tools that write the OCI layouts and docker-archive / oci-archive tarballs that
    # test_images_tools scans
    have umoci || command -v umoci >/dev/null || want="$want umoci"
    have skopeo || command -v skopeo >/dev/null || want="$want skopeo"
    [ -z "$need$want" ] && exit 0
    if root; then
        if [ -n "$need" ]; then
            echo "mlgate: installing$need (for the tests' Python venv)" >&2
            install $need || { echo "mlgate: could not install$need" >&2; exit 1; }
        fi
        if [ -n "$want" ]; then
            echo "mlgate: installing$want (for the tests)" >&2
            install $want || echo "mlgate: could not install$want; the tests that need it will skip" >&2
        fi
        exit 0
    fi
    if [ -n "$want" ]; then
        echo "mlgate: without$want some tests skip. Install with:" >&2
        echo "  sudo apt-get install -y$want" >&2
    fi
    if [ -n "$need" ]; then
        echo "mlgate: python3 cannot make a virtual environment (no ensurepip). Install it with:" >&2
        echo "  sudo apt-get install -y$need" >&2
        exit 1
    fi
    exit 0
fi

pkgs="gcc make cmake pkg-config liblz4-dev libzstd-dev zlib1g-dev libdeflate-dev libcjson-dev libcurl4-openssl-dev libyaml-dev libsqlite3-dev libcmocka-dev libmicrohttpd-dev musl-tools python3"
missing=""
for p in $pkgs; do
    have "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if root; then
    echo "mlgate: installing$missing" >&2
    install $missing
else
    echo "mlgate: missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi

#!/bin/sh
# test-tools.sh - sets up, once and cached, what `make test` / `make asan` need beyond the build's packages.
# usage: scripts/test-tools.sh [VENV [LLAMA_CACHE]]   everything (the Makefile's test and asan targets)
#        scripts/test-tools.sh --venv-only [VENV]     the venv alone (make test-corpus: its pip downloads)
#   VENV         a Python venv with tests/requirements.txt's pinned gguf, safetensors, numpy
#                (default .tools/venv; made again only when tests/requirements.txt changes)
#   LLAMA_CACHE  the CPU llama.cpp build of tests/llama/build.sh (default ~/.cache/mlgate/llama)
#   Debian's espeak-ng (and g++, for llama.cpp) through scripts/deps.sh test: apt-get as root, else its line.
# Exits non-zero when the venv cannot be made. Without espeak-ng or llama.cpp their tests skip, and this
# says so; under CI (CI set, not "false") that is an error too, so that CI never passes on skipped tests.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd -P)
only=""
[ "${1:-}" = --venv-only ] && { only=venv; shift; }
venv=${1:-$root/.tools/venv}
llama=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgate/llama}
req=$root/tests/requirements.txt
strict=""
case "${CI:-}" in "" | false | 0) ;; *) strict=1 ;; esac

# One set-up at a time (make -j test asan), where util-linux's flock is here.
mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null; then
    exec 9>"$(dirname "$venv")/.lock"
    flock 9
fi

# Debian's packages first: python3-venv is needed to make the venv.
[ -n "$only" ] || scripts/deps.sh test

# The venv, kept while its stamp holds the hash of tests/requirements.txt and its python runs.
hash=$(sha256sum "$req" | cut -d' ' -f1)
stamp=$venv/.mlgate-requirements
if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ] || ! "$venv/bin/python3" -c '' 2>/dev/null; then
    echo "mlgate: making the tests' Python venv in $venv (tests/requirements.txt)" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" || {
        echo "mlgate: python3 -m venv failed (on Debian: sudo apt-get install -y python3-venv)" >&2
        rm -rf "$venv"
        exit 1
    }
    "$venv/bin/python3" -m pip install -q --disable-pip-version-check --no-input -r "$req" || {
        echo "mlgate: could not install tests/requirements.txt into $venv (is PyPI reachable?)" >&2
        exit 1
    }
    echo "$hash" >"$stamp"
fi
[ -z "$only" ] || exit 0

missing=""
if ! command -v espeak-ng >/dev/null; then
    echo "mlgate: no espeak-ng: test_engines runs without its TTS engine (sudo apt-get install -y espeak-ng)" >&2
    missing="$missing espeak-ng"
fi
# The llama.cpp build prints its own progress (and its log's tail on failure); it is quick when cached.
if ! PYTHON=$venv/bin/python3 tests/llama/build.sh "$llama" >/dev/null; then
    echo "mlgate: no llama.cpp: test_llama_compare and test_llama_builds will skip," \
         "test_engines runs without llama-server" >&2
    missing="$missing llama.cpp"
fi
if [ -n "$missing" ] && [ -n "$strict" ]; then
    echo "mlgate: CI: the test tooling is incomplete (missing:$missing)" >&2
    exit 1
fi
exit 0

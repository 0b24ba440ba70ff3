#!/bin/sh
# deps.sh - installs the Debian packages mlgate builds with (as root), or prints the apt-get line.
set -eu
pkgs="gcc make cmake pkg-config liblz4-dev libzstd-dev zlib1g-dev libcjson-dev libcurl4-openssl-dev libyaml-dev libsqlite3-dev libcmocka-dev python3"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "mlgate: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "mlgate: missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi

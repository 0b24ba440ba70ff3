#!/bin/sh
# publish_attack.sh - the symlink attack on what mlgate publishes, run as two users: a test user plants
# symlinks in a world-writable directory; root's `mlgate check` must never write through them.
# usage: publish_attack.sh MLGATE   (as root: it creates the test user; 77 otherwise)
set -u
m=$1
[ "$(id -u)" -eq 0 ] || { echo "needs root (it creates a test user): skipped"; exit 77; }
user=mlgate-attacker
if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || { echo "FAIL cannot create $user"; exit 1; }
fi
as() { setpriv --reuid="$user" --regid="$user" --clear-groups -- "$@"; }
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect() { # expect NAME CODE COMMAND...
    name=$1 want=$2; shift 2
    out=$("$@" 2>&1); got=$?
    [ "$got" -eq "$want" ] && ok || { bad "$name: exit $got, want $want"; echo "$out" | tail -3; }
}
secret=$(mktemp -d)                      # root's: the file the attacker wants overwritten
victim=$secret/victim
printf 'root secret\n' > "$victim"; chmod 600 "$victim"
pub=$(mktemp -d); chmod 1777 "$pub"     # shared like /tmp: every user may create names here
trap 'rm -rf "$secret" "$pub"' EXIT
cat > "$pub/m.yaml" <<YAML
host:
  capabilities: $pub/caps.json
models:
  - {name: ok, kind: llm, exec: [true], capability: chat}
YAML
unchanged() { [ "$(cat "$victim")" = "root secret" ] && ok || bad "$1: the victim file was overwritten"; }

# The attacker plants the target and the temp names a pid-based writer would use.
as ln -s "$victim" "$pub/caps.json" || bad "the attacker could not plant a symlink"
as sh -c "i=1; while [ \$i -le 400 ]; do for t in caps.json .caps.json; do ln -s '$victim' '$pub/'\$t.tmp.\$((\$\$ + \$i)); done; i=\$((i + 1)); done"
expect "a shared directory is refused" 2 "$m" check "$pub/m.yaml"
unchanged "shared directory"
expect "--allow-shared-dir: the planted target is still refused" 2 "$m" check --allow-shared-dir "$pub/m.yaml"
unchanged "planted target"
[ -L "$pub/caps.json" ] && ok || bad "the attacker's symlink was replaced"   # refused, not touched
as rm -f "$pub/caps.json"
expect "--allow-shared-dir with no target planted writes" 0 "$m" check --allow-shared-dir "$pub/m.yaml"
unchanged "write beside planted temp names"
if [ -f "$pub/caps.json" ] && [ ! -L "$pub/caps.json" ] && [ "$(stat -c %u:%a "$pub/caps.json")" = "0:644" ]; then ok
else bad "caps.json is not root's regular 0644 file: $(ls -l "$pub/caps.json")"; fi
grep -q '"chat"' "$pub/caps.json" && ok || bad "caps.json lacks the capability"
# Receipts and JUnit: a symlink planted at the path is refused before the run, never followed by SQLite.
as ln -s "$victim" "$pub/receipts.db"
expect "a planted receipts symlink is refused" 2 "$m" check --allow-shared-dir --receipts "$pub/receipts.db" "$pub/m.yaml"
as ln -s "$victim" "$pub/junit.xml"
expect "a planted JUnit symlink is refused" 2 "$m" check --allow-shared-dir --junit "$pub/junit.xml" "$pub/m.yaml"
unchanged "receipts and JUnit"
# A directory that is the attacker's symlink (to root's directory) is refused, shared or not.
as ln -s "$secret" "$pub/dir"
expect "another user's directory symlink is refused" 2 "$m" check --allow-shared-dir --capabilities "$pub/dir/caps.json" \
    "$pub/m.yaml"
[ ! -e "$secret/caps.json" ] && ok || bad "wrote through the attacker's directory symlink"
unchanged "directory symlink"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# probe.sh - what one mlgate-probe health check costs: N calls (default 200) in a row against an
# instant endpoint on loopback (a Python server answering from memory), the mean wall time per call
# in ms for each kind, next to the cost of starting the static binary alone (--help).
# usage: bench/probe.sh [MLGATE-PROBE] [N]      (default build/mlgate-probe, 200)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
probe=${1:-$here/../build/mlgate-probe}
n=${2:-200}
py=$(command -v python3)
[ -x "$here/../.tools/venv/bin/python3" ] && py=$here/../.tools/venv/bin/python3
port_file=$(mktemp)
"$py" - "$port_file" <<'PY' &
import http.server, json, math, socketserver, struct, sys
rate, n = 16000, 16000
pcm = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n))
wav = (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
       + b"data" + struct.pack("<I", len(pcm)) + pcm)
ANS = {"chat/completions": json.dumps({"choices": [{"message": {"content": "OK"}}], "usage": {"completion_tokens": 1}}).encode(),
       "embeddings": json.dumps({"data": [{"embedding": [0.25] * 1024}]}).encode(), "audio/speech": wav}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = ANS.get(self.path.split("/v1/", 1)[-1], b"{}")
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null; rm -f "$port_file"' EXIT
while [ ! -s "$port_file" ]; do sleep 0.05; done
sleep 0.1
port=$(cat "$port_file")
url=http://127.0.0.1:$port/v1
now() { date +%s%N; }
mean() {   # label, then the command
    label=$1; shift
    "$@" >/dev/null || { echo "$label: the probe failed: $("$@")"; exit 1; }
    t0=$(now); i=0
    while [ $i -lt "$n" ]; do "$@" >/dev/null; i=$((i + 1)); done
    t1=$(now)
    awk -v l="$label" -v t="$((t1 - t0))" -v n="$n" 'BEGIN { printf "%-34s %7.2f ms per call (%d calls)\n", l, t / n / 1e6, n }'
}
echo "mlgate-probe: $(stat -c %s "$probe") bytes, $(file -b "$probe" | cut -d, -f1,4)"
mean "start only (--help)" "$probe" --help
mean "llm (chat/completions)" "$probe" --kind llm "$url"
mean "embedding (1024-vector)" "$probe" --kind embedding "$url"
mean "tts (1 s WAV, 32 KB)" "$probe" --kind tts "$url"

#!/usr/bin/env python3
"""serve_test.py - `mlgate serve` as a platform uses it: every endpoint, the token, SIGHUP, SIGTERM, kill -9.

usage: serve_test.py MLGATE
Starts the daemon on loopback against a matrix of exec models and a toggleable OpenAI-compatible
model server; checks each endpoint's status and body (the capability endpoint byte for byte against
the capability file, the run against `check --json`), ETags, the bearer token, readiness flipping
when the model server stops and comes back, the NFD file, a matrix broken under SIGHUP, clients
that misbehave (slowloris, 10 MB headers, 1000 connections, bodies, odd methods), an API key that
never shows, SIGTERM during a run, kill -9 at random moments leaving every published file whole, and drift since the
matrix's host: lock: (GET /v1/drift, mlgate_drift) following a library rebuilt without the GPU's code.
"""
import atexit, http.client, http.server, json, os, random, re, shutil, signal, socket, socketserver, sqlite3, subprocess, sys
import tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, result  # noqa: E402

SECRET = "sk-serve-test-" + "Q" * 24


class Model(http.server.BaseHTTPRequestHandler):
    """An LLM endpoint; /leaky/ answers 500 with the bearer key it got."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send(200, {"data": [{"id": "m"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/leaky/"):
            return self.send(500, {"error": f"bad key {self.headers.get('Authorization')}"})
        self.send(200, {"choices": [{"message": {"role": "assistant", "content": "OK"}}], "usage": {"completion_tokens": 1}})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass   # a cancelled run hangs up mid-answer: expected here


class ModelServer:
    """A model server that can be stopped and started again on the same port."""

    def __init__(self):
        self.port = None
        self.srv = None
        self.start()

    def start(self):
        self.srv = Server(("127.0.0.1", self.port or 0), Model)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps what it is sent."""
    protocol_version = "HTTP/1.1"
    got = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        Collector.got.append((self.path, self.rfile.read(int(self.headers.get("Content-Length", 0)))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class Daemon:
    running = []   # killed at exit, whatever happened

    def __init__(self, mlgate, args, env=None):
        self.p = subprocess.Popen([mlgate, "serve", *args], stderr=subprocess.PIPE, text=True, env=env)
        Daemon.running.append(self.p)
        self.log = []
        self.port = None
        line = self.p.stderr.readline()
        self.log.append(line)
        m = re.search(r"listening on http://[^ ]*:(\d+)", line)
        if not m:
            raise RuntimeError("serve did not start: " + line + self.p.stderr.read())
        self.port = int(m.group(1))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.p.stderr:
            self.log.append(line)

    def get(self, path, headers=None, method="GET", body=None, source=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                       source_address=(source, 0) if source else None)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def json(self, path):
        s, h, d = self.get(path)
        return s, json.loads(d) if d else None

    def wait_run(self, n, timeout=20):
        """Until run n (or a later one) is shown."""
        end = time.time() + timeout
        while time.time() < end:
            s, doc = self.json("/v1/models")
            if doc and doc["run"] >= n:
                return doc
            time.sleep(0.05)
        return None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.p.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def matrix(d, llm_port, extra=""):
    return f"""host:
  capabilities: {d}/caps.json
  receipts: {d}/receipts.db
models:
  - name: chat
    kind: llm
    endpoint: http://127.0.0.1:{llm_port}/v1
    capability: chat
    timeout: 2s
  - name: echo
    kind: llm
    exec: [/bin/echo, hello]
    capability: tools.echo
  - name: painter
    kind: image
    exec: [/bin/sh, -c, 'yes y | head -c 3000; exit 3']
    capability: image.generate
    residency: on-demand
{extra}"""


def endpoints(mlgate, d, model):
    write(f"{d}/m.yaml", matrix(d, model.port))
    write(f"{d}/token", "s3cret-token-for-tests\n")
    os.chmod(f"{d}/token", 0o600)
    os.mkdir(f"{d}/nfd")
    sv = Daemon(mlgate, [f"{d}/m.yaml", "--listen", "127.0.0.1:0", "--interval", "1h", "--token-file", f"{d}/token",
                         "--nfd-dir", f"{d}/nfd"])
    doc = sv.wait_run(1)
    check("the first run is shown", doc is not None and doc["run"] == 1)
    s, h, body = sv.get("/healthz")
    check("/healthz 200", s == 200 and json.loads(body)["alive"] is True)
    s, ready = sv.json("/readyz")
    check("/readyz 200: the resident models passed (the on-demand one failed)", s == 200 and ready["ready"] is True)
    models = {m["name"]: m for m in doc["models"]}
    check("/v1/models: status, residency, stages", models["chat"]["status"] == "ok" and
          models["painter"]["status"] == "failed" and models["painter"]["residency"] == "on-demand" and
          models["painter"]["stages"]["inference"]["ok"] is False and "exited with 3" in
          models["painter"]["stages"]["inference"]["reason"] and models["chat"]["since"])
    s, h, caps = sv.get("/v1/capabilities")
    with open(f"{d}/caps.json", "rb") as f:
        check("/v1/capabilities is the capability file byte for byte", s == 200 and caps == f.read())
    etag = h.get("ETag")
    check("/v1/capabilities has an ETag", bool(etag) and etag.startswith('"'))
    s, h2, body = sv.get("/v1/capabilities", {"If-None-Match": etag})
    check("If-None-Match with the ETag: 304, no body", s == 304 and body == b"")
    s, h2, body = sv.get("/v1/capabilities", {"If-None-Match": '"0000"'})
    check("If-None-Match with another tag: 200", s == 200 and body == caps)
    s, h2, body = sv.get("/v1/capabilities", {"If-None-Match": f'"0000", W/{etag} ,"1"'})
    check("If-None-Match with a list holding the weak form of the tag: 304", s == 304)
    s, h, one = sv.get("/v1/capabilities/image.generate")
    check("/v1/capabilities/NAME: that capability's object",
          s == 200 and json.loads(one) == json.loads(caps)["capabilities"]["image.generate"] and h.get("ETag"))
    s, h, body = sv.get("/v1/capabilities/no.such")
    check("/v1/capabilities/unknown: 404 in JSON", s == 404 and json.loads(body)["error"]["code"] == "not found")
    s, h, body = sv.get("/v1/capabilities", method="HEAD")
    check("HEAD: headers, no body", s == 200 and body == b"" and h.get("Content-Length") == str(len(caps)))
    s, runs = sv.json("/v1/runs?limit=5")
    check("/v1/runs: the run from the receipts", s == 200 and len(runs["runs"]) == 1 and
          runs["runs"][0]["models"] == 3 and any(r["model"] == "painter" and not r["ok"] for r in runs["runs"][0]["results"]))
    long_reason = models["painter"]["stages"]["inference"]["reason"]
    listed = [r["reason"] for r in runs["runs"][0]["results"] if r["model"] == "painter" and not r["ok"]]
    check(f"/v1/runs cuts a long reason to 1 KiB ({len(long_reason)} bytes in /v1/models, "
          f"{len(listed[0]) if listed else 0} listed)", len(long_reason) > 3000 and listed and
          len(listed[0]) <= 1024 and listed[0].endswith("...") and long_reason.startswith(listed[0][:-3]))
    for bad in ("0", "1001", "x", ""):
        s, body = sv.json(f"/v1/runs?limit={bad}")
        check(f"/v1/runs?limit={bad!r}: 400", s == 400)
    s, doctor = sv.json("/v1/doctor")
    check("/v1/doctor: the host audit", s == 200 and doctor["command"] == "doctor" and "cpu" in doctor)
    s, body = sv.json("/v1/drift")
    check("/v1/drift without host: lock:: 404 in JSON", s == 404 and body["ok"] is False and
          "host: lock:" in body["error"]["message"])
    s, run = sv.json("/v1/check")
    out = subprocess.run([mlgate, "check", "--json", f"{d}/m.yaml", "--capabilities", f"{d}/cli-caps.json",
                          "--receipts", f"{d}/cli.db"], capture_output=True, text=True)
    cli = json.loads(out.stdout)

    def shape(doc):   # the run without its timings
        return [(m["name"], m["ok"], {k: (v["ok"], v["reason"]) for k, v in m["stages"].items()}, m["output"])
                for m in doc["models"]]
    check("GET /v1/check is the run as `check --json` prints it", s == 200 and run["command"] == "check" and
          set(run) == set(cli) and shape(run) == shape(cli))
    s, h, metrics = sv.get("/metrics")
    text = metrics.decode()
    check("/metrics: Prometheus text 0.0.4", s == 200 and h["Content-Type"].startswith("text/plain; version=0.0.4"))
    check("/metrics: model_up per model", 'mlgate_model_up{model="chat",capability="chat",kind="llm"} 1' in text and
          'mlgate_model_up{model="painter",capability="image.generate",kind="image"} 0' in text)
    check("/metrics: runs counted", 'mlgate_gate_runs_total{result="failed"} 1' in text)
    s, api = sv.json("/openapi.json")
    check("/openapi.json: OpenAPI 3 with every endpoint", s == 200 and api["openapi"].startswith("3.") and
          {"/healthz", "/readyz", "/v1/capabilities", "/v1/capabilities/{name}", "/v1/models", "/v1/runs",
           "/v1/doctor", "/v1/drift", "/v1/check", "/metrics", "/openapi.json"} <= set(api["paths"]))
    with open(f"{d}/nfd/mlgate") as f:
        nfd = f.read()
    check("NFD file: gate, enabled capabilities only, expiry", "mlgate.io/gate=" in nfd and
          "mlgate.io/cap.chat=true" in nfd and "image.generate" not in nfd and "# +expiry-time=" in nfd)
    check("NFD: no temp file left", os.listdir(f"{d}/nfd") == ["mlgate"])

    # the token
    s, h, body = sv.get("/v1/check", method="POST")
    check("POST without a token: 401 with WWW-Authenticate", s == 401 and "Bearer" in h.get("WWW-Authenticate", ""))
    s, h, body = sv.get("/v1/check", {"Authorization": "Bearer s3cret-token-for-test"}, method="POST")
    check("POST with a token one character short: 401", s == 401)
    s, h, body = sv.get("/v1/check", {"Authorization": "Bearer s3cret-token-for-testsX"}, method="POST")
    check("POST with a longer token: 401", s == 401)
    s, h, body = sv.get("/v1/check", {"Authorization": "Bearer s3cret-token-for-tests"}, method="POST")
    acc = json.loads(body) if body else {}
    check("POST with the token: 202 with the run's number", s == 202 and acc.get("run") == 2)
    check("the run asked for happens", sv.wait_run(2) is not None)
    s, h, body = sv.get("/v1/check", {"Authorization": "Bearer s3cret-token-for-tests"}, method="POST", body=b"x" * 5000)
    check("POST with a 5000-byte body: 413", s == 413)
    s, h, body = sv.get("/v1/models", method="DELETE")
    check("DELETE /v1/models: 405 with Allow and a JSON error", s == 405 and h.get("Allow") == "GET, HEAD" and
          json.loads(body)["ok"] is False)
    s, h, body = sv.get("/v1/check", method="PUT")
    check("PUT /v1/check: 405, Allow GET, HEAD, POST", s == 405 and h.get("Allow") == "GET, HEAD, POST")
    s, h, body = sv.get("/nope")
    check("unknown path: 404", s == 404)

    # readiness follows the model server
    model.stop()
    sv.get("/v1/check", {"Authorization": "Bearer s3cret-token-for-tests"}, method="POST")
    sv.wait_run(3)
    s, ready = sv.json("/readyz")
    check("model server stopped: /readyz 503 naming the model, stage and reason", s == 503 and not ready["ready"] and
          ready["failing"][0]["model"] == "chat" and ready["failing"][0]["stage"] == "up")
    s, h, metrics = sv.get("/metrics")
    check("... and mlgate_model_up 0", 'mlgate_model_up{model="chat",capability="chat",kind="llm"} 0' in metrics.decode())
    with open(f"{d}/nfd/mlgate") as f:
        check("... and the NFD file drops the capability", "mlgate.io/cap.chat=" not in f.read())
    s, models = sv.json("/v1/models")
    since_down = {m["name"]: m["since"] for m in models["models"]}
    model.start()
    sv.get("/v1/check", {"Authorization": "Bearer s3cret-token-for-tests"}, method="POST")
    sv.wait_run(4)
    s, ready = sv.json("/readyz")
    check("model server back: /readyz 200", s == 200)
    s, models = sv.json("/v1/models")
    check("since: kept for models that did not change",
          {m["name"]: m["since"] for m in models["models"]}["echo"] == since_down["echo"])

    # SIGHUP: a matrix that no longer parses is kept, and said
    write(f"{d}/m.yaml", "models: [ {name: broken, kind: nope} ]\n")
    sv.p.send_signal(signal.SIGHUP)
    doc = sv.wait_run(5)
    check("SIGHUP with a broken matrix: the old one runs, the error is shown",
          doc is not None and doc["matrix_error"] and len(doc["models"]) == 3)
    write(f"{d}/m.yaml", matrix(d, model.port).split("  - name: echo")[0])
    sv.p.send_signal(signal.SIGHUP)
    doc = sv.wait_run(6)
    check("SIGHUP with a good matrix: its models, no error", doc is not None and doc["matrix_error"] is None and
          [m["name"] for m in doc["models"]] == ["chat"])
    check("SIGTERM: exit 0", sv.stop() == 0)


def misbehaving(mlgate, d, model):
    """Slow, huge and many clients: the daemon keeps answering the others."""
    write(f"{d}/m2.yaml", matrix(d, model.port))
    sv = Daemon(mlgate, [f"{d}/m2.yaml", "--listen", "127.0.0.1:0", "--interval", "1h", "--nfd-dir", "none"])
    sv.wait_run(1)
    slow = []
    for _ in range(150):   # slowloris: headers that never end, from one address (more than its 128)
        try:
            s = socket.create_connection(("127.0.0.1", sv.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ")
            slow.append(s)
        except OSError:
            break
    t0 = time.time()
    s, h, body = sv.get("/healthz", source="127.0.0.2")
    check("with 150 slow clients open another client is still answered at once", s == 200 and time.time() - t0 < 2)
    big = socket.create_connection(("127.0.0.1", sv.port), timeout=10)
    try:
        big.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-big: " + b"a" * (10 << 20) + b"\r\n\r\n")
    except OSError:
        pass   # the daemon closed the connection while we sent: what it should do
    try:
        answer = big.recv(200)
    except OSError:
        answer = b""
    big.close()
    check("a 10 MB header is refused (431/413 or closed)", answer == b"" or b" 431 " in answer or b" 413 " in answer
          or b" 400 " in answer)
    many = []
    for _ in range(1000):
        try:
            many.append(socket.create_connection(("127.0.0.1", sv.port), timeout=2))
        except OSError:
            break
    s, h, body = sv.get("/healthz", source="127.0.0.3")
    check(f"with {len(many)} more connections open, another client is answered", s == 200)
    for x in many + slow:
        x.close()
    # from an address of its own: the daemon may not have seen 127.0.0.1's closes yet (its 100 per address)
    raw = socket.create_connection(("127.0.0.1", sv.port), timeout=5, source_address=("127.0.0.4", 0))
    raw.sendall(b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    check("BREW /healthz: 405", b" 405 " in raw.recv(200).split(b"\r\n")[0] + b" ")
    raw.close()
    raw = socket.create_connection(("127.0.0.1", sv.port), timeout=15, source_address=("127.0.0.5", 0))
    raw.sendall(b"\x00\xff /\x01garbage HTTP/1.1\r\n\r\n")
    check("a request line of garbage: 400 or closed", raw.recv(200)[:12] in (b"", b"HTTP/1.1 400"))
    raw.close()
    t0 = time.time()
    idle = socket.create_connection(("127.0.0.1", sv.port), timeout=30, source_address=("127.0.0.6", 0))
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    gone = idle.recv(10)
    check("a client that stops sending is dropped (within the 10 s idle limit)", gone == b"" and time.time() - t0 < 15)
    idle.close()
    s, h, body = sv.get("/healthz")
    check("the daemon survived them all", s == 200)
    check("SIGTERM: exit 0", sv.stop() == 0)


def secrets_and_safety(mlgate, d, model):
    """API keys never show; a non-loopback address needs a token; POST is off without one."""
    write(f"{d}/m3.yaml", f"""host:
  capabilities: {d}/caps3.json
models:
  - name: leaky
    kind: llm
    endpoint: http://127.0.0.1:{model.port}/leaky/v1
    capability: chat
    api_key_env: MLGATE_SERVE_KEY
""")
    env = dict(os.environ, MLGATE_SERVE_KEY=SECRET)
    col = Server(("127.0.0.1", 0), Collector)
    threading.Thread(target=col.serve_forever, daemon=True).start()
    sv = Daemon(mlgate, [f"{d}/m3.yaml", "--listen", "127.0.0.1:0", "--interval", "1h", "--nfd-dir", f"{d}",
                         "--otlp", f"http://127.0.0.1:{col.server_address[1]}"], env)
    sv.wait_run(1)
    seen = b""
    for p in ("/readyz", "/v1/models", "/v1/capabilities", "/metrics", "/v1/check", "/v1/doctor"):
        seen += sv.get(p)[2]
    check("the model's answer quoted its key, yet no endpoint shows it", b"HTTP 500" in seen and SECRET.encode() not in seen)
    s, h, body = sv.get("/v1/check", method="POST")
    check("POST without --token-file: 403", s == 403)
    sv.stop()
    traces = [json.loads(b) for p, b in Collector.got if p == "/v1/traces"]
    check("--otlp: the run reached the collector as a trace", len(traces) == 1 and
          any(sp["name"] == "leaky" for sp in traces[0]["resourceSpans"][0]["scopeSpans"][0]["spans"]))
    check("... without the key", all(SECRET.encode() not in b for p, b in Collector.got))
    col.shutdown()
    check("the key is not in the log", SECRET not in "".join(sv.log))
    with open(f"{d}/mlgate") as f:
        check("nor in the NFD file", SECRET not in f.read())
    out = subprocess.run([mlgate, "serve", f"{d}/m3.yaml", "--listen", "0.0.0.0:0"], capture_output=True, text=True,
                         timeout=10)
    check("--listen 0.0.0.0 without --token-file: exit 2, says why", out.returncode == 2 and "--token-file" in out.stderr)
    out = subprocess.run([mlgate, "serve", f"{d}/missing.yaml"], capture_output=True, text=True, timeout=10)
    check("a missing matrix: exit 2", out.returncode == 2)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    out = subprocess.run([mlgate, "serve", f"{d}/m3.yaml", "--listen", f"127.0.0.1:{busy.getsockname()[1]}"],
                         capture_output=True, text=True, timeout=10)
    check("an address in use: exit 2, says so", out.returncode == 2 and "in use" in out.stderr)
    busy.close()
    write(f"{d}/empty-token", "\n")
    out = subprocess.run([mlgate, "serve", f"{d}/m3.yaml", "--token-file", f"{d}/empty-token"], capture_output=True,
                         text=True, timeout=10)
    check("an empty token file: exit 2", out.returncode == 2 and "empty" in out.stderr)


def valid_files(d):
    """The published files parse (capability JSON, NFD lines, SQLite integrity)."""
    ok = True
    with open(f"{d}/caps.json") as f:
        json.load(f)
    if os.path.exists(f"{d}/nfd/mlgate"):
        with open(f"{d}/nfd/mlgate") as f:
            bad = [line for line in f.read().splitlines()
                   if not re.fullmatch(r"(# .*|mlgate\.io/[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*)", line)]
        if bad:
            print("NFD lines:", bad)
        ok &= not bad
    db = sqlite3.connect(f"file:{d}/receipts.db?mode=ro", uri=True)
    ok &= db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    return ok


def stopping(mlgate, d, model):
    """SIGTERM during a run ends at once; kill -9 at any moment leaves whole files."""
    slow = matrix(d, model.port, """  - name: sleeper
    kind: llm
    exec: [/bin/sleep, '30']
    timeout: 60s
""")
    write(f"{d}/m4.yaml", slow)
    os.makedirs(f"{d}/nfd", exist_ok=True)
    sv = Daemon(mlgate, [f"{d}/m4.yaml", "--listen", "127.0.0.1:0", "--interval", "1h", "--nfd-dir", f"{d}/nfd"])
    time.sleep(1)   # the run is in progress: the sleeper holds it
    t0 = time.time()
    rc = sv.stop()
    check(f"SIGTERM during a run: exit 0 within 5 s ({time.time() - t0:.2f} s)", rc == 0 and time.time() - t0 < 5)
    check("the cancelled run published nothing half-way", valid_files(d))
    leftover = subprocess.run(["pgrep", "-f", "/bin/sleep 30"], capture_output=True).stdout
    check("no probe process left running", leftover == b"")
    write(f"{d}/m5.yaml", matrix(d, model.port))
    rng = random.Random(11)
    whole = True
    for i in range(12):
        sv = Daemon(mlgate, [f"{d}/m5.yaml", "--listen", "127.0.0.1:0", "--interval", "20ms", "--nfd-dir", f"{d}/nfd"])
        time.sleep(rng.uniform(0.05, 0.6))
        sv.stop(signal.SIGKILL)
        whole &= valid_files(d)
        tmp = [n for n in os.listdir(f"{d}/nfd") + os.listdir(d) if ".tmp." in n]
    check("kill -9 at 12 random moments: capability file, NFD file and receipts whole every time", whole)
    check("the hidden temp files of killed runs are cleaned by the next", len(tmp) <= 2)


def drift(mlgate, d):
    """GET /v1/drift and mlgate_drift: drift since the matrix's host: lock:, judged by each run's smoke stage."""
    fx = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    os.makedirs(f"{d}/drift/bin")
    lib = f"{d}/drift/bin/libfish.so"
    shutil.copy(f"{fx}/sass_100a_120.o", lib)   # sm_120 SASS: native on an RTX 5090
    out = subprocess.run([mlgate, "lock", "--gpu", "RTX 5090", "--driver", "580", f"{d}/drift/bin", "-o",
                          f"{d}/drift/mlgate.lock"], capture_output=True, text=True)
    check("drift: the lock is written", out.returncode == 0)
    write(f"{d}/drift/m.yaml", f"""host:
  gpus: RTX 5090
  lock: {d}/drift/mlgate.lock
models:
  - name: fish
    kind: llm
    exec: [/bin/echo, OK]
    binaries: [{d}/drift/bin]
""")
    sv = Daemon(mlgate, [f"{d}/drift/m.yaml", "--listen", "127.0.0.1:0", "--interval", "1h", "--nfd-dir", "none"])
    check("drift: the first run", sv.wait_run(1) is not None)
    s, h, body = sv.get("/v1/drift")
    doc = json.loads(body)
    check("/v1/drift: 200, no change, as drift --json prints it", s == 200 and doc["command"] == "drift" and
          doc["ok"] is True and doc["changes"] == [] and doc["lock"] == f"{d}/drift/mlgate.lock" and h.get("ETag"))
    s, h2, body = sv.get("/v1/drift", {"If-None-Match": h.get("ETag", "")})
    check("/v1/drift: 304 with its ETag", s == 304 and body == b"")
    s, h, metrics = sv.get("/metrics")
    check("/metrics: mlgate_drift 0", "\nmlgate_drift 0\n" in metrics.decode())
    shutil.copy(f"{fx}/libtwo.so", lib)   # rebuilt without sm_120 code
    sv.p.send_signal(signal.SIGHUP)
    check("drift: the second run", sv.wait_run(2) is not None)
    s, doc = sv.json("/v1/drift")
    c = doc["changes"] if doc else []
    check("/v1/drift: the library's change, mattering", s == 200 and doc["ok"] is False and len(c) == 1 and
          c[0]["kind"] == "binary_changed" and c[0]["matters"] is True and
          c[0]["verdict_change"] == "sm_120 no longer covered")
    s, h, metrics = sv.get("/metrics")
    text = metrics.decode()
    check("/metrics: mlgate_drift 1 and the changes counted", "\nmlgate_drift 1\n" in text and
          'mlgate_drift_changes{matters="true"} 1' in text)
    s, ready = sv.json("/readyz")
    check("/readyz: the smoke stage failed on it", s == 503 and ready["failing"][0]["stage"] == "smoke" and
          "sha256 changed: sm_120 no longer covered" in ready["failing"][0]["reason"])
    write(f"{d}/drift/mlgate.lock", "not json")
    sv.p.send_signal(signal.SIGHUP)
    sv.wait_run(3)
    s, doc = sv.json("/v1/drift")
    check("/v1/drift: a lock that cannot be read says so", s == 200 and doc["ok"] is False and
          doc["error"]["code"] == "malformed" and "not a lock file" in doc["error"]["message"])
    s, h, metrics = sv.get("/metrics")
    check("/metrics: mlgate_drift 1 when the lock cannot be read", "\nmlgate_drift 1\n" in metrics.decode())
    check("drift: SIGTERM, exit 0", sv.stop() == 0)


def kill_all():
    for p in Daemon.running:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    atexit.register(kill_all)
    mlgate = sys.argv[1]
    model = ModelServer()
    with tempfile.TemporaryDirectory() as d:
        endpoints(mlgate, d, model)
        misbehaving(mlgate, d, model)
        secrets_and_safety(mlgate, d, model)
        stopping(mlgate, d, model)
        drift(mlgate, d)
    return result()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""otlp_test.py - `mlgate check --otlp`: every gate run as an OpenTelemetry trace, against collectors on loopback.

usage: otlp_test.py MLGATE FAKE_NVML
A loopback collector (http.server in a thread) records each POST and answers as told: 200, 503 with
Retry-After then 200, 400, 503 always; another accepts and never answers. The trace must parse with
the OpenTelemetry protobuf definitions (ExportTraceServiceRequest), hold one trace id, a root span, a
span per model under it and a span per stage that ran under that, with the right status and reason,
the resource attributes (this host, mlgate's version, the fake NVML's GPUs and driver); only
429/502/503/504 are retried, a hung collector costs at most the bound, the exit status stays the
gate's, and a header's value reaches the collector but never check's output.
"""
import base64, http.server, json, os, re, socket, socketserver, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, result  # noqa: E402

# The OpenTelemetry definitions come with tests/requirements.txt (scripts/test-tools.sh): no skip.
from google.protobuf import json_format  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import Status  # noqa: E402

SECRET = "Sup3rS3cretT0ken-0123456789"


class Collector(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answers):
        """answers: (code, headers) per request in turn, the last one repeated."""
        self.answers, self.got, self.lock = list(answers), [], threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        s = self.server
        with s.lock:
            s.got.append({"path": self.path, "headers": dict(self.headers), "body": body, "at": time.time()})
            code, extra = s.answers[min(len(s.got) - 1, len(s.answers) - 1)]
        data = b"{}" if code == 200 else b'{"code":14,"message":"try later"}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def hung_collector():
    """Accepts connections and reads, never answers; (url, stop)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    held, stop = [], threading.Event()

    def run():
        ls.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = ls.accept()
                held.append(c)
            except socket.timeout:
                pass
        for c in held:
            c.close()
        ls.close()
    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{ls.getsockname()[1]}", stop


HEX = {"traceId": 32, "spanId": 16, "parentSpanId": 16}


def hex_ids_to_proto_json(o, bad):
    """OTLP/JSON writes ids as lowercase hex; proto3 JSON (json_format) wants base64: checked and converted."""
    if isinstance(o, dict):
        for k, v in o.items():
            if k in HEX:
                if not (isinstance(v, str) and re.fullmatch(f"[0-9a-f]{{{HEX[k]}}}", v)) or set(v) == {"0"}:
                    bad.append(f"{k}={v!r}")
                else:
                    o[k] = base64.b64encode(bytes.fromhex(v)).decode()
            else:
                hex_ids_to_proto_json(v, bad)
    elif isinstance(o, list):
        for v in o:
            hex_ids_to_proto_json(v, bad)


def value(av):
    k = av.WhichOneof("value")
    if k == "array_value":
        return [value(x) for x in av.array_value.values]
    return getattr(av, k) if k else None


def attrs(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


def parse(body):
    """The request as the protobuf definitions read it, and the raw JSON; None when it does not parse."""
    try:
        raw = json.loads(body)
        bad = []
        hex_ids_to_proto_json(raw, bad)
        check(f"ids are lowercase hex of the right length, not zero (bad: {bad[:3]})", not bad)
        req = ExportTraceServiceRequest()
        json_format.Parse(json.dumps(raw), req)   # unknown fields and wrong types are errors
        return req, json.loads(body)
    except Exception as e:  # noqa: BLE001 - any failure is the claim failing
        check(f"the body parses as an ExportTraceServiceRequest ({type(e).__name__}: {e})", False)
        return None, None


def write_matrix(d, name, models):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write("host: {deadline: 20s}\nmodels:\n")
        for m in models:
            f.write(f"  - {m}\n")
    return p


def run(mlgate, env, *args, timeout=60):
    t0 = time.time()
    r = subprocess.run([mlgate, "check", *args], capture_output=True, text=True, env=env, timeout=timeout)
    return r, time.time() - t0


def no_secret(what, r):
    check(f"{what}: the header's value is in neither stdout nor stderr", SECRET not in r.stdout + r.stderr
          and "S3cret" not in r.stdout + r.stderr)


def the_trace(mlgate, env, d, version):
    """Three models (passes; fails at inference; fails at up): the trace's shape, ids, times, statuses."""
    mx = write_matrix(d, "m.yaml", [
        "{name: talk, kind: llm, exec: [echo, hello], capability: chat}",
        "{name: speak, kind: tts, exec: [sh, -c, 'echo CUDA error: no kernel image is available for execution on the"
        " device; exit 1'], capability: voice.synthesize}",
        "{name: gone, kind: llm, exec: [/nonexistent/mlgate-test-program]}",
    ])
    col = Collector([(200, {})])
    before = time.time()
    r, took = run(mlgate, env, "--json", "--otlp", col.url, "--otlp-header", f"Authorization=Bearer {SECRET}",
                  "--otlp-header", "X-Scope-OrgID: tenant-1", mx)
    after = time.time()
    col.shutdown()
    check(f"exit 1: the gate's status (some model failed), not the export's (got {r.returncode}: {r.stderr[-300:]})",
          r.returncode == 1)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {}
    check("stdout is still check's JSON, its three models", len(out.get("models", [])) == 3)
    check("stderr says the trace was sent", "otlp: trace sent" in r.stderr and "not delivered" not in r.stderr)
    no_secret("a trace sent", r)
    check(f"one POST (got {len(col.got)})", len(col.got) == 1)
    if not col.got:
        return
    g = col.got[0]
    check(f"POST to /v1/traces (got {g['path']})", g["path"] == "/v1/traces")
    check("Content-Type: application/json", g["headers"].get("Content-Type") == "application/json")
    check("the Authorization header reaches the collector", g["headers"].get("Authorization") == f"Bearer {SECRET}")
    check("a 'K: V' header too", g["headers"].get("X-Scope-OrgID") == "tenant-1")
    req, raw = parse(g["body"])
    if req is None:
        return
    check("one resourceSpans, one scopeSpans", len(req.resource_spans) == 1 and
          len(req.resource_spans[0].scope_spans) == 1)
    rs = req.resource_spans[0]
    ra = attrs(rs.resource.attributes)
    check(f"resource: service.name mlgate, service.version {version} (got {ra})",
          ra.get("service.name") == "mlgate" and ra.get("service.version") == version)
    check(f"resource: host.name is this host ({socket.gethostname()})", ra.get("host.name") == socket.gethostname())
    names = ra.get("mlgate.gpu.names") or []
    check(f"resource: mlgate.gpu.names the fake NVML's two GPUs as a string array (got {names})",
          isinstance(names, list) and len(names) == 2 and "RTX PRO 6000" in names[0] and "RTX 5090" in names[1])
    check(f"resource: mlgate.driver.version 580.95.05 (got {ra.get('mlgate.driver.version')})",
          ra.get("mlgate.driver.version") == "580.95.05")
    ss = rs.scope_spans[0]
    check("scope mlgate, its version", ss.scope.name == "mlgate" and ss.scope.version == version)
    spans = list(ss.spans)
    check(f"1 root + 3 models + 3 + 3 + 2 stages = 12 spans (got {len(spans)})", len(spans) == 12)
    check("one trace id, 16 bytes", len({s.trace_id for s in spans}) == 1 and len(spans[0].trace_id) == 16)
    check("span ids 8 bytes, all different", all(len(s.span_id) == 8 for s in spans) and
          len({s.span_id for s in spans}) == len(spans))
    check("every span INTERNAL", all(s.kind == 1 for s in spans))
    roots = [s for s in spans if not s.parent_span_id]
    check(f"one root span (got {len(roots)})", len(roots) == 1)
    if len(roots) != 1:
        return
    root = roots[0]
    ns = 1e9
    check("root: name gate, ERROR: 2 of 3 models failed", root.name == "gate" and
          root.status.code == Status.STATUS_CODE_ERROR and root.status.message == "2 of 3 models failed")
    rat = attrs(root.attributes)
    check(f"root: mlgate.models 3, mlgate.models.passed 1, the matrix path (got {rat})",
          rat.get("mlgate.models") == 3 and rat.get("mlgate.models.passed") == 1 and rat.get("mlgate.matrix") == mx)
    check("root: its times are the run's (within check's wall time)",
          before - 1 <= root.start_time_unix_nano / ns <= root.end_time_unix_nano / ns <= after + 1)
    check("times are decimal strings in the JSON",
          all(isinstance(s[k], str) and s[k].isdigit() for s in raw["resourceSpans"][0]["scopeSpans"][0]["spans"]
              for k in ("startTimeUnixNano", "endTimeUnixNano")))
    check("enums are integers in the JSON", all(isinstance(s["kind"], int) and isinstance(s["status"]["code"], int)
                                                for s in raw["resourceSpans"][0]["scopeSpans"][0]["spans"]))
    models = {s.name: s for s in spans if s.parent_span_id == root.span_id}
    check(f"a span per model, child of the root (got {sorted(models)})", sorted(models) == ["gone", "speak", "talk"])
    want = {"talk": (True, ["smoke", "up", "inference"], None, None),
            "speak": (False, ["smoke", "up", "inference"], "inference", "exited with 1"),
            "gone": (False, ["smoke", "up"], "up", "/nonexistent/mlgate-test-program")}
    for name, (ok, stages, failed, frag) in want.items():
        m = models.get(name)
        if not m:
            continue
        a = attrs(m.attributes)
        check(f"{name}: mlgate.model, mlgate.kind (got {a})", a.get("mlgate.model") == name and
              a.get("mlgate.kind") == ("tts" if name == "speak" else "llm"))
        code = Status.STATUS_CODE_OK if ok else Status.STATUS_CODE_ERROR
        check(f"{name}: model status {'OK' if ok else 'ERROR'} (got {m.status.code} {m.status.message!r})",
              m.status.code == code and (ok or frag in m.status.message))
        check(f"{name}: inside the root's time", root.start_time_unix_nano <= m.start_time_unix_nano <=
              m.end_time_unix_nano <= root.end_time_unix_nano + 1000)
        kids = sorted((s for s in spans if s.parent_span_id == m.span_id), key=lambda s: s.start_time_unix_nano)
        check(f"{name}: a span per stage that ran, in order, child of its model (got {[k.name for k in kids]})",
              [k.name for k in kids] == stages)
        for k in kids:
            bad = k.name == failed
            check(f"{name}/{k.name}: status {'ERROR' if bad else 'OK'} (got {k.status.code} {k.status.message!r})",
                  k.status.code == (Status.STATUS_CODE_ERROR if bad else Status.STATUS_CODE_OK) and
                  (not bad or frag in k.status.message))
            ka = attrs(k.attributes)
            check(f"{name}/{k.name}: a failure's known cause as mlgate.explain.id (got {ka.get('mlgate.explain.id')})",
                  ka.get("mlgate.explain.id") == ("cuda-no-kernel-image" if bad and name == "speak" else None))
            check(f"{name}/{k.name}: within its model's span", m.start_time_unix_nano <= k.start_time_unix_nano <=
                  k.end_time_unix_nano <= m.end_time_unix_nano)
        if name == "talk":
            check(f"talk: capability chat, first byte seconds, output (got {a})",
                  a.get("mlgate.capability") == "chat" and isinstance(a.get("mlgate.first_byte_seconds"), float)
                  and 0 <= a["mlgate.first_byte_seconds"] < 10 and "exit 0" in (a.get("mlgate.output") or ""))
        elif name == "speak":
            check("speak: its failed stage, no first byte", a.get("mlgate.failed_stage") == "inference" and
                  "mlgate.first_byte_seconds" not in a and a.get("mlgate.capability") == "voice.synthesize")
    print(f"  a trace of 3 models: check took {took:.2f} s")


def retries(mlgate, env, d):
    ok = write_matrix(d, "ok.yaml", ["{name: talk, kind: llm, exec: [echo, hello]}"])
    # 503 with Retry-After: 1, then 200: delivered once, after the second asked for
    col = Collector([(503, {"Retry-After": "1"}), (200, {})])
    r, took = run(mlgate, env, "--otlp", col.url + "/", ok)
    col.shutdown()
    got = col.got
    check(f"503 then 200: two POSTs (got {len(got)})", len(got) == 2)
    check(f"503 then 200: exit 0, 'trace sent' (got {r.returncode}: {r.stdout[-200:]} {r.stderr[-200:]})",
          r.returncode == 0 and "otlp: trace sent" in r.stdout and "not delivered" not in r.stderr)
    if len(got) == 2:
        gap = got[1]["at"] - got[0]["at"]
        check(f"Retry-After: 1 honoured (retry after {gap:.2f} s)", 0.9 <= gap < 3)
        check("the same trace sent again", got[0]["body"] == got[1]["body"] and got[1]["path"] == "/v1/traces")
    print(f"  503 + Retry-After: 1 then 200: {took:.2f} s")

    # 400: the collector refuses the body; not retried
    col = Collector([(400, {})])
    r, took = run(mlgate, env, "--otlp", col.url, ok)
    time.sleep(0.5)
    col.shutdown()
    check(f"400: one POST, not retried (got {len(col.got)})", len(col.got) == 1)
    check(f"400: exit 0 still; stderr says why (got {r.returncode}: {r.stderr.strip()!r})",
          r.returncode == 0 and "mlgate check: otlp: not delivered: HTTP 400 after 1 try" in r.stderr)
    print(f"  400: {took:.2f} s")

    # 503 always, no Retry-After: 4 tries, backoff 1 + 2 + 4 s
    col = Collector([(503, {})])
    r, took = run(mlgate, env, "--otlp", col.url, ok)
    col.shutdown()
    check(f"503 always: 4 tries (got {len(col.got)})", len(col.got) == 4)
    gaps = [b["at"] - a["at"] for a, b in zip(col.got, col.got[1:])]
    check(f"503 always: exponential backoff 1, 2, 4 s (got {[round(x, 2) for x in gaps]})",
          len(gaps) == 3 and all(w - 0.1 <= x < w + 1.5 for x, w in zip(gaps, (1, 2, 4))))
    check(f"503 always: exit 0, 'HTTP 503 after 4 tries' (got {r.returncode}: {r.stderr.strip()!r})",
          r.returncode == 0 and "otlp: not delivered: HTTP 503 after 4 tries" in r.stderr)
    print(f"  503 x 4: {took:.2f} s")

    # 429 with a Retry-After of an hour: capped (30 s), so the bounded wait at close gives up at 10 s
    col = Collector([(429, {"Retry-After": "3600"})])
    r, took = run(mlgate, env, "--otlp", col.url, ok)
    col.shutdown()
    check(f"429 + Retry-After: 3600: check ends within its bound ({took:.2f} s), exit 0",
          took < 20 and r.returncode == 0 and "not delivered: HTTP 429" in r.stderr)
    print(f"  429 + Retry-After: 3600: {took:.2f} s")


def hung(mlgate, env, d):
    mx = write_matrix(d, "h.yaml", ["{name: talk, kind: llm, exec: [echo, hello]}",
                                    "{name: speak, kind: tts, exec: [false]}"])
    url, stop = hung_collector()
    r, took = run(mlgate, env, "--otlp", url, "--otlp-header", f"Authorization=Bearer {SECRET}", mx, timeout=60)
    stop.set()
    check(f"a hung collector: check ends within its bound ({took:.2f} s < 20 s)", took < 20)
    check(f"a hung collector: the exit status stays the gate's (1; got {r.returncode})", r.returncode == 1)
    check(f"a hung collector: stderr says not delivered (got {r.stderr.strip()!r})",
          "mlgate check: otlp: not delivered" in r.stderr)
    no_secret("a hung collector", r)
    print(f"  a hung collector: check took {took:.2f} s")

    # nothing listening: refused at once, not retried
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r, took = run(mlgate, env, "--otlp", f"http://127.0.0.1:{port}", mx)
    check(f"no collector: exit 1 (the gate's), quick ({took:.2f} s), not delivered",
          r.returncode == 1 and took < 10 and "otlp: not delivered" in r.stderr)


def usage(mlgate, env, d):
    mx = write_matrix(d, "u.yaml", ["{name: talk, kind: llm, exec: [echo, hello]}"])
    for what, args, frag in [
        ("an ftp URL", ["--otlp", "ftp://127.0.0.1/x"], "http"),
        ("a URL without a host", ["--otlp", "http://"], "http"),
        ("a header with a line feed", ["--otlp", "http://127.0.0.1:9", "--otlp-header",
                                       f"Authorization=Bearer {SECRET}\r\nX-Injected: 1"], "control character"),
        ("a header without a value separator", ["--otlp", "http://127.0.0.1:9", "--otlp-header", f"Bearer{SECRET}"],
         "NAME=VALUE"),
        ("--otlp-header without --otlp", ["--otlp-header", f"Authorization=Bearer {SECRET}"], "--otlp"),
    ]:
        r, _ = run(mlgate, env, *args, mx)
        check(f"{what}: usage error, exit 2 (got {r.returncode}: {r.stderr.strip()[:200]!r})",
              r.returncode == 2 and frag in r.stderr)
        no_secret(what, r)
    r, _ = run(mlgate, env, "--help")
    check("--help names --otlp and --otlp-header", "--otlp URL" in r.stdout and "--otlp-header K=V" in r.stdout)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    mlgate, nvml = sys.argv[1:]
    env = dict(os.environ, MLGATE_NVML=nvml, FAKE_NVML_SCENARIO="pro6000_5090")
    version = subprocess.run([mlgate, "--version"], capture_output=True, text=True).stdout.split()[-1]
    d = tempfile.mkdtemp(prefix="mlgate-otlp-")
    t0 = time.time()
    the_trace(mlgate, env, d, version)
    retries(mlgate, env, d)
    hung(mlgate, env, d)
    usage(mlgate, env, d)
    import shutil
    shutil.rmtree(d, ignore_errors=True)
    print(f"  all in {time.time() - t0:.1f} s")
    return result()


if __name__ == "__main__":
    sys.exit(main())

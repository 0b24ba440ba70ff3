#!/usr/bin/env python3
"""serve_prometheus_test.py - `mlgate serve`'s /metrics scraped by a real Prometheus server.

usage: serve_prometheus_test.py MLGATE
Starts an OpenAI-compatible fake model server, the daemon (--interval 1s) gating it, and Prometheus
(/usr/bin/prometheus, scrape_interval 1s) scraping the daemon, all on loopback; then asks
Prometheus's HTTP API that the scrape is up, that mlgate_model_up{model="chat"} is 1, goes to 0
when the model server stops and back to 1 when it comes back on the same port, and that
mlgate_gate_runs_total is a counter that increases. `promtool check metrics` must accept /metrics
without a word. Exit 77 (skipped) without prometheus and promtool: apt-get install prometheus.
"""
import http.client, json, os, re, shutil, signal, socket, subprocess, sys, tempfile
import threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import check, result  # noqa: E402


from serve_test import ModelServer  # noqa: E402  (an LLM endpoint that stops and starts on one port)


def die_with_parent():
    """In the child before exec: SIGTERM when this test dies, even by kill -9 (ctest's timeout)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def http_get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(p, timeout=10):
    if p is None or p.poll() is not None:
        return p and p.returncode
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


class Daemon:
    def __init__(self, mlgate, args):
        self.p = subprocess.Popen([mlgate, "serve", *args], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  preexec_fn=die_with_parent)
        self.log = [self.p.stderr.readline()]
        m = re.search(r"listening on http://[^ ]*:(\d+)", self.log[0])
        if not m:
            self.p.kill()
            rest = self.p.stderr.read()
            self.p.wait()
            raise RuntimeError("serve did not start: " + self.log[0] + rest)
        self.port = int(m.group(1))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.p.stderr:
            self.log.append(line)


class Prometheus:
    def __init__(self, d, target):
        self.d = d
        self.p = None
        self.port = None
        self.logf = None
        with open(f"{d}/prometheus.yml", "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mlgate
    metrics_path: /metrics
    static_configs:
      - targets: ['{target}']
""")
        cfg = subprocess.run(["promtool", "check", "config", f"{d}/prometheus.yml"], capture_output=True, text=True)
        check("promtool check config accepts the test's prometheus.yml", cfg.returncode == 0)
        for attempt in range(3):   # the free port can be taken between finding it and binding it
            self.port = free_port()
            self.logf = open(f"{d}/prometheus.log", "w")
            self.p = subprocess.Popen(["prometheus", f"--config.file={d}/prometheus.yml",
                                       f"--storage.tsdb.path={d}/tsdb", f"--web.listen-address=127.0.0.1:{self.port}"],
                                      stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT, cwd=d,
                                      preexec_fn=die_with_parent)
            if self.wait_ready(20):
                return
            stop(self.p)
            self.logf.close()
        raise RuntimeError("prometheus did not become ready:\n" + self.log_tail())

    def wait_ready(self, timeout):
        end = time.time() + timeout
        while time.time() < end and self.p.poll() is None:
            try:
                if http_get(self.port, "/-/ready", 2)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def log_tail(self):
        try:
            with open(f"{self.d}/prometheus.log") as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return ""

    def api(self, path, **params):
        s, body = http_get(self.port, f"/api/v1/{path}?" + urllib.parse.urlencode(params))
        doc = json.loads(body)
        if s != 200 or doc.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {s} {body[:300]!r}")
        return doc["data"]

    def query(self, q):
        """The instant vector's samples: [(labels, float value)]."""
        data = self.api("query", query=q)
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def wait_value(self, q, want, timeout):
        """Until q's only sample is `want` (a number, or a predicate); the last samples seen."""
        end = time.time() + timeout
        got = None
        while time.time() < end:
            got = self.query(q)
            if len(got) == 1 and (want(got[0][1]) if callable(want) else got[0][1] == want):
                return got
            time.sleep(0.2)
        return got

    def stop(self):
        rc = stop(self.p)
        if self.logf:
            self.logf.close()
        return rc


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    mlgate = sys.argv[1]
    missing = [t for t in ("prometheus", "promtool") if not shutil.which(t)]
    if missing:
        print(f"SKIP: {' and '.join(missing)} not found; apt-get install prometheus (scripts/deps.sh test does, as root)")
        return 77
    signal.signal(signal.SIGTERM, lambda *a: sys.exit("SIGTERM"))   # so that finally: stops what was started
    t0 = time.time()
    model = daemon = prom = None
    with tempfile.TemporaryDirectory(prefix="mlgate-prom-") as d:
        try:
            model = ModelServer()
            with open(f"{d}/m.yaml", "w") as f:
                f.write(f"""host:
  capabilities: {d}/caps.json
  receipts: {d}/receipts.db
models:
  - name: chat
    kind: llm
    endpoint: http://127.0.0.1:{model.port}/v1
    capability: chat
    timeout: 2s
""")
            daemon = Daemon(mlgate, [f"{d}/m.yaml", "--listen", "127.0.0.1:0", "--interval", "1s", "--nfd-dir", "none"])

            # promtool on the daemon's own text, once a run is in it
            end = time.time() + 15
            text = ""
            while time.time() < end and "mlgate_model_up{" not in text:
                s, body = http_get(daemon.port, "/metrics")
                text = body.decode() if s == 200 else ""
                time.sleep(0.1)
            check("/metrics has mlgate_model_up after the first run", "mlgate_model_up{" in text)
            lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            said = (lint.stdout + lint.stderr).strip()
            check("promtool check metrics: exit 0", lint.returncode == 0)
            check("promtool check metrics: no lint problems", said == "")
            if said:
                print("promtool check metrics said:\n" + said)

            prom = Prometheus(d, f"127.0.0.1:{daemon.port}")
            t_prom = time.time()
            job = 'job="mlgate"'
            up = prom.wait_value(f"up{{{job}}}", 1, 20)
            check("Prometheus scrapes the daemon: up == 1", bool(up) and up[0][1] == 1)
            meta = prom.api("metadata", metric="mlgate_gate_runs_total")
            check("Prometheus knows mlgate_gate_runs_total as a counter",
                  [m["type"] for m in meta.get("mlgate_gate_runs_total", [])] == ["counter"])
            meta = prom.api("metadata", metric="mlgate_model_up")
            check("... and mlgate_model_up as a gauge",
                  [m["type"] for m in meta.get("mlgate_model_up", [])] == ["gauge"])

            q = f'mlgate_model_up{{model="chat",{job}}}'
            got = prom.wait_value(q, 1, 20)
            check("mlgate_model_up{model=\"chat\"} is 1 with the model server up", bool(got) and got[0][1] == 1)
            check("... labelled capability=\"chat\", kind=\"llm\"", bool(got) and
                  got[0][0].get("capability") == "chat" and got[0][0].get("kind") == "llm")
            grow = prom.wait_value(f"sum(increase(mlgate_gate_runs_total{{{job}}}[10s]))", lambda v: v > 0, 20)
            check("increase(mlgate_gate_runs_total[10s]) > 0: runs counted", bool(grow) and grow[0][1] > 0)
            passed = prom.wait_value(f'rate(mlgate_gate_runs_total{{result="passed",{job}}}[10s])', lambda v: v > 0, 10)
            check("rate(mlgate_gate_runs_total{result=\"passed\"}[10s]) > 0", bool(passed) and passed[0][1] > 0)

            t = time.time()
            model.stop()
            got = prom.wait_value(q, 0, 20)
            t_down = time.time() - t
            check("model server stopped: mlgate_model_up{model=\"chat\"} goes to 0", bool(got) and got[0][1] == 0)
            failed = prom.wait_value(f'increase(mlgate_gate_runs_total{{result="failed",{job}}}[10s])',
                                     lambda v: v > 0, 15)
            check("... and the failed runs increase", bool(failed) and failed[0][1] > 0)
            check("... while the scrape stays up", prom.query(f"up{{{job}}}") == [({"__name__": "up", "instance":
                  f"127.0.0.1:{daemon.port}", "job": "mlgate"}, 1.0)])

            t = time.time()
            model.start()
            got = prom.wait_value(q, 1, 20)
            t_back = time.time() - t
            check("model server back on the same port: mlgate_model_up{model=\"chat\"} back to 1",
                  bool(got) and got[0][1] == 1)
            total = prom.query(f"sum(mlgate_gate_runs_total{{{job}}})")
            check("mlgate_gate_runs_total kept counting (no reset)",
                  bool(total) and not prom.query(f"resets(mlgate_gate_runs_total{{{job}}}[1m]) > 0"))
            print(f"timings: prometheus ready {t_prom - t0:.1f}s after start; 0 seen {t_down:.1f}s after the stop, "
                  f"1 seen {t_back:.1f}s after the restart; {total[0][1]:.0f} runs counted" if total else "")
        except Exception as e:
            check(f"no exception ({type(e).__name__}: {e})", False)
        finally:
            if prom:
                prom.stop()
            if daemon:
                check("daemon: SIGTERM, exit 0", stop(daemon.p) == 0)
            if model:
                model.stop()
        if checks.failed:
            if prom:
                print("--- prometheus log (tail)\n" + prom.log_tail())
            if daemon:
                print("--- mlgate serve log (tail)\n" + "".join(daemon.log[-20:]))
    print(f"{time.time() - t0:.1f}s in all")
    return result()


if __name__ == "__main__":
    sys.exit(main())

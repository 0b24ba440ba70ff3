#!/usr/bin/env python3
"""check_test.py - `mlgate check` against servers on loopback that answer well and badly.

usage: check_test.py MLGATE
One threaded HTTP server plays an OpenAI-compatible endpoint per path prefix (/good/v1, /hang/v1,
...): real answers (a 1-second WAV tone, a 256x256 PNG, a vector) and the failures users meet:
never answering, /models 200 but inference hanging, a 1 byte/s drip, an endless body, invalid JSON,
silence, a truncated WAV, HTTP 500, empty text, the wrong image size, answers that make no sense
(one character or token over and over, only reasoning), HTTP 500 bodies and exec output of 3000 and
10000 bytes. Each model must end in the right stage with the right reason, within its timeout, all
in parallel; then the capability file and JUnit XML are checked. Then the smoke stage against
--gpu sm_120 with committed fixtures: the scan's why in the reason, a PTX-only pass marked jit.
"""
import base64, http.server, json, math, os, socketserver, struct, subprocess, sys, tempfile, threading, time, zlib
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, result  # noqa: E402


def wav(seconds=1.0, amp=12000, rate=16000, claim=None):
    n = int(seconds * rate)
    pcm = b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n))
    data = claim if claim is not None else len(pcm)
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", data) + pcm)


def png(w, h):
    raw = b"".join(b"\0" + b"\xff\0\0" * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


GOOD = {
    "chat/completions": lambda body: {"choices": [{"message": {"role": "assistant", "content": "OK"}}],
                                      "usage": {"completion_tokens": 1}},
    "embeddings": lambda body: {"data": [{"embedding": [0.1] * 8}]},
    "images/generations": lambda body: {"data": [{"b64_json": base64.b64encode(png(
        *map(int, json.loads(body).get("size", "256x256").split("x")))).decode()}]},
    "audio/transcriptions": lambda body: {"text": "hello"},
}


FLAKY, LOCK = [0], threading.Lock()
# answers a misbehaving server gives: cut mid-character by a naive writer, terminal escapes, a key echoed
HOSTILE = {"accent": "a" + "\u00e9" * 200, "escapes": "\x1b[2J\x1b]0;pwned\x07OK\x1b[0m", "echo": "your key is s3cret"}
# answers that cost memory to read: 15 MiB of zeros, a vector wider than any model's, all zeros, a
# 10 MiB image answer of a million tiny values, and 7.5 MiB of numbers (under the embedding cap)
BIG = {"zeros15": b'{"data":[{"embedding":[' + b"0," * (15 << 19) + b'0]}]}',
       "wide": json.dumps({"data": [{"embedding": [0.5] * 100000}]}).encode(),
       "allzero": json.dumps({"data": [{"embedding": [0.0] * 8}]}).encode(),
       "bomb": b'{"data":[' + b"[0]," * (10 << 18) + b'{"b64_json":"x"}]}',
       "fat": b'{"data":[{"embedding":[' + b"0.25," * ((15 << 20) // 10) + b'1]}]}'}
# chat answers that are there and make no sense (a broken or mis-loaded model, a reasoning model cut
# short), and two that do: mode -> the message (probe_test.py serves the same)
SENSE = {"hashes": {"content": "########"}, "thethe": {"content": "the the the the"},
         "unk": {"content": "<unk><unk>"}, "paris": {"content": "Paris"},
         "reasoning": {"content": "", "reasoning_content": "Okay, the user wants me to say OK. So I"},
         "thinking": {"content": "<think>\nOkay, the user wants me to"},
         "thought": {"content": "<think>\nThey want OK.\n</think>\n\nOK"}}
# HTTP 500 bodies past the old cut (60 characters): 3000 bytes are kept whole, 10000 cut near 4 KiB
E500 = {"e500big": " ".join(f"w{i}" for i in range(700)).encode()[:2999] + b"!",
        "e500huge": " ".join(f"w{i}" for i in range(2000)).encode()[:10000]}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, data, ctype="application/json"):
        if isinstance(data, (dict, list)):
            data = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self, body):
        parts = self.path.split("/", 3)          # '', mode, 'v1', rest
        mode, rest = parts[1], parts[3] if len(parts) > 3 else ""
        auth = self.headers.get("Authorization")
        if mode == "leakylong" and rest != "models":  # a 500 whose 3 KiB body echoes the key near its end
            return self.send(500, ("w " * 1450 + f"echo: {auth} token=s3cret").encode(), "text/plain")
        if mode == "leaky" and rest != "models":      # a 401 that echoes the request, key and all
            return self.send(401, f"invalid key: {auth} (also tried sk-proj-{'A' * 40})".encode(), "text/plain")
        if mode in HOSTILE and rest == "chat/completions":
            return self.send(200, {"choices": [{"message": {"content": HOSTILE[mode]}}], "usage": {"completion_tokens": 3}})
        if mode in SENSE and rest == "chat/completions":
            return self.send(200, {"choices": [{"message": dict(SENSE[mode], role="assistant")}],
                                   "usage": {"completion_tokens": 8}})
        if mode in E500 and rest != "models":
            return self.send(500, E500[mode], "text/plain")
        if mode == "bigcount" and rest == "chat/completions":   # a count no double converts to an integer
            return self.send(200, b'{"choices":[{"message":{"content":"OK"}}],"usage":{"completion_tokens":1e30}}')
        if mode == "held" and rest == "audio/speech":   # 15.5 MiB at once, then a pause before the end
            size = (31 << 19) + (256 << 10)
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                self.wfile.write(bytes(31 << 19))
                self.wfile.flush()
                time.sleep(1.5)
                self.wfile.write(bytes(256 << 10))
            except OSError:
                pass
            return
        if mode in BIG and rest != "models":
            return self.send(200, BIG[mode])
        if mode == "gated" and auth != "Bearer s3cret":
            return self.send(401, {"error": "no key"})
        if mode == "never" or (mode in ("hang", "drip", "huge") and rest != "models"):
            if mode == "hang" or mode == "never":
                time.sleep(30)
                return
            if mode == "drip":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b"x"); self.wfile.flush(); time.sleep(1)
                return
            self.send_response(200)                      # huge: 10 GB announced, sent until stopped
            self.send_header("Content-Length", str(10 << 30))
            self.end_headers()
            chunk = b"y" * (1 << 20)
            try:
                for _ in range(10 << 10):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if rest == "models":
            return self.send(200, {"data": [{"id": "m"}]})
        if mode == "flaky" and rest == "chat/completions":
            with LOCK:
                FLAKY[0] += 1
                bad = FLAKY[0] % 2 == 0
            if bad:
                return self.send(500, {"error": "flaky"})
        if mode == "e500":
            return self.send(500, {"error": "CUDA error: out of memory"})
        if mode == "badjson":
            return self.send(200, b"<html>oops</html>", "text/html")
        if mode == "empty" and rest == "chat/completions":
            return self.send(200, {"choices": [{"message": {"content": ""}}], "usage": {"completion_tokens": 0}})
        if rest == "audio/speech":
            audio = {"silence": wav(1.0, 0), "truncated": wav(1.0, claim=10 ** 6)[:20000], "short": wav(0.2),
                     "point8": wav(0.8)}.get(mode, wav())
            return self.send(200, audio, "audio/wav")
        if mode == "wrongsize" and rest == "images/generations":
            return self.send(200, {"data": [{"b64_json": base64.b64encode(png(128, 128)).decode()}]})
        if rest in GOOD:
            return self.send(200, GOOD[rest](body))
        return self.send(404, {"error": "no route " + rest})

    def do_GET(self):
        self.route(b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.route(self.rfile.read(n))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128   # every model connects at once

    def handle_error(self, request, client_address):
        pass                       # the gate hangs up on hung and endless answers: expected


def full_disk(mlgate, matrix, caps, junit, db, env):
    """A full disk (RLIMIT_FSIZE, SIGXFSZ ignored) while each file is published: the old file is kept
    whole, the database sound, and the run says so (exit 1)."""
    import resource, signal, sqlite3
    subprocess.run([mlgate, "check", "--no-smoke", "--junit", junit, matrix], capture_output=True, env=env)
    before = {p: open(p, "rb").read() for p in (caps, junit)}
    runs = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
    r = subprocess.run([mlgate, "check", "--no-smoke", "--junit", junit, matrix], capture_output=True, text=True,
                       env=env, preexec_fn=small_disk)
    said = r.stdout + r.stderr
    check(f"full disk: exit 1, each failed file named ({said.strip().splitlines()[-3:]})",
          r.returncode == 1 and all(f"mlgate check: {x}: " in said for x in ("capabilities", "junit", "receipts")))
    for p, data in before.items():
        check(f"full disk: {os.path.basename(p)} is the old file, whole", open(p, "rb").read() == data)
    con = sqlite3.connect(db)
    check("full disk: the receipts database is sound, without the run",
          con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
          and con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == runs)
    con.close()
    check("full disk: no temp files left", not [f for f in os.listdir(os.path.dirname(caps)) if ".tmp." in f])


def never_blocks(mlgate, base, d, env):
    """A FIFO as a matrix, a model or a model's file, and a file: URL that stalls: clear errors, the
    gate's deadline kept, the capability file written."""
    fifo, caps, mx = (os.path.join(d, n) for n in ("fifo.gguf", "scaps.json", "stall.yaml"))
    os.mkfifo(fifo)
    for what, argv in [("check FIFO", ["check", fifo]), ("plan FIFO", ["plan", fifo]),
                       ("inspect FIFO", ["inspect", fifo]), ("fit FIFO", ["fit", fifo, "--gpu", "H100"])]:
        t0 = time.time()
        try:
            r = subprocess.run([mlgate, *argv], capture_output=True, text=True, env=env, timeout=20)
            took, code, said = time.time() - t0, r.returncode, r.stdout + r.stderr
        except subprocess.TimeoutExpired:
            took, code, said = 20, None, "hung"
        check(f"{what}: refused at once ({took:.1f} s, exit {code}): {said.strip()[:90]}",
              took < 3 and code in (1, 2) and "not a regular file" in said)
    with open(mx, "w") as f:
        f.write(f"host: {{capabilities: {caps}, deadline: 3s}}\nmodels:\n"
                f"  - {{name: piped, kind: llm, file: {fifo}, endpoint: '{base}/good/v1', capability: cap.piped}}\n"
                f"  - {{name: stalled, kind: llm, file: '{base}/hang/v1/model.gguf', endpoint: '{base}/good/v1',"
                f" capability: cap.stalled}}\n"
                f"  - {{name: fine, kind: llm, endpoint: '{base}/good/v1', capability: cap.fine}}\n")
    t0 = time.time()
    r = subprocess.run([mlgate, "check", "--json", mx], capture_output=True, text=True, env=env, timeout=60)
    took = time.time() - t0
    check(f"a FIFO file: and a stalling file: URL under a 3 s deadline: done in {took:.1f} s", took < 5)
    try:
        m = {x["name"]: x for x in json.loads(r.stdout)["models"]}
        c = json.load(open(caps))["capabilities"]
    except (ValueError, OSError) as e:
        check(f"a report and a capability file ({e})", False)
        return
    smoke = lambda n: m[n]["stages"].get("smoke", {}).get("reason") or ""
    check(f"the FIFO is refused at smoke: {smoke('piped')}", not m["piped"]["ok"] and "not a regular file" in smoke("piped"))
    check(f"the stalling URL fails by the deadline: {smoke('stalled')}", not m["stalled"]["ok"] and "deadline" in smoke("stalled"))
    check("the others still run and pass", m["fine"]["ok"])
    check("the capability file is written", c["cap.fine"]["enabled"] and not c["cap.stalled"]["enabled"])


def smoke_says_why(mlgate, base, d, env):
    """The smoke stage's failure says what the scan says - the file, the GPU, why, the kernels - and a
    model whose binaries run only through PTX JIT passes, marked so in the capability file. Against
    --gpu sm_120 --vram 32G (no GPU of this machine): libpartial.so is SASS for sm_80/sm_90 only, sass_75.o for
    sm_75, sass_86_ptx_86.o SASS sm_86 with its PTX (tests/fixtures/README.md)."""
    fx = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    caps, junit, db, mx = (os.path.join(d, n) for n in ("wcaps.json", "wjunit.xml", "w.db", "why.yaml"))
    good = f"endpoint: '{base}/good/v1'"
    with open(mx, "w") as f:
        f.write(f"host: {{capabilities: {caps}, receipts: {db}}}\nmodels:\n"
                f"  - {{name: vocoder, kind: llm, {good}, binaries: ['{fx}/libpartial.so'], capability: cap.vocoder}}\n"
                f"  - {{name: two, kind: llm, {good}, binaries: ['{fx}/sass_86_ptx_86.o', '{fx}/libpartial.so',"
                f" '{fx}/sass_75.o'], capability: cap.two}}\n"
                f"  - {{name: jitted, kind: llm, {good}, binaries: ['{fx}/sass_86_ptx_86.o'], capability: cap.jitted}}\n"
                f"  - {{name: plain, kind: llm, {good}, capability: cap.plain}}\n"
                f"  - {{name: e500big, kind: llm, endpoint: '{base}/e500big/v1', capability: cap.e500big}}\n"
                f"  - {{name: nokernel, kind: llm, exec: [sh, -c, 'echo RuntimeError: CUDA error: no kernel image is"
                f" available for execution on the device >&2; exit 1']}}\n")
    r = subprocess.run([mlgate, "check", "--json", "--gpu", "sm_120", "--vram", "32G", "--junit", junit, mx], capture_output=True,
                       text=True, env=env, timeout=60)
    try:
        m = {x["name"]: x for x in json.loads(r.stdout)["models"]}
        c = json.load(open(caps))["capabilities"]
    except (ValueError, OSError) as e:
        check(f"smoke: a report and a capability file ({e}; {r.stderr.strip()[:200]})", False)
        return
    why = m["vocoder"]["stages"]["smoke"].get("reason") or ""
    check(f"smoke fails with the scan's why: {why}",
          not m["vocoder"]["ok"] and m["vocoder"]["stages"]["smoke"]["ok"] is False
          and f"{fx}/libpartial.so: none on sm_120: no SASS that runs on it and no PTX it can JIT;"
              " its code spans sm_80..sm_90; kernels: " in why
          and "kern_two" in why and "kern_add" in why and "mlgate scan says why" not in why)
    two = m["two"]["stages"]["smoke"].get("reason") or ""
    check(f"two files fail: the first named, the other counted: {two}",
          "libpartial.so: none on sm_120: " in two and two.endswith("; and 1 more file")
          and "sass_86_ptx_86.o" not in two)
    check(f"a PTX-only pass passes, marked jit in the capability file: {c['cap.jitted']}",
          m["jitted"]["ok"] and c["cap.jitted"]["enabled"] is True and c["cap.jitted"].get("jit") is True
          and "first start JIT-compiles" in c["cap.jitted"].get("note", "")
          and "sass_86_ptx_86.o" in c["cap.jitted"]["note"])
    check(f"the smoke stage says so too: {m['jitted']['stages']['smoke'].get('reason')}",
          m["jitted"]["stages"]["smoke"]["ok"] and "first start JIT-compiles" in
          (m["jitted"]["stages"]["smoke"].get("reason") or ""))
    check("a model without binaries: no jit key, no note", "jit" not in c["cap.plain"] and "note" not in c["cap.plain"]
          and c["cap.plain"]["enabled"])
    check("the failing model's capability carries the same reason", c["cap.vocoder"]["reason"] == why
          and c["cap.vocoder"]["failed_stage"] == "smoke")
    import sqlite3
    con = sqlite3.connect(db)
    stored = dict(con.execute("SELECT model, reason FROM results WHERE ok = 0").fetchall())
    con.close()
    big = m["e500big"]["stages"]["inference"].get("reason") or ""
    check(f"receipts keep the reasons whole ({len(stored.get('e500big') or '')} bytes)",
          stored.get("vocoder") == why and stored.get("e500big") == big and len(big) > 3000)
    ex = m["vocoder"]["stages"]["smoke"].get("explain") or {}
    check(f"a failure carries its explanation: {ex.get('id')}", ex.get("id") == "cuda-no-kernel-image"
          and "SASS" in (ex.get("cause") or "") and "mlgate scan" in (ex.get("fix") or ""))
    nk = m["nokernel"]["stages"]["inference"]
    check(f"the program's own error explained: {nk.get('explain')}", nk["ok"] is False
          and (nk.get("explain") or {}).get("id") == "cuda-no-kernel-image")
    check("a passing stage carries no explanation", all("explain" not in st for st in m["plain"]["stages"].values() if st))
    h = subprocess.run([mlgate, "check", "--gpu", "sm_120", "--vram", "32G", mx], capture_output=True, text=True, env=env,
                       timeout=60).stdout
    check("the human report names the explanation and its fix",
          h.count("explain cuda-no-kernel-image: install a build of that library") == 3)   # vocoder, two, nokernel
    fails = {x.get("name"): x.find("failure") for x in ET.parse(junit).getroot().iter("testcase")}
    check("JUnit: the smoke failure's message is the scan's why",
          fails["vocoder"] is not None and fails["vocoder"].get("message") == why)
    outs = {x.get("name"): x.findtext("system-out") or "" for x in ET.parse(junit).getroot().iter("testcase")}
    check("JUnit: the failure's known cause and fix in its output",
          "(explain cuda-no-kernel-image: install a build of that library" in outs["vocoder"]
          and "explain" not in outs["plain"])


def hostile(mlgate, base, d, env):
    """What a server quotes reaches reports only sanitised: no key, valid UTF-8, no control characters."""
    caps, junit, db, mx = (os.path.join(d, n) for n in ("hcaps.json", "hjunit.xml", "h.db", "h.yaml"))
    with open(mx, "w") as f:
        f.write(f"host: {{capabilities: {caps}, receipts: {db}}}\nmodels:\n")
        for name in ["leaky", "leakylong"] + list(HOSTILE):
            f.write(f"  - {{name: {name}, kind: llm, endpoint: '{base}/{name}/v1', api_key_env: MLGATE_TEST_KEY}}\n")
        f.write("  - {name: blabber, kind: tts, exec: [/bin/sh, -c, 'echo token=s3cret sk-live-0123456789abcdef; exit 4']}\n")
    runs = [subprocess.run([mlgate, "check", "--no-smoke", *a, mx], capture_output=True, env=env, timeout=60)
            for a in (["--json", "--junit", junit], [])]
    said = b"".join(r.stdout + r.stderr for r in runs)
    files = {p: open(p, "rb").read() for p in (caps, junit, db)}
    check("hostile answers: the run completes (exit 1: leaky and blabber fail)", [r.returncode for r in runs] == [1, 1])
    for where, data in [("stdout and stderr", said)] + list(files.items()):
        check(f"no key in {os.path.basename(where)}", b"s3cret" not in data and b"0123456789abcdef" not in data
              and b"A" * 40 not in data)
    for where, data in [("stdout and stderr", said), (caps, files[caps]), (junit, files[junit])]:
        try:
            data.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        check(f"{os.path.basename(where)}: valid UTF-8, no escape sequences", valid and b"\x1b" not in data
              and b"\x07" not in data)
    try:
        ET.parse(junit)
        parsed = True
    except ET.ParseError as e:
        parsed = str(e)
    check(f"JUnit with an answer of 'a' + 200 x 'e-acute' parses with expat ({parsed})", parsed is True)
    m = {x["name"]: x for x in json.loads(runs[0].stdout)["models"]}
    check(f"the key masked, the rest of the 401 kept: {m['leaky']['stages']['inference'].get('reason')}",
          "HTTP 401: invalid key: Bearer ***" in (m["leaky"]["stages"]["inference"].get("reason") or ""))
    long_why = m["leakylong"]["stages"]["inference"].get("reason") or ""
    check(f"a 3 KiB error body keeps its end, the key masked there: ...{long_why[-40:]!r}",
          len(long_why) > 2900 and long_why.endswith("echo: Bearer *** token=***"))
    check(f"a cut answer ends on a character: {m['accent']['output'][-5:]!r}",
          m["accent"]["ok"] and m["accent"]["output"].startswith("a\u00e9") and m["accent"]["output"].endswith("..."))
    check(f"escapes dropped, the text kept: {m['escapes']['output']!r}", m["escapes"]["output"] == "[2J]0;pwnedOK[0m")
    check(f"exec output masked: {m['blabber']['stages']['inference'].get('reason')}",
          "exited with 4: token=*** sk-***" in (m["blabber"]["stages"]["inference"].get("reason") or ""))


def main():
    mlgate = sys.argv[1]
    srv = Server(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    # name, kind, mode, extra YAML -> expected (ok, failed stage, reason fragment)
    models = [
        ("chat", "llm", "good", "", (True, None, "OK")),
        ("vision", "vlm", "good", "", (True, None, "OK")),
        ("speech", "tts", "good", "", (True, None, "WAV 1.00 s")),
        ("ears", "asr", "good", "", (True, None, "hello")),
        ("vectors", "embedding", "good", "probe: {dimensions: 8}", (True, None, "vector of 8")),
        ("painter", "image", "good", "probe: {width: 64, height: 32}", (True, None, "PNG 64x32")),
        ("gated", "llm", "gated", "api_key_env: MLGATE_TEST_KEY", (True, None, "OK")),
        ("wrong-dims", "embedding", "good", "probe: {dimensions: 1024}", (False, "inference", "a vector of 8, not 1024")),
        ("never", "llm", "never", "", (False, "up", "models: ")),
        ("health-lies", "llm", "hang", "", (False, "inference", "no complete answer within 2.0 s")),
        ("drip", "llm", "drip", "", (False, "inference", "no complete answer within 2.0 s")),
        ("huge", "llm", "huge", "", (False, "inference", "passed 4.0 MiB, the most this kind's answer may be")),
        ("badjson", "llm", "badjson", "", (False, "inference", "not JSON")),
        ("e500", "llm", "e500", "", (False, "inference", "HTTP 500")),
        ("empty", "llm", "empty", "", (False, "inference", "no text")),
        ("silence", "tts", "silence", "", (False, "inference", "silence")),
        ("truncated", "tts", "truncated", "", (False, "inference", "truncated WAV")),
        ("short", "tts", "short", "", (False, "inference", "0.20 s of audio")),
        ("wrongsize", "image", "wrongsize", "", (False, "inference", "a 128x128 PNG, 256x256 was asked for")),
        ("nokey", "llm", "gated", "", (False, "up", "HTTP 401")),
        ("bigcount", "llm", "bigcount", "", (True, None, "OK")),
        ("zeros15", "embedding", "zeros15", "", (False, "inference", "passed 8.0 MiB")),
        ("wide", "embedding", "wide", "", (False, "inference", "no embedding model has more than 65536")),
        ("allzero", "embedding", "allzero", "", (False, "inference", "all zeros")),
        ("bomb", "image", "bomb", "", (False, "inference", "more than 65536 JSON values")),
        ("hashes", "llm", "hashes", "", (False, "inference", "chat/completions: the answer is one repeated character "
                                         "'#' (8 times): the model is broken or mis-loaded")),
        ("thethe", "llm", "thethe", "", (False, "inference", "the answer is one repeated token 'the' (4 times)")),
        ("unk", "vlm", "unk", "", (False, "inference", "the answer is one repeated token '<unk>' (2 times)")),
        ("paris", "llm", "paris", "", (True, None, "Paris")),
        ("reasoning", "llm", "reasoning", "", (False, "inference", "chat/completions: only reasoning, no content "
                                               "(raise max_tokens or disable thinking)")),
        ("thinking", "llm", "thinking", "probe: {max_tokens: 16}", (False, "inference", "only reasoning, no content "
                                             "(raise max_tokens or disable thinking): max_tokens is 16")),
        ("thought", "llm", "thought", "", (True, None, "OK")),
        ("speech-1s", "tts", "point8", "probe: {min_seconds: 1}", (False, "inference", "0.80 s of audio, less than 1 s")),
        ("speech-0.8", "tts", "point8", "", (True, None, "WAV 0.80 s")),
        ("e500big", "llm", "e500big", "", (False, "inference", "HTTP 500: " + E500["e500big"].decode())),
        ("e500huge", "llm", "e500huge", "", (False, "inference", "HTTP 500: w0 w1 w2")),
    ]
    execs = [
        ("echo", "[/bin/echo, hello gate]", "probe: {expect: gate}", (True, None, "exit 0")),
        ("sleeper", "[/bin/sleep, '30']", "timeout: 1s", (False, "inference", "did not finish within 1.0 s")),
        ("missing", "[/nonexistent/tts]", "", (False, "up", "not an executable")),
        ("fails", "[/bin/sh, -c, 'echo broken >&2; exit 3']", "", (False, "inference", "exited with 3: broken")),
        ("talker", "[/bin/sh, -c, 'yes abcdefghi | head -n 300; echo END; exit 3']", "",
         (False, "inference", "exited with 3: " + "abcdefghi " * 300 + "END")),
    ]
    d = tempfile.mkdtemp(prefix="mlgate-check-")
    caps, junit, mx = os.path.join(d, "caps.json"), os.path.join(d, "junit.xml"), os.path.join(d, "m.yaml")
    with open(mx, "w") as f:
        f.write(f"host:\n  capabilities: {caps}\n  deadline: 20s\nmodels:\n")
        for name, kind, mode, extra, _ in models:
            f.write(f"  - name: {name}\n    kind: {kind}\n    endpoint: {base}/{mode}/v1\n    model: m\n"
                    f"    capability: cap.{name}\n    timeout: 2s\n")
            if extra:
                f.write(f"    {extra}\n")
        for name, argv, extra, _ in execs:
            f.write(f"  - name: {name}\n    kind: tts\n    exec: {argv}\n    capability: cap.{name}\n")
            if extra:
                f.write(f"    {extra}\n")
    env = dict(os.environ, MLGATE_TEST_KEY="s3cret", MLGATE_NVML="/nonexistent")
    t0 = time.time()
    r = subprocess.run([mlgate, "check", "--json", "--no-smoke", "--junit", junit, mx], capture_output=True, text=True,
                       env=env, timeout=120)
    took = time.time() - t0
    check("exit 1: some failed", r.returncode == 1)
    out = json.loads(r.stdout)
    got = {m["name"]: m for m in out["models"]}
    for name, *_, (ok, stage, frag) in [(m[0], m[4]) for m in models] + [(e[0], e[3]) for e in execs]:
        m = got[name]
        if ok:
            check(f"{name}: passes, answering '{frag}' (got {json.dumps(m)})", m["ok"] and frag in (m["output"] or ""))
        else:
            st = m["stages"].get(stage, {})
            check(f"{name}: fails at {stage}: '{frag}' (got {json.dumps(m['stages'])})",
                  not m["ok"] and st.get("ok") is False and frag in (st.get("reason") or ""))
    check(f"all {len(got)} in parallel: {took:.1f} s, near the slowest probe (2 s), far from the sum",
          took < 6)
    check("the key is sent, never printed", "s3cret" not in r.stdout + r.stderr and "s3cret" not in open(junit).read()
          and "s3cret" not in open(caps).read())
    c = json.load(open(caps))["capabilities"]
    check("capability file: ok ones enabled", c["cap.chat"]["status"] == "ok" and c["cap.chat"]["enabled"] is True)
    check("capability file: failed ones disabled, with stage and reason",
          c["cap.health-lies"]["enabled"] is False and c["cap.health-lies"]["failed_stage"] == "inference"
          and "no complete answer" in c["cap.health-lies"]["reason"])
    check("capability file: one per capability", len(c) == len(models) + len(execs))
    big, huge = (got[n]["stages"]["inference"]["reason"] for n in ("e500big", "e500huge"))
    check(f"a 3000-byte HTTP 500 body is kept whole: {len(big)} bytes of reason, in the capability file too",
          big.endswith(E500["e500big"].decode()) and c["cap.e500big"]["reason"] == big)
    check(f"a 10000-byte body is cut near 4 KiB, marked: {len(huge.encode())} bytes, ends {huge[-12:]!r}",
          4000 < len(huge.encode()) <= 4352 and huge.endswith("...") and E500["e500huge"][:3900].decode() in huge)
    check("a stage's reason is no longer cut at 256 bytes", len(got["talker"]["stages"]["inference"]["reason"]) > 3000)
    check("a model that answers only reasoning shows none of it as its answer", not got["reasoning"]["output"])
    check("no temp files left", sorted(os.listdir(d)) == ["caps.json", "junit.xml", "m.yaml"])
    t = ET.parse(junit).getroot()
    cases = t.findall(".//testcase")
    check("JUnit: a test case per model, failures as failures",
          len(cases) == len(got) and int(t.get("failures")) == sum(not m["ok"] for m in got.values())
          and sum(1 for x in cases if x.find("failure") is not None) == int(t.get("failures")))
    fail = {x.get("name"): x.find("failure") for x in cases}
    check("JUnit: the 3000-byte body whole in the failure's message",
          fail["e500big"] is not None and fail["e500big"].get("message").endswith(E500["e500big"].decode()))
    # a text run: exit code and a line per model
    r2 = subprocess.run([mlgate, "check", "--no-smoke", "--capabilities", caps, mx], capture_output=True, text=True,
                        env=env, timeout=120)
    npass = sum(m[4][0] for m in models) + sum(e[3][0] for e in execs)
    check("text: a line per model and a tally", r2.returncode == 1 and f"{npass} of {len(got)} models passed" in r2.stdout)
    check(f"completion_tokens 1e30 is not a count: {got['bigcount'].get('tokens')}", got["bigcount"].get("tokens") == 1)
    # memory in total: 17 speech models each holding 15.5 MiB of answer at once pass the run's 256 MiB
    held = os.path.join(d, "held.yaml")
    with open(held, "w") as f:
        f.write("models:\n" + "".join(f"  - {{name: h{i}, kind: tts, endpoint: '{base}/held/v1'}}\n" for i in range(17)))
    r4 = subprocess.run([mlgate, "check", "--json", "--no-smoke", held], capture_output=True, text=True, env=env)
    why = [m["stages"]["inference"].get("reason") or "" for m in json.loads(r4.stdout)["models"]]
    over = sum("the answers all models held at once passed 256.0 MiB" in w for w in why)
    check(f"17 answers of 15.5 MiB held at once: {over} stopped by the run's 256 MiB, the others read whole",
          0 < over < 17 and all("not audio" in w for w in why if "256.0 MiB" not in w))
    # memory: 8 embedding models answering 7.5 MiB of numbers each, at once
    fat = os.path.join(d, "fat.yaml")
    with open(fat, "w") as f:
        f.write("models:\n" + "".join(f"  - {{name: fat{i}, kind: embedding, endpoint: '{base}/fat/v1'}}\n"
                                      for i in range(8)))
    rss = subprocess.run([sys.executable, "-c", "import resource, subprocess, sys; subprocess.run(sys.argv[1:], "
                          "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                          mlgate, "check", "--no-smoke", fat], capture_output=True, text=True, env=env)
    peak = int(rss.stdout or 0) >> 10
    check(f"8 answers of 7.5 MiB at once: {peak} MiB peak RSS (986 MiB when each was read into a tree; ASan adds its own)", 0 < peak < 400)
    # the gate's deadline bounds everything
    t0 = time.time()
    r3 = subprocess.run([mlgate, "check", "--json", "--no-smoke", "--deadline", "1", mx], capture_output=True,
                        text=True, env=env, timeout=120)
    took = time.time() - t0
    check(f"--deadline 1: the whole gate stops in {took:.1f} s", took < 3 and r3.returncode == 1)
    # receipts: three runs of a small matrix with a model that passes, fails, passes
    db, small = os.path.join(d, "receipts.db"), os.path.join(d, "small.yaml")
    with open(small, "w") as f:
        f.write(f"host:\n  receipts: {db}\n  capabilities: {caps}\nmodels:\n"
                f"  - {{name: steady, kind: llm, endpoint: '{base}/good/v1', capability: cap.steady}}\n"
                f"  - {{name: flaky, kind: llm, endpoint: '{base}/flaky/v1', capability: cap.flaky}}\n")
    codes = [subprocess.run([mlgate, "check", "--no-smoke", small], capture_output=True, env=env).returncode
             for _ in range(3)]
    check(f"three runs: exit codes {codes}", codes == [0, 1, 0])
    import sqlite3
    con = sqlite3.connect(db)
    check("receipts: 3 runs, a row per model x stage that ran",
          con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3 and
          con.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 3 * 2 * 2)
    check("receipts: the failure's reason is kept", "HTTP 500" in con.execute(
        "SELECT reason FROM results WHERE model='flaky' AND ok=0").fetchone()[0])
    con.close()
    h = json.loads(subprocess.run([mlgate, "history", "--json", small], capture_output=True, text=True).stdout)
    hm = {x["model"]: x for x in h["models"]}
    check("history: flaky flaps (2 flips in 3 runs), steady does not",
          hm["flaky"]["flapping"] and hm["flaky"]["flips"] == 2 and hm["flaky"]["passed"] == 2
          and not hm["steady"]["flapping"] and hm["steady"]["passed"] == 3)
    nodb = os.path.join(d, "typo.db")
    hn = subprocess.run([mlgate, "history", "--receipts", nodb], capture_output=True, text=True)
    check("history on a missing database: exit 2, and none is created", hn.returncode == 2 and not os.path.exists(nodb))
    ht = subprocess.run([mlgate, "history", small], capture_output=True, text=True)
    check("history: text names the flapping model, exit 1", ht.returncode == 1 and "FLAPPING" in ht.stdout)
    # SIGKILL in the middle of a run: the capability file is the old one, whole; the database opens
    before = open(caps).read()
    with open(small, "a") as f:
        f.write(f"  - {{name: slow, kind: llm, endpoint: '{base}/hang/v1', capability: cap.slow, timeout: 20s}}\n")
    p = subprocess.Popen([mlgate, "check", "--no-smoke", small], stdout=subprocess.DEVNULL, env=env)
    time.sleep(1.0)
    p.kill()
    p.wait()
    check("SIGKILL: the capability file is the previous one, whole", open(caps).read() == before
          and json.loads(before)["capabilities"])
    # and at random moments of short runs, writes included: always a whole file, a sound database
    import random
    fast = os.path.join(d, "fast.yaml")
    with open(fast, "w") as f:
        f.write(f"host:\n  receipts: {db}\n  capabilities: {caps}\nmodels:\n"
                f"  - {{name: steady, kind: llm, endpoint: '{base}/good/v1', capability: cap.steady}}\n")
    t0 = time.time()
    subprocess.run([mlgate, "check", "--no-smoke", fast], capture_output=True, env=env)
    run_s = time.time() - t0
    whole = 0
    for k in range(30):
        p = subprocess.Popen([mlgate, "check", "--no-smoke", fast], stdout=subprocess.DEVNULL, env=env)
        time.sleep(random.uniform(0, run_s * 1.2))
        p.kill()
        p.wait()
        try:
            whole += bool(json.load(open(caps))["capabilities"])
        except ValueError:
            pass
    check(f"SIGKILL at 30 random moments of a {run_s * 1000:.0f} ms run: the capability file always whole",
          whole == 30)
    con = sqlite3.connect(db)
    check("SIGKILL: the receipts database opens and is intact",
          con.execute("PRAGMA integrity_check").fetchone()[0] == "ok" and
          con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] >= 4)
    con.close()
    full_disk(mlgate, small, caps, junit, db, env)
    hostile(mlgate, base, d, env)
    smoke_says_why(mlgate, base, d, env)
    never_blocks(mlgate, base, d, env)
    srv.shutdown()
    import shutil
    shutil.rmtree(d, ignore_errors=True)
    return result()


if __name__ == "__main__":
    sys.exit(main())

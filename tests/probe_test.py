#!/usr/bin/env python3
"""probe_test.py - mlgate-probe against OpenAI-compatible servers on loopback that answer well and badly.

usage: probe_test.py MLGATE-PROBE
For every kind: a good answer passes (exit 0) and the request is the gate's own (same JSON bytes, the
generated PNG and WAV); HTTP 500, garbage, empty choices, silence, a wrong image size, a hung server,
a refused connection, a 100 MB answer (announced and chunked), answers that make no sense
("########", only reasoning) fail with exit 1 - never 2 - in one line under 4 KiB, within --timeout
+ 1 s; chunked answers are read. Then usage errors, https, the key
(sent, never printed), localhost, and - as root - the probe alone in an empty chroot.
"""
import base64, email.parser, http.server, json, os, shutil, socket, socketserver, struct, subprocess, sys, tempfile
import threading, time, zlib

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from checks import check, free_port, result  # noqa: E402
from check_test import SENSE, png, wav  # noqa: E402  (the check's own fake media; importing it runs nothing)

KINDS = ["llm", "vlm", "tts", "asr", "embedding", "image"]
PATHS = {"llm": "chat/completions", "vlm": "chat/completions", "tts": "audio/speech", "asr": "audio/transcriptions",
         "embedding": "embeddings", "image": "images/generations"}
CHAT_OK = {"choices": [{"message": {"role": "assistant", "content": "Hello"}}], "usage": {"completion_tokens": 2}}
SEEN, LOCK = {}, threading.Lock()   # path -> the last request (headers, body)
GOT = {}                            # kind -> the request its good run sent


def good(rest, body):
    if rest == "chat/completions":
        return json.dumps(CHAT_OK).encode(), "application/json"
    if rest == "audio/speech":
        return wav(), "audio/wav"
    if rest == "audio/transcriptions":
        return b'{"text": "hello there"}', "application/json"
    if rest == "embeddings":
        return json.dumps({"data": [{"embedding": [0.25] * 16}]}).encode(), "application/json"
    if rest == "images/generations":
        return json.dumps({"data": [{"b64_json": base64.b64encode(png(256, 256)).decode()}]}).encode(), "application/json"
    return b'{"error":"no route"}', "application/json"


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, data, ctype="application/json", chunked=False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 777):   # odd chunk sizes, an extension on one
                part = data[i:i + 777]
                self.wfile.write(b"%x%s\r\n" % (len(part), b";x=1" if i == 0 else b"") + part + b"\r\n")
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        parts = self.path.split("/", 3)          # '', mode, 'v1', rest
        mode, rest = parts[1], parts[3] if len(parts) > 3 else ""
        with LOCK:
            SEEN[mode + "/" + rest] = (dict(self.headers), body)
        try:
            self.route(mode, rest, body)
        except OSError:
            pass

    def route(self, mode, rest, body):
        if mode == "e500":
            return self.send(500, b'{"error": "CUDA error: out of memory"}')
        if mode == "e500big":   # a traceback of 5000 bytes: quoted to the room of one line, the end cut
            return self.send(500, b'{"error": "' + b"Traceback line; " * 312 + b'END"}')
        if mode in SENSE:   # answers that are there and make no sense, and two that do
            return self.send(200, json.dumps({"choices": [{"message": SENSE[mode]}], "usage": {"completion_tokens": 8}})
                             .encode())
        if mode == "garbage":
            return self.send(200, b"<html>\x00\x1b[31m oops", "text/html")
        if mode == "emptychoices":
            return self.send(200, b'{"choices": [], "usage": {"completion_tokens": 0}}')
        if mode == "silence":
            return self.send(200, wav(1.0, 0), "audio/wav")
        if mode == "wrongsize":
            return self.send(200, json.dumps({"data": [{"b64_json": base64.b64encode(png(128, 128)).decode()}]}).encode())
        if mode == "leaky":   # a 401 that echoes the key
            return self.send(401, ("invalid key: " + str(self.headers.get("Authorization"))).encode(), "text/plain")
        if mode == "hang":
            time.sleep(30)
            return
        if mode in ("big", "bigchunked"):   # 100 MB of answer, announced or chunked
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if mode == "big":
                self.send_header("Content-Length", str(100 << 20))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"7" * (1 << 20)
            for _ in range(100):
                self.wfile.write(block if mode == "big" else b"%x\r\n%s\r\n" % (len(block), block))
            if mode == "bigchunked":
                self.wfile.write(b"0\r\n\r\n")
            return
        if mode == "cut":   # a length announced, the connection closed halfway
            data, ctype = good(rest, body)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        data, ctype = good(rest, body)
        return self.send(200, data, ctype, chunked=(mode == "chunked"))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def run(probe, *args, env=None, timeout=60):
    t0 = time.time()
    r = subprocess.run([probe, *args], capture_output=True, env=env, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace"), time.time() - t0


def one_line(out):
    return out.count("\n") == 1 and out.endswith("\n") and len(out.encode()) < 4096


def requests_are_the_gates():
    """What the probe sent: the gate's JSON bytes, a 32x32 PNG with a red square, a 1 s WAV in a form."""
    _, llm = GOT.get("llm", ({}, b""))
    check(f"llm: the gate's request, byte for byte: {llm[:120]!r}",
          llm == b'{"model":"m","messages":[{"role":"user","content":"Say OK."}],"max_tokens":8,"temperature":0}')
    _, emb = GOT.get("embedding", ({}, b""))
    check(f"embedding: the gate's request: {emb!r}", emb == b'{"model":"m","input":"mlgate checks this embedding"}')
    _, img = GOT.get("image", ({}, b""))
    check(f"image: the gate's request: {img!r}", img == b'{"model":"m","prompt":"a red cube on a white table",'
          b'"size":"256x256","n":1,"response_format":"b64_json"}')
    _, tts = GOT.get("tts", ({}, b""))
    check(f"tts: the gate's request: {tts!r}", tts == b'{"model":"m","input":"The gate checks that speech really works.",'
          b'"response_format":"wav"}')
    h, form = GOT.get("asr", ({}, b""))
    msg = email.parser.BytesParser().parsebytes(b"Content-Type: " + h.get("Content-Type", "").encode() + b"\r\n\r\n" + form)
    parts = {p.get_param("name", header="content-disposition"): p for p in msg.get_payload()} if msg.is_multipart() else {}
    f = parts.get("file")
    audio = f.get_payload(decode=True) if f else b""
    check(f"asr: a multipart form with a 1 s 16 kHz WAV file and the model ({sorted(parts)}, {len(audio)} bytes)",
          f is not None and f.get_filename() == "probe.wav" and audio[:4] == b"RIFF" and len(audio) == 44 + 32000
          and struct.unpack("<I", audio[24:28])[0] == 16000 and parts.get("model") is not None
          and parts["model"].get_payload(decode=True) == b"m")
    _, vlm = GOT.get("vlm", ({}, b""))
    try:
        content = json.loads(vlm)["messages"][0]["content"]
        url = content[1]["image_url"]["url"]
        raw = base64.b64decode(url.split(",", 1)[1])
        w, hh = struct.unpack(">II", raw[16:24])
        idat = raw[raw.index(b"IDAT") + 4:raw.index(b"IEND") - 8]
        pix = zlib.decompress(idat)
        row = lambda y: pix[y * 97 + 1:(y + 1) * 97]
        red_centre = row(16)[16 * 3:16 * 3 + 3] == b"\xff\0\0" and row(0)[:3] == b"\xff\xff\xff"
        ok = content[0]["text"] == "What colour is the square? One word." and (w, hh) == (32, 32) and red_centre
    except (ValueError, KeyError, IndexError, zlib.error, struct.error) as e:
        ok = e
    check(f"vlm: the question and a 32x32 PNG, a red square on white ({ok})", ok is True)


def main():
    probe = sys.argv[1]
    srv = Server(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PROBE_KEY="s3cret-key-value")
    codes = []

    def probe_run(kind, mode, *extra, timeout="5s"):
        rc, out, err, took = run(probe, "--kind", kind, f"{base}/{mode}/v1", "--model", "m", "--timeout", timeout,
                                 *extra, env=env)
        codes.append(rc)
        return rc, out, err, took

    # good answers, plain and chunked, for every kind
    for mode in ("good", "chunked"):
        for kind in KINDS:
            rc, out, err, took = probe_run(kind, mode)
            if mode == "good":
                GOT[kind] = SEEN.get("good/" + PATHS[kind], ({}, b""))
            check(f"{kind} {mode}: exit 0, one 'ok' line ({out.strip()!r} {err.strip()!r})",
                  rc == 0 and one_line(out) and out.startswith(f"ok {kind} {base}/{mode}/v1 ") and not err)
    requests_are_the_gates()
    rc, out, _, _ = probe_run("llm", "good")
    check(f"the line's shape: ok, kind, URL, time, first byte, the answer: {out.strip()!r}",
          out.startswith(f"ok llm {base}/good/v1 ") and "s first byte " in out and out.rstrip().endswith(': "Hello"'))

    # failures every kind meets
    refused = f"http://127.0.0.1:{free_port()}/v1"
    for kind in KINDS:
        cases = [("e500", "HTTP 500: {\"error\": \"CUDA error: out of memory\"}"),
                 ("garbage", "not audio" if kind == "tts" else "not JSON"),
                 ("big", "passed 16.0 MiB" if kind in ("tts", "image") else
                  "passed 8.0 MiB" if kind == "embedding" else "passed 4.0 MiB"),
                 ("bigchunked", "passed"), ("cut", "closed in the middle")]
        for mode, frag in cases:
            rc, out, err, took = probe_run(kind, mode)
            check(f"{kind} {mode}: exit 1, one line naming it ({out.strip()[:160]!r})",
                  rc == 1 and one_line(out) and out.startswith(f"FAIL {kind} ") and frag in out)
            if mode == "big":
                check(f"{kind} 100 MB announced: refused at the headers ({took:.2f} s)", took < 2)
        t0 = time.time()
        rc, out, err, took = probe_run(kind, "hang", timeout="1s")
        check(f"{kind} hung server: exit 1 within --timeout 1s + 1 s ({took:.2f} s): {out.strip()[:120]!r}",
              rc == 1 and one_line(out) and took < 2.0 and "no complete answer within 1.0 s" in out)
        rc, out, err, took = run(probe, "--kind", kind, refused, "--timeout", "3s")
        codes.append(rc)
        check(f"{kind} connection refused: exit 1 at once ({took:.2f} s): {out.strip()!r}",
              rc == 1 and one_line(out) and "Connection refused" in out and took < 1)
    rc, out, _, _ = probe_run("llm", "e500big")
    check(f"a 5000-byte error body: quoted at length, cut to one line under 4 KiB ({len(out)} bytes)",
          rc == 1 and one_line(out) and out.count("Traceback line;") >= 150 and len(out.encode()) <= 4096
          and out.endswith("\n") and "END" not in out)
    for kind, mode, frag in [("llm", "emptychoices", "no text in the answer"), ("vlm", "emptychoices", "no text"),
                             ("tts", "silence", "silence: the loudest sample is 0.0000"),
                             ("image", "wrongsize", "a 128x128 PNG, 256x256 was asked for")]:
        rc, out, err, took = probe_run(kind, mode)
        check(f"{kind} {mode}: exit 1, '{frag}' ({out.strip()!r})", rc == 1 and one_line(out) and frag in out)

    # answers checked for sense, as the gate checks them
    nonsense = "the model is broken or mis-loaded"
    for kind, mode, ok, frag in [("llm", "hashes", False, "chat/completions: the answer is one repeated character '#' "
                                  "(8 times): " + nonsense), ("llm", "thethe", False, "one repeated token 'the' (4 times)"),
                                 ("vlm", "unk", False, "one repeated token '<unk>' (2 times): " + nonsense),
                                 ("llm", "reasoning", False, "only reasoning, no content (raise max_tokens or disable "
                                  "thinking): max_tokens is 8"),
                                 ("llm", "thinking", False, "only reasoning, no content"),
                                 ("llm", "thought", True, ': "OK"'), ("llm", "paris", True, ': "Paris"')]:
        rc, out, err, took = probe_run(kind, mode)
        check(f"{kind} {mode}: exit {0 if ok else 1}, '{frag}' ({out.strip()!r})",
              rc == (0 if ok else 1) and one_line(out) and out.startswith("ok " if ok else "FAIL ") and frag in out)

    # the key: sent as a bearer token, never printed (a 401 that echoes it)
    rc, out, err, _ = probe_run("llm", "good", "--api-key-env", "PROBE_KEY")
    h, _ = SEEN["good/chat/completions"]
    check("--api-key-env: sent as 'Authorization: Bearer'", rc == 0 and h.get("Authorization") == "Bearer s3cret-key-value")
    rc, out, err, _ = probe_run("llm", "leaky", "--api-key-env", "PROBE_KEY")
    check(f"a 401 echoing the key: exit 1, the key masked ({out.strip()!r})",
          rc == 1 and "HTTP 401" in out and "s3cret" not in out + err and "***" in out)
    rc, out, err, _ = run(probe, "--kind", "llm", f"{base}/good/v1", "--api-key-env", "NO_SUCH_VAR_HERE")
    codes.append(rc)
    check(f"--api-key-env of an unset variable: exit 1 ({err.strip()!r})", rc == 1 and "NO_SUCH_VAR_HERE" in err)

    # names: localhost (no /etc/hosts needed), IPv6 loopback where there is one
    rc, out, _, _ = run(probe, "--kind", "llm", f"http://localhost:{port}/good/v1")
    codes.append(rc)
    check(f"localhost: {out.strip()!r}", rc == 0 and out.startswith("ok llm"))
    try:
        class Server6(Server):
            address_family = socket.AF_INET6
        s6 = Server6(("::1", 0), H)
        threading.Thread(target=s6.serve_forever, daemon=True).start()
        rc, out, _, _ = run(probe, "--kind", "embedding", f"http://[::1]:{s6.server_address[1]}/good/v1/")
        codes.append(rc)
        check(f"IPv6 [::1] (and a trailing slash): {out.strip()!r}", rc == 0 and "vector of 16" in out)
        s6.shutdown()
    except OSError:
        print("no IPv6 loopback here: [::1] not tried")

    # usage errors: exit 1 (never 2) with one clear line on stderr
    usage = [([], "--kind is required"), (["--kind", "llm"], "URL is missing"),
             (["--kind", "chat", base], "--kind is one of"), (["--kind", "llm", "https://example.com/v1"], "https:// is not"
             " supported"), (["--kind", "llm", "ftp://x"], "must start with http://"),
             (["--kind", "llm", base, "--timeout", "soon"], "--timeout takes a duration"),
             (["--kind", "llm", base, "--bogus"], "unknown option"), (["--kind"], "a value is missing"),
             (["--kind", "llm", "http://127.0.0.1:99999/v1"], "port"), (["--kind", "llm", base, base], "one URL only")]
    for argv, frag in usage:
        rc, out, err, _ = run(probe, *argv)
        codes.append(rc)
        check(f"usage {argv}: exit 1, '{frag}' ({err.strip()!r})", rc == 1 and frag in err and err.count("\n") == 1
              and not out)
    rc, out, err, _ = run(probe, "--help")
    check("--help: exit 0, the usage on stdout", rc == 0 and "--kind" in out and "Exit status" in out)
    check(f"never exit 2 in {len(codes)} runs (codes seen: {sorted(set(codes))})", 2 not in codes and codes)

    # the probe alone in an empty root: no /etc, no libraries, no resolver
    if os.geteuid() == 0 and shutil.which("chroot"):
        root = tempfile.mkdtemp(prefix="mlgate-probe-root-")
        shutil.copy(probe, os.path.join(root, "mlgate-probe"))
        r = subprocess.run(["chroot", root, "/mlgate-probe", "--kind", "tts", f"http://localhost:{port}/good/v1"],
                           capture_output=True, text=True, timeout=30)
        check(f"in an empty chroot (only the probe): {r.stdout.strip()!r} {r.stderr.strip()!r} {os.listdir(root)}",
              r.returncode == 0 and r.stdout.startswith("ok tts") and os.listdir(root) == ["mlgate-probe"])
        r = subprocess.run(["chroot", root, "/mlgate-probe", "--kind", "llm", f"http://no-such-host.invalid:{port}/v1",
                            "--timeout", "2s"], capture_output=True, text=True, timeout=30)
        check(f"a name with no resolver in the chroot: exit 1, said ({r.stdout.strip()!r})",
              r.returncode == 1 and one_line(r.stdout) and ("resolve" in r.stdout or "looking up" in r.stdout))
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("not root (or no chroot): the empty-root run is skipped")
    srv.shutdown()
    return result()


if __name__ == "__main__":
    sys.exit(main())

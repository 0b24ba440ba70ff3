#!/usr/bin/env python3
"""hostile.py - what hostile inputs cost mlgate: wall time, peak RSS and bytes fetched for each input
class of docs/hostile-inputs.md, for one or more mlgate binaries (an older build beside the current
one shows what the hardening changed). Inputs are generated here (sparse where large); servers run
on loopback. A run that passes LIMIT seconds is killed and reported as such.

usage: python3 bench/hostile.py MLGATE [MLGATE_OLD ...]      (LIMIT: 20 s per run)
"""
import http.server, json, os, resource, socketserver, struct, subprocess, sys, tempfile, threading, time

LIMIT = 20
D = tempfile.mkdtemp(prefix="mlgate-hostile-")


def gguf_header(n_tensors, kv=b"", n_kv=0):
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + kv


def kv_u64(key, value):
    k = key.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<IQ", 10, value)


def kv_u32(key, value):
    k = key.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<II", 4, value)


def kv_str(key, value):
    k, v = key.encode(), value.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<IQ", 8, len(v)) + v


def write(name, data, sparse_to=0):
    p = os.path.join(D, name)
    with open(p, "wb") as f:
        f.write(data)
        if sparse_to > len(data):
            f.truncate(sparse_to)
    return p


def inputs(base):
    # A 100 MB safetensors header: 400k tensors.
    hdr = {f"t{i}": {"dtype": "F16", "shape": [4], "data_offsets": [8 * i, 8 * i + 8]} for i in range(400000)}
    h = json.dumps(hdr).encode()
    h += b" " * (100_000_000 - len(h)) if len(h) < 100_000_000 else b""
    st = write("big-header.safetensors", struct.pack("<Q", len(h)) + h + bytes(8 * 400000))
    # GGUF declaring 2^24 tensors over a sparse 1 GiB of zeros (4 KiB on disk).
    sparse = write("declares.gguf", gguf_header(1 << 24), 1 << 30)
    # A recurrent model (memory that does not grow with the context) whose context_length is 2^64 - 1.
    kv = kv_str("general.architecture", "mamba") + kv_u64("mamba.context_length", (1 << 64) - 1) + \
        kv_u32("mamba.block_count", 1) + kv_u32("mamba.embedding_length", 64)
    tensor = struct.pack("<Q", 5) + b"blk.0" + struct.pack("<IQIQ", 1, 64, 0, 0)
    head = gguf_header(1, kv + tensor, 4)
    ctx = write("ctx.gguf", head + bytes((-len(head)) % 32) + bytes(256))
    # A matrix nested 80,000 levels deep.
    deep = write("deep.yaml", b"models: " + b"[" * 80000 + b"]" * 80000 + b"\n")
    fifo = os.path.join(D, "fifo.gguf")
    os.mkfifo(fifo)
    fifo_m = write("fifo-file.yaml", f"host: {{vram: 24G}}\nmodels:\n  - {{name: f, kind: llm, endpoint: 'http://127.0.0.1:9/v1', file: '{fifo}'}}\n".encode())
    # 40,000 dist-infos of one framework, in a wheel and in a directory (quadratic before issue 12's review).
    import zipfile
    many_whl = os.path.join(D, "many.whl")
    with zipfile.ZipFile(many_whl, "w") as z:
        for i in range(40000):
            z.writestr(f"torch-{i}.dist-info/M", "")
    many_dir = os.path.join(D, "many")
    for i in range(40000):
        os.makedirs(os.path.join(many_dir, f"torch-{i}.dist-info"))
    emb = write("emb.yaml", f"models:\n  - {{name: e, kind: embedding, endpoint: '{base}/zeros/v1'}}\n".encode())
    fat = write("fat.yaml", ("models:\n" + "".join(f"  - {{name: f{i}, kind: embedding, endpoint: '{base}/fat/v1'}}\n"
                                                  for i in range(8))).encode())
    return [
        ("safetensors header of 100 MB", ["inspect", "--json", st]),
        ("GGUF declaring 2^24 tensors, 4 KiB on disk", ["inspect", "--json", sparse]),
        ("GGUF context_length 2^64-1: fit", ["fit", "--vram", "24G", ctx]),
        ("matrix nested 80,000 deep: plan", ["plan", deep]),
        ("a FIFO as the model", ["inspect", fifo]),
        ("a FIFO as the matrix", ["plan", fifo]),
        ("a FIFO as a model's file: plan", ["plan", fifo_m]),
        ("remote GGUF header declaring 2^24 tensors", ["inspect", "--json", f"{base}/declares.gguf"]),
        ("a wheel of 40,000 torch dist-infos: scan", ["scan", "--gpu", "H100", many_whl]),
        ("a directory of 40,000 torch dist-infos: scan", ["scan", "--gpu", "H100", many_dir]),
        ("a 15 MiB embedding answer of zeros", ["check", "--no-smoke", emb]),
        ("8 embedding answers of 7.5 MiB at once", ["check", "--no-smoke", fat]),
    ]


ANSWERS = {"zeros": b'{"data":[{"embedding":[' + b"0," * (15 << 19) + b'0]}]}',
           "fat": b'{"data":[{"embedding":[' + b"0.25," * ((15 << 20) // 10) + b'1]}]}'}
SENT = [0]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, data, extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
            SENT[0] += len(data)
        except OSError:
            pass

    def do_GET(self):
        if self.path == "/declares.gguf":   # 1 GiB said; a 24-byte header, then zeros
            size = 1 << 30
            a, b = self.headers.get("Range", "bytes=0-").split("=")[1].split("-")
            a, b = int(a), min(int(b or size - 1), size - 1)
            head = gguf_header(1 << 24)
            body = (head + bytes(max(0, b + 1 - len(head))))[a:b + 1]
            return self.send(206, body, [("Content-Range", f"bytes {a}-{b}/{size}")])
        self.send(200, b'{"data":[{"id":"m"}]}')

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send(200, ANSWERS.get(self.path.split("/")[1], b"{}"))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def measure(argv):
    """Wall time, peak RSS (MiB) and exit code of one run in a fresh process (so RSS is its own)."""
    code = ("import resource, subprocess, sys, time; t = time.time()\n"
            "try:\n    r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,"
            " timeout=float(sys.argv[1])).returncode\nexcept subprocess.TimeoutExpired:\n    r = 'killed'\n"
            "print(time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >> 10, r)")
    out = subprocess.run([sys.executable, "-c", code, str(LIMIT), *argv], capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), out[2]


def main():
    srv = Server(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cases = inputs(f"http://127.0.0.1:{srv.server_address[1]}")
    bins = sys.argv[1:]
    print(f"{'input':48} " + " ".join(f"{os.path.basename(os.path.dirname(b)) + '/' + os.path.basename(b):>34}"
                                     for b in bins))
    for name, argv in cases:
        cells = []
        for b in bins:
            SENT[0] = 0
            t, rss, rc = measure([b, *argv])
            fetched = f", {SENT[0] / 1e6:.1f} MB sent" if SENT[0] else ""
            cells.append(f"{t:6.2f} s {rss:5d} MiB exit {rc}{fetched}" if rc != "killed"
                         else f"killed at {LIMIT} s, {rss} MiB{fetched}")
        print(f"{name:48} " + " ".join(f"{c:>34}" for c in cells))
    srv.shutdown()
    subprocess.run(["rm", "-rf", D])


if __name__ == "__main__":
    main()

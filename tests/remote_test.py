#!/usr/bin/env python3
"""remote_test.py - `mlgate inspect URL` against servers on loopback: with Range, without Range,
redirecting, gated, endless, slow-dripping. Counts requests and bytes. Needs gguf + numpy (77 if not).

usage: remote_test.py MLGATE FIXTURES
"""
import http.server, json, os, shutil, socketserver, subprocess, sys, tempfile, threading, time

try:
    import numpy as np
    import gguf
    from safetensors.numpy import save_file
except ImportError:
    print("gguf/safetensors/numpy not installed: skipped")
    sys.exit(77)

ROOT = tempfile.mkdtemp(prefix="mlgate-http-")
hits = {}
from checks import check, result


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        hits[self.path] = hits.get(self.path, 0) + 1
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/" + self.path[len("/redirect/"):])
            self.end_headers()
            return
        if self.path.startswith("/gated/"):
            self.send_response(401 if self.headers.get("Authorization") != "Bearer sekret" else 302)
            self.send_header("Location", "/" + self.path[len("/gated/"):])
            self.end_headers()
            return
        if self.path == "/endless.gguf":   # valid magic, then a vocabulary that never ends
            self.send_response(200)
            self.end_headers()
            try:
                key = b"tokenizer.ggml.tokens"
                self.wfile.write(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little")
                                 + len(key).to_bytes(8, "little") + key + (9).to_bytes(4, "little")
                                 + (8).to_bytes(4, "little") + (1 << 40).to_bytes(8, "little"))
                chunk = ((1).to_bytes(8, "little") + b"a") * 7000
                for _ in range(20000):   # bounded: 1.3 GB at most, the client must stop long before
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if self.path == "/declares.gguf":   # 1 GiB said, a header declaring 2^19 tensors, then zeros
            size = 1 << 30
            a, b = self.headers.get("Range", "bytes=0-").split("=")[1].split("-")
            a, b = int(a), min(int(b or size - 1), size - 1)
            head = b"GGUF" + (3).to_bytes(4, "little") + (1 << 19).to_bytes(8, "little") + (0).to_bytes(8, "little")
            body = (head + bytes(max(0, b + 1 - len(head))))[a:b + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {a}-{b}/{size}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/drip.gguf":   # 1 byte per second
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(60):
                    self.wfile.write(b"G")
                    self.wfile.flush()
                    time.sleep(1)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        norange = self.path.startswith("/norange/")
        name = self.path[len("/norange/"):] if norange else self.path.lstrip("/")
        path = os.path.join(ROOT, name)
        if not os.path.isfile(path):
            self.send_response(404)
            self.end_headers()
            return
        data = open(path, "rb").read()
        rng = self.headers.get("Range")
        if rng and not norange:
            a, b = rng.split("=")[1].split("-")
            a, b = int(a), min(int(b), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {a}-{b}/{len(data)}")
            self.send_header("Content-Length", str(b - a + 1))
            self.end_headers()
            self.wfile.write(data[a:b + 1])
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def inspect(url, env=None):
    t = time.time()
    p = subprocess.run([sys.argv[1], "inspect", "--json", url], capture_output=True, text=True, env=env, timeout=120)
    return p.returncode, json.loads(p.stdout)["models"][0], time.time() - t


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    # A 60 MiB GGUF whose header (a 150k-token vocabulary) is ~2.5 MiB, and a safetensors checkpoint.
    w = gguf.GGUFWriter(os.path.join(ROOT, "m.gguf"), "llama")
    w.add_token_list([f"token-{i:06d}" for i in range(150000)])
    w.add_tensor("big", np.zeros((1024, 15360), np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    save_file({"w": np.zeros((512, 512), np.float32)}, os.path.join(ROOT, "model.safetensors"))
    json.dump({"architectures": ["LlamaForCausalLM"], "hidden_size": 512}, open(os.path.join(ROOT, "config.json"), "w"))
    local = json.loads(subprocess.run([sys.argv[1], "inspect", "--json", os.path.join(ROOT, "m.gguf")],
                                      capture_output=True, text=True).stdout)["models"][0]

    rc, m, _ = inspect(f"{base}/m.gguf")
    check(f"remote GGUF read (exit {rc})", rc == 0)
    check("same as the local read", m["parameters"] == local["parameters"] and m["tensors"] == local["tensors"]
          and m["vocabulary"] == 150000)
    check(f"one request ({m['remote']['requests']})", m["remote"]["requests"] == 1)
    size = os.path.getsize(os.path.join(ROOT, "m.gguf"))
    check(f"only the header bytes ({m['remote']['bytes']} of {size})", m["remote"]["bytes"] <= 4 << 20 < size)

    rc, m, _ = inspect(f"{base}/redirect/m.gguf")
    check("redirect followed, counted", rc == 0 and m["remote"]["requests"] == 2)

    rc, m, _ = inspect(f"{base}/norange/m.gguf")
    check(f"server without Range: header read, transfer cut ({m['remote']['bytes']} bytes)",
          rc == 0 and m["remote"]["bytes"] <= 4 << 20)

    rc, m, _ = inspect(f"{base}/gated/m.gguf")
    check("gated without a token: a clear error", rc == 1 and "HF_TOKEN" in m["shards"][0]["error"])
    env = dict(os.environ, HF_TOKEN="sekret")
    rc, m, _ = inspect(f"{base}/gated/m.gguf", env)
    check("HF_TOKEN is not sent to a host that is not the hub", rc == 1)
    env = dict(os.environ, HF_TOKEN="sekret", HF_ENDPOINT=base + "/")
    rc, m, _ = inspect(f"{base}/gated/m.gguf", env)
    check("gated with HF_TOKEN, the server being HF_ENDPOINT: read", rc == 0)
    rc, m, _ = inspect(f"{base}/gated/m.gguf", dict(os.environ, MLGATE_TOKEN="sekret"))
    check("MLGATE_TOKEN goes to the URL given", rc == 0)
    out = subprocess.run([sys.argv[1], "inspect", f"{base}/gated/m.gguf"], capture_output=True, text=True, env=env)
    check("the token is never printed", "sekret" not in out.stdout + out.stderr)

    rc, m, t = inspect(f"{base}/endless.gguf")
    check(f"endless server: an error, bounded ({t:.1f} s, {m['remote']['bytes']} bytes)",
          rc == 1 and m["remote"]["bytes"] <= 2 * (48 << 20))
    rc, m, t = inspect(f"{base}/declares.gguf")
    check(f"a header declaring 2^19 tensors over zeros: refused from the first read "
          f"({m['remote']['requests']} request, {m['remote']['bytes']} bytes)",
          rc == 1 and m["remote"]["requests"] == 1 and m["remote"]["bytes"] <= 4 << 20
          and "dimensions" in m["shards"][0]["error"])

    rc, m, t = inspect(f"{base}/drip.gguf")
    check(f"1 byte/s drip: gives up ({t:.1f} s)", rc == 1 and t < 40)

    rc, m, _ = inspect(f"{base}/model.safetensors")
    check("remote safetensors with its config.json", rc == 0 and m["parameters"] == 512 * 512
          and m["architecture"] == "LlamaForCausalLM")
    check(f"safetensors: header + config in 2 requests ({m['remote']['requests']})", m["remote"]["requests"] == 2)

    rc, m, _ = inspect(f"{base}/missing.gguf")
    check("404: an error", rc == 1 and "404" in m["shards"][0]["error"])
    srv.shutdown()
    shutil.rmtree(ROOT)
    return result()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""hub_test.py - `mlgate fit hf://ORG/REPO` against a fake hub on loopback: the tree API (paginated by
Link headers, as huggingface.co does) and /ORG/REPO/resolve/REV/PATH, which redirects the GGUF files to
a second server (a CDN on another origin, as the hub's LFS files are), both answering Range requests.

The repository is shaped like a real one: twelve quantizations of one Llama-2-7B-shaped model, a Q8_0
split in three shards, an mmproj projector, a file whose header is broken, README.md and .gitattributes.
The GGUF headers are written with llama.cpp's `gguf` package; the tensor data behind them is served as
zeros of the right length (only headers are ever read). Needs gguf + numpy (77 if not).

usage: hub_test.py MLGATE
"""
import http.server, json, os, re, shutil, socketserver, subprocess, sys, tempfile, threading, time, urllib.parse

try:
    import numpy as np
    import gguf
    from safetensors.numpy import save_file
except ImportError:
    print("gguf/safetensors/numpy not installed: skipped")
    sys.exit(77)

from checks import check, result

MLGATE = sys.argv[1]
Q = gguf.GGMLQuantizationType
ROOT = tempfile.mkdtemp(prefix="mlgate-hub-")
REPO = "TheOrg/Llama-2-7B-GGUF"
STREPO = "TheOrg/tiny-llama-st"
PAGE = 7   # tree entries per page: the listing takes several pages

# name -> (general.file_type, type of most weights, type of ffn_down and attn_v, type of output)
QUANTS = {
    "Q2_K": (10, Q.Q2_K, Q.Q3_K, Q.Q6_K), "Q3_K_S": (11, Q.Q3_K, Q.Q3_K, Q.Q6_K),
    "Q3_K_M": (12, Q.Q3_K, Q.Q4_K, Q.Q6_K), "Q3_K_L": (13, Q.Q3_K, Q.Q5_K, Q.Q6_K),
    "IQ4_XS": (30, Q.IQ4_XS, Q.IQ4_XS, Q.Q6_K), "Q4_0": (2, Q.Q4_0, Q.Q4_0, Q.Q6_K),
    "Q4_K_S": (14, Q.Q4_K, Q.Q4_K, Q.Q6_K), "Q4_K_M": (15, Q.Q4_K, Q.Q6_K, Q.Q6_K),
    "Q5_K_S": (16, Q.Q5_K, Q.Q5_K, Q.Q6_K), "Q5_K_M": (17, Q.Q5_K, Q.Q6_K, Q.Q6_K),
    "Q6_K": (18, Q.Q6_K, Q.Q6_K, Q.Q6_K), "F16": (1, Q.F16, Q.F16, Q.F16),
}
N_LAYER, EMB, FF, VOCAB = 32, 4096, 11008, 32000


def nbytes(qtype, ne):
    blck, size = gguf.GGML_QUANT_SIZES[qtype]
    n = 1
    for d in ne:
        n *= d
    return n // blck * size


def tensors(ftype):
    """(name, numpy shape, ggml type) of the whole model, in llama.cpp's order."""
    _, main, big, out = QUANTS[ftype] if ftype in QUANTS else (7, Q.Q8_0, Q.Q8_0, Q.Q8_0)
    t = [("token_embd.weight", (VOCAB, EMB), main)]
    for i in range(N_LAYER):
        t += [(f"blk.{i}.attn_norm.weight", (EMB,), Q.F32), (f"blk.{i}.attn_q.weight", (EMB, EMB), main),
              (f"blk.{i}.attn_k.weight", (EMB, EMB), main), (f"blk.{i}.attn_v.weight", (EMB, EMB), big),
              (f"blk.{i}.attn_output.weight", (EMB, EMB), main), (f"blk.{i}.ffn_norm.weight", (EMB,), Q.F32),
              (f"blk.{i}.ffn_gate.weight", (FF, EMB), main), (f"blk.{i}.ffn_up.weight", (FF, EMB), main),
              (f"blk.{i}.ffn_down.weight", (EMB, FF), big)]
    return t + [("output_norm.weight", (EMB,), Q.F32), ("output.weight", (VOCAB, EMB), out)]


def header(path, ftype_id, ts, split=None, arch="llama"):
    """Writes the GGUF header of tensors ts alone; returns the file's whole size (header + data)."""
    w = gguf.GGUFWriter(path, arch)
    w.add_name("Llama 2 7B (test)")
    if arch == "llama":
        w.add_context_length(4096)
        w.add_embedding_length(EMB)
        w.add_block_count(N_LAYER)
        w.add_feed_forward_length(FF)
        w.add_head_count(32)
        w.add_head_count_kv(32)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_tokenizer_model("llama")
        w.add_token_list([f"t{i}" for i in range(VOCAB)])
    w.add_file_type(ftype_id)
    if split:
        w.add_uint16("split.no", split[0])
        w.add_uint16("split.count", split[1])
        w.add_int32("split.tensors.count", split[2])
    data = 0
    for name, shape, qt in ts:
        n = nbytes(qt, shape)
        w.add_tensor_info(name, shape, np.dtype(np.float32), n, raw_dtype=qt)
        data += (n + 31) // 32 * 32
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return (os.path.getsize(path) + 31) // 32 * 32 + data


# ---- the repository -----------------------------------------------------------------------------
files = {}   # repo -> {path in repo: (local file, whole size, lfs)}


def add(repo, name, local, size=None, lfs=True):
    files.setdefault(repo, {})[name] = (local, size if size is not None else os.path.getsize(local), lfs)


d = os.path.join(ROOT, "gguf")
os.makedirs(d)
for q, (ft, *_rest) in QUANTS.items():
    p = os.path.join(d, f"llama-2-7b.{q}.gguf")
    add(REPO, f"llama-2-7b.{q}.gguf", p, header(p, ft, tensors(q)))
whole = tensors("Q8_0")
parts = [whole[:100], whole[100:200], whole[200:]]
for i, part in enumerate(parts):
    name = f"Q8_0/llama-2-7b.Q8_0-{i + 1:05d}-of-00003.gguf"
    p = os.path.join(d, f"q8-{i + 1}.gguf")
    add(REPO, name, p, header(p, 7, part, split=(i, 3, len(whole))))
p = os.path.join(d, "mmproj.gguf")
add(REPO, "mmproj-model-f16.gguf", p, header(p, 1, [("v.patch_embd.weight", (1024, 588), Q.F16)], arch="clip"))
p = os.path.join(d, "broken.gguf")
with open(p, "wb") as f:   # a header that lies: 2^40 metadata entries in 64 bytes
    f.write(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1 << 40).to_bytes(8, "little") +
            bytes(40))
add(REPO, "llama-2-7b.Q4_1.gguf", p, 4 << 30)
for n, text in (("README.md", "# Llama 2 7B GGUF\n"), (".gitattributes", "*.gguf filter=lfs diff=lfs\n")):
    p = os.path.join(d, n)
    open(p, "w").write(text)
    add(REPO, n, p, lfs=False)

# A MoE repository (Qwen3-30B-A3B-shaped, bench/moe-fit.py): bigger quants keep experts in RAM.
MOEREPO = "TheOrg/Qwen3-30B-A3B-GGUF"
M_L, M_H, M_HEADS, M_KV, M_HD, M_E, M_FF, M_VOCAB = 48, 2048, 32, 4, 128, 128, 768, 151936


def moe_header(path, ftype_id, exps):
    w = gguf.GGUFWriter(path, "qwen3moe")
    w.add_block_count(M_L)
    w.add_embedding_length(M_H)
    w.add_context_length(40960)
    w.add_head_count(M_HEADS)
    w.add_head_count_kv(M_KV)
    w.add_key_length(M_HD)
    w.add_value_length(M_HD)
    w.add_expert_count(M_E)
    w.add_expert_used_count(8)
    w.add_expert_feed_forward_length(M_FF)
    w.add_token_list([f"t{i}" for i in range(M_VOCAB)])
    w.add_file_type(ftype_id)
    ts = [("token_embd.weight", (M_VOCAB, M_H), Q.Q4_K), ("output_norm.weight", (M_H,), Q.F32),
          ("output.weight", (M_VOCAB, M_H), Q.Q6_K)]
    for i in range(M_L):
        b = f"blk.{i}."
        ts += [(b + "attn_norm.weight", (M_H,), Q.F32), (b + "attn_q.weight", (M_HEADS * M_HD, M_H), Q.Q8_0),
               (b + "attn_k.weight", (M_KV * M_HD, M_H), Q.Q8_0), (b + "attn_v.weight", (M_KV * M_HD, M_H), Q.Q8_0),
               (b + "attn_output.weight", (M_H, M_HEADS * M_HD), Q.Q8_0), (b + "attn_q_norm.weight", (M_HD,), Q.F32),
               (b + "attn_k_norm.weight", (M_HD,), Q.F32), (b + "ffn_norm.weight", (M_H,), Q.F32),
               (b + "ffn_gate_inp.weight", (M_E, M_H), Q.F32), (b + "ffn_gate_exps.weight", (M_E, M_FF, M_H), exps),
               (b + "ffn_up_exps.weight", (M_E, M_FF, M_H), exps), (b + "ffn_down_exps.weight", (M_E, M_H, M_FF), exps)]
    data = 0
    for name, shape, qt in ts:
        n = nbytes(qt, shape)
        w.add_tensor_info(name, shape, np.dtype(np.float32), n, raw_dtype=qt)
        data += (n + 31) // 32 * 32
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return (os.path.getsize(path) + 31) // 32 * 32 + data


for q, ft, t in (("Q4_K_M", 15, Q.Q4_K), ("Q6_K", 18, Q.Q6_K), ("Q8_0", 7, Q.Q8_0)):
    p = os.path.join(d, f"moe-{q}.gguf")
    add(MOEREPO, f"Qwen3-30B-A3B-{q}.gguf", p, moe_header(p, ft, t))

# A repository whose CDN stalls on one file: the deadline makes it an error row, the other reports.
SLOWREPO = "TheOrg/Slow-GGUF"
add(SLOWREPO, "llama-2-7b.Q4_K_M.gguf", *files[REPO]["llama-2-7b.Q4_K_M.gguf"][:2])
add(SLOWREPO, "llama-2-7b.Q8_0.gguf", *files[REPO]["llama-2-7b.Q6_K.gguf"][:2])
STALL = "llama-2-7b.Q8_0.gguf"

s = os.path.join(ROOT, "st")
os.makedirs(s)
save_file({"model.embed_tokens.weight": np.zeros((1000, 256), np.float16)}, os.path.join(s, "a.safetensors"))
save_file({"lm_head.weight": np.zeros((1000, 256), np.float16)}, os.path.join(s, "b.safetensors"))
json.dump({"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                          "lm_head.weight": "model-00002-of-00002.safetensors"}},
          open(os.path.join(s, "index.json"), "w"))
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 2048,
           "intermediate_size": 512, "vocab_size": 1000, "torch_dtype": "float16"},
          open(os.path.join(s, "config.json"), "w"))
add(STREPO, "config.json", os.path.join(s, "config.json"), lfs=False)
add(STREPO, "model.safetensors.index.json", os.path.join(s, "index.json"), lfs=False)
add(STREPO, "model-00001-of-00002.safetensors", os.path.join(s, "a.safetensors"))
add(STREPO, "model-00002-of-00002.safetensors", os.path.join(s, "b.safetensors"))

# ---- the servers --------------------------------------------------------------------------------
seen = {"hub_auth": set(), "cdn_auth": set(), "ranges": {}, "tree_pages": 0, "revisions": set(), "bytes": {}}
lock = threading.Lock()
REVISIONS = {"main", "refs%2Fpr%2F1"}   # the hub accepts a PR ref only percent-encoded, as huggingface.co


def serve_range(h, local, size):
    """Bytes of the file: its header from disk, then zeros to `size`."""
    head = open(local, "rb").read()
    rng = h.headers.get("Range")
    a, b = 0, size - 1
    if rng:
        x, y = rng.split("=")[1].split("-")
        a, b = int(x), min(int(y or size - 1), size - 1)
    body = (head[a:b + 1] + bytes(max(0, b + 1 - max(a, len(head)))))[:b + 1 - a]
    h.send_response(206 if rng else 200)
    if rng:
        h.send_header("Content-Range", f"bytes {a}-{b}/{size}")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if h.command == "GET":
        h.wfile.write(body)
    with lock:
        seen["bytes"][local] = seen["bytes"].get(local, 0) + len(body)


class Hub(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        with lock:
            seen["hub_auth"].add(self.headers.get("Authorization"))
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        parts = u.path.split("/")
        if u.path.startswith("/api/models/"):   # /api/models/ORG/REPO/tree/REV
            repo, rev = "/".join(parts[3:5]), "/".join(parts[6:])
            with lock:
                seen["revisions"].add(rev)
            if repo not in files or rev not in REVISIONS or parts[5] != "tree" or q.get("recursive") != ["true"]:
                return self.reply(404, b'{"error":"Repository not found"}')
            entries = []
            for name, (local, size, lfs) in sorted(files[repo].items()):
                e = {"type": "file", "oid": "%040x" % (hash(name) & (1 << 160) - 1), "size": size, "path": name}
                if lfs:
                    e["lfs"] = {"oid": "%064x" % (hash(name + "lfs") & (1 << 256) - 1), "size": size, "pointerSize": 134}
                entries.append(e)
            dirs = sorted({n.rsplit("/", 1)[0] for n in files[repo] if "/" in n})
            entries += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": x} for x in dirs]
            start = int(q.get("cursor", ["0"])[0])
            page = entries[start:start + PAGE]
            with lock:
                seen["tree_pages"] += 1
            nxt = None
            if start + PAGE < len(entries):
                nxt = f"{HUB}/api/models/{repo}/tree/{rev}?recursive=true&cursor={start + PAGE}"
            return self.reply(200, json.dumps(page).encode(), nxt)
        # /ORG/REPO/resolve/REV/PATH
        if len(parts) < 6 or parts[3] != "resolve":
            return self.reply(404, b"not found")
        repo, name = "/".join(parts[1:3]), urllib.parse.unquote("/".join(parts[5:]))
        if repo not in files or name not in files[repo] or parts[4] not in REVISIONS:
            return self.reply(404, b"Entry not found")
        local, size, lfs = files[repo][name]
        if lfs:   # to the CDN, another origin: the token must not follow
            self.send_response(302)
            self.send_header("Location", f"{CDN}/blob/{urllib.parse.quote(repo + '/' + name)}?X-Amz-Signature=abc")
            self.end_headers()
            return
        serve_range(self, local, size)

    def reply(self, code, body, nxt=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if nxt:
            self.send_header("Link", f'<{nxt}>; rel="next"')
        self.end_headers()
        self.wfile.write(body)


class Cdn(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        key = urllib.parse.unquote(u.path[len("/blob/"):])
        repo, name = "/".join(key.split("/")[:2]), "/".join(key.split("/")[2:])
        with lock:
            seen["cdn_auth"].add(self.headers.get("Authorization"))
            seen["ranges"][name] = seen["ranges"].get(name, 0) + 1
        if repo not in files or name not in files[repo]:
            self.send_response(404)
            self.end_headers()
            return
        if repo == SLOWREPO and name == STALL:
            time.sleep(20)   # longer than the --deadline given; the client gives up first
            return
        local, size, _ = files[repo][name]
        serve_range(self, local, size)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


hub, cdn = Server(("127.0.0.1", 0), Hub), Server(("127.0.0.1", 0), Cdn)
HUB, CDN = f"http://127.0.0.1:{hub.server_port}", f"http://127.0.0.1:{cdn.server_port}"
for srv in (hub, cdn):
    threading.Thread(target=srv.serve_forever, daemon=True).start()
CACHE = os.path.join(ROOT, "cache")
ENV = dict(os.environ, HF_ENDPOINT=HUB, HF_TOKEN="sekret", XDG_CACHE_HOME=CACHE)
ENV.pop("MLGATE_TOKEN", None)
GPU = ["--vram", "8G", "-c", "4096"]


def fit(target, *extra, env=ENV):
    out = subprocess.run([MLGATE, "fit", *GPU, *extra, target], capture_output=True, text=True, env=env, timeout=300)
    return out.returncode, out.stdout, out.stderr


def ranges():
    with lock:
        n = sum(seen["ranges"].values())
        seen["ranges"].clear()
    return n


mg_timeout = "deadline passed"   # mg_strerror(MG_E_TIMEOUT)
PLACE = {0: "full", 1: "moe", 2: "partial", 3: "cpu", 4: "none", 5: "error"}
RANK = {v: k for k, v in PLACE.items()}


def merit(r):
    """docs/models.md's order, written again from the words."""
    p = r["placement"]
    if p == "error":
        return (RANK[p], 0, 0, 0, 0, r["file"])
    key = {"moe": r.get("n_cpu_moe", 0), "partial": -r.get("ngl", 0), "cpu": -int(r.get("fits_ram", 0)),
           "none": -r.get("max_context", 0)}.get(p, 0)
    nothing = p == "none" or (p == "cpu" and not r["fits_ram"])   # nearest to fitting first: the smaller
    return (RANK[p], key, r["size"] if nothing else 0, -r["bpw"], -r["max_context"] if p == "full" else 0,
            r["size"], r["file"])


try:
    # ---- the table, first run: every header over HTTP ----
    rc, out, err = fit(f"hf://{REPO}", "--json")
    j = json.loads(out)
    rows = j["candidates"]
    n_first = ranges()
    names = [r["file"] for r in rows]
    check(f"--json parses: {len(rows)} candidates (12 quants, the split set, the broken file)", len(rows) == 14)
    check("the split Q8_0 is one row of 3 shards",
          [r["shards"] for r in rows if r["file"].startswith("Q8_0/")] == [3] and
          not any("00002-of" in n or "00003-of" in n for n in names))
    later = [seen["bytes"].get(os.path.join(d, f"q8-{i}.gguf"), 0) for i in (2, 3)]
    check(f"a split set's later shards are read with a small first request ({later} bytes)",
          all(0 < b <= 512 << 10 for b in later) and seen["bytes"][os.path.join(d, "q8-1.gguf")] > 512 << 10)
    check("mmproj is listed apart, not a candidate",
          j["mmproj"] == ["mmproj-model-f16.gguf"] and not any("mmproj" in n for n in names))
    check("README and .gitattributes are not candidates", not any(n.endswith((".md", ".gitattributes")) for n in names))
    check(f"every file of the tree listed, across pages ({seen['tree_pages']} pages)",
          j["files"] == len(files[REPO]) and seen["tree_pages"] >= 3)
    quants = {r["file"]: r["quant"] for r in rows}
    check("quantization from the file name", quants["llama-2-7b.Q4_K_M.gguf"] == "Q4_K_M" and
          quants["Q8_0/llama-2-7b.Q8_0-00001-of-00003.gguf"] == "Q8_0" and quants["llama-2-7b.F16.gguf"] == "F16")
    check("general.file_type read", all(r["file_type"] == r["quant"] for r in rows
                                        if r["placement"] != "error" and r["quant"] != "F16"))
    bad = [r for r in rows if r["file"] == "llama-2-7b.Q4_1.gguf"]
    check("the broken header is an error row, last", len(bad) == 1 and bad[0]["placement"] == "error" and
          rows[-1] is bad[0] and bad[0]["error"]["message"])
    good = [r for r in rows if r["placement"] != "error"]
    check("the others still report", len(good) == 13 and all(r["max_context"] > 0 or r["placement"] == "none" for r in good))
    places = {r["placement"] for r in good}
    check(f"8 GiB at context 4096 makes a spread of placements ({sorted(places)})", {"full", "partial"} <= places)
    check("rows in the documented order", [merit(r) for r in rows] == sorted(merit(r) for r in rows))
    full = [r for r in rows if r["placement"] == "full"]
    check(f"best first: the highest bpw that fits fully ({rows[0]['quant']})",
          rows[0]["placement"] == "full" and rows[0]["bpw"] == max(r["bpw"] for r in full) and j["fits"] and rc == 0)

    # each row is what `mlgate fit` says of that one file (the existing path: a resolve URL)
    same = []
    for r in good:
        rc1, o1, _ = fit(f"{HUB}/{REPO}/resolve/main/{r['file']}", "--json", "--no-cache")
        one = json.loads(o1)
        same.append(one["ngl"] == r["ngl"] and one["max_context"] == r["max_context"] and
                    one["fits_fully_on_gpus"] == r["fits_fully_on_gpus"] and one["n_cpu_moe"] == r["n_cpu_moe"])
    check(f"each row equals `mlgate fit` of its file ({sum(same)} of {len(same)})", all(same))
    ranges()

    # ---- HF_TOKEN and HF_ENDPOINT ----
    check("HF_TOKEN sent to the hub", "Bearer sekret" in seen["hub_auth"])
    check("and never to the CDN the hub redirects to", seen["cdn_auth"] == {None})

    # ---- the cache ----
    rc, out2, _ = fit(f"hf://{REPO}", "--json")
    j2 = json.loads(out2)
    n_second = ranges()
    check(f"second run: headers from the cache ({n_first} range requests, then {n_second})",
          n_second < n_first and n_second <= 1 and j2["remote"]["cache_hits"] >= 15)
    check("second run: the same table", [(r["file"], r["placement"], r.get("max_context")) for r in j2["candidates"]] ==
          [(r["file"], r["placement"], r.get("max_context")) for r in rows])
    entries = [os.path.join(dp, f) for dp, _, fs in os.walk(CACHE) for f in fs if f.endswith(".hdr")]
    check(f"the cache holds one entry per header read ({len(entries)})", len(entries) == 15)
    # damaged entries: one cut short, one with a flipped byte, one emptied
    with open(entries[0], "r+b") as f:
        f.truncate(100)
    with open(entries[1], "r+b") as f:
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0xFF]))
    open(entries[2], "wb").close()
    rc, out3, _ = fit(f"hf://{REPO}", "--json")
    j3 = json.loads(out3)
    n_third = ranges()
    check(f"damaged cache entries are read again, not fatal ({n_third} range requests)",
          rc == 0 and 3 <= n_third < n_first and
          [(r["file"], r["placement"]) for r in j3["candidates"]] == [(r["file"], r["placement"]) for r in rows])
    rc, _, _ = fit(f"hf://{REPO}", "--json", "--no-cache")
    check("--no-cache reads every header again", ranges() >= n_first - 1)

    # ---- the text table, the URL form, a PR revision ----
    rc, out, _ = fit(f"{HUB}/{REPO}")
    check("the repository's page URL is a repository", rc == 0 and "QUANT" in out and "Q4_K_M" in out and
          "projector (not a candidate): mmproj-model-f16.gguf" in out)
    lines = [l for l in out.splitlines() if l.startswith("  ") and "llama-2-7b" in l]
    shown = [re.sub(r" \(\d+ shards\)$", "", l).split()[-1] for l in lines if " error " not in l]
    check("the table's rows in the JSON's order", shown == [r["file"] for r in good])
    check("the split set's row says its shards", any(l.endswith("(3 shards)") for l in lines))
    check("the token is never printed", "sekret" not in out)
    rc, out, _ = fit(f"hf://{REPO}@refs/pr/1", "--json")
    check("a PR revision is percent-encoded in the API path", rc == 0 and "refs%2Fpr%2F1" in seen["revisions"])
    rc, out, _ = fit(f"{HUB}/{REPO}/resolve/main/llama-2-7b.Q4_K_M.gguf", "--json")
    check("a file URL keeps today's behaviour (one model)", rc == 0 and "candidates" not in json.loads(out))

    # ---- errors ----
    rc, out, err = fit("hf://TheOrg/no-such-repo", "--json")
    e = json.loads(out)
    check(f"a 404 repository: exit 1 and a clear error ({e['error']['message'][:60]}...)",
          rc == 1 and e["error"]["code"] and "no such repository" in e["error"]["message"] and "HF_TOKEN" in err)
    rc, _, err = fit("hf://not-a-repo")
    check("hf:// without ORG/REPO: usage error", rc == 2 and "hf://ORG/REPO" in err)
    env = dict(ENV, HF_ENDPOINT=CDN)   # a "hub" that has no API there
    rc, _, err = fit(f"hf://{REPO}", env=env)
    check("HF_ENDPOINT is where the API is asked (another one: not found)", rc == 1 and CDN in err)

    # ---- MoE: experts in RAM, fewest blocks first ----
    rc, out, _ = fit(f"hf://{MOEREPO}", "--json", "--vram", "24G", "--ram", "64G")
    mrows = json.loads(out)["candidates"]
    mplaces = [(r["quant"], r["placement"], r["n_cpu_moe"]) for r in mrows]
    check(f"MoE repository: Q4_K_M fully, the bigger ones with experts in RAM, fewer blocks first ({mplaces})",
          [r["placement"] for r in mrows] == ["full", "moe", "moe"] and mrows[0]["quant"] == "Q4_K_M" and
          0 < mrows[1]["n_cpu_moe"] < mrows[2]["n_cpu_moe"] and rc == 0)
    same = []
    for r in mrows:
        _, o1, _ = fit(f"{HUB}/{MOEREPO}/resolve/main/{r['file']}", "--json", "--vram", "24G", "--ram", "64G")
        one = json.loads(o1)
        same.append((one["ngl"], one["n_cpu_moe"], one["max_context"]) == (r["ngl"], r["n_cpu_moe"], r["max_context"]))
    check("MoE rows equal `mlgate fit` of each file", all(same))
    rc, out, _ = fit(f"hf://{MOEREPO}", "--vram", "24G", "--ram", "64G")
    check("the table says --n-cpu-moe", "MoE experts in RAM --n-cpu-moe" in out)

    # ---- nothing fits: the smallest file first (the nearest to fitting), still exit 1 ----
    rc, out, _ = fit(f"hf://{MOEREPO}", "--json", "--vram", "1G", "--ram", "2G")
    nrows = json.loads(out)["candidates"]
    check(f"nothing fits: 'none' rows, smallest first, exit 1 ({[(r['quant'], r['placement']) for r in nrows]})",
          rc == 1 and [r["placement"] for r in nrows] == ["none"] * 3 and
          [r["quant"] for r in nrows] == ["Q4_K_M", "Q6_K", "Q8_0"] and not json.loads(out)["fits"])
    cpu = subprocess.run([MLGATE, "fit", "--json", "--ram", "10G", "-c", "4096", f"hf://{REPO}"], capture_output=True,
                         text=True, timeout=300, env=dict(ENV, MLGATE_NVML="/nonexistent", MLGATE_CUDA="/nonexistent"))
    rc, crows = cpu.returncode, json.loads(cpu.stdout)["candidates"]   # no GPU with memory: a CPU-only run
    check(f"CPU only: 'cpu' rows, one beyond RAM ({sorted({(r['placement'], r.get('fits_ram')) for r in crows if r['placement'] != 'error'})})",
          {(r["placement"], r["fits_ram"]) for r in crows if r["placement"] != "error"} == {("cpu", True), ("cpu", False)})
    check("rows in the documented order, CPU only", rc == 1 and [merit(r) for r in crows] == sorted(merit(r) for r in crows))

    # ---- a stalled candidate: an error row at the deadline, the other still reports ----
    rc, out, _ = fit(f"hf://{SLOWREPO}", "--json", "--no-cache", "--deadline", "4")
    srows = {r["file"]: r for r in json.loads(out)["candidates"]}
    check("a candidate the CDN stalls on is an error row at --deadline; the other reports",
          srows[STALL]["placement"] == "error" and srows[STALL]["error"]["code"] == mg_timeout and
          srows["llama-2-7b.Q4_K_M.gguf"]["placement"] == "full" and rc == 0)
    rc, _, err = fit(f"hf://{SLOWREPO}", "--deadline", "soon")
    check("--deadline wants seconds", rc == 2 and "--deadline" in err)

    # ---- a safetensors repository ----
    rc, out, _ = fit(f"hf://{STREPO}", "--json")
    st = json.loads(out)
    check("a safetensors repository: one row from config.json + the index", rc == 0 and st["format"] == "safetensors"
          and len(st["candidates"]) == 1 and st["candidates"][0]["shards"] == 2 and
          st["candidates"][0]["placement"] == "full" and st["candidates"][0]["quant"] == "float16")
finally:
    hub.shutdown()
    cdn.shutdown()
    shutil.rmtree(ROOT, ignore_errors=True)
sys.exit(result())

#!/usr/bin/env python3
"""lock-speed.py - how long `mlgate lock` (and `mlgate drift` after it) takes on a matrix of 5 models and a Python
environment, warm: the issue's target is under 2 s here, without --hash-models.

The state: 5 GGUF files with real header shapes (llama metadata and a 32,000- or 128,256-token vocabulary, which is
what a header digest reads; every layer's tensors; the data sections sparse, so the files cost little disk), and a
venv whose site-packages holds 400 dist-infos (METADATA and RECORD each), a CUDA torch (torch/lib with the committed
nvcc fixtures) and every fixture library again under bin/. The matrix names the 5 files and the venv and bin/ as
binaries:, against --gpu 'RTX 5090,H100' (no GPU needed). Standard library only: GGUF v3 is written here with struct.

Prints the median/min/max wall time of RUNS runs of each (after 2 warm-ups), the lock's size and what it holds.

usage: python3 bench/lock-speed.py MLGATE [RUNS]      (RUNS default 10)
"""
import json, os, shutil, statistics, struct, subprocess, sys, tempfile, time

U32, F32V, STR, ARR = 4, 6, 8, 9
F16 = 1
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")

# name: (layers, n_embd, n_ff, heads, kv heads, vocab)
MODELS = {
    "llama-3.1-8b": (32, 4096, 14336, 32, 8, 128256),
    "mistral-7b": (32, 4096, 14336, 32, 8, 32768),
    "llama-3.2-3b": (28, 3072, 8192, 24, 8, 128256),
    "llama-3.2-1b": (16, 2048, 8192, 32, 8, 128256),
    "tinyllama-1.1b": (22, 2048, 5632, 32, 4, 32000),
}


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gstr(key) + struct.pack("<I", vtype)
    if vtype == STR:
        return out + gstr(value)
    if vtype == U32:
        return out + struct.pack("<I", value)
    if vtype == F32V:
        return out + struct.pack("<f", value)
    etype, items = value   # an array of strings
    return out + struct.pack("<IQ", etype, len(items)) + b"".join(gstr(x) for x in items)


def gguf(path, shape):
    layers, embd, ff, heads, kvh, vocab = shape
    meta = [kv("general.architecture", STR, "llama"), kv("general.name", STR, os.path.basename(path)),
            kv("llama.block_count", U32, layers), kv("llama.embedding_length", U32, embd),
            kv("llama.feed_forward_length", U32, ff), kv("llama.attention.head_count", U32, heads),
            kv("llama.attention.head_count_kv", U32, kvh), kv("llama.context_length", U32, 8192),
            kv("llama.attention.layer_norm_rms_epsilon", F32V, 1e-5), kv("general.file_type", U32, 1),
            kv("tokenizer.ggml.model", STR, "llama"),
            kv("tokenizer.ggml.tokens", ARR, (STR, [f"tok{i}" for i in range(vocab)]))]
    tensors = [("token_embd.weight", (embd, vocab))]
    for i in range(layers):
        kvd = embd // heads * kvh
        tensors += [(f"blk.{i}.attn_q.weight", (embd, embd)), (f"blk.{i}.attn_k.weight", (embd, kvd)),
                    (f"blk.{i}.attn_v.weight", (embd, kvd)), (f"blk.{i}.attn_output.weight", (embd, embd)),
                    (f"blk.{i}.ffn_gate.weight", (embd, ff)), (f"blk.{i}.ffn_up.weight", (embd, ff)),
                    (f"blk.{i}.ffn_down.weight", (ff, embd))]
    tensors += [("output_norm.weight", (embd,)), ("output.weight", (embd, vocab))]
    info, off = [], 0
    for name, dims in tensors:
        info.append(gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) +
                    struct.pack("<IQ", F16, off))
        n = 2
        for d in dims:
            n *= d
        off += (n + 31) // 32 * 32
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + b"".join(meta) + b"".join(info)
    head += b"\0" * (-len(head) % 32)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(len(head) + off)   # sparse: the header is what lock reads
    return len(head)


def build(d):
    sp = f"{d}/venv/lib/python3.12/site-packages"
    os.makedirs(f"{sp}/torch/lib")
    os.makedirs(f"{d}/bin")
    libs = sorted(f for f in os.listdir(FIXTURES) if f.endswith((".so", ".o", ".cubin")))
    for f in libs:
        shutil.copy(f"{FIXTURES}/{f}", f"{d}/bin/{f}")
        shutil.copy(f"{FIXTURES}/{f}", f"{sp}/torch/lib/{f}")
    with open(f"{sp}/torch/version.py", "w") as f:
        f.write("__version__ = '2.9.1+cu128'\ncuda = '12.8'\n")
    dists = ["torch-2.9.1+cu128"] + [f"pkg{i:03d}-1.{i}.0" for i in range(399)]
    for name in dists:
        os.makedirs(f"{sp}/{name}.dist-info")
        with open(f"{sp}/{name}.dist-info/METADATA", "w") as f:
            f.write(f"Metadata-Version: 2.1\nName: {name.split('-')[0]}\nVersion: {name.split('-')[1]}\n")
        with open(f"{sp}/{name}.dist-info/RECORD", "w") as f:
            f.write(f"{name.split('-')[0]}/__init__.py,,\n")
    os.makedirs(f"{d}/models")
    header = 0
    lines = ["host:", "  gpus: RTX 5090,H100", "models:"]
    for i, (name, shape) in enumerate(MODELS.items()):
        header += gguf(f"{d}/models/{name}.gguf", shape)
        lines += [f"  - name: {name}", "    kind: llm", f"    endpoint: http://127.0.0.1:{8080 + i}/v1",
                  f"    file: {d}/models/{name}.gguf", f"    binaries: [{d}/venv, {d}/bin]"]
    with open(f"{d}/host.yaml", "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(libs), len(dists), header


def timed(cmd, runs):
    times = []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if p.returncode not in (0, 1):
            sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
        if i >= 2:   # two warm-ups: the page cache holds the files
            times.append(dt)
    return statistics.median(times), min(times), max(times)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    mlgate = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory() as d:
        nlibs, ndists, header = build(d)
        lock = f"{d}/mlgate.lock"
        med, lo, hi = timed([mlgate, "lock", f"{d}/host.yaml", "-o", lock], runs)
        with open(lock) as f:
            lk = json.load(f)
        size = os.path.getsize(lock)
        dmed, dlo, dhi = timed([mlgate, "drift", lock], runs)
        print(f"lock of 5 models (GGUF headers {header / 2**20:.1f} MiB in all) and a Python environment "
              f"({ndists} dist-infos, {nlibs} fixture libraries twice): {len(lk['binaries'])} binaries, "
              f"{sum(len(e['packages']) for e in lk['python'])} packages, {len(lk['models'])} model files; "
              f"lock file {size / 1024:.0f} KiB")
        print(f"  mlgate lock:  median {med:.3f} s (min {lo:.3f}, max {hi:.3f}) over {runs} warm runs "
              f"[target < 2 s: {'met' if med < 2 else 'MISSED'}]")
        print(f"  mlgate drift: median {dmed:.3f} s (min {dlo:.3f}, max {dhi:.3f})")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""plan-speed.py - how long `mlgate plan` takes on a 20-model matrix for two H100s (80 GiB each) in
which exactly one resident model does not fit, so plan runs its fix search (re-planning once per
resident). 17 models have a GGUF file with a real header shape: llama-style metadata, a 32k or
128k-token vocabulary (what dominates parsing a real header) and every layer's tensors in F16,
Q8_0 or Q4_K, sized like 1B to 8B models and two 70B ones. The data sections are sparse (truncate),
so the files cost a few MiB of disk. Standard library only: GGUF v3 is written here with struct.

Prints the median/min/max wall time of RUNS runs (after 2 warm-ups), the instruction count of one
run (perf stat, else callgrind, when available) and how often one run opens a GGUF (strace).

usage: python3 bench/plan-speed.py MLGATE [RUNS]      (RUNS default 20)
"""
import json, os, re, shutil, statistics, struct, subprocess, sys, tempfile, time

F32, F16, Q8_0, Q4_K = 0, 1, 8, 12
BLOCK = {F32: (1, 4), F16: (1, 2), Q8_0: (32, 34), Q4_K: (256, 144)}   # elements, bytes per block
TYPE = {"f16": F16, "q8_0": Q8_0, "q4_k": Q4_K}
FTYPE = {F16: 1, Q8_0: 7, Q4_K: 14}   # general.file_type: llama_ftype MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_Q4_K_S
# GGUF metadata value types
U32, I32, F32V, STR, ARR, U64 = 4, 5, 6, 8, 9, 10

# name: (layers, n_embd, n_ff, heads, kv heads, vocab, tied embeddings, context length)
SHAPES = {
    "llama-3.1-70b": (80, 8192, 28672, 64, 8, 128256, False, 131072),
    "llama-3.1-8b": (32, 4096, 14336, 32, 8, 128256, False, 131072),
    "mistral-7b": (32, 4096, 14336, 32, 8, 32768, False, 32768),
    "llama-2-7b": (32, 4096, 11008, 32, 32, 32000, False, 4096),
    "llama-3.2-3b": (28, 3072, 8192, 24, 8, 128256, True, 131072),
    "llama-3.2-1b": (16, 2048, 8192, 32, 8, 128256, True, 131072),
    "tinyllama-1.1b": (22, 2048, 5632, 32, 4, 32000, False, 2048),
}
# The matrix: name, shape (or declared memory), weight type (or kind), ctx, residency, pinned GPU. Pinned
# models go first (three 8Bs on GPU1), then the largest: the first 70B takes GPU0, the second finds no
# GPU with 38.6 GiB left - the one model that does not fit. The rest fit around them.
MODELS = [
    ("llama-8b-f16-a", "llama-3.1-8b", "f16", 8192, "resident", 1),
    ("llama-8b-f16-b", "llama-3.1-8b", "f16", 8192, "resident", 1),
    ("llama-8b-q8", "llama-3.1-8b", "q8_0", 8192, "resident", 1),
    ("llama-70b-chat", "llama-3.1-70b", "q4_k", 8192, "resident", None),
    ("llama-70b-code", "llama-3.1-70b", "q4_k", 4096, "resident", None),   # does not fit
    ("llama-8b-f16-c", "llama-3.1-8b", "f16", 8192, "resident", None),
    ("mistral-7b-q8", "mistral-7b", "q8_0", 4096, "resident", None),
    ("llama2-7b-q4", "llama-2-7b", "q4_k", 4096, "resident", None),
    ("llama-3b-f16", "llama-3.2-3b", "f16", 4096, "resident", None),
    ("llama-3b-q4", "llama-3.2-3b", "q4_k", 8192, "resident", None),
    ("llama-1b-f16", "llama-3.2-1b", "f16", 8192, "resident", None),
    ("llama-1b-q8", "llama-3.2-1b", "q8_0", 4096, "resident", None),
    ("tinyllama-q8", "tinyllama-1.1b", "q8_0", 2048, "resident", None),
    ("mistral-7b-q4", "mistral-7b", "q4_k", 4096, "on-demand", None),
    ("llama-3b-q8", "llama-3.2-3b", "q8_0", 8192, "on-demand", None),
    ("llama-1b-q4", "llama-3.2-1b", "q4_k", 8192, "on-demand", None),
    ("tinyllama-f16", "tinyllama-1.1b", "f16", 2048, "on-demand", None),
    ("whisper", "3G", "asr", 0, "resident", None),
    ("bge-m3", "1200M", "embedding", 0, "resident", None),
    ("kokoro", "800M", "tts", 0, "on-demand", None),
]


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gstr(key) + struct.pack("<I", vtype)
    if vtype == STR:
        return out + gstr(value)
    if vtype == ARR:
        etype, items = value
        out += struct.pack("<IQ", etype, len(items))
        if etype == STR:
            return out + b"".join(gstr(x) for x in items)
        return out + struct.pack("<%d%s" % (len(items), {I32: "i", F32V: "f"}[etype]), *items)
    return out + struct.pack({U32: "<I", U64: "<Q", F32V: "<f"}[vtype], value)


_vocab = {}


def vocab(n):
    """n distinct, word-like tokens ('Ġ' prefixes as in byte-level BPE): about 6 bytes each."""
    if n not in _vocab:
        toks = ["<unk>", "<s>", "</s>"]
        for i in range(3, n):
            w, j = "", i
            while j:
                w, j = "etaoinshrdlcumwfgypbvkjxqz"[j % 26] + w, j // 26
            toks.append(("Ġ" if i % 3 else "") + w)
        _vocab[n] = toks
    return _vocab[n]


def write_gguf(path, shape, wtype):
    n_layer, n_embd, n_ff, n_head, n_kv, n_vocab, tied, ctx_train = SHAPES[shape]
    head = n_embd // n_head
    t = TYPE[wtype]
    tensors = [("token_embd.weight", (n_embd, n_vocab), t)]
    for i in range(n_layer):
        b = f"blk.{i}."
        tensors += [(b + "attn_norm.weight", (n_embd,), F32), (b + "attn_q.weight", (n_embd, n_embd), t),
                    (b + "attn_k.weight", (n_embd, n_kv * head), t), (b + "attn_v.weight", (n_embd, n_kv * head), t),
                    (b + "attn_output.weight", (n_embd, n_embd), t), (b + "ffn_norm.weight", (n_embd,), F32),
                    (b + "ffn_gate.weight", (n_embd, n_ff), t), (b + "ffn_up.weight", (n_embd, n_ff), t),
                    (b + "ffn_down.weight", (n_ff, n_embd), t)]
    tensors.append(("output_norm.weight", (n_embd,), F32))
    if not tied:
        tensors.append(("output.weight", (n_embd, n_vocab), t))
    toks = vocab(n_vocab)
    a = "llama"
    kvs = [kv("general.architecture", STR, a), kv("general.name", STR, shape), kv("general.file_type", U32, FTYPE[t]),
           kv(a + ".block_count", U32, n_layer), kv(a + ".context_length", U32, ctx_train),
           kv(a + ".embedding_length", U32, n_embd), kv(a + ".feed_forward_length", U32, n_ff),
           kv(a + ".attention.head_count", U32, n_head), kv(a + ".attention.head_count_kv", U32, n_kv),
           kv(a + ".rope.dimension_count", U32, head), kv(a + ".rope.freq_base", F32V, 500000.0),
           kv(a + ".attention.layer_norm_rms_epsilon", F32V, 1e-5), kv(a + ".vocab_size", U32, n_vocab),
           kv("tokenizer.ggml.model", STR, "gpt2" if n_vocab > 100000 else "llama"),
           kv("tokenizer.ggml.tokens", ARR, (STR, toks)),
           kv("tokenizer.ggml.token_type", ARR, (I32, [3 if i < 3 else 1 for i in range(n_vocab)])),
           kv("tokenizer.ggml.bos_token_id", U32, 1), kv("tokenizer.ggml.eos_token_id", U32, 2)]
    if n_vocab < 100000:   # SentencePiece vocabularies carry scores as well
        kvs.append(kv("tokenizer.ggml.scores", ARR, (F32V, [-float(i) for i in range(n_vocab)])))
    infos, offset = [], 0
    for name, ne, ty in tensors:
        elems = 1
        for d in ne:
            elems *= d
        blck, size = BLOCK[ty]
        infos.append(gstr(name) + struct.pack("<I%dQ" % len(ne), len(ne), *ne) + struct.pack("<IQ", ty, offset))
        offset += (elems // blck * size + 31) // 32 * 32
    head_bytes = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head_bytes += b"\0" * (-len(head_bytes) % 32)
    with open(path, "wb") as f:
        f.write(head_bytes)
        f.truncate(len(head_bytes) + offset)   # the data section: a hole


def write_matrix(d):
    lines = ["# plan-speed.py: 2x H100, 20 models, one resident does not fit", "host:", "  gpus: H100, H100",
             "models:"]
    for name, src, wtype, ctx, res, gpu in MODELS:
        lines += [f"  - name: {name}", "    kind: " + ("llm" if wtype in TYPE else wtype),
                  "    endpoint: http://127.0.0.1:9/v1", f"    residency: {res}"]
        if gpu is not None:
            lines.append(f"    gpu: {gpu}")
        if wtype in TYPE:
            path = os.path.join(d, name + ".gguf")
            write_gguf(path, src, wtype)
            lines += [f"    file: {path}", f"    ctx: {ctx}"]
        else:
            lines.append(f"    memory: {src}")
    path = os.path.join(d, "matrix.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def fail(msg):
    print("plan-speed: " + msg, file=sys.stderr)
    sys.exit(1)


def instructions(cmd, d):
    """(count, how) for one run, or (None, why not)."""
    if shutil.which("perf"):
        r = subprocess.run(["perf", "stat", "-x,", "-e", "instructions"] + cmd, capture_output=True, text=True)
        for line in r.stderr.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[2].startswith("instructions") and f[0].isdigit():
                return int(f[0]), "perf stat -e instructions"
    if shutil.which("valgrind"):
        out = os.path.join(d, "callgrind.out")
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd,
                           capture_output=True, text=True)
        m = re.search(r"Collected : (\d+)", r.stderr)
        if m:
            return int(m.group(1)), "valgrind --tool=callgrind (Ir)"
    return None, "neither perf stat (instructions counter) nor valgrind works here"


def gguf_opens(cmd, d):
    if not shutil.which("strace"):
        return None
    log = os.path.join(d, "strace.log")
    r = subprocess.run(["strace", "-f", "-e", "trace=openat", "-o", log] + cmd, capture_output=True)
    if r.returncode != 1 or not os.path.exists(log):
        return None
    with open(log) as f:
        return sum(1 for line in f if "openat(" in line and '.gguf"' in line)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    mlgate, runs = os.path.abspath(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20
    d = tempfile.mkdtemp(prefix="mlgate-plan-speed-")
    try:
        t0 = time.perf_counter()
        matrix = write_matrix(d)
        ggufs = {m[0] for m in MODELS if m[2] in TYPE}
        files = [os.path.join(d, n + ".gguf") for n in sorted(ggufs)]
        disk = sum(os.stat(p).st_blocks * 512 for p in files)
        size = sum(os.path.getsize(p) for p in files)
        print(f"wrote {len(MODELS)} models, {len(files)} GGUF files ({size / 2**30:.0f} GiB apparent, "
              f"{disk / 2**20:.0f} MiB on disk) in {time.perf_counter() - t0:.1f} s: {d}")
        for p in files:   # every file reads cleanly
            r = subprocess.run([mlgate, "inspect", p], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"mlgate inspect {p} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        cmd = [mlgate, "plan", matrix]
        r = subprocess.run(cmd + ["--json"], capture_output=True, text=True)
        if r.returncode != 1:
            fail(f"plan --json exited {r.returncode}, expected 1:\n{r.stdout}{r.stderr}")
        j = json.loads(r.stdout)
        bad = [m for m in j["models"] if not m["fits"]]
        if len(j["models"]) != len(MODELS) or len(bad) != 1 or not j["fixes"]:
            fail(f"expected {len(MODELS)} models, exactly one not fitting, and fixes:\n{r.stdout}")
        for m in j["models"]:
            if m["source"] != ("gguf" if m["name"] in ggufs else "declared"):
                fail(f"{m['name']}: source {m['source']}")
        print(f"{len(j['gpus'])} GPUs, {j['usable'] / 2**30:.1f} GiB usable; residents need "
              f"{j['resident_need'] / 2**30:.1f} GiB; does not fit: {bad[0]['name']} ({bad[0]['why']})")
        for fx in j["fixes"]:
            print("  fix: " + fx)
        for _ in range(2):
            subprocess.run(cmd, capture_output=True)
        times = []
        for _ in range(runs):
            s = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True)
            times.append((time.perf_counter() - s) * 1000)
            if r.returncode != 1:
                fail(f"plan exited {r.returncode} in a timed run")
        med, lo, hi = statistics.median(times), min(times), max(times)
        print(f"mlgate plan: median {med:.1f} ms, min {lo:.1f}, max {hi:.1f} ({runs} runs, wall clock)")
        n, how = instructions(cmd, d)
        print(f"instructions (one run): {n:,} ({how})" if n else f"instructions: not measured ({how})")
        opens = gguf_opens(cmd, d)
        print(f"GGUF opens in one run: {opens} (strace -f -e trace=openat)" if opens is not None
              else "GGUF opens: not counted (no working strace)")
        print(f"plan-speed: {len(MODELS)} models, median {med:.1f} ms ({lo:.1f}, {hi:.1f}), "
              f"{opens if opens is not None else '?'} GGUF opens")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

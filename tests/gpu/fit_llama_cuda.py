#!/usr/bin/env python3
"""fit_llama_cuda.py - `mlgate fit` against a CUDA build of llama.cpp on the GPU machine: where the
weights, KV cache and compute buffers really go for several -ngl / --n-cpu-moe placements.

usage: fit_llama_cuda.py MLGATE LLAMA_COMPLETION [VRAM [NAME-REGEX]]
Writes the models with tests/llama/compare.py's writer (the gguf package: PYTHONPATH may point at a
copy), runs llama-completion for a few tokens with -fit off and --no-repack, reads the buffer sizes
it logs per device, and prints them beside `mlgate fit --json --vram VRAM` (default 80G) for the
same context and placement; and mlgate's GPU need (weights + KV + compute + the CUDA runtime) beside
what the process really took (total - free in llama.cpp's memory breakdown). Exits 1 when weights
or KV differ by more than 1 %, or the GPU need is under by more than 2 % or over by more than
15 % or 128 MiB (the larger): fit must not promise memory that is not there.
"""
import json, os, re, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "llama"))
import compare  # noqa: E402  (exits 77 without gguf/numpy)

Q = compare.gguf.GGMLQuantizationType
MODELS = [
    # name, arch, layers, embd, heads, kv heads, ff, type, tied, swa, experts, ctx, llama.cpp / mlgate options
    ("llama GQA f16", "llama", 16, 1024, 16, 4, 2816, Q.F16, False, 0, 0, 8192, [], []),
    ("llama GQA f16 -ngl 9", "llama", 16, 1024, 16, 4, 2816, Q.F16, False, 0, 0, 8192,
     ["-ngl", "9"], ["--ngl", "9"]),
    ("llama GQA f16 -ngl 0", "llama", 16, 1024, 16, 4, 2816, Q.F16, False, 0, 0, 8192,
     ["-ngl", "0"], ["--ngl", "0"]),
    ("llama f16 4 seqs", "llama", 16, 1024, 16, 4, 2816, Q.F16, False, 0, 0, 16384,
     ["-np", "4"], ["--parallel", "4"]),
    ("llama tied q8_0", "llama", 8, 768, 12, 4, 2048, Q.Q8_0, True, 0, 0, 32768, [], []),
    ("llama tied q8_0 -ngl 4", "llama", 8, 768, 12, 4, 2048, Q.Q8_0, True, 0, 0, 32768,
     ["-ngl", "4"], ["--ngl", "4"]),
    ("llama q8_0 KV", "llama", 8, 768, 12, 4, 2048, Q.Q8_0, True, 0, 0, 32768,
     ["-ctk", "q8_0", "-ctv", "q8_0"], ["--ctk", "q8_0", "--ctv", "q8_0"]),
    ("gemma3 SWA 1024, 5:1", "gemma3", 12, 1024, 8, 2, 2048, Q.Q8_0, True, 1024, 0, 32768, [], []),
    ("gemma3 SWA -ngl 6", "gemma3", 12, 1024, 8, 2, 2048, Q.Q8_0, True, 1024, 0, 32768,
     ["-ngl", "6"], ["--ngl", "6"]),
    ("qwen3moe 16 experts", "qwen3moe", 8, 1024, 16, 4, 512, Q.Q8_0, False, 0, 16, 8192, [], []),
    ("qwen3moe --n-cpu-moe 4", "qwen3moe", 8, 1024, 16, 4, 512, Q.Q8_0, False, 0, 16, 8192,
     ["--n-cpu-moe", "4"], ["--n-cpu-moe", "4"]),
    # slices of real shapes (2 layers, the real vocabulary): where the logits dominate compute
    ("8B slice, 128k vocab", "llama", 2, 4096, 32, 8, 14336, Q.Q8_0, False, 0, 0, 8192, [], []),
    ("8B slice, 32k ctx", "llama", 2, 4096, 32, 8, 14336, Q.Q8_0, False, 0, 0, 32768, [], []),
    ("8B slice -ngl 1", "llama", 2, 4096, 32, 8, 14336, Q.Q8_0, False, 0, 0, 8192, ["-ngl", "1"], ["--ngl", "1"]),
    ("gemma3 4B slice, 262k", "gemma3", 2, 2560, 8, 4, 10240, Q.Q8_0, True, 1024, 0, 16384, [], []),
    ("qwen3moe slice 128x", "qwen3moe", 2, 2048, 32, 4, 768, Q.Q8_0, False, 0, 128, 8192, [], []),
    # held out: run after the compute rule was fitted to the rows above
    ("held: 7B slice, 152k", "llama", 2, 3584, 28, 4, 18944, Q.Q8_0, False, 0, 0, 16384, [], []),
    ("held: 12B slice -ngl 2", "llama", 2, 5120, 32, 8, 14336, Q.Q8_0, False, 0, 0, 8192, ["-ngl", "2"], ["--ngl", "2"]),
    ("held: gemma3 6L, 262k", "gemma3", 6, 3840, 16, 8, 15360, Q.Q8_0, True, 1024, 0, 32768, [], []),
    # held out again, after flash attention off (head sizes 160 and 240 above) entered the rule
    ("held2: 8B slice -fa off", "llama", 2, 4096, 32, 8, 14336, Q.Q8_0, False, 0, 0, 8192,
     ["-fa", "off"], ["--flash-attn", "off"]),
    ("held2: 8B -fa off 16k", "llama", 2, 4096, 32, 8, 14336, Q.Q8_0, False, 0, 0, 16384,
     ["-fa", "off"], ["--flash-attn", "off"]),
    ("held2: 7B -fa off -ngl 2", "llama", 2, 3584, 28, 4, 18944, Q.Q8_0, False, 0, 0, 8192,
     ["-fa", "off", "-ngl", "2"], ["--flash-attn", "off", "--ngl", "2"]),
    ("held2: gemma3 6L -ngl 4", "gemma3", 6, 3840, 16, 8, 15360, Q.Q8_0, True, 1024, 0, 16384,
     ["-ngl", "4"], ["--ngl", "4"]),
]
VOCABS = {"8B slice, 128k vocab": 128256, "8B slice, 32k ctx": 128256, "8B slice -ngl 1": 128256,
          "gemma3 4B slice, 262k": 262144, "qwen3moe slice 128x": 151936, "held: 7B slice, 152k": 152064,
          "held: 12B slice -ngl 2": 131072, "held: gemma3 6L, 262k": 262144, "held2: 8B slice -fa off": 128256,
          "held2: 8B -fa off 16k": 128256, "held2: 7B -fa off -ngl 2": 152064, "held2: gemma3 6L -ngl 4": 262144}


F8 = Q.Q8_0
# deepseek2 (MLA) slices of DeepSeek-V3's width (7168, 128 heads, kv_lora 512, rope 64, 129,280 tokens) with
# 32 experts of 2048 (V3 has 256: one expert tensor here is 1/8 of V3's), 1 dense block; and BERT encoders.
DS = lambda p: compare.write_deepseek2(p, 4, 7168, 128, 1536, 512, 64, 128, 128, 18432, 2048, 32, 8, 1, F8)
SHAPED = [
    # name, writer, vocabulary, ctx, llama.cpp / mlgate options (a row whose llama.cpp options hold --embedding or
    # --reranking runs llama-server, next to LLAMA_COMPLETION, until it listens, then stops it)
    ("mla: V3-width slice", DS, 129280, 8192, [], []),
    ("mla: V3-width 32k ctx", DS, 129280, 32768, [], []),
    ("mla: V3-width -fa off", DS, 129280, 8192, ["-fa", "off"], ["--flash-attn", "off"]),
    ("mla: -ngl 3 --n-cpu-moe 2", DS, 129280, 8192, ["-ngl", "3", "--n-cpu-moe", "2"], ["--ngl", "3", "--n-cpu-moe", "2"]),
    ("mla: --n-cpu-moe 2 no-op-offload", DS, 129280, 8192, ["-ngl", "5", "--n-cpu-moe", "2", "--no-op-offload"],
     ["--ngl", "5", "--n-cpu-moe", "2", "--no-op-offload"]),
    ("mla: -ngl 2 (blocks in RAM)", DS, 129280, 8192, ["-ngl", "2"], ["--ngl", "2"]),
    ("qwen3moe --n-cpu-moe 4 op offload", lambda p: compare.write(p, "qwen3moe", 8, 2048, 32, 4, 768, F8, False, 0, 128),
     151936, 8192, ["--n-cpu-moe", "4"], ["--n-cpu-moe", "4"]),
    ("llama f16 + LoRA r16", lambda p: (compare.write(p, "llama", 16, 1024, 16, 4, 2816, Q.F16, False),
                                         compare.write_lora(p + ".lora", 16, 1024, 256, 16)), 32000, 8192,
     ["--lora", "{path}.lora"], ["--lora", "{path}.lora"]),
    ("llama f16 + LoRA -ngl 9", lambda p: (compare.write(p, "llama", 16, 1024, 16, 4, 2816, Q.F16, False),
                                            compare.write_lora(p + ".lora", 16, 1024, 256, 16)), 32000, 8192,
     ["--lora", "{path}.lora", "-ngl", "9"], ["--lora", "{path}.lora", "--ngl", "9"]),
    ("bert: bge-small embedding", lambda p: compare.write_bert(p, 12, 384, 12, 1536, Q.F16), 30522, 512,
     ["--embedding"], []),
    ("bert: bge-reranker-v2-m3 4L", lambda p: compare.write_bert(p, 4, 1024, 16, 4096, Q.F16, rerank=True,
                                                                     n_pos=8194), 250002, 8192, ["--reranking"], []),
]


def run_llama(exe, path, ctx, opts):
    """llama.cpp's log for a few tokens (llama-completion), or llama-server's up to 'listening' and its exit
    (it prints the memory breakdown when stopped) for an embedding or reranking model."""
    base = ["-m", path, "-c", str(ctx), "-t", "8", "--no-warmup", "-v", "-fit", "off", "--no-repack"]
    base += opts if "-ngl" in opts else opts + ["-ngl", "99"]
    if "--embedding" not in opts and "--reranking" not in opts:
        r = subprocess.run([exe] + base + ["-n", "2", "-p", "hello", "-no-cnv", "--load-mode", "none"],
                           capture_output=True, text=True, errors="replace", timeout=300)
        return r.returncode, r.stdout + r.stderr
    import select, signal, time
    server = os.path.join(os.path.dirname(exe), "llama-server")
    p = subprocess.Popen([server] + base + ["--port", "0", "--host", "127.0.0.1"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace")
    out, end = [], time.time() + 180
    while time.time() < end:
        if not select.select([p.stdout], [], [], 1.0)[0]:
            continue
        line = p.stdout.readline()
        if not line:
            break
        out.append(line)
        if "listening on" in line:
            break
    p.send_signal(signal.SIGINT)
    try:
        rest, _ = p.communicate(timeout=30)
        out.append(rest or "")
    except subprocess.TimeoutExpired:
        p.kill()
    return 0, "".join(out)


def buffers(out):
    """{(device, kind): MiB} from llama.cpp's 'X model/KV/compute/output buffer size = N MiB' lines, and
    ('gpu', 'used'): total - free of CUDA0 from its memory breakdown table (context, cuBLAS and all)."""
    got = {}
    m = re.search(r"CUDA0 \([^)]*\)\s*\|\s*(\d+)\s*=\s*(\d+)\s*\+\s*\(\s*(\d+)\s*=\s*(\d+)\s*\+\s*(\d+)\s*\+\s*(\d+)\)"
                  r"\s*\+\s*(-?\d+)", out)
    if m:
        got[("gpu", "used")] = float(int(m.group(1)) - int(m.group(2)))
        got[("gpu", "unaccounted")] = float(m.group(7))
    seen = {}  # a buffer logged again (a compute buffer re-reserved after a LoRA is applied) counts once
    for line in out.splitlines():
        m = re.search(r"(\S+)\s+(model|KV|compute|output|LoRA) buffer size\s*=\s*([0-9.]+) MiB", line)
        if m:
            dev = "gpu" if m.group(1).startswith("CUDA") and m.group(1) != "CUDA_Host" else "host"
            key = (dev, {"model": "weights", "LoRA": "weights", "KV": "kv"}.get(m.group(2), "other"))
            v = float(m.group(3))
            if m.group(2) == "compute":
                old = seen.get((m.group(1), "compute"), 0.0)
                seen[(m.group(1), "compute")] = max(old, v)
                v = max(old, v) - old
            got[key] = got.get(key, 0.0) + v
    return got


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mlgate, exe = sys.argv[1], sys.argv[2]
    vram = sys.argv[3] if len(sys.argv) > 3 else "80G"
    d = tempfile.mkdtemp(prefix="mlgate-cuda-")
    print(f"{'model':24} | {'GPU weights':>22} | {'GPU KV':>20} | {'GPU compute':>18} | {'RAM weights':>20} | "
          f"{'RAM KV':>16} | {'host other':>16} | GPU need / used (total-free)")
    print(f"{'':24} | {'mlgate / llama.cpp MiB':>22} | {'':>20} | {'':>18} | {'':>20} | {'':>16} | {'':>16}")
    worst, worst_need, bad_need, written, results = 0.0, 0.0, 0, None, []
    only = re.compile(sys.argv[4]) if len(sys.argv) > 4 else None
    rows = [(name, (lambda p, a=(arch, nl, ne, nh, nkv, nff, qt, tied, swa, ex): compare.write(p, *a)),
             VOCABS.get(name, 32000), f"{arch}-{nl}-{ne}-{int(qt)}-{int(tied)}", ctx, lopts, mopts)
            for name, arch, nl, ne, nh, nkv, nff, qt, tied, swa, ex, ctx, lopts, mopts in MODELS]
    rows += [(name, wr, voc, f"shaped-{id(wr)}", ctx, lopts, mopts) for name, wr, voc, ctx, lopts, mopts in SHAPED]
    for name, writer, voc, key, ctx, lopts, mopts in rows:
        if only and not only.search(name):
            continue
        compare.VOCAB = voc
        path = os.path.join(d, f"{key}-{voc}.gguf")
        if written != path:
            if written:
                os.remove(written)
            writer(path)
            written = path
        lopts = [x.replace("{path}", path) for x in lopts]
        mopts = [x.replace("{path}", path) for x in mopts]
        rc, log = run_llama(exe, path, ctx, lopts)
        got = buffers(log)
        if os.environ.get("OUT"):
            with open(os.path.join(os.environ["OUT"], re.sub(r"\W+", "_", name) + ".log"), "w") as f:
                f.write(log)
        if not got.get(("gpu", "weights")) and "-ngl 0" not in name or rc:
            print(f"{name}: llama.cpp failed (exit {rc}):\n{log[-3000:]}")
            worst = 100.0
            continue
        fit = json.loads(subprocess.run([mlgate, "fit", "--json", "--vram", vram, "--ram", "64G", "-c", str(ctx)] +
                                        mopts + [path], capture_output=True, text=True).stdout)
        g = fit["gpus"][0] if fit["gpus"] else {"weights": 0, "kv": 0, "compute": 0}
        mine = {("gpu", "used"): g.get("need", 0), ("gpu", "weights"): g["weights"], ("gpu", "kv"): g["kv"], ("gpu", "other"): g["compute"],
                ("host", "weights"): fit["ram"]["weights"], ("host", "kv"): fit["ram"]["kv"],
                ("host", "other"): fit["ram"]["other"]}
        cells = []
        for key in [("gpu", "weights"), ("gpu", "kv"), ("gpu", "other"), ("host", "weights"), ("host", "kv"),
                    ("host", "other")]:
            a, b = mine[key] / 2**20, got.get(key, 0.0)
            err = (a - b) / b * 100 if b else (0.0 if a < 0.01 else float("inf"))
            if key[1] in ("weights", "kv") and (b > 1 or a > 1):  # sub-MiB buffers: alignment noise
                worst = max(worst, abs(err))
            cells.append(f"{a:8.1f} /{b:8.1f} {err:+5.1f}%" if key[1] != "other" else f"{a:6.1f} /{b:6.1f}")
        need, used = g.get("need", 0) / 2**20, got.get(("gpu", "used"), 0.0)
        if need and used:  # under by at most 2 %; over by at most 15 % or 128 MiB (the runtime allowance)
            if need < used * 0.98 or need - used > max(used * 0.15, 128):
                bad_need += 1
            worst_need = max(worst_need, abs(need - used) / used * 100)
        cells.append(f"{need:7.0f} /{used:7.0f} {((need - used) / used * 100 if used else 0):+5.1f}%")
        print(f"{name:24} | " + " | ".join(cells), flush=True)
        results.append({"model": name, "mlgate": {f"{k[0]}_{k[1]}": v for k, v in mine.items()},
                     "llama_cpp_mib": {f"{k[0]}_{k[1]}": v for k, v in got.items()}, "ngl": fit["ngl"]})
    for f in os.listdir(d):  # models and adapters
        os.remove(os.path.join(d, f))
    os.rmdir(d)
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, "fit_llama_cuda.json"), "w") as f:
            json.dump(results, f, indent=1)
    print(f"largest weights/KV difference: {worst:.2f} %; largest GPU need vs used: {worst_need:.1f} %; "
          f"{bad_need} outside -2 % .. +max(15 %, 128 MiB)")
    sys.exit(0 if worst <= 1.0 and not bad_need else 1)


if __name__ == "__main__":
    main()

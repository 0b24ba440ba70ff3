#!/usr/bin/env python3
"""compare.py - `mlgate fit` against a real llama.cpp run (CPU build; buffers as llama.cpp reports them).
Writes small GGUF models with the `gguf` package (random weights, a 32,000-token SentencePiece-style
vocabulary), runs llama.cpp's `llama-completion` on each for a few tokens, and compares its model / KV /
compute buffer sizes (-fit off: no dry run; --no-repack: no second, repacked copy of the weights) with `mlgate fit --json` for the same context on a machine without GPUs.

usage: compare.py MLGATE [LLAMA_COMPLETION]
LLAMA_COMPLETION defaults to $MLGATE_LLAMA_COMPLETION, then ~/.cache/mlgate/llama/bin/llama-completion
(tests/llama/build.sh builds it there). Exits 77 when there is none, or gguf/numpy are missing.
"""
import json, os, re, subprocess, sys, tempfile

try:
    import numpy as np
    import gguf
    from gguf.quants import quantize
except ImportError:
    print("gguf/numpy not installed: skipped")
    sys.exit(77)

VOCAB = 32000
rng = np.random.default_rng(0)


def vocab(w):
    """SentencePiece-style: specials, the 256 byte tokens llama.cpp falls back on, characters, fillers."""
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    toks += ["\u2581"] + [chr(c) for c in range(33, 127)] + ["\u2581" + chr(c) for c in range(97, 123)]
    types = [2, 3, 3] + [6] * 256 + [1] * (len(toks) - 259)
    toks += [f"t{i}" for i in range(VOCAB - len(toks))]
    types += [1] * (VOCAB - len(types))
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores([0.0] * 259 + [-float(i) for i in range(VOCAB - 259)])
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)


def tensor(w, name, shape, qtype):
    a = (rng.standard_normal(shape) * 0.02).astype(np.float32)
    if qtype == gguf.GGMLQuantizationType.F32:
        w.add_tensor(name, a)
    elif qtype == gguf.GGMLQuantizationType.F16:
        w.add_tensor(name, a.astype(np.float16))
    else:
        w.add_tensor(name, quantize(a, qtype), raw_dtype=qtype)


def write(path, arch, n_layer, n_embd, n_head, n_kv, n_ff, qtype, tied, swa=0, experts=0):
    """A llama, gemma3 (sliding-window layers, q/k norms, post norms) or qwen3moe (routed experts) model."""
    hd = n_embd // n_head
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(8192)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_rope_dimension_count(hd)
    w.add_layer_norm_rms_eps(1e-6)
    if swa:
        w.add_sliding_window(swa)
    if experts:
        w.add_expert_count(experts)
        w.add_expert_used_count(2)
        w.add_expert_feed_forward_length(n_ff)
    vocab(w)
    F32 = gguf.GGMLQuantizationType.F32
    tensor(w, "token_embd.weight", (VOCAB, n_embd), qtype)
    tensor(w, "output_norm.weight", (n_embd,), F32)
    if not tied:
        tensor(w, "output.weight", (VOCAB, n_embd), qtype)
    for i in range(n_layer):
        b = f"blk.{i}."
        tensor(w, b + "attn_norm.weight", (n_embd,), F32)
        tensor(w, b + "attn_q.weight", (n_head * hd, n_embd), qtype)
        tensor(w, b + "attn_k.weight", (n_kv * hd, n_embd), qtype)
        tensor(w, b + "attn_v.weight", (n_kv * hd, n_embd), qtype)
        tensor(w, b + "attn_output.weight", (n_embd, n_head * hd), qtype)
        tensor(w, b + "ffn_norm.weight", (n_embd,), F32)
        if arch in ("gemma3", "qwen3moe"):
            tensor(w, b + "attn_q_norm.weight", (hd,), F32)
            tensor(w, b + "attn_k_norm.weight", (hd,), F32)
        if arch == "gemma3":
            tensor(w, b + "post_attention_norm.weight", (n_embd,), F32)
            tensor(w, b + "post_ffw_norm.weight", (n_embd,), F32)
        if experts:
            tensor(w, b + "ffn_gate_inp.weight", (experts, n_embd), F32)
            tensor(w, b + "ffn_gate_exps.weight", (experts, n_ff, n_embd), qtype)
            tensor(w, b + "ffn_up_exps.weight", (experts, n_ff, n_embd), qtype)
            tensor(w, b + "ffn_down_exps.weight", (experts, n_embd, n_ff), qtype)
        else:
            tensor(w, b + "ffn_gate.weight", (n_ff, n_embd), qtype)
            tensor(w, b + "ffn_up.weight", (n_ff, n_embd), qtype)
            tensor(w, b + "ffn_down.weight", (n_embd, n_ff), qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def mib(line):
    return float(re.search(r"=\s*([0-9.]+) MiB", line).group(1))


def llama_run(exe, path, ctx, extra):
    r = subprocess.run([exe, "-m", path, "-c", str(ctx), "-n", "2", "-p", "hello", "-t", "2", "--no-warmup",
                        "-no-cnv", "-v", "-fit", "off", "--no-repack"] + extra, capture_output=True, text=True,
                       errors="replace", timeout=300)  # the random model's tokens need not be UTF-8
    out = r.stdout + r.stderr
    got = {"model": 0.0, "kv": 0.0, "compute": 0.0}
    for line in out.splitlines():
        if "buffer size =" not in line:
            continue
        if "model buffer size" in line:
            got["model"] += mib(line)
        elif "KV buffer size" in line:
            got["kv"] += mib(line)
        elif "compute buffer size" in line:
            got["compute"] += mib(line)
    if not got["model"]:
        sys.exit(f"llama.cpp did not load {path}:\n{out[-3000:]}")
    return got, out


def main():
    mlgate = sys.argv[1]
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "mlgate", "llama", "bin",
                         "llama-completion")
    exe = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("MLGATE_LLAMA_COMPLETION", cache)
    if not os.access(exe, os.X_OK):
        print(f"no llama.cpp at {exe} (tests/llama/build.sh builds one): skipped")
        sys.exit(77)
    Q = gguf.GGMLQuantizationType
    models = [
        # name, arch, layers, embd, heads, kv heads, ff, type, tied, swa, experts, ctx, llama.cpp / mlgate options
        ("llama GQA f16", "llama", 8, 512, 8, 2, 1408, Q.F16, False, 0, 0, 4096, [], []),
        ("llama tied q8_0", "llama", 6, 768, 12, 4, 2048, Q.Q8_0, True, 0, 0, 8192, [], []),
        ("llama MHA f16, q8_0 KV", "llama", 4, 512, 8, 8, 1408, Q.F16, False, 0, 0, 2048,
         ["-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"], ["--ctk", "q8_0", "--ctv", "q8_0"]),
        ("gemma3 SWA 512, 5:1", "gemma3", 12, 512, 4, 1, 1024, Q.Q8_0, True, 512, 0, 8192, [], []),
        ("gemma3 SWA, 4 seqs", "gemma3", 6, 512, 4, 1, 1024, Q.F16, True, 256, 0, 8192, ["-np", "4"],
         ["--parallel", "4"]),
        ("qwen3moe 16 experts", "qwen3moe", 4, 512, 8, 2, 256, Q.Q8_0, False, 0, 16, 4096, [], []),
    ]
    d = tempfile.mkdtemp(prefix="mlgate-llama-")
    print(f"{'model':24} {'weights mlgate':>15} {'llama.cpp':>10} {'err':>7} | {'KV mlgate':>10} {'llama.cpp':>10} "
          f"{'err':>7} | {'host other':>10} {'compute':>8}")
    worst = 0.0
    for name, arch, nl, ne, nh, nkv, nff, qt, tied, swa, ex, ctx, lopts, mopts in models:
        path = os.path.join(d, arch + ".gguf")
        write(path, arch, nl, ne, nh, nkv, nff, qt, tied, swa, ex)
        got, _ = llama_run(exe, path, ctx, lopts)
        fit = json.loads(subprocess.run([mlgate, "fit", "--json", "--ram", "16G", "-c", str(ctx)] + mopts + [path],
                                        capture_output=True, text=True, env=dict(os.environ, MLGATE_NVML="/nonexistent")).stdout)
        w = fit["ram"]["weights"] / 2**20
        kv = fit["ram"]["kv"] / 2**20
        we = (w - got["model"]) / got["model"] * 100
        ke = (kv - got["kv"]) / got["kv"] * 100
        worst = max(worst, abs(we), abs(ke))
        print(f"{name:24} {w:11.2f} MiB {got['model']:6.2f} MiB {we:+6.2f}% | {kv:6.2f} MiB {got['kv']:6.2f} MiB "
              f"{ke:+6.2f}% | {fit['ram']['other'] / 2**20:6.1f} MiB {got['compute']:5.1f} MiB", flush=True)
        os.remove(path)
    os.rmdir(d)
    print(f"largest weights/KV difference: {worst:.2f} %")
    sys.exit(0 if worst <= 1.0 else 1)


if __name__ == "__main__":
    main()

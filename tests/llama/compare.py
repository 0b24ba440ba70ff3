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


def write_deepseek2(path, n_layer, n_embd, n_head, q_lora, kv_lora, rope, nope, v_head, n_ff, n_ff_exp, experts,
                    used, dense_lead, qtype, mla=True):
    """A DeepSeek-V2/V3-style model (deepseek2): MLA attention with the split attn_k_b / attn_v_b of current
    GGUFs (key_length = kv_lora_rank + rope, value_length = kv_lora_rank, the *_mla lengths the decompressed
    heads; mla=False: the legacy unsplit attn_kv_b), `dense_lead` dense blocks, then routed experts with one
    shared expert."""
    w = gguf.GGUFWriter(path, "deepseek2")
    w.add_context_length(8192)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(1 if mla else n_head)
    if mla:
        w.add_key_length(kv_lora + rope)
        w.add_value_length(kv_lora)
        w.add_key_length_mla(nope + rope)
        w.add_value_length_mla(v_head)
    else:
        w.add_key_length(nope + rope)
        w.add_value_length(v_head)
    w.add_rope_dimension_count(rope)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_q_lora_rank(q_lora)
    w.add_kv_lora_rank(kv_lora)
    w.add_leading_dense_block_count(dense_lead)
    w.add_expert_count(experts)
    w.add_expert_used_count(used)
    w.add_expert_shared_count(1)
    w.add_expert_feed_forward_length(n_ff_exp)
    w.add_expert_weights_scale(2.5)
    w.add_expert_weights_norm(True)
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    vocab(w)
    F32 = gguf.GGMLQuantizationType.F32
    tensor(w, "token_embd.weight", (VOCAB, n_embd), qtype)
    tensor(w, "output_norm.weight", (n_embd,), F32)
    tensor(w, "output.weight", (VOCAB, n_embd), qtype)
    for i in range(n_layer):
        b = f"blk.{i}."
        tensor(w, b + "attn_norm.weight", (n_embd,), F32)
        tensor(w, b + "attn_q_a_norm.weight", (q_lora,), F32)
        tensor(w, b + "attn_kv_a_norm.weight", (kv_lora,), F32)
        tensor(w, b + "attn_q_a.weight", (q_lora, n_embd), qtype)
        tensor(w, b + "attn_q_b.weight", (n_head * (nope + rope), q_lora), qtype)
        tensor(w, b + "attn_kv_a_mqa.weight", (kv_lora + rope, n_embd), qtype)
        if mla:
            tensor(w, b + "attn_k_b.weight", (n_head, kv_lora, nope), qtype)
            tensor(w, b + "attn_v_b.weight", (n_head, v_head, kv_lora), qtype)
        else:
            tensor(w, b + "attn_kv_b.weight", (n_head * (nope + v_head), kv_lora), qtype)
        tensor(w, b + "attn_output.weight", (n_embd, n_head * v_head), qtype)
        tensor(w, b + "ffn_norm.weight", (n_embd,), F32)
        if i < dense_lead:
            tensor(w, b + "ffn_gate.weight", (n_ff, n_embd), qtype)
            tensor(w, b + "ffn_up.weight", (n_ff, n_embd), qtype)
            tensor(w, b + "ffn_down.weight", (n_embd, n_ff), qtype)
        else:
            tensor(w, b + "ffn_gate_inp.weight", (experts, n_embd), F32)
            tensor(w, b + "exp_probs_b.bias", (experts,), F32)
            tensor(w, b + "ffn_gate_exps.weight", (experts, n_ff_exp, n_embd), qtype)
            tensor(w, b + "ffn_up_exps.weight", (experts, n_ff_exp, n_embd), qtype)
            tensor(w, b + "ffn_down_exps.weight", (experts, n_embd, n_ff_exp), qtype)
            tensor(w, b + "ffn_gate_shexp.weight", (n_ff_exp, n_embd), qtype)
            tensor(w, b + "ffn_up_shexp.weight", (n_ff_exp, n_embd), qtype)
            tensor(w, b + "ffn_down_shexp.weight", (n_embd, n_ff_exp), qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_bert(path, n_layer, n_embd, n_head, n_ff, qtype, rerank=False, n_pos=512):
    """A BERT-family encoder (arch bert: bge-small/-large, and XLM-R rerankers as bge-reranker are
    converted to it): non-causal, mean pooling, or a rank head (cls, cls.output) with rerank."""
    w = gguf.GGUFWriter(path, "bert")
    w.add_context_length(n_pos)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_layer_norm_eps(1e-12)
    w.add_causal_attention(False)
    w.add_pooling_type(gguf.PoolingType.RANK if rerank else gguf.PoolingType.MEAN)
    w.add_token_type_count(2)
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [chr(c) for c in range(33, 127)]
    toks += ["##" + chr(c) for c in range(97, 123)] + ["hello", "world"]
    toks += [f"t{i}" for i in range(VOCAB - len(toks))]
    w.add_tokenizer_model("bert")
    w.add_token_list(toks)
    w.add_token_types([3] * 5 + [1] * (VOCAB - 5))
    w.add_unk_token_id(1)
    w.add_bos_token_id(2)
    w.add_eos_token_id(3)
    w.add_pad_token_id(0)
    w.add_mask_token_id(4)
    F32 = gguf.GGMLQuantizationType.F32
    tensor(w, "token_embd.weight", (VOCAB, n_embd), qtype)
    tensor(w, "token_types.weight", (2, n_embd), F32)
    tensor(w, "position_embd.weight", (n_pos, n_embd), F32)
    tensor(w, "token_embd_norm.weight", (n_embd,), F32)
    tensor(w, "token_embd_norm.bias", (n_embd,), F32)
    if rerank:
        tensor(w, "cls.weight", (n_embd, n_embd), qtype)
        tensor(w, "cls.bias", (n_embd,), F32)
        tensor(w, "cls.output.weight", (1, n_embd), F32)
        tensor(w, "cls.output.bias", (1,), F32)
    for i in range(n_layer):
        b = f"blk.{i}."
        for t in ("attn_q", "attn_k", "attn_v", "attn_output"):
            tensor(w, b + t + ".weight", (n_embd, n_embd), qtype)
            tensor(w, b + t + ".bias", (n_embd,), F32)
        for t in ("attn_output_norm", "layer_output_norm"):
            tensor(w, b + t + ".weight", (n_embd,), F32)
            tensor(w, b + t + ".bias", (n_embd,), F32)
        tensor(w, b + "ffn_up.weight", (n_ff, n_embd), qtype)
        tensor(w, b + "ffn_up.bias", (n_ff,), F32)
        tensor(w, b + "ffn_down.weight", (n_embd, n_ff), qtype)
        tensor(w, b + "ffn_down.bias", (n_embd,), F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_lora(path, n_layer, n_embd, n_kv_embd, rank, targets=("attn_q", "attn_v")):
    """A LoRA adapter GGUF for a llama model (BASE.lora_a / BASE.lora_b pairs of rank `rank`)."""
    w = gguf.GGUFWriter(path, "llama")
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(rank))
    for i in range(n_layer):
        for t in targets:
            out = n_embd if t in ("attn_q", "attn_output") else n_kv_embd
            w.add_tensor(f"blk.{i}.{t}.weight.lora_a", (rng.standard_normal((rank, n_embd)) * 0.01).astype(np.float32))
            w.add_tensor(f"blk.{i}.{t}.weight.lora_b", np.zeros((out, rank), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def mib(line):
    return float(re.search(r"=\s*([0-9.]+) MiB", line).group(1))


def server_log(exe, path, ctx, extra):
    """llama-server's log up to 'listening' (an embedding or reranking model: llama-completion will not run
    one), then the server is stopped."""
    import select, time
    server = os.path.join(os.path.dirname(exe), "llama-server")
    p = subprocess.Popen([server, "-m", path, "-c", str(ctx), "-t", "2", "--no-warmup", "-v", "-fit", "off",
                          "--no-repack", "--port", "0", "--host", "127.0.0.1"] + extra, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace")
    out, end = [], time.time() + 120
    while time.time() < end:
        if select.select([p.stdout], [], [], 1.0)[0]:
            line = p.stdout.readline()
            if not line:
                break
            out.append(line)
            if "listening on" in line or "exiting" in line:
                break
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
    return "".join(out)


def llama_run(exe, path, ctx, extra):
    if "--embedding" in extra or "--reranking" in extra:
        out = server_log(exe, path, ctx, extra)
    else:
        r = subprocess.run([exe, "-m", path, "-c", str(ctx), "-n", "2", "-p", "hello", "-t", "2", "--no-warmup",
                            "-no-cnv", "-v", "-fit", "off", "--no-repack"] + extra, capture_output=True, text=True,
                           errors="replace", timeout=300)  # the random model's tokens need not be UTF-8
        out = r.stdout + r.stderr
    got = {"model": 0.0, "kv": 0.0, "compute": 0.0}
    for line in out.splitlines():
        if "buffer size =" not in line:
            continue
        if "model buffer size" in line or "LoRA buffer size" in line:
            got["model"] += mib(line)
        elif "KV buffer size" in line:
            got["kv"] += mib(line)
        elif "compute buffer size" in line:   # a CPU run has one; re-reserved (LoRA): the same buffer again
            got["compute"] = max(got["compute"], mib(line))
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
    # Other shapes, each with its writer; their compute buffer is checked too: fit's host "other" less its
    # 150 MiB footprint must not be under what llama.cpp reserved.
    F = Q.Q8_0
    shaped = [
        # name, writer, ctx, llama.cpp / mlgate options
        ("deepseek2 MLA, V3 attn", lambda p: write_deepseek2(p, 2, 2048, 128, 1536, 512, 64, 128, 128, 4096, 512, 16, 4,
                                                             1, F), 4096, [], []),
        ("deepseek2 MLA -fa off", lambda p: write_deepseek2(p, 2, 2048, 128, 1536, 512, 64, 128, 128, 4096, 512, 16, 4,
                                                            1, F), 4096, ["-fa", "off"], ["--flash-attn", "off"]),
        ("deepseek2 MLA 64 heads", lambda p: write_deepseek2(p, 2, 2048, 64, 1024, 256, 64, 192, 128, 4096, 512, 16, 4,
                                                             1, F), 4096, [], []),
        ("llama f16 + LoRA r16", lambda p: (write(p, "llama", 8, 512, 8, 2, 1408, Q.F16, False),
                                             write_lora(p + ".lora", 8, 512, 128, 16)), 4096,
         ["--lora", "{path}.lora"], ["--lora", "{path}.lora"]),
        ("bert embedding (bge-small)", lambda p: write_bert(p, 4, 384, 12, 1536, Q.F16), 512, ["--embedding"], []),
        ("bert reranker (bge-rr-large)", lambda p: write_bert(p, 2, 1024, 16, 4096, Q.F16, rerank=True), 512,
         ["--reranking"], []),
    ]
    d = tempfile.mkdtemp(prefix="mlgate-llama-")
    print(f"{'model':28} {'weights mlgate':>15} {'llama.cpp':>10} {'err':>7} | {'KV mlgate':>10} {'llama.cpp':>10} "
          f"{'err':>7} | {'host other':>10} {'compute':>8}")
    worst = 0.0
    rows = [(name, (lambda p, a=(arch, nl, ne, nh, nkv, nff, qt, tied, swa, ex): write(p, *a)), ctx, lopts, mopts,
             False) for name, arch, nl, ne, nh, nkv, nff, qt, tied, swa, ex, ctx, lopts, mopts in models]
    rows += [(name, wr, ctx, lopts, mopts, True) for name, wr, ctx, lopts, mopts in shaped]
    under = 0
    for name, writer, ctx, lopts, mopts, check_compute in rows:
        path = os.path.join(d, "model.gguf")
        writer(path)
        lopts = [x.replace("{path}", path) for x in lopts]
        mopts = [x.replace("{path}", path) for x in mopts]
        got, _ = llama_run(exe, path, ctx, lopts)
        fit = json.loads(subprocess.run([mlgate, "fit", "--json", "--ram", "16G", "-c", str(ctx)] + mopts + [path],
                                        capture_output=True, text=True, env=dict(os.environ, MLGATE_NVML="/nonexistent")).stdout)
        w = fit["ram"]["weights"] / 2**20
        kv = fit["ram"]["kv"] / 2**20
        we = (w - got["model"]) / got["model"] * 100
        ke = (kv - got["kv"]) / got["kv"] * 100 if got["kv"] else (0.0 if kv < 0.01 else 100.0)
        worst = max(worst, abs(we), abs(ke))
        graph = fit["ram"]["other"] / 2**20 - 150
        mark = ""
        if check_compute and graph < got["compute"]:
            under += 1
            mark = "  UNDER"
        print(f"{name:28} {w:11.2f} MiB {got['model']:6.2f} MiB {we:+6.2f}% | {kv:6.2f} MiB {got['kv']:6.2f} MiB "
              f"{ke:+6.2f}% | {fit['ram']['other'] / 2**20:6.1f} MiB {got['compute']:6.1f} MiB{mark}", flush=True)
        for f in (path, path + ".lora"):
            if os.path.exists(f):
                os.remove(f)
    os.rmdir(d)
    print(f"largest weights/KV difference: {worst:.2f} %; compute under llama.cpp's: {under} of {len(shaped)} checked")
    sys.exit(0 if worst <= 1.0 and not under else 1)


if __name__ == "__main__":
    main()

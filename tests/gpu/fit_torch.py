#!/usr/bin/env python3
"""fit_torch.py - on the GPU machine: `mlgate fit` for safetensors checkpoints against what PyTorch +
transformers really allocate. Builds LlamaForCausalLM checkpoints with random weights (no downloads),
saves them, loads them on the GPU, runs a forward pass over N tokens with a KV cache, and compares.

usage: fit_torch.py MLGATE [--held-out]
"""
import json, os, shutil, subprocess, sys, tempfile

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = [
    # name, hidden, intermediate, layers, heads, kv_heads, vocab, tokens
    ("1B-like GQA", 2048, 8192, 16, 32, 8, 128256, 4096),
    ("3B-like GQA", 3072, 8192, 28, 24, 8, 128256, 8192),
    ("7B-like MHA", 4096, 11008, 32, 32, 32, 32000, 4096),
    ("4B-like GQA", 2560, 9728, 36, 32, 8, 151936, 16384),
    ("0.5B-like", 896, 4864, 24, 14, 2, 151936, 32768),
    ("8B-like 2seq", 4096, 14336, 32, 32, 8, 128256, 2048),
]
# Shapes not used to derive the activation rule in lib/models/fit.c (run with --held-out).
HELD_OUT = [
    ("13B-like MHA", 5120, 13824, 40, 40, 40, 32000, 4096),
    ("1.5B-like", 1536, 8960, 28, 12, 2, 151936, 24576),
    ("2B-like 4seq", 2304, 9216, 26, 9, 3, 256000, 4096),
]


def kv_bytes(cache):
    total = 0
    layers = getattr(cache, "layers", None)
    if layers is not None:
        for l in layers:
            for t in (getattr(l, "keys", None), getattr(l, "values", None)):
                if t is not None:
                    total += t.numel() * t.element_size()
        return total
    for t in list(getattr(cache, "key_cache", [])) + list(getattr(cache, "value_cache", [])):
        total += t.numel() * t.element_size()
    return total


def main():
    mlgate = sys.argv[1]
    shapes = HELD_OUT if "--held-out" in sys.argv[2:] else SHAPES
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    print(f"{'shape':14} {'weights pred':>13} {'measured':>13} {'err':>7} | {'KV pred':>11} {'measured':>11} {'err':>7} | "
          f"{'w+KV pred':>11} {'alloc after fwd':>15} {'err':>7} | {'w+KV+act pred':>13} {'peak in fwd':>11} {'err':>7}")
    for name, hidden, inter, layers, heads, kvh, vocab, n in shapes:
        seqs = int(name.split()[-1][0]) if name.endswith("seq") else 1
        d = tempfile.mkdtemp(prefix="mlgate-fit-")
        cfg = LlamaConfig(hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                          num_attention_heads=heads, num_key_value_heads=kvh, vocab_size=vocab,
                          max_position_embeddings=n, torch_dtype="bfloat16", tie_word_embeddings=False)
        with torch.device("cuda"):
            m = LlamaForCausalLM(cfg).to(torch.bfloat16)
        m.save_pretrained(d, safe_serialization=True)
        del m
        torch.cuda.empty_cache()
        pred = json.loads(subprocess.run([mlgate, "fit", "--json", "--vram", "80G", "-c", str(n),
                                          "--parallel", str(seqs), d],
                                         capture_output=True, text=True).stdout)
        base = torch.cuda.memory_allocated()
        m = LlamaForCausalLM.from_pretrained(d, dtype=torch.bfloat16, device_map="cuda")
        weights = torch.cuda.memory_allocated() - base
        ids = torch.randint(0, vocab, (seqs, n), device="cuda")
        torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            out = m(ids, use_cache=True, logits_to_keep=1)
        kv = kv_bytes(out.past_key_values)
        after = torch.cuda.memory_allocated() - base
        peak = torch.cuda.max_memory_allocated() - base
        w_err = (pred["weights"] - weights) / weights * 100
        k_err = (pred["kv"] - kv) / kv * 100
        t_err = (pred["weights"] + pred["kv"] - after) / after * 100
        peak_pred = pred["weights"] + pred["kv"] + pred["activations"]
        p_err = (peak_pred - peak) / peak * 100
        print(f"{name:14} {pred['weights'] / 2**30:10.2f} GiB {weights / 2**30:10.2f} GiB {w_err:+6.2f}% | "
              f"{pred['kv'] / 2**30:8.3f} GiB {kv / 2**30:8.3f} GiB {k_err:+6.2f}% | "
              f"{(pred['weights'] + pred['kv']) / 2**30:8.2f} GiB {after / 2**30:12.2f} GiB {t_err:+6.2f}% | "
              f"{peak_pred / 2**30:10.2f} GiB {peak / 2**30:8.2f} GiB {p_err:+6.2f}%", flush=True)
        del m, out
        torch.cuda.empty_cache()
        shutil.rmtree(d)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""torch_runtime.py - on the GPU machine: the GPU memory a PyTorch + transformers process holds beyond what
its caching allocator ever had allocated (CUDA context, cuBLAS workspace, allocator slack), for the
safetensors rule in lib/models/fit.c (MG_TORCH_RUNTIME), and `mlgate fit`'s need against the whole.

usage: torch_runtime.py MLGATE
"""
import json, shutil, subprocess, sys, tempfile

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = [  # name, hidden, intermediate, layers, heads, kv_heads, vocab, tokens
    ("1B-like GQA", 2048, 8192, 16, 32, 8, 128256, 4096),
    ("3B-like GQA", 3072, 8192, 28, 24, 8, 128256, 8192),
    ("7B-like MHA", 4096, 11008, 32, 32, 32, 32000, 4096),
]


def device_used():
    free, total = torch.cuda.mem_get_info()
    return total - free


def main():
    mlgate = sys.argv[1]
    smi = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True).stdout.split()
    before = int(smi[0]) << 20 if smi else 0   # other processes, before this one made a context
    torch.cuda.init()
    torch.zeros(1, device="cuda")
    ctx = device_used() - before - torch.cuda.memory_reserved()
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}: a bare context holds {ctx / 2**20:.0f} MiB")
    print(f"{'shape':14} {'peak alloc':>11} {'reserved':>10} {'device used':>12} {'runtime':>9} | {'fit need':>10} {'vs used':>8}")
    for name, hidden, inter, layers, heads, kvh, vocab, n in SHAPES:
        d = tempfile.mkdtemp(prefix="mlgate-rt-")
        cfg = LlamaConfig(hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                          num_attention_heads=heads, num_key_value_heads=kvh, vocab_size=vocab,
                          max_position_embeddings=n, torch_dtype="bfloat16", tie_word_embeddings=False)
        with torch.device("cuda"):   # random weights made on the GPU (fast), saved, then freed
            m = LlamaForCausalLM(cfg).to(torch.bfloat16)
        m.save_pretrained(d, safe_serialization=True)
        del m
        pred = json.loads(subprocess.run([mlgate, "fit", "--json", "--vram", "139G", "-c", str(n), d],
                                         capture_output=True, text=True).stdout)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        m = LlamaForCausalLM.from_pretrained(d, dtype=torch.bfloat16, device_map="cuda")
        ids = torch.randint(0, vocab, (1, n), device="cuda")
        with torch.no_grad():
            out = m(ids, use_cache=True, logits_to_keep=1)
        torch.cuda.synchronize()
        peak, reserved, used = torch.cuda.max_memory_allocated(), torch.cuda.memory_reserved(), device_used() - before
        runtime = used - peak
        print(f"{name:14} {peak / 2**30:8.2f} GiB {reserved / 2**30:7.2f} GiB {used / 2**30:9.2f} GiB "
              f"{runtime / 2**20:6.0f} MiB | {pred['need'] / 2**30:7.2f} GiB {(pred['need'] - used) / used * 100:+7.2f}%")
        del m, out, ids
        torch.cuda.empty_cache()
        shutil.rmtree(d)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""moe-fit.py - `mlgate fit` on a Qwen3-30B-A3B-shaped MoE GGUF (48 blocks, 128 experts of 768, 8 used;
Q4_K experts and embeddings, Q8_0 attention, Q6_K output: ~17.7 GB) on 16, 24 and 32 GB GPUs. The file
is written by the `gguf` package as a header plus a sparse hole, so it takes no disk space.

usage: moe-fit.py MLGATE
"""
import os, subprocess, sys, tempfile

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q, GGML_QUANT_SIZES

L, H, HEADS, KV, HD, E, FF, VOCAB = 48, 2048, 32, 4, 128, 128, 768, 151936


def nbytes(t, shape):
    block, size = GGML_QUANT_SIZES[t]
    return int(np.prod(shape)) // block * size


def main():
    mlgate = sys.argv[1]
    d = tempfile.mkdtemp(prefix="mlgate-moe-")
    path = os.path.join(d, "qwen3moe-30b-a3b-like.gguf")
    w = GGUFWriter(path, "qwen3moe")
    w.add_block_count(L)
    w.add_embedding_length(H)
    w.add_context_length(40960)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV)
    w.add_key_length(HD)
    w.add_value_length(HD)
    w.add_expert_count(E)
    w.add_expert_used_count(8)
    w.add_expert_feed_forward_length(FF)
    w.add_token_list([f"t{i}" for i in range(VOCAB)])
    tensors = [("token_embd.weight", (VOCAB, H), Q.Q4_K), ("output_norm.weight", (H,), Q.F32),
               ("output.weight", (VOCAB, H), Q.Q6_K)]
    for i in range(L):
        b = f"blk.{i}."
        tensors += [(b + "attn_norm.weight", (H,), Q.F32), (b + "attn_q.weight", (HEADS * HD, H), Q.Q8_0),
                    (b + "attn_k.weight", (KV * HD, H), Q.Q8_0), (b + "attn_v.weight", (KV * HD, H), Q.Q8_0),
                    (b + "attn_output.weight", (H, HEADS * HD), Q.Q8_0), (b + "attn_q_norm.weight", (HD,), Q.F32),
                    (b + "attn_k_norm.weight", (HD,), Q.F32), (b + "ffn_norm.weight", (H,), Q.F32),
                    (b + "ffn_gate_inp.weight", (E, H), Q.F32), (b + "ffn_gate_exps.weight", (E, FF, H), Q.Q4_K),
                    (b + "ffn_up_exps.weight", (E, FF, H), Q.Q4_K), (b + "ffn_down_exps.weight", (E, H, FF), Q.Q4_K)]
    total = 0
    for name, shape, t in tensors:
        n = nbytes(t, shape)
        w.add_tensor_info(name, shape, np.float32, n, raw_dtype=t)   # gguf reverses shape into ggml order
        total += n + (-n % 32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    with open(path, "r+b") as f:   # the data section: a hole
        f.seek(0, 2)
        f.truncate(f.tell() + (-f.tell() % 32) + total)
    print(f"{path}: {total / 1e9:.1f} GB of tensors (sparse)\n")
    for args in (["--vram", "16G"], ["--vram", "24G"], ["--vram", "32G"], ["--vram", "16G", "-c", "4096"],
                 ["--vram", "16G", "-ot", "exps=CPU"]):
        cmd = [mlgate, "fit", "--ram", "64G"] + args + [path]
        print("$ mlgate fit " + " ".join(cmd[2:-1]) + " MODEL")
        print(subprocess.run(cmd, capture_output=True, text=True).stdout)
    os.remove(path)
    os.rmdir(d)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""inspect-speed.py - `mlgate inspect` vs the gguf package's reader on a GGUF with thousands of
tensors and a 150k-token vocabulary (goal: >= 20x faster). Prints figures; asserts nothing.

usage: bench/inspect-speed.py MLGATE [RUNS]
"""
import os, subprocess, sys, tempfile, time

import numpy as np
import gguf


def main():
    mlgate, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    d = tempfile.mkdtemp(prefix="mlgate-bench-")
    path = os.path.join(d, "big-vocab.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(8192)
    w.add_block_count(400)
    w.add_token_list([f"token-{i:06d}" for i in range(150000)])
    w.add_token_scores([0.0] * 150000)
    w.add_token_types([1] * 150000)
    q = gguf.GGMLQuantizationType.Q4_K
    blck, size = gguf.GGML_QUANT_SIZES[q]
    for i in range(400):
        for part in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"):
            w.add_tensor(f"blk.{i}.{part}.weight", np.zeros((1, 256 // blck * size), np.uint8), raw_dtype=q)
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(256, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"file: {os.path.getsize(path) / 2**20:.1f} MiB, 3200 tensors, 150,000-token vocabulary")

    def best(fn):
        t = []
        for _ in range(runs):
            s = time.perf_counter()
            fn()
            t.append(time.perf_counter() - s)
        return min(t)

    ours = best(lambda: subprocess.run([mlgate, "inspect", "--json", path], capture_output=True, check=True))
    ours_plain = best(lambda: subprocess.run([mlgate, "inspect", path], capture_output=True, check=True))

    def reference():
        r = gguf.GGUFReader(path)
        sum(int(t.n_elements) for t in r.tensors)
        len(r.fields["tokenizer.ggml.tokens"].data)

    ref = best(reference)
    print(f"mlgate inspect:           {ours_plain * 1000:8.1f} ms (best of {runs}, whole process)")
    print(f"mlgate inspect --json:    {ours * 1000:8.1f} ms (with the 3,200-tensor list)")
    print(f"gguf.GGUFReader (Python): {ref * 1000:8.1f} ms (in-process, import not counted)")
    print(f"ratio: {ref / ours_plain:.0f}x")
    subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""safetensors_ref.py - mlgate inspect against the reference implementation (`safetensors` on PyPI).

usage: safetensors_ref.py MLGATE    Writes checkpoints (numpy dtypes through the reference writer; FP8,
E8M0, F4 and F6 by hand, as the format defines them), an index-sharded checkpoint with config.json, a
diffusers layout, and broken files; checks that mlgate reads what the reference reads and rejects what
it rejects. Exits 77 when safetensors/numpy are missing.
"""
import json, os, struct, subprocess, sys, tempfile

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import save_file
except ImportError:
    print("safetensors/numpy not installed: skipped")
    sys.exit(77)

from checks import check, result


def move_b(path, offsets):
    """Rewrites tensor "b" of a hand-written file to `offsets`, with data up to its end."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    h = json.loads(data[8:8 + n])
    h["b"]["data_offsets"] = offsets
    hb = json.dumps(h).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + bytes(offsets[1]))


def inspect(path):
    p = subprocess.run([sys.argv[1], "inspect", "--json", path], capture_output=True, text=True)
    return p.returncode, json.loads(p.stdout)["models"][0]


def raw_file(path, tensors, pad=True):
    """Writes a safetensors file by hand: tensors = [(name, dtype, shape, nbytes)]."""
    header, off = {}, 0
    for name, dtype, shape, nbytes in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + nbytes]}
        off += nbytes
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(off))


def reference_accepts(path):
    try:
        with safe_open(path, framework="numpy") as f:
            list(f.keys())
        return True
    except Exception:
        return False


def main():
    d = tempfile.mkdtemp(prefix="mlgate-st-")
    # 1. The reference writer, numpy dtypes.
    p = os.path.join(d, "np.safetensors")
    ts = {"a.weight": np.zeros((3, 5), np.float16), "b.bias": np.ones((7,), np.float32),
          "c": np.zeros((2, 2, 2), np.int8), "d": np.zeros((4,), np.float64), "e": np.zeros((0, 3), np.float32),
          "lm_head.weight_scale": np.ones((5,), np.float32)}
    save_file(ts, p, metadata={"format": "pt"})
    rc, m = inspect(p)
    check("reference file read", rc == 0)
    with safe_open(p, framework="numpy") as f:
        keys = set(f.keys())
        ours = {t["name"]: t for t in m["tensor_list"]}
        check("same tensors", set(ours) == keys)
        for k in keys:
            sl = f.get_slice(k)
            check(f"{k}: dtype {ours[k]['dtype']} vs {sl.get_dtype()}", ours[k]["dtype"] == sl.get_dtype())
            check(f"{k}: shape", ours[k]["shape"] == list(sl.get_shape()))
    check("parameters skip the scale", m["parameters"] == sum(v.size for k, v in ts.items() if "scale" not in k))
    check("bytes", m["tensor_bytes"] == sum(v.nbytes for v in ts.values()))
    # 2. The low-precision dtypes, written by the format's rules: F8 1 B, F4 half, F6 3/4.
    q = os.path.join(d, "fp8.safetensors")
    raw_file(q, [("w8", "F8_E4M3", [128, 64], 8192), ("w5", "F8_E5M2", [64], 64), ("s", "F8_E8M0", [64], 64),
                 ("w4", "F4", [64, 32], 1024), ("w6", "F6_E2M3", [32, 4], 96)])
    rc, m = inspect(q)
    check(f"low-precision dtypes read (exit {rc})", rc == 0)
    check("E8M0 scales are not parameters", m["parameters"] == 128 * 64 + 64 + 64 * 32 + 32 * 4)
    check("dtypes", set(m["dtypes"]) == {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3"})
    # 3. Broken files: mlgate must reject what the reference rejects.
    bad = {
        "hole": [("a", "F32", [2], 8), ("b", "F32", [2], 8)],
        "overlap": [("a", "F32", [4], 16), ("b", "F32", [2], 8)],
        "wrong size": [("a", "F32", [3], 16)],
        "unknown dtype": [("a", "F13", [2], 8)],
    }
    for name, tensors in bad.items():
        path = os.path.join(d, name.replace(" ", "_") + ".safetensors")
        raw_file(path, tensors)
        if name == "hole":   # make a real gap: second tensor starts 8 bytes late
            move_b(path, [16, 24])
        if name == "overlap":
            move_b(path, [8, 16])
        rc, m = inspect(path)
        check(f"{name}: the reference rejects it", not reference_accepts(path))
        check(f"{name}: mlgate rejects it (exit {rc})", rc == 1 and m["shards"][0]["error"])
    # Headers a dict cannot write: names and fields given twice, JSON the reference's parser refuses.
    t = '"dtype":"F32","shape":[2],"data_offsets":'
    by_hand = {
        "tensor named twice": ('{"a":{%s[0,8]},"a":{%s[8,16]}}' % (t, t), 16),
        "dtype given twice": ('{"a":{"dtype":"F32",%s[0,8]}}' % t, 8),
        "__metadata__ twice": ('{"__metadata__":{},"__metadata__":{},"a":{%s[0,8]}}' % t, 8),
        "a metadata value not a string": ('{"__metadata__":{"n":1},"a":{%s[0,8]}}' % t, 8),
        "trailing comma": ('{"a":{%s[0,8]},}' % t, 8),
        "leading zero": ('{"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}', 8),
        "lone surrogate": ('{"\\ud800":{%s[0,8]}}' % t, 8),
        "trailing garbage": ('{"a":{%s[0,8]}} x' % t, 8),
        "128 levels deep": ('{"a":{%s[0,8],"x":%s%s}}' % (t, "[" * 126, "]" * 126), 8),
    }
    for name, (hdr, n) in by_hand.items():
        path = os.path.join(d, name.replace(" ", "_") + ".safetensors")
        hb = hdr.encode()
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(hb)) + hb + bytes(n))
        rc, m = inspect(path)
        check(f"{name}: the reference rejects it", not reference_accepts(path))
        check(f"{name}: mlgate rejects it (exit {rc}: {m['shards'][0].get('error')})", rc == 1 and m["shards"][0]["error"])
    deep = os.path.join(d, "deep_ok.safetensors")
    hb = ('{"a":{%s[0,8],"x":%s%s,"y":[{}]},"__metadata__":{"k":"1","k":"2"}}' % (t, "[" * 125, "]" * 125)).encode()
    with open(deep, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + bytes(8))
    rc, m = inspect(deep)
    check("127 levels, unknown fields, a metadata key twice: the reference reads it", reference_accepts(deep))
    check(f"... and so does mlgate (exit {rc})", rc == 0 and m["tensors"] == 1)
    huge = os.path.join(d, "huge_header.safetensors")
    with open(huge, "wb") as f:
        f.write(struct.pack("<Q", 10 * 2**30) + b"{}")
    rc, m = inspect(huge)
    check("10 GB header length: rejected", rc == 1 and m["shards"][0]["error"])
    cut = os.path.join(d, "cut.safetensors")
    with open(p, "rb") as f, open(cut, "wb") as g:
        g.write(f.read()[:-3])
    rc, m = inspect(cut)
    check("truncated: rejected", rc == 1 and not reference_accepts(cut))
    # 4. An index-sharded checkpoint with config.json, named by its directory.
    ck = os.path.join(d, "ck")
    os.makedirs(ck)
    save_file({"x.weight": np.zeros((10, 10), np.float16)}, os.path.join(ck, "model-00001-of-00002.safetensors"))
    save_file({"y.weight": np.zeros((20,), np.float32)}, os.path.join(ck, "model-00002-of-00002.safetensors"))
    json.dump({"metadata": {"total_size": 280}, "weight_map": {"x.weight": "model-00001-of-00002.safetensors",
                                                               "y.weight": "model-00002-of-00002.safetensors"}},
              open(os.path.join(ck, "model.safetensors.index.json"), "w"))
    json.dump({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584,
               "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
               "max_position_embeddings": 32768, "torch_dtype": "bfloat16"}, open(os.path.join(ck, "config.json"), "w"))
    rc, m = inspect(ck)
    check("sharded: both shards", rc == 0 and len(m["shards"]) == 2)
    check("sharded: totals", m["parameters"] == 120 and m["tensor_bytes"] == 280)
    check("sharded: config", m["architecture"] == "Qwen2ForCausalLM" and m["config"]["num_key_value_heads"] == 4)
    # 5. A diffusers layout: the weights under transformer/.
    df = os.path.join(d, "flux")
    os.makedirs(os.path.join(df, "transformer"))
    save_file({"t.w": np.zeros((8, 8), np.float16)}, os.path.join(df, "transformer", "diffusion_pytorch_model.safetensors"))
    rc, m = inspect(df)
    check("diffusers layout found", rc == 0 and m["parameters"] == 64)
    subprocess.run(["rm", "-rf", d])
    return result()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""gguf_ref.py - mlgate inspect against the reference reader, llama.cpp's `gguf` package (PyPI).

usage: gguf_ref.py MLGATE     writes GGUF files with gguf.GGUFWriter (every value type, quantized
tensors, a split model), reads them with gguf.GGUFReader and with `mlgate inspect --json`, compares.
Exits 77 when the gguf package is not installed.
"""
import json, os, subprocess, sys, tempfile

try:
    import numpy as np
    import gguf
except ImportError:
    print("gguf/numpy not installed: skipped")
    sys.exit(77)

Q = gguf.GGMLQuantizationType
from checks import check, result


def raw(qtype, shape):
    """Random bytes of the right size for a quantized tensor of `shape` (ne0 last in numpy order)."""
    blck, size = gguf.GGML_QUANT_SIZES[qtype]
    row = shape[-1] // blck * size
    return np.random.randint(0, 255, size=(*shape[:-1], row), dtype=np.uint8)


def write_llama(path, n_layers=2, emb=256, vocab=1000, split=None):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny test llama")
    w.add_context_length(4096)
    w.add_embedding_length(emb)
    w.add_block_count(n_layers)
    w.add_head_count(8)
    w.add_head_count_kv(2)
    w.add_file_type(15)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(vocab)])
    w.add_array("test.nested", [[1, 2], [3, 4, 5]])
    w.add_float64("test.f64", 1.5)
    w.add_int8("test.i8", -3)
    w.add_bool("test.bool", True)
    w.add_uint64("test.u64", 2**40)
    if split:
        w.add_uint16("split.no", split[0])
        w.add_uint16("split.count", split[1])
        w.add_int32("split.tensors.count", split[2])
    w.add_tensor("token_embd.weight", raw(Q.Q4_K, (vocab, emb)), raw_dtype=Q.Q4_K)
    for i in range(n_layers):
        w.add_tensor(f"blk.{i}.attn_q.weight", raw(Q.Q4_K, (emb, emb)), raw_dtype=Q.Q4_K)
        w.add_tensor(f"blk.{i}.attn_v.weight", raw(Q.Q6_K, (emb // 4, emb)), raw_dtype=Q.Q6_K)
        w.add_tensor(f"blk.{i}.ffn_down.weight", raw(Q.Q8_0, (emb, emb * 2)), raw_dtype=Q.Q8_0)
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(emb, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", raw(Q.MXFP4, (emb * 2, emb)), raw_dtype=Q.MXFP4)
        w.add_tensor(f"blk.{i}.ffn_up.weight", np.zeros((emb * 2, emb), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def compare(path):
    r = gguf.GGUFReader(path)
    out = subprocess.run([sys.argv[1], "inspect", "--json", path], capture_output=True, text=True)
    m = json.loads(out.stdout)["models"][0]
    name = os.path.basename(path)
    check(f"{name}: exit {out.returncode}", out.returncode == 0)
    check(f"{name}: tensors {m['tensors']} vs {len(r.tensors)}", m["tensors"] == len(r.tensors))
    kvs = [k for k in r.fields if not k.startswith("GGUF.")]   # the reader adds GGUF.version etc.
    check(f"{name}: metadata keys {m['metadata_keys']} vs {len(kvs)}", m["metadata_keys"] == len(kvs))
    arch = r.fields["general.architecture"].contents()
    check(f"{name}: architecture", m["architecture"] == arch)
    params = sum(int(t.n_elements) for t in r.tensors)
    check(f"{name}: parameters {m['parameters']} vs {params}", m["parameters"] == params)
    ours = {t["name"]: t for t in m["tensor_list"]}
    for t in r.tensors:
        o = ours.get(t.name)
        ok = (o is not None and o["type"] == int(t.tensor_type) and o["shape"] == [int(x) for x in t.shape]
              and o["bytes"] == int(t.n_bytes) and o["offset"] == int(t.data_offset) - int(r.data_offset))
        check(f"{name}: tensor {t.name}: {o} vs type {int(t.tensor_type)} shape {list(t.shape)} "
              f"bytes {t.n_bytes} offset {t.data_offset - r.data_offset}", ok)
    vocab = len(r.fields["tokenizer.ggml.tokens"].data) if "tokenizer.ggml.tokens" in r.fields else 0
    check(f"{name}: vocabulary {m['vocabulary']} vs {vocab}", m["vocabulary"] == vocab)
    return m


def main():
    np.random.seed(1)
    d = tempfile.mkdtemp(prefix="mlgate-gguf-")
    p = os.path.join(d, "tiny-llama.gguf")
    write_llama(p)
    m = compare(p)
    check("context length", m["context_length"] == 4096)
    check("heads", (m["head_count"], m["head_count_kv"]) == (8, 2))
    check("nested array noted", any("nested" in i for i in m["issues"]))
    check("types", set(m["types"]) == {"Q4_K", "Q6_K", "Q8_0", "F32", "MXFP4", "F16"})
    check("llama is known to llama.cpp", m["llama_cpp"]["known"] is True)
    check("its MXFP4 tensors need llama.cpp b8681 (not in b5882)",
          (m["llama_cpp"]["since"], m["llama_cpp"]["not_in"], m["llama_cpp"]["decided_by"]) == (8681, 5882, "MXFP4"))
    # The error users hit: an architecture llama.cpp spells differently.
    ds = os.path.join(d, "ds.gguf")
    w = gguf.GGUFWriter(ds, "deepseek3_2")
    w.add_tensor("x", np.zeros(32, dtype=np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    out = json.loads(subprocess.run([sys.argv[1], "inspect", "--json", ds], capture_output=True, text=True).stdout)["models"][0]
    lc = out["llama_cpp"]
    check("deepseek3_2 is unknown, spelled deepseek32",
          (lc["known"], lc["spelling"], lc["since"], lc["decided_by"]) == (False, "deepseek32", None, None))
    # A split model: three shards, totals over all.
    for i in range(3):
        write_llama(os.path.join(d, f"big-{i + 1:05d}-of-00003.gguf"), n_layers=1, split=(i, 3, 21))
    out = json.loads(subprocess.run([sys.argv[1], "inspect", "--json", os.path.join(d, "big-00002-of-00003.gguf")],
                                    capture_output=True, text=True).stdout)["models"][0]
    check("split: 3 shards found from the second", len(out["shards"]) == 3)
    for i in range(3):
        r = gguf.GGUFReader(os.path.join(d, f"big-{i + 1:05d}-of-00003.gguf"))
        check(f"split: shard {i + 1} tensors", out["shards"][i]["tensors"] == len(r.tensors))
        check(f"split: shard {i + 1} header bytes", out["shards"][i]["header_bytes"] == int(r.data_offset))
    one = gguf.GGUFReader(os.path.join(d, "big-00001-of-00003.gguf"))
    check("split: parameters summed", out["parameters"] == 3 * sum(int(t.n_elements) for t in one.tensors))
    # Metadata that tries the terminal: escapes in the name, a key, a tensor name, invalid UTF-8 in a value.
    ev = os.path.join(d, "evil.gguf")
    w = gguf.GGUFWriter(ev, "llama")
    w.add_name("\x1b]0;pwned\x07\x1b[2Jtiny\u009b31m")
    w.add_string("evil.\x1b[31mkey", "x")
    w.add_key_value("evil.bytes", b"\xff\xfe\x1b[5m", gguf.GGUFValueType.STRING)
    w.add_tensor("t\x1b[8m", np.zeros(32, dtype=np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    r = subprocess.run([sys.argv[1], "inspect", "--metadata", "--tensors", ev], capture_output=True)
    try:
        r.stdout.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    check("metadata with escapes: shown without control characters, as valid UTF-8",
          r.returncode == 0 and b"tiny" in r.stdout and b"evil.[31mkey" in r.stdout and utf8
          and not any(c in r.stdout for c in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xff")))
    j = subprocess.run([sys.argv[1], "inspect", "--json", ev], capture_output=True)
    check("--json keeps the name, escaped", json.loads(j.stdout)["models"][0]["name"] == "\x1b]0;pwned\x07\x1b[2Jtiny\u009b31m")
    # A truncated copy: an error, exit 1.
    t = os.path.join(d, "cut.gguf")
    with open(p, "rb") as f, open(t, "wb") as g:
        g.write(f.read()[: os.path.getsize(p) - 1000])
    r = subprocess.run([sys.argv[1], "inspect", "--json", t], capture_output=True, text=True)
    check("truncated file: exit 1 with a reason", r.returncode == 1 and "truncated" in r.stdout)
    subprocess.run(["rm", "-rf", d])
    return result()


if __name__ == "__main__":
    sys.exit(main())

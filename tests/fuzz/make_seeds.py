#!/usr/bin/env python3
# make_seeds.py - writes the hand-made seeds of tests/fuzz/corpus/<target>/ (valid files and hostile ones); the fuzzers' merged finds sit beside them.
# usage: tests/fuzz/make_seeds.py [CORPUS_DIR]    (default: tests/fuzz/corpus next to this script)
import base64
import io
import json
import math
import os
import struct
import sys
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")


def write(target, name, data, prefix="seed-"):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, prefix + name), "wb") as f:
        f.write(data)


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


# ---- scan: the nvcc fixtures are its seeds (tests/fixtures, replayed beside these) --------------

def scan_seeds():
    t = "scan"
    elf = bytearray(fixture("sass_90.o")[:64])   # an ELF header whose section table lies past the end
    write(t, "elf-header-only", bytes(elf))
    write(t, "zip-empty", b"PK\5\6" + b"\0" * 18)
    write(t, "zip-eocd-lies", b"PK\3\4" + b"\0" * 26 + b"PK\5\6\0\0\0\0\1\0\1\0\xff\xff\0\0\0\0\0\0\0\0")
    write(t, "fatbin-magic", b"\x50\xed\x55\xba\x01\x00\x10\x00" + b"\xff" * 56)


# ---- GGUF ----------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)


class Gguf:
    def __init__(self, version=3, alignment=None):
        self.version, self.kv, self.tensors, self.alignment = version, [], [], alignment

    def cnt(self, n):
        return struct.pack("<I" if self.version == 1 else "<Q", n)

    def s(self, text):
        b = text.encode() if isinstance(text, str) else text
        return self.cnt(len(b)) + b

    def val(self, t, v):
        fmt = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "B", U64: "Q",
               I64: "q", F64: "d"}
        if t == STRING:
            return self.s(v)
        if t == ARRAY:
            et, items = v
            return struct.pack("<I", et) + self.cnt(len(items)) + b"".join(self.val(et, x) for x in items)
        return struct.pack("<" + fmt[t], v)

    def add(self, key, t, v):
        self.kv.append((key, t, v))
        return self

    def tensor(self, name, ne, ggml_type, offset=None, nbytes=0):
        self.tensors.append((name, ne, ggml_type, offset, nbytes))
        return self

    def bytes(self, data_bytes=None):
        align = self.alignment or 32
        out = b"GGUF" + struct.pack("<I", self.version) + self.cnt(len(self.tensors)) + self.cnt(len(self.kv))
        for k, t, v in self.kv:
            out += self.s(k) + struct.pack("<I", t) + self.val(t, v)
        off = 0
        for name, ne, ty, offset, nbytes in self.tensors:
            dims = b"".join(struct.pack("<I" if self.version == 1 else "<Q", x) for x in ne)
            out += self.s(name) + struct.pack("<I", len(ne)) + dims + struct.pack("<IQ", ty,
                                                                                  off if offset is None else offset)
            off += (nbytes + align - 1) // align * align
        if self.tensors:
            out += b"\0" * (-len(out) % align)
        return out + b"\0" * (off if data_bytes is None else data_bytes)


def llama(arch="llama", layers=2, embd=64, heads=4, kv=2, ctx=2048, version=3):
    g = Gguf(version)
    g.add("general.architecture", STRING, arch)
    g.add(arch + ".block_count", U32, layers)
    g.add(arch + ".embedding_length", U32, embd)
    g.add(arch + ".attention.head_count", U32, heads)
    g.add(arch + ".attention.head_count_kv", U32, kv)
    g.add(arch + ".context_length", U32, ctx)
    g.add("tokenizer.ggml.tokens", ARRAY, (STRING, ["a", "b", "c"]))
    return g


def gguf_seeds():
    t = "gguf"
    # the fit's knobs are the input's last 4 bytes (fuzz_gguf.c): 4096 tokens, one 24 GiB GPU
    write(t, "tiny.gguf", fixture("tiny.gguf") + bytes([5, 0, 0, 4]))
    g = llama()
    g.tensor("token_embd.weight", [64, 3], 0, nbytes=64 * 3 * 4)
    g.tensor("blk.0.attn_q.weight", [64, 64], 1, nbytes=64 * 64 * 2)
    g.tensor("blk.1.ffn_up_exps.weight", [64, 32, 4], 8, nbytes=2 * 34 * 32 * 4)
    g.tensor("output.weight", [64, 3], 0, nbytes=64 * 3 * 4)
    write(t, "moe", g.bytes())
    # v1 (32-bit counts) and v2
    g = llama(version=1)
    g.tensor("blk.0.attn_k.weight", [32, 2], 0, nbytes=256)
    write(t, "v1", g.bytes())
    g = llama(version=2)
    g.tensor("blk.0.attn_k.weight", [32, 2], 0, nbytes=256)
    write(t, "v2", g.bytes())
    # sliding window: a per-layer pattern array, and gemma3's default pattern
    g = llama("gemma3", layers=8)
    g.add("gemma3.attention.sliding_window", U32, 1024)
    g.add("gemma3.attention.sliding_window_pattern", ARRAY, (BOOL, [1, 1, 1, 0, 1, 1, 1, 0]))
    g.add("gemma3.attention.key_length", U32, 256).add("gemma3.attention.value_length", U32, 256)
    g.tensor("blk.7.attn_q.weight", [256, 2], 30, nbytes=1024)
    write(t, "swa-pattern", g.bytes())
    g = llama("gemma2", layers=6)
    g.add("gemma2.attention.sliding_window", U32, 4096)
    g.add("gemma2.attention.shared_kv_layers", U32, 2)
    write(t, "swa-default-shared", g.bytes())
    # recurrent and hybrid
    g = llama("mamba2", layers=4, heads=0, kv=0)
    g.add("mamba2.ssm.conv_kernel", U32, 4).add("mamba2.ssm.inner_size", U32, 128)
    g.add("mamba2.ssm.state_size", U32, 16).add("mamba2.ssm.group_count", U32, 1)
    write(t, "mamba2", g.bytes())
    g = llama("qwen3next", layers=8)
    g.add("qwen3next.ssm.conv_kernel", U32, 4).add("qwen3next.ssm.inner_size", U32, 256)
    g.add("qwen3next.ssm.state_size", U32, 128).add("qwen3next.full_attention_interval", U32, 4)
    write(t, "hybrid", g.bytes())
    # per-layer KV heads, MLA
    g = llama("deepseek2", layers=3)
    g.kv = [kv for kv in g.kv if not kv[0].endswith("head_count_kv")]
    g.add("deepseek2.attention.head_count_kv", ARRAY, (I32, [2, 0, 8]))
    g.add("deepseek2.attention.key_length_mla", U32, 576).add("deepseek2.attention.key_length", U32, 576)
    g.add("deepseek2.attention.value_length", U32, 512)
    write(t, "mla-per-layer", g.bytes())
    # every metadata type, nested arrays, a bad alignment
    g = Gguf()
    for i, (ty, v) in enumerate([(U8, 1), (I8, -1), (U16, 2), (I16, -2), (U32, 3), (I32, -3), (F32, 1.5),
                                 (BOOL, 1), (STRING, "s"), (U64, 2 ** 63), (I64, -(2 ** 62)), (F64, 1e300)]):
        g.add("k%d" % i, ty, v)
    g.add("nested", ARRAY, (ARRAY, [(U8, [1, 2]), (STRING, ["x"])]))
    g.add("general.alignment", U32, 3)
    write(t, "types-nested", g.bytes())
    # hostile sizes: 2^62 F32 elements (ggml_nbytes 2^64), a saturated tensor, offsets out of order
    # huge shapes in the metadata: context, heads, layers at the cap
    g = llama(layers=1024, embd=2 ** 31, heads=1, kv=2 ** 31)
    g.kv = [kv for kv in g.kv if not kv[0].endswith("context_length")]
    g.add("llama.context_length", U64, 2 ** 64 - 1)
    g.tensor("blk.1023.ffn_down_exps.weight", [32], 8, nbytes=34)
    write(t, "huge-shape", g.bytes())
    # truncations and caps
    full = fixture("tiny.gguf")
    write(t, "truncated", full[:200])
    write(t, "big-counts", b"GGUF" + struct.pack("<IQQ", 3, 1 << 24, 1 << 20))
    write(t, "bigendian", b"GGUF" + struct.pack(">I", 3) + b"\0" * 16)
    write(t, "string-past-end", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2 ** 63) + b"k")
    write(t, "array-past-end", Gguf().add("a", ARRAY, (U64, [])).bytes()[:-8] + struct.pack("<Q", 2 ** 61))


# ---- safetensors ------------------------------------------------------------

def st(header, data=b"", pad=True, raw=False):
    h = header if raw else json.dumps(header, separators=(",", ":"))
    h = h.encode() if isinstance(h, str) else h
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds():
    t = "safetensors"
    write(t, "tiny.safetensors", fixture("tiny.safetensors"))
    write(t, "meta", st({"__metadata__": {"format": "pt"}, "a": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
                         "a.weight_scale": {"dtype": "F8_E8M0", "shape": [1], "data_offsets": [8, 9]}}, b"\0" * 9))
    write(t, "fp4-odd", st({"q": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}, b"\0\0"))
    write(t, "fp4-even", st({"q": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]},
                             "f6": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [2, 5]}}, b"\0" * 5))
    write(t, "hole", st({"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}, b"\0\0"))
    write(t, "overlap", st({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                            "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"\0" * 3))
    write(t, "empty-shape", st({"s": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]},
                                "z": {"dtype": "F32", "shape": [0, 5], "data_offsets": [8, 8]}}, b"\0" * 8))
    write(t, "eight-dims", st({"e": {"dtype": "I8", "shape": [1] * 8, "data_offsets": [0, 1]}}, b"\0"))
    write(t, "nine-dims", st({"e": {"dtype": "I8", "shape": [1] * 9, "data_offsets": [0, 1]}}, b"\0"))
    write(t, "numbers", st('{"n":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1.0]},"m":{"dtype":"U8",'
                           '"shape":[-0],"data_offsets":[1,1]}}', b"\0", raw=True))
    write(t, "huge-shape", st({"h": {"dtype": "U64", "shape": [2 ** 53, 2 ** 53], "data_offsets": [0, 8]}}, b"\0" * 8))
    write(t, "duplicate-keys", st('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8",'
                                  '"shape":[1],"data_offsets":[1,2]}}', b"\0\0", raw=True))
    write(t, "not-object", st("[1,2,3]", raw=True))
    write(t, "not-brace", st(" {}", raw=True))
    write(t, "short-file", st({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 4))
    write(t, "header-past-end", struct.pack("<Q", 4096) + b"{")
    write(t, "header-too-big", struct.pack("<Q", 100000001) + b"{}")
    write(t, "unterminated-json", st(b'{"a":{"dtype":"U8"', raw=True))
    write(t, "deep-json", st(b"{\"a\":" + b"[" * 2000 + b"]" * 2000 + b"}", raw=True))


# ---- index JSON and config.json ------------------------------------------

def st_index_seeds():
    t = "st_index"
    a, b = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    write(t, "both", json.dumps({"metadata": {"total_size": 16},
                                 "weight_map": {"model.embed_tokens.weight": a, "lm_head.weight": b}}))
    write(t, "one", json.dumps({"weight_map": {"x": a}}))
    write(t, "missing-shard", json.dumps({"weight_map": {"x": "model-00009-of-00009.safetensors", "y": a}}))
    write(t, "paths", json.dumps({"weight_map": {"a": "../x.safetensors", "b": "/etc/passwd", "c": "..", "d": "",
                                                 "e": ".", "f": 7, "g": None}}))
    write(t, "total-sizes", '{"metadata":{"total_size":-1},"weight_map":{"x":"%s"}}' % a)
    write(t, "total-huge", '{"metadata":{"total_size":1e300},"weight_map":{}}')
    write(t, "map-not-object", '{"weight_map":["%s"]}' % a)
    write(t, "many", json.dumps({"weight_map": {"t%d" % i: "s%03d.safetensors" % i for i in range(600)}}))
    write(t, "not-json", "weight_map: x")
    write(t, "empty", "")


def st_config_seeds():
    t = "st_config"
    base = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
            "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
            "max_position_embeddings": 131072, "vocab_size": 128256, "intermediate_size": 14336}
    write(t, "llama", json.dumps(base))
    write(t, "multimodal", json.dumps({"architectures": ["Gemma3ForConditionalGeneration"], "dtype": "float32",
                                       "text_config": dict(base, head_dim=256), "quantization_config":
                                       {"quant_method": "fp8"}}))
    write(t, "huge", json.dumps(dict(base, hidden_size=999999999999999, num_hidden_layers=999999999999999,
                                     num_attention_heads=1, num_key_value_heads=999999999999999,
                                     intermediate_size=999999999999999, max_position_embeddings=999999999999999)))
    write(t, "zero-heads", json.dumps(dict(base, num_attention_heads=0)))
    write(t, "odd-values", '{"architectures":"x","hidden_size":-5,"num_hidden_layers":1e16,"num_attention_heads":"8",'
                           '"torch_dtype":7,"head_dim":0.5,"model_type":"' + "m" * 200 + '"}')
    write(t, "float8", json.dumps(dict(base, torch_dtype="float8_e4m3fn")))
    write(t, "not-object", "[1]")
    write(t, "empty", "")


# ---- the matrix ---------------------------------------------------------------

def matrix_seeds():
    t = "matrix"
    for name in sorted(os.listdir(os.path.join(FIXTURES, "matrix"))):
        write(t, name, fixture(os.path.join("matrix", name)))
    write(t, "files.yaml", """host: {vram: "24G,80G", headroom: 5%}
models:
  - {name: g, kind: llm, endpoint: "http://h/v1", file: /models/tiny.gguf, ctx: 4096}
  - {name: s, kind: embedding, endpoint: "http://h/v1", file: tiny.safetensors, residency: on-demand}
  - {name: c, kind: llm, endpoint: "http://h/v1", file: ckpt, gpu: 1}
  - {name: u, kind: llm, endpoint: "https://h/v1", file: "https://example.com/x-00001-of-00003.gguf"}
  - {name: x, kind: tts, exec: [espeak-ng, --stdout, hi], memory: 1G, ram: 2G}
""")
    write(t, "huge.yaml", """models:
  - {name: a, kind: llm, endpoint: "http://h", memory: 17E, residency: on-demand}
  - {name: b, kind: llm, endpoint: "http://h", memory: 16000P, residency: on-demand}
  - {name: c, kind: llm, endpoint: "http://h", memory: 17999999999999999999}
  - {name: d, kind: llm, endpoint: "http://h", memory: 9000000000000000000}
  - {name: e, kind: llm, endpoint: "http://h", memory: 9000000000000000000}
""")
    write(t, "pinned.yaml", """host: {gpus: "RTX 5090,H100", deadline: 10s}
models:
  - {name: a, kind: image, endpoint: "http://h", memory: 20G, gpu: 0, probe: {width: 512, height: 512}}
  - {name: b, kind: image, endpoint: "http://h", memory: 20G, gpu: 15}
  - {name: c, kind: vlm, endpoint: "http://h", memory: 30G, residency: on-demand, gpu: 1}
  - {name: d, kind: asr, endpoint: "http://h", memory: 30G, residency: on-demand}
""")
    write(t, "anchors.yaml", """x: &m {name: a, kind: llm, endpoint: "http://h"}
models: [*m, *m]
""")
    write(t, "self-alias.yaml", "models: &l [*l]\n")
    write(t, "errors.yaml", """host: {headroom: 95%, bogus: 1}
models:
  - {name: "bad name", kind: robot, endpoint: ftp://x, exec: [], memory: lots, timeout: forever}
""")
    write(t, "lists.yaml", "models:\n  - name: e\n    kind: llm\n    exec: [" + ", ".join("a%d" % i for i in range(33)) +
          "]\n    binaries: [/bin/true]\n")
    write(t, "not-mapping.yaml", "- 1\n- 2\n")
    write(t, "deep.yaml", "models: " + "[" * 500 + "]" * 500 + "\n")
    write(t, "empty.yaml", "")


# ---- answers, media, Content-Range -------------------------------------------

def png(w, h):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = lambda ty, d: struct.pack(">I", len(d)) + ty + d + struct.pack(">I", zlib.crc32(ty + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg(w, h):
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\1\1\0\0\1\0\1\0\0"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\1\x11\0"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def wav(seconds=0.6, rate=2000, bits=16, fmt=1, ch=1, data_len=None, amp=0.5, extensible=False):
    n = int(seconds * rate)
    samples = []
    for i in range(n):
        v = amp * math.sin(2 * math.pi * 220 * i / rate)
        for _ in range(ch):
            if bits == 8:
                samples.append(struct.pack("<B", int(128 + v * 127)))
            elif bits == 16:
                samples.append(struct.pack("<h", int(v * 32767)))
            elif bits == 24:
                samples.append(struct.pack("<i", int(v * 8388607))[:3])
            elif fmt == 3:
                samples.append(struct.pack("<f", v))
            else:
                samples.append(struct.pack("<i", int(v * 2147483647)))
    data = b"".join(samples)
    if extensible:
        fmtc = struct.pack("<HHIIHHHHIH14s", 0xFFFE, ch, rate, rate * ch * bits // 8, ch * bits // 8, bits, 22, bits,
                           0, fmt, b"\0\0\0\0\x10\0\x80\0\0\xaa\0\x38\x9b\x71")
    else:
        fmtc = struct.pack("<HHIIHH", fmt, ch, rate, rate * ch * bits // 8, ch * bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmtc)) + fmtc + b"LIST" + struct.pack("<I", 3) + b"abc\0"
    body += b"data" + struct.pack("<I", len(data) if data_len is None else data_len) + data
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + body


def media_seeds():
    t = "media"
    write(t, "wav16", wav())
    write(t, "wav8-stereo", wav(bits=8, ch=2))
    write(t, "wav24", wav(bits=24, rate=1000))
    write(t, "wav-float", wav(bits=32, fmt=3, rate=1000))
    write(t, "wav-ext", wav(bits=32, fmt=1, rate=1000, extensible=True))
    write(t, "wav-streamed", wav(data_len=0xFFFFFFFF))
    write(t, "wav-silent", wav(amp=0))
    write(t, "wav-truncated", wav(data_len=100000))
    write(t, "wav-odd-format", wav(bits=12))
    write(t, "mp3-id3", b"ID3\4\0\0\0\0\0\0" + b"\xff\xfb\x90\x00" * 300)
    write(t, "mp3-frame", b"\xff\xfb\x90\x00" * 10)
    write(t, "ogg", b"OggS\0\2" + b"\0" * 1100)
    write(t, "flac", b"fLaC\0\0\0\x22" + b"\0" * 1100)
    write(t, "png", png(256, 256))
    write(t, "jpeg", jpeg(640, 480))
    write(t, "jpeg-short-len", b"\xff\xd8\xff\xe0\0\1" + b"\0" * 12)
    write(t, "base64", base64.b64encode(png(32, 32)))
    write(t, "base64-lines", b"iVBO\nRw0K\r\nGgo=junk")


def answer(kind, body, dims=0, w=0, h=0):
    kinds = ["llm", "vlm", "tts", "asr", "embedding", "image"]
    return struct.pack("<BHHH", kinds.index(kind), dims, w, h) + (body.encode() if isinstance(body, str) else body)


def answer_seeds():
    t = "answer"
    chat = {"choices": [{"message": {"role": "assistant", "content": "OK"}}], "usage": {"completion_tokens": 2}}
    write(t, "chat", answer("llm", json.dumps(chat)))
    write(t, "chat-reasoning", answer("vlm", json.dumps({"choices": [{"message": {"content": "",
                                                                                  "reasoning_content": "red"}}]})))
    write(t, "chat-text", answer("llm", json.dumps({"choices": [{"text": "hi"}], "usage": {"completion_tokens": 0}})))
    write(t, "chat-huge-usage", answer("llm", json.dumps({"choices": [{"text": "hi"}],
                                                          "usage": {"completion_tokens": 1e300}})))
    write(t, "chat-empty", answer("llm", "{}"))
    write(t, "embedding", answer("embedding", json.dumps({"data": [{"embedding": [0.1, -2, 3e5]}]}), dims=3))
    write(t, "embedding-inf", answer("embedding", '{"data":[{"embedding":[1e400,0]}]}'))
    write(t, "embedding-wrong-dims", answer("embedding", json.dumps({"data": [{"embedding": [1, 2]}]}), dims=1024))
    write(t, "image-png", answer("image", json.dumps({"data": [{"b64_json": base64.b64encode(png(256, 256)).decode()}]})))
    write(t, "image-jpeg", answer("image", json.dumps({"data": [{"b64_json": base64.b64encode(jpeg(512, 384)).decode()}]}),
                                  w=512, h=384))
    write(t, "image-url", answer("image", json.dumps({"data": [{"url": "http://x/y.png"}]})))
    write(t, "image-junk", answer("image", json.dumps({"data": [{"b64_json": "!!!!"}]})))
    write(t, "tts-wav", answer("tts", wav()))
    write(t, "tts-mp3", answer("tts", b"ID3\4\0\0\0\0\0\0" + b"\xff\xfb\x90\x00" * 300))
    write(t, "asr", answer("asr", json.dumps({"text": "hello"})))
    write(t, "asr-empty", answer("asr", json.dumps({"text": ""})))
    write(t, "not-json-long", answer("llm", "<html>" + "502 Bad Gateway " * 8 + "</html>"))
    write(t, "not-json-nul", answer("vlm", "<html>502\0</html>"))
    write(t, "empty", answer("asr", ""))


def content_range_seeds():
    t = "content_range"
    for name, line in [("plain", "Content-Range: bytes 0-99/12345\r\n"), ("lower", "content-range: bytes 0-0/1"),
                       ("star", "Content-Range: bytes */4096\r\n"), ("unknown", "Content-Range: bytes 0-99/*\r\n"),
                       ("max", "Content-Range: bytes 0-1/18446744073709551615"),
                       ("over", "Content-Range: bytes 0-1/18446744073709551616"),
                       ("long", "Content-Range: bytes 0-1/" + "9" * 40), ("no-slash", "Content-Range: bytes 0-99"),
                       ("slash-end", "Content-Range: bytes 0-99/"), ("other", "Content-Length: 12345\r\n"),
                       ("short", "Content-Range:")]:
        write(t, name, line)


def hub_tree_seeds():
    t = "hub_tree"
    lfs = {"oid": "e" * 64, "size": 4368439584, "pointerSize": 135}
    page = [{"type": "file", "oid": "a" * 40, "size": 1519, "path": ".gitattributes"},
            {"type": "directory", "oid": "b" * 40, "size": 0, "path": "Q8_0"},
            {"type": "file", "oid": "c" * 40, "size": 4368439584, "path": "llama-2-7b.Q4_K_M.gguf", "lfs": lfs},
            {"type": "file", "oid": "d" * 40, "size": 3000000000,
             "path": "Q8_0/llama-2-7b.Q8_0-00001-of-00003.gguf", "lfs": lfs},
            {"type": "file", "oid": "f" * 40, "size": 600000000, "path": "mmproj-model-f16.gguf", "lfs": lfs,
             "xetHash": "0" * 64, "lastCommit": {"id": "1" * 40, "title": "x", "date": "2024-01-01T00:00:00.000Z"}}]
    write(t, "page", json.dumps(page))
    write(t, "empty", "[]")
    write(t, "escaped", json.dumps([{"type": "file", "oid": "a" * 40, "size": 1, "path": "d\u00e9j\u00e0/\u0000x.gguf"}]))
    write(t, "duplicate-keys", '[{"type":"file","path":"a.gguf","path":"b.gguf","size":1,"size":2}]')
    write(t, "long-path", json.dumps([{"type": "file", "oid": "a", "size": 1, "path": "p" * 600 + ".gguf"}]))
    write(t, "not-array", '{"error":"Repository not found"}')
    write(t, "truncated", json.dumps(page)[:300])
    write(t, "deep", "[" * 40 + "]" * 40)
    write(t, "link-next", 'Link: <https://huggingface.co/api/models/a/b/tree/main?recursive=true&cursor=eyJmIjo>; rel="next"\r\n')
    write(t, "link-two", 'link: <https://x/prev>; rel="prev", <https://x/next>; rel=next')
    write(t, "link-open", "Link: <https://x/next; rel=\"next\"")


# ---- tar streams --------------------------------------------------------------------------------

def tar_header(name, size, type=b"0", magic=b"ustar\x0000", size_field=None, extra=()):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108], h[108:116], h[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[136:148] = b"14567063021\0"
    h[156:157] = type
    h[257:257 + len(magic)] = magic
    for at, b in extra:
        h[at:at + len(b)] = b
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def tar_pad(b):
    return b + b"\0" * (-len(b) % 512)


def tar_seeds():
    t = "tar"
    end = b"\0" * 1024
    for name, fmt in [("ustar", tarfile.USTAR_FORMAT), ("gnu", tarfile.GNU_FORMAT), ("pax", tarfile.PAX_FORMAT)]:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt, pax_headers={"comment": "g"} if name == "pax" else {}) as tf:
            for path, data, typ, link in [("a/file", b"hello", tarfile.REGTYPE, ""), ("a/", b"", tarfile.DIRTYPE, ""),
                                          ("a/sym", b"", tarfile.SYMTYPE, "file"), ("a/" + "n" * 150, b"x", tarfile.REGTYPE, ""),
                                          ("a/hard", b"", tarfile.LNKTYPE, "a/file" + "/l" * 60)]:
                if name == "ustar" and (len(path) > 100 or len(link) > 100):
                    continue
                ti = tarfile.TarInfo(path)
                ti.type, ti.size, ti.linkname, ti.mtime = typ, len(data), link, 1700000000
                tf.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
        write(t, name, buf.getvalue())
    # old GNU sparse, its map running on into an extension block
    def entry(offset, n):
        return b"%011o\0%011o\0" % (offset, n)
    sparse = tar_header(b"sparse", 6, type=b"S", magic=b"ustar  \0", extra=[(386, entry(0, 3)), (482, b"\1")])
    write(t, "gnu-sparse-ext", sparse + tar_pad(entry(0o100000, 3)) + tar_pad(b"sparse") + end)
    write(t, "base256", tar_header(b"b", 0, magic=b"ustar  \0", size_field=b"\x80" + (1000).to_bytes(11, "big")) +
          tar_pad(b"z" * 1000) + end)
    write(t, "v7", tar_header(b"d/", 0, type=b"\0", magic=b"") + tar_header(b"d/f", 3, type=b"\0", magic=b"") + tar_pad(b"abc"))
    recs = b"9 path=p\n22 GNU.sparse.major=1\n"
    write(t, "pax-records", tar_header(b"x", len(recs), type=b"x") + tar_pad(recs) + tar_header(b"e", 0) + end)
    # hostile: a checksum off by one, a huge pax length, a lone zero block, a size that wraps, a cut header
    bad = bytearray(tar_header(b"bad", 0))
    bad[150] ^= 1
    write(t, "bad-checksum", bytes(bad))
    recs = b"99999999999999999999 path=x\n"
    write(t, "pax-huge-len", tar_header(b"x", len(recs), type=b"x") + tar_pad(recs) + tar_header(b"e", 0))
    write(t, "lone-zero", tar_header(b"a", 0) + b"\0" * 512 + tar_header(b"b", 0))
    write(t, "size-wraps", tar_header(b"w", 0, magic=b"ustar  \0", size_field=b"\x80" + b"\0" * 3 + b"\xff" * 8))
    write(t, "cut-header", tar_header(b"a", 1) + tar_pad(b"1") + tar_header(b"b", 0)[:300])
    write(t, "long-name-no-entry", tar_header(b"././@LongLink", 5, type=b"L", magic=b"ustar  \0") + tar_pad(b"long\0") + end)


def crash_seeds():
    """The reproducers of findings already reported (tests/fuzz/crashes/README.md), by tag."""
    global OUT
    corpus, OUT = OUT, os.path.join(HERE, "crashes")
    write = lambda target, name, data: globals()["write"](target, name, data, prefix="")
    g = llama(layers=1)   # 2^62 F32 elements: ggml_nbytes is 2^64, mlgate says 0
    g.tensor("blk.0.attn_q.weight", [1 << 62], 0, nbytes=0)
    write("gguf", "gguf-nbytes-wrap", g.bytes(data_bytes=0) + bytes([5, 0, 0, 4]))
    g = llama(layers=1)   # two tensors of 2^62 F16 elements: fit's weights wrap
    g.tensor("blk.0.a.weight", [1 << 31, 1 << 31], 1, nbytes=0)
    g.tensor("blk.0.b.weight", [1 << 31, 1 << 31], 1, nbytes=0, offset=5)
    write("gguf", "fit-total-wrap", g.bytes(data_bytes=0) + bytes([5, 0, 0, 4]))
    g = llama(layers=1)   # one tensor of 2^62 F64 elements (saturated at 2^64-1 bytes): the GPU's need wraps
    g.tensor("blk.0.a.weight", [1 << 31, 1 << 31], 28, nbytes=0, offset=5)
    write("answer", "answer-unterminated", answer("llm", "<html>502 Bad Gateway</html>"))   # read past its 28 bytes
    write("gguf", "fit-need-wrap", g.bytes(data_bytes=0) + bytes([5, 0, 0, 4]))
    # an attention-free model (no KV heads) whose context_length is 2^64-1: every context fits, and
    # fit's binary search steps past 2^64 back to 0, for ever
    g = llama("mamba2", layers=1, heads=0, kv=0)
    g.kv = [kv for kv in g.kv if not kv[0].endswith("context_length")]
    g.add("mamba2.context_length", U64, 2 ** 64 - 1)
    write("gguf", "fit-search-hang", g.bytes() + bytes([5, 0, 0, 4]))
    # a u8 array of 2^64-9 elements: the bytes it says the header needs wrap to a small number
    write("gguf", "gguf-need-wrap", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"a" +
          struct.pack("<IIQ", ARRAY, U8, 2 ** 64 - 9))
    OUT = corpus


def explain_seeds():
    """Logs for the knowledge base's matcher: a pattern's first piece without its end, over and over (the
    automaton must not restart), a line with the pieces of '*' patterns too far apart, CR-LF and NUL bytes,
    numbers that overflow (the torch OOM and llama.cpp readers), an unterminated quote."""
    write("explain", "prefix-repeated", "CUDA out of memory. Tried to allocate " * 400)
    write("explain", "gap", "unable to allocate cuda" + " " * 200 + "buffer\n")
    write("explain", "crlf-nul", "RuntimeError: CUDA error: no kernel image\r\n\x00is available for execution\r\n")
    write("explain", "oom-numbers", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate "
          "99999999999999999999999.99 GiB (GPU 18446744073709551616; 1e400 GiB total capacity; -5 MiB free)\n")
    write("explain", "llama-alloc", "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 184467440737095516160.00 MiB "
          "on device 99999999999: cudaMalloc failed: out of memory\n")
    write("explain", "arch-quote", "llama_model_load: error loading model: unknown model architecture: '" + "x" * 500)
    write("explain", "symbol", "ImportError: undefined symbol: _ZN3c10" + "N" * 2000 + "\n")


def main():
    explain_seeds()
    scan_seeds()
    gguf_seeds()
    safetensors_seeds()
    st_index_seeds()
    st_config_seeds()
    matrix_seeds()
    media_seeds()
    answer_seeds()
    content_range_seeds()
    hub_tree_seeds()
    tar_seeds()
    crash_seeds()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""builds.py - does a real llama.cpp build load what `mlgate inspect` says it loads?

    builds.py write DIR                          write the models (needs the gguf package)
    builds.py check MLGATE EXE BUILD DIR         run llama.cpp on each model, compare with mlgate
    builds.py local MLGATE                       both, against tests/llama/build.sh's build (ctest)

EXE is llama-simple or llama-completion of one build. BUILD is its b-number (one of the builds mlgate has
read), or A..B when it is only known to lie between two of them (llama-cpp-python's vendored
llama.cpp): then a model whose first build is B may go either way.
The models are small llama/gemma3 GGUFs with a real vocabulary; some carry an architecture name or
a tensor type that older builds lack. For each, mlgate's "llama.cpp bN or newer" decides what the
build must do: refuse it for the architecture or the type when N is newer, load it when N is older.
Exits 1 on any disagreement.
"""
import json, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))

# name, architecture written, general.architecture, weight type, genuine (its tensors fit the name)
MODELS = [
    ("llama-f16", "llama", "llama", "F16", True),
    ("gemma3-f16", "gemma3", "gemma3", "F16", True),
    ("llama-mxfp4", "llama", "llama", "MXFP4", True),
    ("named-qwen3next", "llama", "qwen3next", "F16", False),
    ("named-deepseek32", "llama", "deepseek32", "F16", False),
    ("named-deepseek3_2", "llama", "deepseek3_2", "F16", False),
]


def write(d):
    sys.path.insert(0, here)
    import compare, gguf  # compare.write builds the models; it exits 77 without gguf/numpy
    os.makedirs(d, exist_ok=True)
    for name, layout, arch, qt, _ in MODELS:
        p = os.path.join(d, name + ".gguf")
        compare.write(p, layout, 2, 64, 4, 2, 128, getattr(gguf.GGMLQuantizationType, qt), True,
                      swa=32 if layout == "gemma3" else 0)
        if arch != layout:  # same bytes, another general.architecture; the per-arch keys follow it
            rename(p, layout, arch)
        print("wrote", p)


def rename(path, old, new):
    import gguf
    r = gguf.GGUFReader(path)
    w = gguf.GGUFWriter(path + ".tmp", new)
    for f in r.fields.values():
        if f.name.startswith("GGUF.") or f.name == "general.architecture":
            continue
        key = new + f.name[len(old):] if f.name.startswith(old + ".") else f.name
        val = f.contents()
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_key_value(key, val, vtype, sub_type=f.types[-1])
        else:
            w.add_key_value(key, val, vtype)
    for t in r.tensors:
        w.add_tensor(t.name, t.data, raw_shape=list(reversed([int(x) for x in t.shape])), raw_dtype=t.tensor_type)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    os.replace(path + ".tmp", path)


def run(exe, path):
    if "simple" in os.path.basename(exe):
        args = [exe, "-m", path, "-n", "2", "hello"]
    else:
        args = [exe, "-m", path, "-n", "2", "-p", "hello", "-t", "2", "--no-warmup", "-no-cnv"]
    try:
        r = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=120,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    out = r.stdout + r.stderr
    if r.returncode == 0:
        return "ran", out
    if "unknown model architecture" in out:
        return "refused: architecture", out
    if "invalid ggml type" in out:
        return "refused: type", out
    if "compute buffer size" in out:  # the model and its context were created: it loaded
        return f"loaded, then failed (exit {r.returncode})", out
    return f"failed (exit {r.returncode})", out


def check(mlgate, exe, build, d):
    lo, hi = (int(x) for x in build.split("..")) if ".." in build else (int(build), int(build))
    bad = 0
    for name, layout, arch, qt, genuine in MODELS:
        p = os.path.join(d, name + ".gguf")
        ins = subprocess.run([mlgate, "inspect", "--json", p], capture_output=True, text=True)
        lc = json.loads(ins.stdout)["models"][0]["llama_cpp"]
        since, by = lc["since"], lc["decided_by"]
        got, out = run(exe, p)
        if ins.returncode != (0 if since else 1):   # inspect exits 1 when no build read loads the file
            print(f"FAIL {name:18} inspect exit {ins.returncode} with since {since}")
            bad = 1
        if since and since <= lo:
            says = "loads"
            ok = got in ("ran", "loaded") or got.startswith("loaded,") if genuine else not got.startswith("refused")
        elif not since or since > hi:
            says = "refuses: " + ("architecture" if by in (None, "architecture") else "type")
            ok = got == "refused: " + ("architecture" if by in (None, "architecture") else "type")
        else:
            says, ok = "either (the build lies between)", True
        first = f"b{since} or newer ({by})" if since else "no build"
        print(f"{'ok  ' if ok else 'FAIL'} {name:18} mlgate: {first:28} -> {says:24} llama.cpp: {got}")
        if not ok:
            bad = 1
            print("     " + "\n     ".join(out.strip().splitlines()[-6:]))
    return bad


# llama-cpp-python 0.3.36 (tests/llama/build.sh) vendors llama.cpp 00395eb, whose architecture names
# include all of b8681's and none that b10438 lacks, and are fewer than b10438's: it lies between.
LOCAL_BUILD = "8681..10438"


def local(mlgate):
    exe = os.environ.get("MLGATE_LLAMA_COMPLETION") or os.path.expanduser("~/.cache/mlgate/llama/bin/llama-completion")
    if not os.access(exe, os.X_OK):
        print(f"no {exe} (tests/llama/build.sh builds it): skipped")
        sys.exit(77)
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        write(d)
        return check(mlgate, exe, LOCAL_BUILD, d)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "local":
        sys.exit(local(sys.argv[2]))
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    else:
        sys.exit(__doc__)

#!/bin/sh
# test_frameworks.sh - frameworks' own rules and inputs with nothing to scan (issue 12, items 5-7), through
# the command: CPU-only builds, GPU floors, bitsandbytes' per-CUDA libraries, images and junk inputs.
# usage: test_frameworks.sh MLGATE FIXTURES PYTHON
set -u
mlgate=$1
fx=$2
py=${3:-python3}
pass=0
fail=0
check() { # check NAME EXPECTED_EXIT COMMAND...
    name=$1; want=$2; shift 2
    out=$("$@" 2>&1); got=$?
    if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL $name: exit $got, want $want"; echo "$out" | head -8; fi
}
contains() { # contains NAME NEEDLE COMMAND...
    name=$1; needle=$2; shift 2
    if "$@" 2>&1 | grep -q -F -- "$needle"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL $name: output lacks '$needle'"; "$@" 2>&1 | head -8; fi
}
lacks() { # lacks NAME NEEDLE COMMAND...
    name=$1; needle=$2; shift 2
    if "$@" 2>&1 | grep -q -F -- "$needle"; then fail=$((fail + 1)); echo "FAIL $name: output has '$needle'"
    else pass=$((pass + 1)); fi
}

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# Fake wheels and environments: a dist-info, torch/version.py, libraries copied from the committed fixtures
# (an ELF without CUDA code is mlgate itself).
"$py" - "$t" "$fx" "$mlgate" <<'PY' || { echo "FAIL cannot build the inputs"; exit 1; }
import io, os, shutil, sys, tarfile, zipfile
t, fx, cpu_elf = sys.argv[1:4]

def wheel(name, files):
    with zipfile.ZipFile(os.path.join(t, name), "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in files.items():
            z.writestr(member, data)

def version_py(v, cuda):
    return f"from typing import Optional\n__version__ = '{v}'\ndebug = False\ncuda: Optional[str] = {cuda}\n"

elf = open(cpu_elf, "rb").read()
code = open(os.path.join(fx, "mix_100a_120f.o"), "rb").read()   # sm_100a, sm_120f, compute_120f
# PyPI's aarch64 torch: CPU-only (field report 002), and a CUDA build beside it
wheel("torch-2.9.0+cpu-cp312-cp312-manylinux_2_28_aarch64.whl", {
    "torch/__init__.py": "# torch\n" * 20, "torch/version.py": version_py("2.9.0+cpu", "None"),
    "torch/lib/libtorch_cpu.so": elf, "torch-2.9.0+cpu.dist-info/METADATA": "Name: torch\nVersion: 2.9.0+cpu\n"})
wheel("torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64.whl", {
    "torch/version.py": version_py("2.9.0+cu130", "'13.0'"), "torch/lib/libtorch_cuda.so": code,
    "torch-2.9.0.dist-info/METADATA": "Name: torch\nVersion: 2.9.0\n"})
# no version.py: the +cpu local version says it
wheel("torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl", {
    "torch/lib/libtorch_cpu.so": elf, "torch-2.5.1+cpu.dist-info/RECORD": "torch/lib/libtorch_cpu.so,,\n"})
wheel("vllm-0.11.0+cpu-cp38-abi3-linux_x86_64.whl", {
    "vllm/_C.abi3.so": elf, "vllm-0.11.0+cpu.dist-info/METADATA": "Name: vllm\nVersion: 0.11.0+cpu\n"})

def env(name, pkgs):
    sp = os.path.join(t, name, "lib", "python3.12", "site-packages")
    for path, data in pkgs.items():
        full = os.path.join(sp, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if isinstance(data, bytes):
            open(full, "wb").write(data)
        else:
            open(full, "w").write(data)

sass90 = open(os.path.join(fx, "sass_90.o"), "rb").read()         # sm_90 only: no code for sm_120
bnb_old = {f"bitsandbytes/libbitsandbytes_cuda{v}.so": sass90 for v in (118, 120, 121, 122, 123, 124, 125, 126)}
bnb = dict(bnb_old, **{"bitsandbytes/libbitsandbytes_cuda128.so": code,
                       "bitsandbytes-0.45.5.dist-info/METADATA": "Name: bitsandbytes\n"})
torch = lambda v, cuda: {"torch/version.py": version_py(v, cuda), f"torch-{v}.dist-info/METADATA": "Name: torch\n"}
env("cpuvenv", torch("2.9.0+cpu", "None"))
env("cu128", dict(torch("2.8.0+cu128", "'12.8'"), **bnb, **{"torch/lib/libtorch_cuda.so": code}))
env("cu126", dict(torch("2.8.0+cu126", "'12.6'"), **bnb, **{"torch/lib/libtorch_cuda.so": code}))
env("cpubnb", dict(torch("2.9.0+cpu", "None"), **bnb))
env("nobnbtorch", bnb)   # no torch here: which library loads cannot be told, every one counts
env("triton", {"triton-3.4.0.dist-info/METADATA": "Name: triton\n", "triton/__init__.py": "# triton\n" * 20})
env("fa2", {"flash_attn-2.8.3.dist-info/METADATA": "Name: flash-attn\n", "flash_attn/__init__.py": "#\n" * 40})
env("fa3", {"flash_attn_3-3.0.0b1.dist-info/METADATA": "Name: flash_attn_3\n"})
env("jaxcpu", {"jaxlib-0.7.1.dist-info/METADATA": "Name: jaxlib\n", "jaxlib/__init__.py": "#\n" * 40})
env("jaxcuda", {"jaxlib-0.7.1.dist-info/METADATA": "Name: jaxlib\n", "jaxlib/__init__.py": "#\n" * 40,
                "jax_cuda12_plugin-0.7.1.dist-info/METADATA": "Name: jax-cuda12-plugin\n"})
env("rocm", torch("2.5.1+rocm6.2", "None"))
env("unknown", {"torch-2.9.0.dist-info/METADATA": "Name: torch\n"})   # neither version.py nor a local version
env("nolibs", torch("2.8.0+cu128", "'12.8'"))                          # says CUDA 12.8, carries none
env("pysrc", {"pkg/__init__.py": "# only Python\n" * 20, "pkg/data.json": "{}" * 40})
# a stale dist-info beside the one installed: one report, the version torch/version.py names
env("stale", dict(torch("2.9.0+cpu", "None"), **{"torch-2.5.1.dist-info/METADATA": "Name: torch\n"}))
# a file name's bytes reach reasons only cleaned
env("esc", {"torch-2.9.0+cpu\x1b[31mRED.dist-info/METADATA": "Name: torch\n"})
# a CUDA torch whose libtorch_cuda.so cannot be read (--max-member below its size): not "CPU-only"
wheel("torch-2.8.0-cp312-cp312-linux_x86_64.whl", {
    "torch/lib/libtorch_cuda.so": code, "torch-2.8.0.dist-info/METADATA": "Name: torch\nVersion: 2.8.0\n"})
# bitsandbytes beside a cu129 torch: 0.45.5 loads only cuda129 (absent), 0.50.0 falls back to cuda128
env("bnb045_cu129", dict(torch("2.8.0+cu129", "'12.9'"), **bnb, **{"torch/lib/libtorch_cuda.so": code}))
env("bnb050_cu129", dict(torch("2.8.0+cu129", "'12.9'"), **{k: v for k, v in bnb.items() if "dist-info" not in k},
                         **{"torch/lib/libtorch_cuda.so": code, "bitsandbytes-0.50.0.dist-info/METADATA": "Name: bitsandbytes\n"}))
# console scripts and text: no CUDA code, no error
open(os.path.join(t, "vllm"), "w").write("#!/usr/local/bin/python3\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
                                         "from vllm.entrypoints.cli.main import main\nif __name__ == '__main__':\n"
                                         "    sys.exit(main())\n")
open(os.path.join(t, "short.sh"), "w").write("#!/bin/sh\nexec vllm \"$@\"\n")
open(os.path.join(t, "notes.txt"), "w", encoding="utf-8").write("Résumé of the model: runs on vLLM.\n" * 4)
open(os.path.join(t, "image.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2)
# 5,000 dist-info entries of one framework, in a wheel and in a directory (bench/hostile.py times 40,000)
with zipfile.ZipFile(os.path.join(t, "many.whl"), "w") as z:
    for i in range(5000):
        z.writestr(f"torch-{i}.dist-info/M", "")
for i in range(5000):
    os.makedirs(os.path.join(t, "many", f"torch-{i}.dist-info"))
# frameworks in 65 places: 64 are judged, then an error says so
for i in range(65):
    os.makedirs(os.path.join(t, "places", f"env{i}", "triton-3.4.0.dist-info"))

# inputs with nothing to scan: empty directory, only a symlink, random bytes, images, archives
os.makedirs(os.path.join(t, "empty"))
os.makedirs(os.path.join(t, "links"))
os.symlink("/nonexistent", os.path.join(t, "links", "dangling"))
open(os.path.join(t, "random.bin"), "wb").write(bytes((i * 131 + 7) % 256 for i in range(8192)))
def tar(name, members):
    with tarfile.open(os.path.join(t, name), "w") as f:
        for m, data in members:
            ti = tarfile.TarInfo(m)
            ti.size = len(data)
            f.addfile(ti, io.BytesIO(data))
layer = b"\0" * 3000
tar("docker-save.tar", [("3f1a/layer.tar", layer), ("3f1a/json", b"{}"), ("manifest.json", b"[{}]"), ("repositories", b"{}")])
tar("oci.tar", [("blobs/sha256/ab", layer), ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", b"{}")])
tar("plain.tar", [("notes.txt", b"just text" * 20)])
import gzip
open(os.path.join(t, "image.tar.gz"), "wb").write(gzip.compress(open(os.path.join(t, "docker-save.tar"), "rb").read()))
os.makedirs(os.path.join(t, "oci-dir", "blobs", "sha256"))
open(os.path.join(t, "oci-dir", "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(t, "oci-dir", "index.json"), "w").write("{}")
os.makedirs(os.path.join(t, "save-dir", "3f1a"))
for name, data in (("manifest.json", "[{}]"), ("repositories", "{}"), ("3f1a/layer.tar", "x" * 1024)):
    open(os.path.join(t, "save-dir", name), "w").write(data)
# a wheel member over 32 MiB is scanned as it inflates (stream.c): libtwo.so with 40 MiB of zeros after it
import zipfile
big = open(os.path.join(fx, "libtwo.so"), "rb").read() + bytes(40 << 20)
os.makedirs(os.path.join(t, "bigdir"))
open(os.path.join(t, "bigdir", "libtwo_big.so"), "wb").write(big)
with zipfile.ZipFile(os.path.join(t, "big-0.1-py3-none-any.whl"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("big/libtwo_big.so", big)
PY

# ---- a big wheel member, streamed, says what the same file on disk says ----
"$mlgate" scan --json --gpu H100 --gpu "RTX 5090" "$t/bigdir/libtwo_big.so" | "$py" -c "
import json, sys
print(json.dumps([[v['status'], v['reason'], v['covered'], v['total']] for v in json.load(sys.stdin)['files'][0]['verdicts']]))" > "$t/big.disk"
"$mlgate" scan --json --gpu H100 --gpu "RTX 5090" "$t/big-0.1-py3-none-any.whl" | "$py" -c "
import json, sys
print(json.dumps([[v['status'], v['reason'], v['covered'], v['total']] for v in json.load(sys.stdin)['files'][0]['verdicts']]))" > "$t/big.wheel"
check "a 40 MiB member streamed: the same verdicts as the file on disk" 0 cmp -s "$t/big.disk" "$t/big.wheel"
contains "which are real ones" '"native"' cat "$t/big.wheel"

# ---- item 5: CPU-only builds do not pass ----
cpuwhl="$t/torch-2.9.0+cpu-cp312-cp312-manylinux_2_28_aarch64.whl"
check "CPU-only torch wheel fails on GB10" 1 "$mlgate" scan --gpu GB10 "$cpuwhl"
contains "CPU-only torch says so, with the build for GB10" \
    "none - CPU-only build: torch 2.9.0+cpu; the CUDA build for sm_121 is cu130: pip install torch --index-url https://download.pytorch.org/whl/cu130" \
    "$mlgate" scan --gpu GB10 "$cpuwhl"
contains "the report is named after its dist-info" "$cpuwhl!torch-2.9.0+cpu.dist-info" "$mlgate" scan --gpu GB10 "$cpuwhl"
contains "on a GTX 1080 Ti the advice is the last build with sm_61" \
    "pip install 'torch==2.11.*' --index-url https://download.pytorch.org/whl/cu126" "$mlgate" scan --gpu "GTX 1080 Ti" "$cpuwhl"
check "without GPUs the wheel is only listed" 0 "$mlgate" scan --no-detect "$cpuwhl"
check "a CUDA torch wheel passes on RTX 5090" 0 "$mlgate" scan --gpu "RTX 5090" "$t/torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64.whl"
lacks "and has no framework report" "dist-info" "$mlgate" scan --gpu "RTX 5090" "$t/torch-2.9.0-cp312-cp312-manylinux_2_28_x86_64.whl"
contains "+cpu in the dist-info's name is enough" "CPU-only build: torch 2.5.1+cpu" \
    "$mlgate" scan --gpu H100 "$t/torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"
check "a CPU-only venv fails" 1 "$mlgate" scan --gpu H100 "$t/cpuvenv"
contains "a CPU-only venv says so" "CPU-only build: torch 2.9.0+cpu; the CUDA build for sm_90 is cu130" "$mlgate" scan --gpu H100 "$t/cpuvenv"
contains "CPU-only vLLM" "CPU-only build: vLLM 0.11.0+cpu carries no CUDA code; the CUDA build: pip install vllm" \
    "$mlgate" scan --gpu H100 "$t/vllm-0.11.0+cpu-cp38-abi3-linux_x86_64.whl"
if "$mlgate" scan --json --gpu GB10,H100 "$cpuwhl" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
f = [x for x in d["files"] if x["framework"]]
assert len(f) == 1 and f[0]["framework"] == "torch 2.9.0+cpu", d["files"]
assert [v["status"] for v in f[0]["verdicts"]] == ["none", "none"], f[0]["verdicts"]
assert f[0]["verdicts"][1]["reason"].startswith("CPU-only build: torch 2.9.0+cpu; the CUDA build for sm_90 is cu130")
assert d["summary"]["failing"] == 1, d["summary"]
'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL CPU-only torch in --json"; fi

contains "jaxlib alone is CPU-only" "CPU-only build: jaxlib 0.7.1 carries no CUDA code; the CUDA build: pip install -U" \
    "$mlgate" scan --gpu H100 "$t/jaxcpu"
check "jaxlib with its CUDA plugin beside it passes" 0 "$mlgate" scan --gpu H100 "$t/jaxcuda"
contains "a ROCm torch is not called CPU-only" "torch 2.5.1+rocm6.2 is a ROCm build (AMD GPUs): no CUDA code for NVIDIA GPUs" \
    "$mlgate" scan --gpu H100 "$t/rocm"

contains "a torch that tells nothing and carries no code" "no CUDA code in torch 2.9.0 (a CPU-only build?); the CUDA build for sm_90 is cu130" \
    "$mlgate" scan --gpu H100 "$t/unknown"
contains "a CUDA torch without its libraries" "torch 2.8.0+cu128 (CUDA 12.8) carries no CUDA code here: its libraries are missing" \
    "$mlgate" scan --gpu H100 "$t/nolibs"

# ---- item 7: frameworks' own floors and per-CUDA libraries ----
check "Triton on a GTX 1080 Ti fails" 1 "$mlgate" scan --gpu "GTX 1080 Ti" "$t/triton"
contains "Triton says why: partial, eager PyTorch runs" \
    "partial - Triton needs compute capability 7.0+ (GTX 1080 Ti is 6.1): torch.compile and Triton kernels fail; eager PyTorch runs" \
    "$mlgate" scan --gpu "GTX 1080 Ti" "$t/triton"
check "Triton on a V100 passes" 0 "$mlgate" scan --gpu V100 "$t/triton"
contains "with both, only the 1080 Ti is partial" "native   partial      " "$mlgate" scan --gpu "V100,GTX 1080 Ti" "$t/triton"
contains "FlashAttention 2's floor stays none" "none - FlashAttention 2 needs sm_80+" "$mlgate" scan --gpu T4 "$t/fa2"
check "FlashAttention 2 on a T4 fails" 1 "$mlgate" scan --gpu T4 "$t/fa2"
contains "FlashAttention 2 says why" "FlashAttention 2 needs sm_80+ (Ampere, Ada, Hopper) (T4 is 7.5)" "$mlgate" scan --gpu T4 "$t/fa2"
check "FlashAttention 2 on an A100 passes" 0 "$mlgate" scan --gpu A100 "$t/fa2"
check "FlashAttention 3 on an RTX 5090 fails" 1 "$mlgate" scan --gpu "RTX 5090" "$t/fa3"
contains "FlashAttention 3 says why" "FlashAttention 3 runs only on Hopper" "$mlgate" scan --gpu "RTX 5090" "$t/fa3"
check "FlashAttention 3 on an H100 passes" 0 "$mlgate" scan --gpu H100 "$t/fa3"
check "bitsandbytes beside a cu128 torch passes on RTX 5090" 0 "$mlgate" scan --gpu "RTX 5090" "$t/cu128"
lacks "its cu118..cu126 libraries are not judged" "libbitsandbytes_cuda118" "$mlgate" scan --gpu "RTX 5090" "$t/cu128"
contains "the one it loads is" "libbitsandbytes_cuda128.so" "$mlgate" scan --gpu "RTX 5090" "$t/cu128"
check "beside a cu126 torch the cu126 library is the one loaded, and fails" 1 "$mlgate" scan --gpu "RTX 5090" "$t/cu126"
contains "the cu126 library is named" "bitsandbytes/libbitsandbytes_cuda126.so" "$mlgate" scan --gpu "RTX 5090" "$t/cu126"
lacks "the others are not" "libbitsandbytes_cuda118" "$mlgate" scan --gpu "RTX 5090" "$t/cu126"
lacks "a CPU-only torch loads none of them" "libbitsandbytes_cuda1" "$mlgate" scan --gpu "RTX 5090" "$t/cpubnb"
contains "without torch every library counts" "libbitsandbytes_cuda118" "$mlgate" scan --gpu "RTX 5090" "$t/nobnbtorch"

# ---- item 6: inputs with nothing to scan are not a pass ----
check "an empty directory fails" 1 "$mlgate" scan --gpu H100 "$t/empty"
contains "an empty directory says so, in words" "empty: not found: nothing to scan in an empty directory" "$mlgate" scan --gpu H100 "$t/empty"
contains "and in JSON" '"error":{"code":"not found","detail":"nothing to scan in an empty directory"}' \
    "$mlgate" scan --json --gpu H100 "$t/empty"
lacks "no doubled prefix" "malformed: nothing scannable" "$mlgate" scan --gpu H100 "$t/empty" "$t/random.bin"
contains "a directory of symlinks says so" "links: not found: no regular file to scan in it" "$mlgate" scan --gpu H100 "$t/links"
check "random bytes fail" 1 "$mlgate" scan --gpu H100 "$t/random.bin"
contains "random bytes say so" "random.bin: malformed: not an ELF file, a wheel (zip), a container image, a text file or a directory" \
    "$mlgate" scan --gpu H100 "$t/random.bin"
check "an image fails" 1 "$mlgate" scan --gpu H100 "$t/image.png"
check "a console script is no error (no CUDA code)" 0 "$mlgate" scan --gpu H100 "$t/vllm"
check "a script shorter than 64 bytes neither" 0 "$mlgate" scan --gpu H100 "$t/short.sh"
check "UTF-8 text neither" 0 "$mlgate" scan --gpu H100 "$t/notes.txt"
lacks "a script is no error in JSON" '"error"' "$mlgate" scan --json --gpu H100 "$t/vllm"
# (container images are scanned since issue 13: tests/image_test.py; these are broken ones)
check "a docker save tarball with a broken manifest fails" 1 "$mlgate" scan --gpu H100 "$t/docker-save.tar"
contains "its manifest is named" 'manifest.json lists an image without "Config" or "Layers"' "$mlgate" scan --gpu H100 "$t/docker-save.tar"
contains "an OCI layout tarball without manifests is named" 'index.json has no "manifests" array' "$mlgate" scan --gpu H100 "$t/oci.tar"
check "an OCI layout directory without manifests fails" 1 "$mlgate" scan --gpu H100 "$t/oci-dir"
contains "and says why" 'index.json has no "manifests" array' "$mlgate" scan --gpu H100 "$t/oci-dir"
check "an unpacked docker save fails" 1 "$mlgate" scan --gpu H100 "$t/save-dir"
contains "an unpacked docker save is named" "an unpacked docker save directory without an OCI layout" "$mlgate" scan --gpu H100 "$t/save-dir"
check "a plain tar of text is a root filesystem without CUDA code" 0 "$mlgate" scan --gpu H100 "$t/plain.tar"
contains "it is named as an image" "image $t/plain.tar (rootfs-tar)" "$mlgate" scan --gpu H100 "$t/plain.tar"
contains "a broken image is an error in JSON" '"code":"malformed"' "$mlgate" scan --json --gpu H100 "$t/docker-save.tar"
check "a directory of Python sources is a pass (no CUDA code)" 0 "$mlgate" scan --gpu H100 "$t/pysrc"
check "inside a directory, junk files are not errors" 0 "$mlgate" scan --gpu H100 "$t/pysrc" "$fx/sass_90.o"
cp "$t/random.bin" "$t/pysrc/blob.so"
check "a junk .so found by the walk is not an error" 0 "$mlgate" scan --gpu H100 "$t/pysrc"
check "the same directory twice is not empty the second time" 0 "$mlgate" scan --gpu H100 "$t/pysrc" "$t/pysrc"

# ---- the gate's smoke stage fails on them with the scan's reason ----
printf 'models:\n  - {name: m, kind: llm, exec: [true], binaries: [%s]}\n' "$t/cpuvenv" > "$t/cpu.yaml"
check "check: a CPU-only torch fails smoke" 1 "$mlgate" check --gpu H100 "$t/cpu.yaml"
printf 'models:\n  - {name: m, kind: llm, exec: [true], binaries: [%s]}\n' "$t/empty" > "$t/empty.yaml"
contains "check: smoke says why (CPU-only)" "CPU-only build: torch 2.9.0+cpu" "$mlgate" check --gpu H100 "$t/cpu.yaml"
check "check: an empty binaries directory fails smoke" 1 "$mlgate" check --gpu H100 "$t/empty.yaml"
contains "check: smoke says why (empty)" "empty: not found (nothing to scan in an empty directory)" "$mlgate" check --gpu H100 "$t/empty.yaml"
printf 'models:\n  - {name: m, kind: llm, exec: [true], binaries: [%s]}\n' "$t/pysrc" > "$t/py.yaml"
check "check: Python sources alone pass smoke" 0 "$mlgate" check --gpu H100 "$t/py.yaml"
printf 'models:\n  - {name: m, kind: llm, exec: [true], binaries: [%s, %s]}\n' "$t/vllm" "$t/short.sh" > "$t/script.yaml"
check "check: console scripts in binaries: pass smoke" 0 "$mlgate" check --gpu H100 "$t/script.yaml"
printf 'models:\n  - {name: m, kind: llm, exec: [true], binaries: [%s]}\n' "$t/random.bin" > "$t/junk.yaml"
check "check: random bytes in binaries: still fail smoke" 1 "$mlgate" check --gpu H100 "$t/junk.yaml"

# ---- many dist-infos, stale ones, file names' bytes, unreadable code, bitsandbytes' versions ----
for input in "$t/many.whl" "$t/many"; do
    if "$py" -c '
import json, subprocess, sys
out = subprocess.run([sys.argv[1], "scan", "--json", "--gpu", "H100", sys.argv[2]], capture_output=True, timeout=60).stdout
d = json.loads(out)
f = [x for x in d["files"] if x.get("framework")]
assert len(f) == 1, len(f)   # one report per place and framework: 5,000 before (and quadratic work)
assert "more than 4 dist-infos of torch here" in f[0]["note"], f[0]["note"]
' "$mlgate" "$input"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL 5,000 dist-infos in $input: one report"; fi
done
if "$mlgate" scan --json --gpu H100 "$t/stale" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
f = [x for x in d["files"] if x["framework"]]
assert len(f) == 1, f
assert f[0]["framework"] == "torch 2.9.0+cpu" and f[0]["path"].endswith("/torch-2.9.0+cpu.dist-info"), f[0]
assert "judged as torch-2.9.0+cpu.dist-info (the one torch/version.py names)" in f[0]["note"], f[0]["note"]
assert "torch-2.5.1.dist-info" in f[0]["note"], f[0]["note"]
assert all("2.5.1" not in v["reason"] for v in f[0]["verdicts"])
'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL a stale dist-info: one report, the right version"; fi
if "$mlgate" scan --json --gpu H100 "$t/esc" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
f = [x for x in d["files"] if x["framework"]]
assert len(f) == 1 and "\x1b" not in f[0]["framework"], f
assert all("\x1b" not in v["reason"] for v in f[0]["verdicts"]), f[0]["verdicts"]
assert "2.9.0+cpu[31mRED" in f[0]["verdicts"][0]["reason"], f[0]["verdicts"]
'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL a dist-info name's ESC reaches the reason"; fi
esc=$(printf '\033')
lacks "an ESC from a name reaches no terminal" "$esc[31m" "$mlgate" scan -v --gpu H100 "$t/esc"
printf 'models:\n  - {name: m, kind: llm, exec: [true], binaries: [%s]}\n' "$t/esc" > "$t/esc.yaml"
lacks "nor the gate's reason" "$esc[31m" "$mlgate" check --gpu H100 "$t/esc.yaml"
limited="$t/torch-2.8.0-cp312-cp312-linux_x86_64.whl"
check "a CUDA torch wheel read whole passes" 0 "$mlgate" scan --gpu "RTX 5090" "$limited"
check "its library over --max-member is an error" 1 "$mlgate" scan --max-member 1K --gpu "RTX 5090" "$limited"
contains "which says so" "exceeds a limit: member inflates to" "$mlgate" scan --max-member 1K --gpu "RTX 5090" "$limited"
lacks "and it is not called a CPU-only build" "CPU-only" "$mlgate" scan -v --max-member 1K --gpu "RTX 5090" "$limited"
lacks "nor one without CUDA code" "no CUDA code" "$mlgate" scan -v --max-member 1K --gpu "RTX 5090" "$limited"
check "bitsandbytes 0.45.5 beside a cu129 torch fails" 1 "$mlgate" scan --gpu "RTX 5090" "$t/bnb045_cu129"
contains "it loads only cuda129, which is not there" \
    "none - bitsandbytes 0.45.5 loads only libbitsandbytes_cuda129 (torch's CUDA 12.9), not here: its GPU functions fail" \
    "$mlgate" scan -v --gpu "RTX 5090" "$t/bnb045_cu129"
lacks "its cuda128 is not judged native" "libbitsandbytes_cuda128" "$mlgate" scan -v --gpu "RTX 5090" "$t/bnb045_cu129"
check "bitsandbytes 0.50.0 beside a cu129 torch passes" 0 "$mlgate" scan --gpu "RTX 5090" "$t/bnb050_cu129"
contains "it falls back to cuda128" "bitsandbytes/libbitsandbytes_cuda128.so" "$mlgate" scan -v --gpu "RTX 5090" "$t/bnb050_cu129"
lacks "and only to it" "libbitsandbytes_cuda126" "$mlgate" scan -v --gpu "RTX 5090" "$t/bnb050_cu129"
if "$mlgate" scan --json --gpu "GTX 1080 Ti" "$t/places" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
f = [x for x in d["files"] if x.get("framework")]
e = [x for x in d["files"] if x["error"]]
assert len(f) == 64, len(f)
assert len(e) == 1 and e[0]["error"]["code"] == "exceeds a limit", e
assert "frameworks (dist-infos) in more than 64 places" in e[0]["error"]["detail"], e
'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL frameworks in 65 places: 64 judged, then an error"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

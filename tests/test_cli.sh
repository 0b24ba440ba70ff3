#!/bin/sh
# test_cli.sh - the mlgate command as a user meets it: exit codes, errors, JSON, help.
# usage: test_cli.sh MLGATE FIXTURES
set -u
mlgate=$1
fx=$2
fake_nvml=${3:-}
fake_cuda=${4:-}
pass=0
fail=0
check() { # check NAME EXPECTED_EXIT COMMAND...
    name=$1; want=$2; shift 2
    out=$("$@" 2>&1); got=$?
    if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL $name: exit $got, want $want"; echo "$out" | head -5; fi
}
contains() { # contains NAME NEEDLE COMMAND...
    name=$1; needle=$2; shift 2
    if "$@" 2>&1 | grep -q -- "$needle"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL $name: output lacks '$needle'"; fi
}

check "all native" 0 "$mlgate" scan --gpu H100 "$fx/sass_90.o" "$fx/libtwo.so"
check "partial fails" 1 "$mlgate" scan --gpu H100 "$fx/libpartial.so"
# nvcc's device-link stub (default sm_75, no kernels) is no coverage: none on sm_75, not "partial 1/3"
contains "the stub runs nothing" "sm_75: none" "$mlgate" scan --gpu sm_75 "$fx/libstub75.so"
contains "the stub is not counted" "partial - 1 of 2 fatbins" "$mlgate" scan --gpu sm_120 "$fx/libstub75.so"
check "jit passes" 0 "$mlgate" scan --gpu "RTX 5090" "$fx/ptx_120.o"
check "old driver fails" 1 "$mlgate" scan --gpu "RTX 5090" --driver 575.51.03 "$fx/ptx_120.o"
check "inventory" 0 "$mlgate" scan "$fx"
check "no path" 2 "$mlgate" scan --gpu H100
check "bad gpu" 2 "$mlgate" scan --gpu "RTX 5900" "$fx"
check "bad driver" 2 "$mlgate" scan --driver banana "$fx"
check "bad option" 2 "$mlgate" scan --frobnicate "$fx"
# The host's CPU: --arch for GPUs sold with either; a GB10 is aarch64 whatever is said
check "--arch aarch64: x86-64 code does not load" 1 "$mlgate" scan --gpu H100 --arch arm64 "$fx/libtwo.so"
contains "--arch says why" "H100: none - x86-64 code on an aarch64 host" "$mlgate" scan --gpu H100 --arch aarch64 "$fx/libtwo.so"
check "--arch x86_64: native" 0 "$mlgate" scan --gpu H100 --arch amd64 "$fx/libtwo.so"
check "--arch against a GB10 is a usage error" 2 "$mlgate" scan --gpu GB10 --arch x86_64 "$fx/libtwo.so"
check "--arch unknown" 2 "$mlgate" scan --gpu H100 --arch sparc "$fx/libtwo.so"
contains "the target's CPU in --json" '"cpu":"aarch64"' "$mlgate" scan --json --gpu H100 --arch arm64 "$fx/libtwo.so"
# Which CUDA built it, and kernel names demangled (mangled beside them in --json)
contains "built with CUDA 13 from the runtime it needs" "built with CUDA 13 (needs libcudart.so.13)" \
    "$mlgate" scan -v --gpu H100 "$fx/libtwo.so"
contains "--json: cuda" '"cuda":{"major":13,"from":"needs libcudart.so.13"}' "$mlgate" scan --json --gpu H100 "$fx/libtwo.so"
contains "a CUDA 13 runtime needs 580" "its runtime needs the 580 driver branch or newer, not 575" \
    "$mlgate" scan -v --gpu H100 --driver 575 "$fx/libtwo.so"
contains "kernel names demangled" "^          kern_two(float\*)$" "$mlgate" scan -v --gpu H100 "$fx/libpartial.so"
contains "--json: mangled and demangled" '"missing_kernels":\["_Z8kern_twoPf"\],"missing_kernels_demangled":\["kern_two(float\*)"\]' \
    "$mlgate" scan --json --gpu H100 "$fx/libpartial.so"
check "unknown command" 2 "$mlgate" frobnicate
check "missing file" 1 "$mlgate" scan --gpu H100 /nonexistent/lib.so
check "help" 0 "$mlgate" scan --help
check "version" 0 "$mlgate" --version
if ! ls /dev/nvidia0 >/dev/null 2>&1; then   # no GPU here: --load must say why, not crash
    check "load without a driver" 2 "$mlgate" scan --load "$fx/libtwo.so"
    contains "load explains" "libcuda.so.1" "$mlgate" scan --load "$fx/libtwo.so"
fi
contains "suggestion" "did you mean 'RTX 5090'" "$mlgate" scan --gpu "RTX 5900" "$fx"
contains "kernel named" "kern_two(float\*)" "$mlgate" scan --gpu H100 "$fx/libpartial.so"
contains "partial cell" "partial 1/2" "$mlgate" scan --gpu H100 "$fx/libpartial.so"
contains "list-gpus" "GB10" "$mlgate" scan --list-gpus
contains "wheel member" "tiny-0.1-cp311-cp311-linux_x86_64.whl!tiny/libpartial.so" "$mlgate" scan "$fx"
contains "no colour in a pipe" "partial" "$mlgate" scan --gpu H100 "$fx/libpartial.so"
if "$mlgate" scan --gpu H100 "$fx/libpartial.so" | grep -q "$(printf '\033')"; then
    fail=$((fail + 1)); echo "FAIL colour escapes written to a pipe"; else pass=$((pass + 1)); fi

# doctor, against the fake NVML of the tests (FAKE_NVML_SCENARIO picks the machine).
if [ -n "$fake_nvml" ]; then
    export MLGATE_NVML="$fake_nvml"
    FAKE_NVML_SCENARIO=pro6000_5090 check "doctor healthy" 0 "$mlgate" doctor --only-given --no-cuda
    FAKE_NVML_SCENARIO=mismatch check "doctor mismatch fails" 1 "$mlgate" doctor --only-given --no-cuda
    FAKE_NVML_SCENARIO=mismatch contains "doctor says reboot" "reboot" "$mlgate" doctor --only-given --no-cuda
    check "doctor bad option" 2 "$mlgate" doctor --frobnicate
    FAKE_NVML_SCENARIO=pro6000_5090 contains "scan defaults to the GPUs" "GPU1 RTX 5090" "$mlgate" scan "$fx/ptx_120.o"
    FAKE_NVML_SCENARIO=gb10 check "scan on GB10: ptx_120 JITs" 0 "$mlgate" scan "$fx/ptx_120.o"
    FAKE_NVML_SCENARIO=gb10 check "scan on GB10: libtwo has nothing" 1 "$mlgate" scan "$fx/libtwo.so"
    FAKE_NVML_SCENARIO=gb10 check "--no-detect lists only" 0 "$mlgate" scan --no-detect "$fx/libtwo.so"
    FAKE_NVML_SCENARIO=1080ti check "--gpu overrides" 0 "$mlgate" scan --gpu H100 "$fx/sass_90.o"
    if command -v python3 >/dev/null; then
        if FAKE_NVML_SCENARIO=pro6000_5090 "$mlgate" doctor --json --only-given --no-cuda | python3 -c '
import json, sys
d = json.load(sys.stdin)
g = d["nvml"]["gpus"]
assert d["nvml"]["ok"] and d["nvml"]["driver"] == "580.95.05" and d["nvml"]["cuda"] == "13.0", d["nvml"]
assert [x["compute_capability"] for x in g] == ["12.0", "12.0"], g
assert g[0]["memory"]["total"] == 97887 << 20 and g[1]["mig"] is None and g[0]["mig"] is False
assert d["status"] in ("ok", "warn") and all(f["severity"] in ("ok", "warn", "fail") for f in d["findings"])
assert d["cpu"]["threads"] >= 1 and d["memory"]["total"] > 0
'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL doctor json"; fi
    fi
    unset MLGATE_NVML
fi

# plan: the model matrix's memory budget.
mx="$fx/matrix"
check "plan: the workstation fits" 0 "$mlgate" plan "$mx/workstation.yaml"
check "plan: 167 GB of residents on 96+32 GB" 1 "$mlgate" plan "$mx/two-gpu-oversubscribed.yaml"
contains "plan: says by how much" "Oversubscribed by 52.3 GiB: resident models need 167.0 GiB, 114.7 GiB available" "$mlgate" plan "$mx/two-gpu-oversubscribed.yaml"
contains "plan: names on-demand models that exclude each other" "vision and image cannot be loaded at the same time" "$mlgate" plan "$mx/on-demand-conflict.yaml"
check "plan: --vram overrides the matrix's GPUs" 0 "$mlgate" plan --vram 96G,96G,32G "$mx/two-gpu-oversubscribed.yaml"
check "plan: a matrix error is a usage error" 2 "$mlgate" plan "$fx/tiny.gguf"
contains "plan: errors carry file:line:column" "tiny.gguf:1:1" "$mlgate" plan "$fx/tiny.gguf"
check "plan: no such matrix" 2 "$mlgate" plan /nonexistent.yaml
check "plan: --json is valid JSON" 0 sh -c "\"$mlgate\" plan --json \"$mx/on-demand-conflict.yaml\" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"ok\"] and d[\"models\"][2][\"not_together_with\"]==[\"vision\"]'"

# fit and inspect on the committed tiny GGUF.
check "fit: fits" 0 "$mlgate" fit --vram 2G "$fx/tiny.gguf"
check "fit: a 100 MiB GPU cannot hold the CUDA context" 1 "$mlgate" fit --vram 100M "$fx/tiny.gguf"
check "fit: bad size" 2 "$mlgate" fit --vram banana "$fx/tiny.gguf"
check "fit: unknown GPU" 2 "$mlgate" fit --gpu "Voodoo 2" "$fx/tiny.gguf"
check "fit: not a model" 1 "$mlgate" fit --vram 2G "$fx/libtwo.so"
contains "fit: split by free memory" "0.75,0.25" "$mlgate" fit --gpu "RTX PRO 6000,RTX 5090" "$fx/tiny.gguf"
check "fit: -ot to the CPU" 0 "$mlgate" fit --vram 2G -ot 'blk\.0\.=CPU' "$fx/tiny.gguf"
check "fit: -ot to another device is not modelled" 2 "$mlgate" fit --vram 2G -ot 'exps=CUDA0' "$fx/tiny.gguf"
check "fit: -ot bad regex" 2 "$mlgate" fit --vram 2G -ot 'blk[=CPU' "$fx/tiny.gguf"
check "fit: --n-cpu-moe not a number" 2 "$mlgate" fit --vram 2G --n-cpu-moe lots "$fx/tiny.gguf"
contains "fit: dense model has no experts" '"moe":false' "$mlgate" fit --json --vram 2G "$fx/tiny.gguf"
contains "fit: a forced placement names the GPU that is over" "GPU1 needs" "$mlgate" fit --vram 2G,100M --ngl 99 --tensor-split 1,1 "$fx/tiny.gguf"
contains "fit: --no-op-offload" '"op_offload":false' "$mlgate" fit --json --vram 2G --no-op-offload "$fx/tiny.gguf"
contains "fit: a draft model takes its part of the GPU" '"draft":\[[1-9]' "$mlgate" fit --json --vram 2G -md "$fx/tiny.gguf" "$fx/tiny.gguf"
check "fit: --mmproj that is not there" 1 "$mlgate" fit --vram 2G --mmproj /nonexistent.gguf "$fx/tiny.gguf"
check "inspect: gguf" 0 "$mlgate" inspect "$fx/tiny.gguf"
check "inspect: safetensors" 0 "$mlgate" inspect "$fx/tiny.safetensors"
check "inspect: not a model" 1 "$mlgate" inspect "$fx/libtwo.so"
contains "inspect: llama.cpp b5882 or newer loads tiny" "llama.cpp b5882 or newer loads this" "$mlgate" inspect "$fx/tiny.gguf"

# fit for a safetensors checkpoint with an 8B-shaped config.json beside it: KV and activations by hand.
st=$(mktemp -d)
cp "$fx/tiny.safetensors" "$st/model.safetensors"
cat > "$st/config.json" <<'JSON'
{"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
 "num_attention_heads": 32, "num_key_value_heads": 8, "torch_dtype": "bfloat16"}
JSON
# 8192 x 128 KiB = 1 GiB of KV; 8192 x (3 x 14336 + 4 x 4096) x 2 bytes of activations
contains "fit: safetensors KV" '"kv":1073741824,' "$mlgate" fit --json --vram 24G -c 8192 "$st"
contains "fit: safetensors activations" '"activations":973078528,' "$mlgate" fit --json --vram 24G -c 8192 "$st"
check "fit: safetensors fits 24G" 0 "$mlgate" fit --vram 24G -c 8192 "$st"
check "fit: safetensors does not fit 2G" 1 "$mlgate" fit --vram 2G -c 8192 "$st"
check "fit: --engine unknown" 2 "$mlgate" fit --vram 24G --engine llamafile "$st"
check "fit: --kv-cache-dtype unknown" 2 "$mlgate" fit --vram 24G --kv-cache-dtype int3 "$st"
contains "fit: two GPUs, tensor-parallel said" "tensor-parallel over 2 GPUs" "$mlgate" fit --vram 24G,8G -c 8192 "$st"
contains "fit: two GPUs, layer split said" "layers split by memory" "$mlgate" fit --vram 24G,8G -c 8192 "$st"
rm -rf "$st"

# fit for a diffusers pipeline: every component, the offload placements, and no KV cache or prompt tokens.
pl=$(mktemp -d)
mkdir "$pl/transformer" "$pl/vae" "$pl/scheduler"
printf '{"_class_name": "FluxPipeline", "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
 "transformer": ["diffusers", "FluxTransformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]}' > "$pl/model_index.json"
printf '{"num_attention_heads": 24, "attention_head_dim": 128, "in_channels": 64, "patch_size": 1}' > "$pl/transformer/config.json"
printf '{"block_out_channels": [128, 256, 512, 512], "latent_channels": 16}' > "$pl/vae/config.json"
cp "$fx/tiny.safetensors" "$pl/transformer/diffusion_pytorch_model.safetensors"
cp "$fx/tiny.safetensors" "$pl/vae/diffusion_pytorch_model.safetensors"
contains "fit: pipeline components" "2 components" "$mlgate" fit --vram 24G "$pl"
contains "fit: pipeline model offload" "enable_model_cpu_offload" "$mlgate" fit --vram 24G "$pl"
contains "fit: pipeline image tokens" "4096 image + 512 text tokens" "$mlgate" fit --vram 24G "$pl"
if "$mlgate" fit --vram 24G "$pl" 2>&1 | grep -q "KV\|prompt tokens"; then
    fail=$((fail + 1)); echo "FAIL fit: a pipeline has no KV cache or prompt"; else pass=$((pass + 1)); fi
check "fit: pipeline fits 24G" 0 "$mlgate" fit --vram 24G "$pl"
contains "inspect: pipeline components" "diffusers pipeline (model_index.json): transformer" "$mlgate" inspect "$pl"
contains "inspect --json: pipeline" '"pipeline":{"class":"FluxPipeline","components":' "$mlgate" inspect --json "$pl"
rm -rf "$pl"

# JSON: valid, and the fields docs/json.md promises.
if command -v python3 >/dev/null; then
    "$mlgate" scan --json --list --gpu "H100,RTX 5090" "$fx" > /tmp/mlgate-cli-$$.json
    if python3 - /tmp/mlgate-cli-$$.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
files = {f["path"].rsplit("/fixtures/", 1)[-1]: f for f in d["files"]}
p = files["libpartial.so"]
assert p["fatbins"] == 3 and p["sass"] == ["sm_80", "sm_90"], p
assert p["images"] == {"sass": 4, "ptx": 0, "ltoir": 0, "unknown": 0}, p["images"]
v = p["verdicts"][0]
assert v["target"] == "H100" and v["status"] == "partial", v
assert (v["covered"], v["total"], v["jit"]) == (1, 2, 0), v
assert v["missing_kernels"] == ["_Z8kern_twoPf"], v
m = files["mix_100a_120f.o"]
assert m["sass"] == ["sm_100a", "sm_120f"] and m["ptx"] == ["compute_120f"], m
assert [e["compression"] for e in m["fatbin_list"][0]["entries"]] == ["none", "none", "zstd"]
assert files["ptx_120.o"]["verdicts"][1]["need_driver"] == "580.65.06"
assert d["summary"]["failing"] >= 1 and d["targets"][0]["cc"] == "9.0"
PY
    then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL json schema"; fi
    rm -f /tmp/mlgate-cli-$$.json
fi

# The bugs a new user met (issue 9): names, targets, messages, JSON errors, usage errors, libcurl.
t=$(mktemp -d)
printf 'models:\n  - {name: tiny, kind: llm, exec: [true], file: %s/tiny.gguf, ctx: 128, binaries: [%s/ptx_120.o]}\n' \
    "$fx" "$fx" > "$t/one.yaml"
printf 'host:\n  capabilities: %s/caps.json\nmodels:\n  - {name: ok, kind: llm, exec: [true], capability: chat}\n' \
    "$t" > "$t/caps.yaml"
if [ -n "$fake_nvml" ]; then
    export MLGATE_NVML="$fake_nvml"
    FAKE_NVML_SCENARIO=h200 contains "scan names a detected H200 from the GPU table" "^GPU0 H200 " "$mlgate" scan "$fx/sass_90.o"
    FAKE_NVML_SCENARIO=h200 contains "plan names a detected H200 from the GPU table" "GPU0 H200  " "$mlgate" plan "$t/one.yaml"
    FAKE_NVML_SCENARIO=pro6000_5090 contains "table headers keep whole GPU names" "GPU0 RTX PRO 6000 Blackwell  GPU1 RTX 5090  FILE" \
        "$mlgate" scan "$fx/ptx_120.o"
    FAKE_NVML_SCENARIO=h200 contains "check --vram still judges binaries against this machine's GPU" \
        "ptx_120.o: none on GPU0 H200: no SASS that runs on it" "$mlgate" check --vram 80G "$t/one.yaml"
    here=$(uname -m); other=aarch64; [ "$here" = aarch64 ] && other=x86_64
    FAKE_NVML_SCENARIO=h200 check "--arch cannot change this machine's own CPU" 2 "$mlgate" scan --arch $other "$fx/sass_90.o"
    FAKE_NVML_SCENARIO=h200 check "--arch naming this machine's CPU is fine" 0 "$mlgate" scan --arch "$here" "$fx/sass_90.o"
    FAKE_NVML_SCENARIO=mismatch contains "doctor --json: a failure carries its explanation" \
        '"explain":{"id":"nvml-version-mismatch","cause":' "$mlgate" doctor --json --only-given --no-cuda
    FAKE_NVML_SCENARIO=mismatch contains "doctor names the known failure" "known failure: nvml-version-mismatch" \
        "$mlgate" doctor --only-given --no-cuda
    for sc in pro6000_5090 h200 gb10 mismatch; do
        if FAKE_NVML_SCENARIO=$sc "$mlgate" doctor --only-given --no-cuda | grep -q ' $'; then
            fail=$((fail + 1)); echo "FAIL doctor ($sc) ends a line with a space"; else pass=$((pass + 1)); fi
    done
    unset MLGATE_NVML
fi
if [ -n "$fake_cuda" ]; then   # WSL2: NVML fails, libcuda works: plan and check see the GPU through it
    export MLGATE_NVML=/nonexistent MLGATE_CUDA="$fake_cuda"
    contains "plan falls back to libcuda" "GPU0 H200  " "$mlgate" plan "$t/one.yaml"
    contains "check judges binaries against the GPU libcuda sees" "ptx_120.o: none on GPU0 H200: no SASS that runs on it" \
        "$mlgate" check "$t/one.yaml"
    FAKE_CUDA_SCENARIO=stub check "check without any GPU skips the binaries" 0 "$mlgate" check "$t/one.yaml"
    unset MLGATE_NVML MLGATE_CUDA
fi
contains "version --json" '{"mlgate":"[0-9.]*","command":"version"}' "$mlgate" version --json
contains "-V" "^mlgate [0-9]" "$mlgate" -V
check "version: a bad option" 2 "$mlgate" version --frobnicate
contains "--gpu NAME --vram SIZE gives that GPU that size" '"gpus":\[{"name":"RTX 5090","total":25769803776,' \
    "$mlgate" plan --json --gpu "RTX 5090" --vram 24G "$t/one.yaml"
contains "more sizes than names add GPUs" '"name":"GPU1","total":8589934592' "$mlgate" plan --json --gpu "RTX 5090" --vram 24G,8G "$t/one.yaml"
check "plan: more GPUs than a plan takes is a usage error" 2 "$mlgate" plan --vram 1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G "$t/one.yaml"
contains "plan: says how many it takes" "at most 16 GPUs" "$mlgate" plan --vram 1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G,1G "$t/one.yaml"
contains "scan judges the same GPU given twice once" '"targets":\[{"name":"H100","sm":"sm_90","cc":"9.0","driver":null,"cpu":"[a-z0-9_]*"}\]' \
    "$mlgate" scan --json --gpu H100,H100 "$fx/sass_90.o"
contains "one model, not 1 models" "1 of 1 model passed" "$mlgate" check --no-smoke "$t/caps.yaml"
check "check: a receipts folder that does not exist is a usage error" 2 "$mlgate" check --receipts /nonexistent/r.db "$t/caps.yaml"
contains "check: says so before running" "receipts: /nonexistent/r.db: the directory /nonexistent does not exist" \
    "$mlgate" check --receipts /nonexistent/r.db "$t/caps.yaml"
check "check: an unwritable capability path is a usage error" 2 "$mlgate" check --capabilities /proc/caps.json "$t/caps.yaml"
contains "check says where it wrote the capability file" "capabilities: $t/caps.json" "$mlgate" check "$t/caps.yaml"
contains "check says where it wrote JUnit" "junit: $t/j.xml" "$mlgate" check --junit "$t/j.xml" "$t/caps.yaml"
contains "check says when no capability file is configured" "capabilities: none written" "$mlgate" check "$t/one.yaml"
for cmd in "fit --vram 2G $fx/libtwo.so" "fit --vram banana $fx/tiny.gguf" "plan /nonexistent.yaml" "check /nonexistent.yaml" \
           "history --receipts /nonexistent.db" "scan --gpu RTX5900 $fx" "inspect" "doctor --color purple" \
           "plan --frobnicate $t/one.yaml" "scan --frobnicate $fx" "fit --frobnicate $fx/tiny.gguf"; do
    # shellcheck disable=SC2086
    if "$mlgate" $cmd --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] is False and d["error"]["message"]' 2>/dev/null
    then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL '$cmd --json' prints no JSON error object"; fi
done
head -c 400 "$fx/tiny.gguf" > "$t/cut.gguf"
if "$mlgate" inspect "$t/cut.gguf" | grep -q "truncated: truncated"; then fail=$((fail + 1)); echo "FAIL truncated: truncated:"
else pass=$((pass + 1)); fi
if ldd "$mlgate" | grep -q libcurl; then fail=$((fail + 1)); echo "FAIL libcurl is linked into every command"; else pass=$((pass + 1)); fi
if LD_DEBUG=libs "$mlgate" fit --vram 2G "$fx/tiny.gguf" 2>&1 | grep -q "libcurl"; then
    fail=$((fail + 1)); echo "FAIL fit loads libcurl"; else pass=$((pass + 1)); fi
contains "a URL loads libcurl" "libcurl" env LD_DEBUG=libs "$mlgate" inspect http://127.0.0.1:9/x.gguf
# /proc and /sys are not files with data: refused at once, never read or walked
contains "inspect refuses a /proc file" "a file of /proc" "$mlgate" inspect /proc/self/environ
contains "plan refuses a /proc matrix" "a file of /proc" "$mlgate" plan /proc/self/environ
contains "scan does not walk /proc" "a directory of /proc, /sys or the like: not scanned" "$mlgate" scan /proc/self
contains "scan does not walk /sys" "not scanned" "$mlgate" scan /sys/kernel
# inspect exits 1 when no llama.cpp build mlgate has read loads the GGUF (a download script stops on it),
# still printing the report; a projector ('clip') is not judged as a model. One metadata key, no tensors.
gguf_arch() { # gguf_arch ARCH > FILE
    n=$(printf %s "$1" | wc -c)
    printf 'GGUF\003\000\000\000\000\000\000\000\000\000\000\000\001\000\000\000\000\000\000\000'
    printf '\024\000\000\000\000\000\000\000general.architecture\010\000\000\000'
    printf "\\$(printf %03o "$n")\\000\\000\\000\\000\\000\\000\\000%s" "$1"
}
gguf_arch frobnicator > "$t/unknown-arch.gguf"
gguf_arch clip > "$t/mmproj.gguf"
check "inspect: an architecture no llama.cpp build loads exits 1" 1 "$mlgate" inspect "$t/unknown-arch.gguf"
contains "inspect: and still says why" "unknown model architecture" "$mlgate" inspect "$t/unknown-arch.gguf"
check "inspect --json: exits 1 too" 1 "$mlgate" inspect --json "$t/unknown-arch.gguf"
check "inspect: a projector is not refused" 0 "$mlgate" inspect "$t/mmproj.gguf"
rm -rf "$t"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# library.sh - on the GPU machine: the reshaped library against a real GPU and driver - detected names,
# doctor vs nvidia-smi, scan (this machine's GPUs, and --load), plan and fit on the detected GPU, the gate
# with a real GPU workload, and PyTorch's CUDA runtime beside its allocator (the safetensors rule).
# usage: tests/gpu/library.sh MLGATE OUTDIR
set -u
m=$1 out=$2 fx=tests/fixtures
mkdir -p "$out"
site=$(python3 -c 'import site; print(site.getsitepackages()[0])')
torch_lib=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib
nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version,compute_cap --format=csv
echo "== doctor"
"$m" doctor > "$out/doctor.txt"; echo "exit $?"
head -8 "$out/doctor.txt"
if grep -n ' $' "$out/doctor.txt"; then echo "doctor: LINES END IN SPACES"; else echo "doctor: no line ends in a space"; fi
python3 tests/gpu/doctor_compare.py "$m" | grep -c '^ok' | sed 's/^/doctor vs nvidia-smi: ok fields: /'
python3 tests/gpu/doctor_compare.py "$m" | grep '^DIFF' || echo "doctor vs nvidia-smi: no DIFF"
echo "== scan, this machine's GPUs"
"$m" scan "$fx" 2>&1 | head -4
"$m" scan --json "$fx" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("targets:", [(t["name"], t["cc"], t["driver"]) for t in d["targets"]])'
/usr/bin/time -f "scan of the torch venv: %e s" "$m" scan "$site" > "$out/venv-scan.txt" 2>&1; tail -2 "$out/venv-scan.txt"
echo "== scan --load"
"$m" scan --load "$fx" > "$out/load.txt" 2>&1; echo "exit $?"; head -3 "$out/load.txt"; tail -6 "$out/load.txt"
echo "== plan on this machine's GPU"
cat > /tmp/plan.yaml <<YAML
models:
  - {name: big, kind: llm, endpoint: http://127.0.0.1:9/v1, memory: 90G}
  - {name: second, kind: llm, endpoint: http://127.0.0.1:9/v1, memory: 50G}
  - {name: tiny, kind: llm, endpoint: http://127.0.0.1:9/v1, file: $PWD/$fx/tiny.gguf, ctx: 512}
YAML
"$m" plan /tmp/plan.yaml; echo "exit $?"
echo "== fit on this machine's GPU (free memory)"
"$m" fit "$fx/tiny.gguf" | head -3
echo "== the gate with a real GPU workload"
cat > /tmp/gate.yaml <<YAML
host:
  capabilities: /tmp/caps.json
  receipts: /tmp/receipts.db
models:
  - name: torch-matmul
    kind: embedding
    exec: [python3, -c, "import torch; x = torch.randn(4096, 4096, device='cuda'); torch.cuda.synchronize(); print('gpu', torch.cuda.get_device_name(0), bool((x @ x).isfinite().all()))"]
    probe: {expect: "gpu NVIDIA H200 True"}
    binaries: [$torch_lib/libtorch_cuda.so]
    capability: gpu.matmul
    timeout: 60s
  - name: blackwell-only
    kind: llm
    exec: [true]
    binaries: [$PWD/$fx/ptx_120.o]
    capability: chat.blackwell
YAML
/usr/bin/time -f "check: %e s" "$m" check --junit /tmp/junit.xml /tmp/gate.yaml; echo "exit $?"
python3 -c 'import json; d=json.load(open("/tmp/caps.json")); print({k: (v["status"], v.get("failed_stage"), v.get("reason")) for k, v in d["capabilities"].items()})'
"$m" history /tmp/gate.yaml
echo "== PyTorch's CUDA runtime beside its allocator"
PYTHONUNBUFFERED=1 python3 tests/gpu/torch_runtime.py "$m"

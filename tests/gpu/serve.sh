#!/bin/bash
# serve.sh - on the GPU machine: mlgate serve and mlgate-probe against a real GPU - /metrics vs nvidia-smi,
# readiness flipping with a real llama-server, a torch matmul model, the probe from an empty chroot, SIGTERM.
# usage: tests/gpu/serve.sh BUNDLE   where BUNDLE holds bin/ (mlgate, mlgate-probe, a CPU llama-server),
#        lib/ (the .so files `ldd` names that the GPU machine lacks) and tiny.gguf (tests/llama/compare.py
#        writes one: compare.write(path, "llama", 2, 128, 4, 2, 256, F16, False)); then, in the same
#        bundle, the second half: /metrics GPU memory vs nvidia-smi while a process holds 20 GiB, and
#        SIGTERM while an exec model holds the GPU mid-run.
set -u
C=$(cd "${1:?usage: serve.sh BUNDLE}" && pwd)
export LD_LIBRARY_PATH=$C/lib
M=$C/bin/mlgate
O=/tmp/work
R=${OUT:-/tmp/out}
mkdir -p $O/nfd $R
cd $O
get() { python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status); sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); sys.stdout.write(e.read().decode())
EOF
}
nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,driver_version,compute_cap --format=csv,noheader,nounits > smi.csv
cat smi.csv
$C/bin/llama-server -m $C/tiny.gguf -c 512 -t 4 --host 127.0.0.1 --port 18080 > llama.log 2>&1 &
LP=$!
cat > m.yaml <<EOF
host:
  capabilities: $O/caps.json
  receipts: $O/receipts.db
models:
  - name: tiny
    kind: llm
    endpoint: http://127.0.0.1:18080/v1
    file: $C/tiny.gguf
    ctx: 512
    capability: chat.complete
    timeout: 20s
  - name: matmul
    kind: llm
    exec: [python3, -c, "import torch; x=torch.randn(4096,4096,device='cuda'); print('sum', float((x@x).sum()))"]
    probe: {expect: sum}
    capability: gpu.matmul
    timeout: 60s
EOF
for i in $(seq 60); do get http://127.0.0.1:18080/health 2>/dev/null | head -1 | grep -q 200 && break; sleep 0.5; done
$M serve m.yaml --listen 127.0.0.1:19464 --interval 3s --nfd-dir $O/nfd > serve.out 2> serve.log &
SP=$!
for i in $(seq 120); do get http://127.0.0.1:19464/v1/models | grep -q '"run":[1-9]' && break; sleep 0.5; done
for p in readyz v1/models v1/capabilities v1/doctor metrics v1/check "v1/runs?limit=3"; do echo "=== $p"; get "http://127.0.0.1:19464/$p"; done > $R/endpoints.txt
get http://127.0.0.1:19464/metrics > ep_metrics.txt; get http://127.0.0.1:19464/readyz > ep_readyz.txt
nvidia-smi --query-gpu=index,uuid,memory.total,memory.used --format=csv,noheader,nounits > smi_at_metrics.csv
head -1 ep_readyz.txt; grep -E '^mlgate_(model_up|gpu_memory)' ep_metrics.txt
cat nfd/mlgate
# the probe from a root filesystem holding nothing but it
mkdir -p /tmp/empty && cp $C/bin/mlgate-probe /tmp/empty/ && chroot /tmp/empty /mlgate-probe --kind llm http://127.0.0.1:18080/v1 --timeout 20s; echo "probe chroot rc=$?"
t0=$(date +%s%N); for i in $(seq 20); do $C/bin/mlgate-probe --kind llm http://127.0.0.1:18080/v1 >/dev/null; done; echo "probe 20 calls ms: $(( ($(date +%s%N)-t0)/1000000 ))"
kill $LP; wait $LP 2>/dev/null
sleep 8
get http://127.0.0.1:19464/readyz | head -c 600; echo
get http://127.0.0.1:19464/metrics | grep mlgate_model_up; $C/bin/mlgate-probe --kind llm http://127.0.0.1:18080/v1; echo "probe down rc=$?"
$C/bin/llama-server -m $C/tiny.gguf -c 512 -t 4 --host 127.0.0.1 --port 18080 >> llama.log 2>&1 &
LP=$!
sleep 10
get http://127.0.0.1:19464/readyz | head -c 300; echo
get http://127.0.0.1:19464/metrics | grep mlgate_model_up
ps -o rss=,vsz= -p $SP | sed 's/^/serve rss,vsz KiB: /'
grep VmHWM /proc/$SP/status
kill -TERM $SP; wait $SP; echo "serve exit=$?"
kill $LP
tail -20 serve.log
cp serve.log smi.csv smi_at_metrics.csv nfd/mlgate $R/ 2>/dev/null; true

# ---- the second half ----

export LD_LIBRARY_PATH=$C/lib
M=$C/bin/mlgate
O=/tmp/work2; mkdir -p $O; cd $O
python3 -c "import torch,time; x=torch.empty(20*2**30,dtype=torch.uint8,device='cuda'); print('holding', flush=True); time.sleep(45)" &
HP=$!
cat > m.yaml <<EOM
host:
  capabilities: $O/caps.json
models:
  - name: matmul
    kind: llm
    exec: [python3, -c, "import torch; x=torch.randn(4096,4096,device='cuda'); print('sum', float((x@x).sum()))"]
    probe: {expect: sum}
    capability: gpu.matmul
    timeout: 60s
  - name: holder
    kind: llm
    exec: [python3, -c, "import torch,time; x=torch.empty(2**30,device='cuda'); print('MARKER-hold', flush=True); time.sleep(50)"]
    capability: gpu.hold
    timeout: 90s
    residency: on-demand
EOM
sleep 8
$M serve m.yaml --listen 127.0.0.1:19465 --interval 1h --nfd-dir none 2> serve.log &
SP=$!
for i in 1 2 3; do
  sleep 4
  python3 -c "import urllib.request; t=urllib.request.urlopen('http://127.0.0.1:19465/metrics').read().decode(); print([l for l in t.splitlines() if l.startswith('mlgate_gpu_memory_used')])"
  nvidia-smi --query-gpu=memory.used,memory.total --format=csv,noheader,nounits | sed 's/^/smi MiB used,total: /'
  nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader
done
pgrep -f MARKER-hold >/dev/null && echo "holder model running (a run in progress)"
t0=$(date +%s%N); kill -TERM $SP; wait $SP; rc=$?; echo "serve exit=$rc after $(( ($(date +%s%N)-t0)/1000000 )) ms"
sleep 0.5; pgrep -f MARKER-hold && echo "LEFTOVER holder" || echo "no holder process left"
python3 -c "import json; json.load(open('$O/caps.json')); print('caps.json whole')" 2>&1 || echo "no caps.json yet (first run cancelled)"
cat serve.log
kill $HP 2>/dev/null

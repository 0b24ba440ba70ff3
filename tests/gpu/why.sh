#!/bin/bash
# why.sh - on the GPU machine: the gate's failures say why (issue 12). A custom kernel built for sm_80/sm_86
# only: with `binaries:` the gate fails smoke with the scan's why; without it the real program fails with
# "no kernel image is available" in inference, and the failure carries explain's id and fix. Then
# `mlgate explain` on that output with --path (the check names the library), doctor's explanations, and the
# new fixtures loaded by the real driver (scan --load), their names demangled as cuobjdump + cu++filt say.
# usage: tests/gpu/why.sh BUNDLE   (BUNDLE: bin/mlgate, lib/ the .so files `ldd` names, fixtures/; nvcc on PATH)
set -u
C=$(cd "${1:?usage: why.sh BUNDLE}" && pwd)
export LD_LIBRARY_PATH=$C/lib PATH=/usr/local/cuda/bin:$PATH
M=$C/bin/mlgate
O=/tmp/why
R=${OUT:-/tmp/out}
mkdir -p $O $R
cd $O
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | tee $R/gpu.txt
cat > vocoder.cu <<'CU'
#include <cstdio>
__global__ void vocoder_kernel(float *x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] *= 0.5f; }
extern "C" int vocode(void) {
    float *x; cudaMalloc(&x, 1024 * sizeof(float));
    vocoder_kernel<<<4, 256>>>(x, 1024);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
    if (e != cudaSuccess) fprintf(stderr, "RuntimeError: CUDA error: %s (%s, %d)\n", cudaGetErrorString(e), cudaGetErrorName(e), (int)e);
    cudaFree(x);
    return (int)e;
}
CU
printf '#include <stdio.h>\nint vocode(void);\nint main(void) { int e = vocode(); if (!e) puts("vocoded 1024 samples"); return e ? 1 : 0; }\n' > main.c
nvcc -shared -Xcompiler -fPIC -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 vocoder.cu -o libvocoder.so
gcc main.c -L. -lvocoder -Wl,-rpath,$O -o vocode
./vocode; echo "vocode rc=$?"
cat > m.yaml <<EOF
models:
  - name: tts-custom
    kind: tts
    exec: [$O/vocode]
    probe: {expect: vocoded}
    binaries: [$O/libvocoder.so]
    timeout: 30s
  - name: tts-unscanned
    kind: tts
    exec: [$O/vocode]
    probe: {expect: vocoded}
    timeout: 30s
EOF
$M check m.yaml > $R/check.txt 2>&1; echo "check rc=$?" >> $R/check.txt
$M check --json m.yaml > $R/check.json 2>$R/check.err; echo "check --json rc=$?" >> $R/check.err
cat $R/check.txt
python3 - $R/check.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for m in d.get('models', []):
    for name, s in (m.get('stages') or {}).items():
        if s and s.get('ok') is False:
            print(m['name'], name, '|', (s.get('reason') or '')[:300], '| explain:', json.dumps(s.get('explain')))
PY
./vocode 2> vocode.err; $M explain --path $O/libvocoder.so vocode.err > $R/explain.txt 2>&1; echo "explain rc=$?" >> $R/explain.txt
$M explain --json --path $O/libvocoder.so vocode.err > $R/explain.json 2>&1
cat $R/explain.txt
$M doctor --json > $R/doctor.json 2>&1; echo "doctor rc=$?"
# the new fixtures as the driver sees them, and their kernel names as NVIDIA's tools spell them
$M scan --load --json $C/fixtures > $R/load.json 2>$R/load.err; echo "scan --load rc=$?"
python3 - $R/load.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print('device', d.get('device'))
for f in d['files']:
    v = f['verdicts'][-1] if f.get('verdicts') else {}
    print(f['path'].split('/')[-1], v.get('status'), '|', (v.get('reason') or '')[:110], '| cuda', f.get('cuda'), '| load', f.get('load'))
PY
for f in libpartial.so libtwo.so ptx88_120.o cuda13_75_ptx70.o sass_100a_120.o; do
    echo "== $f"; cuobjdump -lelf -lptx $C/fixtures/$f 2>&1 | head -8
    cuobjdump -elf $C/fixtures/$f 2>/dev/null | grep -o '_Z[A-Za-z0-9_]*' | sort -u | head -5 | while read -r n; do echo "$n -> $(echo "$n" | cu++filt 2>/dev/null || echo "$n" | c++filt)"; done
done > $R/cuobjdump.txt 2>&1
$M scan -v --json --gpu H100 $C/fixtures/libpartial.so | python3 -c "import json,sys; v=json.load(sys.stdin)['files'][0]['verdicts'][0]; print('mlgate', v['missing_kernels'], v['missing_kernels_demangled'])" >> $R/cuobjdump.txt
cat $R/cuobjdump.txt

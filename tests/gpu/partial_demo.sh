#!/bin/sh
# partial_demo.sh - on a GPU machine: a two-object library whose second object lacks the GPU's
# architecture really fails only when that object's kernel is launched; mlgate calls it partial.
# usage: tests/gpu/partial_demo.sh MLGATE     (needs nvcc and a GPU of sm_90 or newer)
set -u
mlgate=$1
tmp=$(mktemp -d)
cat > "$tmp/a.cu" <<'CU'
#include <cstdio>
__global__ void kern_one(int *p) { p[threadIdx.x] = 1; }
extern "C" int launch1(void) {
    int *p; cudaMalloc(&p, 128); kern_one<<<1, 32>>>(p);
    cudaError_t e = cudaGetLastError(); cudaDeviceSynchronize(); cudaFree(p);
    return (int)e;
}
CU
cat > "$tmp/b.cu" <<'CU'
__global__ void kern_two(int *p) { p[threadIdx.x] = 2; }
extern "C" int launch2(void) {
    int *p; cudaMalloc(&p, 128); kern_two<<<1, 32>>>(p);
    cudaError_t e = cudaGetLastError(); cudaDeviceSynchronize(); cudaFree(p);
    return (int)e;
}
CU
cat > "$tmp/main.c" <<'C'
#include <stdio.h>
int launch1(void);
int launch2(void);
int main(void) {
    int a = launch1(), b = launch2();
    printf("launch1 -> %d (%s)\nlaunch2 -> %d (%s)\n", a, a ? "error" : "ok", b,
           b == 209 ? "cudaErrorNoKernelImageForDevice: no kernel image is available" : b ? "error" : "ok");
    return 0;
}
C
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
nvcc -c -Xcompiler -fPIC -gencode arch=compute_80,code=sm_80 -gencode arch=compute_$cc,code=sm_$cc "$tmp/a.cu" -o "$tmp/a.o"
nvcc -c -Xcompiler -fPIC -gencode arch=compute_80,code=sm_80 "$tmp/b.cu" -o "$tmp/b.o"
nvcc -shared -gencode arch=compute_80,code=sm_80 "$tmp/a.o" "$tmp/b.o" -o "$tmp/libtwoobj.so"
gcc "$tmp/main.c" -L"$tmp" -ltwoobj -o "$tmp/demo"
echo "== the real run on sm_$cc"
LD_LIBRARY_PATH="$tmp" "$tmp/demo"
echo "== mlgate"
"$mlgate" scan --gpu "sm_$cc" "$tmp/libtwoobj.so"
echo "== mlgate --load"
"$mlgate" scan --load "$tmp/libtwoobj.so" | tail -4
rm -rf "$tmp"

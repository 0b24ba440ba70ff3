/*
 * fake_cuda.c - a stand-in libcuda.so built by the tests (MLGATE_CUDA points at it): the CUDA
 * driver API calls mlgate's libcuda probe makes, playing the machine FAKE_CUDA_SCENARIO names:
 * "h200" (one H200: WSL2-like, where NVML fails but CUDA works), "stub" (the toolkit's stub library).
 */
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;

static int is(const char *s)
{
    const char *v = getenv("FAKE_CUDA_SCENARIO");
    return strcmp(v ? v : "h200", s) == 0;
}

CUresult cuInit(unsigned flags) { (void)flags; return is("stub") ? 34 : 0; }   /* 34: CUDA_ERROR_STUB_LIBRARY */
CUresult cuDriverGetVersion(int *v) { *v = 13000; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(CUdevice *d, int i) { *d = i; return i == 0 ? 0 : 101; }

CUresult cuDeviceGetName(char *name, int len, CUdevice d)
{
    (void)d;
    strncpy(name, "NVIDIA H200", (size_t)len - 1);
    name[len - 1] = 0;
    return 0;
}

CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d)
{
    (void)d;
    *v = attr == 75 ? 9 : attr == 76 ? 0 : 0;   /* compute capability 9.0; not integrated */
    return 0;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d)
{
    (void)d;
    *bytes = 143771ull << 20;
    return 0;
}

CUresult cuDeviceGetPCIBusId(char *id, int len, CUdevice d)
{
    (void)d;
    strncpy(id, "0000:18:00.0", (size_t)len - 1);
    id[len - 1] = 0;
    return 0;
}

/*
 * fake_nvml.c - a stand-in libnvidia-ml.so built by the tests: FAKE_NVML_SCENARIO picks
 * the machine it pretends to be (see `scenario` below). Only what mlgate calls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/gpu/nvml_abi.h"

typedef struct gpu {
    const char *name, *uuid, *bus;
    int major, minor, arch;
    unsigned long long total, free, reserved;   /* MiB; total 0 = NOT_SUPPORTED */
    unsigned pci_id, mig, persistence, bus_type;
} gpu;

#define MIB (1024ull * 1024)

static const gpu pro6000 = {"NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "GPU-11111111-2222-3333-4444-555555555555",
                            "00000000:01:00.0", 12, 0, 10, 97887, 96500, 512, 0x2bb110de, 0, 1, 2};
static const gpu rtx5090 = {"NVIDIA GeForce RTX 5090", "GPU-66666666-7777-8888-9999-000000000000",
                            "00000000:41:00.0", 12, 0, 10, 32607, 31000, 400, 0x2b8510de, 3, 0, 2};
static const gpu gb10 = {"NVIDIA GB10", "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "0000000F:01:00.0",
                         12, 1, 10, 0, 0, 0, 0x2e1210de, 3, 1, 3};
static const gpu gtx1080ti = {"NVIDIA GeForce GTX 1080 Ti", "GPU-12345678-1234-1234-1234-123456789abc",
                              "00000000:02:00.0", 6, 1, 4, 11264, 11000, 0, 0x1b0610de, 3, 0, 2};
static const gpu h100_busy = {"NVIDIA H100 80GB HBM3", "GPU-feedface-0000-0000-0000-000000000000",
                              "00000000:19:00.0", 9, 0, 9, 81559, 2048, 500, 0x233010de, 1, 1, 2};

static const gpu h200 = {"NVIDIA H200", "GPU-0123abcd-0000-1111-2222-333333333333", "00000000:18:00.0", 9, 0, 9,
                         143771, 143000, 500, 0x233510de, 0, 1, 2};

static const char *scenario(void)
{
    const char *s = getenv("FAKE_NVML_SCENARIO");
    return s ? s : "pro6000_5090";
}

static int is(const char *s) { return strcmp(scenario(), s) == 0; }

static const gpu *device(unsigned i)
{
    if (is("pro6000_5090"))
        return i == 0 ? &pro6000 : i == 1 ? &rtx5090 : NULL;
    if (is("gb10"))
        return i == 0 ? &gb10 : NULL;
    if (is("1080ti") || is("nolibcuda"))
        return i == 0 ? &gtx1080ti : NULL;
    if (is("mig_busy"))
        return i == 0 ? &h100_busy : NULL;
    if (is("h200"))
        return i == 0 ? &h200 : NULL;
    if (is("garbage"))
        return i < 2 ? &pro6000 : NULL;
    return NULL;
}

static unsigned count(void)
{
    if (is("pro6000_5090"))
        return 2;
    if (is("garbage"))
        return 3;   /* the third handle fails: GPU is lost */
    if (is("nogpu"))
        return 0;
    return 1;
}

nvmlReturn_t nvmlInit_v2(void) { return is("mismatch") ? 18 : is("noload") ? 9 : 0; }
nvmlReturn_t nvmlShutdown(void) { return 0; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *n) { *n = count(); return 0; }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d)
{
    if (i >= count() || !device(i))
        return 15;   /* GPU_IS_LOST */
    *d = (nvmlDevice_t)(uintptr_t)(i + 1);
    return 0;
}

static const gpu *of(nvmlDevice_t d) { return device((unsigned)((uintptr_t)d - 1)); }

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *buf, unsigned n)
{
    if (is("garbage")) {        /* no terminator, control bytes */
        memset(buf, 'A', n);
        buf[3] = '\033';
        return 0;
    }
    strncpy(buf, of(d)->name, n);
    return 0;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *buf, unsigned n)
{
    strncpy(buf, of(d)->uuid, n);
    return 0;
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor)
{
    *major = is("garbage") ? 99 : of(d)->major;
    *minor = is("garbage") ? -7 : of(d)->minor;
    return 0;
}

nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t d, unsigned *a)
{
    *a = is("garbage") ? 0xdeadbeef : (unsigned)of(d)->arch;
    return 0;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m)
{
    const gpu *g = of(d);
    if (m->version != NVML_MEMORY_V2)
        return 25;   /* ARGUMENT_VERSION_MISMATCH: the caller's struct is wrong */
    if (!g->total)
        return 3;    /* NOT_SUPPORTED: unified memory (GB10) */
    m->total = g->total * MIB;
    m->free = is("garbage") ? g->total * MIB * 2 : g->free * MIB;
    m->reserved = g->reserved * MIB;
    m->used = m->total - g->free * MIB - m->reserved;
    return 0;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_v1_t *m)
{
    (void)d;
    (void)m;
    return 3;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p)
{
    memset(p, 0, sizeof *p);
    strncpy(p->busId, of(d)->bus, sizeof p->busId - 1);
    p->pciDeviceId = of(d)->pci_id;
    return 0;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned *cur, unsigned *pend)
{
    if (of(d)->mig == 3)
        return 3;    /* GeForce: not supported */
    *cur = *pend = of(d)->mig;
    return 0;
}

nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t d, unsigned *p) { *p = of(d)->persistence; return 0; }
nvmlReturn_t nvmlDeviceGetBusType(nvmlDevice_t d, unsigned *t) { *t = of(d)->bus_type; return 0; }

nvmlReturn_t nvmlSystemGetDriverVersion(char *buf, unsigned n)
{
    strncpy(buf, is("1080ti") || is("nolibcuda") ? "575.64.03" : "580.95.05", n);
    return 0;
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v)
{
    if (is("nolibcuda"))
        return 12;   /* LIBRARY_NOT_FOUND */
    *v = is("1080ti") ? 12090 : 13000;
    return 0;
}

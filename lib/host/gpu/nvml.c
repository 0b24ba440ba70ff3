/*
 * nvml.c - GPU discovery through NVML (libnvidia-ml.so.1 via dlopen, our own
 * minimal declarations). Versioned symbols are tried newest first; every call
 * but init/count/handle may fail without failing the probe.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlgate/binaries.h"
#include "mlgate/host.h"

#include "core/file.h"
#include "host/gpu/nvml_abi.h"

#define NVML_BUS_TYPE_PCIE 2

typedef struct nvml {
    void *lib;
    nvmlReturn_t (*init)(void);
    nvmlReturn_t (*shutdown)(void);
    nvmlReturn_t (*count)(unsigned int *);
    nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *);
    nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
    nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned int);
    nvmlReturn_t (*cc)(nvmlDevice_t, int *, int *);
    nvmlReturn_t (*arch)(nvmlDevice_t, unsigned int *);
    nvmlReturn_t (*mem2)(nvmlDevice_t, nvmlMemory_v2_t *);
    nvmlReturn_t (*mem1)(nvmlDevice_t, nvmlMemory_v1_t *);
    nvmlReturn_t (*pci)(nvmlDevice_t, nvmlPciInfo_t *);
    nvmlReturn_t (*mig)(nvmlDevice_t, unsigned int *, unsigned int *);
    nvmlReturn_t (*persistence)(nvmlDevice_t, unsigned int *);
    nvmlReturn_t (*bus)(nvmlDevice_t, unsigned int *);
    nvmlReturn_t (*driver)(char *, unsigned int);
    nvmlReturn_t (*cuda_v2)(int *);
} nvml;

/* The first of several symbol names the library has (newest first). */
static void *sym(void *lib, const char *a, const char *b, const char *c)
{
    void *p = dlsym(lib, a);
    if (!p && b)
        p = dlsym(lib, b);
    if (!p && c)
        p = dlsym(lib, c);
    return p;
}

/* NVML return codes in plain words, with what usually causes them. */
static const char *nvml_words(int rc)
{
    switch (rc) {
    case 2: return "invalid argument";
    case 3: return "not supported";
    case 4: return "no permission to use the GPU (device node permissions?)";
    case 6: return "not found";
    case 9: return "the NVIDIA kernel driver is not loaded";
    case 10: return "timeout";
    case 11: return "the kernel driver reports an interrupt problem";
    case 12: return "a library NVML needs was not found";
    case 13: return "this NVML lacks a function";
    case 14: return "the GPU's infoROM is corrupted";
    case 15: return "the GPU has fallen off the bus";
    case 16: return "the GPU needs a reset";
    case 17: return "the operating system refused the call";
    case 18: return "NVML and the kernel module are different versions: the driver was upgraded without "
                    "a reboot (or module reload)";
    default: return "unknown NVML error";
    }
}

static const char *arch_name(unsigned a)
{
    static const char *const n[] = {"", "", "Kepler", "Maxwell", "Pascal", "Volta", "Turing",
                                    "Ampere", "Ada", "Hopper", "Blackwell"};
    return a < sizeof n / sizeof n[0] ? n[a] : a == 13 ? "Rubin" : "";
}

/* Copies a string NVML wrote, however it behaved: always terminated, control bytes and trailing spaces dropped. */
static void clean(char *dst, size_t n, const char *src, size_t srcn)
{
    size_t j = 0;
    for (size_t i = 0; i < srcn && src[i] && j + 1 < n; i++)
        if ((unsigned char)src[i] >= 0x20 && src[i] != 0x7f)
            dst[j++] = src[i];
    while (j && dst[j - 1] == ' ')
        j--;
    dst[j] = 0;
}

static void read_gpu(const nvml *v, nvmlDevice_t d, mg_host_gpu *g)
{
    char buf[128];
    g->mig = g->persistence = g->bus_type = -1;
    memset(buf, 0, sizeof buf);
    if (v->name && v->name(d, buf, 96) == NVML_SUCCESS)
        clean(g->name, sizeof g->name, buf, sizeof buf - 1);
    memset(buf, 0, sizeof buf);
    if (v->uuid && v->uuid(d, buf, 96) == NVML_SUCCESS)
        clean(g->uuid, sizeof g->uuid, buf, sizeof buf - 1);
    int major = 0, minor = 0;
    if (v->cc && v->cc(d, &major, &minor) == NVML_SUCCESS && major > 0 && major < 16 && minor >= 0 && minor < 10)
        g->cc = (uint16_t)(major * 10 + minor);
    unsigned a = 0;
    if (v->arch && v->arch(d, &a) == NVML_SUCCESS)
        snprintf(g->arch, sizeof g->arch, "%s", arch_name(a));
    nvmlMemory_v2_t m2;
    nvmlMemory_v1_t m1;
    memset(&m2, 0, sizeof m2);
    m2.version = NVML_MEMORY_V2;
    if (v->mem2 && v->mem2(d, &m2) == NVML_SUCCESS) {
        g->mem_total = m2.total;
        g->mem_free = m2.free;
        g->mem_used = m2.used;
        g->mem_reserved = m2.reserved;
    } else if (v->mem1 && v->mem1(d, &m1) == NVML_SUCCESS) {
        g->mem_total = m1.total;
        g->mem_free = m1.free;
        g->mem_used = m1.used;
    }
    if (g->mem_free > g->mem_total)     /* garbage: keep what is consistent */
        g->mem_free = g->mem_used = g->mem_reserved = 0;
    nvmlPciInfo_t pci;
    memset(&pci, 0, sizeof pci);
    if (v->pci && v->pci(d, &pci) == NVML_SUCCESS) {
        clean(g->pci_bus_id, sizeof g->pci_bus_id, pci.busId, sizeof pci.busId);
        if ((pci.pciDeviceId & 0xffff) == 0x10de)
            g->pci_device = (uint16_t)(pci.pciDeviceId >> 16);
    }
    unsigned cur = 0, pend = 0, p = 0, bus = 0;
    if (v->mig && v->mig(d, &cur, &pend) == NVML_SUCCESS)
        g->mig = cur == 1;
    if (v->persistence && v->persistence(d, &p) == NVML_SUCCESS)
        g->persistence = p == 1;
    if (v->bus && v->bus(d, &bus) == NVML_SUCCESS && bus < 16)
        g->bus_type = (int)bus;
    /* GB10 / Jetson: one memory pool; NVML reports no dedicated memory there. */
    const mg_gpu_info *known = g->name[0] ? mg_gpu_find(g->name) : NULL;
    g->unified_memory = (known && known->mem_mib == 0) || (g->mem_total == 0 && g->cc >= 87);
    if (!g->cc && known)
        g->cc = known->cc;
    if (!g->arch[0] && known)
        snprintf(g->arch, sizeof g->arch, "%s", known->family);
}

const char *mg_nvml_lib(const mg_host_paths *p)
{
    return mg_lib_path(p ? p->nvml_lib : NULL, "MLGATE_NVML", "libnvidia-ml.so.1");
}

static int probe(const mg_host_paths *p, mg_gpu_probe *out)
{
    memset(out, 0, sizeof *out);
    out->backend = "nvml";
    const char *path = mg_nvml_lib(p);
    nvml v;
    memset(&v, 0, sizeof v);
    v.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!v.lib) {
        out->code = 12;
        snprintf(out->error, sizeof out->error, "cannot load %s: the NVIDIA driver's user-space libraries are "
                 "not installed or not visible here", path);
        return MG_E_DRIVER;
    }
#define S(field, ...) *(void **)&v.field = sym(v.lib, __VA_ARGS__)
    S(init, "nvmlInit_v2", "nvmlInit", NULL);
    S(shutdown, "nvmlShutdown", NULL, NULL);
    S(count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount", NULL);
    S(handle, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex", NULL);
    S(name, "nvmlDeviceGetName", NULL, NULL);
    S(uuid, "nvmlDeviceGetUUID", NULL, NULL);
    S(cc, "nvmlDeviceGetCudaComputeCapability", NULL, NULL);
    S(arch, "nvmlDeviceGetArchitecture", NULL, NULL);
    S(mem2, "nvmlDeviceGetMemoryInfo_v2", NULL, NULL);
    S(mem1, "nvmlDeviceGetMemoryInfo", NULL, NULL);
    S(pci, "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo");
    S(mig, "nvmlDeviceGetMigMode", NULL, NULL);
    S(persistence, "nvmlDeviceGetPersistenceMode", NULL, NULL);
    S(bus, "nvmlDeviceGetBusType", NULL, NULL);
    S(driver, "nvmlSystemGetDriverVersion", NULL, NULL);
    /* Not the unversioned call: it invents a version when libcuda is missing. */
    S(cuda_v2, "nvmlSystemGetCudaDriverVersion_v2", NULL, NULL);
#undef S
    if (!v.init || !v.count || !v.handle) {
        out->code = 13;
        snprintf(out->error, sizeof out->error, "%s lacks nvmlInit/nvmlDeviceGetCount: not a usable NVML", path);
        dlclose(v.lib);
        return MG_E_DRIVER;
    }
    int rc = v.init();
    if (rc != NVML_SUCCESS) {
        out->code = rc;
        snprintf(out->error, sizeof out->error, "NVML error %d: %s", rc, nvml_words(rc));
        dlclose(v.lib);
        return MG_E_DRIVER;
    }
    out->ok = 1;
    char buf[96];
    memset(buf, 0, sizeof buf);
    if (v.driver && v.driver(buf, 80) == NVML_SUCCESS) {
        char ver[96];
        clean(ver, sizeof ver, buf, sizeof buf - 1);
        mg_driver_parse(ver, &out->driver);
    }
    int cv = 0;
    if (v.cuda_v2 && v.cuda_v2(&cv) == NVML_SUCCESS && cv >= 1000 && cv < 100000)
        out->cuda_version = cv;
    unsigned n = 0;
    if ((rc = v.count(&n)) != NVML_SUCCESS) {
        out->ok = 0;
        out->code = rc;
        snprintf(out->error, sizeof out->error, "NVML cannot count GPUs: error %d: %s", rc, nvml_words(rc));
    }
    for (unsigned i = 0; i < n && out->ngpus < MG_MAX_GPUS; i++) {
        nvmlDevice_t d;
        mg_host_gpu *g = &out->gpus[out->ngpus];
        memset(g, 0, sizeof *g);
        g->index = (int)i;
        if ((rc = v.handle(i, &d)) != NVML_SUCCESS) {
            snprintf(g->name, sizeof g->name, "GPU %u unavailable: %s", i, nvml_words(rc));
            g->mig = g->persistence = g->bus_type = -1;
        } else {
            read_gpu(&v, d, g);
        }
        out->ngpus++;
    }
    if (v.shutdown)
        v.shutdown();
    dlclose(v.lib);
    return MG_OK;
}

const mg_gpu_backend mg_gpu_nvml = {"nvml", probe};

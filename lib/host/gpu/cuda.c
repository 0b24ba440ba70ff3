/*
 * cuda.c - GPU discovery through the CUDA driver API (libcuda.so.1 via dlopen),
 * in a child process with a time limit: cuInit on a broken driver can hang or
 * crash, and a process that called cuInit must not fork afterwards. Tells
 * whether CUDA programs can really start, and works where NVML does not (WSL2).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/child.h"
#include "core/file.h"
#include "mlgate/binaries.h"
#include "mlgate/host.h"

typedef int CUresult;
typedef int CUdevice;

#define ATTR_CC_MAJOR 75
#define ATTR_CC_MINOR 76
#define ATTR_INTEGRATED 18
#define TIME_LIMIT_S 20

static int child(int fd, void *arg)
{
    const char *lib = arg;
    mg_gpu_probe r;
    memset(&r, 0, sizeof r);
    r.backend = NULL;
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    CUresult (*init)(unsigned) = NULL, (*version)(int *) = NULL, (*count)(int *) = NULL;
    CUresult (*get)(CUdevice *, int) = NULL, (*name)(char *, int, CUdevice) = NULL;
    CUresult (*attr)(int *, int, CUdevice) = NULL, (*mem)(size_t *, CUdevice) = NULL;
    CUresult (*bus)(char *, int, CUdevice) = NULL;
    if (!h) {
        r.code = -1;
        snprintf(r.error, sizeof r.error, "cannot load %s: %s", lib, dlerror());
    } else {
        *(void **)&init = dlsym(h, "cuInit");
        *(void **)&version = dlsym(h, "cuDriverGetVersion");
        *(void **)&count = dlsym(h, "cuDeviceGetCount");
        *(void **)&get = dlsym(h, "cuDeviceGet");
        *(void **)&name = dlsym(h, "cuDeviceGetName");
        *(void **)&attr = dlsym(h, "cuDeviceGetAttribute");
        *(void **)&mem = dlsym(h, "cuDeviceTotalMem_v2");
        *(void **)&bus = dlsym(h, "cuDeviceGetPCIBusId");
        int rc, n = 0;
        if (!init || !count || !get || !attr) {
            r.code = -1;
            snprintf(r.error, sizeof r.error, "%s lacks cuInit/cuDeviceGet: not a CUDA driver library", lib);
        } else if ((rc = init(0)) != 0) {
            r.code = rc;
            snprintf(r.error, sizeof r.error, "cuInit failed: %s (%d): %s", mg_cu_name(rc), rc, mg_cu_meaning(rc));
        } else {
            r.ok = 1;
            if (version)
                version(&r.cuda_version);
            if ((rc = count(&n)) != 0)
                n = 0;
            for (int i = 0; i < n && r.ngpus < MG_MAX_GPUS; i++) {
                CUdevice d;
                if (get(&d, i) != 0)
                    continue;
                mg_host_gpu *g = &r.gpus[r.ngpus++];
                g->index = i;
                g->mig = g->persistence = g->bus_type = -1;
                if (name)
                    name(g->name, sizeof g->name - 1, d);
                for (size_t l = strlen(g->name); l && g->name[l - 1] == ' ';)
                    g->name[--l] = 0;   /* as NVML's: no trailing spaces */
                int major = 0, minor = 0, integrated = 0;
                attr(&major, ATTR_CC_MAJOR, d);
                attr(&minor, ATTR_CC_MINOR, d);
                attr(&integrated, ATTR_INTEGRATED, d);
                if (major > 0 && major < 16 && minor >= 0 && minor < 10)
                    g->cc = (uint16_t)(major * 10 + minor);
                size_t total = 0;
                if (mem && mem(&total, d) == 0)
                    g->mem_total = total;
                if (bus)
                    bus(g->pci_bus_id, sizeof g->pci_bus_id - 1, d);
                g->unified_memory = integrated == 1;
                const mg_gpu_info *known = mg_gpu_find(g->name);
                if (known)
                    snprintf(g->arch, sizeof g->arch, "%s", known->family);
            }
        }
    }
    const char *p = (const char *)&r;
    size_t left = sizeof r;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    return 0;
}

const char *mg_cuda_lib(const mg_host_paths *p)
{
    return mg_lib_path(p ? p->cuda_lib : NULL, "MLGATE_CUDA", "libcuda.so.1");
}

static int probe(const mg_host_paths *hp, mg_gpu_probe *out)
{
    memset(out, 0, sizeof *out);
    out->backend = "cuda";
    mg_child ch;
    if (mg_child_fork(&ch, child, (void *)mg_cuda_lib(hp), out->error, sizeof out->error))
        return MG_E_IO;
    mg_gpu_probe *r = mg_malloc(sizeof *r);
    int got = r ? mg_child_read_record(&ch, r, sizeof *r, mg_now() + TIME_LIMIT_S) : 0;
    int status = mg_child_end(&ch, got < 0 ? 0 : mg_now() + 1);
    if (got == 1) {
        *out = *r;
    } else if (got < 0) {
        snprintf(out->error, sizeof out->error, "libcuda did not answer within %d s (cuInit hangs: a GPU or driver "
                 "in a bad state?)", TIME_LIMIT_S);
        out->code = -1;
    } else {
        snprintf(out->error, sizeof out->error, "the process probing libcuda died%s%s",
                 WIFSIGNALED(status) ? " of signal " : "", WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "");
        out->code = -1;
    }
    free(r);
    out->backend = "cuda";
    return out->ok ? MG_OK : MG_E_DRIVER;
}

const mg_gpu_backend mg_gpu_cuda = {"cuda", probe};

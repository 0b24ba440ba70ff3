/*
 * cuda.c - GPU discovery through the CUDA driver API (libcuda.so.1 via dlopen),
 * in a child process with a time limit: cuInit on a broken driver can hang or
 * crash, and a process that called cuInit must not fork afterwards. Tells
 * whether CUDA programs can really start, and works where NVML does not (WSL2).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlgate/host.h"
#include "mlgate/load.h"
#include "mlgate/mlgate.h"

typedef int CUresult;
typedef int CUdevice;

#define ATTR_CC_MAJOR 75
#define ATTR_CC_MINOR 76
#define ATTR_INTEGRATED 18
#define TIME_LIMIT_S 20

static void child(int fd, const char *lib)
{
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
    _exit(0);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int probe(const mg_host_paths *hp, mg_gpu_probe *out)
{
    (void)hp;
    memset(out, 0, sizeof *out);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(out->error, sizeof out->error, "pipe: %s", strerror(errno));
        out->backend = "cuda";
        return MG_E_IO;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        out->backend = "cuda";
        snprintf(out->error, sizeof out->error, "fork: %s", strerror(errno));
        return MG_E_IO;
    }
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], "libcuda.so.1");
    }
    close(fds[1]);
    mg_gpu_probe r;
    char *p = (char *)&r;
    size_t got = 0;
    double t0 = now();
    int timed_out = 0;
    while (got < sizeof r) {
        double left = TIME_LIMIT_S - (now() - t0);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pf = {fds[0], POLLIN, 0};
        int pr = poll(&pf, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t n = read(fds[0], p + got, sizeof r - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got == sizeof r) {
        *out = r;
    } else if (timed_out) {
        snprintf(out->error, sizeof out->error, "libcuda did not answer within %d s (cuInit hangs: a GPU or driver "
                 "in a bad state?)", TIME_LIMIT_S);
        out->code = -1;
    } else {
        snprintf(out->error, sizeof out->error, "the process probing libcuda died%s%s",
                 WIFSIGNALED(status) ? " of signal " : "", WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "");
        out->code = -1;
    }
    out->backend = "cuda";
    return out->ok ? MG_OK : MG_E_DRIVER;
}

const mg_gpu_backend mg_gpu_cuda = {"cuda", probe};

/*
 * load.c - `scan --load`: load each fatbin through the real CUDA driver
 * (libcuda.so.1 via dlopen, our own declarations) in a child process, so that
 * a driver crash (seen with NCCL's relocatable fatbins) is reported rather than
 * inherited, and a time budget bounds slow PTX JIT (cuFFT: minutes).
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlgate/load.h"
#include "mlgate/mlgate.h"

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;

#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76
#define MAX_CRASHES 16

typedef struct cu {
    void *lib;
    CUresult (*init)(unsigned);
    CUresult (*device_get)(CUdevice *, int);
    CUresult (*attribute)(int *, int, CUdevice);
    CUresult (*name)(char *, int, CUdevice);
    CUresult (*version)(int *);
    CUresult (*retain)(CUcontext *, CUdevice);
    CUresult (*set_current)(CUcontext);
    CUresult (*load)(CUmodule *, const void *);
    CUresult (*unload)(CUmodule);
} cu;

/* One record from the child; small enough for an atomic pipe write. */
typedef struct rec {
    char type;              /* 'D' device, 'S' starting a load, 'R' its result, 'E' error */
    int32_t idx, code, cc, version;
    char text[200];
} rec;

static void put(int fd, char type, int32_t idx, int32_t code, const char *text)
{
    rec r;
    memset(&r, 0, sizeof r);
    r.type = type;
    r.idx = idx;
    r.code = code;
    if (text)
        snprintf(r.text, sizeof r.text, "%s", text);
    ssize_t n = write(fd, &r, sizeof r);
    (void)n;
}

static int open_cu(cu *c, char *err, size_t n)
{
    c->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!c->lib) {
        snprintf(err, n, "cannot load libcuda.so.1 (NVIDIA driver not installed, or not visible here): %s",
                 dlerror());
        return -1;
    }
#define SYM(field, name)                                                       \
    if (!(*(void **)&c->field = dlsym(c->lib, name))) {                        \
        snprintf(err, n, "libcuda.so.1 lacks %s (driver too old?)", name);     \
        return -1;                                                             \
    }
    SYM(init, "cuInit");
    SYM(device_get, "cuDeviceGet");
    SYM(attribute, "cuDeviceGetAttribute");
    SYM(name, "cuDeviceGetName");
    SYM(version, "cuDriverGetVersion");
    SYM(retain, "cuDevicePrimaryCtxRetain");
    SYM(set_current, "cuCtxSetCurrent");
    SYM(load, "cuModuleLoadData");
    SYM(unload, "cuModuleUnload");
#undef SYM
    return 0;
}

/* The child: set up the device, then load fatbins from `start` on, reporting each. */
static void child(int fd, const char *path, const mg_report *r, const int *todo, uint32_t start, int ordinal)
{
    cu c;
    char err[160];
    if (open_cu(&c, err, sizeof err)) {
        put(fd, 'E', -1, -1, err);
        _exit(1);
    }
    CUdevice dev;
    CUcontext ctx;
    int rc, major = 0, minor = 0, ver = 0;
    char name[96] = "";
    if ((rc = c.init(0)) != 0) {
        put(fd, 'E', -1, rc, "cuInit failed");
        _exit(1);
    }
    if ((rc = c.device_get(&dev, ordinal)) != 0 || (rc = c.retain(&ctx, dev)) != 0 ||
        (rc = c.set_current(ctx)) != 0) {
        put(fd, 'E', -1, rc, "no usable CUDA device");
        _exit(1);
    }
    c.attribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    c.attribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    c.name(name, sizeof name, dev);
    c.version(&ver);
    rec d;
    memset(&d, 0, sizeof d);
    d.type = 'D';
    d.cc = major * 10 + minor;
    d.version = ver;
    snprintf(d.text, sizeof d.text, "%s", name);
    if (write(fd, &d, sizeof d) != sizeof d)
        _exit(1);
    if (!r)
        _exit(0);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (f < 0 || fstat(f, &st) != 0) {
        put(fd, 'E', -1, -1, "cannot reopen the file");
        _exit(1);
    }
    const uint8_t *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, f, 0);
    if (map == MAP_FAILED) {
        put(fd, 'E', -1, -1, "cannot map the file");
        _exit(1);
    }
    for (uint32_t i = start; i < r->nfatbins; i++) {
        if (!todo[i] || r->fatbins[i].off + r->fatbins[i].size > (uint64_t)st.st_size)
            continue;
        /* The driver wants an aligned, private copy it may keep pointers into until unload. */
        size_t sz = (size_t)r->fatbins[i].size;
        void *copy = aligned_alloc(64, (sz + 63) & ~(size_t)63);
        if (!copy)
            _exit(1);
        memcpy(copy, map + r->fatbins[i].off, sz);
        put(fd, 'S', (int32_t)i, 0, NULL);
        CUmodule m = NULL;
        rc = c.load(&m, copy);
        if (rc == 0)
            c.unload(m);
        put(fd, 'R', (int32_t)i, rc, NULL);
        free(copy);
    }
    _exit(0);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * The driver version from the kernel module: the first X.Y.Z token of
 * "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  ..." or
 * "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ...".
 */
static void read_driver_version(mg_driver *d)
{
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    char line[512];
    if (!f)
        return;
    if (fgets(line, sizeof line, f))
        for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
            if (tok[0] >= '0' && tok[0] <= '9' && strchr(tok, '.') && mg_driver_parse(tok, d) == MG_OK)
                break;
    fclose(f);
}

/* Runs children until every fatbin from `todo` has a result, the budget ends or crashes pile up. */
static int run(const mg_report *r, const int *todo, const mg_load_opts *o, int *codes, mg_device *dev)
{
    double budget = o->budget_s > 0 ? o->budget_s : 120.0, t0 = now();
    uint32_t start = 0, n = r ? r->nfatbins : 0;
    int crashes = 0;
    memset(dev, 0, sizeof *dev);
    read_driver_version(&dev->driver);
    for (;;) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return MG_E_IO;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            return MG_E_IO;
        }
        if (pid == 0) {
            close(p[0]);
            signal(SIGPIPE, SIG_DFL);
            child(p[1], r ? r->path : NULL, r, todo, start, o->device);
        }
        close(p[1]);
        int32_t current = -1, timed_out = 0, failed = 0;
        for (;;) {
            double left = budget - (now() - t0);
            if (left <= 0) {
                timed_out = 1;
                break;
            }
            struct pollfd pf = {p[0], POLLIN, 0};
            int pr = poll(&pf, 1, left > 1e6 ? 1000000000 : (int)(left * 1000) + 1);
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr == 0)
                continue;   /* loop re-checks the budget */
            rec rc;
            ssize_t got = read(p[0], &rc, sizeof rc);
            if (got != (ssize_t)sizeof rc)
                break;      /* EOF: the child finished or died */
            if (rc.type == 'D') {
                dev->ok = 1;
                dev->cc = (uint16_t)rc.cc;
                dev->cuda_version = rc.version;
                snprintf(dev->name, sizeof dev->name, "%.95s", rc.text);
            } else if (rc.type == 'S' && rc.idx >= 0 && (uint32_t)rc.idx < n) {
                current = rc.idx;
            } else if (rc.type == 'R' && rc.idx >= 0 && (uint32_t)rc.idx < n) {
                codes[rc.idx] = rc.code;
                current = -1;
            } else if (rc.type == 'E') {
                snprintf(dev->err, sizeof dev->err, "%.200s%s%s", rc.text, rc.code > 0 ? ": " : "",
                         rc.code > 0 ? mg_cu_name(rc.code) : "");
                failed = 1;
            }
        }
        if (timed_out)
            kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        close(p[0]);
        if (failed)
            return MG_E_DRIVER;
        if (timed_out) {
            if (current >= 0)
                codes[current] = MG_LOAD_TIMEOUT;
            return MG_OK;
        }
        if (current >= 0 && ++crashes <= MAX_CRASHES) {   /* died inside the driver: note it, go on */
            codes[current] = MG_LOAD_CRASHED;
            start = (uint32_t)current + 1;
            continue;
        }
        if (!dev->ok && !dev->err[0])
            snprintf(dev->err, sizeof dev->err, "the driver process died (signal %d) before reporting a device",
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return dev->ok ? MG_OK : MG_E_DRIVER;
    }
}

int mg_load_device(int ordinal, mg_device *dev)
{
    mg_load_opts o = {ordinal, 60};
    return run(NULL, NULL, &o, NULL, dev);
}

int mg_load_file(const mg_report *r, const mg_load_opts *o, int *codes, mg_device *dev)
{
    int *todo = calloc(r->nfatbins ? r->nfatbins : 1, sizeof *todo);
    if (!todo)
        return MG_E_NOMEM;
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        const mg_fatbin *f = &r->fatbins[i];
        int lto_only = f->count > 0;
        for (uint32_t k = 0; k < f->count; k++)
            lto_only &= r->entries[f->first + k].kind == MG_KIND_LTOIR;
        /* Relocatable code needs nvlink first; loading it directly has crashed the driver. */
        todo[i] = f->where != MG_IN_RELFATBIN && !lto_only && f->count > 0;
        codes[i] = MG_LOAD_NOT_TRIED;
    }
    int rc = run(r, todo, o, codes, dev);
    free(todo);
    return rc;
}

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

#include "core/alloc.h"
#include "binaries/scan_int.h"
#include "core/child.h"
#include "core/file.h"
#include "mlgate/binaries.h"

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
    const char *lib = mg_lib_path(NULL, "MLGATE_CUDA", "libcuda.so.1");
    c->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!c->lib) {
        snprintf(err, n, "cannot load %s (NVIDIA driver not installed, or not visible here): %s", lib, dlerror());
        return -1;
    }
#define SYM(field, name)                                                       \
    if (!(*(void **)&c->field = dlsym(c->lib, name))) {                        \
        snprintf(err, n, "%s lacks %s (driver too old?)", lib, name);          \
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
/* What the child loads: fatbins of r from `start` on that `todo` marks, on device `ordinal`. */
typedef struct job {
    const mg_report *r;
    const int *todo;
    uint32_t start;
    int ordinal;
} job;

/* The child: set up the device, then load the fatbins, reporting each. Runs in its own process. */
static int child(int fd, void *arg)
{
    const job *jb = arg;
    const mg_report *r = jb->r;
    const char *path = r ? r->path : NULL;
    cu c;
    char err[160];
    if (open_cu(&c, err, sizeof err)) {
        put(fd, 'E', -1, -1, err);
        return 1;
    }
    CUdevice dev;
    CUcontext ctx;
    int rc, major = 0, minor = 0, ver = 0;
    char name[96] = "";
    if ((rc = c.init(0)) != 0) {
        put(fd, 'E', -1, rc, "cuInit failed");
        return 1;
    }
    if ((rc = c.device_get(&dev, jb->ordinal)) != 0 || (rc = c.retain(&ctx, dev)) != 0 ||
        (rc = c.set_current(ctx)) != 0) {
        put(fd, 'E', -1, rc, "no usable CUDA device");
        return 1;
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
        return 1;
    if (!r)
        return 0;
    int f = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (f < 0 || fstat(f, &st) != 0) {
        put(fd, 'E', -1, -1, "cannot reopen the file");
        return 1;
    }
    const uint8_t *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, f, 0);
    if (map == MAP_FAILED) {
        put(fd, 'E', -1, -1, "cannot map the file");
        return 1;
    }
    for (uint32_t i = jb->start; i < r->nfatbins; i++) {
        if (!jb->todo[i] || r->fatbins[i].off + r->fatbins[i].size > (uint64_t)st.st_size)
            continue;
        /* The driver wants an aligned, private copy it may keep pointers into until unload. */
        size_t sz = (size_t)r->fatbins[i].size;
        void *copy = aligned_alloc(64, (sz + 63) & ~(size_t)63);
        if (!copy)
            return 1;
        memcpy(copy, map + r->fatbins[i].off, sz);
        put(fd, 'S', (int32_t)i, 0, NULL);
        CUmodule m = NULL;
        rc = c.load(&m, copy);
        if (rc == 0)
            c.unload(m);
        put(fd, 'R', (int32_t)i, rc, NULL);
        free(copy);
    }
    return 0;
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
    double deadline = mg_now() + (o->budget_s > 0 ? o->budget_s : 120.0);
    uint32_t n = r ? r->nfatbins : 0;
    int crashes = 0;
    job jb = {r, todo, 0, o->device};
    memset(dev, 0, sizeof *dev);
    read_driver_version(&dev->driver);
    for (;;) {
        mg_child ch;
        if (mg_child_fork(&ch, child, &jb, dev->err, sizeof dev->err))
            return MG_E_IO;
        int32_t current = -1, failed = 0;
        rec rc;
        int got;
        while ((got = mg_child_read_record(&ch, &rc, sizeof rc, deadline)) == 1) {
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
        int timed_out = got < 0;
        int status = mg_child_end(&ch, timed_out ? 0 : deadline);
        if (failed)
            return MG_E_DRIVER;
        if (timed_out) {
            if (current >= 0)
                codes[current] = MG_LOAD_TIMEOUT;
            return MG_OK;
        }
        if (current >= 0 && ++crashes <= MAX_CRASHES) {   /* died inside the driver: note it, go on */
            codes[current] = MG_LOAD_CRASHED;
            jb.start = (uint32_t)current + 1;
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
    int *todo = mg_calloc(r->nfatbins ? r->nfatbins : 1, sizeof *todo);
    if (!todo)
        return MG_E_NOMEM;
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        const mg_fatbin *f = &r->fatbins[i];
        int lto_only = f->count > 0;
        for (uint32_t k = 0; k < f->count; k++)
            lto_only &= r->entries[f->first + k].kind == MG_IMAGE_LTOIR;
        /* Relocatable code needs nvlink first; loading it directly has crashed the driver. */
        todo[i] = f->where != MG_IN_RELFATBIN && !lto_only && f->count > 0;
        codes[i] = MG_LOAD_NOT_TRIED;
    }
    int rc = run(r, todo, o, codes, dev);
    free(todo);
    return rc;
}

void mg_device_target(const mg_device *dev, mg_driver driver, mg_target *t)
{
    memset(t, 0, sizeof *t);
    mg_gpu_label(0, dev->name, t->name, sizeof t->name);
    t->cc = dev->cc;
    t->source = MG_TARGET_DETECTED;
    t->index = 0;
    t->driver = mg_driver_known(driver) ? driver : dev->driver;
    if (!mg_driver_known(t->driver)) {
        /* No /proc/driver/nvidia/version (containers, VMs): its CUDA version bounds the PTX it JITs. */
        size_t nrel;
        const mg_cuda_release *rel = mg_cuda_table(&nrel);
        mg_cuda want = (mg_cuda)(dev->cuda_version / 1000 * 10 + dev->cuda_version % 1000 / 10);
        for (size_t k = 0; k < nrel; k++)
            if (rel[k].cuda <= want)
                t->driver = rel[k].min_driver;
    }
}

/* Compares driver results with the static verdict of each fatbin. */
static void tally(const mg_report *r, const mg_target *t, const int *codes, mg_load_result *lr)
{
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        int c = codes[i];
        mg_status s = mg_fatbin_status(r, i, t);
        int runs = s != MG_STATUS_NONE;
        if (c == MG_LOAD_NOT_TRIED) {
            lr->not_tried++;
            continue;
        }
        if (c == MG_LOAD_CRASHED)
            lr->crashed++;
        else if (c == MG_LOAD_TIMEOUT)
            lr->timeout++;
        else if (c == 0)
            lr->loaded++;
        else if (r->fatbins[i].nkernels == 0)
            lr->empty_refused++;
        else
            lr->refused++;
        if (c < 0)
            continue;
        int disagree = (runs && c != 0 && r->fatbins[i].nkernels != 0) || (!runs && c == 0);
        if (!disagree)
            continue;
        if (lr->ndisagree < MG_LOAD_MAX_DISAGREE) {
            lr->disagree[lr->ndisagree].fatbin = i;
            lr->disagree[lr->ndisagree].status = s;
            lr->disagree[lr->ndisagree].code = c;
        }
        lr->ndisagree++;
    }
}

int mg_load_check(mg_report *const *rs, size_t n, const mg_target *t, double budget, mg_load_result *out)
{
    for (size_t i = 0; i < n; i++) {
        const mg_report *r = rs[i];
        mg_load_result *lr = &out[i];
        memset(lr, 0, sizeof *lr);
        if (r->err || !r->nfatbins)
            continue;
        lr->tried = 1;
        if (strchr(r->path, '!')) {
            lr->skipped = "inside an archive: unpack it to verify with the driver";
            continue;
        }
        int *codes = mg_calloc(r->nfatbins, sizeof *codes);
        if (!codes)
            return MG_E_NOMEM;
        mg_load_opts o = {0, budget};
        mg_device dev;
        if (mg_load_file(r, &o, codes, &dev))
            lr->skipped = "the driver could not be used";
        else
            tally(r, t, codes, lr);
        free(codes);
    }
    return MG_OK;
}

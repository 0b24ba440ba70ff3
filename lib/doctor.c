/*
 * doctor.c - the host audit: run the GPU backends, CPU and memory readers, and
 * turn what they found into findings (severity, one-line cause, one-line fix).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/sysfs.h"
#include "mlgate/doctor.h"
#include "mlgate/mlgate.h"

const char *mg_severity_str(mg_severity s)
{
    static const char *const t[] = {"ok", "warn", "fail"};
    return (unsigned)s <= MG_SEV_FAIL ? t[s] : "?";
}

__attribute__((format(printf, 4, 5)))
static void find(mg_doctor *d, mg_severity sev, const char *area, const char *fmt, ...)
{
    if (d->nfindings >= MG_MAX_FINDINGS)
        return;
    mg_finding *f = &d->findings[d->nfindings++];
    memset(f, 0, sizeof *f);
    f->severity = (uint8_t)sev;
    snprintf(f->area, sizeof f->area, "%s", area);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->cause, sizeof f->cause, fmt, ap);
    va_end(ap);
}

/* Sets the fix of the finding just added. */
__attribute__((format(printf, 2, 3)))
static void fix(mg_doctor *d, const char *fmt, ...)
{
    if (!d->nfindings)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->findings[d->nfindings - 1].fix, sizeof d->findings[0].fix, fmt, ap);
    va_end(ap);
}

static int exists(const char *root, const char *path)
{
    char full[1024];
    snprintf(full, sizeof full, "%s%s", root, path);
    return access(full, F_OK) == 0;
}

const mg_gpu_probe *mg_doctor_gpus(const mg_doctor *d)
{
    return d->nvml.ok ? &d->nvml : &d->pci;
}

static void gib(char *buf, size_t n, uint64_t bytes)
{
    snprintf(buf, n, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
}

static void judge_gpus(mg_doctor *d)
{
    const mg_gpu_probe *g = mg_doctor_gpus(d);
    char a[32], b[32];
    if (!d->nvml.ok) {
        size_t seen = d->pci.ngpus;
        if (d->nvml.code == 18) {
            find(d, MG_SEV_FAIL, "driver", "%s", d->nvml.error);
            fix(d, "reboot (or unload and reload the nvidia kernel modules) so both are the same version");
        } else if (seen && !d->dev_nodes && d->in_container) {
            find(d, MG_SEV_FAIL, "driver", "%zu NVIDIA GPU%s on the PCI bus, but this container has no GPU access "
                 "(no /dev/nvidia*): %s", seen, seen > 1 ? "s" : "", d->nvml.error);
            fix(d, "start the container with GPU access (docker run --gpus all, or the NVIDIA container toolkit's CDI devices)");
        } else if (seen) {
            find(d, MG_SEV_FAIL, "driver", "%zu NVIDIA GPU%s on the PCI bus, but the driver is not usable: %s", seen,
                 seen > 1 ? "s" : "", d->nvml.error);
            fix(d, "install the NVIDIA driver (or load it: modprobe nvidia); check 'dmesg | grep -i nvrm'");
        } else if (d->wsl) {
            find(d, MG_SEV_FAIL, "driver", "WSL2 without a usable NVIDIA driver: %s", d->nvml.error);
            fix(d, "install the NVIDIA driver on Windows (not inside WSL); its libraries appear in /usr/lib/wsl/lib");
        } else {
            find(d, MG_SEV_WARN, "gpu", "no NVIDIA GPU found (%s): only CPU inference is possible", d->nvml.error);
        }
    } else if (d->nvml.ngpus == 0) {
        find(d, MG_SEV_WARN, "gpu", "the NVIDIA driver is loaded but reports no GPU");
        fix(d, "check 'nvidia-smi -L' and CUDA_VISIBLE_DEVICES / container device settings");
    } else {
        char dv[32];
        const mg_cuda_release *rel = mg_driver_known(d->nvml.driver) ? mg_cuda_for_driver(d->nvml.driver) : NULL;
        if (rel)
            find(d, MG_SEV_OK, "driver", "driver %s: runs CUDA %u.%u code and JITs PTX up to ISA %u.%u",
                 mg_driver_str(d->nvml.driver, dv, sizeof dv), rel->cuda / 10, rel->cuda % 10, rel->ptx_isa / 10,
                 rel->ptx_isa % 10);
        else if (mg_driver_known(d->nvml.driver))
            find(d, MG_SEV_WARN, "driver", "driver %s is older than CUDA 9: no current framework runs on it",
                 mg_driver_str(d->nvml.driver, dv, sizeof dv));
        if (d->nvml.cuda_version == 0) {
            find(d, MG_SEV_WARN, "driver", "NVML works but libcuda.so.1 was not found: CUDA programs cannot start");
            fix(d, "install the driver's libcuda (e.g. Debian: libcuda1 / nvidia-driver), or mount it into the container");
        }
    }
    for (size_t i = 0; i < g->ngpus; i++) {
        const mg_host_gpu *x = &g->gpus[i];
        const mg_gpu_info *known = x->name[0] ? mg_gpu_find(x->name) : NULL;
        if (!x->cc) {
            find(d, MG_SEV_WARN, "gpu", "GPU %d (%s): compute capability unknown", x->index, x->name);
            fix(d, "give it to scan with --gpu sm_XY");
            continue;
        }
        if (x->cc < 75)
            find(d, MG_SEV_WARN, "gpu", "GPU %d (%s) is sm_%u: CUDA 13 and PyTorch builds for CUDA 12.8+ dropped "
                 "sm_%u; use CUDA 12.x builds (cu126 and older)", x->index, x->name, x->cc, x->cc);
        else if (!known)
            find(d, MG_SEV_OK, "gpu", "GPU %d (%s) is sm_%u", x->index, x->name, x->cc);
        else
            find(d, MG_SEV_OK, "gpu", "GPU %d is %s, sm_%u (%s)", x->index, known->name, x->cc, known->family);
        if (x->mig == 1) {
            find(d, MG_SEV_WARN, "gpu", "GPU %d has MIG enabled: processes see MIG slices, not the whole GPU",
                 x->index);
            fix(d, "nvidia-smi -i %d -mig 0 (as root, GPU idle) unless you meant to partition it", x->index);
        }
        if (x->unified_memory) {
            find(d, MG_SEV_OK, "memory", "GPU %d shares system memory (unified): count its memory once, in RAM",
                 x->index);
        } else if (x->mem_total) {
            gib(a, sizeof a, x->mem_free);
            gib(b, sizeof b, x->mem_total);
            if (x->mem_free < x->mem_total / 10)
                find(d, MG_SEV_WARN, "gpu", "GPU %d: only %s of %s free: something else holds its memory", x->index,
                     a, b);
        }
    }
}

static void judge_cpu(mg_doctor *d)
{
    if (!d->cpu_ok) {
        find(d, MG_SEV_WARN, "cpu", "cannot read /proc/cpuinfo");
        return;
    }
    uint64_t f = d->cpu.features;
    if (!strcmp(d->cpu.arch, "x86_64")) {
        if (!(f & MG_CPU_AVX2)) {
            find(d, MG_SEV_FAIL, "cpu", "%s has no AVX2: prebuilt llama.cpp/ollama CPU backends and most wheels "
                 "need it", d->cpu.model);
            fix(d, "build llama.cpp from source with GGML_NATIVE=ON, or run on a newer CPU");
        } else if (f & MG_CPU_AMX_TILE) {
            find(d, MG_SEV_OK, "cpu", "%s: AVX-512 and AMX (int8/bf16 tiles) for CPU inference", d->cpu.model);
        } else if (f & MG_CPU_AVX512F) {
            find(d, MG_SEV_OK, "cpu", "%s: AVX-512%s%s", d->cpu.model, f & MG_CPU_AVX512BF16 ? " with BF16" : "",
                 f & MG_CPU_AVX512VNNI ? " and VNNI" : "");
        } else {
            find(d, MG_SEV_OK, "cpu", "%s: AVX2%s (no AVX-512)", d->cpu.model, f & MG_CPU_AVXVNNI ? " + AVX-VNNI" : "");
        }
    } else if (!strcmp(d->cpu.arch, "aarch64")) {
        find(d, (f & MG_CPU_NEON) ? MG_SEV_OK : MG_SEV_WARN, "cpu", "%s: %s%s%s%s", d->cpu.model,
             f & MG_CPU_NEON ? "NEON" : "no NEON", f & MG_CPU_SVE2 ? ", SVE2" : f & MG_CPU_SVE ? ", SVE" : "",
             f & MG_CPU_I8MM ? ", i8mm" : "", f & MG_CPU_DOTPROD ? ", dotprod" : "");
    }
}

static void judge_memory(mg_doctor *d)
{
    char a[32], b[32];
    if (!d->mem_ok) {
        find(d, MG_SEV_WARN, "memory", "cannot read /proc/meminfo");
        return;
    }
    gib(a, sizeof a, d->mem.available);
    gib(b, sizeof b, d->mem.total);
    if (d->mem.available < d->mem.total / 10)
        find(d, MG_SEV_WARN, "memory", "only %s of %s RAM available", a, b);
    else
        find(d, MG_SEV_OK, "memory", "%s of %s RAM available", a, b);
    if (d->mem.cgroup_limit && d->mem.cgroup_limit < d->mem.total) {
        gib(a, sizeof a, d->mem.cgroup_limit);
        find(d, MG_SEV_WARN, "memory", "this container may use only %s of the machine's %s", a, b);
        fix(d, "raise the container's memory limit (docker run -m) if models are loaded through RAM");
    }
    if (d->mem.swap_total == 0)
        find(d, MG_SEV_OK, "memory", "no swap: a model that does not fit in RAM is killed, not slowed");
    if (d->mem.nnodes > 1) {
        find(d, MG_SEV_WARN, "numa", "%zu NUMA nodes: memory bandwidth per node is a fraction of the machine's",
             d->mem.nnodes);
        fix(d, "for CPU inference pin to one node (numactl --cpunodebind=0 --membind=0, llama.cpp --numa isolate) "
               "or set the BIOS to one node per socket (NPS1)");
    }
}

void mg_doctor_run(const mg_host_paths *p, mg_doctor *d)
{
    memset(d, 0, sizeof *d);
    const char *root = p && p->root ? p->root : "";
    mg_gpu_nvml.probe(p, &d->nvml);
    mg_gpu_pci.probe(p, &d->pci);
    d->cpu_ok = mg_cpu_read(p, &d->cpu) == MG_OK;
    d->mem_ok = mg_memory_read(p, &d->mem) == MG_OK;
    d->in_container = exists(root, "/.dockerenv") || exists(root, "/run/.containerenv");
    d->dev_nodes = exists(root, "/dev/nvidia0") || exists(root, "/dev/nvidiactl");
    char ver[512];
    d->wsl = exists(root, "/usr/lib/wsl/lib") ||
             (mg_read_file(root, "/proc/version", ver, sizeof ver) > 0 && strstr(ver, "icrosoft"));
    judge_gpus(d);
    judge_cpu(d);
    judge_memory(d);
}

mg_severity mg_doctor_worst(const mg_doctor *d)
{
    mg_severity w = MG_SEV_OK;
    for (size_t i = 0; i < d->nfindings; i++)
        if (d->findings[i].severity > w)
            w = (mg_severity)d->findings[i].severity;
    return w;
}

int mg_host_targets(const mg_host_paths *p, mg_target *out, size_t max, size_t *n, mg_gpu_probe *probe)
{
    *n = 0;
    if (mg_gpu_nvml.probe(p, probe) != MG_OK || !probe->ok)
        mg_gpu_pci.probe(p, probe);
    for (size_t i = 0; i < probe->ngpus && *n < max; i++) {
        const mg_host_gpu *g = &probe->gpus[i];
        if (!g->cc)
            continue;
        mg_target *t = &out[(*n)++];
        memset(t, 0, sizeof *t);
        const mg_gpu_info *known = g->name[0] ? mg_gpu_find(g->name) : NULL;
        snprintf(t->name, sizeof t->name, "GPU%d %.40s", g->index, known ? known->name : g->name);
        t->cc = g->cc;
        t->driver = probe->driver;
    }
    return MG_OK;
}

/*
 * doctor.c - the host audit: run the GPU backends, CPU and memory readers, and
 * turn what they found into findings (severity, one-line cause, one-line fix).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "host/host_int.h"
#include "host/sysfs.h"
#include "mlgate/binaries.h"
#include "mlgate/host.h"

/* The audit: the facts, and the findings derived from them (as many as there are). */
struct mg_doctor {
    mg_host_facts f;
    mg_disk *disks;
    size_t disks_cap;
    mg_pyenv pyenvs[MG_MAX_PYENVS];
    mg_finding *findings;
    size_t nfindings, findings_cap;
    mg_arena *arena;        /* the findings' texts */
    int oom;                /* a finding was lost to memory */
};

const char *mg_severity_str(mg_severity s)
{
    static const char *const t[] = {"ok", "warn", "fail"};
    return (unsigned)s <= MG_SEV_FAIL ? t[s] : "?";
}

/* Text for a finding, in d's arena: names from files and programs (a dist-info, a library, a version) cleaned
 * of terminal escapes and invalid UTF-8 (mg_text_clean; room for every byte to become U+FFFD). */
static const char *finding_text(mg_doctor *d, const char *s, size_t n)
{
    char *buf = n < SIZE_MAX / 4 ? mg_malloc(n * 3 + 4) : NULL;
    const char *text = buf ? mg_arena_strdup(d->arena, mg_text_clean(buf, n * 3 + 4, s, n, NULL)) : NULL;
    free(buf);
    return text;
}

__attribute__((format(printf, 4, 5)))
static void find(mg_doctor *d, mg_severity sev, const char *area, const char *fmt, ...)
{
    if (d->nfindings == d->findings_cap) {
        size_t cap = d->findings_cap ? d->findings_cap * 2 : 32;
        mg_finding *v = mg_realloc(d->findings, cap * sizeof *v);
        if (!v) {
            d->oom = 1;
            return;
        }
        d->findings = v;
        d->findings_cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *cause = NULL;
    int n = vasprintf(&cause, fmt, ap);
    va_end(ap);
    const char *text = n >= 0 ? finding_text(d, cause, (size_t)n) : NULL;
    free(n >= 0 ? cause : NULL);
    if (!text) {
        d->oom = 1;
        return;
    }
    mg_finding *f = &d->findings[d->nfindings++];
    f->severity = (uint8_t)sev;
    f->area = area;
    f->cause = text;
    f->fix = NULL;
}

/* Sets the fix of the finding just added. */
__attribute__((format(printf, 2, 3)))
static void fix(mg_doctor *d, const char *fmt, ...)
{
    if (!d->nfindings)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    d->findings[d->nfindings - 1].fix = finding_text(d, text, (size_t)n);
    free(text);
}

static int exists(const char *root, const char *path)
{
    char full[1024];
    snprintf(full, sizeof full, "%s%s", root, path);
    return access(full, F_OK) == 0;
}

const mg_gpu_probe *mg_doctor_gpus(const mg_doctor *d)
{
    if (d->f.nvml.ok)
        return &d->f.nvml;
    if (d->f.cuda_tried && d->f.cuda.ok && d->f.cuda.ngpus)
        return &d->f.cuda;   /* WSL2 and other places without a working NVML */
    return &d->f.pci;
}

static void gib(char *buf, size_t n, uint64_t bytes)
{
    snprintf(buf, n, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
}

static void judge_gpus(mg_doctor *d)
{
    const mg_gpu_probe *g = mg_doctor_gpus(d);
    char a[32], b[32];
    if (!d->f.nvml.ok && d->f.cuda_tried && d->f.cuda.ok && d->f.cuda.ngpus) {
        /* WSL2 and some containers: no usable NVML, but CUDA itself works. */
        find(d, MG_SEV_WARN, "driver", "NVML is not usable (%s), but libcuda sees %zu GPU%s: CUDA programs can run; "
             "memory and driver details are missing", d->f.nvml.error, d->f.cuda.ngpus, d->f.cuda.ngpus == 1 ? "" : "s");
    } else if (!d->f.nvml.ok) {
        size_t seen = d->f.pci.ngpus;
        if (d->f.nvml.code == 18) {
            find(d, MG_SEV_FAIL, "driver", "%s", d->f.nvml.error);
            fix(d, "reboot (or unload and reload the nvidia kernel modules) so both are the same version");
        } else if (seen && !d->f.dev_nodes && d->f.in_container) {
            find(d, MG_SEV_FAIL, "driver", "%zu NVIDIA GPU%s on the PCI bus, but this container has no GPU access "
                 "(no /dev/nvidia*): %s", seen, seen > 1 ? "s" : "", d->f.nvml.error);
            fix(d, "start the container with GPU access (docker run --gpus all, or the NVIDIA container toolkit's CDI devices)");
        } else if (seen) {
            find(d, MG_SEV_FAIL, "driver", "%zu NVIDIA GPU%s on the PCI bus, but the driver is not usable: %s", seen,
                 seen > 1 ? "s" : "", d->f.nvml.error);
            fix(d, "install the NVIDIA driver (or load it: modprobe nvidia); check 'dmesg | grep -i nvrm'");
        } else if (d->f.wsl) {
            find(d, MG_SEV_FAIL, "driver", "WSL2 without a usable NVIDIA driver: %s", d->f.nvml.error);
            fix(d, "install the NVIDIA driver on Windows (not inside WSL); its libraries appear in /usr/lib/wsl/lib");
        } else {
            find(d, MG_SEV_WARN, "gpu", "no NVIDIA GPU found (%s): only CPU inference is possible", d->f.nvml.error);
        }
    } else if (d->f.nvml.ngpus == 0) {
        find(d, MG_SEV_WARN, "gpu", "the NVIDIA driver is loaded but reports no GPU");
        fix(d, "check 'nvidia-smi -L' and CUDA_VISIBLE_DEVICES / container device settings");
    } else {
        char dv[32];
        const mg_cuda_release *rel = mg_driver_known(d->f.nvml.driver) ? mg_cuda_for_driver(d->f.nvml.driver) : NULL;
        if (rel)
            find(d, MG_SEV_OK, "driver", "driver %s: runs CUDA %u.%u code and JITs PTX up to ISA %u.%u",
                 mg_driver_str(d->f.nvml.driver, dv, sizeof dv), rel->cuda / 10, rel->cuda % 10, rel->ptx_isa / 10,
                 rel->ptx_isa % 10);
        else if (mg_driver_known(d->f.nvml.driver))
            find(d, MG_SEV_WARN, "driver", "driver %s is older than CUDA 9: no current framework runs on it",
                 mg_driver_str(d->f.nvml.driver, dv, sizeof dv));
        if (d->f.nvml.cuda_version == 0) {
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
        char adv[256];
        if (x->cc < 75) {
            find(d, MG_SEV_WARN, "gpu", "GPU %d (%s) is sm_%u: CUDA 13 and PyTorch's newer CUDA builds dropped "
                 "sm_%u; use CUDA 12.x builds", x->index, x->name, x->cc, x->cc);
            fix(d, "%s", mg_torch_build_advice(x->cc, adv, sizeof adv));   /* the last build for it, not "a newer" one */
        } else if (!known)
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
    if (!d->f.cpu_ok) {
        find(d, MG_SEV_WARN, "cpu", "cannot read /proc/cpuinfo");
        return;
    }
    uint64_t f = d->f.cpu.features;
    if (!strcmp(d->f.cpu.arch, "x86_64")) {
        if (!(f & MG_CPU_AVX2)) {
            find(d, MG_SEV_FAIL, "cpu", "%s has no AVX2: prebuilt llama.cpp/ollama CPU backends and most wheels "
                 "need it", d->f.cpu.model);
            fix(d, "build llama.cpp from source with GGML_NATIVE=ON, or run on a newer CPU");
        } else if (f & MG_CPU_AMX_TILE) {
            find(d, MG_SEV_OK, "cpu", "%s: AVX-512 and AMX (int8/bf16 tiles) for CPU inference", d->f.cpu.model);
        } else if (f & MG_CPU_AVX512F) {
            find(d, MG_SEV_OK, "cpu", "%s: AVX-512%s%s", d->f.cpu.model, f & MG_CPU_AVX512BF16 ? " with BF16" : "",
                 f & MG_CPU_AVX512VNNI ? " and VNNI" : "");
        } else {
            find(d, MG_SEV_OK, "cpu", "%s: AVX2%s (no AVX-512)", d->f.cpu.model, f & MG_CPU_AVXVNNI ? " + AVX-VNNI" : "");
        }
    } else if (!strcmp(d->f.cpu.arch, "aarch64")) {
        find(d, (f & MG_CPU_NEON) ? MG_SEV_OK : MG_SEV_WARN, "cpu", "%s: %s%s%s%s", d->f.cpu.model,
             f & MG_CPU_NEON ? "NEON" : "no NEON", f & MG_CPU_SVE2 ? ", SVE2" : f & MG_CPU_SVE ? ", SVE" : "",
             f & MG_CPU_I8MM ? ", i8mm" : "", f & MG_CPU_DOTPROD ? ", dotprod" : "");
    }
}

static void judge_memory(mg_doctor *d)
{
    char a[32], b[32];
    if (!d->f.mem_ok) {
        find(d, MG_SEV_WARN, "memory", "cannot read /proc/meminfo");
        return;
    }
    gib(a, sizeof a, d->f.mem.available);
    gib(b, sizeof b, d->f.mem.total);
    if (d->f.mem.available < d->f.mem.total / 10)
        find(d, MG_SEV_WARN, "memory", "only %s of %s RAM available", a, b);
    else
        find(d, MG_SEV_OK, "memory", "%s of %s RAM available", a, b);
    if (d->f.mem.cgroup_limit && d->f.mem.cgroup_limit < d->f.mem.total) {
        gib(a, sizeof a, d->f.mem.cgroup_limit);
        find(d, MG_SEV_WARN, "memory", "this container may use only %s of the machine's %s", a, b);
        fix(d, "raise the container's memory limit (docker run -m) if models are loaded through RAM");
    }
    if (d->f.mem.swap_total == 0)
        find(d, MG_SEV_OK, "memory", "no swap: a model that does not fit in RAM is killed, not slowed");
    if (d->f.mem.nnodes > 1) {
        find(d, MG_SEV_WARN, "numa", "%zu NUMA nodes: memory bandwidth per node is a fraction of the machine's",
             d->f.mem.nnodes);
        fix(d, "for CPU inference pin to one node (numactl --cpunodebind=0 --membind=0, llama.cpp --numa isolate) "
               "or set the BIOS to one node per socket (NPS1)");
    }
}

static void judge_cuda(mg_doctor *d)
{
    if (!d->f.cuda_tried)
        return;
    if (d->f.cuda.ok) {
        find(d, MG_SEV_OK, "cuda", "libcuda: cuInit works, driver API CUDA %d.%d, %zu GPU%s%s%s", d->f.cuda.cuda_version / 1000,
             d->f.cuda.cuda_version % 1000 / 10, d->f.cuda.ngpus, d->f.cuda.ngpus == 1 ? "" : "s",
             d->f.cuda.ngpus ? ", GPU 0 is " : "", d->f.cuda.ngpus ? d->f.cuda.gpus[0].name : "");
        if (d->f.nvml.ok && d->f.nvml.cuda_version && d->f.nvml.cuda_version != d->f.cuda.cuda_version)
            find(d, MG_SEV_WARN, "cuda", "NVML reports CUDA %d.%d but the libcuda loaded here is %d.%d: two driver "
                 "versions on this system (a forward-compatibility package or a stale libcuda?)",
                 d->f.nvml.cuda_version / 1000, d->f.nvml.cuda_version % 1000 / 10, d->f.cuda.cuda_version / 1000,
                 d->f.cuda.cuda_version % 1000 / 10);
    } else {
        find(d, MG_SEV_FAIL, "cuda", "libcuda: %s", d->f.cuda.error);
        if (strstr(d->f.cuda.error, "STUB"))
            fix(d, "a CUDA toolkit stub libcuda.so is on the library path: remove .../lib64/stubs from LD_LIBRARY_PATH");
        else if (strstr(d->f.cuda.error, "NO_DEVICE"))
            fix(d, "check CUDA_VISIBLE_DEVICES and, in a container, its GPU access");
        else
            fix(d, "see 'dmesg | grep -i nvrm'; reinstall the driver if libcuda and the kernel module disagree");
    }
}

static void check_disks(mg_doctor *d, const mg_doctor_opts *o)
{
    const char *home = getenv("HOME");
    char buf[3][512];
    const char *usual_dirs[4];
    const char *const *dirs = usual_dirs;
    size_t n = 0;
    if (o && o->nmodels) {
        dirs = o->models;
        n = o->nmodels;
    } else if (home) {
        const char *usual[] = {"/.cache/huggingface", "/.ollama/models", "/.cache/llama.cpp"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(buf[i], sizeof buf[i], "%.400s%s", home, usual[i]);
            if (access(buf[i], F_OK) == 0)
                usual_dirs[n++] = buf[i];
        }
        if (!n)
            usual_dirs[n++] = home;
    }
    if (!(d->disks = mg_calloc(n ? n : 1, sizeof *d->disks))) {
        d->oom = 1;
        return;
    }
    d->f.disks = d->disks;
    char a[32], b[32];
    for (size_t i = 0; i < n; i++) {
        struct statvfs sv;
        if (statvfs(dirs[i], &sv) != 0) {
            find(d, MG_SEV_WARN, "disk", "cannot read free space of %s", dirs[i]);
            continue;
        }
        mg_disk *k = &d->disks[d->f.ndisks++];
        snprintf(k->path, sizeof k->path, "%s", dirs[i]);
        k->free = (uint64_t)sv.f_bavail * sv.f_frsize;
        k->total = (uint64_t)sv.f_blocks * sv.f_frsize;
        gib(a, sizeof a, k->free);
        gib(b, sizeof b, k->total);
        if (k->free < (20ull << 30))
            find(d, MG_SEV_WARN, "disk", "%s: only %s free of %s: a large model download will fail late", k->path, a, b);
        else
            find(d, MG_SEV_OK, "disk", "%s: %s free of %s", k->path, a, b);
    }
}

/* The newest SASS of a PyTorch build. */
static uint16_t highest_sm(const mg_torch_build *b)
{
    uint16_t h = 0;
    for (size_t i = 0; i < sizeof b->sass / sizeof b->sass[0] && b->sass[i]; i++)
        h = b->sass[i];
    return h;
}

/* A framework's own verdicts from the scan (a GPU floor: Triton on sm_61; a CPU-only build), as findings: a
 * failure where it does not run, a warning where only part of it fails (Triton: eager PyTorch runs). */
static void framework_findings(mg_doctor *d, const mg_pyenv *e, const mg_report *r)
{
    const mg_framework *fw = r->framework_row;
    if (e->has_torch && !e->torch_cuda[0] && fw && !strcmp(fw->dist, "torch"))
        return;   /* the CPU-only torch has its finding already, with the build to install */
    const char *base = strrchr(r->path, '/');
    int any = 0;
    for (size_t v = 0; v < r->nverdicts; v++) {
        const mg_verdict *x = &r->verdicts[v];
        if (x->status < MG_STATUS_PARTIAL)
            continue;
        any = 1;
        find(d, x->status == MG_STATUS_NONE ? MG_SEV_FAIL : MG_SEV_WARN, "python", "%s is sm_%u; %s (%s, in %s): %s",
             x->target.name, x->target.cc, r->framework, base ? base + 1 : r->path, e->site, x->reason);
    }
    if (any && fw && fw->fix)
        fix(d, "%s", fw->fix);
}

/* Without a scan (--no-scan): the frameworks' GPU floors from their dist-info alone (the scan applies them
 * otherwise), found as the scan finds them (mg_dist_info: case, '-' and '.' do not matter). */
static void framework_floors(mg_doctor *d, const mg_pyenv *e, const mg_target *t, size_t nt)
{
    DIR *dir = opendir(e->site);
    if (!dir)
        return;
    const mg_framework *seen[16];
    size_t nseen = 0;
    struct dirent *de;
    for (unsigned k = 0; k < 100000 && (de = readdir(dir)) != NULL; k++) {   /* entries capped: no hang */
        const char *ver;
        size_t vlen, i;
        const mg_framework *fw = mg_dist_info(de->d_name, strlen(de->d_name), &ver, &vlen);
        for (i = 0; fw && i < nseen && seen[i] != fw; i++)
            ;
        if (!fw || i < nseen || nseen == sizeof seen / sizeof seen[0] || (!fw->min_cc && !fw->only_cc))
            continue;   /* one finding per framework, however many dist-infos it left */
        seen[nseen++] = fw;
        int any = 0;
        char why[MG_REASON_MAX];
        for (size_t g = 0; g < nt; g++)
            if (!mg_framework_runs_on(fw, t[g].cc)) {
                any = 1;
                find(d, fw->below_floor == MG_STATUS_NONE ? MG_SEV_FAIL : MG_SEV_WARN, "python", "%s is sm_%u; %s in %s: %s",
                     t[g].name, t[g].cc, fw->name, e->site, mg_framework_floor_reason(fw, t[g].name, t[g].cc, why, sizeof why));
            }
        if (any && fw->fix)
            fix(d, "%s", fw->fix);
    }
    closedir(dir);
}

/* Python environments: PyTorch's build, and a scan of their CUDA libraries against the GPUs here. */
static void check_envs(mg_doctor *d, const mg_doctor_opts *o)
{
    mg_pyenv_find(o ? o->pythons : NULL, o ? o->npythons : 0, !(o && o->no_common_envs), d->pyenvs, MG_MAX_PYENVS,
                  &d->f.npyenvs);
    d->f.pyenvs = d->pyenvs;
    const mg_gpu_probe *g = mg_doctor_gpus(d);
    mg_targets *tg = mg_calloc(1, sizeof *tg);
    if (!tg) {
        d->oom = 1;
        return;
    }
    mg_targets_from_probe(g, d->f.cpu_ok ? d->f.cpu.arch : NULL, tg);
    size_t nt = 0;
    for (size_t i = 0; i < tg->n; i++)   /* code is judged against GPUs whose capability is known */
        if (tg->t[i].cc)
            tg->t[nt++] = tg->t[i];
    const mg_target *t = tg->t;
    /* The oldest GPU here decides which PyTorch build to advise: the newest one that still has code for it. */
    uint16_t oldest = 0;
    for (size_t k = 0; k < nt; k++)
        if (!oldest || t[k].cc < oldest)
            oldest = t[k].cc;
    char adv[256];
    for (size_t i = 0; i < d->f.npyenvs; i++) {
        const mg_pyenv *e = &d->pyenvs[i];
        if (e->has_torch && !e->torch_cuda[0] && g->ngpus) {
            find(d, MG_SEV_FAIL, "python", "torch %s in %s has no CUDA at all (a CPU-only build): the GPU goes unused",
                 e->torch_version, e->site);
            if (oldest)
                fix(d, "install its CUDA build: %s (on aarch64 the PyPI wheel has no CUDA)",
                    mg_torch_build_advice(oldest, adv, sizeof adv));
            else
                fix(d, "install a CUDA build of torch (https://pytorch.org/get-started/locally/; on aarch64 the PyPI "
                       "wheel has no CUDA)");
        }
        /* PyTorch's own build table: which GPUs an official cuXYZ build has code for. */
        const mg_torch_build *b = e->has_torch && e->torch_cuda[0] ? mg_torch_build_of(e->torch_version) : NULL;
        size_t lacking = 0;
        for (size_t k = 0; b && k < nt; k++)
            if (!mg_torch_build_runs(b, t[k].cc)) {
                lacking++;
                find(d, MG_SEV_FAIL, "python", "torch %s in %s: PyTorch's cu%u build of it has code for sm_%u..sm_%u%s, "
                     "not for %s (sm_%u)", e->torch_version, e->site, b->cuda, b->sass[0], highest_sm(b),
                     b->ptx ? " and PTX" : "", t[k].name, t[k].cc);
                fix(d, "%s", mg_torch_build_advice(t[k].cc, adv, sizeof adv));
            }
        if (e->has_torch && e->torch_cuda[0] && !lacking)
            find(d, MG_SEV_OK, "python", "torch %s (CUDA %s) in %s", e->torch_version, e->torch_cuda, e->site);
        if (nt && o && o->no_scan)
            framework_floors(d, e, t, nt);
        if (!nt || (o && o->no_scan))
            continue;
        mg_scan_opts so = {0};
        so.targets = t;
        so.ntargets = nt;
        const char *paths[1] = {e->site};
        mg_scan_result res;
        if (mg_scan_paths(&so, paths, 1, &res) != MG_OK) {
            mg_scan_result_free(&res);
            continue;
        }
        size_t bad = 0, jit = 0, ncuda = 0, shown = 0;
        uint16_t worst_cc = 0;
        for (size_t k = 0; k < res.nreports; k++) {
            const mg_report *r = res.reports[k];
            if (r->err || !r->nfatbins)
                continue;
            ncuda++;
            for (size_t v = 0; v < r->nverdicts; v++) {
                const mg_verdict *x = &r->verdicts[v];
                const char *rel = r->path + strlen(e->site) + (strlen(r->path) > strlen(e->site));
                if (x->status >= MG_STATUS_PARTIAL) {
                    bad++;
                    if (!worst_cc || x->target.cc < worst_cc)
                        worst_cc = x->target.cc;
                    if (shown++ < 6)
                        find(d, MG_SEV_FAIL, "python", "%s is sm_%u; %s (in %s) %s: %s", x->target.name, x->target.cc,
                             rel, e->site, x->status == MG_STATUS_NONE ? "has no image for it" : "lacks code for it",
                             x->reason);
                } else if (x->status == MG_STATUS_JIT) {
                    jit++;
                    if (shown++ < 6)
                        find(d, MG_SEV_WARN, "python", "%s is sm_%u; %s (in %s) runs through PTX JIT only: first start "
                             "slow (%s)", x->target.name, x->target.cc, rel, e->site, x->reason);
                }
            }
        }
        if (bad)
            fix(d, "install builds of these packages for sm_%u (for torch: %s), or rebuild the extension with "
                   "TORCH_CUDA_ARCH_LIST including %u.%u", worst_cc, mg_torch_build_advice(worst_cc, adv, sizeof adv),
                worst_cc / 10, worst_cc % 10);
        if (ncuda && !bad && !jit)
            find(d, MG_SEV_OK, "python", "%s: %zu libraries with CUDA code, all native on this machine's GPU%s", e->site,
                 ncuda, nt > 1 ? "s" : "");
        else if (shown > 6)
            find(d, bad ? MG_SEV_FAIL : MG_SEV_WARN, "python", "%s: %zu more verdicts like these ('mlgate scan %s')",
                 e->site, shown - 6, e->site);
        for (size_t k = 0; k < res.nreports; k++)   /* after the libraries' fix: each brings its own */
            if (!res.reports[k]->err && res.reports[k]->framework)
                framework_findings(d, e, res.reports[k]);
        mg_scan_result_free(&res);
    }
    free(tg);
}

mg_doctor *mg_doctor_run(const mg_host_paths *p, const mg_doctor_opts *o)
{
    mg_doctor *d = mg_calloc(1, sizeof *d);
    if (!d || !(d->arena = mg_arena_new())) {
        free(d);
        return NULL;
    }
    const char *root = p && p->root ? p->root : "";
    mg_gpu_nvml.probe(p, &d->f.nvml);
    mg_gpu_pci.probe(p, &d->f.pci);
    d->f.cpu_ok = mg_cpu_read(p, &d->f.cpu) == MG_OK;
    d->f.mem_ok = mg_memory_read(p, &d->f.mem) == MG_OK;
    d->f.in_container = exists(root, "/.dockerenv") || exists(root, "/run/.containerenv");
    d->f.dev_nodes = exists(root, "/dev/nvidia0") || exists(root, "/dev/nvidiactl");
    char ver[512];
    d->f.wsl = exists(root, "/usr/lib/wsl/lib") ||
             (mg_read_file(root, "/proc/version", ver, sizeof ver) > 0 && strstr(ver, "icrosoft"));
    if (!(o && o->no_cuda) && !root[0] && (d->f.nvml.ngpus || d->f.pci.ngpus || d->f.wsl)) {
        d->f.cuda_tried = 1;
        mg_gpu_cuda.probe(p, &d->f.cuda);   /* in a child process: a broken driver cannot hang or crash us */
    }
    judge_gpus(d);
    judge_cuda(d);
    judge_cpu(d);
    judge_memory(d);
    check_disks(d, o);
    check_envs(d, o);
    if (d->oom) {
        mg_doctor_free(d);
        return NULL;
    }
    return d;
}

void mg_doctor_free(mg_doctor *d)
{
    if (!d)
        return;
    free(d->findings);
    free(d->disks);
    mg_arena_free(d->arena);
    free(d);
}

const mg_host_facts *mg_doctor_facts(const mg_doctor *d) { return &d->f; }
size_t mg_doctor_nfindings(const mg_doctor *d) { return d->nfindings; }
const mg_finding *mg_doctor_finding(const mg_doctor *d, size_t i) { return i < d->nfindings ? &d->findings[i] : NULL; }

mg_severity mg_doctor_worst(const mg_doctor *d)
{
    mg_severity w = MG_SEV_OK;
    for (size_t i = 0; i < d->nfindings; i++)
        if (d->findings[i].severity > w)
            w = (mg_severity)d->findings[i].severity;
    return w;
}

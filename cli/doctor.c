/* doctor.c - `mlgate doctor`: the host audit as a human report (sections, findings) or JSON. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlgate/mlgate.h"

static const char help[] =
    "usage: mlgate doctor [options]\n"
    "\n"
    "Audits this machine for running ML models: GPUs (NVML, or the PCI bus when the driver\n"
    "is missing or broken), driver and CUDA version, CPU features, NUMA, memory. Every\n"
    "finding has a severity, a cause and a fix.\n"
    "\n"
    "      --models DIR  a directory models are stored in, for the free-space check (repeatable;\n"
    "                    default: ~/.cache/huggingface, ~/.ollama/models, ~/.cache/llama.cpp)\n"
    "      --python PATH a Python (executable, venv or site-packages) to audit (repeatable)\n"
    "      --only-given  audit only the --python environments, not the usual places\n"
    "      --no-scan     do not scan the environments' CUDA libraries against the GPUs\n"
    "      --no-cuda     do not initialise libcuda (cuInit) to confirm the driver works\n"
    "      --json        machine-readable report (schema: docs/json.md)\n"
    "      --color WHEN  auto, always or never\n"
    "      --nvml LIB    the NVML library to load (default libnvidia-ml.so.1; env MLGATE_NVML)\n"
    "      --root DIR    read /proc and /sys under DIR (a saved tree of another machine)\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status: 0 when no finding is 'fail', 1 otherwise, 2 usage error.\n";

static void gib(char *buf, size_t n, uint64_t bytes)
{
    snprintf(buf, n, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
}

static colour sev_colour(int s) { return s == MG_SEV_FAIL ? C_RED : s == MG_SEV_WARN ? C_YELLOW : C_GREEN; }

static void print_gpus(const mg_doctor *d)
{
    const mg_gpu_probe *g = mg_doctor_gpus(d);
    char dv[32], a[32], b[32], c[32];
    printf("%sGPUs%s (%s", col(C_BOLD), col(C_RESET), g->backend);
    if (mg_driver_known(g->driver))
        printf(", driver %s", mg_driver_str(g->driver, dv, sizeof dv));
    if (g->cuda_version)
        printf(", CUDA %d.%d", g->cuda_version / 1000, g->cuda_version % 1000 / 10);
    printf(")\n");
    if (!d->nvml.ok)
        printf("  NVML: %s\n", d->nvml.error);
    if (!g->ngpus)
        printf("  none\n");
    for (size_t i = 0; i < g->ngpus; i++) {
        const mg_host_gpu *x = &g->gpus[i];
        printf("  %d  %-28s sm_%-4u %-10s", x->index, x->name, x->cc, x->arch[0] ? x->arch : "?");
        if (x->unified_memory)
            printf(" memory shared with the CPU");
        else if (x->mem_total && !x->mem_free && !x->mem_used) {   /* libcuda knows the total only */
            gib(a, sizeof a, x->mem_total);
            printf(" %s total", a);
        } else if (x->mem_total) {
            gib(a, sizeof a, x->mem_total);
            gib(b, sizeof b, x->mem_free);
            gib(c, sizeof c, x->mem_reserved);
            printf(" %s total, %s free, %s reserved", a, b, c);
        }
        printf("\n     pci %s", x->pci_bus_id[0] ? x->pci_bus_id : "?");
        if (x->uuid[0])
            printf("  %s", x->uuid);
        printf("  MIG %s  persistence %s  bus %s\n", x->mig < 0 ? "n/a" : x->mig ? "on" : "off",
               x->persistence < 0 ? "n/a" : x->persistence ? "on" : "off",
               x->bus_type < 0 ? "?" : x->bus_type == 2 ? "PCIe" : "other (NVLink-C2C/SoC)");
    }
}

static void print_host(const mg_doctor *d)
{
    char a[32], b[32];
    printf("%sCPU%s\n", col(C_BOLD), col(C_RESET));
    if (d->cpu_ok) {
        printf("  %s  %s  %d cores, %d threads\n  ", d->cpu.arch, d->cpu.model, d->cpu.physical, d->cpu.logical);
        int any = 0;
        for (int bit = 0; bit < 64; bit++)
            if (d->cpu.features & (1ull << bit)) {
                printf("%s%s", any ? " " : "", mg_cpu_feature_name(1ull << bit));
                any = 1;
            }
        printf("%s\n", any ? "" : "(no features of interest)");
    } else {
        printf("  unknown\n");
    }
    printf("%sMemory%s\n", col(C_BOLD), col(C_RESET));
    if (d->mem_ok) {
        gib(a, sizeof a, d->mem.total);
        gib(b, sizeof b, d->mem.available);
        printf("  RAM %s, %s available", a, b);
        gib(a, sizeof a, d->mem.swap_total);
        printf("; swap %s", a);
        if (d->mem.hugepages_total)
            printf("; %llu huge pages", (unsigned long long)d->mem.hugepages_total);
        if (d->mem.cgroup_limit) {
            gib(a, sizeof a, d->mem.cgroup_limit);
            printf("; container limit %s", a);
        }
        printf("\n  NUMA: %zu node%s", d->mem.nnodes, d->mem.nnodes == 1 ? "" : "s");
        for (size_t i = 0; i < d->mem.nnodes && i < 8; i++) {
            gib(a, sizeof a, d->mem.nodes[i].mem_total);
            printf("%s node%d %s, %d CPUs", i ? ";" : " -", d->mem.nodes[i].id, a, d->mem.nodes[i].ncpus);
        }
        printf("\n");
    }
}

static void print_more(const mg_doctor *d)
{
    char a[32], b[32];
    if (d->cuda_tried) {
        printf("%sCUDA driver (libcuda)%s\n", col(C_BOLD), col(C_RESET));
        if (d->cuda.ok) {
            printf("  cuInit ok, driver API %d.%d, %zu GPU%s\n", d->cuda.cuda_version / 1000,
                   d->cuda.cuda_version % 1000 / 10, d->cuda.ngpus, d->cuda.ngpus == 1 ? "" : "s");
            for (size_t i = 0; i < d->cuda.ngpus; i++)
                printf("  %d  %s sm_%u %s\n", d->cuda.gpus[i].index, d->cuda.gpus[i].name, d->cuda.gpus[i].cc,
                       d->cuda.gpus[i].pci_bus_id);
        } else {
            printf("  %s\n", d->cuda.error);
        }
    }
    printf("%sDisk%s\n", col(C_BOLD), col(C_RESET));
    for (size_t i = 0; i < d->ndisks; i++) {
        gib(a, sizeof a, d->disks[i].free);
        gib(b, sizeof b, d->disks[i].total);
        printf("  %s: %s free of %s\n", d->disks[i].path, a, b);
    }
    printf("%sPython environments%s\n", col(C_BOLD), col(C_RESET));
    if (!d->npyenvs)
        printf("  none found\n");
    for (size_t i = 0; i < d->npyenvs; i++) {
        const mg_pyenv *e = &d->pyenvs[i];
        printf("  %s (python %s, %s)", e->site, e->python[0] ? e->python : "?", e->origin);
        if (e->has_torch)
            printf(": torch %s, %s", e->torch_version, e->torch_cuda[0] ? e->torch_cuda : "CPU-only");
        printf("\n");
    }
}

static void print_human(const mg_doctor *d)
{
    print_gpus(d);
    print_more(d);
    print_host(d);
    printf("%sFindings%s\n", col(C_BOLD), col(C_RESET));
    size_t count[3] = {0};
    for (size_t i = 0; i < d->nfindings; i++) {
        const mg_finding *f = &d->findings[i];
        count[f->severity]++;
        printf("  %s%-4s%s  %-6s  %s\n", col(sev_colour(f->severity)), mg_severity_str(f->severity), col(C_RESET),
               f->area, f->cause);
        if (f->fix[0])
            printf("                fix: %s\n", f->fix);
    }
    printf("\n%zu ok, %zu warning%s, %zu failure%s.\n", count[0], count[1], count[1] == 1 ? "" : "s", count[2],
           count[2] == 1 ? "" : "s");
}

static void json_gpu(jw *w, const mg_host_gpu *x)
{
    char s[16];
    jw_begin_obj(w);
    jw_key(w, "index");
    jw_int(w, x->index);
    jw_key(w, "name");
    jw_str(w, x->name);
    jw_key(w, "uuid");
    jw_str(w, x->uuid[0] ? x->uuid : NULL);
    jw_key(w, "pci_bus_id");
    jw_str(w, x->pci_bus_id[0] ? x->pci_bus_id : NULL);
    jw_key(w, "pci_device_id");
    snprintf(s, sizeof s, "0x%04x", x->pci_device);
    jw_str(w, x->pci_device ? s : NULL);
    jw_key(w, "compute_capability");
    snprintf(s, sizeof s, "%u.%u", x->cc / 10, x->cc % 10);
    jw_str(w, x->cc ? s : NULL);
    jw_key(w, "architecture");
    jw_str(w, x->arch[0] ? x->arch : NULL);
    jw_key(w, "memory");
    jw_begin_obj(w);
    jw_key(w, "total");
    jw_uint(w, x->mem_total);
    jw_key(w, "free");
    jw_uint(w, x->mem_free);
    jw_key(w, "reserved");
    jw_uint(w, x->mem_reserved);
    jw_key(w, "used");
    jw_uint(w, x->mem_used);
    jw_key(w, "unified");
    jw_bool(w, x->unified_memory);
    jw_end_obj(w);
    jw_key(w, "mig");
    if (x->mig < 0) jw_null(w); else jw_bool(w, x->mig);
    jw_key(w, "persistence");
    if (x->persistence < 0) jw_null(w); else jw_bool(w, x->persistence);
    jw_key(w, "bus");
    jw_str(w, x->bus_type < 0 ? NULL : x->bus_type == 2 ? "pcie" : "other");
    jw_end_obj(w);
}

static void json_probe(jw *w, const mg_gpu_probe *p)
{
    char dv[32];
    jw_begin_obj(w);
    jw_key(w, "ok");
    jw_bool(w, p->ok);
    jw_key(w, "error");
    jw_str(w, p->ok ? NULL : p->error);
    jw_key(w, "code");
    jw_int(w, p->code);
    jw_key(w, "driver");
    jw_str(w, mg_driver_known(p->driver) ? mg_driver_str(p->driver, dv, sizeof dv) : NULL);
    jw_key(w, "cuda");
    if (p->cuda_version) {
        snprintf(dv, sizeof dv, "%d.%d", p->cuda_version / 1000, p->cuda_version % 1000 / 10);
        jw_str(w, dv);
    } else {
        jw_null(w);
    }
    jw_key(w, "gpus");
    jw_begin_arr(w);
    for (size_t i = 0; i < p->ngpus; i++)
        json_gpu(w, &p->gpus[i]);
    jw_end_arr(w);
    jw_end_obj(w);
}

static void print_json(const mg_doctor *d)
{
    jw w = {stdout, 0, {0}, 0};
    jw_begin_obj(&w);
    jw_key(&w, "mlgate");
    jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command");
    jw_str(&w, "doctor");
    jw_key(&w, "nvml");
    json_probe(&w, &d->nvml);
    jw_key(&w, "pci");
    json_probe(&w, &d->pci);
    jw_key(&w, "cpu");
    jw_begin_obj(&w);
    jw_key(&w, "arch");
    jw_str(&w, d->cpu_ok ? d->cpu.arch : NULL);
    jw_key(&w, "model");
    jw_str(&w, d->cpu_ok ? d->cpu.model : NULL);
    jw_key(&w, "cores");
    jw_int(&w, d->cpu.physical);
    jw_key(&w, "threads");
    jw_int(&w, d->cpu.logical);
    jw_key(&w, "features");
    jw_begin_arr(&w);
    for (int bit = 0; bit < 64; bit++)
        if (d->cpu.features & (1ull << bit))
            jw_str(&w, mg_cpu_feature_name(1ull << bit));
    jw_end_arr(&w);
    jw_end_obj(&w);
    jw_key(&w, "memory");
    jw_begin_obj(&w);
    jw_key(&w, "total");
    jw_uint(&w, d->mem.total);
    jw_key(&w, "available");
    jw_uint(&w, d->mem.available);
    jw_key(&w, "swap_total");
    jw_uint(&w, d->mem.swap_total);
    jw_key(&w, "hugepages");
    jw_uint(&w, d->mem.hugepages_total);
    jw_key(&w, "cgroup_limit");
    if (d->mem.cgroup_limit) jw_uint(&w, d->mem.cgroup_limit); else jw_null(&w);
    jw_key(&w, "numa");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->mem.nnodes; i++) {
        jw_begin_obj(&w);
        jw_key(&w, "node");
        jw_int(&w, d->mem.nodes[i].id);
        jw_key(&w, "memory");
        jw_uint(&w, d->mem.nodes[i].mem_total);
        jw_key(&w, "cpus");
        jw_int(&w, d->mem.nodes[i].ncpus);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    jw_key(&w, "environment");
    jw_begin_obj(&w);
    jw_key(&w, "container");
    jw_bool(&w, d->in_container);
    jw_key(&w, "wsl");
    jw_bool(&w, d->wsl);
    jw_key(&w, "nvidia_device_nodes");
    jw_bool(&w, d->dev_nodes);
    jw_end_obj(&w);
    jw_key(&w, "cuda");
    if (!d->cuda_tried) {
        jw_null(&w);
    } else {
        jw_begin_obj(&w);
        jw_key(&w, "ok");
        jw_bool(&w, d->cuda.ok);
        jw_key(&w, "error");
        jw_str(&w, d->cuda.ok ? NULL : d->cuda.error);
        jw_key(&w, "code");
        jw_int(&w, d->cuda.code);
        jw_key(&w, "driver_api");
        char v[16];
        snprintf(v, sizeof v, "%d.%d", d->cuda.cuda_version / 1000, d->cuda.cuda_version % 1000 / 10);
        jw_str(&w, d->cuda.ok ? v : NULL);
        jw_key(&w, "gpus");
        jw_begin_arr(&w);
        for (size_t i = 0; i < d->cuda.ngpus; i++)
            json_gpu(&w, &d->cuda.gpus[i]);
        jw_end_arr(&w);
        jw_end_obj(&w);
    }
    jw_key(&w, "disks");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->ndisks; i++) {
        jw_begin_obj(&w);
        jw_key(&w, "path");
        jw_str(&w, d->disks[i].path);
        jw_key(&w, "free");
        jw_uint(&w, d->disks[i].free);
        jw_key(&w, "total");
        jw_uint(&w, d->disks[i].total);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "python");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->npyenvs; i++) {
        const mg_pyenv *e = &d->pyenvs[i];
        jw_begin_obj(&w);
        jw_key(&w, "site_packages");
        jw_str(&w, e->site);
        jw_key(&w, "found_by");
        jw_str(&w, e->origin);
        jw_key(&w, "python");
        jw_str(&w, e->python[0] ? e->python : NULL);
        jw_key(&w, "torch");
        jw_str(&w, e->has_torch ? e->torch_version : NULL);
        jw_key(&w, "torch_cuda");
        jw_str(&w, e->has_torch && e->torch_cuda[0] ? e->torch_cuda : NULL);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "findings");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->nfindings; i++) {
        const mg_finding *f = &d->findings[i];
        jw_begin_obj(&w);
        jw_key(&w, "severity");
        jw_str(&w, mg_severity_str((mg_severity)f->severity));
        jw_key(&w, "area");
        jw_str(&w, f->area);
        jw_key(&w, "cause");
        jw_str(&w, f->cause);
        jw_key(&w, "fix");
        jw_str(&w, f->fix[0] ? f->fix : NULL);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "status");
    jw_str(&w, mg_severity_str(mg_doctor_worst(d)));
    jw_end_obj(&w);
}

int cmd_doctor(int argc, char **argv)
{
    enum { O_JSON = 256, O_COLOR, O_NVML, O_ROOT, O_MODELS, O_PYTHON, O_ONLY, O_NOSCAN, O_NOCUDA };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON},     {"color", required_argument, 0, O_COLOR},
                                         {"colour", required_argument, 0, O_COLOR}, {"nvml", required_argument, 0, O_NVML},
                                         {"root", required_argument, 0, O_ROOT},   {"help", no_argument, 0, 'h'},
                                         {"models", required_argument, 0, O_MODELS}, {"python", required_argument, 0, O_PYTHON},
                                         {"only-given", no_argument, 0, O_ONLY},   {"no-scan", no_argument, 0, O_NOSCAN},
                                         {"no-cuda", no_argument, 0, O_NOCUDA},
                                         {0, 0, 0, 0}};
    mg_host_paths p = {"", getenv("MLGATE_NVML")};
    int json = 0, c;
    const char *colour_mode = "auto";
    const char *models[MG_MAX_DISKS], *pythons[MG_MAX_PYENVS];
    mg_doctor_opts o = {models, 0, pythons, 0, 0, 0, 0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_COLOR: colour_mode = optarg; break;
        case O_NVML: p.nvml_lib = optarg; break;
        case O_ROOT: p.root = optarg; break;
        case O_MODELS:
            if (o.nmodels < MG_MAX_DISKS)
                models[o.nmodels++] = optarg;
            break;
        case O_PYTHON:
            if (o.npythons < MG_MAX_PYENVS)
                pythons[o.npythons++] = optarg;
            break;
        case O_ONLY: o.no_common_envs = 1; break;
        case O_NOSCAN: o.no_scan = 1; break;
        case O_NOCUDA: o.no_cuda = 1; break;
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: fprintf(stderr, "Try 'mlgate doctor --help'.\n"); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mlgate doctor: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (out_colour_init(colour_mode, stdout)) {
        fprintf(stderr, "mlgate doctor: --color wants auto, always or never\n");
        return EXIT_USAGE;
    }
    mg_doctor *d = malloc(sizeof *d);
    if (!d)
        return EXIT_USAGE;
    mg_doctor_run(&p, &o, d);
    if (json)
        print_json(d);
    else
        print_human(d);
    int rc = mg_doctor_worst(d) == MG_SEV_FAIL ? EXIT_FAIL : EXIT_PASS;
    free(d);
    return rc;
}

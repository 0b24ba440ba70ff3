/* doctor.c - `mlgate doctor`: the host audit as a human report (sections, findings) or JSON. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    "      --nvml LIB    the NVML library to load (default $MLGATE_NVML, else libnvidia-ml.so.1;\n"
    "                    libcuda: $MLGATE_CUDA, else libcuda.so.1)\n"
    "      --root DIR    read /proc and /sys under DIR (a saved tree of another machine)\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status: 0 when no finding is 'fail', 1 otherwise, 2 usage error.\n";

static void gib(char *buf, size_t n, uint64_t bytes)
{
    snprintf(buf, n, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
}

static colour sev_colour(int s) { return s == MG_SEV_FAIL ? C_RED : s == MG_SEV_WARN ? C_YELLOW : C_GREEN; }

static void print_gpus(const mg_doctor *doc)
{
    const mg_host_facts *d = mg_doctor_facts(doc);
    const mg_gpu_probe *g = mg_doctor_gpus(doc);
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
        char mem[128] = "";
        if (x->unified_memory)
            snprintf(mem, sizeof mem, " memory shared with the CPU");
        else if (x->mem_total && !x->mem_free && !x->mem_used) {   /* libcuda knows the total only */
            gib(a, sizeof a, x->mem_total);
            snprintf(mem, sizeof mem, " %s total", a);
        } else if (x->mem_total) {
            gib(a, sizeof a, x->mem_total);
            gib(b, sizeof b, x->mem_free);
            gib(c, sizeof c, x->mem_reserved);
            snprintf(mem, sizeof mem, " %s total, %s free, %s reserved", a, b, c);
        }
        /* columns padded only when something follows them: no line ends in spaces */
        printf("  %d  %-28s sm_%-4u %-*s%s\n", x->index, x->name, x->cc, mem[0] ? 10 : 0, x->arch[0] ? x->arch : "?", mem);
        printf("     pci %s", x->pci_bus_id[0] ? x->pci_bus_id : "?");
        if (x->uuid[0])
            printf("  %s", x->uuid);
        printf("  MIG %s  persistence %s  bus %s\n", x->mig < 0 ? "n/a" : x->mig ? "on" : "off",
               x->persistence < 0 ? "n/a" : x->persistence ? "on" : "off",
               x->bus_type < 0 ? "?" : x->bus_type == 2 ? "PCIe" : "other (NVLink-C2C/SoC)");
    }
}

static void print_host(const mg_host_facts *d)
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

static void print_more(const mg_host_facts *d)
{
    char a[32], b[32];
    if (d->cuda_tried) {
        printf("%sCUDA driver (libcuda)%s\n", col(C_BOLD), col(C_RESET));
        if (d->cuda.ok) {
            printf("  cuInit ok, driver API %d.%d, %zu GPU%s\n", d->cuda.cuda_version / 1000,
                   d->cuda.cuda_version % 1000 / 10, d->cuda.ngpus, d->cuda.ngpus == 1 ? "" : "s");
            for (size_t i = 0; i < d->cuda.ngpus; i++)
                printf("  %d  %s sm_%u%s%s\n", d->cuda.gpus[i].index, d->cuda.gpus[i].name, d->cuda.gpus[i].cc,
                       d->cuda.gpus[i].pci_bus_id[0] ? " " : "",
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
    print_more(mg_doctor_facts(d));
    print_host(mg_doctor_facts(d));
    printf("%sFindings%s\n", col(C_BOLD), col(C_RESET));
    size_t count[3] = {0};
    for (size_t i = 0; i < mg_doctor_nfindings(d); i++) {
        const mg_finding *f = mg_doctor_finding(d, i);
        count[f->severity]++;
        printf("  %s%-4s%s  %-6s  %s\n", col(sev_colour(f->severity)), mg_severity_str(f->severity), col(C_RESET),
               f->area, f->cause);
        if (f->fix)
            printf("                fix: %s\n", f->fix);
        const mg_kb_entry *e = f->severity >= MG_SEV_WARN ? mg_explain_match(f->cause, strlen(f->cause)) : NULL;
        if (e)
            printf("                known failure: %s (mlgate explain --list)\n", mg_kb_id(e));
    }
    printf("\n%zu ok, %zu warning%s, %zu failure%s.\n", count[0], count[1], count[1] == 1 ? "" : "s", count[2],
           count[2] == 1 ? "" : "s");
}

/* What the command line asked for. */
typedef struct args {
    mg_host_paths paths;
    mg_doctor_opts o;
    const char **models, **pythons;     /* argc of each: every option at most once per word */
    const char *colour;
    int json;
} args;

/* The options into a; -1 to go on, else the exit code (help printed, or a usage error said). */
static int parse(int argc, char **argv, args *a)
{
    enum { O_JSON = 256, O_COLOR, O_NVML, O_ROOT, O_MODELS, O_PYTHON, O_ONLY, O_NOSCAN, O_NOCUDA };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON},     {"color", required_argument, 0, O_COLOR},
                                         {"colour", required_argument, 0, O_COLOR}, {"nvml", required_argument, 0, O_NVML},
                                         {"root", required_argument, 0, O_ROOT},   {"help", no_argument, 0, 'h'},
                                         {"models", required_argument, 0, O_MODELS}, {"python", required_argument, 0, O_PYTHON},
                                         {"only-given", no_argument, 0, O_ONLY},   {"no-scan", no_argument, 0, O_NOSCAN},
                                         {"no-cuda", no_argument, 0, O_NOCUDA},
                                         {0, 0, 0, 0}};
    a->models = calloc((size_t)argc, sizeof *a->models);
    a->pythons = calloc((size_t)argc, sizeof *a->pythons);
    if (!a->models || !a->pythons)
        return cli_fail("doctor", a->json, EXIT_USAGE, MG_E_NOMEM, "out of memory");
    a->o.models = a->models;
    a->o.pythons = a->pythons;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: a->json = 1; break;
        case O_COLOR: a->colour = optarg; break;
        case O_NVML: a->paths.nvml_lib = optarg; break;
        case O_ROOT: a->paths.root = optarg; break;
        case O_MODELS: a->models[a->o.nmodels++] = optarg; break;
        case O_PYTHON: a->pythons[a->o.npythons++] = optarg; break;
        case O_ONLY: a->o.no_common_envs = 1; break;
        case O_NOSCAN: a->o.no_scan = 1; break;
        case O_NOCUDA: a->o.no_cuda = 1; break;
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: return cli_usage("doctor", a->json, "unknown option (see 'mlgate doctor --help')");
        }
    }
    if (optind < argc)
        return cli_usage("doctor", a->json, "unexpected argument '%s'", argv[optind]);
    if (out_colour_init(a->colour, stdout))
        return cli_usage("doctor", a->json, "--color wants auto, always or never");
    return -1;
}

int cmd_doctor(int argc, char **argv)
{
    args a = {.paths = {"", NULL, NULL}, .colour = "auto", .json = wants_json(argc, argv)};
    int rc = parse(argc, argv, &a);
    mg_doctor *d = rc < 0 ? mg_doctor_run(&a.paths, &a.o) : NULL;
    if (rc < 0 && !d)
        rc = cli_fail("doctor", a.json, EXIT_USAGE, MG_E_NOMEM, "out of memory");
    if (d) {
        if (a.json)
            mg_doctor_json(stdout, d);
        else
            print_human(d);
        rc = mg_doctor_worst(d) == MG_SEV_FAIL ? EXIT_FAIL : EXIT_PASS;
    }
    mg_doctor_free(d);
    free(a.models);
    free(a.pythons);
    return rc;
}

/* scan.c - `mlgate scan`: options, progress, and the human report (the library writes the JSON). */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "usage: mlgate scan [options] PATH...\n"
    "\n"
    "Finds every piece of CUDA code in binaries, directories (a venv, a container\n"
    "root, /usr/local/cuda/lib64) and .whl/.zip archives, and says per file whether\n"
    "each target GPU can run it - without needing a GPU.\n"
    "\n"
    "  -g, --gpu LIST        targets: sm_XY, X.Y or GPU names, comma-separated\n"
    "                        ('H100,RTX 5090,sm_61'; 'all' = every capability in the table).\n"
    "                        Default: this machine's GPUs and driver (NVML, else the PCI bus)\n"
    "      --no-detect       without --gpu, only list what each file carries\n"
    "  -d, --driver VER      NVIDIA driver version for PTX JIT reasoning (e.g. 570.124.06\n"
    "                        or 580); without it JIT verdicts state the driver they need\n"
    "      --arch CPU        the host's CPU, x86_64 or aarch64 (amd64, arm64): code for the\n"
    "                        other ISA does not load (default: this machine's; a GB10 or\n"
    "                        GH200 is aarch64: --arch x86_64 with it is a usage error)\n"
    "      --json            machine-readable report on stdout (schema: docs/json.md)\n"
    "  -l, --list            list every fatbin and image (like cuobjdump --list-elf/-ptx)\n"
    "  -v, --verbose         details for every file, not only failing ones\n"
    "      --deep            decompress every image: check each cubin's SM, count every kernel\n"
    "      --load            also load every fatbin with this machine's CUDA driver (GPU 0,\n"
    "                        in a child process) and report where it disagrees with mlgate\n"
    "      --load-budget SEC time allowed per file for --load (PTX JIT can take minutes; 120)\n"
    "      --all             also list ELF files that carry no CUDA code\n"
    "  -j, --threads N       worker threads (default: one per CPU)\n"
    "      --max-member SIZE largest archive member scanned (default 4G)\n"
    "      --platform OS/ARCH  of a multi-platform image, only this one (linux/arm64,\n"
    "                        linux/amd64, linux/arm/v7; default: every platform)\n"
    "      --color WHEN      auto, always or never\n"
    "      --list-gpus       print the GPU table and exit\n"
    "  -h, --help            this help\n"
    "\n"
    "Verdicts per file and target:\n"
    "  native   every kernel has machine code (SASS) for the GPU\n"
    "  jit      runs, but some code only as PTX: compiled by the driver on first start\n"
    "  partial  some kernels have no image: they fail with 'no kernel image is available'\n"
    "  none     nothing in the file runs on the GPU\n"
    "Frameworks found by their dist-info are judged too (docs/compat-rules.md): a CPU-only\n"
    "torch, vLLM or jaxlib, or FlashAttention on a GPU below its floor, is a none line named\n"
    "after the dist-info (Triton below 7.0 is partial: eager PyTorch runs); bitsandbytes\n"
    "counts only the library torch's CUDA loads.\n"
    "Container images are read without a container engine: a docker save / podman save\n"
    "tarball, an OCI archive or OCI layout directory, a flat root filesystem tar (docker\n"
    "export; also .tar.gz, .tar.zst). Layers apply base to top (whiteouts, opaque\n"
    "directories), each streamed once, nothing extracted; a file is named\n"
    "IMAGE!LAYER-DIGEST!PATH (docs/images.md).\n"
    "An input with nothing to scan (an empty directory, random bytes) is an error; a text\n"
    "file (a script) is an input without CUDA code.\n"
    "\n"
    "Examples:\n"
    "  mlgate scan --gpu 'RTX 5090' ./venv\n"
    "  mlgate scan --gpu sm_121,H100 --driver 575.51.03 torch-2.7.0-cp311-*.whl\n"
    "  mlgate scan --gpu 'RTX PRO 6000' --arch aarch64 vllm-*-manylinux_2_28_aarch64.whl\n"
    "  mlgate scan --json --gpu all /usr/local/cuda/lib64 > report.json\n"
    "  docker save -o app.tar app:1.4 && mlgate scan --gpu GB10 --platform linux/arm64 app.tar\n"
    "\n"
    "Exit status: 0 every file runs on every target, 1 some file does not (or could\n"
    "not be read), 2 usage or internal error.\n";

/* ---- progress on stderr, for scans longer than a second, on a tty ---- */

typedef struct progress {
    struct timespec start;
    pthread_mutex_t lock;
    int shown;
    double last;
} progress;

static double elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void on_progress(void *ud, size_t done, size_t total)
{
    progress *p = ud;
    double e = elapsed(&p->start);
    if (e < 1.0)
        return;
    pthread_mutex_lock(&p->lock);
    if (e - p->last >= 0.1 || done == total) {
        fprintf(stderr, "\rmlgate: scanning %zu/%zu files (%.0fs)\033[K", done, total, e);
        p->last = e;
        p->shown = 1;
    }
    pthread_mutex_unlock(&p->lock);
}

/* ---- the human report ---- */

static colour status_colour(int s)
{
    static const colour c[] = {C_GREEN, C_YELLOW, C_MAGENTA, C_RED};
    return (unsigned)s <= MG_STATUS_NONE ? c[s] : C_RED;
}

/* ---- human report ---- */

static void print_fatbin_line(const mg_report *r, uint32_t i, const char *indent)
{
    const mg_fatbin *f = &r->fatbins[i];
    char archs[256];
    mg_fatbin_archs_str(r, i, archs, sizeof archs);
    printf("%sfatbin #%u (%s @0x%llx): %s\n", indent, i, mg_where_str(f->where), (unsigned long long)f->off,
           f->count ? archs : "(empty)");
}

static void print_list(const mg_report *r)
{
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        const mg_fatbin *f = &r->fatbins[i];
        printf("    fatbin #%u %s @0x%llx, %llu bytes, %d kernels\n", i, mg_where_str(f->where),
               (unsigned long long)f->off, (unsigned long long)f->size, f->nkernels);
        for (uint32_t k = 0; k < f->count; k++) {
            const mg_entry *e = &r->entries[f->first + k];
            char s[24];
            printf("      %-5s %-13s", mg_image_kind_str(e->kind), mg_entry_arch_str(e, s, sizeof s));
            if (e->kind == MG_IMAGE_PTX)
                printf(" isa %u.%u", e->version / 10, e->version % 10);
            printf(" %-4s %10llu bytes", mg_codec_str(e->codec), (unsigned long long)e->usize);
            if (e->codec)
                printf(" (%llu stored)", (unsigned long long)e->size);
            if (e->relocatable)
                printf(" relocatable");
            if (e->cubin_sm_ok == 2)
                printf(" %sCUBIN SAYS sm_%u%s", col(C_RED), e->cubin_sm, col(C_RESET));
            printf("\n");
        }
    }
}

static int same_verdict(const mg_verdict *a, const mg_verdict *b)
{
    if (a->status != b->status || a->nmissing != b->nmissing || a->nmissing_kept != b->nmissing_kept ||
        strcmp(a->reason, b->reason))
        return 0;
    for (uint32_t m = 0; m < a->nmissing_kept; m++)
        if (a->missing[m].fatbin != b->missing[m].fatbin)
            return 0;
    return 1;
}

static void print_details(const mg_report *r, int verbose)
{
    printf("%s%s%s\n", col(C_BOLD), shown(r->path), col(C_RESET));
    char buf[512];
    if (r->framework)   /* a framework's own verdict: no code of its own to list */
        printf("  framework: %s\n", shown(r->framework));
    else
        printf("  SASS: %s\n", *mg_report_archs_str(r, MG_IMAGE_SASS, "sm_", buf, sizeof buf) ? buf : "-");
    if (!r->framework)
        printf("  PTX:  %s\n", *mg_report_archs_str(r, MG_IMAGE_PTX, "compute_", buf, sizeof buf) ? buf : "-");
    if (!r->framework)
        printf("  %u fatbins (%u empty, %u relocatable); images: %u sass, %u ptx, %u ltoir\n", r->nfatbins,
           r->nempty, r->nrelocatable, r->images[MG_IMAGE_SASS], r->images[MG_IMAGE_PTX], r->images[MG_IMAGE_LTOIR]);
    if (r->cuda_major)
        printf("  built with CUDA %u (%s)\n", r->cuda_major, r->cuda_from);
    if (r->sm_mismatch)
        printf("  %s%u cubins whose own header disagrees with the fatbin's SM%s\n", col(C_RED), r->sm_mismatch,
               col(C_RESET));
    if (r->detail)
        printf("  note: %s\n", shown(r->detail));
    unsigned char done[256] = {0};
    for (size_t t = 0; t < r->nverdicts && t < sizeof done; t++) {
        const mg_verdict *v = &r->verdicts[t];
        if (done[t] || (!verbose && v->status < MG_STATUS_PARTIAL))
            continue;
        /* Targets with the same verdict and the same missing code share one paragraph. */
        printf("  %s", v->target.name);
        for (size_t u = t + 1; u < r->nverdicts && u < sizeof done; u++)
            if (same_verdict(v, &r->verdicts[u])) {
                done[u] = 1;
                printf(", %s", r->verdicts[u].target.name);
            }
        printf(": %s%s%s - %s\n", col(status_colour(v->status)), mg_status_str(v->status), col(C_RESET), v->reason);
        if (v->status == MG_STATUS_NONE && !verbose)
            continue;   /* nothing runs: the reason says it all; -v lists the kernels */
        for (uint32_t m = 0; m < v->nmissing_kept; m++) {
            const mg_missing *x = &v->missing[m];
            print_fatbin_line(r, x->fatbin, "      ");
            for (uint32_t k = 0; k < x->nnames; k++) {
                char d[512];
                printf("          %s\n", shown(mg_demangle(x->names[k], d, sizeof d)));
            }
            if (x->nkernels > x->nnames)
                printf("          ... %u more kernels\n", x->nkernels - x->nnames);
        }
        if (v->nmissing > v->nmissing_kept)
            printf("      ... %u more fatbins without an image\n", v->nmissing - v->nmissing_kept);
    }
}

/* A table cell: the status, with the share of fatbins that run when partial. */
static const char *status_cell(const mg_verdict *v, char *buf, size_t n)
{
    if (v->status == MG_STATUS_PARTIAL && v->total)   /* a framework's partial counts no fatbins */
        snprintf(buf, n, "partial %u/%u", v->covered, v->total);
    else
        snprintf(buf, n, "%s", mg_status_str(v->status));
    return buf;
}

static void print_table(const mg_scan_result *res)
{
    mg_report *const *rs = res->reports;
    size_t n = res->nreports, nt = res->ntargets;
    const mg_target *tg = res->targets;
    /* One line per file, one column per target, each as wide as its name or widest cell. */
    int width[MG_MAX_TARGETS + 1] = {0}, total_width = 0;
    for (size_t t = 0; t < nt && t <= MG_MAX_TARGETS; t++) {
        width[t] = (int)strlen(tg[t].name) < 7 ? 7 : (int)strlen(tg[t].name);
        for (size_t i = 0; i < n; i++) {
            char cell[32];
            if (!rs[i]->err && t < rs[i]->nverdicts && (int)strlen(status_cell(&rs[i]->verdicts[t], cell, sizeof cell)) > width[t])
                width[t] = (int)strlen(cell);
        }
        total_width += width[t] + 2;
    }
    if (nt) {
        for (size_t t = 0; t < nt && t <= MG_MAX_TARGETS; t++)
            printf("%s%-*s%s  ", col(C_BOLD), width[t], tg[t].name, col(C_RESET));
        printf("%sFILE%s\n", col(C_BOLD), col(C_RESET));
    }
    for (size_t i = 0; i < n; i++) {
        const mg_report *r = rs[i];
        if (r->err) {
            printf("%s%-*s%s %s: %s%s%s\n", col(C_RED), nt ? total_width - 1 : 5, "error", col(C_RESET),
                   shown(r->path), mg_strerror((mg_err)r->err), r->detail ? ": " : "", r->detail ? shown(r->detail) : "");
            continue;
        }
        if (nt) {
            for (size_t t = 0; t < r->nverdicts && t <= MG_MAX_TARGETS; t++) {
                char cell[32];
                status_cell(&r->verdicts[t], cell, sizeof cell);
                printf("%s%-*s%s  ", col(status_colour(r->verdicts[t].status)), width[t], cell, col(C_RESET));
            }
            printf("%s\n", shown(r->path));
        } else {
            char sass[256], ptx[256];
            mg_report_archs_str(r, MG_IMAGE_SASS, "sm_", sass, sizeof sass);
            mg_report_archs_str(r, MG_IMAGE_PTX, "compute_", ptx, sizeof ptx);
            printf("%s  [%s%s%s]  %u fatbins\n", shown(r->path), sass, *ptx ? " | " : "", ptx, r->nfatbins);
        }
    }
}

/* The container images among the inputs: what each is, before its files. */
static void print_images(const mg_scan_result *res)
{
    for (size_t i = 0; i < res->nimages; i++) {
        const mg_image_info *im = &res->images[i];
        char b[32];
        uint64_t size = 0;
        for (size_t k = 0; k < im->nlayers; k++)
            size += im->layers[k].size;
        printf("%simage%s %s (%s", col(C_BOLD), col(C_RESET), shown(im->path), im->format);
        for (size_t k = 0; k < im->ntags; k++)
            printf("%s%s", k ? ", " : ": ", im->tags[k]);
        printf(")%s%s%s%s: %zu layer%s (%s), %u files\n", im->platform ? " " : "", im->platform ? im->platform : "",
               im->digest ? " " : "", im->digest ? im->digest : "", im->nlayers, im->nlayers == 1 ? "" : "s",
               mg_human(size, b), im->files);
    }
    if (res->nimages)
        printf("\n");
}

static void print_human(const mg_scan_result *res, int verbose, int list)
{
    char b1[32];
    mg_scan_summary sum;
    mg_scan_summarize(res, &sum);
    print_images(res);
    print_table(res);
    /* Details for what fails (or everything with -v / -l). */
    int header = 0;
    for (size_t i = 0; i < res->nreports; i++) {
        const mg_report *r = res->reports[i];
        if (r->err || !(verbose || list || mg_report_worst(r) >= MG_STATUS_PARTIAL))
            continue;
        if (!header++)
            printf("\n");
        print_details(r, verbose || list);
        if (list)
            print_list(r);
    }
    printf("\n%s%zu file%s with CUDA code%s of %zu examined (%s) in %.2fs", col(C_BOLD), sum.with_code,
           sum.with_code == 1 ? "" : "s", col(C_RESET), res->files, mg_human(res->bytes, b1), res->seconds);
    if (res->ntargets)
        printf(": %zu do not run everywhere, %zu need PTX JIT somewhere, %zu native on every target", sum.failing,
               sum.jit, sum.native);
    if (sum.frameworks)
        printf("; %zu framework%s that cannot use these GPUs as installed", sum.frameworks, sum.frameworks == 1 ? "" : "s");
    if (sum.errors)
        printf("; %s%zu could not be read%s", col(C_RED), sum.errors, col(C_RESET));
    if (res->skipped)
        printf("; %zu symlinks/special files left alone", res->skipped);
    printf(".\n");
    if (!res->ntargets)
        printf("No --gpu given: listed what each file carries. Add --gpu 'RTX 5090,H100' (or 'all') for verdicts.\n");
}

/* --load: what the driver said, and where it disagrees with the verdicts. */
static void print_load(const mg_scan_result *res)
{
    const mg_device *dev = &res->device;
    mg_load_result sum = {0};
    size_t files = 0;
    for (size_t i = 0; i < res->nreports; i++) {
        const mg_load_result *lr = &res->load[i];
        if (!lr->tried)
            continue;
        files++;
        sum.loaded += lr->loaded;
        sum.refused += lr->refused;
        sum.empty_refused += lr->empty_refused;
        sum.crashed += lr->crashed;
        sum.timeout += lr->timeout;
        sum.not_tried += lr->not_tried;
        sum.ndisagree += lr->ndisagree;
    }
    char d[32];
    printf("\n%sDriver check%s on %s (sm_%u, driver %s, CUDA %d.%d): %zu files\n", col(C_BOLD), col(C_RESET),
           dev->name, dev->cc, mg_driver_str(dev->driver, d, sizeof d), dev->cuda_version / 1000,
           dev->cuda_version % 1000 / 10, files);
    printf("  %u fatbins loaded, %u refused as mlgate predicted, %u empty ones refused (harmless),\n"
           "  %u crashed the driver, %u ran out of time, %u not loaded directly (relocatable, LTO-IR, or no time left)\n",
           sum.loaded, sum.refused, sum.empty_refused, sum.crashed, sum.timeout, sum.not_tried);
    printf("  %s%u disagreement%s with the static verdict%s\n", sum.ndisagree ? col(C_RED) : col(C_GREEN),
           sum.ndisagree, sum.ndisagree == 1 ? "" : "s", col(C_RESET));
    for (size_t i = 0; i < res->nreports; i++) {
        const mg_load_result *lr = &res->load[i];
        if (lr->skipped)
            printf("  %s: not verified: %s\n", res->reports[i]->path, lr->skipped);
        for (uint32_t k = 0; k < lr->ndisagree && k < MG_LOAD_MAX_DISAGREE; k++) {
            char a[256];
            mg_fatbin_archs_str(res->reports[i], lr->disagree[k].fatbin, a, sizeof a);
            printf("  %s fatbin #%u [%s]: mlgate says %s, driver: %s (%d)\n", res->reports[i]->path,
                   lr->disagree[k].fatbin, a, mg_status_str((mg_status)lr->disagree[k].status),
                   lr->disagree[k].code ? mg_cu_name(lr->disagree[k].code) : "loaded", lr->disagree[k].code);
        }
    }
}

static void list_gpus(void)
{
    size_t n;
    const mg_gpu_info *g = mg_gpu_table(&n);
    printf("%-26s %-6s %-10s %-9s %s\n", "GPU", "CC", "SM", "FAMILY", "MEMORY");
    for (size_t i = 0; i < n; i++) {
        char cc[8], sm[12], mem[24];
        snprintf(cc, sizeof cc, "%u.%u", g[i].cc / 10, g[i].cc % 10);
        snprintf(sm, sizeof sm, "sm_%u", g[i].cc);
        if (g[i].mem_mib)
            snprintf(mem, sizeof mem, "%u MiB", g[i].mem_mib);
        else
            snprintf(mem, sizeof mem, "shared with CPU");
        printf("%-26s %-6s %-10s %-9s %s\n", g[i].name, cc, sm, g[i].family, mem);
    }
}

/* Without --gpu: this machine's GPUs, said on stderr. */
static void say_detected(const mg_targets *t)
{
    char dv[32];
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->t[i].cc != 0;   /* a GPU whose capability is unknown gets no column */
    if (n)
        fprintf(stderr, "mlgate scan: judging against this machine's %zu GPU%s (%s%s%s); --gpu chooses others\n",
                n, n == 1 ? "" : "s", t->backend, mg_driver_known(t->t[0].driver) ? ", driver " : "",
                mg_driver_known(t->t[0].driver) ? mg_driver_str(t->t[0].driver, dv, sizeof dv) : "");
    else
        fprintf(stderr, "mlgate scan: no GPU found on this machine (%s): listing what each file carries; "
                "--gpu judges against named GPUs\n", t->note);
}

/* What the command line asked for. */
typedef struct args {
    mg_scan_opts o;
    mg_target_spec ts;
    char gpus[4096];        /* every --gpu list, joined */
    int json, list, verbose, no_detect;
    const char *colour;
} args;

/* The options into a; -1 to go on, else the exit code (help printed, or a usage error said). */
static int parse(int argc, char **argv, args *a)
{
    enum { O_JSON = 256, O_DEEP, O_ALL, O_MAXMEM, O_COLOR, O_LISTGPUS, O_LOAD, O_BUDGET, O_NODETECT, O_ARCH,
           O_PLATFORM };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},     {"driver", required_argument, 0, 'd'},
        {"json", no_argument, 0, O_JSON},       {"list", no_argument, 0, 'l'},
        {"verbose", no_argument, 0, 'v'},       {"deep", no_argument, 0, O_DEEP},
        {"all", no_argument, 0, O_ALL},         {"threads", required_argument, 0, 'j'},
        {"max-member", required_argument, 0, O_MAXMEM}, {"color", required_argument, 0, O_COLOR},
        {"colour", required_argument, 0, O_COLOR}, {"list-gpus", no_argument, 0, O_LISTGPUS},
        {"load", no_argument, 0, O_LOAD},       {"load-budget", required_argument, 0, O_BUDGET},
        {"no-detect", no_argument, 0, O_NODETECT}, {"arch", required_argument, 0, O_ARCH},
        {"platform", required_argument, 0, O_PLATFORM}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    mg_scan_opts *o = &a->o;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:d:lvj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g':   /* repeatable: the lists add up */
            if (strlen(a->gpus) + strlen(optarg) + 2 > sizeof a->gpus)
                return cli_usage("scan", a->json, "--gpu lists are too long");
            strcat(strcat(a->gpus, *a->gpus ? "," : ""), optarg);
            break;
        case 'd':
            if (mg_driver_parse(optarg, &o->load_driver))
                return cli_usage("scan", a->json, "'%s' is not a driver version (like 580.65.06 or 580)", optarg);
            a->ts.driver = optarg;
            break;
        case O_JSON: a->json = 1; break;
        case 'l': a->list = 1; o->deep = 1; break;   /* a listing shows kernel counts */
        case 'v': a->verbose = 1; break;
        case O_DEEP: o->deep = 1; break;
        case O_ALL: o->keep_all = 1; break;
        case 'j':
            o->threads = atoi(optarg);
            if (o->threads < 1 || o->threads > 256)
                return cli_usage("scan", a->json, "--threads wants 1..256");
            break;
        case O_MAXMEM:
            if (mg_parse_size(optarg, &o->max_member) || o->max_member == 0)
                return cli_usage("scan", a->json, "'%s' is not a size (like 4G or 512M)", optarg);
            break;
        case O_COLOR: a->colour = optarg; break;
        case O_LISTGPUS: list_gpus(); return EXIT_PASS;
        case O_LOAD: o->load = 1; break;
        case O_NODETECT: a->no_detect = 1; break;
        case O_ARCH: a->ts.arch = optarg; break;
        case O_PLATFORM:
            if (!strchr(optarg, '/') || optarg[0] == '/')
                return cli_usage("scan", a->json, "--platform wants OS/ARCH[/VARIANT], like linux/arm64");
            o->platform = optarg;
            break;
        case O_BUDGET:
            o->load_budget = atof(optarg);
            if (o->load_budget <= 0)
                return cli_usage("scan", a->json, "--load-budget wants seconds > 0");
            break;
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: return cli_usage("scan", a->json, "unknown option (see 'mlgate scan --help')");
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mlgate scan: no PATH given\n%s", help);
        return a->json ? cli_usage("scan", a->json, "no PATH given") : EXIT_USAGE;
    }
    if (out_colour_init(a->colour, stdout))
        return cli_usage("scan", a->json, "--color wants auto, always or never");
    a->ts.gpus = *a->gpus ? a->gpus : NULL;
    a->ts.detect = !a->no_detect && !o->load;   /* with --load the driver's GPU is the target */
    return -1;
}

int cmd_scan(int argc, char **argv)
{
    args a = {.colour = "auto", .json = wants_json(argc, argv)};
    int rc = parse(argc, argv, &a);
    mg_targets t;
    if (rc >= 0 || cli_targets("scan", a.json, &a.ts, &t))
        return rc >= 0 ? rc : EXIT_USAGE;
    if (!a.ts.gpus && a.ts.detect)
        say_detected(&t);
    a.o.targets = t.t;
    a.o.ntargets = t.n;
    progress pr = {0};
    clock_gettime(CLOCK_MONOTONIC, &pr.start);
    pthread_mutex_init(&pr.lock, NULL);
    if (isatty(STDERR_FILENO)) {
        a.o.progress = on_progress;
        a.o.progress_ud = &pr;
    }
    mg_scan_result res;
    int e = mg_scan_paths(&a.o, (const char *const *)argv + optind, (size_t)(argc - optind), &res);
    if (pr.shown)
        fprintf(stderr, "\r\033[K");
    if (e)
        rc = cli_fail("scan", a.json, EXIT_USAGE, (mg_err)e, "%s%s", a.o.load ? "--load: " : "", res.error);
    else if (a.json)
        mg_scan_json(stdout, &res, a.list);
    else {
        print_human(&res, a.verbose, a.list);
        if (a.o.load)
            print_load(&res);
    }
    if (!e)
        rc = mg_scan_exit_status(&res);
    mg_scan_result_free(&res);
    return rc;
}

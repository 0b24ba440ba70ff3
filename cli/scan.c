/* scan.c - `mlgate scan`: options, progress, the human report and the JSON report. */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mlgate/mlgate.h"
#include "scan_load.h"

#define MAX_TARGETS 64

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
    "      --json            machine-readable report on stdout (schema: docs/json.md)\n"
    "  -l, --list            list every fatbin and image (like cuobjdump --list-elf/-ptx)\n"
    "  -v, --verbose         details for every file, not only failing ones\n"
    "      --deep            decompress every image: check each cubin's SM, count every kernel\n"
    "      --load            also load every fatbin with this machine's CUDA driver (GPU 0,\n"
    "                        in a child process) and report where it disagrees with mlgate\n"
    "      --load-budget SEC time allowed per file for --load (PTX JIT can take minutes; 120)\n"
    "      --all             also list ELF files that carry no CUDA code\n"
    "  -j, --threads N       worker threads (default: one per CPU)\n"
    "      --max-member SIZE largest archive member inflated in memory (default 4G)\n"
    "      --color WHEN      auto, always or never\n"
    "      --list-gpus       print the GPU table and exit\n"
    "  -h, --help            this help\n"
    "\n"
    "Verdicts per file and target:\n"
    "  native   every kernel has machine code (SASS) for the GPU\n"
    "  jit      runs, but some code only as PTX: compiled by the driver on first start\n"
    "  partial  some kernels have no image: they fail with 'no kernel image is available'\n"
    "  none     nothing in the file runs on the GPU\n"
    "\n"
    "Examples:\n"
    "  mlgate scan --gpu 'RTX 5090' ./venv\n"
    "  mlgate scan --gpu sm_121,H100 --driver 575.51.03 torch-2.7.0-cp311-*.whl\n"
    "  mlgate scan --json --gpu all /usr/local/cuda/lib64 > report.json\n"
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

/* ---- shared helpers ---- */

static const char *arch_list(const mg_report *r, mg_kind k, const char *prefix, char *buf, size_t n)
{
    mg_arch a[128];
    size_t na = mg_report_archs(r, k, a, 128), w = 0;
    buf[0] = 0;
    for (size_t i = 0; i < na && w < n; i++) {
        char s[24];
        int m = snprintf(buf + w, n - w, "%s%s", i ? " " : "", mg_arch_str(a[i], prefix, s, sizeof s));
        if (m < 0)
            break;
        w += (size_t)m;
    }
    return buf;
}

static const char *why_str(int why)
{
    static const char *const s[] = {"no_image", "arch_specific", "ptx_driver", "ltoir_only"};
    return (unsigned)why < 4 ? s[why] : "unknown";
}

/* Failing files first (worst status, then how many targets fail), then by path. */
static int by_severity(const void *a, const void *b)
{
    const mg_report *x = *(mg_report *const *)a, *y = *(mg_report *const *)b;
    int ex = x->err != 0, ey = y->err != 0;
    if (ex != ey)
        return ey - ex;
    int wx = mg_report_worst(x), wy = mg_report_worst(y);
    if (wx != wy)
        return wy - wx;
    size_t fx = 0, fy = 0;
    for (size_t i = 0; i < x->nverdicts; i++)
        fx += x->verdicts[i].status >= MG_ST_PARTIAL;
    for (size_t i = 0; i < y->nverdicts; i++)
        fy += y->verdicts[i].status >= MG_ST_PARTIAL;
    if (fx != fy)
        return fx < fy ? 1 : -1;
    return strcmp(x->path, y->path);
}

static colour status_colour(int s)
{
    static const colour c[] = {C_GREEN, C_YELLOW, C_MAGENTA, C_RED};
    return (unsigned)s <= MG_ST_NONE ? c[s] : C_RED;
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
            printf("      %-5s %-13s", mg_kind_str(e->kind), mg_entry_arch_str(e, s, sizeof s));
            if (e->kind == MG_KIND_PTX)
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
    printf("%s%s%s\n", col(C_BOLD), r->path, col(C_RESET));
    char buf[512];
    printf("  SASS: %s\n", *arch_list(r, MG_KIND_SASS, "sm_", buf, sizeof buf) ? buf : "-");
    printf("  PTX:  %s\n", *arch_list(r, MG_KIND_PTX, "compute_", buf, sizeof buf) ? buf : "-");
    printf("  %u fatbins (%u empty, %u relocatable); images: %u sass, %u ptx, %u ltoir\n", r->nfatbins,
           r->nempty, r->nrelocatable, r->images[MG_KIND_SASS], r->images[MG_KIND_PTX], r->images[MG_KIND_LTOIR]);
    if (r->sm_mismatch)
        printf("  %s%u cubins whose own header disagrees with the fatbin's SM%s\n", col(C_RED), r->sm_mismatch,
               col(C_RESET));
    if (r->detail)
        printf("  note: %s\n", r->detail);
    unsigned char done[256] = {0};
    for (size_t t = 0; t < r->nverdicts && t < sizeof done; t++) {
        const mg_verdict *v = &r->verdicts[t];
        if (done[t] || (!verbose && v->status < MG_ST_PARTIAL))
            continue;
        /* Targets with the same verdict and the same missing code share one paragraph. */
        printf("  %s", v->target.name);
        for (size_t u = t + 1; u < r->nverdicts && u < sizeof done; u++)
            if (same_verdict(v, &r->verdicts[u])) {
                done[u] = 1;
                printf(", %s", r->verdicts[u].target.name);
            }
        printf(": %s%s%s - %s\n", col(status_colour(v->status)), mg_status_str(v->status), col(C_RESET), v->reason);
        if (v->status == MG_ST_NONE && !verbose)
            continue;   /* nothing runs: the reason says it all; -v lists the kernels */
        for (uint32_t m = 0; m < v->nmissing_kept; m++) {
            const mg_missing *x = &v->missing[m];
            print_fatbin_line(r, x->fatbin, "      ");
            for (uint32_t k = 0; k < x->nnames; k++)
                printf("          %s\n", x->names[k]);
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
    if (v->status == MG_ST_PARTIAL)
        snprintf(buf, n, "partial %u/%u", v->covered, v->total);
    else
        snprintf(buf, n, "%s", mg_status_str(v->status));
    return buf;
}

static void print_human(mg_report **rs, size_t n, const mg_target *tg, size_t nt, const mg_scan_result *res,
                        double secs, int verbose, int list)
{
    char b1[32];
    size_t ncuda = 0, nerr = 0, fails = 0, jits = 0;
    for (size_t i = 0; i < n; i++) {
        if (rs[i]->err) {
            nerr++;
            continue;
        }
        if (rs[i]->nfatbins)
            ncuda++;
        int w = mg_report_worst(rs[i]);
        fails += w >= MG_ST_PARTIAL;
        jits += w == MG_ST_JIT;
    }
    /* The table: one line per file, one column per target, each as wide as its widest cell. */
    int width[64] = {0}, total_width = 0;
    for (size_t t = 0; t < nt && t < 64; t++) {
        width[t] = (int)strlen(tg[t].name) > 20 ? 20 : (int)strlen(tg[t].name);
        if (width[t] < 7)
            width[t] = 7;
        for (size_t i = 0; i < n; i++) {
            char cell[32];
            if (!rs[i]->err && t < rs[i]->nverdicts && (int)strlen(status_cell(&rs[i]->verdicts[t], cell, sizeof cell)) > width[t])
                width[t] = (int)strlen(cell);
        }
        total_width += width[t] + 2;
    }
    if (nt) {
        for (size_t t = 0; t < nt && t < 64; t++)
            printf("%s%-*.*s%s  ", col(C_BOLD), width[t], width[t], tg[t].name, col(C_RESET));
        printf("%sFILE%s\n", col(C_BOLD), col(C_RESET));
    }
    for (size_t i = 0; i < n; i++) {
        const mg_report *r = rs[i];
        if (r->err) {
            printf("%s%-*s%s %s: %s%s%s\n", col(C_RED), nt ? total_width - 1 : 5, "error", col(C_RESET),
                   r->path, mg_strerror((mg_err)r->err), r->detail ? ": " : "", r->detail ? r->detail : "");
            continue;
        }
        if (nt) {
            for (size_t t = 0; t < r->nverdicts && t < 64; t++) {
                char cell[32];
                status_cell(&r->verdicts[t], cell, sizeof cell);
                printf("%s%-*s%s  ", col(status_colour(r->verdicts[t].status)), width[t], cell, col(C_RESET));
            }
            printf("%s\n", r->path);
        } else {
            char sass[256], ptx[256];
            arch_list(r, MG_KIND_SASS, "sm_", sass, sizeof sass);
            arch_list(r, MG_KIND_PTX, "compute_", ptx, sizeof ptx);
            printf("%s  [%s%s%s]  %u fatbins\n", r->path, sass, *ptx ? " | " : "", ptx, r->nfatbins);
        }
    }
    /* Details for what fails (or everything with -v / -l). */
    int header = 0;
    for (size_t i = 0; i < n; i++) {
        const mg_report *r = rs[i];
        if (r->err || !(verbose || list || mg_report_worst(r) >= MG_ST_PARTIAL))
            continue;
        if (!header++)
            printf("\n");
        print_details(r, verbose || list);
        if (list)
            print_list(r);
    }
    printf("\n%s%zu file%s with CUDA code%s of %zu examined (%s) in %.2fs", col(C_BOLD), ncuda, ncuda == 1 ? "" : "s",
           col(C_RESET), res->files, human_bytes(res->bytes, b1, sizeof b1), secs);
    if (nt)
        printf(": %zu do not run everywhere, %zu need PTX JIT somewhere, %zu native on every target", fails, jits,
               ncuda - fails - jits);
    if (nerr)
        printf("; %s%zu could not be read%s", col(C_RED), nerr, col(C_RESET));
    if (res->skipped)
        printf("; %zu symlinks/special files left alone", res->skipped);
    printf(".\n");
    if (!nt)
        printf("No --gpu given: listed what each file carries. Add --gpu 'RTX 5090,H100' (or 'all') for verdicts.\n");
}

/* ---- JSON report ---- */

static void json_archs(jw *w, const mg_report *r, mg_kind k, const char *prefix)
{
    mg_arch a[128];
    size_t n = mg_report_archs(r, k, a, 128);
    jw_begin_arr(w);
    for (size_t i = 0; i < n; i++) {
        char s[24];
        jw_str(w, mg_arch_str(a[i], prefix, s, sizeof s));
    }
    jw_end_arr(w);
}

static void json_target(jw *w, const mg_target *t)
{
    char s[32];
    jw_begin_obj(w);
    jw_key(w, "name");
    jw_str(w, t->name);
    jw_key(w, "sm");
    snprintf(s, sizeof s, "sm_%u", t->cc);
    jw_str(w, s);
    jw_key(w, "cc");
    snprintf(s, sizeof s, "%u.%u", t->cc / 10, t->cc % 10);
    jw_str(w, s);
    jw_key(w, "driver");
    if (mg_driver_known(t->driver))
        jw_str(w, mg_driver_str(t->driver, s, sizeof s));
    else
        jw_null(w);
    jw_end_obj(w);
}

static void json_report(jw *w, const mg_report *r, int list, const load_result *lr)
{
    jw_begin_obj(w);
    jw_key(w, "path");
    jw_str(w, r->path);
    if (r->err) {
        jw_key(w, "error");
        jw_begin_obj(w);
        jw_key(w, "code");
        jw_str(w, mg_strerror((mg_err)r->err));
        jw_key(w, "detail");
        jw_str(w, r->detail);
        jw_end_obj(w);
        jw_end_obj(w);
        return;
    }
    jw_key(w, "error");
    jw_null(w);
    jw_key(w, "size");
    jw_uint(w, r->size);
    jw_key(w, "machine");
    jw_str(w, r->machine == 62 ? "x86-64" : r->machine == 183 ? "aarch64" : r->machine == 190 ? "cuda" : "other");
    jw_key(w, "fatbins");
    jw_uint(w, r->nfatbins);
    jw_key(w, "sass");
    json_archs(w, r, MG_KIND_SASS, "sm_");
    jw_key(w, "ptx");
    json_archs(w, r, MG_KIND_PTX, "compute_");
    jw_key(w, "ltoir");
    json_archs(w, r, MG_KIND_LTOIR, "lto_");
    jw_key(w, "images");
    jw_begin_obj(w);
    jw_key(w, "sass");
    jw_uint(w, r->images[MG_KIND_SASS]);
    jw_key(w, "ptx");
    jw_uint(w, r->images[MG_KIND_PTX]);
    jw_key(w, "ltoir");
    jw_uint(w, r->images[MG_KIND_LTOIR]);
    jw_key(w, "unknown");
    jw_uint(w, r->images[MG_KIND_UNKNOWN]);
    jw_end_obj(w);
    jw_key(w, "relocatable");
    jw_uint(w, r->nrelocatable);
    jw_key(w, "empty");
    jw_uint(w, r->nempty);
    jw_key(w, "sm_mismatch");
    jw_uint(w, r->sm_mismatch);
    jw_key(w, "note");
    jw_str(w, r->detail);
    jw_key(w, "verdicts");
    jw_begin_arr(w);
    for (size_t t = 0; t < r->nverdicts; t++) {
        const mg_verdict *v = &r->verdicts[t];
        char s[32];
        jw_begin_obj(w);
        jw_key(w, "target");
        jw_str(w, v->target.name);
        jw_key(w, "status");
        jw_str(w, mg_status_str(v->status));
        jw_key(w, "covered");
        jw_uint(w, v->covered);
        jw_key(w, "total");
        jw_uint(w, v->total);
        jw_key(w, "jit");
        jw_uint(w, v->jit);
        jw_key(w, "other_sets");
        jw_uint(w, v->other_sets);
        jw_key(w, "need_ptx_isa");
        if (v->need_isa) {
            snprintf(s, sizeof s, "%u.%u", v->need_isa / 10, v->need_isa % 10);
            jw_str(w, s);
        } else {
            jw_null(w);
        }
        jw_key(w, "need_driver");
        if (mg_driver_known(v->need_driver))
            jw_str(w, mg_driver_str(v->need_driver, s, sizeof s));
        else
            jw_null(w);
        jw_key(w, "reason");
        jw_str(w, v->reason);
        jw_key(w, "missing_fatbins");
        jw_uint(w, v->nmissing);
        jw_key(w, "missing_kernel_count");
        jw_uint(w, v->missing_kernels);
        jw_key(w, "missing_kernels");
        jw_begin_arr(w);
        for (uint32_t m = 0; m < v->nmissing_kept; m++)
            for (uint32_t k = 0; k < v->missing[m].nnames; k++)
                jw_str(w, v->missing[m].names[k]);
        jw_end_arr(w);
        jw_key(w, "missing");
        jw_begin_arr(w);
        for (uint32_t m = 0; m < v->nmissing_kept; m++) {
            const mg_missing *x = &v->missing[m];
            jw_begin_obj(w);
            jw_key(w, "fatbin");
            jw_uint(w, x->fatbin);
            jw_key(w, "where");
            jw_str(w, mg_where_str(r->fatbins[x->fatbin].where));
            jw_key(w, "offset");
            jw_uint(w, r->fatbins[x->fatbin].off);
            jw_key(w, "archs");
            jw_begin_arr(w);
            for (uint32_t k = 0; k < r->fatbins[x->fatbin].count; k++) {
                char a[24];
                jw_str(w, mg_entry_arch_str(&r->entries[r->fatbins[x->fatbin].first + k], a, sizeof a));
            }
            jw_end_arr(w);
            jw_key(w, "why");
            jw_str(w, why_str(x->why));
            jw_key(w, "kernels");
            jw_uint(w, x->nkernels);
            jw_end_obj(w);
        }
        jw_end_arr(w);
        jw_end_obj(w);
    }
    jw_end_arr(w);
    if (lr && lr->tried) {
        jw_key(w, "load");
        scan_load_json(w, r, lr);
    }
    if (list) {
        jw_key(w, "fatbin_list");
        jw_begin_arr(w);
        for (uint32_t i = 0; i < r->nfatbins; i++) {
            const mg_fatbin *f = &r->fatbins[i];
            jw_begin_obj(w);
            jw_key(w, "where");
            jw_str(w, mg_where_str(f->where));
            jw_key(w, "offset");
            jw_uint(w, f->off);
            jw_key(w, "size");
            jw_uint(w, f->size);
            jw_key(w, "kernels");
            jw_int(w, f->nkernels);
            jw_key(w, "entries");
            jw_begin_arr(w);
            for (uint32_t k = 0; k < f->count; k++) {
                const mg_entry *e = &r->entries[f->first + k];
                char s[24];
                jw_begin_obj(w);
                jw_key(w, "kind");
                jw_str(w, mg_kind_str(e->kind));
                jw_key(w, "arch");
                jw_str(w, mg_entry_arch_str(e, s, sizeof s));
                jw_key(w, "version");
                snprintf(s, sizeof s, "%u.%u", e->version / 10, e->version % 10);
                jw_str(w, s);
                jw_key(w, "compression");
                jw_str(w, mg_codec_str(e->codec));
                jw_key(w, "stored");
                jw_uint(w, e->size);
                jw_key(w, "size");
                jw_uint(w, e->usize);
                jw_key(w, "relocatable");
                jw_bool(w, e->relocatable);
                jw_key(w, "cubin_sm");
                if (e->cubin_sm)
                    jw_uint(w, e->cubin_sm);
                else
                    jw_null(w);
                jw_end_obj(w);
            }
            jw_end_arr(w);
            jw_end_obj(w);
        }
        jw_end_arr(w);
    }
    jw_end_obj(w);
}

static void print_json(mg_report **rs, size_t n, const mg_target *tg, size_t nt, const mg_scan_result *res,
                       double secs, int list, const load_result *lr, const mg_device *dev)
{
    jw w = {stdout, 0, {0}, 0};
    jw_begin_obj(&w);
    jw_key(&w, "mlgate");
    jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command");
    jw_str(&w, "scan");
    jw_key(&w, "targets");
    jw_begin_arr(&w);
    for (size_t t = 0; t < nt; t++)
        json_target(&w, &tg[t]);
    jw_end_arr(&w);
    jw_key(&w, "files");
    jw_begin_arr(&w);
    size_t nerr = 0, fails = 0;
    for (size_t i = 0; i < n; i++) {
        json_report(&w, rs[i], list, lr ? &lr[i] : NULL);
        nerr += rs[i]->err != 0;
        fails += !rs[i]->err && mg_report_worst(rs[i]) >= MG_ST_PARTIAL;
    }
    jw_end_arr(&w);
    if (dev) {
        char d[32];
        jw_key(&w, "device");
        jw_begin_obj(&w);
        jw_key(&w, "name");
        jw_str(&w, dev->name);
        jw_key(&w, "cc");
        snprintf(d, sizeof d, "%u.%u", dev->cc / 10, dev->cc % 10);
        jw_str(&w, d);
        jw_key(&w, "driver");
        jw_str(&w, mg_driver_str(dev->driver, d, sizeof d));
        jw_key(&w, "cuda");
        jw_int(&w, dev->cuda_version);
        jw_end_obj(&w);
    }
    jw_key(&w, "summary");
    jw_begin_obj(&w);
    jw_key(&w, "files_examined");
    jw_uint(&w, res->files);
    jw_key(&w, "files_reported");
    jw_uint(&w, n);
    jw_key(&w, "failing");
    jw_uint(&w, fails);
    jw_key(&w, "errors");
    jw_uint(&w, nerr);
    jw_key(&w, "skipped");
    jw_uint(&w, res->skipped);
    jw_key(&w, "bytes");
    jw_uint(&w, res->bytes);
    jw_key(&w, "seconds");
    jw_num(&w, secs);
    jw_end_obj(&w);
    jw_end_obj(&w);
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

int cmd_scan(int argc, char **argv)
{
    enum { O_JSON = 256, O_DEEP, O_ALL, O_MAXMEM, O_COLOR, O_LISTGPUS, O_LOAD, O_BUDGET, O_NODETECT };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},     {"driver", required_argument, 0, 'd'},
        {"json", no_argument, 0, O_JSON},       {"list", no_argument, 0, 'l'},
        {"verbose", no_argument, 0, 'v'},       {"deep", no_argument, 0, O_DEEP},
        {"all", no_argument, 0, O_ALL},         {"threads", required_argument, 0, 'j'},
        {"max-member", required_argument, 0, O_MAXMEM}, {"color", required_argument, 0, O_COLOR},
        {"colour", required_argument, 0, O_COLOR}, {"list-gpus", no_argument, 0, O_LISTGPUS},
        {"load", no_argument, 0, O_LOAD},       {"load-budget", required_argument, 0, O_BUDGET},
        {"no-detect", no_argument, 0, O_NODETECT},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    mg_target targets[MAX_TARGETS];
    size_t ntargets = 0;
    mg_driver driver = {0, 0, 0};
    mg_scan_opts o = {0};
    int json = 0, list = 0, verbose = 0, load = 0, no_detect = 0, c;
    double budget = 120;
    const char *colour_mode = "auto";
    char err[512];
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:d:lvj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': {
            size_t n;
            if (mg_targets_parse(optarg, targets + ntargets, MAX_TARGETS - ntargets, &n, err, sizeof err)) {
                fprintf(stderr, "mlgate scan: %s\n", err);
                return EXIT_USAGE;
            }
            ntargets += n;
            break;
        }
        case 'd':
            if (mg_driver_parse(optarg, &driver)) {
                fprintf(stderr, "mlgate scan: '%s' is not a driver version (like 580.65.06 or 580)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case O_JSON: json = 1; break;
        case 'l': list = 1; o.deep = 1; break;   /* a listing shows kernel counts */
        case 'v': verbose = 1; break;
        case O_DEEP: o.deep = 1; break;
        case O_ALL: o.keep_all = 1; break;
        case 'j':
            o.threads = atoi(optarg);
            if (o.threads < 1 || o.threads > 256) {
                fprintf(stderr, "mlgate scan: --threads wants 1..256\n");
                return EXIT_USAGE;
            }
            break;
        case O_MAXMEM:
            if (parse_size(optarg, &o.max_member) || o.max_member == 0) {
                fprintf(stderr, "mlgate scan: '%s' is not a size (like 4G or 512M)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case O_COLOR: colour_mode = optarg; break;
        case O_LISTGPUS: list_gpus(); return EXIT_PASS;
        case O_LOAD: load = 1; break;
        case O_NODETECT: no_detect = 1; break;
        case O_BUDGET:
            budget = atof(optarg);
            if (budget <= 0) {
                fprintf(stderr, "mlgate scan: --load-budget wants seconds > 0\n");
                return EXIT_USAGE;
            }
            break;
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: fprintf(stderr, "Try 'mlgate scan --help'.\n"); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mlgate scan: no PATH given\n%s", help);
        return EXIT_USAGE;
    }
    if (out_colour_init(colour_mode, stdout)) {
        fprintf(stderr, "mlgate scan: --color wants auto, always or never\n");
        return EXIT_USAGE;
    }
    if (ntargets == 0 && !load && !no_detect) {
        /* No --gpu: judge against this machine's GPUs (NVML, else the PCI bus). */
        mg_host_paths hp = {"", getenv("MLGATE_NVML")};
        mg_gpu_probe *probe = malloc(sizeof *probe);
        if (probe) {
            mg_host_targets(&hp, targets, MAX_TARGETS, &ntargets, probe);
            if (!mg_driver_known(driver))
                driver = probe->driver;
            char dv[32];
            if (ntargets)
                fprintf(stderr, "mlgate scan: judging against this machine's %zu GPU%s (%s%s%s); --gpu chooses others\n",
                        ntargets, ntargets == 1 ? "" : "s", probe->backend,
                        mg_driver_known(driver) ? ", driver " : "", mg_driver_known(driver) ? mg_driver_str(driver, dv, sizeof dv) : "");
            else
                fprintf(stderr, "mlgate scan: no GPU found on this machine (%s): listing what each file carries; "
                        "--gpu judges against named GPUs\n", probe->ok && probe->backend[0] == 'n' ? "NVML sees none" : probe->error[0] ? probe->error : "none on the PCI bus");
            free(probe);
        }
    }
    for (size_t t = 0; t < ntargets; t++)
        targets[t].driver = driver;
    mg_device dev;
    if (load) {
        /* The GPU the driver sees becomes a target too: its verdicts are what the loads check. */
        if (mg_load_device(0, &dev) != MG_OK) {
            fprintf(stderr, "mlgate scan --load: %s\n", dev.err[0] ? dev.err : "no CUDA driver");
            return EXIT_USAGE;
        }
        if (ntargets == MAX_TARGETS) {
            fprintf(stderr, "mlgate scan: too many targets\n");
            return EXIT_USAGE;
        }
        mg_target *t = &targets[ntargets++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "GPU0");
        t->cc = dev.cc;
        t->driver = mg_driver_known(driver) ? driver : dev.driver;
        if (!mg_driver_known(t->driver)) {
            /* No /proc/driver/nvidia/version (containers, VMs): its CUDA version bounds the PTX it JITs. */
            size_t nrel;
            const mg_cuda_release *rel = mg_cuda_table(&nrel);
            mg_cuda want = (mg_cuda)(dev.cuda_version / 1000 * 10 + dev.cuda_version % 1000 / 10);
            for (size_t k = 0; k < nrel; k++)
                if (rel[k].cuda <= want)
                    t->driver = rel[k].min_driver;
        }
        o.deep = 1;   /* count every kernel: the driver refuses empty fatbins */
    }
    o.targets = targets;
    o.ntargets = ntargets;

    progress pr = {0};
    clock_gettime(CLOCK_MONOTONIC, &pr.start);
    pthread_mutex_init(&pr.lock, NULL);
    if (isatty(STDERR_FILENO)) {
        o.progress = on_progress;
        o.progress_ud = &pr;
    }
    mg_scan_result res;
    int rc = mg_scan_paths(&o, (const char *const *)argv + optind, (size_t)(argc - optind), &res);
    double secs = elapsed(&pr.start);
    if (pr.shown)
        fprintf(stderr, "\r\033[K");
    if (rc) {
        fprintf(stderr, "mlgate scan: %s\n", mg_strerror((mg_err)rc));
        mg_scan_result_free(&res);
        return EXIT_USAGE;
    }
    qsort(res.reports, res.nreports, sizeof *res.reports, by_severity);
    load_result *lr = NULL;
    if (load) {
        lr = calloc(res.nreports ? res.nreports : 1, sizeof *lr);
        if (!lr || scan_load(res.reports, res.nreports, &targets[ntargets - 1], budget, lr)) {
            fprintf(stderr, "mlgate scan: out of memory\n");
            return EXIT_USAGE;
        }
    }
    if (json)
        print_json(res.reports, res.nreports, targets, ntargets, &res, secs, list, lr, load ? &dev : NULL);
    else
        print_human(res.reports, res.nreports, targets, ntargets, &res, secs, verbose, list);
    if (load && !json)
        scan_load_print(res.reports, res.nreports, &dev, lr);
    free(lr);

    int status = EXIT_PASS;
    for (size_t i = 0; i < res.nreports; i++)
        if (res.reports[i]->err || mg_report_worst(res.reports[i]) >= MG_ST_PARTIAL)
            status = EXIT_FAIL;
    mg_scan_result_free(&res);
    return status;
}

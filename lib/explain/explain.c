/*
 * explain.c - `mlgate explain`: the matches of a log (match.c), the numbers and names the matched text
 * carries, the check of each match on this machine, and the report's JSON.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlgate/binaries.h"
#include "mlgate/host.h"
#include "mlgate/models.h"

#include "core/alloc.h"
#include "core/arith.h"
#include "core/file.h"
#include "core/json.h"
#include "explain/explain_int.h"

/* ==== What the text carries ==== */

/* Case-insensitive search of needle in h[0..n); -1 when absent. Windows are small (a few KB). */
static long ci_find(const char *h, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i + m <= n; i++)
        if (!strncasecmp(h + i, needle, m))
            return (long)i;
    return -1;
}

static mg_explain_fact *fact(mg_explain_hit *x, const char *key, mg_fact_kind kind)
{
    for (size_t i = 0; i < x->nfacts; i++)
        if (!strcmp(x->facts[i].key, key))
            return NULL;   /* the first one said wins */
    if (x->nfacts == MG_EXPLAIN_MAX_FACTS)
        return NULL;
    mg_explain_fact *f = &x->facts[x->nfacts++];
    memset(f, 0, sizeof *f);
    f->key = key;
    f->kind = (uint8_t)kind;
    return f;
}

static const mg_explain_fact *get_fact(const mg_explain_hit *x, const char *key)
{
    for (size_t i = 0; i < x->nfacts; i++)
        if (!strcmp(x->facts[i].key, key))
            return &x->facts[i];
    return NULL;
}

static void fact_str(mg_explain_hit *x, const char *key, const char *s, size_t n)
{
    mg_explain_fact *f = n ? fact(x, key, MG_FACT_STR) : NULL;
    if (f)
        mg_text_clean(f->text, sizeof f->text, s, n, NULL);
}

static void fact_int(mg_explain_hit *x, const char *key, uint64_t v)
{
    mg_explain_fact *f = fact(x, key, MG_FACT_INT);
    if (f) {
        f->num = v;
        snprintf(f->text, sizeof f->text, "%llu", (unsigned long long)v);
    }
}

/* A decimal integer at s[0..n) (at most 9 digits); its length, 0 when none. */
static size_t read_uint(const char *s, size_t n, uint64_t *v)
{
    size_t i = 0;
    *v = 0;
    while (i < n && i < 9 && isdigit((unsigned char)s[i]))
        *v = *v * 10 + (uint64_t)(s[i++] - '0');
    return i;
}

/* "7.03 GiB", "144817.04 MiB", "0 bytes", "288.00 MiB" at s[0..n): bytes, and its length (0: not a size). */
static size_t read_size(const char *s, size_t n, uint64_t *bytes)
{
    size_t i = 0;
    double v = 0, scale = 1;
    int digits = 0;
    while (i < n && isdigit((unsigned char)s[i]) && digits < 15) {
        v = v * 10 + (s[i++] - '0');
        digits++;
    }
    if (!digits)
        return 0;
    if (i < n && s[i] == '.') {
        i++;
        for (int k = 0; i < n && isdigit((unsigned char)s[i]); i++, k++)
            if (k < 6) {
                scale /= 10;
                v += (s[i] - '0') * scale;
            }
    }
    size_t j = i;
    while (j < n && s[j] == ' ')
        j++;
    static const struct { const char *u; double m; } units[] = {
        {"TiB", 1099511627776.0}, {"GiB", 1073741824.0}, {"MiB", 1048576.0}, {"KiB", 1024.0},
        {"TB", 1099511627776.0}, {"GB", 1073741824.0}, {"MB", 1048576.0}, {"KB", 1024.0},
        {"bytes", 1}, {"B", 1},
    };
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t m = strlen(units[u].u);
        if (j + m <= n && !strncasecmp(s + j, units[u].u, m) && (j + m == n || !isalpha((unsigned char)s[j + m]))) {
            *bytes = mg_u64_of(v * units[u].m);
            return j + m;
        }
    }
    return 0;
}

static void fact_size_at(mg_explain_hit *x, const char *key, const char *s, size_t n)
{
    uint64_t b;
    size_t k = read_size(s, n, &b);
    mg_explain_fact *f = k ? fact(x, key, MG_FACT_SIZE) : NULL;
    if (f) {
        f->num = b;
        mg_text_clean(f->text, sizeof f->text, s, k, NULL);
    }
}

/* The size after `label` in w (spaces and a ':' between skipped). */
static void size_after(mg_explain_hit *x, const char *key, const char *w, size_t n, const char *label)
{
    long at = ci_find(w, n, label);
    if (at < 0)
        return;
    size_t i = (size_t)at + strlen(label);
    while (i < n && (w[i] == ' ' || w[i] == ':' || w[i] == '\t'))
        i++;
    fact_size_at(x, key, w + i, n - i);
}

/* The size just before `label` in w ("23.65 GiB total capacity"). */
static void size_before(mg_explain_hit *x, const char *key, const char *w, size_t n, const char *label)
{
    long at = ci_find(w, n, label);
    if (at <= 0)
        return;
    size_t i = (size_t)at;
    while (i > 0 && w[i - 1] == ' ')
        i--;
    while (i > 0 && isalpha((unsigned char)w[i - 1]))
        i--;
    while (i > 0 && w[i - 1] == ' ')
        i--;
    while (i > 0 && (isdigit((unsigned char)w[i - 1]) || w[i - 1] == '.'))
        i--;
    fact_size_at(x, key, w + i, (size_t)at - i);
}

/* The word after `label`: up to the closing quote `q` (or a blank when q is 0), at most 80 bytes. */
static void word_after(mg_explain_hit *x, const char *key, const char *w, size_t n, const char *label, char q)
{
    long at = ci_find(w, n, label);
    if (at < 0)
        return;
    size_t i = (size_t)at + strlen(label), j = i;
    while (j < n && j - i < 80 && w[j] != '\n' && (q ? w[j] != q : !isspace((unsigned char)w[j]) && w[j] != '`' &&
                                                                      w[j] != '\'' && w[j] != '"' && w[j] != ')'))
        j++;
    while (!q && j > i && strchr(".,:;", w[j - 1]))   /* the sentence's end is not the word's */
        j--;
    if (j > i && (!q || (j < n && w[j] == q)))
        fact_str(x, key, w + i, j - i);
}

static void int_after(mg_explain_hit *x, const char *key, const char *w, size_t n, const char *label)
{
    long at = ci_find(w, n, label);
    uint64_t v;
    if (at >= 0 && read_uint(w + at + strlen(label), n - (size_t)at - strlen(label), &v))
        fact_int(x, key, v);
}

/* "12.1" / "6.0" after label: the compute capability as major*10+minor. */
static void cc_after(mg_explain_hit *x, const char *key, const char *w, size_t n, const char *label)
{
    long at = ci_find(w, n, label);
    if (at < 0)
        return;
    size_t i = (size_t)at + strlen(label);
    uint64_t ma, mi;
    size_t k = read_uint(w + i, n - i, &ma);
    if (k && i + k + 1 < n && w[i + k] == '.' && read_uint(w + i + k + 1, n - i - k - 1, &mi) && ma < 100 && mi < 10)
        fact_int(x, key, ma * 10 + mi);
}

/* A hint of what an Itanium-mangled name names: "_ZN3c104cuda20CUDACachingAllocator9allocatorE" ->
 * "c10::cuda::CUDACachingAllocator::allocator". Only the nested name; the rest is left out. */
static void demangle_hint(const char *sym, size_t n, char *out, size_t cap)
{
    size_t i = 2, w = 0;
    out[0] = 0;
    if (n < 3 || strncmp(sym, "_Z", 2))
        return;
    int nested = sym[i] == 'N';
    if (nested)
        i++;
    while (i < n && (sym[i] == 'K' || sym[i] == 'V'))
        i++;
    const char *last = NULL;
    size_t lastn = 0;
    for (int parts = 0; i < n && parts < 12;) {
        uint64_t l;
        size_t k = read_uint(sym + i, n - i, &l);
        if (!k) {
            if (sym[i] == 'C' && i + 1 < n && isdigit((unsigned char)sym[i + 1]) && last) {   /* a constructor */
                int r = snprintf(out + w, cap - w, "::%.*s", (int)lastn, last);
                if (r > 0 && (size_t)r < cap - w)
                    w += (size_t)r;
            }
            break;
        }
        i += k;
        if (l > n - i)
            break;
        int r = snprintf(out + w, cap - w, "%s%.*s", parts ? "::" : "", (int)l, sym + i);
        if (r < 0 || (size_t)r >= cap - w)
            break;
        w += (size_t)r;
        last = sym + i;
        lastn = (size_t)l;
        i += (size_t)l;
        parts++;
        if (!nested)
            break;
    }
}

static void parse_facts(const struct mg_kb_entry *e, mg_explain_hit *x, const char *t, size_t len, const mg_kb_hit *h)
{
    size_t ls = (size_t)h->line_start, ms = (size_t)h->start;
    size_t wend = ms + 1536 < len ? ms + 1536 : len;
    const char *w = t + ms, *lw = t + ls;   /* from the match on; from its line's start */
    size_t wn = wend - ms, ln = wend - ls;
    size_t line_end = ms;
    while (line_end < len && t[line_end] != '\n' && line_end - ms < 1536)
        line_end++;
    size_t lln = line_end - ls;   /* the line alone */
    switch ((kb_parse)e->parse) {
    case P_NONE:
        break;
    case P_CUDA_CODE: {
        static const char *const labels[] = {"cuda error ", "cuda error: ", "code=", "error ", "runtime error (",
                                             "failure ", "returned ", "("};
        static const unsigned known[] = {2, 35, 46, 100, 209, 222, 700, 802, 804, 999};
        for (size_t l = 0; l < sizeof labels / sizeof labels[0] && !get_fact(x, "code"); l++) {
            size_t from = 0;
            long at;
            while (from < lln && (at = ci_find(lw + from, lln - from, labels[l])) >= 0) {
                size_t i = from + (size_t)at + strlen(labels[l]);
                uint64_t v;
                size_t k = read_uint(lw + i, lln - i, &v);
                from = i;
                if (!k || (i + k < lln && isalnum((unsigned char)lw[i + k])))
                    continue;
                for (size_t q = 0; q < sizeof known / sizeof known[0]; q++)
                    if (v == known[q]) {
                        fact_int(x, "code", v);
                        break;
                    }
                if (get_fact(x, "code"))
                    break;
            }
        }
        break;
    }
    case P_TORCH_SM: {
        long at = ci_find(lw, lln, " with cuda capability sm_");
        if (at > 0) {
            size_t b = 0;
            while (b < (size_t)at && isspace((unsigned char)lw[b]))
                b++;
            fact_str(x, "gpu", lw + b, (size_t)at - b);
            int_after(x, "sm", lw, lln, " with cuda capability sm_");
        }
        cc_after(x, "sm", lw, lln, "which is of cuda capability ");
        cc_after(x, "sm", lw, lln, "which is of compute capability (cc) ");
        long s = ci_find(lw, ln, "supports cuda capabilities ");
        if (s >= 0) {
            size_t i = (size_t)s + strlen("supports cuda capabilities "), j = i;
            while (j < ln && lw[j] != '\n' && lw[j] != '.' && j - i < 90)
                j++;
            fact_str(x, "supported", lw + i, j - i);
        }
        break;
    }
    case P_TORCH_OOM:
        size_after(x, "tried", w, wn, "tried to allocate");
        size_after(x, "tried", w, wn, "requested");
        int_after(x, "gpu", w, wn, "(gpu ");
        int_after(x, "gpu", w, wn, "gpu ");
        int_after(x, "gpu", w, wn, "on device ");
        size_after(x, "total", w, wn, "total capacity of");
        size_before(x, "total", w, wn, " total capacity");
        size_after(x, "total", w, wn, "device limit");
        size_after(x, "free", w, wn, "of which");
        size_before(x, "free", w, wn, " free;");
        size_before(x, "allocated", w, wn, " already allocated");
        size_after(x, "allocated", w, wn, "currently allocated");
        size_after(x, "in_use", w, wn, "this process has");
        size_before(x, "reserved", w, wn, " reserved in total by pytorch");
        size_before(x, "reserved", w, wn, " is reserved by pytorch but unallocated");
        break;
    case P_LLAMA_ALLOC:
        size_after(x, "tried", lw, lln, "allocating");
        int_after(x, "gpu", lw, lln, " on device ");
        int_after(x, "gpu", w, wn, "allocate cuda");
        int_after(x, "gpu", w, wn, "cudamalloc failed on device ");
        if (!get_fact(x, "tried")) {
            long at = ci_find(w, wn, " buffer of size ");
            uint64_t v;
            if (at >= 0 && read_uint(w + at + 16, wn - (size_t)at - 16, &v) && fact(x, "tried", MG_FACT_SIZE)) {
                mg_explain_fact *f = &x->facts[x->nfacts - 1];
                f->num = v;
                snprintf(f->text, sizeof f->text, "%llu bytes", (unsigned long long)v);
            }
        }
        break;
    case P_LLAMA_ARCH:
        word_after(x, "arch", w, wn, "unknown model architecture: '", '\'');
        break;
    case P_MODULE: {
        word_after(x, "module", w, wn, "no module named '", '\'');
        word_after(x, "module", w, wn, "no module named \"", '"');
        word_after(x, "module", w, wn, "no module named ", 0);
        long at = ci_find(lw, lln, ": cannot open shared object file");
        if (at > 0) {
            size_t i = (size_t)at;
            while (i > 0 && !isspace((unsigned char)lw[i - 1]) && lw[i - 1] != ':' && lw[i - 1] != '\'' && lw[i - 1] != '"')
                i--;
            fact_str(x, "library", lw + i, (size_t)at - i);
        }
        word_after(x, "library", lw, lln, "could not load library ", 0);
        word_after(x, "library", w, wn, "failed to dlopen ", 0);
        break;
    }
    case P_ABI_SYMBOL: {
        long at = ci_find(lw, lln, "undefined symbol: ");
        if (at < 0)
            break;
        size_t i = (size_t)at + 18, j = i;
        while (j < lln && !isspace((unsigned char)lw[j]) && lw[j] != '`' && lw[j] != '\'' && lw[j] != '"' && lw[j] != ')')
            j++;
        fact_str(x, "symbol", lw + i, j - i);
        char hint[96];
        demangle_hint(lw + i, j - i, hint, sizeof hint);
        if (hint[0])
            fact_str(x, "demangled", hint, strlen(hint));
        size_t e2 = (size_t)at;
        while (e2 > 0 && (lw[e2 - 1] == ':' || lw[e2 - 1] == ' '))
            e2--;
        size_t b = e2;
        while (b > 0 && !isspace((unsigned char)lw[b - 1]) && lw[b - 1] != '`')
            b--;
        if (e2 > b + 3 && ci_find(lw + b, e2 - b, ".so") >= 0) {
            size_t base = e2;
            while (base > b && lw[base - 1] != '/')
                base--;
            fact_str(x, "library", lw + base, e2 - base);
        }
        break;
    }
    case P_TRITON_CC: {
        long at = ci_find(lw, lln, "found ");
        long end = ci_find(lw, lln, " which is too old");
        if (at >= 0 && end > at + 6)
            fact_str(x, "gpu", lw + at + 6, (size_t)(end - at - 6));
        cc_after(x, "cc", lw, lln, "your device is of cuda capability ");
        break;
    }
    case P_NVCC_ARCH:
        int_after(x, "sm", lw, lln, "'compute_");
        int_after(x, "sm", lw, lln, "'sm_");
        break;
    case P_HF_ARCH:
        word_after(x, "model_type", w, wn, "model type `", '`');
        word_after(x, "model_type", w, wn, "model type '", '\'');
        break;
    case P_NVML_VERSION:
        word_after(x, "nvml_library", t, len < 65536 ? len : 65536, "nvml library version: ", 0);
        break;
    }
}

/* ==== Checks on this machine ==== */

typedef struct env {
    const mg_explain_opts *o;
    int targets_done;
    mg_targets *targets;
    char terr[256];
    int py_done;
    mg_pyenv *py;
    size_t npy;
} env;

__attribute__((format(printf, 2, 3))) static void say(mg_explain_hit *x, const char *fmt, ...)
{
    size_t w = strlen(x->check);
    if (w + 2 >= sizeof x->check)
        return;
    if (w)
        x->check[w++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->check + w, sizeof x->check - w, fmt, ap);
    va_end(ap);
}

static const char *root(const env *v) { return v->o->host && v->o->host->root ? v->o->host->root : ""; }

static int exists(const env *v, const char *path)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", root(v), path);
    return stat(p, &st) == 0;
}

static const mg_targets *targets(env *v)
{
    if (!v->targets_done) {
        v->targets_done = 1;
        v->targets = calloc(1, sizeof *v->targets);
        if (v->targets) {
            mg_target_spec s = {.gpus = v->o->gpus, .detect = !v->o->gpus, .host = v->o->host};
            if (mg_targets_make(&s, v->targets, v->terr, sizeof v->terr)) {
                free(v->targets);
                v->targets = NULL;
            }
        }
    }
    return v->targets;
}

/* Says which GPUs there are; 0 when none (and says so). */
static size_t say_gpus(env *v, mg_explain_hit *x)
{
    const mg_targets *t = targets(v);
    if (!t) {
        say(x, "GPUs: %s", v->terr[0] ? v->terr : "cannot be listed (out of memory)");
        return 0;
    }
    if (!t->n) {
        say(x, "no GPU visible here%s%s%s", t->note[0] ? " (" : "", t->note, t->note[0] ? ")" : "");
        return 0;
    }
    for (size_t i = 0; i < t->n; i++) {
        const mg_target *g = &t->t[i];
        char mem[32] = "", fr[32] = "", drv[32] = "";
        if (g->mem_total)
            mg_human(g->mem_total, mem);
        if (g->mem_free && g->source == MG_TARGET_DETECTED)
            mg_human(g->mem_free, fr);
        if (mg_driver_known(g->driver))
            mg_driver_str(g->driver, drv, sizeof drv);
        say(x, "%s: sm_%u%s%s%s%s%s%s%s", g->name, g->cc, mem[0] ? ", " : "", mem, fr[0] ? " total, " : "", fr,
            fr[0] ? " free" : "", drv[0] ? ", driver " : "", drv);
    }
    return t->n;
}

static const mg_pyenv *pyenvs(env *v, size_t *n)
{
    if (!v->py_done) {
        v->py_done = 1;
        v->py = calloc(MG_MAX_PYENVS, sizeof *v->py);
        if (v->py)
            mg_pyenv_find(v->o->pythons, v->o->npythons, 1, v->py, MG_MAX_PYENVS, &v->npy);
    }
    *n = v->npy;
    return v->py;
}

static int say_pythons(env *v, mg_explain_hit *x, int torch_only)
{
    size_t n, shown = 0;
    const mg_pyenv *p = pyenvs(v, &n);
    for (size_t i = 0; p && i < n && shown < 6; i++) {
        if (torch_only && !p[i].has_torch)
            continue;
        shown++;
        if (p[i].has_torch)
            say(x, "python %s (%s): torch %s, %s", p[i].site, p[i].origin, p[i].torch_version,
                p[i].torch_cuda[0] ? p[i].torch_cuda : "a CPU-only build");
        else
            say(x, "python %s (%s): no torch", p[i].site, p[i].origin);
    }
    if (!shown)
        say(x, "no Python environment%s found here (give --python PYTHON_OR_VENV)", torch_only ? " with torch" : "");
    return (int)shown;
}

/* The kernel module's version from /proc/driver/nvidia/version, into buf; 0 when unreadable. */
static int module_version(const env *v, char *buf, size_t n)
{
    char p[1024];
    buf[0] = 0;
    snprintf(p, sizeof p, "%s/proc/driver/nvidia/version", root(v));
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    char line[512];
    if (fgets(line, sizeof line, f)) {
        char *m = strstr(line, "Kernel Module");
        for (char *q = m; q && *q; q++)
            if (isdigit((unsigned char)*q) && strchr(q, '.') && (q == m || q[-1] == ' ')) {
                size_t k = strspn(q, "0123456789.");
                if (k > 3 && memchr(q, '.', k)) {
                    snprintf(buf, n, "%.*s", (int)k, q);
                    break;
                }
            }
    }
    fclose(f);
    return buf[0] != 0;
}

/* libnvidia-ml.so.VERSION in the usual library directories, into buf. */
static int nvml_file_version(const env *v, char *buf, size_t n, char *where, size_t wn)
{
    static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                                       "/usr/lib", "/usr/lib/wsl/lib"};
    buf[0] = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char p[1024];
        snprintf(p, sizeof p, "%s%s", root(v), dirs[d]);
        DIR *dir = opendir(p);
        if (!dir)
            continue;
        struct dirent *de;
        int scanned = 0;
        while ((de = readdir(dir)) && scanned++ < 100000) {
            const char *nm = de->d_name;
            if (!strncmp(nm, "libnvidia-ml.so.", 16) && isdigit((unsigned char)nm[16]) && strchr(nm + 16, '.')) {
                snprintf(buf, n, "%s", nm + 16);
                snprintf(where, wn, "%s/%s", dirs[d], nm);
                break;
            }
        }
        closedir(dir);
        if (buf[0])
            return 1;
    }
    return 0;
}

static void check_nvml(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    char mod[64], lib[64], where[600];
    int hm = module_version(v, mod, sizeof mod), hl = nvml_file_version(v, lib, sizeof lib, where, sizeof where);
    if (hm)
        say(x, "kernel module (/proc/driver/nvidia/version): %s", mod);
    else
        say(x, "no NVIDIA kernel module loaded here (/proc/driver/nvidia/version unreadable)");
    if (hl)
        say(x, "user-space library: %s", where);
    if (hm && hl)
        say(x, strcmp(mod, lib) ? "they differ: this machine has the mismatch now - reboot, or remove the second "
                                  "driver install"
                                : "they agree: no mismatch here now (a reboot fixed it, or the text is from another "
                                  "machine or container)");
    mg_gpu_probe *p = calloc(1, sizeof *p);
    if (p) {
        mg_gpu_nvml.probe(v->o->host, p);
        if (p->ok)
            say(x, "NVML initialises here and sees %zu GPU%s", p->ngpus, p->ngpus == 1 ? "" : "s");
        else
            say(x, "NVML here: %s%s", p->error, p->code == 18 ? " - the same failure, on this machine" : "");
        free(p);
    }
    x->check_status = hm || hl ? MG_CHECK_RAN : MG_CHECK_UNAVAILABLE;
}

static void check_no_kernel(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    size_t ng = say_gpus(v, x);
    if (!v->o->npaths) {
        say(x, "give --path VENV_OR_LIBRARY to scan it for code for %s (mlgate scan)",
            ng ? "these GPUs" : "a GPU named with --gpu");
        x->check_status = ng ? MG_CHECK_RAN : MG_CHECK_UNAVAILABLE;
        return;
    }
    const mg_targets *t = targets(v);
    mg_target tg[MG_MAX_TARGETS];
    size_t nt = 0;
    for (size_t i = 0; t && i < t->n; i++)
        if (t->t[i].cc)
            tg[nt++] = t->t[i];
    if (!nt) {
        say(x, "no GPU with a known compute capability to scan --path for (name one with --gpu)");
        x->check_status = MG_CHECK_UNAVAILABLE;
        return;
    }
    mg_scan_opts so = {0};
    so.targets = tg;
    so.ntargets = nt;
    so.deadline_at = mg_now() + 120;
    mg_scan_result r;
    memset(&r, 0, sizeof r);
    mg_scan_paths(&so, v->o->paths, v->o->npaths, &r);
    size_t bad = 0;
    for (size_t i = 0; i < r.nreports; i++) {
        const mg_report *rep = r.reports[i];
        for (size_t k = 0; k < rep->nverdicts; k++) {
            const mg_verdict *vd = &rep->verdicts[k];
            if (vd->status < MG_STATUS_PARTIAL)
                continue;
            if (bad++ < 12) {
                char archs[160];
                mg_report_archs_str(rep, MG_IMAGE_SASS, "sm_", archs, sizeof archs);
                say(x, "%s: %s on %s (its SASS: %s)", rep->path, mg_status_str((mg_status)vd->status), vd->target.name,
                    archs[0] ? archs : "-");
            }
        }
    }
    mg_scan_summary sum;
    mg_scan_summarize(&r, &sum);
    if (bad > 12)
        say(x, "... and %zu more", bad - 12);
    say(x, "scanned %zu file%s with CUDA code: %zu without code for %s", sum.with_code, sum.with_code == 1 ? "" : "s",
        sum.failing, nt == 1 ? "this GPU" : "some of these GPUs");
    mg_scan_result_free(&r);
    x->check_status = MG_CHECK_RAN;
}

static void check_driver_cuda(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    size_t ng = say_gpus(v, x);
    const mg_targets *t = targets(v);
    mg_driver d = {0, 0, 0};
    for (size_t i = 0; t && i < t->n && !mg_driver_known(d); i++)
        d = t->t[i].driver;
    char mod[64];
    if (!mg_driver_known(d) && module_version(v, mod, sizeof mod))
        mg_driver_parse(mod, &d);
    if (!mg_driver_known(d)) {
        say(x, "no NVIDIA driver version readable here");
        x->check_status = ng ? MG_CHECK_RAN : MG_CHECK_UNAVAILABLE;
        return;
    }
    char ds[32];
    const mg_cuda_release *c = mg_cuda_for_driver(d);
    if (c)
        say(x, "driver %s runs CUDA up to %u.%u (programs built with a newer CUDA need a newer driver)",
            mg_driver_str(d, ds, sizeof ds), c->cuda / 10, c->cuda % 10);
    else
        say(x, "driver %s is older than every CUDA release mlgate knows", mg_driver_str(d, ds, sizeof ds));
    x->check_status = MG_CHECK_RAN;
}

static void check_torch(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    const mg_explain_fact *sm = get_fact(x, "sm");
    size_t ng = say_gpus(v, x);
    const mg_targets *t = targets(v);
    if (sm && ng) {
        int same = 0;
        for (size_t i = 0; t && i < t->n; i++)
            same |= t->t[i].cc == sm->num;
        if (!same)
            say(x, "the text is from an sm_%llu GPU; none of these is one", (unsigned long long)sm->num);
    }
    size_t n;
    const mg_pyenv *p = pyenvs(v, &n);
    say_pythons(v, x, 1);
    unsigned need = sm && sm->num >= 100 ? 128 : 0;
    for (size_t i = 0; p && i < n; i++)
        if (p[i].has_torch && need && p[i].torch_cuda[0] && mg_cuda_tag_parse(p[i].torch_cuda) < need)
            say(x, "%s: a CUDA %s build cannot carry sm_%llu kernels (they need CUDA 12.8 or newer)", p[i].site,
                p[i].torch_cuda, (unsigned long long)sm->num);
    x->check_status = MG_CHECK_RAN;
}

static void check_oom(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    const mg_explain_fact *tried = get_fact(x, "tried"), *total = get_fact(x, "total"), *gpu = get_fact(x, "gpu");
    char a[32], b[32], c[32];
    if (tried && total && total->num)
        say(x, "the text: %s asked for on a GPU of %s", mg_human(tried->num, a), mg_human(total->num, b));
    else if (tried)
        say(x, "the text: %s asked for", mg_human(tried->num, a));
    const mg_targets *t = targets(v);
    if (!t || !t->n) {
        say(x, "no GPU visible here to compare with%s%s%s", t && t->note[0] ? " (" : "", t ? t->note : "",
            t && t->note[0] ? ")" : "");
        x->check_status = MG_CHECK_UNAVAILABLE;
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        const mg_target *g = &t->t[i];
        if (gpu && g->index >= 0 && (uint64_t)g->index != gpu->num && t->n > 1)
            continue;
        if (!g->mem_total) {
            say(x, "%s: memory unknown", g->name);
            continue;
        }
        say(x, "%s here: %s total, %s free now%s", g->name, mg_human(g->mem_total, a), mg_human(g->mem_free, b),
            tried && tried->num ? (tried->num <= g->mem_free ? ": the allocation would fit now"
                                                              : ": the allocation would not fit now")
                                : "");
        if (total && total->num && (total->num > g->mem_total + g->mem_total / 20 || total->num < g->mem_total - g->mem_total / 20))
            say(x, "the text's GPU had %s total: it is another GPU than %s", mg_human(total->num, c), g->name);
    }
    x->check_status = MG_CHECK_RAN;
}

static void check_llama_arch(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    const mg_explain_fact *arch = get_fact(x, "arch");
    int oldest = mg_llama_cpp_oldest(), newest = mg_llama_cpp_newest();
    if (arch) {
        int since = mg_llama_cpp_since(arch->text);
        const char *sp = mg_llama_cpp_spelling(arch->text);
        if (since)
            say(x, "llama.cpp knows '%s' since b%d: a build that old or newer loads it", arch->text, since);
        else if (sp)
            say(x, "llama.cpp knows '%s' (since b%d), not '%s': this GGUF was made by a tool or fork that spells "
                   "the architecture differently - convert it again with llama.cpp's convert_hf_to_gguf.py",
                sp, mg_llama_cpp_since(sp), arch->text);
        else
            say(x, "none of the llama.cpp builds mlgate has read (b%d to b%d) knows '%s'", oldest, newest, arch->text);
    }
    if (v->o->model) {
        mg_model *m = mg_model_open(v->o->model);
        const char *err = m ? mg_model_error(m) : "out of memory";
        if (!m || err || m->format != MG_FORMAT_GGUF) {
            say(x, "%s: %s", v->o->model, err ? err : "not a GGUF");
        } else {
            const char *a = mg_model_architecture(m);
            mg_llama_need need;
            mg_llama_cpp_need(m->gguf, &need);
            if (need.build)
                say(x, "%s: general.architecture '%s'; loads with llama.cpp b%d or newer", v->o->model, a ? a : "?",
                    need.build);
            else
                say(x, "%s: general.architecture '%s'; no llama.cpp build mlgate has read (up to b%d) loads it",
                    v->o->model, a ? a : "?", newest);
        }
        mg_model_free(m);
    } else if (!arch) {
        say(x, "give --model FILE.gguf to read its architecture");
    }
    x->check_status = arch || v->o->model ? MG_CHECK_RAN : MG_CHECK_UNAVAILABLE;
}

static void check_cc_min(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    const mg_targets *t = targets(v);
    if (!say_gpus(v, x)) {
        x->check_status = MG_CHECK_UNAVAILABLE;
        return;
    }
    for (size_t i = 0; t && i < t->n; i++)
        if (t->t[i].cc)
            say(x, "%s: sm_%u is %s %u.%u", t->t[i].name, t->t[i].cc, t->t[i].cc < e->min_cc ? "below" : "at least",
                e->min_cc / 10, e->min_cc % 10);
    x->check_status = MG_CHECK_RAN;
}

static void check_nvcc(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    const mg_explain_fact *sm = get_fact(x, "sm");
    const mg_cuda_release *first = sm && sm->num < 1000 ? mg_cuda_first_for_cc((uint16_t)sm->num) : NULL;
    if (first)
        say(x, "sm_%llu needs CUDA %u.%u or newer", (unsigned long long)sm->num, first->cuda / 10, first->cuda % 10);
    char p[1024], *txt = NULL, err[128];
    size_t len = 0;
    snprintf(p, sizeof p, "%s/usr/local/cuda/version.json", root(v));
    unsigned have = 0;
    if (!mg_read_all(p, 1 << 20, &txt, &len, err, sizeof err)) {
        char *c = strstr(txt, "\"cuda\"");
        char *ver = c ? strstr(c, "\"version\"") : NULL;
        if (ver && (ver = strchr(ver + 9, '"')))
            have = mg_cuda_tag_parse(ver + 1);
        free(txt);
    } else {
        snprintf(p, sizeof p, "%s/usr/local/cuda/version.txt", root(v));
        if (!mg_read_all(p, 1 << 16, &txt, &len, err, sizeof err)) {
            char *ver = strstr(txt, "Version ");
            if (ver)
                have = mg_cuda_tag_parse(ver + 8);
            free(txt);
        }
    }
    if (have) {
        say(x, "/usr/local/cuda here is CUDA %u.%u%s", have / 10, have % 10,
            first ? (have >= first->cuda ? ": new enough" : ": too old for it") : "");
    } else {
        say(x, "no CUDA toolkit at /usr/local/cuda here");
    }
    x->check_status = MG_CHECK_RAN;
}

static void check_module(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    const mg_explain_fact *mod = get_fact(x, "module");
    size_t n;
    const mg_pyenv *p = pyenvs(v, &n);
    if (!mod || !p || !n) {
        say_pythons(v, x, 0);
        x->check_status = MG_CHECK_RAN;
        return;
    }
    /* "vllm._C" -> SITE/vllm/_C*.so, SITE/vllm/_C.py, SITE/vllm/_C/ */
    char rel[128];
    snprintf(rel, sizeof rel, "%s", mod->text);
    for (char *q = rel; *q; q++)
        if (*q == '.')
            *q = '/';
    char *slash = strrchr(rel, '/');
    const char *leaf = slash ? slash + 1 : rel;
    for (size_t i = 0; i < n && i < 6; i++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/%.*s", p[i].site, slash ? (int)(slash - rel) : 0, rel);
        DIR *d = opendir(dir);
        int found = 0;
        if (d) {
            struct dirent *de;
            size_t ll = strlen(leaf);
            for (int k = 0; (de = readdir(d)) && k < 100000 && !found; k++)
                found = !strncmp(de->d_name, leaf, ll) && (de->d_name[ll] == 0 || de->d_name[ll] == '.');
            closedir(d);
        }
        say(x, "%s: %s %s", p[i].site, mod->text, found ? "is there (its import fails for another reason)" : "is not there");
    }
    x->check_status = MG_CHECK_RAN;
}

/* GPUs, CUDA_VISIBLE_DEVICES, the device nodes, a container. */
static void check_no_device(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    say_gpus(v, x);
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    if (cvd)
        say(x, "CUDA_VISIBLE_DEVICES=%s%s", cvd, *cvd ? "" : " (empty: hides every GPU)");
    say(x, "/dev/nvidia0 %s, /dev/nvidiactl %s", exists(v, "/dev/nvidia0") ? "present" : "absent",
        exists(v, "/dev/nvidiactl") ? "present" : "absent");
    if (exists(v, "/.dockerenv") || exists(v, "/run/.containerenv"))
        say(x, "this is a container: it needs --gpus all (or the CDI device) to see the GPUs");
}

/* The NVIDIA Container Toolkit and Docker's runtime. */
static void check_docker_gpu(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    static const char *const bins[] = {"/usr/bin/nvidia-container-runtime", "/usr/bin/nvidia-ctk",
                                       "/usr/bin/nvidia-container-cli", "/usr/local/bin/nvidia-ctk"};
    int any = 0;
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++)
        if (exists(v, bins[i])) {
            say(x, "%s is installed", bins[i]);
            any = 1;
        }
    if (!any)
        say(x, "the NVIDIA Container Toolkit is not installed here (no nvidia-ctk, nvidia-container-runtime)");
    char p[1024], *txt = NULL, err[128];
    size_t len;
    snprintf(p, sizeof p, "%s/etc/docker/daemon.json", root(v));
    if (!mg_read_all(p, 1 << 20, &txt, &len, err, sizeof err)) {
        say(x, "/etc/docker/daemon.json %s the nvidia runtime", strstr(txt, "nvidia") ? "names" : "does not name");
        free(txt);
    }
}

/* RAM, swap and the cgroup's limit. */
static void check_ram(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    mg_memory m;
    char a[32], b[32], c[32], d[32];
    if (mg_memory_read(v->o->host, &m)) {
        say(x, "RAM cannot be read here");
        x->check_status = MG_CHECK_UNAVAILABLE;
        return;
    }
    say(x, "RAM %s, %s available; swap %s, %s free", mg_human(m.total, a), mg_human(m.available, b),
        mg_human(m.swap_total, c), mg_human(m.swap_free, d));
    if (m.cgroup_limit)
        say(x, "this process's cgroup is limited to %s", mg_human(m.cgroup_limit, a));
}

/* This machine's CPU architecture, as images name it. */
static void check_cpu_arch(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    mg_cpu c;
    if (mg_cpu_read(v->o->host, &c) || !c.arch[0]) {
        say(x, "this machine's CPU cannot be read");
        x->check_status = MG_CHECK_UNAVAILABLE;
        return;
    }
    say(x, "this machine is %s (%s): images and binaries must be built for it", c.arch,
        !strcmp(c.arch, "x86_64") ? "linux/amd64" : !strcmp(c.arch, "aarch64") ? "linux/arm64" : c.arch);
}

/* AMD Zen 5 (family 1Ah), with AVX-512. */
static void check_zen5(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    mg_cpu c;
    char p[1024];
    int zen5 = 0;
    snprintf(p, sizeof p, "%s/proc/cpuinfo", root(v));
    FILE *f = fopen(p, "r");
    if (f) {
        char line[256];
        int amd = 0;
        for (int k = 0; k < 64 && fgets(line, sizeof line, f); k++) {
            amd |= !strncmp(line, "vendor_id", 9) && strstr(line, "AuthenticAMD");
            if (!strncmp(line, "cpu family", 10) && strchr(line, ':'))
                zen5 = amd && atoi(strchr(line, ':') + 1) == 26;   /* family 1Ah */
        }
        fclose(f);
    }
    int ok = !mg_cpu_read(v->o->host, &c);
    say(x, "this CPU%s%s%s is %sZen 5%s", ok && c.model[0] ? " (" : "", ok ? c.model : "",
        ok && c.model[0] ? ")" : "", zen5 ? "" : "not ",
        zen5 ? (ok && (c.features & MG_CPU_AVX512F) ? ", with AVX-512: the fault can happen here" : "") : "");
}

/* WSL2 and its libcuda. */
static void check_wsl(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    char p[1024];
    snprintf(p, sizeof p, "%s/proc/version", root(v));
    int wsl = 0;
    FILE *f = fopen(p, "r");
    if (f) {
        char line[512];
        wsl = fgets(line, sizeof line, f) && (strstr(line, "microsoft") || strstr(line, "Microsoft"));
        fclose(f);
    }
    say(x, "this machine is %sWSL2", wsl ? "" : "not ");
    say(x, "/usr/lib/wsl/lib/libcuda.so %s", exists(v, "/usr/lib/wsl/lib/libcuda.so") ? "present" : "absent");
    const char *ld = getenv("LD_LIBRARY_PATH");
    say(x, "LD_LIBRARY_PATH %s /usr/lib/wsl/lib", ld && strstr(ld, "/usr/lib/wsl/lib") ? "has" : "lacks");
}

/* This CPU's vector extensions. */
static void check_cpu_isa(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    mg_cpu c;
    if (mg_cpu_read(v->o->host, &c)) {
        say(x, "this machine's CPU cannot be read");
        x->check_status = MG_CHECK_UNAVAILABLE;
        return;
    }
    static const uint64_t bits[] = {MG_CPU_AVX, MG_CPU_AVX2, MG_CPU_FMA, MG_CPU_AVX512F, MG_CPU_AVX512BW,
                                    MG_CPU_AVX512VNNI, MG_CPU_AMX_TILE, MG_CPU_NEON, MG_CPU_SVE};
    char have[256] = "", lack[256] = "";
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        int x86 = bits[i] != MG_CPU_NEON && bits[i] != MG_CPU_SVE;
        if (x86 != !strcmp(c.arch, "x86_64"))
            continue;
        char *dst = c.features & bits[i] ? have : lack;
        size_t w = strlen(dst);
        snprintf(dst + w, 256 - w, "%s%s", w ? " " : "", mg_cpu_feature_name(bits[i]));
    }
    say(x, "this CPU (%s, %s) has: %s", c.model[0] ? c.model : "?", c.arch, have[0] ? have : "none of them");
    if (lack[0])
        say(x, "it lacks: %s - a binary built for those stops with 'illegal instruction' here", lack);
}

/* The GPUs here (or --gpu's). */
static void check_gpus(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    if (!say_gpus(v, x))
        x->check_status = MG_CHECK_UNAVAILABLE;
}

/* GPUs, and whether the nvidia_uvm module (CUDA's memory manager) is there. */
static void check_uvm(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)e;
    say_gpus(v, x);
    say(x, "nvidia_uvm module %s, /dev/nvidia-uvm %s", exists(v, "/sys/module/nvidia_uvm") ? "loaded" : "not loaded",
        exists(v, "/dev/nvidia-uvm") ? "present" : "absent");
}

/* A missing module looked for in each environment, else the environments and their torch. */
static void check_python(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    if (get_fact(x, "module"))
        check_module(v, e, x);
    else
        say_pythons(v, x, !strcmp(e->id, "torch-cpu-only") || !strcmp(e->id, "torch-abi-mismatch"));
}

/* Tools a build needs, looked up on PATH: what a "not found" during a build names. */
static void check_build_tools(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    (void)v, (void)e;
    static const char *const tools[] = {"cmake", "pkg-config", "ninja", "make", "gcc", "g++", "nvcc", "git"};
    const char *path = getenv("PATH");
    char have[256] = "", lack[256] = "";
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        int found = 0;
        for (const char *p = path ? path : ""; *p && !found;) {
            size_t l = strcspn(p, ":");
            char f[1024];
            if (l && l < 900) {
                snprintf(f, sizeof f, "%.*s/%s", (int)l, p, tools[i]);
                found = access(f, X_OK) == 0;
            }
            p += l + (p[l] == ':');
        }
        char *dst = found ? have : lack;
        size_t w = strlen(dst);
        snprintf(dst + w, sizeof have - w, "%s%s", w ? " " : "", tools[i]);
    }
    say(x, "on PATH here: %s", have[0] ? have : "none of them");
    if (lack[0])
        say(x, "not found here: %s", lack);
}

/* The checks, by kb_check (explain_int.h): each says what it found in x's lines. */
typedef void (*check_fn)(env *v, const struct mg_kb_entry *e, mg_explain_hit *x);
static const check_fn checks[] = {
    [K_GPUS] = check_gpus,           [K_NO_KERNEL] = check_no_kernel,     [K_DRIVER_CUDA] = check_driver_cuda,
    [K_NO_DEVICE] = check_no_device, [K_UVM] = check_uvm,                 [K_NVML] = check_nvml,
    [K_TORCH] = check_torch,         [K_OOM] = check_oom,                 [K_LLAMA_ARCH] = check_llama_arch,
    [K_CC_MIN] = check_cc_min,       [K_NVCC] = check_nvcc,               [K_DOCKER_GPU] = check_docker_gpu,
    [K_RAM] = check_ram,             [K_CPU_ARCH] = check_cpu_arch,       [K_ZEN5] = check_zen5,
    [K_WSL] = check_wsl,             [K_PYTHON] = check_python,           [K_CPU_ISA] = check_cpu_isa,
    [K_BUILD_TOOLS] = check_build_tools,
};

static void run_check(env *v, const struct mg_kb_entry *e, mg_explain_hit *x)
{
    check_fn fn = e->check < sizeof checks / sizeof checks[0] ? checks[e->check] : NULL;
    x->check_status = fn ? MG_CHECK_RAN : MG_CHECK_NONE;
    if (fn)
        fn(v, e, x);
}

/* ==== The run ==== */

struct mg_explain {
    size_t n;
    mg_explain_hit *hits;
    int checked;
};

static void copy_line(mg_explain_hit *x, const char *t, size_t len, const mg_kb_hit *h)
{
    size_t ls = (size_t)h->line_start, ms = (size_t)h->start, le = ms;
    while (le < len && t[le] != '\n' && le - ms < 220)
        le++;
    size_t from = ms - ls > 90 ? ms - 90 : ls;
    char tmp[sizeof x->line];
    int w = snprintf(tmp, sizeof tmp, "%s", from > ls ? "..." : "");
    size_t n = le - from;
    if (n > sizeof tmp - 8)
        n = sizeof tmp - 8;
    memcpy(tmp + w, t + from, n);
    size_t k = (size_t)w + n;
    if (le < len && t[le] != '\n' && k + 3 < sizeof tmp) {
        memcpy(tmp + k, "...", 3);
        k += 3;
    }
    /* trailing blanks and CRs out */
    while (k > 0 && (tmp[k - 1] == ' ' || tmp[k - 1] == '\r' || tmp[k - 1] == '\t'))
        k--;
    mg_text_clean(x->line, sizeof x->line, tmp, k, NULL);
}

int mg_explain_run(const char *text, size_t len, const mg_explain_opts *o, mg_explain **out, char *err, size_t errlen)
{
    *out = NULL;
    static const mg_explain_opts none = {0};
    if (!o)
        o = &none;
    if (!text && len) {
        snprintf(err, errlen, "no text");
        return MG_E_ARG;
    }
    if (len > MG_EXPLAIN_MAX_INPUT) {
        snprintf(err, errlen, "input larger than %u MiB: explain its tail (tail -c 16M LOG | mlgate explain -)",
                 MG_EXPLAIN_MAX_INPUT >> 20);
        return MG_E_LIMIT;
    }
    mg_explain *x = mg_calloc(1, sizeof *x);
    mg_kb_match *eh = mg_malloc(mg_kb_table_len * sizeof *eh);
    long k = x && eh ? mg_kb_match_all(text, len, eh) : -1;
    if (k > 0 && !(x->hits = mg_calloc((size_t)k, sizeof *x->hits)))
        k = -1;
    if (k < 0) {
        free(x), free(eh);
        snprintf(err, errlen, "out of memory (or the knowledge base's patterns could not be compiled)");
        return MG_E_NOMEM;
    }
    /* most specific first: by rank, then by where they occur */
    size_t order[256], no = 0;
    for (size_t e = 0; e < mg_kb_table_len && no < 256; e++)
        if (eh[e].matched && !eh[e].dropped) {
            size_t at = no++;
            while (at > 0 && mg_kb_before(&mg_kb_table[e], &eh[e], &mg_kb_table[order[at - 1]], &eh[order[at - 1]])) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = e;
        }
    env v = {.o = o};
    for (size_t i = 0; i < no; i++) {
        size_t e = order[i];
        mg_explain_hit *h = &x->hits[x->n++];
        h->entry = &mg_kb_table[e];
        h->offset = (uint64_t)eh[e].h.start;
        h->line_no = eh[e].h.line;
        copy_line(h, text, len, &eh[e].h);
        parse_facts(&mg_kb_table[e], h, text, len, &eh[e].h);
        for (size_t f = 0; f < mg_kb_table_len && h->nalso < MG_EXPLAIN_MAX_ALSO; f++)
            if (eh[f].matched && eh[f].dropped && mg_kb_implies(&mg_kb_table[e], &mg_kb_table[f]))
                h->also[h->nalso++] = &mg_kb_table[f];
        if (o->no_check)
            h->check_status = mg_kb_table[e].check == K_NONE ? MG_CHECK_NONE : MG_CHECK_SKIPPED;
        else
            run_check(&v, &mg_kb_table[e], h);
    }
    x->checked = !o->no_check;
    free(v.targets);
    free(v.py);
    free(eh);
    *out = x;
    return MG_OK;
}

size_t mg_explain_count(const mg_explain *x) { return x ? x->n : 0; }
const mg_explain_hit *mg_explain_at(const mg_explain *x, size_t i) { return x && i < x->n ? &x->hits[i] : NULL; }

void mg_explain_free(mg_explain *x)
{
    if (x)
        free(x->hits);
    free(x);
}

static void json_words(jw *w, const char *key, const char *words)
{
    jw_key(w, key);
    jw_begin_arr(w);
    for (const char *p = words; p && *p;) {
        size_t n = strcspn(p, " ");
        if (n)
            jw_strn(w, p, n);
        p += n;
        while (*p == ' ')
            p++;
    }
    jw_end_arr(w);
}

static const char *check_status_str(uint8_t s)
{
    static const char *const n[] = {"none", "skipped", "ran", "unavailable"};
    return s < 4 ? n[s] : "?";
}

void mg_explain_json(FILE *f, const mg_explain *x)
{
    jw w = jw_on(f);
    jw_report(&w, "explain");
    jw_kbool(&w, "ok", 1);
    jw_kbool(&w, "known", x && x->n > 0);
    jw_key(&w, "matches");
    jw_begin_arr(&w);
    for (size_t i = 0; x && i < x->n; i++) {
        const mg_explain_hit *h = &x->hits[i];
        const struct mg_kb_entry *e = h->entry;
        jw_begin_obj(&w);
        jw_kstr(&w, "id", e->id);
        jw_kstr(&w, "title", e->title);
        jw_kuint(&w, "line", h->line_no);
        jw_kuint(&w, "offset", h->offset);
        jw_kstr(&w, "text", h->line);
        jw_kstr(&w, "cause", e->cause);
        jw_kstr(&w, "fix", e->fix);
        json_words(&w, "references", e->refs);
        json_words(&w, "field_reports", e->field);
        jw_key(&w, "facts");
        jw_begin_obj(&w);
        for (size_t k = 0; k < h->nfacts; k++) {
            const mg_explain_fact *ft = &h->facts[k];
            if (ft->kind == MG_FACT_SIZE) {
                char key[64];
                snprintf(key, sizeof key, "%s_bytes", ft->key);
                jw_kuint(&w, key, ft->num);
            } else if (ft->kind == MG_FACT_INT) {
                jw_kuint(&w, ft->key, ft->num);
            } else {
                jw_kstr(&w, ft->key, ft->text);
            }
        }
        jw_end_obj(&w);
        jw_key(&w, "also");
        jw_begin_arr(&w);
        for (size_t k = 0; k < h->nalso; k++)
            jw_str(&w, h->also[k]->id);
        jw_end_arr(&w);
        jw_key(&w, "check");
        jw_begin_obj(&w);
        jw_kstr(&w, "status", check_status_str(h->check_status));
        jw_key(&w, "lines");
        jw_begin_arr(&w);
        for (const char *p = h->check; *p;) {
            size_t n = strcspn(p, "\n");
            jw_strn(&w, p, n);
            p += n;
            if (*p)
                p++;
        }
        jw_end_arr(&w);
        jw_end_obj(&w);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
}

/* ==== Input ==== */

int mg_explain_read(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    *text = NULL;
    *len = 0;
    if (strcmp(path, "-")) {
        int rc = mg_read_all(path, MG_EXPLAIN_MAX_INPUT, text, len, err, errlen);
        if (rc == MG_E_LIMIT)
            snprintf(err, errlen, "larger than %u MiB: explain its tail (tail -c 16M FILE | mlgate explain -)",
                     MG_EXPLAIN_MAX_INPUT >> 20);
        return rc;
    }
    size_t cap = 65536, n = 0;
    char *buf = mg_malloc(cap + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap > MG_EXPLAIN_MAX_INPUT) {
                free(buf);
                snprintf(err, errlen, "standard input is larger than %u MiB: give its tail (tail -c 16M)",
                         MG_EXPLAIN_MAX_INPUT >> 20);
                return MG_E_LIMIT;
            }
            size_t nc = cap * 2 > MG_EXPLAIN_MAX_INPUT + 1 ? MG_EXPLAIN_MAX_INPUT + 1 : cap * 2;
            char *nb = mg_realloc(buf, nc + 1);
            if (!nb) {
                free(buf);
                snprintf(err, errlen, "out of memory");
                return MG_E_NOMEM;
            }
            buf = nb;
            cap = nc;
        }
        ssize_t r = read(0, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read standard input: %s", strerror(errno));
            free(buf);
            return MG_E_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > MG_EXPLAIN_MAX_INPUT) {
        free(buf);
        snprintf(err, errlen, "standard input is larger than %u MiB: give its tail (tail -c 16M)", MG_EXPLAIN_MAX_INPUT >> 20);
        return MG_E_LIMIT;
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return MG_OK;
}

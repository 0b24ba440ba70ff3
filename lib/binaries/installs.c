/*
 * installs.c - the frameworks a scan finds (their dist-info in a directory or a wheel, torch's version.py)
 * and their own rules applied to the reports (tables/frameworks.c, docs/compat-rules.md "Frameworks"):
 * CPU-only builds, GPU floors, the one bitsandbytes library torch's CUDA loads.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "binaries/scan_int.h"

#define MAX_DISTS 4         /* dist-infos of one framework in one place told apart (a stale one beside) */

/* A framework installed in a directory (its dist-info) or carried by a wheel: one per (where, framework). */
struct mg_install {
    char *where;            /* what its files' report paths start with: "env/site-packages/", "x.whl!" */
    const mg_framework *fw;
    struct {
        char *name;         /* "torch-2.9.0.dist-info": where + name is the path of a report about it */
        char version[64];   /* from the name, cleaned */
    } dist[MAX_DISTS];
    unsigned ndist;
    int more_dists;         /* more dist-infos than MAX_DISTS */
    char pyversion[64];     /* torch/version.py's __version__ (cleaned) when py_known */
    int py_known;
    char cuda[16];          /* torch's CUDA build ("12.8"; "" CPU-only) when cuda_known */
    int cuda_known;
    /* found over the reports (apply_frameworks) */
    int code, unreadable;   /* in its code directories: a file with CUDA code; a file that could not be read */
    unsigned want, nlibs, exact, lower, higher, chosen;   /* torch: bitsandbytes' per-CUDA libraries beside it */
};

typedef struct mg_install install;

/* ---- what the walk finds ------------------------------------------------ */

static void install_free(install *x)
{
    free(x->where);
    for (unsigned i = 0; i < x->ndist; i++)
        free(x->dist[i].name);
}

/* The install of fw at where (at most MG_MAX_INSTALLS to look through), or NULL. */
static install *install_at(mg_installs *s, const char *where, const mg_framework *fw)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].fw == fw && !strcmp(s->v[i].where, where))
            return &s->v[i];
    return NULL;
}

/* One more dist-info of x by its name (len bytes), unless x has it; its version cleaned (it reaches reasons). */
static int install_add_dist(install *x, const char *name, size_t len, const char *ver, size_t vlen)
{
    for (unsigned i = 0; i < x->ndist; i++)
        if (strlen(x->dist[i].name) == len && !memcmp(x->dist[i].name, name, len))
            return MG_OK;
    if (x->ndist == MAX_DISTS) {
        x->more_dists = 1;
        return MG_OK;
    }
    char *n = mg_malloc(len + 1);
    if (!n)
        return MG_E_NOMEM;
    memcpy(n, name, len);
    n[len] = 0;
    x->dist[x->ndist].name = n;
    mg_text_clean(x->dist[x->ndist].version, sizeof x->dist[x->ndist].version, ver, vlen, NULL);
    x->ndist++;
    return MG_OK;
}

/*
 * x joins s (s owns what it holds from here): merged into the install of the same (where, framework) when
 * there is one, dropped past MG_MAX_INSTALLS. *at: where it is now, or NULL. MG_E_LIMIT the first time one
 * is dropped (the caller reports it, once).
 */
static int install_put(mg_installs *s, install *x, install **at)
{
    install *have = install_at(s, x->where, x->fw);
    int rc = MG_OK;
    *at = NULL;
    if (have) {
        for (unsigned i = 0; i < x->ndist && rc == MG_OK; i++)
            rc = install_add_dist(have, x->dist[i].name, strlen(x->dist[i].name), x->dist[i].version,
                                  strlen(x->dist[i].version));
        have->more_dists |= x->more_dists;
        if (!have->py_known && x->py_known) {
            memcpy(have->pyversion, x->pyversion, sizeof have->pyversion);
            have->py_known = 1;
        }
        if (!have->cuda_known && x->cuda_known) {
            memcpy(have->cuda, x->cuda, sizeof have->cuda);
            have->cuda_known = 1;
        }
        *at = have;
    } else if (s->n == MG_MAX_INSTALLS) {
        rc = s->capped ? MG_OK : MG_E_LIMIT;
        s->capped = 1;
    } else {
        /* room for all of them at once: the pointers handed out stay valid */
        if (!s->v && !(s->v = mg_calloc(MG_MAX_INSTALLS, sizeof *s->v))) {
            install_free(x);
            return MG_E_NOMEM;
        }
        *at = &s->v[s->n];
        s->v[s->n++] = *x;
        return MG_OK;
    }
    install_free(x);
    return rc;
}

int mg_installs_add(mg_installs *s, const char *where, const char *name, size_t len, mg_install **at)
{
    const char *ver;
    size_t vlen;
    const mg_framework *fw = mg_dist_info(name, len, &ver, &vlen);
    *at = NULL;
    if (!fw)
        return MG_OK;
    install *have = install_at(s, where, fw);
    if (have) {
        *at = have;
        return install_add_dist(have, name, len, ver, vlen);
    }
    install x = {0};
    x.fw = fw;
    int rc = (x.where = mg_strdup(where)) ? install_add_dist(&x, name, len, ver, vlen) : MG_E_NOMEM;
    if (rc) {
        install_free(&x);
        return rc;
    }
    return install_put(s, &x, at);
}

int mg_installs_merge(mg_installs *s, mg_installs *from)
{
    int rc = MG_OK;
    for (size_t i = 0; i < from->n; i++) {
        install *at;
        int r = rc == MG_OK || rc == MG_E_LIMIT ? install_put(s, &from->v[i], &at) : (install_free(&from->v[i]), rc);
        if (r != MG_OK && rc != MG_E_NOMEM)
            rc = r;
    }
    free(from->v);
    memset(from, 0, sizeof *from);
    return rc;
}

mg_install *mg_installs_torch(mg_installs *s, const char *where)
{
    return install_at(s, where, mg_framework_find("torch", 5));
}

int mg_install_is_torch(const mg_install *x) { return x && !strcmp(x->fw->dist, "torch"); }

void mg_installs_free(mg_installs *s)
{
    for (size_t i = 0; i < s->n; i++)
        install_free(&s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

void mg_install_torch_version(mg_install *x, const char *text)
{
    char v[64], cuda[16];
    int got = mg_py_version_file(text, v, sizeof v, cuda, sizeof cuda);
    if (got & 1) {
        mg_text_clean(x->pyversion, sizeof x->pyversion, v, strlen(v), NULL);
        x->py_known = 1;
    }
    if (got & 2) {
        mg_text_clean(x->cuda, sizeof x->cuda, cuda, strlen(cuda), NULL);
        x->cuda_known = 1;
    }
}

/* ---- frameworks' own rules (tables/frameworks.c, docs/compat-rules.md "Frameworks") ---- */

/* Whether rest (a report's path after an install's where) lies in one of the '|'-separated directories. */
static int in_dirs(const char *dirs, const char *rest)
{
    while (dirs && *dirs) {
        size_t l = strcspn(dirs, "|");
        if (!strncmp(rest, dirs, l) && rest[l] == '/')
            return 1;
        dirs += l + (dirs[l] == '|');
    }
    return 0;
}

/* Whether name is one of the '|'-separated list. */
static int listed_in(const char *list, const char *name)
{
    size_t nl = strlen(name);
    while (*list) {
        size_t l = strcspn(list, "|");
        if (l == nl && !strncmp(list, name, l))
            return 1;
        list += l + (list[l] == '|');
    }
    return 0;
}

/* The CUDA version XYZ of a per-CUDA library at rest ("bitsandbytes/libbitsandbytes_cuda128.so"), else 0. */
static unsigned per_cuda_version(const mg_framework *lib, const char *rest)
{
    size_t dl = strlen(lib->code_dirs), ll = strlen(lib->per_cuda_lib);
    if (strncmp(rest, lib->code_dirs, dl) || rest[dl] != '/' || strncmp(rest + dl + 1, lib->per_cuda_lib, ll))
        return 0;
    unsigned v = 0;
    const char *c = rest + dl + 1 + ll;
    for (; *c >= '0' && *c <= '9' && v < 1000; c++)
        v = v * 10 + (unsigned)(*c - '0');
    return *c == '.' ? v : 0;
}

static int by_where(const void *a, const void *b)
{
    const install *x = a, *y = b;
    int c = strcmp(x->where, y->where);
    return c ? c : x->fw < y->fw ? -1 : x->fw > y->fw;
}

/* The first install (sorted by where) whose where is the first len bytes of path, or n. */
static size_t installs_at(const install *in, size_t n, const char *path, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(in[mid].where, path, len);
        if (c == 0 && in[mid].where[len])
            c = 1;   /* longer: sorts after */
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && !strncmp(in[lo].where, path, len) && !in[lo].where[len] ? lo : n;
}

/* The install of fw with x's where (installs sorted), or NULL. */
static const install *beside(const install *in, size_t n, const install *x, const mg_framework *fw)
{
    size_t wl = strlen(x->where);
    for (size_t j = installs_at(in, n, x->where, wl); j < n && !strcmp(in[j].where, x->where); j++)
        if (in[j].fw == fw)
            return &in[j];
    return NULL;
}

/* Its version as judged: torch/version.py's, else the chosen dist-info's (*d). */
static const char *install_version(const install *x, unsigned *d)
{
    unsigned best = 0;
    for (unsigned i = 0; i < x->ndist; i++) {
        size_t l = strlen(x->dist[i].version);
        if (x->py_known && !strncmp(x->dist[i].version, x->pyversion, l) &&
            (!x->pyversion[l] || x->pyversion[l] == '+')) {
            best = i;   /* the one version.py names */
            break;
        }
        if (strverscmp(x->dist[i].version, x->dist[best].version) > 0)
            best = i;   /* else the newest */
    }
    *d = best;
    return x->py_known && x->pyversion[0] ? x->pyversion : x->ndist ? x->dist[best].version : "";
}

/* A note when x has several dist-infos: which one was judged and why, the others named (cleaned); else NULL. */
static const char *dists_note(char *buf, size_t n, const install *x, unsigned d)
{
    if (x->ndist < 2)
        return NULL;
    char others[320] = "", name[96];
    size_t at = 0;
    for (unsigned i = 0; i < x->ndist; i++) {
        if (i == d)
            continue;
        mg_text_clean(name, sizeof name, x->dist[i].name, strlen(x->dist[i].name), NULL);
        int k = snprintf(others + at, sizeof others - at, "%s%s", at ? ", " : "", name);
        at = k < 0 ? at : (size_t)k < sizeof others - at ? at + (size_t)k : sizeof others - 1;
    }
    mg_text_clean(name, sizeof name, x->dist[d].name, strlen(x->dist[d].name), NULL);
    snprintf(buf, n, "%s%u dist-infos of %s here: judged as %s (%s); the others are left over from other "
                           "installs: %s%s", x->more_dists ? "more than " : "", x->ndist, x->fw->name, name,
                           x->py_known ? "the one torch/version.py names" : "the newest", others,
                           x->more_dists ? ", ..." : "");
    return buf;
}

__attribute__((format(printf, 2, 3)))
static void set_reason(mg_verdict *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);   /* cut at MG_REASON_MAX: the words fit, URLs last */
    va_end(ap);
}

/* A report about a framework itself at path (named after its dist-info): one verdict per target, none until
 * the caller says otherwise. Placed in out (which has room); NULL when out of memory. */
static mg_report *framework_report(const mg_scan_opts *o, const char *path, const mg_framework *fw,
                                   const char *version, const char *note, mg_scan_result *out)
{
    mg_report *r = mg_report_new(path);
    if (!r)
        return NULL;
    r->framework = mg_arena_printf(r->arena, "%s%s%s", fw->name, version[0] ? " " : "", version);
    r->framework_row = fw;
    r->detail = note ? mg_arena_printf(r->arena, "%s", note) : NULL;
    r->nverdicts = o->ntargets;
    r->verdicts = mg_arena_array(r->arena, o->ntargets ? o->ntargets : 1, sizeof *r->verdicts);
    if (!r->framework || !r->verdicts || (note && !r->detail)) {
        mg_report_free(r);
        return NULL;
    }
    memset(r->verdicts, 0, (o->ntargets ? o->ntargets : 1) * sizeof *r->verdicts);
    for (size_t i = 0; i < o->ntargets; i++) {
        r->verdicts[i].target = o->targets[i];
        r->verdicts[i].status = MG_STATUS_NONE;
    }
    out->reports[out->nreports++] = r;
    return r;
}

/* A framework that should carry CUDA code and carries none: why, per target. */
static void cpu_only_reasons(const install *x, const char *version, mg_report *r)
{
    for (size_t i = 0; i < r->nverdicts; i++) {
        mg_verdict *v = &r->verdicts[i];
        const mg_target *t = &v->target;
        /* CPU-only for sure: torch's version.py says cuda None, a +cpu local version, or (jaxlib) no CUDA plugin beside it */
        int says_cpu = (x->cuda_known && !x->cuda[0]) || strstr(version, "+cpu") != NULL || x->fw->cuda_via;
        const char *other_gpu = strstr(version, "+rocm") ? "a ROCm build (AMD GPUs)"
                              : strstr(version, "+xpu") ? "an XPU build (Intel GPUs)" : NULL;
        if (other_gpu) {
            set_reason(v, "%s %s is %s: no CUDA code for NVIDIA GPUs", x->fw->name, version, other_gpu);
        } else if (!says_cpu && x->cuda_known) {
            set_reason(v, "%s %s (CUDA %s) carries no CUDA code here: its libraries are missing (a partial install?)",
                       x->fw->name, version, x->cuda);
        } else if (!strcmp(x->fw->dist, "torch")) {
            const mg_torch_build *b = mg_torch_build_for(t->cc);
            char pkg[32] = "torch", what[96];
            snprintf(what, sizeof what, says_cpu ? "CPU-only build: torch %s" : "no CUDA code in torch %s (a CPU-only build?)",
                     version);
            if (b && b->last)
                snprintf(pkg, sizeof pkg, "'torch==%u.%u.*'", b->last / 100 % 100, b->last % 100);
            if (b)
                set_reason(v, "%s; the CUDA build for sm_%u is cu%u: pip install %s --index-url "
                           "https://download.pytorch.org/whl/cu%u", what, t->cc, b->cuda, pkg, b->cuda);
            else
                set_reason(v, "%s; no official CUDA build has code for sm_%u", what, t->cc);
        } else {
            set_reason(v, says_cpu ? "CPU-only build: %s %s carries no CUDA code; the CUDA build: %s"
                                   : "%s %s carries no CUDA code (a CPU-only build?); the CUDA build: %s",
                       x->fw->name, version, x->fw->fix ? x->fw->fix : "see its install guide");
        }
    }
}

/*
 * Which bitsandbytes library torch's CUDA loads (bitsandbytes/cextension.py, get_cuda_bnb_library_path):
 * before 0.50.0 only the exact one (libbitsandbytes_cuda129 for 12.9; absent, its CPU library: no GPU
 * functions); from 0.50.0 the exact one, else the newest lower of the same major, else the oldest higher of
 * it. A version not known (no dist-info) is taken as a current one. 0: none of them.
 */
static unsigned bnb_chosen(const install *torch, const install *bnb, const char *bnb_version)
{
    if (torch->exact)
        return torch->want;
    if (bnb && bnb_version[0] && strverscmp(bnb_version, "0.50.0") < 0)
        return 0;
    return torch->lower ? torch->lower : torch->higher;
}

/*
 * Per framework found: a copy that should carry CUDA code and carries none is a CPU-only build (none on
 * every target) unless some file where its code lives could not be read (then nobody can tell); a
 * capability floor the targets miss is its below_floor status on those; bitsandbytes' libraries that
 * torch's CUDA does not load go, and none loading is a report of its own. Reports are matched to installs
 * by looking their path's prefixes up in the installs sorted by where: the work grows with reports and
 * installs, never with their product. out->reports has room for two reports per install.
 */
int mg_installs_apply(const mg_scan_opts *o, mg_installs *s, mg_scan_result *out)
{
    install *in = s->v;
    size_t n = s->n;
    if (!n)
        return MG_OK;
    qsort(in, n, sizeof *in, by_where);
    const mg_framework *torch_fw = mg_framework_find("torch", 5), *bnb_fw = mg_framework_find("bitsandbytes", 12);
    for (size_t j = 0; j < n; j++) {
        in[j].want = in[j].fw == torch_fw && in[j].cuda_known ? mg_cuda_tag_parse(in[j].cuda) : 0;
        in[j].code = in[j].unreadable = 0;
        in[j].nlibs = in[j].exact = in[j].lower = in[j].higher = in[j].chosen = 0;
    }
    /* per report: the bitsandbytes library it is (XYZ) and the torch beside it */
    struct lib { unsigned v; size_t torch; } *libs = mg_calloc(out->nreports ? out->nreports : 1, sizeof *libs);
    if (!libs)
        return MG_E_NOMEM;
    for (size_t k = 0; k < out->nreports; k++) {
        const mg_report *r = out->reports[k];
        for (size_t i = 0; r->path[i]; i++) {
            if (r->path[i] != '/' && r->path[i] != '!')
                continue;
            size_t first = installs_at(in, n, r->path, i + 1);
            for (size_t j = first; j < n && !strcmp(in[j].where, in[first].where); j++) {
                install *x = &in[j];
                const char *rest = r->path + i + 1;
                if (in_dirs(x->fw->code_dirs, rest)) {
                    x->unreadable |= r->err != MG_OK;
                    x->code |= !r->err && r->nfatbins;
                }
                unsigned v = x->fw == torch_fw && x->cuda_known ? per_cuda_version(bnb_fw, rest) : 0;
                if (!v)
                    continue;
                libs[k].v = v;
                libs[k].torch = j;
                x->nlibs++;
                x->exact |= v == x->want;
                if (v / 10 == x->want / 10 && v < x->want && v > x->lower)
                    x->lower = v;
                if (v / 10 == x->want / 10 && v > x->want && (!x->higher || v < x->higher))
                    x->higher = v;
            }
        }
    }
    /* Beside a torch whose CUDA is known, only the library it loads counts (a CPU-only torch loads none). */
    for (size_t j = 0; j < n; j++) {
        const install *b = in[j].nlibs ? beside(in, n, &in[j], bnb_fw) : NULL;
        unsigned d;
        in[j].chosen = in[j].want && in[j].nlibs ? bnb_chosen(&in[j], b, b ? install_version(b, &d) : "") : 0;
    }
    size_t kept = 0;
    for (size_t k = 0; k < out->nreports; k++) {
        if (libs[k].v && libs[k].v != in[libs[k].torch].chosen)
            mg_report_free(out->reports[k]);
        else
            out->reports[kept++] = out->reports[k];
    }
    out->nreports = kept;
    free(libs);
    if (!o->ntargets)
        return MG_OK;   /* no GPU to judge for: the files are listed as they are */
    char buf[MG_REASON_MAX];
    for (size_t j = 0; j < n; j++) {
        const install *x = &in[j];
        unsigned d;
        const char *version = install_version(x, &d);
        char *path;
        if (asprintf(&path, "%s%s", x->where, x->ndist ? x->dist[d].name : "") < 0)
            return MG_E_NOMEM;
        mg_report *r = NULL;
        int fails = 0, ok = 1;
        char notebuf[512];
        const char *note = dists_note(notebuf, sizeof notebuf, x, d);
        for (size_t k = 0; k < o->ntargets; k++)
            fails |= !mg_framework_runs_on(x->fw, o->targets[k].cc);
        int code = x->code;
        for (size_t k = 0; k < n && !code && x->fw->cuda_via; k++)   /* its CUDA plugin installed beside it */
            code = !strcmp(in[k].where, x->where) && listed_in(x->fw->cuda_via, in[k].fw->dist);
        if (x->fw->needs_cuda && !code && !x->unreadable) {
            ok = (r = framework_report(o, path, x->fw, version, note, out)) != NULL;
            if (r)
                cpu_only_reasons(x, version, r);
        } else if (fails) {
            ok = (r = framework_report(o, path, x->fw, version, note, out)) != NULL;
            for (size_t k = 0; r && k < r->nverdicts; k++) {
                mg_verdict *v = &r->verdicts[k];
                int runs = mg_framework_runs_on(x->fw, v->target.cc);
                v->status = runs ? MG_STATUS_NATIVE : x->fw->below_floor;
                if (runs)
                    set_reason(v, "%s: %s is %u.%u", x->fw->rule ? x->fw->rule : "no rule against it", v->target.name,
                               v->target.cc / 10, v->target.cc % 10);
                else
                    set_reason(v, "%s", mg_framework_floor_reason(x->fw, v->target.name, v->target.cc, buf, sizeof buf));
            }
        }
        if (ok && x->want && x->nlibs && !x->chosen) {   /* beside this torch, no bitsandbytes library loads */
            const install *b = beside(in, n, x, bnb_fw);
            unsigned bd = 0;
            const char *bv = b ? install_version(b, &bd) : "";
            char bname[96], *bpath;
            snprintf(bname, sizeof bname, "bitsandbytes%s%s", bv[0] ? " " : "", bv);
            if (asprintf(&bpath, "%s%s", x->where, b && b->ndist ? b->dist[bd].name : bnb_fw->code_dirs) < 0) {
                free(path);
                return MG_E_NOMEM;
            }
            mg_report *br = framework_report(o, bpath, bnb_fw, bv, NULL, out);
            ok = br != NULL;
            unsigned near = x->lower ? x->lower : x->higher;
            for (size_t k = 0; br && k < br->nverdicts; k++) {
                if (near)
                    set_reason(&br->verdicts[k], "%s loads only libbitsandbytes_cuda%u (torch's CUDA %s), not here: "
                               "its GPU functions fail; 0.50.0+ falls back to cuda%u (pip install -U bitsandbytes)",
                               bname, x->want, x->cuda, near);
                else
                    set_reason(&br->verdicts[k], "%s has no library of CUDA %u for torch's CUDA %s: its GPU functions "
                               "fail", bname, x->want / 10, x->cuda);
            }
            free(bpath);
        }
        free(path);
        if (!ok)
            return MG_E_NOMEM;
    }
    return MG_OK;
}


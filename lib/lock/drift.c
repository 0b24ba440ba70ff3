/*
 * drift.c - `mlgate drift`: two locks compared (the locked one and one collected now from its inputs), each change
 * one line with what it did to the verdicts ("driver 575 -> 580.95.05: PTX ISA 8.8 now JITs", "torch 2.9.1+cu128 ->
 * 2.10.0+cpu: CUDA gone"), and whether it matters: a verdict got worse, or something locked is gone or changed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/json.h"
#include "lock/lock_int.h"
#include "mlgate/binaries.h"

#define TEXT_MAX 1024           /* one change's line */
#define FOLD_NAMES 2            /* files a host change names before "and N more" */

struct mg_drift {
    mg_arena *arena;
    const char *lock;
    mg_drift_change *v;
    size_t n, cap;
    size_t matters;
};

/* ==== Building text: bounded, always NUL-terminated ==== */

typedef struct sb {
    char s[TEXT_MAX];
    size_t n;
} sb;

static void sb_add(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sb *b, const char *fmt, ...)
{
    if (b->n >= sizeof b->s - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->n = (size_t)k < sizeof b->s - b->n ? b->n + (size_t)k : sizeof b->s - 1;
}

/* ==== The list of changes ==== */

static int add(mg_drift *d, const char *kind, const char *subject, const char *in, const char *before,
               const char *after, int matters, const char *verdict, const char *text)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        mg_drift_change *v = mg_realloc(d->v, cap * sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        d->v = v, d->cap = cap;
    }
    mg_drift_change *c = &d->v[d->n];
    mg_arena *a = d->arena;
    c->kind = kind;
    c->matters = matters != 0;
    if (!(c->subject = mg_arena_strdup(a, subject ? subject : "")) || (in && !(c->in = mg_arena_strdup(a, in))) ||
        (before && !(c->before = mg_arena_strdup(a, before))) || (after && !(c->after = mg_arena_strdup(a, after))) ||
        (verdict && *verdict && !(c->verdict_change = mg_arena_strdup(a, verdict))) ||
        !(c->text = mg_arena_strdup(a, text)))
        return MG_E_NOMEM;
    if (!in)
        c->in = NULL;
    if (!before)
        c->before = NULL;
    if (!after)
        c->after = NULL;
    if (!(verdict && *verdict))
        c->verdict_change = NULL;
    d->matters += c->matters;
    d->n++;
    return MG_OK;
}

static int same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }
static const char *or_unknown(const char *s) { return s ? s : "unknown"; }

/* ==== Verdicts: what changed per GPU, in words ==== */

typedef struct trans {
    const char *gpu;            /* the GPU's name now */
    uint16_t cc;
    uint8_t before, after;      /* mg_status */
    uint16_t isa_before, isa_after;
} trans;

#define MAX_TRANS MG_MAX_TARGETS

/* Locked GPU i is now GPU gm[i] (-1: gone). */
typedef struct cmp {
    const mg_lock *a, *b;       /* locked, now */
    int gm[MG_MAX_TARGETS];
    int matched_b[MG_MAX_TARGETS];
    int driver_changed, arch_changed;
    /* verdict changes the host explains, folded into its line */
    sb driver_why, arch_why;
    int driver_worse, arch_worse;
    size_t driver_files, arch_files;
    sb driver_names, arch_names;
    mg_drift *d;
} cmp;

static const lk_verdict *verdict_for(const lk_verdict *v, size_t n, size_t gpu)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].gpu == gpu)
            return &v[i];
    return NULL;
}

/* The changes of one item's verdicts over the GPUs in both (dflt: the status of a GPU without a verdict, -1:
 * compare only GPUs with one on both sides). */
static size_t transitions(const cmp *c, const lk_verdict *va, size_t na, const lk_verdict *vb, size_t nb, int dflt,
                          trans *out)
{
    size_t n = 0;
    for (size_t i = 0; i < c->a->ngpus && i < MG_MAX_TARGETS; i++) {
        int j = c->gm[i];
        if (j < 0 || !c->a->gpus_[i].cc || !c->b->gpus_[j].cc)
            continue;
        const lk_verdict *x = verdict_for(va, na, i), *y = verdict_for(vb, nb, (size_t)j);
        if (dflt < 0 && (!x || !y))
            continue;
        uint8_t sb_ = x ? x->status : (uint8_t)dflt, sa = y ? y->status : (uint8_t)dflt;
        if (sb_ == sa)
            continue;
        out[n++] = (trans){c->b->gpus_[j].name, c->b->gpus_[j].cc, sb_, sa, x ? x->need_isa : 0, y ? y->need_isa : 0};
    }
    return n;
}

static int any_worse(const trans *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].after > t[i].before)
            return 1;
    return 0;
}

static int uses_jit(const trans *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].before == MG_STATUS_JIT || t[i].after == MG_STATUS_JIT || t[i].isa_before || t[i].isa_after)
            return 1;
    return 0;
}

/* Appends a phrase unless the text has it already. */
static void phrase(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void phrase(sb *b, const char *fmt, ...)
{
    char p[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    if (strstr(b->s, p))
        return;
    sb_add(b, "%s%s", b->n ? ", " : "", p);
}

/* "sm_120 no longer covered", "PTX ISA 8.8 now JITs": the transitions in words, worse ones first. */
static void describe(sb *b, const trans *t, size_t n)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const trans *x = &t[i];
            int worse = x->after > x->before;
            if (worse != !pass)
                continue;
            if (x->before == MG_STATUS_JIT && x->after >= MG_STATUS_PARTIAL && x->isa_before)
                phrase(b, "PTX ISA %u.%u no longer JITs", x->isa_before / 10, x->isa_before % 10);
            else if (x->after == MG_STATUS_NONE)
                phrase(b, "sm_%u no longer covered", x->cc);
            else if (x->after == MG_STATUS_PARTIAL)
                phrase(b, "sm_%u only partly covered", x->cc);
            else if (x->after == MG_STATUS_JIT && x->before == MG_STATUS_NATIVE)
                phrase(b, "sm_%u now needs PTX JIT", x->cc);
            else if (x->after == MG_STATUS_JIT && x->isa_after)
                phrase(b, "PTX ISA %u.%u now JITs", x->isa_after / 10, x->isa_after % 10);
            else if (x->after == MG_STATUS_JIT)
                phrase(b, "sm_%u now JITs", x->cc);
            else if (x->after == MG_STATUS_NATIVE && x->before == MG_STATUS_JIT)
                phrase(b, "sm_%u now native", x->cc);
            else if (x->after == MG_STATUS_NATIVE)
                phrase(b, "sm_%u now covered", x->cc);
            else
                phrase(b, "sm_%u now partly covered", x->cc);
        }
}

/* "GPU0 H200: native, GPU1 RTX 5090: jit" of the transitions' before (which 0) or after (1). */
static void states(sb *b, const trans *t, size_t n, int which)
{
    for (size_t i = 0; i < n; i++)
        sb_add(b, "%s%s: %s", i ? ", " : "", t[i].gpu, mg_status_str((mg_status)(which ? t[i].after : t[i].before)));
}

/* A verdict change the host explains: noted on its line (the driver's, the CPU's). */
static void fold(sb *why, sb *names, size_t *files, int *worse, const char *path, const trans *t, size_t n)
{
    describe(why, t, n);
    if (*files < FOLD_NAMES)
        sb_add(names, "%s%s", *files ? ", " : "", path);
    (*files)++;
    *worse |= any_worse(t, n);
}

/* ==== The host ==== */

static void match_gpus(cmp *c)
{
    const mg_lock *a = c->a, *b = c->b;
    for (size_t i = 0; i < MG_MAX_TARGETS; i++)
        c->gm[i] = -1, c->matched_b[i] = 0;
    for (int pass = 0; pass < 2; pass++)   /* by UUID, then by name where one side has none */
        for (size_t i = 0; i < a->ngpus && i < MG_MAX_TARGETS; i++) {
            if (c->gm[i] >= 0)
                continue;
            for (size_t j = 0; j < b->ngpus && j < MG_MAX_TARGETS; j++) {
                const lk_gpu *x = &a->gpus_[i], *y = &b->gpus_[j];
                int hit = pass == 0 ? x->uuid && y->uuid && !strcmp(x->uuid, y->uuid)
                                    : (!x->uuid || !y->uuid) && !strcmp(x->name, y->name);
                if (!c->matched_b[j] && hit) {
                    c->gm[i] = (int)j;
                    c->matched_b[j] = 1;
                    break;
                }
            }
        }
}

static void gpu_words(sb *b, const lk_gpu *g)
{
    sb_add(b, "%s (", g->name);
    if (g->cc)
        sb_add(b, "sm_%u", g->cc);
    else
        sb_add(b, "compute capability unknown");
    if (g->uuid)
        sb_add(b, ", %s", g->uuid);
    sb_add(b, ")");
}

/* What runs badly on a GPU that was not there: the files and packages partial or none on it. */
static int gpu_added(cmp *c, size_t j)
{
    const mg_lock *b = c->b;
    const lk_gpu *g = &b->gpus_[j];
    sb text = {0}, why = {0};
    size_t bad = 0;
    for (size_t i = 0; i < b->nbins; i++) {
        const lk_verdict *v = verdict_for(b->bins[i].verdicts, b->bins[i].nverdicts, j);
        if (v && v->status >= MG_STATUS_PARTIAL) {
            if (bad < FOLD_NAMES)
                sb_add(&why, "%s%s: %s", bad ? ", " : "", b->bins[i].path, mg_status_str((mg_status)v->status));
            bad++;
        }
    }
    for (size_t e = 0; e < b->nenvs; e++)
        for (size_t k = 0; k < b->envs[e].npackages; k++) {
            const lk_package *p = &b->envs[e].packages[k];
            const lk_verdict *v = verdict_for(p->verdicts, p->nverdicts, j);
            if (v && v->status >= MG_STATUS_PARTIAL) {
                if (bad < FOLD_NAMES)
                    sb_add(&why, "%s%s %s: %s", bad ? ", " : "", p->name, p->version,
                           mg_status_str((mg_status)v->status));
                bad++;
            }
        }
    if (bad > FOLD_NAMES)
        sb_add(&why, " and %zu more", bad - FOLD_NAMES);
    sb_add(&text, "GPU added: ");
    gpu_words(&text, g);
    if (bad)
        sb_add(&text, ": %zu %s not run on it (%s)", bad, bad == 1 ? "thing does" : "things do", why.s);
    sb what = {0};
    gpu_words(&what, g);
    return add(c->d, "gpu_added", g->name, NULL, NULL, what.s, bad > 0, bad ? why.s : NULL, text.s);
}

static int host_changes(cmp *c)
{
    const mg_lock *a = c->a, *b = c->b;
    int rc = MG_OK;
    for (size_t i = 0; !rc && i < a->ngpus && i < MG_MAX_TARGETS; i++) {
        const lk_gpu *g = &a->gpus_[i];
        sb text = {0}, what = {0};
        gpu_words(&what, g);
        if (c->gm[i] < 0) {
            sb_add(&text, "GPU removed: %s", what.s);
            rc = add(c->d, "gpu_removed", g->name, NULL, what.s, NULL, 1, NULL, text.s);
            continue;
        }
        const lk_gpu *h = &b->gpus_[c->gm[i]];
        if (strcmp(g->name, h->name) || g->cc != h->cc) {
            sb now = {0};
            gpu_words(&now, h);
            sb_add(&text, "GPU %s is now %s", what.s, now.s);
            rc = add(c->d, "gpu_changed", h->name, NULL, what.s, now.s, g->cc != h->cc, NULL, text.s);
        }
    }
    for (size_t j = 0; !rc && j < b->ngpus && j < MG_MAX_TARGETS; j++)
        if (!c->matched_b[j])
            rc = gpu_added(c, j);
    if (!rc && c->driver_changed) {
        sb text = {0}, why = {0};
        sb_add(&text, "driver %s -> %s", or_unknown(a->driver_version), or_unknown(b->driver_version));
        if (c->driver_files) {
            sb_add(&why, "%s (%s%s", c->driver_why.s, c->driver_names.s, c->driver_files > FOLD_NAMES ? "" : ")");
            if (c->driver_files > FOLD_NAMES)
                sb_add(&why, " and %zu more files)", c->driver_files - FOLD_NAMES);
            sb_add(&text, ": %s", why.s);
        }
        int matters = c->driver_worse || (a->driver_version && !b->driver_version);
        rc = add(c->d, "driver", "driver", NULL, a->driver_version, b->driver_version, matters, why.s, text.s);
    }
    if (!rc && !same(a->cuda_driver, b->cuda_driver)) {
        sb text = {0};
        sb_add(&text, "CUDA driver %s -> %s", or_unknown(a->cuda_driver), or_unknown(b->cuda_driver));
        rc = add(c->d, "cuda_driver", "cuda_driver", NULL, a->cuda_driver, b->cuda_driver, 0, NULL, text.s);
    }
    if (!rc && !same(a->kernel, b->kernel)) {
        sb text = {0};
        sb_add(&text, "kernel %s -> %s", or_unknown(a->kernel), or_unknown(b->kernel));
        rc = add(c->d, "kernel", "kernel", NULL, a->kernel, b->kernel, 0, NULL, text.s);
    }
    if (!rc && c->arch_changed) {
        sb text = {0}, why = {0};
        sb_add(&text, "CPU %s -> %s", or_unknown(a->cpu_arch), or_unknown(b->cpu_arch));
        if (c->arch_files) {
            sb_add(&why, "%s (%s%s", c->arch_why.s, c->arch_names.s, c->arch_files > FOLD_NAMES ? "" : ")");
            if (c->arch_files > FOLD_NAMES)
                sb_add(&why, " and %zu more files)", c->arch_files - FOLD_NAMES);
            sb_add(&text, ": %s", why.s);
        }
        rc = add(c->d, "cpu_arch", "cpu_arch", NULL, a->cpu_arch, b->cpu_arch, c->arch_worse, why.s, text.s);
    }
    return rc;
}

/* ==== Binaries ==== */

static int failing(const lk_verdict *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].status >= MG_STATUS_PARTIAL)
            return 1;
    return 0;
}

/* "none on GPU0 H200, partial on GPU1 RTX 5090" for the failing verdicts of a lock's item. */
static void failures(sb *b, const mg_lock *l, const lk_verdict *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].status >= MG_STATUS_PARTIAL)
            sb_add(b, "%s%s on %s", k++ ? ", " : "", mg_status_str((mg_status)v[i].status), l->gpus_[v[i].gpu].name);
}

static int binary_pair(cmp *c, const lk_binary *x, const lk_binary *y)
{
    mg_drift *d = c->d;
    sb text = {0}, why = {0};
    if (!x) {   /* new */
        int bad = y->error || failing(y->verdicts, y->nverdicts);
        sb_add(&text, "%s added", y->path);
        if (y->error)
            sb_add(&why, "cannot be read: %s", y->error);
        else
            failures(&why, c->b, y->verdicts, y->nverdicts);
        if (why.n)
            sb_add(&text, ": %s", why.s);
        return add(d, "binary_added", y->path, NULL, NULL, y->sha256 ? y->sha256 : "", bad, why.n ? why.s : NULL,
                   text.s);
    }
    if (!y) {
        sb_add(&text, "%s removed", x->path);
        return add(d, "binary_removed", x->path, NULL, x->sha256 ? x->sha256 : "", NULL, 1, NULL, text.s);
    }
    if (!x->error && y->error) {
        sb_add(&text, "%s cannot be read now: %s", y->path, y->error);
        return add(d, "binary_changed", y->path, NULL, x->sha256, y->error, 1, "cannot be read", text.s);
    }
    trans t[MAX_TRANS];
    size_t n = transitions(c, x->verdicts, x->nverdicts, y->verdicts, y->nverdicts, -1, t);
    int content = !same(x->sha256, y->sha256) || x->size != y->size;
    if (x->error && !y->error) {
        sb_add(&text, "%s can be read now", y->path);
        return add(d, "binary_changed", y->path, NULL, x->error, y->sha256, 0, NULL, text.s);
    }
    if (content) {
        describe(&why, t, n);
        if (x->sha256 && y->sha256 && strcmp(x->sha256, y->sha256))
            sb_add(&text, "%s sha256 changed", y->path);
        else
            sb_add(&text, "%s changed: %llu -> %llu bytes", y->path, (unsigned long long)x->size,
                   (unsigned long long)y->size);
        if (why.n)
            sb_add(&text, ": %s", why.s);
        return add(d, "binary_changed", y->path, NULL, x->sha256, y->sha256, any_worse(t, n), why.s, text.s);
    }
    if (!n)
        return MG_OK;
    /* the same file judged differently: the host explains it when it changed (the driver: PTX, CUDA majors) */
    if (c->driver_changed && (!c->arch_changed || uses_jit(t, n))) {   /* the driver judges PTX and CUDA majors */
        fold(&c->driver_why, &c->driver_names, &c->driver_files, &c->driver_worse, y->path, t, n);
        return MG_OK;
    }
    if (c->arch_changed) {
        fold(&c->arch_why, &c->arch_names, &c->arch_files, &c->arch_worse, y->path, t, n);
        return MG_OK;
    }
    sb before = {0}, after = {0};
    states(&before, t, n, 0);
    states(&after, t, n, 1);
    describe(&why, t, n);
    sb_add(&text, "%s: %s", y->path, why.s);
    return add(d, "verdict", y->path, NULL, before.s, after.s, any_worse(t, n), why.s, text.s);
}

/* Two sorted arrays walked together by key: pair(c, a-item or NULL, b-item or NULL). */
#define MERGE(C, A, NA, B, NB, KEY, PAIR)                                                                           \
    do {                                                                                                          \
        size_t i_ = 0, j_ = 0;                                                                                    \
        while (!rc && (i_ < (NA) || j_ < (NB))) {                                                                 \
            int k_ = i_ == (NA) ? 1 : j_ == (NB) ? -1 : strcmp((A)[i_].KEY, (B)[j_].KEY);                         \
            rc = PAIR(C, k_ <= 0 ? &(A)[i_] : NULL, k_ >= 0 ? &(B)[j_] : NULL);                                   \
            i_ += k_ <= 0;                                                                                        \
            j_ += k_ >= 0;                                                                                        \
        }                                                                                                         \
    } while (0)

/* ==== Python ==== */

/* "+cu128" of a version: 128, 0 none, -1 "+cpu". */
static int local_cuda(const char *version)
{
    const char *plus = strchr(version, '+');
    if (!plus)
        return 0;
    if (!strncmp(plus + 1, "cpu", 3))
        return -1;
    return !strncmp(plus + 1, "cu", 2) ? (int)mg_cuda_tag_parse(plus + 1) : 0;
}

/* A framework that needs CUDA code and lost it: every GPU it runs on is now none. */
static int cuda_gone(const char *name, const trans *t, size_t n)
{
    const mg_framework *fw = mg_framework_find(name, strlen(name));
    if (!fw || !fw->needs_cuda || !n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].after != MG_STATUS_NONE || !mg_framework_runs_on(fw, t[i].cc))
            return 0;
    return 1;
}

typedef struct envpair {
    cmp *c;
    const char *env;
} envpair;

static int package_pair(envpair *e, const lk_package *x, const lk_package *y)
{
    cmp *c = e->c;
    sb text = {0}, why = {0};
    if (!x) {
        int bad = failing(y->verdicts, y->nverdicts);
        sb_add(&text, "package %s %s added in %s", y->name, y->version, e->env);
        failures(&why, c->b, y->verdicts, y->nverdicts);
        if (why.n)
            sb_add(&text, ": %s", why.s);
        return add(c->d, "package_added", y->name, e->env, NULL, y->version, bad, why.s, text.s);
    }
    if (!y) {
        sb_add(&text, "package %s %s removed from %s", x->name, x->version, e->env);
        return add(c->d, "package_removed", x->name, e->env, x->version, NULL, 1, NULL, text.s);
    }
    trans t[MAX_TRANS];
    size_t n = transitions(c, x->verdicts, x->nverdicts, y->verdicts, y->nverdicts, MG_STATUS_NATIVE, t);
    int changed = strcmp(x->version, y->version) != 0;
    if (!changed && !n)
        return MG_OK;
    int cb = local_cuda(x->version), ca = local_cuda(y->version), gone = 0;
    if ((cb > 0 && ca < 0) || cuda_gone(y->name, t, n)) {
        phrase(&why, "CUDA gone");
        gone = 1;
    } else if (cb < 0 && ca > 0)
        phrase(&why, "CUDA %d.%d now", ca / 10, ca % 10);
    else if (cb > 0 && ca > 0 && cb != ca)
        phrase(&why, "CUDA %d.%d -> %d.%d", cb / 10, cb % 10, ca / 10, ca % 10);
    if (!gone)
        describe(&why, t, n);
    if (changed)
        sb_add(&text, "%s %s -> %s", y->name, x->version, y->version);
    else
        sb_add(&text, "%s %s", y->name, y->version);
    if (why.n)
        sb_add(&text, ": %s", why.s);
    const char *verdict = n || gone ? why.s : NULL;
    return add(c->d, "package_changed", y->name, e->env, x->version, y->version, any_worse(t, n) || gone, verdict,
               text.s);
}

static int env_pair(cmp *c, const lk_pyenv *x, const lk_pyenv *y)
{
    sb text = {0};
    int rc = MG_OK;
    if (!x) {
        int bad = 0;
        for (size_t k = 0; k < y->npackages; k++)
            bad |= failing(y->packages[k].verdicts, y->packages[k].nverdicts);
        sb_add(&text, "Python environment %s added (%zu packages)", y->path, y->npackages);
        return add(c->d, "python_added", y->path, NULL, NULL, y->path, bad, NULL, text.s);
    }
    if (!y) {
        sb_add(&text, "Python environment %s removed (%zu packages)", x->path, x->npackages);
        return add(c->d, "python_removed", x->path, NULL, x->path, NULL, 1, NULL, text.s);
    }
    envpair e = {c, y->path};
    MERGE(&e, x->packages, x->npackages, y->packages, y->npackages, name, package_pair);
    return rc;
}

/* ==== Models and images ==== */

static int model_pair(cmp *c, const lk_model *x, const lk_model *y)
{
    sb text = {0};
    if (!x) {
        sb_add(&text, "model %s added%s%s", y->path, y->error ? ": cannot be read: " : "", y->error ? y->error : "");
        return add(c->d, "model_added", y->path, NULL, NULL, y->header_sha256 ? y->header_sha256 : "", 0, NULL, text.s);
    }
    if (!y) {
        sb_add(&text, "model %s removed", x->path);
        return add(c->d, "model_removed", x->path, NULL, x->header_sha256 ? x->header_sha256 : "", NULL, 1, NULL,
                   text.s);
    }
    if (!x->error && y->error) {
        sb_add(&text, "model %s cannot be read now: %s", y->path, y->error);
        return add(c->d, "model_changed", y->path, NULL, x->header_sha256, y->error, 1, NULL, text.s);
    }
    if (x->error && !y->error) {
        sb_add(&text, "model %s can be read now", y->path);
        return add(c->d, "model_changed", y->path, NULL, x->error, y->header_sha256, 0, NULL, text.s);
    }
    if (x->error)
        return MG_OK;
    if (!same(x->header_sha256, y->header_sha256) || x->header_bytes != y->header_bytes ||
        !same(x->format, y->format)) {
        sb_add(&text, "model %s header changed", y->path);
        return add(c->d, "model_changed", y->path, NULL, x->header_sha256, y->header_sha256, 1, NULL, text.s);
    }
    if (x->size != y->size) {
        char b[32], a[32];
        snprintf(b, sizeof b, "%llu", (unsigned long long)x->size);
        snprintf(a, sizeof a, "%llu", (unsigned long long)y->size);
        sb_add(&text, "model %s size changed: %s -> %s bytes", y->path, b, a);
        return add(c->d, "model_changed", y->path, NULL, b, a, 1, NULL, text.s);
    }
    if (x->sha256 && y->sha256 && strcmp(x->sha256, y->sha256)) {
        sb_add(&text, "model %s sha256 changed (same header: the weights differ)", y->path);
        return add(c->d, "model_changed", y->path, NULL, x->sha256, y->sha256, 1, NULL, text.s);
    }
    return MG_OK;
}

static int image_pair(cmp *c, const lk_image *x, const lk_image *y)
{
    sb text = {0};
    if (!x) {
        sb_add(&text, "image %s added", y->path);
        return add(c->d, "image_added", y->path, NULL, NULL, y->digest, 0, NULL, text.s);
    }
    if (!y) {
        sb_add(&text, "image %s removed", x->path);
        return add(c->d, "image_removed", x->path, NULL, x->digest, NULL, 1, NULL, text.s);
    }
    if (!strcmp(x->digest, y->digest))
        return MG_OK;
    sb_add(&text, "image %s digest changed", y->path);
    return add(c->d, "image_changed", y->path, NULL, x->digest, y->digest, 1, NULL, text.s);
}

/* ==== The comparison ==== */

void mg_drift_free(mg_drift *d)
{
    if (!d)
        return;
    free(d->v);
    mg_arena_free(d->arena);
    free(d);
}

int mg_drift_compare(const mg_lock *locked, const mg_lock *now, const char *lock_path, mg_drift **out)
{
    *out = NULL;
    mg_drift *d = mg_calloc(1, sizeof *d), *items = mg_calloc(1, sizeof *items);
    cmp *c = mg_calloc(1, sizeof *c);
    int rc = d && items && c && (d->arena = mg_arena_new()) && (items->arena = mg_arena_new()) &&
                     (d->lock = mg_arena_strdup(d->arena, lock_path ? lock_path : ""))
                 ? MG_OK
                 : MG_E_NOMEM;
    if (!rc) {
        c->a = locked, c->b = now, c->d = items;
        match_gpus(c);
        c->driver_changed = !same(locked->driver_version, now->driver_version);
        c->arch_changed = !same(locked->cpu_arch, now->cpu_arch);
        /* items first: the host's lines carry the verdict changes they explain */
        MERGE(c, locked->bins, locked->nbins, now->bins, now->nbins, path, binary_pair);
        MERGE(c, locked->envs, locked->nenvs, now->envs, now->nenvs, path, env_pair);
        MERGE(c, locked->files, locked->nfiles, now->files, now->nfiles, path, model_pair);
        MERGE(c, locked->images, locked->nimages, now->images, now->nimages, path, image_pair);
    }
    if (!rc) {
        c->d = d;
        rc = host_changes(c);
    }
    for (size_t i = 0; !rc && i < items->n; i++) {
        const mg_drift_change *x = &items->v[i];
        rc = add(d, x->kind, x->subject, x->in, x->before, x->after, x->matters, x->verdict_change, x->text);
    }
    mg_drift_free(items);
    free(c);
    if (rc) {
        mg_drift_free(d);
        return rc;
    }
    *out = d;
    return MG_OK;
}

int mg_drift_run(const char *path, const mg_drift_opts *o, mg_drift **out, char *err, size_t errlen)
{
    *out = NULL;
    mg_lock *locked, *now;
    int rc = mg_lock_load(path, &locked, err, errlen);
    if (rc)
        return rc;
    mg_lock_opts lo = {
        .paths = locked->paths, .npaths = locked->npaths, .models = locked->models, .nmodels = locked->nmodels,
        .matrix = locked->matrix, .gpus = o->gpus ? o->gpus : locked->gpus,
        .driver = o->driver ? o->driver : locked->driver, .arch = o->arch ? o->arch : locked->arch,
        .hash_models = locked->hash_models, .threads = o->threads, .host = o->host, .deadline_at = o->deadline_at,
    };
    if (!(rc = mg_lock_collect(&lo, &now, err, errlen))) {
        if ((rc = mg_drift_compare(locked, now, path, out)))
            snprintf(err, errlen, "out of memory");
        mg_lock_free(now);
    }
    mg_lock_free(locked);
    return rc;
}

size_t mg_drift_count(const mg_drift *d) { return d->n; }
const mg_drift_change *mg_drift_at(const mg_drift *d, size_t i) { return i < d->n ? &d->v[i] : NULL; }
size_t mg_drift_matters(const mg_drift *d) { return d->matters; }
int mg_drift_exit_status(const mg_drift *d) { return d->matters > 0; }

static void head(jw *w, const char *lock, int ok)
{
    jw_report(w, "drift");
    jw_kstr(w, "lock", lock);
    jw_kbool(w, "ok", ok);
}

void mg_drift_json(FILE *f, const mg_drift *d)
{
    jw w = jw_on(f);
    head(&w, d->lock, d->matters == 0);
    jw_key(&w, "error");
    jw_null(&w);
    jw_kuint(&w, "matters", d->matters);
    jw_key(&w, "changes");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->n; i++) {
        const mg_drift_change *c = &d->v[i];
        jw_begin_obj(&w);
        jw_kstr(&w, "kind", c->kind);
        jw_kstr(&w, "subject", c->subject);
        jw_kstr(&w, "in", c->in);
        jw_kstr(&w, "before", c->before);
        jw_kstr(&w, "after", c->after);
        jw_kbool(&w, "matters", c->matters);
        jw_kstr(&w, "verdict_change", c->verdict_change);
        jw_kstr(&w, "text", c->text);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
}

void mg_drift_error_json(FILE *f, const char *lock_path, mg_err e, const char *message)
{
    jw w = jw_on(f);
    head(&w, lock_path, 0);
    jw_key(&w, "error");
    jw_begin_obj(&w);
    jw_kstr(&w, "code", mg_strerror(e));
    jw_kstr(&w, "message", message);
    jw_end_obj(&w);
    jw_kuint(&w, "matters", 0);
    jw_key(&w, "changes");
    jw_begin_arr(&w);
    jw_end_arr(&w);
    jw_end_obj(&w);
}

/*
 * lock.c - `mlgate lock`: the state collected from its inputs - the host (GPUs, driver, CUDA driver, kernel), a
 * scan of the paths against those GPUs, the sha256 of every file with CUDA code, the dist-infos of every
 * site-packages under the paths, and each model file's header digest - into one lock (lock_int.h), sorted.
 */
#define _GNU_SOURCE   /* fstatat, dirfd */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/file.h"
#include "core/sha256.h"
#include "lock/lock_int.h"
#include "mlgate/binaries.h"
#include "mlgate/models.h"

#define WALK_DEPTH 6            /* venv/lib/python3.12/site-packages is 3 deep; a container root's 4 */
#define WALK_ENTRIES 200000     /* directory entries looked at while finding environments, in all */
#define MAX_PYENVS 256
#define MAX_PACKAGES 100000     /* dist-infos read per environment */
#define HASH_CHUNK (1u << 20)   /* bytes hashed between deadline checks */

/* ==== Small helpers ==== */

static const char *const status_names[] = {"native", "jit", "partial", "none"};

int lk_status_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, status_names[i]))
            return i;
    return -1;
}

char *lk_normalize(mg_arena *a, const char *name, size_t len)
{
    char *out = mg_arena_alloc(a, len + 1);
    size_t n = 0;
    for (size_t i = 0; out && i < len; i++) {
        char c = name[i];
        if (c == '-' || c == '_' || c == '.') {
            if (!n || out[n - 1] != '-')
                out[n++] = '-';
        } else {
            out[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
    }
    if (out)
        out[n] = 0;
    return out;
}

static int is_url(const char *s) { return strstr(s, "://") != NULL; }

/* A copy of path without trailing slashes ("/" stays). */
static char *trimmed(mg_arena *a, const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    return mg_arena_strndup(a, path, n);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* n strings copied, trimmed, sorted and made unique; *count how many are left. */
static int copy_inputs(mg_lock *l, const char *const *in, size_t n, const char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!n)
        return MG_OK;
    const char **v = mg_arena_array(l->arena, n, sizeof *v);
    if (!v)
        return MG_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!in[i] || !(v[i] = trimmed(l->arena, in[i])))
            return in[i] ? MG_E_NOMEM : MG_E_ARG;
    qsort(v, n, sizeof *v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || strcmp(v[k - 1], v[i]))
            v[k++] = v[i];
    *out = v;
    *count = k;
    return MG_OK;
}

/* ==== Sorting (the file's order: by path, packages by name) ==== */

#define BY_PATH(fn, type) \
    static int fn(const void *a, const void *b) { return strcmp(((const type *)a)->path, ((const type *)b)->path); }
BY_PATH(cmp_bin, lk_binary)
BY_PATH(cmp_env, lk_pyenv)
BY_PATH(cmp_model, lk_model)
BY_PATH(cmp_image, lk_image)
static int cmp_pkg(const void *a, const void *b)
{
    const lk_package *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->version, y->version);
}

void lk_sort(mg_lock *l)
{
    if (l->nbins)
        qsort(l->bins, l->nbins, sizeof *l->bins, cmp_bin);
    if (l->nenvs)
        qsort(l->envs, l->nenvs, sizeof *l->envs, cmp_env);
    for (size_t i = 0; i < l->nenvs; i++)
        if (l->envs[i].npackages)
            qsort(l->envs[i].packages, l->envs[i].npackages, sizeof *l->envs[i].packages, cmp_pkg);
    if (l->nfiles)
        qsort(l->files, l->nfiles, sizeof *l->files, cmp_model);
    if (l->nimages)
        qsort(l->images, l->nimages, sizeof *l->images, cmp_image);
}

/* ==== The host ==== */

static int collect_host(mg_lock *l, const mg_lock_opts *o, mg_targets *t, char *err, size_t errlen)
{
    mg_target_spec ts = {.gpus = o->gpus, .driver = o->driver, .detect = !o->gpus, .host = o->host, .arch = o->arch};
    int rc = mg_targets_make(&ts, t, err, errlen);
    if (rc)
        return rc;
    mg_gpu_probe *pr = NULL;
    if (!o->gpus) {   /* this machine's: the probe also says each GPU's UUID and the CUDA driver version */
        if (!(pr = mg_malloc(sizeof *pr)))
            return MG_E_NOMEM;
        mg_gpu_detect(o->host, pr);
    }
    l->source = o->gpus ? "given" : "detected";
    l->backend = t->backend;
    l->ngpus = t->n;
    if (t->n && !(l->gpus_ = mg_arena_array(l->arena, t->n, sizeof *l->gpus_)))
        rc = MG_E_NOMEM;
    for (size_t i = 0; !rc && i < t->n; i++) {
        lk_gpu *g = &l->gpus_[i];
        g->cc = t->t[i].cc;
        g->index = t->t[i].source == MG_TARGET_DETECTED ? t->t[i].index : -1;
        if (!(g->name = mg_arena_strdup(l->arena, t->t[i].name)))
            rc = MG_E_NOMEM;
        for (size_t k = 0; pr && k < pr->ngpus && g->index >= 0; k++)
            if (pr->gpus[k].index == g->index && pr->gpus[k].uuid[0] &&
                !(g->uuid = mg_arena_strdup(l->arena, pr->gpus[k].uuid)))
                rc = MG_E_NOMEM;
    }
    char buf[64];
    mg_driver d = t->n ? t->t[0].driver : (mg_driver){0, 0, 0};
    if (!mg_driver_known(d) && o->driver)
        mg_driver_parse(o->driver, &d);
    if (!mg_driver_known(d) && pr)
        d = pr->driver;
    if (!rc && mg_driver_known(d) &&
        !(l->driver_version = mg_arena_strdup(l->arena, mg_driver_str(d, buf, sizeof buf))))
        rc = MG_E_NOMEM;
    if (!rc && pr && pr->cuda_version > 0 &&
        !(l->cuda_driver = mg_arena_printf(l->arena, "%d.%d", pr->cuda_version / 1000, pr->cuda_version % 1000 / 10)))
        rc = MG_E_NOMEM;
    free(pr);
    struct utsname u;
    if (!rc && uname(&u) == 0 && !(l->kernel = mg_arena_strdup(l->arena, u.release)))
        rc = MG_E_NOMEM;
    const char *arch = t->n && t->t[0].cpu_arch[0] ? t->t[0].cpu_arch : NULL;
    mg_cpu cpu;
    if (!arch && mg_cpu_read(o->host, &cpu) == MG_OK && cpu.arch[0])
        arch = cpu.arch;
    if (!rc && arch && !(l->cpu_arch = mg_arena_strdup(l->arena, arch)))
        rc = MG_E_NOMEM;
    if (rc == MG_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* ==== Python environments: the site-packages under the paths, their dist-infos ==== */

typedef struct walk {
    mg_lock *l;
    size_t cap;
    size_t entries;             /* looked at so far (WALK_ENTRIES) */
    int rc;
} walk;

/* "NAME-VERSION.dist-info" -> the package (name normalised); 0 when the name is not one. */
static int dist_info(mg_arena *a, const char *name, lk_package *p)
{
    static const char suffix[] = ".dist-info";
    size_t n = strlen(name), sl = sizeof suffix - 1;
    if (n <= sl || strcmp(name + n - sl, suffix))
        return 0;
    n -= sl;
    const char *dash = memchr(name, '-', n);
    size_t nl = dash ? (size_t)(dash - name) : n;
    if (!nl)
        return 0;
    p->name = lk_normalize(a, name, nl);
    p->version = dash ? mg_arena_strndup(a, dash + 1, n - nl - 1) : mg_arena_strdup(a, "");
    return p->name && p->version ? 1 : -1;
}

static int is_dir_at(int dfd, const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* The environment at path: its dist-info directories. */
static int add_env(walk *w, const char *path)
{
    mg_lock *l = w->l;
    for (size_t i = 0; i < l->nenvs; i++)
        if (!strcmp(l->envs[i].path, path))
            return MG_OK;
    if (l->nenvs == MAX_PYENVS)
        return MG_OK;   /* enough: the rest are not locked */
    if (l->nenvs == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        lk_pyenv *v = mg_arena_array(l->arena, cap, sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        if (l->nenvs)
            memcpy(v, l->envs, l->nenvs * sizeof *v);
        l->envs = v, w->cap = cap;
    }
    lk_pyenv *e = &l->envs[l->nenvs];
    memset(e, 0, sizeof *e);
    if (!(e->path = mg_arena_strdup(l->arena, path)))
        return MG_E_NOMEM;
    DIR *d = opendir(path);
    struct dirent *de;
    size_t cap = 0;
    int rc = MG_OK;
    for (size_t seen = 0; d && !rc && seen < MAX_PACKAGES && (de = readdir(d)) != NULL; seen++) {
        lk_package p = {0};
        int k = dist_info(l->arena, de->d_name, &p);
        if (k < 0)
            rc = MG_E_NOMEM;
        if (k <= 0 || !is_dir_at(dirfd(d), de->d_name))
            continue;
        if (e->npackages == cap) {
            cap = cap ? cap * 2 : 64;
            lk_package *v = mg_arena_array(l->arena, cap, sizeof *v);
            if (!v) {
                rc = MG_E_NOMEM;
                break;
            }
            if (e->npackages)
                memcpy(v, e->packages, e->npackages * sizeof *v);
            e->packages = v;
        }
        e->packages[e->npackages++] = p;
    }
    if (d)
        closedir(d);
    if (!rc)
        l->nenvs++;
    return rc;
}

static int has_dist_info(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int found = 0;
    for (unsigned k = 0; d && !found && k < MAX_PACKAGES && (de = readdir(d)) != NULL; k++) {
        size_t n = strlen(de->d_name);
        found = n > 10 && !strcmp(de->d_name + n - 10, ".dist-info");
    }
    if (d)
        closedir(d);
    return found;
}

static void find_envs(walk *w, const char *path, int depth)
{
    if (w->rc || depth > WALK_DEPTH)
        return;
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    size_t n = 0, cap = 0;
    char **subs = NULL;   /* read whole first: the walk below opens more directories */
    while (!w->rc && w->entries < WALK_ENTRIES && (de = readdir(d)) != NULL) {
        w->entries++;
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || !is_dir_at(dirfd(d), nm))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = mg_realloc(subs, cap * sizeof *v);
            if (!v) {
                w->rc = MG_E_NOMEM;
                break;
            }
            subs = v;
        }
        size_t len = strlen(path) + strlen(nm) + 2;
        if (!(subs[n] = mg_malloc(len))) {
            w->rc = MG_E_NOMEM;
            break;
        }
        snprintf(subs[n], len, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", nm);
        n++;
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(subs[i], '/') + 1;
        size_t bl = strlen(base);
        if (!strcmp(base, "site-packages") || !strcmp(base, "dist-packages")) {
            if (!w->rc)
                w->rc = add_env(w, subs[i]);
        } else if (!(bl > 10 && !strcmp(base + bl - 10, ".dist-info")) && strcmp(base, "__pycache__") &&
                   strcmp(base, ".git")) {
            find_envs(w, subs[i], depth + 1);
        }
        free(subs[i]);
    }
    free(subs);
}

static int collect_envs(mg_lock *l)
{
    walk w = {l, 0, 0, MG_OK};
    for (size_t i = 0; !w.rc && i < l->npaths; i++) {
        struct stat st;
        const char *p = l->paths[i], *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
        if (stat(p, &st) || !S_ISDIR(st.st_mode))
            continue;
        /* a site-packages given itself (any directory holding dist-infos), else those under it */
        if (!strcmp(base, "site-packages") || !strcmp(base, "dist-packages") || has_dist_info(p))
            w.rc = add_env(&w, p);
        else
            find_envs(&w, p, 0);
    }
    return w.rc;
}

/* ==== Binaries: the scan's reports ==== */

/* The verdicts of a report as the lock keeps them: per host GPU with a compute capability (the scan's
 * targets, in order: map[k] is target k's GPU). */
static int verdicts_of(mg_lock *l, const mg_report *r, const size_t *map, size_t nmap, lk_verdict **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t nv = r->nverdicts < nmap ? r->nverdicts : nmap;
    if (!nv)
        return MG_OK;
    if (!(*out = mg_arena_array(l->arena, nv, sizeof **out)))
        return MG_E_NOMEM;
    for (size_t k = 0; k < nv; k++) {
        const mg_verdict *v = &r->verdicts[k];
        (*out)[k] = (lk_verdict){map[k], v->status, v->status == MG_STATUS_JIT ? v->need_isa : 0};
    }
    *n = nv;
    return MG_OK;
}

/* A framework's own report (named after its dist-info in an environment found) onto that package. 1 when it
 * went there, 0 when it is a binary of its own (in a wheel, say). */
static int onto_package(mg_lock *l, const mg_report *r, const size_t *map, size_t nmap, int *rc)
{
    const char *slash = strrchr(r->path, '/');
    if (!r->framework || !slash)
        return 0;
    size_t dl = (size_t)(slash - r->path);
    lk_package want = {0};
    if (dist_info(l->arena, slash + 1, &want) <= 0)
        return 0;
    for (size_t e = 0; e < l->nenvs; e++) {
        lk_pyenv *env = &l->envs[e];
        if (strlen(env->path) != dl || memcmp(env->path, r->path, dl))
            continue;
        for (size_t k = 0; k < env->npackages; k++) {
            lk_package *p = &env->packages[k];
            if (!strcmp(p->name, want.name) && !strcmp(p->version, want.version)) {
                *rc = verdicts_of(l, r, map, nmap, &p->verdicts, &p->nverdicts);
                return 1;
            }
        }
    }
    return 0;
}

static int collect_binaries(mg_lock *l, const mg_lock_opts *o, const mg_targets *t, char *err, size_t errlen)
{
    if (!l->npaths)
        return MG_OK;
    mg_target code[MG_MAX_TARGETS];
    size_t map[MG_MAX_TARGETS], nc = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->t[i].cc) {
            map[nc] = i;
            code[nc++] = t->t[i];
        }
    mg_scan_opts so = {.targets = code, .ntargets = nc, .threads = o->threads, .deadline_at = o->deadline_at};
    mg_scan_result res;
    int rc = mg_scan_paths(&so, l->paths, l->npaths, &res);
    if (rc) {
        snprintf(err, errlen, "scan: %s", res.error);
        mg_scan_result_free(&res);
        return rc;
    }
    if (res.nreports && !(l->bins = mg_arena_array(l->arena, res.nreports, sizeof *l->bins)))
        rc = MG_E_NOMEM;
    for (size_t i = 0; !rc && i < res.nreports; i++) {
        const mg_report *r = res.reports[i];
        if (onto_package(l, r, map, nc, &rc))
            continue;
        lk_binary *b = &l->bins[l->nbins++];
        b->size = r->size;
        b->in_image = r->image != NULL;   /* its image's digest covers it (images[]), not a sha256 of its own */
        if (!(b->path = mg_arena_strdup(l->arena, r->path)))
            rc = MG_E_NOMEM;
        if (!rc && r->err &&
            !(b->error = mg_arena_printf(l->arena, "%s%s%s", mg_strerror((mg_err)r->err), r->detail ? ": " : "",
                                         r->detail ? r->detail : "")))
            rc = MG_E_NOMEM;
        if (!rc)
            rc = verdicts_of(l, r, map, nc, &b->verdicts, &b->nverdicts);
    }
    /* the container images by digest: the manifest's, else the config's (the image ID), else (a flat tar)
     * its one layer's; one per platform of a multi-platform index, named "IMAGE (linux/arm64)" then */
    if (!rc && res.nimages && !(l->images = mg_arena_array(l->arena, res.nimages, sizeof *l->images)))
        rc = MG_E_NOMEM;
    for (size_t i = 0; !rc && i < res.nimages; i++) {
        const mg_image_info *im = &res.images[i];
        int several = 0;
        for (size_t k = 0; k < res.nimages; k++)
            several |= k != i && !strcmp(res.images[k].path, im->path);
        const char *dg = im->digest ? im->digest : im->id ? im->id : im->nlayers ? im->layers[0].digest : NULL;
        lk_image *x = &l->images[l->nimages++];
        x->path = several && im->platform ? mg_arena_printf(l->arena, "%s (%s)", im->path, im->platform)
                                          : mg_arena_strdup(l->arena, im->path);
        x->digest = dg ? mg_arena_strdup(l->arena, dg) : NULL;
        if (!x->path)
            rc = MG_E_NOMEM;
    }
    mg_scan_result_free(&res);
    if (rc == MG_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* ==== Models: their files and headers ==== */

static int add_file(mg_lock *l, size_t *cap, const char *path, const char *format, uint64_t size, uint64_t header,
                    const char *error)
{
    for (size_t i = 0; i < l->nfiles; i++)
        if (!strcmp(l->files[i].path, path))
            return MG_OK;
    if (l->nfiles == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        lk_model *v = mg_arena_array(l->arena, c, sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        if (l->nfiles)
            memcpy(v, l->files, l->nfiles * sizeof *v);
        l->files = v, *cap = c;
    }
    lk_model *f = &l->files[l->nfiles];
    memset(f, 0, sizeof *f);
    f->format = format, f->size = size, f->header_bytes = error ? 0 : header;
    if (!(f->path = mg_arena_strdup(l->arena, path)) || (error && !(f->error = mg_arena_strdup(l->arena, error))))
        return MG_E_NOMEM;
    l->nfiles++;
    return MG_OK;
}

static int collect_models(mg_lock *l, const mg_lock_opts *o)
{
    size_t cap = 0;
    int rc = MG_OK;
    mg_open_opts oo = {o->deadline_at};
    for (size_t i = 0; !rc && i < l->nmodels; i++) {
        const char *p = l->models[i];
        if (is_url(p)) {
            l->skipped_urls++;
            continue;
        }
        mg_model *m = mg_model_open_with(p, &oo);
        if (!m)
            return MG_E_NOMEM;
        if (m->format == MG_FORMAT_GGUF && m->gguf && m->gguf->nshards) {
            for (size_t k = 0; !rc && k < m->gguf->nshards; k++) {
                const mg_gguf_file *s = &m->gguf->shards[k];
                rc = add_file(l, &cap, s->path, "gguf", s->size, s->g.header_bytes, s->err ? s->msg : NULL);
            }
        } else if (m->format == MG_FORMAT_SAFETENSORS && m->st && m->st->nshards) {
            for (size_t k = 0; !rc && k < m->st->nshards; k++) {
                const mg_st_file *s = &m->st->shards[k];
                rc = add_file(l, &cap, s->path, "safetensors", s->size, s->st.header_len + 8, s->err ? s->msg : NULL);
            }
        } else {
            const char *why = mg_model_error(m);
            rc = add_file(l, &cap, p, NULL, 0, 0, why ? why : "not a GGUF or safetensors model");
        }
        mg_model_free(m);
    }
    return rc;
}

/* ==== Digests, on worker threads ==== */

typedef struct hash_job {
    const char *path;           /* the file to read */
    uint64_t limit;             /* hash its first `limit` bytes (UINT64_MAX: all of it) */
    const char **out;           /* where the hex digest goes */
    const char **error;         /* where a failure goes (NULL: leave the digest NULL) */
    char hex[65];
    char why[256];
    int rc;
} hash_job;

typedef struct hashing {
    hash_job *jobs;
    size_t n;
    _Atomic size_t next;
    double deadline_at;
} hashing;

static void hash_one(hash_job *j, double deadline_at)
{
    const uint8_t *map;
    uint64_t size;
    if ((j->rc = mg_map_file(j->path, &map, &size, j->why, sizeof j->why)))
        return;
    uint64_t n = j->limit < size ? j->limit : size;
    if (j->limit != UINT64_MAX && j->limit > size) {
        snprintf(j->why, sizeof j->why, "%s: its header (%llu bytes) runs past its end (%llu)", j->path,
                 (unsigned long long)j->limit, (unsigned long long)size);
        j->rc = MG_E_TRUNCATED;
        mg_unmap_file(map, size);
        return;
    }
    mg_sha256 s;
    mg_sha256_init(&s);
    for (uint64_t at = 0; at < n; at += HASH_CHUNK) {
        if (deadline_at > 0 && mg_now() > deadline_at) {
            snprintf(j->why, sizeof j->why, "%s: the deadline passed while it was read", j->path);
            j->rc = MG_E_TIMEOUT;
            mg_unmap_file(map, size);
            return;
        }
        uint64_t k = n - at < HASH_CHUNK ? n - at : HASH_CHUNK;
        mg_sha256_update(&s, map + at, (size_t)k);
    }
    uint8_t d[32];
    mg_sha256_final(&s, d);
    mg_sha256_hex(d, j->hex);
    mg_unmap_file(map, size);
}

static void *hash_worker(void *arg)
{
    hashing *h = arg;
    for (size_t i; (i = atomic_fetch_add(&h->next, 1)) < h->n;)
        hash_one(&h->jobs[i], h->deadline_at);
    return NULL;
}

static void run_jobs(hashing *h, int threads)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = threads > 0 ? (size_t)threads : cpus > 0 ? (size_t)cpus : 1;
    if (nt > 16)
        nt = 16;
    if (nt > h->n)
        nt = h->n;
    pthread_t th[16];
    size_t started = 0;
    for (size_t i = 1; i < nt; i++)
        if (pthread_create(&th[started], NULL, hash_worker, h) == 0)
            started++;
    hash_worker(h);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* The file a binary's digest is made of: the path itself when it is a file, else the archive it is a member of
 * ("pkg.whl!torch/lib/x.so": pkg.whl); NULL when neither is a regular file (a member of an image layout). */
static char *digest_file(mg_arena *a, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return S_ISREG(st.st_mode) ? mg_arena_strdup(a, path) : NULL;
    for (const char *bang = strchr(path, '!'); bang; bang = strchr(bang + 1, '!')) {
        char *outer = mg_arena_strndup(a, path, (size_t)(bang - path));
        if (outer && stat(outer, &st) == 0)
            return S_ISREG(st.st_mode) ? outer : NULL;
    }
    return NULL;
}

static int digests(mg_lock *l, const mg_lock_opts *o)
{
    size_t max = l->nbins + 2 * l->nfiles;
    if (!max)
        return MG_OK;
    hashing h = {mg_calloc(max, sizeof *h.jobs), 0, 0, o->deadline_at};
    if (!h.jobs)
        return MG_E_NOMEM;
    /* each archive once: members of one wheel share its digest (job_of[i]: the job binary i takes its from) */
    const char **outer = mg_arena_array(l->arena, l->nbins ? l->nbins : 1, sizeof *outer);
    size_t *job_of = mg_arena_array(l->arena, l->nbins ? l->nbins : 1, sizeof *job_of);
    int rc = outer && job_of ? MG_OK : MG_E_NOMEM;
    for (size_t i = 0; !rc && i < l->nbins; i++) {
        lk_binary *b = &l->bins[i];
        job_of[i] = SIZE_MAX;
        if (b->error || b->in_image || !(outer[i] = digest_file(l->arena, b->path)))
            continue;
        int member = strcmp(outer[i], b->path) != 0;   /* "pkg.whl!dir/x.so": pkg.whl, hashed once */
        for (size_t k = 0; member && k < i && job_of[i] == SIZE_MAX; k++)
            if (outer[k] && job_of[k] != SIZE_MAX && !strcmp(outer[k], outer[i]))
                job_of[i] = job_of[k];
        if (job_of[i] == SIZE_MAX) {
            job_of[i] = h.n;
            h.jobs[h.n++] = (hash_job){.path = outer[i], .limit = UINT64_MAX, .out = &b->sha256, .error = &b->error};
        }
    }
    for (size_t i = 0; !rc && i < l->nfiles; i++) {
        lk_model *f = &l->files[i];
        if (f->error)
            continue;
        h.jobs[h.n++] =
            (hash_job){.path = f->path, .limit = f->header_bytes, .out = &f->header_sha256, .error = &f->error};
        if (l->hash_models)
            h.jobs[h.n++] = (hash_job){.path = f->path, .limit = UINT64_MAX, .out = &f->sha256, .error = &f->error};
    }
    if (!rc && h.n)
        run_jobs(&h, o->threads);
    for (size_t i = 0; !rc && i < h.n; i++) {
        hash_job *j = &h.jobs[i];
        if (j->rc)
            rc = !*j->error && !(*j->error = mg_arena_strdup(l->arena, j->why)) ? MG_E_NOMEM : MG_OK;
        else if (!(*j->out = mg_arena_strdup(l->arena, j->hex)))
            rc = MG_E_NOMEM;
    }
    for (size_t i = 0; !rc && i < l->nbins; i++)   /* the other members of a hashed archive */
        if (job_of[i] != SIZE_MAX && h.jobs[job_of[i]].out != &l->bins[i].sha256) {
            l->bins[i].sha256 = *h.jobs[job_of[i]].out;
            l->bins[i].error = *h.jobs[job_of[i]].error;
        }
    free(h.jobs);
    return rc;
}

/* ==== The lock ==== */

void mg_lock_free(mg_lock *l)
{
    if (!l)
        return;
    mg_arena_free(l->arena);
    free(l);
}

static int opt_copy(mg_lock *l, const char *s, const char **out)
{
    *out = NULL;
    return s && !(*out = mg_arena_strdup(l->arena, s)) ? MG_E_NOMEM : MG_OK;
}

int mg_lock_collect(const mg_lock_opts *o, mg_lock **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = 0;
    if (o->npaths > MG_LOCK_MAX_INPUTS || o->nmodels > MG_LOCK_MAX_INPUTS) {
        snprintf(err, errlen, "more than %d paths or model files", MG_LOCK_MAX_INPUTS);
        return MG_E_LIMIT;
    }
    mg_lock *l = mg_calloc(1, sizeof *l);
    mg_targets *t = mg_malloc(sizeof *t);
    int rc = l && t && (l->arena = mg_arena_new()) ? MG_OK : MG_E_NOMEM;
    if (!rc)
        rc = copy_inputs(l, o->paths, o->npaths, &l->paths, &l->npaths);
    if (!rc)
        rc = copy_inputs(l, o->models, o->nmodels, &l->models, &l->nmodels);
    if (!rc && !(rc = opt_copy(l, o->matrix, &l->matrix)) && !(rc = opt_copy(l, o->gpus, &l->gpus)) &&
        !(rc = opt_copy(l, o->driver, &l->driver)))
        rc = opt_copy(l, o->arch, &l->arch);
    if (rc == MG_E_ARG)
        snprintf(err, errlen, "a path that is NULL");
    if (!rc) {
        l->hash_models = o->hash_models != 0;
        rc = collect_host(l, o, t, err, errlen);
    }
    if (!rc && (rc = collect_envs(l)) == MG_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    if (!rc)
        rc = collect_binaries(l, o, t, err, errlen);
    if (!rc && (rc = collect_models(l, o)) == MG_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    if (!rc && (rc = digests(l, o)) == MG_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    free(t);
    if (rc) {
        if (rc == MG_E_NOMEM && !err[0])
            snprintf(err, errlen, "out of memory");
        mg_lock_free(l);
        return rc;
    }
    lk_sort(l);
    *out = l;
    return MG_OK;
}

void mg_lock_count(const mg_lock *l, mg_lock_counts *c)
{
    memset(c, 0, sizeof *c);
    c->gpus = l->ngpus;
    c->binaries = l->nbins;
    for (size_t i = 0; i < l->nbins; i++) {
        int bad = l->bins[i].error != NULL;
        for (size_t k = 0; k < l->bins[i].nverdicts; k++)
            bad |= l->bins[i].verdicts[k].status >= MG_STATUS_PARTIAL;
        c->failing += bad != 0;
    }
    c->pyenvs = l->nenvs;
    for (size_t i = 0; i < l->nenvs; i++)
        c->packages += l->envs[i].npackages;
    c->models = l->nfiles;
    for (size_t i = 0; i < l->nfiles; i++)
        c->model_errors += l->files[i].error != NULL;
    c->skipped_urls = l->skipped_urls;
}

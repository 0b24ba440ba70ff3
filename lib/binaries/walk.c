/*
 * walk.c - from paths to reports: walk directories (never following symlinks),
 * open zip/wheel archives in memory, and scan the files on worker threads; note the
 * frameworks installed there (their dist-info) and apply their own rules
 * (tables/frameworks.c); say so when an input holds nothing to scan.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/arena.h"
#include "core/file.h"
#include "binaries/fmt.h"
#include "binaries/scan_int.h"

#define MAX_DEPTH 128
#define DEFAULT_MAX_MEMBER (4ull << 30)
#define MAX_INSTALLS 64     /* frameworks judged per scan: (directory or wheel, framework) pairs */
#define MAX_DISTS 4         /* dist-infos of one framework in one place told apart (a stale one beside) */

/* A zip archive mapped once and shared by the tasks of its members. */
typedef struct zipmap {
    const uint8_t *map;
    size_t len;
    atomic_int refs;
} zipmap;

typedef struct task {
    char *path;             /* the file, or "archive!member" */
    uint64_t size;
    int err;                /* set when the walk already failed on it */
    const char *detail;
    zipmap *zip;            /* member task: its archive */
    mg_zip_member m;
    int given;              /* named by the caller: a file that holds nothing to scan is an error */
} task;

/* A framework installed in a directory (its dist-info) or carried by a wheel: one per (where, framework). */
typedef struct install {
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
} install;

typedef struct tasks {
    task *v;
    size_t n, cap;
    size_t skipped;
    size_t regular, entries;    /* regular files and entries seen by the directory walk */
    install *in;
    size_t nin, capin;
    int capped;             /* frameworks past MAX_INSTALLS were seen (an error report says so) */
} tasks;

static int add_task(tasks *t, const task *x)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        task *v = mg_realloc(t->v, cap * sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = *x;
    return MG_OK;
}

static int add_error(tasks *t, const char *path, int err, const char *detail)
{
    task x = {0};
    x.path = mg_strdup(path);
    x.err = err;
    x.detail = detail;
    if (!x.path)
        return MG_E_NOMEM;
    return add_task(t, &x);
}

/* ---- frameworks ---------------------------------------------------------- */

static void install_free(install *x)
{
    free(x->where);
    for (unsigned i = 0; i < x->ndist; i++)
        free(x->dist[i].name);
}

/* The install of fw at where (at most MAX_INSTALLS to look through), or NULL. */
static install *install_at(tasks *t, const char *where, const mg_framework *fw)
{
    for (size_t i = 0; i < t->nin; i++)
        if (t->in[i].fw == fw && !strcmp(t->in[i].where, where))
            return &t->in[i];
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
 * x joins t's installs (t owns what it holds from here): merged into the install of the same (where,
 * framework) when there is one, dropped past MAX_INSTALLS (an error report says so, once). *at: its index
 * in t->in, or SIZE_MAX.
 */
static int install_put(tasks *t, install *x, size_t *at)
{
    install *have = install_at(t, x->where, x->fw);
    int rc = MG_OK;
    *at = SIZE_MAX;
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
        *at = (size_t)(have - t->in);
    } else if (t->nin == MAX_INSTALLS) {
        char *path;
        if (!t->capped && asprintf(&path, "%s%s", x->where, x->ndist ? x->dist[0].name : "") >= 0) {
            t->capped = 1;
            rc = add_error(t, path, MG_E_LIMIT, "frameworks (dist-infos) in more than 64 places: those past the "
                                                "64th are not judged (CPU-only builds, GPU floors)");
            free(path);
        }
    } else {
        if (t->nin == t->capin) {
            size_t cap = t->capin ? t->capin * 2 : 8;
            install *v = mg_realloc(t->in, cap * sizeof *v);
            if (!v) {
                install_free(x);
                return MG_E_NOMEM;
            }
            t->in = v;
            t->capin = cap;
        }
        *at = t->nin;
        t->in[t->nin++] = *x;
        return MG_OK;
    }
    install_free(x);
    return rc;
}

/* A directory entry or a wheel's top-level directory `name` (len bytes): a framework's dist-info is recorded
 * (at: its install, or SIZE_MAX). One install per (where, framework), however many dist-infos it has. */
static int add_install(tasks *t, const char *where, const char *name, size_t len, size_t *at)
{
    const char *ver;
    size_t vlen;
    const mg_framework *fw = mg_dist_info(name, len, &ver, &vlen);
    *at = SIZE_MAX;
    if (!fw)
        return MG_OK;
    install *have = install_at(t, where, fw);
    if (have) {
        *at = (size_t)(have - t->in);
        return install_add_dist(have, name, len, ver, vlen);
    }
    install x = {0};
    x.fw = fw;
    int rc = (x.where = mg_strdup(where)) ? install_add_dist(&x, name, len, ver, vlen) : MG_E_NOMEM;
    if (rc) {
        install_free(&x);
        return rc;
    }
    return install_put(t, &x, at);
}

/* torch's version.py text: its version and CUDA build (None: CPU-only), cleaned. */
static void torch_version_py(install *x, const char *text)
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

/* ---- directory walk ----------------------------------------------------- */

/* Directories seen, by (dev, ino), in a hash set: a bind mount cannot make the walk loop. */
typedef struct seen {
    struct seen_key { uint64_t dev, ino; int used; } *v;
    size_t n, cap;          /* cap: 0 or a power of two, at most half full */
} seen;

static size_t seen_slot(const struct seen_key *v, size_t cap, uint64_t dev, uint64_t ino)
{
    uint64_t k[2] = {dev, ino};
    size_t h = (size_t)mg_fnv1a(k, sizeof k) & (cap - 1);
    while (v[h].used && (v[h].dev != dev || v[h].ino != ino))
        h = (h + 1) & (cap - 1);
    return h;
}

/* 1 when (dev, ino) was seen, else records it: 0; -1 out of memory. */
static int seen_add(seen *s, dev_t dev, ino_t ino)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct seen_key *v = mg_calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].used)
                v[seen_slot(v, cap, s->v[i].dev, s->v[i].ino)] = s->v[i];
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    size_t h = seen_slot(s->v, s->cap, (uint64_t)dev, (uint64_t)ino);
    if (s->v[h].used)
        return 1;
    s->v[h].dev = (uint64_t)dev;
    s->v[h].ino = (uint64_t)ino;
    s->v[h].used = 1;
    s->n++;
    return 0;
}

static int add_file(tasks *t, const char *path, const struct stat *st, int given)
{
    if (st->st_size < 64)
        return MG_OK;   /* too small to hold an ELF header: not worth opening */
    task x = {0};
    x.path = mg_strdup(path);
    x.size = (uint64_t)st->st_size;
    x.given = given;
    if (!x.path)
        return MG_E_NOMEM;
    return add_task(t, &x);
}

/*
 * Extensions that are never ELF files or wheels: in a walk they are not even
 * opened (a PyTorch venv holds tens of thousands of them). Named on the command
 * line, any file is examined.
 */
static int never_code(const char *name)
{
    static const char *const ext[] = {
        "py", "pyc", "pyi", "pyx", "pxd", "h", "hpp", "hh", "cuh", "inl", "c", "cc", "cpp", "cu", "txt",
        "md", "rst", "json", "yaml", "yml", "toml", "cfg", "ini", "html", "htm", "js", "css", "png", "jpg",
        "jpeg", "gif", "svg", "csv", "typed", "pem", "xml", "proto", "ipynb", "sh", "tmpl", "mo", "po",
        "pt", "pth", "bin", "safetensors", "gguf", "onnx", "npz", "npy", "pkl", "ckpt", "whl.metadata",
    };
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcmp(dot + 1, ext[i]) == 0)
            return 1;
    return 0;
}

static int walk_dir(tasks *t, seen *sn, int dfd, const char *path, int depth)
{
    struct stat st;
    int again = fstat(dfd, &st) == 0 ? seen_add(sn, st.st_dev, st.st_ino) : 0;
    if (again) {
        close(dfd);
        return again < 0 ? MG_E_NOMEM : MG_OK;
    }
    if (depth > MAX_DEPTH)
        return add_error(t, path, MG_E_LIMIT, "directory nesting deeper than mlgate follows");
    if (mg_pseudo_fs(dfd)) {   /* /proc, /sys: no binaries, sizes that lie, reads that block */
        close(dfd);
        if (depth == 0)
            return add_error(t, path, MG_E_UNSUPPORTED, "a directory of /proc, /sys or the like: not scanned");
        t->skipped++;
        return MG_OK;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return add_error(t, path, MG_E_IO, strerror(errno));
    }
    char *where;   /* this directory as its entries' paths start: "env/site-packages/" */
    if (asprintf(&where, "%s%s", path, path[0] && path[strlen(path) - 1] == '/' ? "" : "/") < 0) {
        closedir(d);
        return MG_E_NOMEM;
    }
    int rc = MG_OK;
    struct dirent *de;
    size_t torch_at = SIZE_MAX;   /* a torch installed here (its dist-info in this directory) */
    while (rc == MG_OK && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        t->entries++;
        if (de->d_type == DT_REG)
            t->regular++;
        /* readdir's type spares a stat() for most entries. */
        if (de->d_type == DT_LNK || de->d_type == DT_FIFO || de->d_type == DT_SOCK || de->d_type == DT_CHR ||
            de->d_type == DT_BLK) {
            t->skipped++;
            continue;
        }
        if (de->d_type == DT_REG && never_code(de->d_name))
            continue;
        char *child;
        if (asprintf(&child, "%s%s", where, de->d_name) < 0) {
            rc = MG_E_NOMEM;
            break;
        }
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = add_error(t, child, MG_E_IO, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            size_t at;
            rc = add_install(t, where, de->d_name, strlen(de->d_name), &at);
            if (at != SIZE_MAX && !strcmp(t->in[at].fw->dist, "torch"))
                torch_at = at;
            int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (rc == MG_OK)
                rc = cfd < 0 ? add_error(t, child, MG_E_IO, strerror(errno))
                             : walk_dir(t, sn, cfd, child, depth + 1);
            else if (cfd >= 0)
                close(cfd);
        } else if (S_ISREG(st.st_mode)) {
            if (de->d_type != DT_REG)
                t->regular++;   /* a filesystem that does not say the type in readdir */
            rc = never_code(de->d_name) ? MG_OK : add_file(t, child, &st, 0);
        } else {
            t->skipped++;   /* symlinks (the target is scanned where it lives), devices, FIFOs */
        }
        free(child);
    }
    /* The torch installed here (only here: nested ones are read by their own directory): its version.py
     * says which build it is (None: CPU-only). */
    if (rc == MG_OK && torch_at != SIZE_MAX) {
        char *vp, *text = NULL, err[64];
        size_t len;
        if (asprintf(&vp, "%storch/version.py", where) < 0) {
            rc = MG_E_NOMEM;
        } else {
            if (mg_read_all(vp, 64 << 10, &text, &len, err, sizeof err) == MG_OK)
                torch_version_py(&t->in[torch_at], text);
            free(text);
            free(vp);
        }
    }
    free(where);
    closedir(d);
    return rc;
}

static int has_file(int dfd, const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* A container image unpacked: an OCI image layout ("oci-layout" beside "index.json"; docker save writes one
 * since Docker 25) or docker save's older layout ("manifest.json" beside "repositories"). NULL otherwise. */
static const char *image_dir(int dfd)
{
    if (has_file(dfd, "oci-layout") && has_file(dfd, "index.json"))
        return "a container image (OCI image layout): not supported yet";
    if (has_file(dfd, "manifest.json") && has_file(dfd, "repositories"))
        return "a container image (docker save layout): not supported yet";
    return NULL;
}

/*
 * Whether a file's first bytes (up to 4 KiB) are text: a script ("#!"), or UTF-8 without NUL or other
 * control characters than tab, newline, CR, form feed. A sequence cut by the end of the window counts.
 */
static int is_text(const uint8_t *b, size_t n)
{
    if (n >= 2 && b[0] == '#' && b[1] == '!')
        return 1;
    for (size_t i = 0; i < n;) {
        uint8_t c = b[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t k = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
        if (!k)
            return 0;
        for (size_t j = 1; j <= k; j++)
            if (i + j < n && (b[i + j] & 0xc0) != 0x80)
                return 0;
        i += k + 1;
    }
    return n > 0;
}

static int add_path(tasks *t, seen *sn, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)   /* a path given by the user may be a symlink: follow it */
        return add_error(t, path, MG_E_IO, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return add_error(t, path, MG_E_IO, strerror(errno));
        const char *image = image_dir(fd);
        if (image) {
            close(fd);
            return add_error(t, path, MG_E_UNSUPPORTED, image);
        }
        size_t regular = t->regular, entries = t->entries, tasks_before = t->n, seen_before = sn->n;
        int rc = walk_dir(t, sn, fd, path, 0);
        /* Nothing to scan at all is not a pass: a directory of Python sources is (no CUDA code), an empty one is not. */
        if (rc == MG_OK && t->regular == regular && t->n == tasks_before && sn->n > seen_before)
            rc = add_error(t, path, MG_E_NOTFOUND, t->entries == entries
                               ? "nothing to scan in an empty directory"
                               : "no regular file to scan in it (only symlinks, special files or empty directories)");
        return rc;
    }
    if (!S_ISREG(st.st_mode))
        return add_error(t, path, MG_E_UNSUPPORTED, "not a regular file or directory");
    if (st.st_size < 64) {   /* a short script is text without CUDA code, like a long one; other bytes are not */
        uint8_t head[64];
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        ssize_t got = fd < 0 ? -1 : pread(fd, head, sizeof head, 0);
        if (fd >= 0)
            close(fd);
        if (got > 0 && is_text(head, (size_t)got))
            return MG_OK;
        return add_error(t, path, MG_E_FORMAT, "too small to be an ELF file or an archive");
    }
    return add_file(t, path, &st, 1);
}

/* ---- archives ----------------------------------------------------------- */

static void zip_release(zipmap *z)
{
    if (z && atomic_fetch_sub(&z->refs, 1) == 1) {
        munmap((void *)z->map, z->len);
        free(z);
    }
}

/* Turns an archive into one task per member (members are peeked at by the workers). */
static int expand_zip(tasks *t, const char *path, const uint8_t *map, size_t len, mg_report **err)
{
    mg_zip z;
    const char *why;
    int rc = mg_zip_open(&z, map, len, &why);
    if (rc) {
        *err = mg_report_new(path);
        if (*err)
            mg_report_fail(*err, rc, why);
        munmap((void *)map, len);
        return MG_OK;
    }
    zipmap *zm = mg_calloc(1, sizeof *zm);
    if (!zm)
        return MG_E_NOMEM;
    zm->map = map;
    zm->len = len;
    atomic_init(&zm->refs, 1);
    mg_zip_member m;
    int more;
    char *where = NULL, *torch_py = NULL;
    if (asprintf(&where, "%s!", path) < 0) {
        zip_release(zm);
        return MG_E_NOMEM;
    }
    while ((more = mg_zip_next(&z, &m, &why)) == 1) {
        /* A wheel's frameworks: its top-level NAME-VERSION.dist-info, and torch's version.py. */
        const char *slash = memchr(m.name, '/', m.namelen);
        size_t cl = slash ? (size_t)(slash - m.name) : 0;
        size_t at;
        if (cl > 10 && (rc = add_install(t, where, m.name, cl, &at)) != MG_OK)
            break;
        if (!torch_py && m.namelen == 16 && !memcmp(m.name, "torch/version.py", 16) && m.usize < (64u << 10) &&
            (m.method == 0 ? m.usize <= m.csize : m.usize / 1032 <= m.csize + 1) &&
            (torch_py = mg_calloc(1, (size_t)m.usize + 1)) != NULL &&
            mg_zip_extract(&z, &m, (uint8_t *)torch_py, (size_t)m.usize, &why) != MG_OK) {
            free(torch_py);
            torch_py = NULL;
        }
        if (m.usize < 64 || (m.namelen && m.name[m.namelen - 1] == '/'))
            continue;
        task x = {0};
        if (asprintf(&x.path, "%s!%.*s", path, (int)m.namelen, m.name) < 0) {
            rc = MG_E_NOMEM;
            break;
        }
        x.size = m.usize;
        x.zip = zm;
        x.m = m;
        atomic_fetch_add(&zm->refs, 1);
        if ((rc = add_task(t, &x)) != MG_OK) {
            free(x.path);
            zip_release(zm);
            break;
        }
    }
    if (more < 0 && rc == MG_OK) {
        *err = mg_report_new(path);
        if (*err)
            mg_report_fail(*err, -more, why);
    }
    install *torch = torch_py ? install_at(t, where, mg_framework_find("torch", 5)) : NULL;
    if (torch)
        torch_version_py(torch, torch_py);
    free(torch_py);
    free(where);
    zip_release(zm);
    return rc;
}

/* ---- workers ------------------------------------------------------------ */

typedef struct pool {
    const mg_scan_opts *o;
    tasks *t;
    mg_report **out;        /* one slot per task below limit */
    size_t limit;           /* tasks this round may take (archives add more) */
    atomic_size_t next, done;
    atomic_size_t files, bytes;
    pthread_mutex_t lock;   /* guards new tasks from archives found by workers */
} pool;

static mg_report *fail(const char *path, int err, const char *detail)
{
    mg_report *r = mg_report_new(path);
    if (r)
        mg_report_fail(r, err, detail);
    return r;
}

static mg_report *keep(const mg_scan_opts *o, mg_report *r)
{
    if (r && !r->err && !r->nfatbins && !o->keep_all) {
        mg_report_free(r);
        return NULL;
    }
    return r;
}

static mg_report *run_member(pool *p, task *x)
{
    const mg_scan_opts *o = p->o;
    mg_zip z = {x->zip->map, x->zip->len, 0, 0, 0, 0, 0};
    const char *why;
    uint8_t head[64];
    if (mg_zip_extract(&z, &x->m, head, sizeof head, &why) != MG_OK)
        return fail(x->path, MG_E_COMPRESSION, why);
    if (!mg_elf_is_elf(head, sizeof head))
        return NULL;
    atomic_fetch_add(&p->files, 1);
    uint64_t cap = o->max_member ? o->max_member : DEFAULT_MAX_MEMBER;
    if (x->m.usize > cap) {
        char *d;
        mg_report *r = NULL;
        if (asprintf(&d, "member inflates to %llu bytes, over the %llu-byte limit (--max-member)",
                     (unsigned long long)x->m.usize, (unsigned long long)cap) >= 0) {
            r = fail(x->path, MG_E_LIMIT, d);
            free(d);
        }
        return r;
    }
    if (x->m.method == 0) {   /* stored: scan in place, the bytes stored (usize is only the header's word) */
        if (x->m.usize > x->m.csize)
            return fail(x->path, MG_E_TRUNCATED, "stored member is shorter than its declared size");
        atomic_fetch_add(&p->bytes, x->m.usize);
        return keep(o, mg_scan_buffer(o, x->path, z.buf + x->m.data_off, (size_t)x->m.usize));
    }
    /* deflate expands at most 1032-fold: a member claiming more is malformed, and no buffer is allocated */
    if (x->m.usize / 1032 > x->m.csize + 1)
        return fail(x->path, MG_E_COMPRESSION, "member claims more bytes than deflate can expand its data to");
    uint8_t *buf = mg_malloc((size_t)x->m.usize);
    if (!buf)
        return fail(x->path, MG_E_NOMEM, "cannot hold the inflated member in memory");
    mg_report *r;
    if (mg_zip_extract(&z, &x->m, buf, (size_t)x->m.usize, &why) != MG_OK)
        r = fail(x->path, MG_E_COMPRESSION, why);
    else
        r = keep(o, mg_scan_buffer(o, x->path, buf, (size_t)x->m.usize));
    atomic_fetch_add(&p->bytes, x->m.usize);
    free(buf);
    return r;
}

#define TAR_BLOCK 512u
#define TAR_MAX_HEADERS 65536u

/* A tar member's name is "manifest.json" (docker save) or "oci-layout" (an OCI layout), at the top. */
static int tar_name_is(const uint8_t *h, const char *want)
{
    char name[101];
    memcpy(name, h, 100);
    name[100] = 0;
    const char *n = !strncmp(name, "./", 2) ? name + 2 : name;
    return !strcmp(n, want) && !memcmp(h + 345, "\0", 1);   /* no ustar prefix: at the top */
}

/*
 * What a file named by the caller is when it is neither ELF nor zip: a container image (docker save,
 * OCI layout) or other tar, compressed data, or nothing mlgate reads. Sets *why; returns the error.
 * A tar's headers are walked (at most TAR_MAX_HEADERS, each size checked against the file's).
 */
static int nothing_to_scan(int fd, size_t len, const char **why)
{
    uint8_t h[TAR_BLOCK];
    if (len >= TAR_BLOCK && pread(fd, h, TAR_BLOCK, 0) == (ssize_t)TAR_BLOCK && !memcmp(h + 257, "ustar", 5)) {
        int docker = 0, oci = 0;
        uint64_t off = 0;
        for (unsigned k = 0; k < TAR_MAX_HEADERS && off + TAR_BLOCK <= len; k++) {
            if (pread(fd, h, TAR_BLOCK, (off_t)off) != (ssize_t)TAR_BLOCK || !h[0])
                break;
            docker |= tar_name_is(h, "manifest.json");
            oci |= tar_name_is(h, "oci-layout");
            uint64_t size = 0;
            int i = 124;
            while (i < 136 && h[i] == ' ')
                i++;
            for (; i < 136 && h[i] >= '0' && h[i] <= '7'; i++)
                size = size * 8 + (uint64_t)(h[i] - '0');   /* at most 12 octal digits: < 2^36, cannot wrap */
            uint64_t next = off + TAR_BLOCK + (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
            if (next <= off || next > len)
                break;
            off = next;
        }
        *why = docker ? "a container image (docker save tarball): not supported yet"
             : oci    ? "a container image (OCI image layout tarball): not supported yet"
                      : "a tar archive: not supported yet (unpack it and scan the directory)";
        return MG_E_UNSUPPORTED;
    }
    uint8_t m[4];
    if (pread(fd, m, 4, 0) == 4 && m[0] == 0x1f && m[1] == 0x8b) {
        *why = "gzip-compressed data (unpack it and scan what it holds)";
        return MG_E_UNSUPPORTED;
    }
    if (pread(fd, m, 4, 0) == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
        *why = "zstd-compressed data (unpack it and scan what it holds)";
        return MG_E_UNSUPPORTED;
    }
    *why = "not an ELF file, a wheel (zip), a text file or a directory: nothing to scan in it";
    return MG_E_FORMAT;
}

static mg_report *run_file(pool *p, task *x)
{
    const char *r_why = NULL;
    int fd = open(x->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail(x->path, MG_E_IO, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(x->path, MG_E_IO, "changed while being scanned");
    }
    if (mg_pseudo_fs(fd)) {
        close(fd);
        return fail(x->path, MG_E_UNSUPPORTED, "a file of /proc, /sys or the like: not scanned");
    }
    size_t len = (size_t)st.st_size;
    uint8_t head[4];
    if (len < 64 || pread(fd, head, 4, 0) != 4 ||
        !(mg_elf_is_elf(head, 4) || mg_zip_is_zip(head, 4))) {
        mg_report *r = NULL;
        uint8_t text[4096];
        ssize_t got;
        if (x->given && len >= 64 && !((got = pread(fd, text, sizeof text, 0)) > 0 && is_text(text, (size_t)got))) {
            int e = nothing_to_scan(fd, len, &r_why);   /* a script is text: no CUDA code, no error */
            r = fail(x->path, e, r_why);
        }
        close(fd);
        return r;
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int merr = errno;
    close(fd);
    if (map == MAP_FAILED)
        return fail(x->path, MG_E_IO, strerror(merr));
    if (mg_zip_is_zip(head, 4)) {
        tasks more = {0};
        mg_report *err = NULL;
        int rc = expand_zip(&more, x->path, map, len, &err);
        pthread_mutex_lock(&p->lock);
        /* Members are appended: workers pick them up after the current tasks. */
        for (size_t i = 0; i < more.n && rc == MG_OK; i++)
            rc = add_task(p->t, &more.v[i]);
        /* Its frameworks join the walk's (the tasks' array owns them from here). */
        for (size_t i = 0; i < more.nin; i++) {
            size_t at;
            if (rc == MG_OK)
                rc = install_put(p->t, &more.in[i], &at);
            else
                install_free(&more.in[i]);
        }
        pthread_mutex_unlock(&p->lock);
        free(more.v);
        free(more.in);
        return err;
    }
    atomic_fetch_add(&p->files, 1);
    atomic_fetch_add(&p->bytes, len);
    madvise(map, len, MADV_RANDOM);
    mg_report *r = keep(p->o, mg_scan_buffer(p->o, x->path, map, len));
    munmap(map, len);
    return r;
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = atomic_load(&p->next);
        if (i >= p->limit) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        atomic_store(&p->next, i + 1);
        task x = p->t->v[i];  /* copy: the array may grow while we work */
        pthread_mutex_unlock(&p->lock);
        mg_report *r;
        if (x.err)
            r = fail(x.path, x.err, x.detail);
        else if (p->o->deadline_at > 0 && mg_now() >= p->o->deadline_at)
            r = fail(x.path, MG_E_TIMEOUT, "the deadline passed before this file was scanned");
        else if (x.zip)
            r = run_member(p, &x);
        else
            r = run_file(p, &x);
        zip_release(x.zip);
        pthread_mutex_lock(&p->lock);
        p->out[i] = r;
        size_t d = atomic_fetch_add(&p->done, 1) + 1;
        size_t total = p->t->n;
        pthread_mutex_unlock(&p->lock);
        if (p->o->progress)
            p->o->progress(p->o->progress_ud, d, total);
    }
    return NULL;
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
static int apply_frameworks(const mg_scan_opts *o, install *in, size_t n, mg_scan_result *out)
{
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

static int by_size_desc(const void *a, const void *b)
{
    const task *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

int mg_walk_scan(const mg_scan_opts *o, const char *const *paths, size_t npaths, mg_scan_result *out)
{
    tasks t = {0};
    seen sn = {0};
    int rc = MG_OK;
    for (size_t i = 0; i < npaths && rc == MG_OK; i++)
        rc = add_path(&t, &sn, paths[i]);
    free(sn.v);
    /* Largest first, so one big library does not finish last on one core. */
    if (t.n)
        qsort(t.v, t.n, sizeof *t.v, by_size_desc);

    pool p = {0};
    p.o = o;
    p.t = &t;
    pthread_mutex_init(&p.lock, NULL);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = o->threads > 0 ? o->threads : (int)(ncpu > 0 ? ncpu : 1);
    if (nthreads > 256)
        nthreads = 256;
    /* Archive members are added as archives are opened: run rounds until none are left. */
    size_t cap = 0;
    pthread_t th[256];
    while (rc == MG_OK && atomic_load(&p.next) < t.n) {
        mg_report **v = mg_realloc(p.out, t.n * sizeof *v);
        if (!v) {
            rc = MG_E_NOMEM;
            break;
        }
        memset(v + cap, 0, (t.n - cap) * sizeof *v);
        p.out = v;
        cap = p.limit = t.n;
        int started = 0;
        for (int k = 0; k < nthreads; k++)
            if (pthread_create(&th[k], NULL, worker, &p) == 0)
                started++;
        if (!started)
            worker(&p);
        for (int k = 0; k < started; k++)
            pthread_join(th[k], NULL);
    }
    pthread_mutex_destroy(&p.lock);

    out->skipped = t.skipped;
    out->files = atomic_load(&p.files);
    out->bytes = atomic_load(&p.bytes);
    out->reports = mg_calloc(t.n + 2 * t.nin + 1, sizeof *out->reports);   /* room for 2 reports per framework */
    if (!out->reports)
        rc = MG_E_NOMEM;
    for (size_t i = 0; i < t.n; i++) {
        if (out->reports && i < cap && p.out[i])
            out->reports[out->nreports++] = p.out[i];
        else if (i < cap)
            mg_report_free(p.out[i]);
        free(t.v[i].path);
    }
    if (rc == MG_OK)
        rc = apply_frameworks(o, t.in, t.nin, out);
    for (size_t i = 0; i < t.nin; i++)
        install_free(&t.in[i]);
    free(t.in);
    free(t.v);
    free(p.out);
    return rc;
}

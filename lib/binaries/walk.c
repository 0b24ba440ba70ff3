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
#include "core/arena.h"
#include "core/file.h"
#include "binaries/fmt.h"
#include "binaries/scan_int.h"

#define MAX_DEPTH 128
#define DEFAULT_MAX_MEMBER (4ull << 30)

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

/* A framework installed in a directory (its dist-info) or carried by a wheel. */
typedef struct install {
    char *where;            /* what its files' report paths start with: "env/site-packages/", "x.whl!" */
    char *report;           /* its dist-info: the name of a report about it */
    const mg_framework *fw;
    char version[64];       /* from the dist-info's name, then version.py */
    char cuda[16];          /* torch's CUDA build ("12.8"; "" CPU-only) when cuda_known */
    int cuda_known;
} install;

typedef struct tasks {
    task *v;
    size_t n, cap;
    size_t skipped;
    size_t regular, entries;    /* regular files and entries seen by the directory walk */
    install *in;
    size_t nin, capin;
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

/* A framework's dist-info "NAME-VERSION.dist-info" (len bytes): records it, when the table knows it. */
static int add_install(tasks *t, const char *where, const char *report, const char *name, size_t len)
{
    static const char suffix[] = ".dist-info";
    size_t sl = sizeof suffix - 1;
    if (len <= sl || memcmp(name + len - sl, suffix, sl) != 0)
        return MG_OK;
    const char *dash = memchr(name, '-', len - sl);
    const mg_framework *fw = dash ? mg_framework_find(name, (size_t)(dash - name)) : NULL;
    if (!fw)
        return MG_OK;
    for (size_t i = 0; i < t->nin; i++)
        if (!strcmp(t->in[i].report, report))
            return MG_OK;
    if (t->nin == t->capin) {
        size_t cap = t->capin ? t->capin * 2 : 8;
        install *v = mg_realloc(t->in, cap * sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        t->in = v;
        t->capin = cap;
    }
    install x = {0};
    x.fw = fw;
    x.where = mg_strdup(where);
    x.report = mg_strdup(report);
    if (!x.where || !x.report) {
        free(x.where);
        free(x.report);
        return MG_E_NOMEM;
    }
    size_t vl = (size_t)(name + len - sl - dash - 1);
    snprintf(x.version, sizeof x.version, "%.*s", (int)vl, dash + 1);
    t->in[t->nin++] = x;
    return MG_OK;
}

/* torch's version.py text: its version and CUDA build (None: CPU-only) into every torch install at where. */
static void torch_version_py(tasks *t, const char *where, const char *text)
{
    char v[64], cuda[16];
    int got = mg_py_version_file(text, v, sizeof v, cuda, sizeof cuda);
    for (size_t i = 0; i < t->nin; i++) {
        install *x = &t->in[i];
        if (strcmp(x->fw->dist, "torch") || strcmp(x->where, where))
            continue;
        if (got & 1)
            snprintf(x->version, sizeof x->version, "%s", v);
        if (got & 2) {
            snprintf(x->cuda, sizeof x->cuda, "%s", cuda);
            x->cuda_known = 1;
        }
    }
}

/* ---- directory walk ----------------------------------------------------- */

/* Directories seen, by (dev, ino): a bind mount cannot make the walk loop. */
typedef struct seen {
    struct { dev_t dev; ino_t ino; } *v;
    size_t n, cap;
} seen;

static int seen_add(seen *s, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < s->n; i++)   /* directories are few next to files */
        if (s->v[i].dev == dev && s->v[i].ino == ino)
            return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *v = mg_realloc(s->v, cap * sizeof *s->v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].dev = dev;
    s->v[s->n].ino = ino;
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
    if (fstat(dfd, &st) == 0 && seen_add(sn, st.st_dev, st.st_ino))
        return MG_OK;
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
    int rc = MG_OK;
    struct dirent *de;
    size_t before = t->nin;
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
        if (asprintf(&child, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", de->d_name) < 0)
            return MG_E_NOMEM;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = add_error(t, child, MG_E_IO, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            char *where;
            if (asprintf(&where, "%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/") < 0) {
                free(child);
                closedir(d);
                return MG_E_NOMEM;
            }
            rc = add_install(t, where, child, de->d_name, strlen(de->d_name));
            free(where);
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
    /* A torch found here: its version.py says which build it is (None: CPU-only). */
    for (size_t i = before; i < t->nin && rc == MG_OK; i++) {
        if (strcmp(t->in[i].fw->dist, "torch"))
            continue;
        char *vp, *text = NULL, err[64];
        size_t len;
        if (asprintf(&vp, "%storch/version.py", t->in[i].where) < 0) {
            rc = MG_E_NOMEM;
            break;
        }
        if (mg_read_all(vp, 64 << 10, &text, &len, err, sizeof err) == MG_OK)
            torch_version_py(t, t->in[i].where, text);
        free(text);
        free(vp);
    }
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
            rc = add_error(t, path, MG_E_FORMAT, t->entries == entries
                               ? "nothing scannable: an empty directory"
                               : "nothing scannable: no regular files (only symlinks, special files or empty directories)");
        return rc;
    }
    if (!S_ISREG(st.st_mode))
        return add_error(t, path, MG_E_UNSUPPORTED, "not a regular file or directory");
    if (st.st_size < 64)
        return add_error(t, path, MG_E_FORMAT, "too small to be an ELF file or an archive");
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
        if (cl > 10 && !memcmp(slash - 10, ".dist-info", 10)) {
            char *rep;
            if (asprintf(&rep, "%s%.*s", where, (int)(slash - m.name), m.name) < 0) {
                rc = MG_E_NOMEM;
                break;
            }
            rc = add_install(t, where, rep, m.name, (size_t)(slash - m.name));
            free(rep);
            if (rc)
                break;
        }
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
    if (torch_py)
        torch_version_py(t, where, torch_py);
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
        *why = "gzip-compressed data: nothing scannable (unpack it and scan what it holds)";
        return MG_E_UNSUPPORTED;
    }
    if (pread(fd, m, 4, 0) == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
        *why = "zstd-compressed data: nothing scannable (unpack it and scan what it holds)";
        return MG_E_UNSUPPORTED;
    }
    *why = "nothing scannable: not an ELF file, a wheel (zip) or a directory";
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
        if (x->given && len >= 64) {
            int e = nothing_to_scan(fd, len, &r_why);
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
            install *v = rc == MG_OK && p->t->nin == p->t->capin
                             ? mg_realloc(p->t->in, (p->t->capin ? p->t->capin * 2 : 8) * sizeof *v) : NULL;
            if (v) {
                p->t->in = v;
                p->t->capin = p->t->capin ? p->t->capin * 2 : 8;
            }
            if (rc == MG_OK && p->t->nin < p->t->capin) {
                p->t->in[p->t->nin++] = more.in[i];
            } else {
                free(more.in[i].where);
                free(more.in[i].report);
            }
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

/* Whether a report's path lies in one of the framework's code directories at x->where. */
static int in_code_dirs(const install *x, const char *path)
{
    size_t wl = strlen(x->where);
    if (strncmp(path, x->where, wl) != 0 || !x->fw->code_dirs)
        return 0;
    const char *rest = path + wl, *d = x->fw->code_dirs;
    while (*d) {
        size_t l = strcspn(d, "|");
        if (!strncmp(rest, d, l) && rest[l] == '/')
            return 1;
        d += l + (d[l] == '|');
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

/* "12.8" -> 128; 0 when it is no CUDA version. */
static unsigned cuda_num(const char *s)
{
    unsigned maj, min;
    return sscanf(s, "%u.%u", &maj, &min) == 2 && maj < 100 && min < 10 ? maj * 10 + min : 0;
}

/* The CUDA version XYZ of a per-CUDA library "…/bitsandbytes/libbitsandbytes_cuda128.so" at x->where, else 0. */
static unsigned per_cuda_version(const install *x, const char *path)
{
    size_t wl = strlen(x->where);
    const char *lib = x->fw->per_cuda_lib, *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!lib || strncmp(path, x->where, wl) != 0 || strncmp(base, lib, strlen(lib)) != 0)
        return 0;
    unsigned v = 0;
    for (const char *c = base + strlen(lib); *c >= '0' && *c <= '9' && v < 10000; c++)
        v = v * 10 + (unsigned)(*c - '0');
    return v;
}

/*
 * bitsandbytes ships one library per CUDA version and loads the one for torch's CUDA (an exact match,
 * else the newest of the same major below it); the others are never loaded: their reports go.
 */
static void drop_unused_per_cuda(const install *x, const install *torch, mg_scan_result *out)
{
    unsigned want = torch && torch->cuda_known ? cuda_num(torch->cuda) : 0, chosen = 0;
    if (!torch || !torch->cuda_known)
        return;   /* which one loads cannot be told here: every one counts */
    for (size_t i = 0; i < out->nreports && want; i++) {
        unsigned v = per_cuda_version(x, out->reports[i]->path);
        if (v && v <= want && v / 10 == want / 10 && v > chosen)
            chosen = v;   /* a CPU-only torch (want 0) loads none of them */
    }
    size_t k = 0;
    for (size_t i = 0; i < out->nreports; i++) {
        unsigned v = per_cuda_version(x, out->reports[i]->path);
        if (v && v != chosen)
            mg_report_free(out->reports[i]);
        else
            out->reports[k++] = out->reports[i];
    }
    out->nreports = k;
}

__attribute__((format(printf, 2, 3)))
static void set_reason(mg_verdict *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);   /* cut at MG_REASON_MAX: the words fit, URLs last */
    va_end(ap);
}

/* The report about a framework itself, named after its dist-info: a verdict per target. */
static int framework_report(const mg_scan_opts *o, const install *x, int cpu_only, mg_scan_result *out)
{
    mg_report *r = mg_report_new(x->report);
    if (!r)
        return MG_E_NOMEM;
    r->framework = mg_arena_printf(r->arena, "%s %s", x->fw->name, x->version);
    r->nverdicts = o->ntargets;
    r->verdicts = mg_arena_array(r->arena, o->ntargets ? o->ntargets : 1, sizeof *r->verdicts);
    if (!r->framework || !r->verdicts) {
        mg_report_free(r);
        return MG_E_NOMEM;
    }
    memset(r->verdicts, 0, (o->ntargets ? o->ntargets : 1) * sizeof *r->verdicts);
    for (size_t i = 0; i < o->ntargets; i++) {
        mg_verdict *v = &r->verdicts[i];
        const mg_target *t = &o->targets[i];
        v->target = *t;
        v->status = MG_STATUS_NONE;
        int below = x->fw->min_cc && t->cc < x->fw->min_cc, other = x->fw->only_cc && t->cc != x->fw->only_cc;
        /* CPU-only for sure: torch's version.py says cuda None, a +cpu local version, or (jaxlib) no CUDA plugin beside it */
        int says_cpu = (x->cuda_known && !x->cuda[0]) || strstr(x->version, "+cpu") != NULL || x->fw->cuda_via;
        const char *other_gpu = strstr(x->version, "+rocm") ? "a ROCm build (AMD GPUs)"
                              : strstr(x->version, "+xpu") ? "an XPU build (Intel GPUs)" : NULL;
        if (cpu_only && other_gpu) {
            set_reason(v, "%s %s is %s: no CUDA code for NVIDIA GPUs", x->fw->name, x->version, other_gpu);
        } else if (cpu_only && !says_cpu && x->cuda_known) {
            set_reason(v, "%s %s (CUDA %s) carries no CUDA code here: its libraries are missing (a partial install?)",
                       x->fw->name, x->version, x->cuda);
        } else if (cpu_only && !strcmp(x->fw->dist, "torch")) {
            const mg_torch_build *b = mg_torch_build_for(t->cc);
            char pkg[32] = "torch", what[96];
            snprintf(what, sizeof what, says_cpu ? "CPU-only build: torch %s" : "no CUDA code in torch %s (a CPU-only build?)",
                     x->version);
            if (b && b->last)
                snprintf(pkg, sizeof pkg, "'torch==%u.%u.*'", b->last / 100 % 100, b->last % 100);
            if (b)
                set_reason(v, "%s; the CUDA build for sm_%u is cu%u: pip install %s --index-url "
                           "https://download.pytorch.org/whl/cu%u", what, t->cc, b->cuda, pkg, b->cuda);
            else
                set_reason(v, "%s; no official CUDA build has code for sm_%u", what, t->cc);
        } else if (cpu_only) {
            set_reason(v, says_cpu ? "CPU-only build: %s %s carries no CUDA code; the CUDA build: %s"
                                   : "%s %s carries no CUDA code (a CPU-only build?); the CUDA build: %s",
                       x->fw->name, x->version, x->fw->fix ? x->fw->fix : "see its install guide");
        } else if (below || other) {
            set_reason(v, "%s (%s is %u.%u)", x->fw->rule, t->name, t->cc / 10, t->cc % 10);
        } else {
            v->status = MG_STATUS_NATIVE;
            set_reason(v, "%s: %s is %u.%u", x->fw->rule ? x->fw->rule : "no rule against it", t->name, t->cc / 10,
                       t->cc % 10);
        }
    }
    out->reports[out->nreports++] = r;
    return MG_OK;
}

/*
 * Per framework found: a copy that should carry CUDA code and carries none is a CPU-only build (none on
 * every target); a capability floor the targets miss is none on those; unused per-CUDA libraries go.
 * out->reports has room for one report per install.
 */
static int apply_frameworks(const mg_scan_opts *o, const install *in, size_t n, mg_scan_result *out)
{
    size_t nfw;
    const mg_framework *fws = mg_framework_table(&nfw);
    for (size_t i = 0; i < n; i++) {
        const install *x = &in[i];
        /* Beside a torch, per-CUDA libraries (bitsandbytes) load the one for its CUDA, dist-info or not. */
        for (size_t f = 0; f < nfw && !strcmp(x->fw->dist, "torch"); f++) {
            install lib = *x;
            lib.fw = &fws[f];
            if (lib.fw->per_cuda_lib)
                drop_unused_per_cuda(&lib, x, out);
        }
        if (!o->ntargets)
            continue;   /* no GPU to judge for: the files are listed as they are */
        int cpu_only = 0, fails = 0;
        if (x->fw->needs_cuda) {
            int code = 0;
            for (size_t k = 0; k < out->nreports && !code; k++)
                code = !out->reports[k]->err && out->reports[k]->nfatbins && in_code_dirs(x, out->reports[k]->path);
            for (size_t k = 0; k < n && !code && x->fw->cuda_via; k++)   /* its CUDA plugin installed beside it */
                code = !strcmp(in[k].where, x->where) && listed_in(x->fw->cuda_via, in[k].fw->dist);
            cpu_only = !code;
        }
        for (size_t k = 0; k < o->ntargets && !cpu_only; k++)
            fails |= (x->fw->min_cc && o->targets[k].cc < x->fw->min_cc) ||
                     (x->fw->only_cc && o->targets[k].cc != x->fw->only_cc);
        if (cpu_only || fails) {
            int rc = framework_report(o, x, cpu_only, out);
            if (rc)
                return rc;
        }
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
    out->reports = mg_calloc(t.n + t.nin + 1, sizeof *out->reports);   /* room for a report per framework */
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
    for (size_t i = 0; i < t.nin; i++) {
        free(t.in[i].where);
        free(t.in[i].report);
    }
    free(t.in);
    free(t.v);
    free(p.out);
    return rc;
}

/*
 * walk.c - from paths to reports: walk directories (never following symlinks),
 * open zip/wheel archives in memory, and scan the files on worker threads; note the
 * frameworks installed there (their dist-info, judged by installs.c); say so when an
 * input holds nothing to scan.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/file.h"
#include "binaries/fmt.h"
#include "binaries/scan_int.h"
#include "binaries/tar.h"
#include "core/arena.h"

#define MAX_DEPTH 128
#define DEFAULT_MAX_MEMBER (4ull << 30)
#define WHOLE_MAX (32ull << 20)      /* members up to this inflate whole (libdeflate: faster than zlib) */
#define WHOLE_BUDGET (96ull << 20)   /* what all workers together hold whole; past it members stream */

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
    mg_image *img;          /* layer task: its image, and which layer */
    uint32_t layer;
    int given;              /* named by the caller: a file that holds nothing to scan is an error */
} task;

/* A container image among the inputs, with the mapping of its tarball (NULL for a directory). */
typedef struct image_in {
    mg_image *im;
    const uint8_t *map;
    size_t len;
} image_in;

typedef struct tasks {
    const mg_scan_opts *o;
    task *v;
    size_t n, cap;
    size_t skipped;
    size_t regular, entries;    /* regular files and entries seen by the directory walk */
    mg_installs in;         /* the frameworks found (installs.c) */
    image_in *img;          /* the container images found (image.c): applied once all layers are in */
    size_t nimg;
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

/* Past MG_MAX_INSTALLS places with frameworks: said once, as an error of the input that passed it. */
static int too_many_installs(tasks *t, const char *path)
{
    return add_error(t, path, MG_E_LIMIT, "frameworks (dist-infos) in more than 64 places: those past the "
                                          "64th are not judged (CPU-only builds, GPU floors)");
}

/* A dist-info (or any entry) `name` under where: recorded when it is a framework's (*at, else NULL). */
static int found_install(tasks *t, const char *where, const char *name, size_t len, mg_install **at)
{
    int rc = mg_installs_add(&t->in, where, name, len, at);
    if (rc != MG_E_LIMIT)
        return rc;
    char *path;
    if (asprintf(&path, "%s%.*s", where, (int)len, name) < 0)
        return MG_E_NOMEM;
    rc = too_many_installs(t, path);
    free(path);
    return rc;
}

/* A container image opened: it joins the list, and each of its layers becomes a task. */
static int add_image(tasks *t, mg_image *im, const uint8_t *map, size_t len)
{
    image_in *v = mg_realloc(t->img, (t->nimg + 1) * sizeof *v);
    if (!v) {
        mg_image_free(im);
        if (map)
            munmap((void *)map, len);
        return MG_E_NOMEM;
    }
    t->img = v;
    v[t->nimg++] = (image_in){im, map, len};
    int rc = MG_OK;
    for (size_t i = 0; i < mg_image_layers(im) && rc == MG_OK; i++) {
        task x = {0};
        x.img = im;
        x.layer = (uint32_t)i;
        x.size = UINT64_MAX - i;   /* layers go first: each is one long stream */
        if (!(x.path = mg_strdup("")))
            return MG_E_NOMEM;
        rc = add_task(t, &x);
    }
    return rc;
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
    mg_install *torch = NULL;   /* a torch installed here (its dist-info in this directory) */
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
            mg_install *at;
            rc = found_install(t, where, de->d_name, strlen(de->d_name), &at);
            if (mg_install_is_torch(at))
                torch = at;
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
    if (rc == MG_OK && torch) {
        char *vp, *text = NULL, err[64];
        size_t len;
        if (asprintf(&vp, "%storch/version.py", where) < 0) {
            rc = MG_E_NOMEM;
        } else {
            if (mg_read_all(vp, 64 << 10, &text, &len, err, sizeof err) == MG_OK)
                mg_install_torch_version(torch, text);
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
 * since Docker 25) or docker save's older layout ("manifest.json" beside "repositories"). */
static int image_dir(int dfd)
{
    return (has_file(dfd, "oci-layout") && has_file(dfd, "index.json")) ||
           (has_file(dfd, "manifest.json") && has_file(dfd, "repositories"));
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
        if (image_dir(fd)) {   /* an OCI layout: an image, not a directory to walk */
            mg_image *im = NULL;
            int rc = mg_image_open_dir(t->o, path, fd, &im);
            return im ? add_image(t, im, NULL, 0) : rc;
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
        mg_install *at;
        if (cl > 10 && (rc = found_install(t, where, m.name, cl, &at)) != MG_OK)
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
    mg_install *torch = torch_py ? mg_installs_torch(&t->in, where) : NULL;
    if (torch)
        mg_install_torch_version(torch, torch_py);
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
    atomic_uint_fast64_t whole;     /* bytes of members inflated whole right now */
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

/* Whole-member inflates share a budget, so threads x member size cannot grow past it. */
static int reserve(pool *p, uint64_t n)
{
    uint64_t have = atomic_load(&p->whole);
    do {
        if (n > WHOLE_BUDGET - have)
            return 0;
    } while (!atomic_compare_exchange_weak(&p->whole, &have, have + n));
    return 1;
}

static int feed_stream(void *ud, const uint8_t *p, size_t n)
{
    return mg_stream_feed(ud, p, n);
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
        mg_report *r = keep(o, mg_scan_buffer(o, x->path, z.buf + x->m.data_off, (size_t)x->m.usize));
        mg_drop_pages(z.buf + x->m.data_off, (size_t)x->m.usize);
        return r;
    }
    /* deflate expands at most 1032-fold: a member claiming more is malformed, and no buffer is allocated */
    if (x->m.usize / 1032 > x->m.csize + 1)
        return fail(x->path, MG_E_COMPRESSION, "member claims more bytes than deflate can expand its data to");
    const uint8_t *src = z.buf + x->m.data_off;
    mg_report *r;
    atomic_fetch_add(&p->bytes, x->m.usize);
    if (x->m.usize <= WHOLE_MAX && reserve(p, x->m.usize)) {
        /* small enough to hold whole: libdeflate inflates it in one call, the scan reads it in place */
        uint8_t *buf = mg_malloc((size_t)x->m.usize);
        int rc = buf ? mg_inflate_whole(src, (size_t)x->m.csize, buf, (size_t)x->m.usize, &why) : MG_E_NOMEM;
        mg_drop_pages(src, (size_t)x->m.csize);
        r = rc ? fail(x->path, rc, rc == MG_E_NOMEM ? "cannot hold the inflated member in memory" : why)
               : keep(o, mg_scan_buffer(o, x->path, buf, (size_t)x->m.usize));
        free(buf);
        atomic_fetch_sub(&p->whole, x->m.usize);
        return r;
    }
    /* larger: inflated as a stream, the scan holding only what it needs (stream.c) */
    mg_stream *st = mg_stream_new(o, x->path, x->m.usize);
    if (!st)
        return fail(x->path, MG_E_NOMEM, "cannot start a streamed scan of the member");
    uint64_t got;
    int rc = mg_unpack(MG_PACK_DEFLATE, src, (size_t)x->m.csize, 1, x->m.usize, feed_stream, st, &got, &why);
    if (rc == MG_E_LIMIT)
        why = "zip member inflates to more bytes than declared";
    return keep(o, mg_stream_end(st, rc, rc ? why : NULL));
}

/* What a file named by the caller is when it is neither ELF, zip, text nor an image: nothing mlgate reads. */
static int nothing_to_scan(const char **why)
{
    *why = "not an ELF file, a wheel (zip), a container image, a text file or a directory: nothing to scan in it";
    return MG_E_FORMAT;
}

/* A file named by the caller that is a tar (an image tarball, a flat rootfs) or gzip/zstd data. */
static int is_image(int fd, size_t len)
{
    uint8_t h[512];
    if (len < 4 || pread(fd, h, 4, 0) != 4)
        return 0;
    if (mg_packing_of(h, 4) != MG_PACK_NONE)
        return 1;
    return len >= sizeof h && pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h && mg_tar_is_tar(h, sizeof h);
}

/* An image tarball mapped: opened, its layers added as tasks (the mapping is the image's from here). */
static mg_report *run_image(pool *p, task *x, const uint8_t *map, size_t len)
{
    mg_image *im = NULL;
    int rc = mg_image_open_file(p->o, x->path, map, len, &im);
    if (!im) {
        munmap((void *)map, len);
        return fail(x->path, rc, "out of memory");
    }
    pthread_mutex_lock(&p->lock);
    rc = add_image(p->t, im, map, len);
    pthread_mutex_unlock(&p->lock);
    return rc ? fail(x->path, rc, "out of memory") : NULL;
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
    int image = 0;
    if (len < 64 || pread(fd, head, 4, 0) != 4 ||
        !(mg_elf_is_elf(head, 4) || mg_zip_is_zip(head, 4) || (image = x->given && is_image(fd, len)))) {
        mg_report *r = NULL;
        uint8_t text[4096];
        ssize_t got;
        if (x->given && len >= 64 && !((got = pread(fd, text, sizeof text, 0)) > 0 && is_text(text, (size_t)got))) {
            int e = nothing_to_scan(&r_why);   /* a script is text: no CUDA code, no error */
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
    if (image)
        return run_image(p, x, map, len);
    if (mg_zip_is_zip(head, 4)) {
        tasks more = {0};
        mg_report *err = NULL;
        int rc = expand_zip(&more, x->path, map, len, &err);
        pthread_mutex_lock(&p->lock);
        /* Members are appended: workers pick them up after the current tasks. */
        for (size_t i = 0; i < more.n && rc == MG_OK; i++)
            rc = add_task(p->t, &more.v[i]);
        /* Its frameworks join the walk's (which owns them from here). */
        int mrc = mg_installs_merge(&p->t->in, &more.in);
        if (rc == MG_OK)
            rc = mrc == MG_E_LIMIT ? too_many_installs(p->t, x->path) : mrc;
        pthread_mutex_unlock(&p->lock);
        free(more.v);
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
        else if (x.img)
            r = mg_image_scan_layer(x.img, x.layer);
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

static int by_size_desc(const void *a, const void *b)
{
    const task *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

int mg_walk_scan(const mg_scan_opts *o, const char *const *paths, size_t npaths, mg_scan_result *out)
{
    tasks t = {0};
    t.o = o;
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
    out->reports = mg_calloc(t.n + 2 * t.in.n + 1, sizeof *out->reports);   /* room for 2 reports per framework */
    if (!out->reports)
        rc = MG_E_NOMEM;
    for (size_t i = 0; i < t.n; i++) {
        if (out->reports && i < cap && p.out[i])
            out->reports[out->nreports++] = p.out[i];
        else if (i < cap)
            mg_report_free(p.out[i]);
        free(t.v[i].path);
    }
    /* the images, their layers all in: applied; their final files' reports and frameworks join */
    for (size_t i = 0; i < t.nimg && rc == MG_OK; i++) {
        mg_image_counts(t.img[i].im, &out->files, &out->bytes);
        if (!out->image_arena && !(out->image_arena = mg_arena_new()))
            rc = MG_E_NOMEM;
        else
            rc = mg_image_finish(t.img[i].im, &out->reports, &out->nreports, &t.in, &out->images, &out->nimages,
                                 out->image_arena);
    }
    for (size_t i = 0; i < t.nimg; i++) {
        mg_image_free(t.img[i].im);
        if (t.img[i].map)
            munmap((void *)t.img[i].map, t.img[i].len);
    }
    free(t.img);
    if (rc == MG_OK && t.nimg) {   /* room for 2 reports per framework, as above */
        mg_report **v = mg_realloc(out->reports, (out->nreports + 2 * t.in.n + 1) * sizeof *v);
        if (v)
            out->reports = v;
        else
            rc = MG_E_NOMEM;
    }
    if (rc == MG_OK)
        rc = mg_installs_apply(o, &t.in, out);
    mg_installs_free(&t.in);
    free(t.v);
    free(p.out);
    return rc;
}

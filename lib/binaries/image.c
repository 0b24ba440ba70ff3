/*
 * image.c - container images as scan inputs, without a container engine: `docker save` / `podman save`
 * tarballs, OCI archives and OCI layout directories, flat root-filesystem tars (`docker export`, also
 * gzip- or zstd-compressed). Each layer is one task: its blob's digest checked, then decoded once (by
 * its bytes: none, gzip, zstd) and read as a tar stream; every ELF file in it is scanned as it goes by
 * (stream.c), nothing written to disk. When all layers are in, they are applied base to top as a
 * container runtime does (whiteouts delete, opaque directories hide lower layers, later files replace
 * earlier ones, parent symlinks resolved inside the image): only files of the final image are reported.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binaries/fmt.h"
#include "binaries/scan_int.h"
#include "binaries/tar.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/arith.h"
#include "core/file.h"
#include "core/sha256.h"

#define MAX_MEMBERS (1u << 20)      /* entries of an image tarball indexed */
#define MAX_JSON (8u << 20)         /* manifest.json, index.json, a manifest or config blob */
#define MAX_LAYERS 512u
#define MAX_MANIFESTS 64u
#define MAX_ENTRIES (4u << 20)      /* entries of all layers of one image */
#define WHOLE_FILE (8ull << 20)     /* ELF files up to this are gathered and scanned whole */
#define MIN_BOMB (1ull << 30)       /* a layer may always decode to this much ... */
#define BOMB_RATIO 256u             /* ... and to this many times its stored size, no more */
#define MAX_HOPS 40                 /* symlinks followed while resolving one path */

/* ---- the parts of an input ---------------------------------------------- */

typedef struct member {             /* a file of an image tarball, by its tar entry */
    char *name;
    uint64_t off, size;
} member;

typedef struct entry {              /* one tar entry of a layer, as the layer said it */
    char *path;                     /* normalised: no leading '/', no "." or ".." */
    uint8_t type;                   /* mg_tar_type, or E_WHITEOUT / E_OPAQUE */
    uint32_t seq;                   /* order within its layer */
    mg_report *report;              /* an ELF file with code (or that failed), else NULL */
    char *link;                     /* symlinks: the target */
    char *text;                     /* torch/version.py: its text */
    uint8_t alive;                  /* it is in the final image of some manifest */
} entry;

enum { E_WHITEOUT = 16, E_OPAQUE };

typedef struct layer {
    const uint8_t *blob;            /* in the tarball's mapping, or its own */
    uint64_t len;
    int own_map;                    /* blob is a mapping of its own (an OCI directory's file) */
    char *digest;                   /* "sha256:..." (verified); NULL in a flat tar */
    char *want;                     /* the digest its name or descriptor promises (NULL: none) */
    mg_packing packing;
    entry *e;
    size_t n, cap;
    mg_report *err;                 /* it failed as a whole (its files so far still count) */
    int mismatch;                   /* its content is not what its digest says: not applied */
} layer;

typedef struct manifest {
    char *digest, *id, *platform;
    char **tags;
    size_t ntags;
    uint32_t *layers;               /* indexes into im->l, base first */
    size_t nlayers;
} manifest;

struct mg_image {
    const mg_scan_opts *o;
    char *path;
    const char *format;
    const uint8_t *map;             /* the tarball (NULL: a directory) */
    uint64_t len;
    int dirfd;                      /* an OCI layout directory, else -1 */
    member *m;
    size_t nm;
    layer *l;
    size_t nl;
    manifest *mf;
    size_t nmf;
    mg_report **errs;               /* the image's own errors (a manifest naming a missing blob, ...) */
    size_t nerrs;
    char seen[256];                 /* the platforms its manifests have ("linux/amd64, linux/arm64") */
    atomic_size_t files_read;       /* ELF files read in its layers */
    atomic_uint_fast64_t bytes_read;
};

static int add_err(mg_image *im, const char *path, int err, const char *detail)
{
    mg_report **v = mg_realloc(im->errs, (im->nerrs + 1) * sizeof *v);
    if (!v)
        return MG_E_NOMEM;
    im->errs = v;
    mg_report *r = mg_report_new(path);
    if (!r)
        return MG_E_NOMEM;
    mg_report_fail(r, err, detail);
    im->errs[im->nerrs++] = r;
    return MG_OK;
}

static int add_errf(mg_image *im, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_errf(mg_image *im, int err, const char *fmt, ...)
{
    char d[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    return add_err(im, im->path, err, d);
}

/* ---- the tarball's members ---------------------------------------------- */

static int index_entry(void *ud, const mg_tar_entry *e)
{
    mg_image *im = ud;
    if (e->type != MG_TAR_FILE)
        return 0;
    if (im->nm == MAX_MEMBERS)
        return -MG_E_LIMIT;
    if (im->nm == 0 || (im->nm & (im->nm - 1)) == 0) {   /* grows at powers of two */
        member *v = mg_realloc(im->m, (im->nm ? im->nm * 2 : 64) * sizeof *v);
        if (!v)
            return -MG_E_NOMEM;
        im->m = v;
    }
    const char *n = e->name;
    while (n[0] == '.' && n[1] == '/')
        n += 2;
    member *m = &im->m[im->nm];
    if (!(m->name = mg_strdup(n)))
        return -MG_E_NOMEM;
    m->off = e->offset;
    m->size = e->size;
    im->nm++;
    return 0;
}

static const member *find_member(const mg_image *im, const char *name)
{
    for (size_t i = im->nm; i > 0; i--)   /* the last of a name wins, as tar extracts */
        if (!strcmp(im->m[i - 1].name, name))
            return &im->m[i - 1];
    return NULL;
}

static int no_data(void *ud, const uint8_t *p, size_t n)
{
    (void)ud, (void)p, (void)n;
    return 0;
}

static int no_end(void *ud)
{
    (void)ud;
    return 0;
}

/* Indexes the tarball's regular files (their content skipped, never copied). */
static int index_tarball(mg_image *im, const char **why)
{
    mg_tar_cb cb = {index_entry, no_data, no_end, im};
    mg_tar *t = mg_tar_new(&cb);
    if (!t)
        return MG_E_NOMEM;
    int rc = mg_tar_feed(t, im->map, (size_t)im->len);
    if (!rc)
        rc = mg_tar_finish(t);
    static char buf[256];   /* only for the message below, copied before another image runs */
    if (rc) {
        snprintf(buf, sizeof buf, "%s", mg_tar_error(t));
        *why = buf;
    }
    mg_tar_free(t);
    return rc;
}

/* ---- blobs --------------------------------------------------------------- */

/* A blob by its digest ("sha256:<64 hex>"): its bytes (a tarball's member, or a mapped file of the
 * layout directory); NULL with *why when it is missing or its name is not a digest. */
static const uint8_t *blob_of(mg_image *im, const char *digest, uint64_t *len, int *own, const char **why)
{
    *own = 0;
    if (strncmp(digest, "sha256:", 7) || strlen(digest) != 71 || strspn(digest + 7, "0123456789abcdef") != 64) {
        *why = "names a blob by a digest that is not sha256:<64 hex digits>";
        return NULL;
    }
    char name[96];
    snprintf(name, sizeof name, "blobs/sha256/%s", digest + 7);
    if (im->map) {
        const member *m = find_member(im, name);
        if (!m) {
            *why = "names a blob the image does not have";
            return NULL;
        }
        *len = m->size;
        return im->map + m->off;
    }
    int fd = openat(im->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        *why = "names a blob the image does not have";
        return NULL;
    }
    *len = (uint64_t)st.st_size;
    if (!st.st_size) {
        close(fd);
        *own = 0;
        return (const uint8_t *)"";
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        *why = "cannot map a blob";
        return NULL;
    }
    *own = 1;
    return p;
}

static void drop_blob(const uint8_t *p, uint64_t len, int own)
{
    if (own)
        munmap((void *)p, (size_t)len);
}

/* The "sha256:..." of p[0..len); a file mapping's pages (mapped) are given back as they are hashed. */
static void digest_of(const uint8_t *p, uint64_t len, int mapped, char out[72])
{
    mg_sha256 s;
    uint8_t d[32];
    mg_sha256_init(&s);
    for (uint64_t at = 0; at < len;) {
        size_t n = len - at < (8u << 20) ? (size_t)(len - at) : (8u << 20);
        mg_sha256_update(&s, p + at, n);
        if (mapped)
            mg_drop_pages(p + at, n);
        at += n;
    }
    mg_sha256_final(&s, d);
    memcpy(out, "sha256:", 7);
    mg_sha256_hex(d, out + 7);
}

/* A JSON blob by digest (or a tarball member by name when digest is NULL), parsed; checked against
 * its digest. NULL with an error recorded. */
static cJSON *json_blob(mg_image *im, const char *digest, const char *name, const char *what, char *id)
{
    uint64_t len = 0;
    int own = 0;
    const char *why = NULL;
    const uint8_t *p;
    if (digest) {
        p = blob_of(im, digest, &len, &own, &why);
    } else if (im->map) {
        const member *m = find_member(im, name);
        p = m ? im->map + m->off : NULL;
        len = m ? m->size : 0;
        why = "is missing";
    } else {
        char *text;
        size_t n;
        int fd = openat(im->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        p = NULL;
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= MAX_JSON &&
                (text = mg_malloc((size_t)st.st_size + 1)) != NULL) {
                ssize_t got = pread(fd, text, (size_t)st.st_size, 0);
                n = got > 0 ? (size_t)got : 0;
                cJSON *j = cJSON_ParseWithLength(text, n);
                if (id)
                    digest_of((const uint8_t *)text, n, 0, id);
                free(text);
                close(fd);
                if (!j)
                    add_errf(im, MG_E_FORMAT, "%s is not valid JSON (or nested too deeply)", what);
                return j;
            }
            close(fd);
        }
        why = "is missing or unreadable";
    }
    if (!p) {
        add_errf(im, MG_E_NOTFOUND, "%s %s%s%s", what, why, digest ? ": " : "", digest ? digest : "");
        return NULL;
    }
    if (len > MAX_JSON) {
        drop_blob(p, len, own);
        add_errf(im, MG_E_LIMIT, "%s is larger than mlgate reads (%u MiB)", what, MAX_JSON >> 20);
        return NULL;
    }
    char got[72];
    digest_of(p, len, 1, got);
    if (id)
        memcpy(id, got, 72);
    if (digest && strcmp(got, digest) != 0) {
        drop_blob(p, len, own);
        add_errf(im, MG_E_FORMAT, "%s does not match its digest %s (its content hashes to %s)", what, digest, got);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)p, (size_t)len);
    drop_blob(p, len, own);
    if (!j)
        add_errf(im, MG_E_FORMAT, "%s is not valid JSON (or nested too deeply)", what);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- manifests ----------------------------------------------------------- */

static int add_layer(mg_image *im, const uint8_t *blob, uint64_t len, int own, const char *want, uint32_t *at)
{
    for (size_t i = 0; i < im->nl; i++)   /* a layer two images share is scanned once */
        if (im->l[i].blob == blob && im->l[i].len == len) {
            drop_blob(blob, len, own);
            *at = (uint32_t)i;
            return MG_OK;
        }
    if (im->nl == MAX_LAYERS) {
        drop_blob(blob, len, own);
        return add_errf(im, MG_E_LIMIT, "more than %u layers: those past it are not scanned", MAX_LAYERS);
    }
    layer *v = mg_realloc(im->l, (im->nl + 1) * sizeof *v);
    if (!v)
        return MG_E_NOMEM;
    im->l = v;
    layer *l = &im->l[im->nl];
    memset(l, 0, sizeof *l);
    l->blob = blob;
    l->len = len;
    l->own_map = own;
    l->want = want ? mg_strdup(want) : NULL;
    *at = (uint32_t)im->nl++;
    return MG_OK;
}

static manifest *add_manifest(mg_image *im)
{
    if (im->nmf == MAX_MANIFESTS)
        return NULL;
    manifest *v = mg_realloc(im->mf, (im->nmf + 1) * sizeof *v);
    if (!v)
        return NULL;
    im->mf = v;
    memset(&v[im->nmf], 0, sizeof *v);
    return &v[im->nmf++];
}

static void add_tag(manifest *m, const char *tag)
{
    char **v = tag ? mg_realloc(m->tags, (m->ntags + 1) * sizeof *v) : NULL;
    if (!v)
        return;
    m->tags = v;
    if ((v[m->ntags] = mg_strdup(tag)) != NULL)
        m->ntags++;
}

/* The config: the image's platform ("linux/arm64/v8"). */
static char *platform_of(const cJSON *cfg)
{
    const char *os = jstr(cfg, "os"), *arch = jstr(cfg, "architecture"), *var = jstr(cfg, "variant");
    char *p = NULL;
    if (os && arch && asprintf(&p, "%s/%s%s%s", os, arch, var ? "/" : "", var ? var : "") < 0)
        p = NULL;
    return p;
}

/* Whether the image's platform is the one asked for ("linux/arm64" also matches linux/arm64/v8); the
 * platforms seen are noted for the error when none is. */
static int platform_wanted(mg_image *im, const char *have)
{
    const mg_scan_opts *o = im->o;
    size_t n0 = strlen(im->seen);
    if (have && !strstr(im->seen, have) && n0 + strlen(have) + 3 < sizeof im->seen)
        snprintf(im->seen + n0, sizeof im->seen - n0, "%s%s", n0 ? ", " : "", have);
    if (!o->platform || !o->platform[0])
        return 1;
    if (!have)
        return 0;
    size_t n = strlen(o->platform);
    return !strncmp(have, o->platform, n) && (have[n] == 0 || have[n] == '/');
}

/* An OCI (or Docker v2) image manifest by its descriptor: its config and layers. */
static int read_manifest(mg_image *im, const char *digest, const char *plat, cJSON *tags_from, int depth);

/* The top-level descriptor an image was reached from (a nested index's): its digest and tags are the
 * image's, as `docker images --digests` shows them. */
typedef struct outer {
    const char *digest;
    cJSON *ann;
} outer;
static _Thread_local outer top_desc;

static int read_index(mg_image *im, cJSON *idx, const char *what, int depth)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(idx, "manifests");
    if (!cJSON_IsArray(ms))
        return add_errf(im, MG_E_FORMAT, "%s has no \"manifests\" array", what);
    const cJSON *d;
    int rc = MG_OK;
    cJSON_ArrayForEach(d, ms) {
        const char *dg = jstr(d, "digest"), *mt = jstr(d, "mediaType");
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(d, "annotations");
        const char *kind = ann ? jstr(ann, "vnd.docker.reference.type") : NULL;
        if (!dg) {
            rc = add_errf(im, MG_E_FORMAT, "%s lists a manifest without a digest", what);
            continue;
        }
        if (kind && !strcmp(kind, "attestation-manifest"))
            continue;   /* buildx's provenance: not an image */
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(d, "platform");
        char *plat = NULL;
        if (cJSON_IsObject(pl))
            plat = platform_of(pl);
        if (mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"))) {
            if (depth >= 4) {
                rc = add_errf(im, MG_E_LIMIT, "image indexes nested deeper than mlgate follows");
            } else {
                cJSON *sub = json_blob(im, dg, NULL, "a nested image index", NULL);
                outer save = top_desc;
                if (depth == 0)
                    top_desc = (outer){dg, (cJSON *)ann};
                if (sub)
                    rc = read_index(im, sub, "a nested image index", depth + 1);
                top_desc = save;
                cJSON_Delete(sub);
            }
        } else {
            rc = read_manifest(im, dg, plat, (cJSON *)ann, depth);
        }
        free(plat);
        if (rc == MG_E_NOMEM)
            return rc;
    }
    return MG_OK;
}

static int read_manifest(mg_image *im, const char *digest, const char *plat, cJSON *ann, int depth)
{
    cJSON *mj = json_blob(im, digest, NULL, "a manifest", NULL);
    if (!mj)
        return MG_OK;
    int rc = MG_OK;
    const cJSON *cfgd = cJSON_GetObjectItemCaseSensitive(mj, "config");
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(mj, "layers");
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(mj, "manifests"))) {   /* an index without a mediaType */
        rc = depth < 4 ? read_index(im, mj, "a nested image index", depth + 1) : MG_OK;
        cJSON_Delete(mj);
        return rc;
    }
    const char *cd = cfgd ? jstr(cfgd, "digest") : NULL;
    if (!cd || !cJSON_IsArray(ls)) {
        cJSON_Delete(mj);
        return add_errf(im, MG_E_FORMAT, "manifest %s has no config or no layers", digest);
    }
    char id[72];
    cJSON *cfg = json_blob(im, cd, NULL, "an image config", id);
    char *cplat = cfg ? platform_of(cfg) : NULL;
    const char *have = cplat ? cplat : plat;
    if (!platform_wanted(im, have)) {
        free(cplat);
        cJSON_Delete(cfg);
        cJSON_Delete(mj);
        return MG_OK;
    }
    manifest *m = add_manifest(im);
    if (!m) {
        free(cplat);
        cJSON_Delete(cfg);
        cJSON_Delete(mj);
        return add_errf(im, MG_E_LIMIT, "more than %u images in one input", MAX_MANIFESTS);
    }
    m->digest = mg_strdup(digest);
    m->id = cfg ? mg_strdup(id) : NULL;
    m->platform = have ? mg_strdup(have) : NULL;
    if (depth && top_desc.ann)
        ann = top_desc.ann;
    if (ann) {
        add_tag(m, jstr(ann, "org.opencontainers.image.ref.name"));
        add_tag(m, jstr(ann, "io.containerd.image.name"));
    }
    free(cplat);
    cJSON_Delete(cfg);
    int n = cJSON_GetArraySize(ls);
    m->layers = mg_calloc(n > 0 ? (size_t)n : 1, sizeof *m->layers);
    const cJSON *d;
    cJSON_ArrayForEach(d, ls) {
        const char *dg = jstr(d, "digest"), *why;
        uint64_t len;
        int own;
        const uint8_t *b = dg ? blob_of(im, dg, &len, &own, &why) : NULL;
        if (!b) {
            char *lp = NULL;
            if (dg && strlen(dg) < 200 && asprintf(&lp, "%s!%s", im->path, dg) >= 0) {
                rc = add_err(im, lp, MG_E_NOTFOUND, why);
                free(lp);
            } else {
                rc = add_errf(im, MG_E_NOTFOUND, "a layer without a usable digest: %s", dg ? why : "no digest");
            }
            continue;
        }
        uint32_t at;
        if ((rc = add_layer(im, b, len, own, dg, &at)) == MG_OK && m->layers)
            m->layers[m->nlayers++] = at;
    }
    cJSON_Delete(mj);
    return rc == MG_E_NOMEM ? rc : MG_OK;
}

/* The digest of the manifest (in index idx, nested indexes followed) whose config is `config`, or NULL. */
static char *digest_for_config(mg_image *im, const cJSON *idx, const char *config, int depth)
{
    const cJSON *d, *ms = cJSON_GetObjectItemCaseSensitive(idx, "manifests");
    cJSON_ArrayForEach(d, ms) {
        const char *dg = jstr(d, "digest");
        uint64_t len;
        int own;
        const char *why;
        const uint8_t *b = dg ? blob_of(im, dg, &len, &own, &why) : NULL;
        if (!b || len > MAX_JSON) {
            if (b)
                drop_blob(b, len, own);
            continue;
        }
        cJSON *j = cJSON_ParseWithLength((const char *)b, (size_t)len);
        drop_blob(b, len, own);
        char *found = NULL;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "config");
        if (c && jstr(c, "digest") && !strcmp(jstr(c, "digest"), config))
            found = mg_strdup(dg);
        else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "manifests")) && depth < 4)
            found = digest_for_config(im, j, config, depth + 1);
        cJSON_Delete(j);
        if (found)
            return found;
    }
    return NULL;
}

/* docker save's manifest.json: [{"Config", "RepoTags", "Layers"}, ...]. */
static int read_docker(mg_image *im, cJSON *top)
{
    if (!cJSON_IsArray(top))
        return add_errf(im, MG_E_FORMAT, "manifest.json is not an array of images");
    /* Docker 25+ writes an OCI layout beside it: the manifest whose config is this image's is named there */
    cJSON *idx = find_member(im, "index.json") ? json_blob(im, NULL, "index.json", "index.json", NULL) : NULL;
    const cJSON *img;
    int rc = MG_OK;
    cJSON_ArrayForEach(img, top) {
        const char *cfgname = jstr(img, "Config");
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(img, "Layers");
        if (!cfgname || !cJSON_IsArray(ls)) {
            rc = add_errf(im, MG_E_FORMAT, "manifest.json lists an image without \"Config\" or \"Layers\"");
            continue;
        }
        char id[72];
        cJSON *cfg = json_blob(im, NULL, cfgname, "the image config", id);
        char *plat = cfg ? platform_of(cfg) : NULL;
        if (!platform_wanted(im, plat)) {
            free(plat);
            cJSON_Delete(cfg);
            continue;
        }
        manifest *m = add_manifest(im);
        if (!m) {
            free(plat);
            cJSON_Delete(cfg);
            rc = add_errf(im, MG_E_LIMIT, "more than %u images in one input", MAX_MANIFESTS);
            break;
        }
        m->platform = plat;
        m->id = cfg ? mg_strdup(id) : NULL;
        m->digest = idx && cfg ? digest_for_config(im, idx, id, 0) : NULL;
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(img, "RepoTags"), *t;
        cJSON_ArrayForEach(t, tags) {
            if (cJSON_IsString(t))
                add_tag(m, t->valuestring);
        }
        const cJSON *rootfs = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "rootfs") : NULL;
        const cJSON *diffs = rootfs ? cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids") : NULL;
        int n = cJSON_GetArraySize(ls), k = 0;
        m->layers = mg_calloc(n > 0 ? (size_t)n : 1, sizeof *m->layers);
        const cJSON *l;
        cJSON_ArrayForEach(l, ls) {
            const char *name = cJSON_IsString(l) ? l->valuestring : NULL;
            const member *mb = name ? find_member(im, name) : NULL;
            const cJSON *dj = cJSON_GetArrayItem(diffs, k++);
            const char *diff = cJSON_IsString(dj) ? dj->valuestring : NULL;
            if (!mb) {
                rc = add_errf(im, MG_E_NOTFOUND, "layer %s: the tarball does not have it", name ? name : "(not a string)");
                continue;
            }
            /* blobs/sha256/<hex> promises its digest; an old layout's <id>/layer.tar its config's diff_id */
            char want[80];
            const char *w = NULL;
            if (!strncmp(name, "blobs/sha256/", 13) && strlen(name) == 77) {
                snprintf(want, sizeof want, "sha256:%s", name + 13);
                w = want;
            } else if (diff && mg_packing_of(im->map + mb->off, (size_t)(mb->size < 4 ? mb->size : 4)) == MG_PACK_NONE) {
                w = diff;
            }
            uint32_t at;
            if ((rc = add_layer(im, im->map + mb->off, mb->size, 0, w, &at)) == MG_OK && m->layers)
                m->layers[m->nlayers++] = at;
        }
        cJSON_Delete(cfg);
        if (rc == MG_E_NOMEM)
            break;
    }
    cJSON_Delete(idx);
    return rc == MG_E_NOMEM ? rc : MG_OK;
}

/* ---- opening an input ---------------------------------------------------- */

static mg_image *image_new(const mg_scan_opts *o, const char *path)
{
    mg_image *im = mg_calloc(1, sizeof *im);
    if (!im || !(im->path = mg_strdup(path))) {
        free(im);
        return NULL;
    }
    im->o = o;
    im->dirfd = -1;
    return im;
}

/* The platforms an input has, for the error when --platform picks none. */
static void no_platform(mg_image *im)
{
    if (!im->o->platform || im->nmf)
        return;
    add_errf(im, MG_E_NOTFOUND, "the image has no %s platform (--platform); it has %s", im->o->platform,
             im->seen[0] ? im->seen : "no platform it names");
}

int mg_image_open_file(const mg_scan_opts *o, const char *path, const uint8_t *map, uint64_t len, mg_image **out)
{
    mg_image *im = image_new(o, path);
    if (!im)
        return MG_E_NOMEM;
    im->map = map;
    im->len = len;
    *out = im;
    mg_packing k = mg_packing_of(map, (size_t)(len < 4 ? len : 4));
    const char *why = NULL;
    if (k != MG_PACK_NONE || index_tarball(im, &why) != MG_OK) {
        if (k == MG_PACK_NONE)
            return add_errf(im, MG_E_FORMAT, "not a tar archive: %s", why ? why : "unreadable");
        /* compressed: a flat root filesystem (docker export | gzip) read as one layer */
        im->format = "rootfs-tar";
        manifest *m = add_manifest(im);
        uint32_t at;
        if (!m || !(m->layers = mg_calloc(1, sizeof *m->layers)) || add_layer(im, map, len, 0, NULL, &at))
            return MG_E_NOMEM;
        m->layers[m->nlayers++] = at;
        return MG_OK;
    }
    int rc;
    if (find_member(im, "manifest.json")) {
        im->format = "docker-save";
        cJSON *top = json_blob(im, NULL, "manifest.json", "manifest.json", NULL);
        rc = top ? read_docker(im, top) : MG_OK;
        cJSON_Delete(top);
    } else if (find_member(im, "oci-layout") && find_member(im, "index.json")) {
        im->format = "oci-archive";
        cJSON *idx = json_blob(im, NULL, "index.json", "index.json", NULL);
        rc = idx ? read_index(im, idx, "index.json", 0) : MG_OK;
        cJSON_Delete(idx);
    } else {
        im->format = "rootfs-tar";   /* docker export: the tar is the filesystem */
        manifest *m = add_manifest(im);
        uint32_t at;
        if (!m || !(m->layers = mg_calloc(1, sizeof *m->layers)) || add_layer(im, map, len, 0, NULL, &at))
            return MG_E_NOMEM;
        m->layers[m->nlayers++] = at;
        for (size_t i = 0; i < im->nm; i++)   /* the index is not needed past here */
            free(im->m[i].name);
        free(im->m);
        im->m = NULL;
        im->nm = 0;
        return MG_OK;
    }
    no_platform(im);
    return rc;
}

int mg_image_open_dir(const mg_scan_opts *o, const char *path, int dirfd, mg_image **out)
{
    mg_image *im = image_new(o, path);
    if (!im) {
        close(dirfd);
        return MG_E_NOMEM;
    }
    im->dirfd = dirfd;
    *out = im;
    struct stat st;
    if (fstatat(dirfd, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(dirfd, "oci-layout", &st, 0) != 0)
        return add_errf(im, MG_E_UNSUPPORTED, "an unpacked docker save directory without an OCI layout: "
                                              "scan the tarball itself (docker save -o img.tar)");
    im->format = "oci-layout";
    cJSON *idx = json_blob(im, NULL, "index.json", "index.json", NULL);
    int rc = idx ? read_index(im, idx, "index.json", 0) : MG_OK;
    cJSON_Delete(idx);
    no_platform(im);
    return rc;
}

size_t mg_image_layers(const mg_image *im)
{
    return im->nl;
}

/* ---- one layer, streamed ------------------------------------------------- */

typedef struct reading {
    mg_image *im;
    layer *l;
    const char *lname;          /* how report paths name the layer: "img.tar!sha256:..!" or "img.tar!" */
    entry *cur;                 /* the entry whose content is coming */
    uint64_t size;
    int elf;                    /* -1 not known yet, 0 no, 1 yes */
    uint8_t head[64];
    size_t nhead;
    uint8_t *whole;             /* a small ELF gathered whole */
    size_t nwhole;
    mg_stream *st;              /* a larger one, streamed */
    char *text;                 /* torch/version.py */
    size_t ntext;
    int fatal;
} reading;

/* Normalises a tar path: no leading "/" or "./", no empty or "." parts; ".." that would leave the
 * root: NULL. Returns a new string. */
static char *normalise(const char *p)
{
    size_t n = strlen(p);
    char *out = mg_malloc(n + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        const char *e = strchr(s, '/');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        if (k == 0)
            break;
        if (k == 1 && s[0] == '.') {
        } else if (k == 2 && s[0] == '.' && s[1] == '.') {
            if (w == 0) {
                free(out);
                return NULL;
            }
            while (w > 0 && out[w - 1] != '/')
                w--;
            if (w > 0)
                w--;
        } else {
            if (w)
                out[w++] = '/';
            memcpy(out + w, s, k);
            w += k;
        }
        s += k;
    }
    out[w] = 0;
    return out;
}

static entry *add_entry(reading *rd, char *path, uint8_t type)
{
    layer *l = rd->l;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        if (cap > MAX_ENTRIES)
            return NULL;
        entry *v = mg_realloc(l->e, cap * sizeof *v);
        if (!v)
            return NULL;
        l->e = v;
        l->cap = cap;
    }
    entry *e = &l->e[l->n];
    memset(e, 0, sizeof *e);
    e->path = path;
    e->type = type;
    e->seq = (uint32_t)l->n++;
    return e;
}

static int worth_reading(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    static const char *const ext[] = {".py", ".pyc", ".h", ".hpp", ".cuh", ".txt", ".md", ".json", ".html", ".js",
                                      ".png", ".jpg", ".svg", ".pt", ".pth", ".safetensors", ".gguf", ".onnx",
                                      ".npz", ".npy", ".pkl", ".ckpt", ".pyi", ".cpp", ".c", ".cu", ".yaml"};
    size_t n = strlen(b);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && !strcmp(b + n - k, ext[i]))
            return 0;
    }
    return 1;
}

static int is_torch_version(const char *path)
{
    size_t n = strlen(path);
    return n >= 16 && !strcmp(path + n - 16, "torch/version.py") && (n == 16 || path[n - 17] == '/');
}

static int on_entry(void *ud, const mg_tar_entry *t)
{
    reading *rd = ud;
    char *path = normalise(t->name);
    if (!path) {
        char *p;
        if (asprintf(&p, "%s%s", rd->lname, t->name) < 0)
            return -MG_E_NOMEM;
        entry *e = add_entry(rd, p, MG_TAR_OTHER);
        if (!e) {
            free(p);
            return -MG_E_LIMIT;
        }
        e->report = mg_report_new(p);
        if (e->report)
            mg_report_fail(e->report, MG_E_FORMAT, "a layer entry whose path leaves the image (..): not applied");
        return 0;
    }
    if (!path[0]) {   /* the root itself */
        free(path);
        return 0;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    uint8_t type = t->type;
    if (!strncmp(base, ".wh.", 4)) {
        type = !strcmp(base, ".wh..wh..opq") ? E_OPAQUE : E_WHITEOUT;
        if (type == E_WHITEOUT)   /* the path it deletes */
            memmove((char *)base, base + 4, strlen(base + 4) + 1);
        else
            *(char *)(base == path ? base : base - 1) = 0;   /* the directory it hides */
    }
    entry *e = add_entry(rd, path, type);
    if (!e) {
        free(path);
        return -MG_E_LIMIT;
    }
    if ((type == MG_TAR_SYMLINK || type == MG_TAR_HARDLINK) && !(e->link = mg_strdup(t->link)))
        return -MG_E_NOMEM;
    if (type != MG_TAR_FILE || t->sparse || t->size < 64)
        return 0;
    int torch = is_torch_version(path) && t->size < (64u << 10);
    if (!torch && !worth_reading(path))
        return 0;
    rd->cur = e;
    rd->size = t->size;
    rd->elf = torch ? 0 : -1;
    rd->nhead = 0;
    if (torch && (rd->text = mg_malloc((size_t)t->size + 1)) != NULL)
        rd->ntext = 0;
    return 1;
}

static int start_elf(reading *rd)
{
    char *p;
    if (asprintf(&p, "%s%s", rd->lname, rd->cur->path) < 0)
        return MG_E_NOMEM;
    atomic_fetch_add(&rd->im->files_read, 1);
    if (rd->size <= WHOLE_FILE) {
        rd->whole = mg_malloc((size_t)rd->size);
        rd->nwhole = 0;
        rd->st = NULL;
    } else {
        rd->st = mg_stream_new(rd->im->o, p, rd->size);
        rd->whole = NULL;
    }
    int ok = rd->whole || rd->st;
    rd->cur->report = ok ? NULL : mg_report_new(p);
    if (!ok && rd->cur->report)
        mg_report_fail(rd->cur->report, MG_E_NOMEM, "cannot hold the file to scan it");
    free(p);
    return MG_OK;
}

static void elf_bytes(reading *rd, const uint8_t *p, size_t n)
{
    if (rd->whole) {
        memcpy(rd->whole + rd->nwhole, p, n);
        rd->nwhole += n;
    } else if (rd->st) {
        mg_stream_feed(rd->st, p, n);
    }
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
    reading *rd = ud;
    if (rd->text) {
        memcpy(rd->text + rd->ntext, p, n);
        rd->ntext += n;
        return 0;
    }
    if (rd->elf == 0)
        return 0;
    if (rd->elf < 0) {   /* the first bytes decide */
        size_t k = sizeof rd->head - rd->nhead < n ? sizeof rd->head - rd->nhead : n;
        memcpy(rd->head + rd->nhead, p, k);
        rd->nhead += k;
        if (rd->nhead < sizeof rd->head && rd->nhead < rd->size)
            return 0;
        rd->elf = mg_elf_is_elf(rd->head, rd->nhead);
        if (!rd->elf)
            return 0;
        if (start_elf(rd))
            return -MG_E_NOMEM;
        elf_bytes(rd, rd->head, rd->nhead);
        p += k;
        n -= k;
    }
    elf_bytes(rd, p, n);
    return 0;
}

static int on_end(void *ud)
{
    reading *rd = ud;
    entry *e = rd->cur;
    if (rd->text) {
        rd->text[rd->ntext] = 0;
        e->text = rd->text;
        rd->text = NULL;
    }
    const mg_scan_opts *o = rd->im->o;
    mg_report *r = NULL;
    if (rd->whole) {
        char *p;
        if (asprintf(&p, "%s%s", rd->lname, e->path) >= 0) {
            r = mg_scan_buffer(o, p, rd->whole, rd->nwhole);
            free(p);
        }
        atomic_fetch_add(&rd->im->bytes_read, rd->nwhole);
        free(rd->whole);
        rd->whole = NULL;
    } else if (rd->st) {
        atomic_fetch_add(&rd->im->bytes_read, rd->size);
        r = mg_stream_end(rd->st, 0, NULL);
        rd->st = NULL;
    }
    if (r && !r->err && !r->nfatbins && !o->keep_all) {
        mg_report_free(r);
        r = NULL;
    }
    if (r)
        e->report = r;
    rd->cur = NULL;
    return 0;
}

mg_report *mg_image_scan_layer(mg_image *im, size_t i)
{
    layer *l = &im->l[i];
    char dg[72];
    if (l->len >= 4)
        l->packing = mg_packing_of(l->blob, 4);
    digest_of(l->blob, l->len, 1, dg);
    int flat = !strcmp(im->format, "rootfs-tar");
    l->digest = mg_strdup(l->want && !flat ? l->want : dg);
    char *lname;
    if (!l->digest || (flat ? asprintf(&lname, "%s!", im->path) : asprintf(&lname, "%s!%s!", im->path, l->digest)) < 0)
        return NULL;
    mg_report *fail = NULL;
    if (l->want && strcmp(dg, l->want) != 0) {
        lname[strlen(lname) - 1] = 0;
        fail = mg_report_new(lname);
        if (fail)
            mg_report_fail(fail, MG_E_FORMAT, mg_arena_printf(fail->arena, "the layer's content does not match its "
                                                                           "digest: it hashes to %s", dg));
        free(lname);
        l->err = fail;
        l->mismatch = 1;
        return NULL;   /* not applied: a layer that is not what the manifest says is not the image */
    }
    reading rd;
    memset(&rd, 0, sizeof rd);
    rd.im = im;
    rd.l = l;
    rd.lname = lname;
    mg_tar_cb cb = {on_entry, on_data, on_end, &rd};
    mg_tar *t = mg_tar_new(&cb);
    if (!t) {
        free(lname);
        return NULL;
    }
    uint64_t most = l->len > MIN_BOMB / BOMB_RATIO ? l->len * BOMB_RATIO : MIN_BOMB, out = 0;
    const char *why = NULL;
    int rc = mg_unpack(l->packing, l->blob, (size_t)l->len, 1, most, (mg_sink_fn)mg_tar_feed, t, &out, &why);
    if (!rc)
        rc = mg_tar_finish(t);
    char tar_why[256];   /* the tar's own words outlive it */
    if (rc && (!why || !strcmp(why, "")) ) {
        snprintf(tar_why, sizeof tar_why, "%s", mg_tar_error(t));
        why = tar_why;
    }
    mg_tar_free(t);
    if (rd.st || rd.whole) {   /* a file cut short by the layer's end */
        free(rd.whole);
        if (rd.st)
            mg_report_free(mg_stream_end(rd.st, MG_E_TRUNCATED, "the layer ends inside it"));
    }
    free(rd.text);
    if (rc) {
        lname[strlen(lname) - 1] = 0;
        l->err = mg_report_new(lname);
        if (l->err)
            mg_report_fail(l->err, rc, mg_arena_printf(l->err->arena, "the layer (%s) %s%s", mg_packing_str(l->packing),
                                                          rc == MG_E_LIMIT ? "" : "does not read to its end: ",
                                                          why ? why : "unreadable"));
    }
    free(lname);
    return NULL;
}

/* ---- the layers applied: the final image -------------------------------- */

typedef struct node {
    struct node *parent, *child, *next;     /* the tree; next: sibling */
    struct node *hnext;                     /* the hash chain of (parent, name) */
    const char *name;
    entry *e;                               /* what made it (NULL: a directory only implied) */
    uint32_t layer;                         /* its layer's place in the manifest */
    uint8_t dir, dead;
} node;

typedef struct tree {
    node root;
    node **h;
    size_t cap;                             /* power of two */
    size_t n;
    mg_arena *a;
    uint32_t layer;                         /* the layer being applied: what implied directories get */
    int oom;
} tree;

static size_t hkey(const node *parent, const char *name, size_t len, size_t cap)
{
    uintptr_t id = (uintptr_t)parent;
    return (size_t)((mg_fnv1a(&id, sizeof id) ^ mg_fnv1a(name, len)) & (cap - 1));
}

static node *lookup(tree *t, node *parent, const char *name, size_t len)
{
    for (node *x = t->h[hkey(parent, name, len, t->cap)]; x; x = x->hnext)
        if (x->parent == parent && !x->dead && !strncmp(x->name, name, len) && !x->name[len])
            return x;
    return NULL;
}

static void grow(tree *t)
{
    size_t cap = t->cap * 2;
    node **h = mg_calloc(cap, sizeof *h);
    if (!h) {
        t->oom = 1;
        return;
    }
    for (size_t i = 0; i < t->cap; i++)
        for (node *x = t->h[i], *nx; x; x = nx) {
            nx = x->hnext;
            size_t k = hkey(x->parent, x->name, strlen(x->name), cap);
            x->hnext = h[k];
            h[k] = x;
        }
    free(t->h);
    t->h = h;
    t->cap = cap;
}

static node *make(tree *t, node *parent, const char *name, size_t len)
{
    if (t->n * 2 >= t->cap)
        grow(t);
    node *x = mg_arena_alloc(t->a, sizeof *x);
    char *nm = mg_arena_strndup(t->a, name, len);
    if (!x || !nm || t->oom) {
        t->oom = 1;
        return NULL;
    }
    memset(x, 0, sizeof *x);
    x->parent = parent;
    x->name = nm;
    x->dir = 1;
    x->layer = t->layer;
    x->next = parent->child;
    parent->child = x;
    size_t k = hkey(parent, name, len, t->cap);
    x->hnext = t->h[k];
    t->h[k] = x;
    t->n++;
    return x;
}

static void bury(node *x)
{
    x->dead = 1;
    for (node *c = x->child; c; c = c->next)
        if (!c->dead)
            bury(c);
}

/* The path of directory node d ("usr/lib", "" for the root); NULL out of memory. */
static char *node_path(const node *d)
{
    size_t n = 0;
    for (const node *z = d; z->parent; z = z->parent)
        n += strlen(z->name) + 1;
    char *p = mg_malloc(n + 1);
    if (!p)
        return NULL;
    size_t w = n;
    p[n ? n - 1 : 0] = 0;
    for (const node *z = d; z->parent; z = z->parent) {
        size_t k = strlen(z->name);
        w -= k + 1;
        memcpy(p + w, z->name, k);
        if (z != d)
            p[w + k] = '/';
    }
    return p;
}

/*
 * The node of directory `dir` ("usr/lib"), made as needed, its symlinks followed inside the image: an
 * absolute target starts again at the image's root, ".." never climbs above it. NULL when the links
 * loop (MAX_HOPS) or memory runs out.
 */
static node *resolve_dir(tree *t, const char *dir, int hops)
{
    node *d = &t->root;
    for (const char *s = dir; *s;) {
        const char *e = strchr(s, '/');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        const char *rest = e ? e + 1 : s + k;
        if (k == 2 && s[0] == '.' && s[1] == '.') {
            d = d->parent ? d->parent : d;
        } else if (k && !(k == 1 && s[0] == '.')) {
            node *x = lookup(t, d, s, k);
            if (x && x->e && x->e->type == MG_TAR_SYMLINK && x->e->link) {
                if (hops >= MAX_HOPS)
                    return NULL;
                char *here = x->e->link[0] == '/' ? mg_strdup("") : node_path(d), *next;
                if (!here || asprintf(&next, "%s/%s/%s", here, x->e->link, rest) < 0) {
                    free(here);
                    return NULL;
                }
                free(here);
                node *r = resolve_dir(t, next, hops + 1);
                free(next);
                return r;
            }
            if (!x && !(x = make(t, d, s, k)))
                return NULL;
            d = x;
        }
        s = rest;
    }
    return d;
}

/* One entry of the manifest's layer li applied to the tree. */
static void apply(tree *t, entry *e, uint32_t li)
{
    const char *slash = strrchr(e->path, '/'), *base = slash ? slash + 1 : e->path;
    size_t dl = slash ? (size_t)(slash - e->path) : 0;
    char *dir = mg_malloc(dl + 1);
    if (dir) {
        memcpy(dir, e->path, dl);
        dir[dl] = 0;
    }
    node *d = dir ? resolve_dir(t, dir, 0) : NULL;
    free(dir);
    if (!d)
        return;
    size_t k = strlen(base);
    node *x = k ? lookup(t, d, base, k) : d;
    if (e->type == E_OPAQUE) {   /* e->path is the directory: what lower layers put in it is hidden */
        for (node *c = x ? x->child : NULL; c; c = c->next)
            if (!c->dead && c->layer < li)
                bury(c);
        return;
    }
    if (!k)
        return;
    if (e->type == E_WHITEOUT) {
        if (x && x->layer < li)
            bury(x);
        return;
    }
    if (x && e->type == MG_TAR_DIR && x->dir) {
        x->e = e;   /* a directory over a directory keeps what is in it */
        x->layer = li;
        return;
    }
    if (x)
        bury(x);
    if (!(x = make(t, d, base, k)))
        return;
    x->e = e;
    x->layer = li;
    x->dir = e->type == MG_TAR_DIR;
}

static int alive(const node *x)
{
    for (; x; x = x->parent)
        if (x->dead)
            return 0;
    return 1;
}

/* A framework's dist-info (a directory) or torch's version.py (a file) in the final image. */
static int note_install(mg_image *im, const layer *l, const node *x, mg_installs *in)
{
    size_t nl = strlen(x->name);
    int dist = x->dir && nl > 10 && !strcmp(x->name + nl - 10, ".dist-info");
    int torch = !x->dir && x->e && x->e->text && x->parent && x->parent->parent && !strcmp(x->parent->name, "torch");
    if (!dist && !torch)
        return MG_OK;
    /* where its files' reports start: "img.tar!sha256:..!usr/lib/python3/site-packages/" */
    const node *dir = dist ? x->parent : x->parent->parent;
    char *dp = dir ? node_path(dir) : NULL, *where;
    int flat = !strcmp(im->format, "rootfs-tar");
    if (!dp || asprintf(&where, "%s!%s%s%s%s", im->path, flat ? "" : l->digest, flat ? "" : "!", dp,
                        dp[0] ? "/" : "") < 0) {
        free(dp);
        return MG_E_NOMEM;
    }
    free(dp);
    int rc = MG_OK;
    if (dist) {
        mg_install *at;
        rc = mg_installs_add(in, where, x->name, nl, &at);
    } else {
        mg_install *t = mg_installs_torch(in, where);
        if (t)
            mg_install_torch_version(t, x->e->text);
    }
    free(where);
    return rc == MG_E_LIMIT ? MG_OK : rc;
}

/* One manifest's final image: its files' entries marked alive, its frameworks noted (dist-infos in a
 * first pass, then torch's version), its summary into info. */
static int finish_manifest(mg_image *im, const manifest *m, mg_installs *in, mg_image_info *info, mg_arena *a)
{
    tree t;
    memset(&t, 0, sizeof t);
    t.cap = 1024;
    t.h = mg_calloc(t.cap, sizeof *t.h);
    t.a = mg_arena_new();
    if (!t.h || !t.a) {
        free(t.h);
        mg_arena_free(t.a);
        return MG_E_NOMEM;
    }
    for (uint32_t li = 0; li < m->nlayers; li++) {
        layer *l = &im->l[m->layers[li]];
        if (l->mismatch)
            continue;   /* a layer that is not what its digest says is not the image's */
        t.layer = li;
        for (size_t k = 0; k < l->n; k++)
            apply(&t, &l->e[k], li);
    }
    info->path = mg_arena_strdup(a, im->path);
    info->format = im->format;
    info->digest = m->digest ? mg_arena_strdup(a, m->digest) : NULL;
    info->id = m->id ? mg_arena_strdup(a, m->id) : NULL;
    info->platform = m->platform ? mg_arena_strdup(a, m->platform) : NULL;
    info->tags = mg_arena_array(a, m->ntags ? m->ntags : 1, sizeof *info->tags);
    for (size_t i = 0; info->tags && i < m->ntags; i++)
        info->tags[info->ntags++] = mg_arena_strdup(a, m->tags[i]);
    info->layers = mg_arena_array(a, m->nlayers ? m->nlayers : 1, sizeof *info->layers);
    for (uint32_t li = 0; info->layers && li < m->nlayers; li++) {
        const layer *l = &im->l[m->layers[li]];
        mg_image_layer *il = &info->layers[info->nlayers++];
        il->digest = l->digest ? mg_arena_strdup(a, l->digest) : NULL;
        il->compression = mg_packing_str(l->packing);
        il->size = l->len;
    }
    int rc = t.oom ? MG_E_NOMEM : MG_OK;
    for (int pass = 0; pass < 2 && rc == MG_OK; pass++)
        for (size_t i = 0; i < t.cap && rc == MG_OK; i++)
            for (node *x = t.h[i]; x && rc == MG_OK; x = x->hnext) {
                if (x->dead || (!x->e && !x->dir) || !alive(x))
                    continue;
                const layer *l = &im->l[m->layers[x->layer]];
                if (pass == 0 && x->e && x->e->type == MG_TAR_FILE) {
                    info->files++;
                    if (info->layers)
                        info->layers[x->layer].files++;
                    x->e->alive = 1;
                }
                if ((pass == 0) == x->dir)
                    rc = note_install(im, l, x, in);
            }
    free(t.h);
    mg_arena_free(t.a);
    return rc;
}

int mg_image_finish(mg_image *im, mg_report ***out, size_t *nout, mg_installs *in, mg_image_info **infos,
                    size_t *ninfos, mg_arena *a)
{
    int rc = MG_OK;
    for (size_t i = 0; i < im->nmf && rc == MG_OK; i++) {
        mg_image_info *v = mg_realloc(*infos, (*ninfos + 1) * sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        *infos = v;
        memset(&v[*ninfos], 0, sizeof *v);
        rc = finish_manifest(im, &im->mf[i], in, &v[(*ninfos)++], a);
    }
    /* the reports: the image's errors, the layers' errors, then every file alive in some manifest */
    size_t n = im->nerrs;
    for (size_t i = 0; i < im->nl; i++) {
        n += im->l[i].err != NULL;
        for (size_t k = 0; k < im->l[i].n; k++)
            n += im->l[i].e[k].report != NULL;
    }
    mg_report **v = mg_realloc(*out, (*nout + n + 1) * sizeof *v);
    if (!v)
        return MG_E_NOMEM;
    *out = v;
    for (size_t i = 0; i < im->nerrs; i++)
        v[(*nout)++] = im->errs[i];
    im->nerrs = 0;
    for (size_t i = 0; i < im->nl; i++) {
        layer *l = &im->l[i];
        if (l->err) {
            v[(*nout)++] = l->err;
            l->err = NULL;
        }
        for (size_t k = 0; k < l->n; k++) {
            entry *e = &l->e[k];
            if (!e->report)
                continue;
            if (e->alive || e->type == MG_TAR_OTHER) {   /* OTHER: an entry refused (a path leaving the root) */
                e->report->image = mg_arena_strdup(e->report->arena, im->path);
                e->report->layer = l->digest && strcmp(im->format, "rootfs-tar") ? mg_arena_strdup(e->report->arena, l->digest) : NULL;
                v[(*nout)++] = e->report;
            } else {
                mg_report_free(e->report);
            }
            e->report = NULL;
        }
    }
    return rc;
}

void mg_image_counts(const mg_image *im, size_t *files, uint64_t *bytes)
{
    *files += atomic_load(&im->files_read);
    *bytes += atomic_load(&im->bytes_read);
}

void mg_image_free(mg_image *im)
{
    if (!im)
        return;
    for (size_t i = 0; i < im->nm; i++)
        free(im->m[i].name);
    free(im->m);
    for (size_t i = 0; i < im->nl; i++) {
        layer *l = &im->l[i];
        for (size_t k = 0; k < l->n; k++) {
            free(l->e[k].path);
            free(l->e[k].link);
            free(l->e[k].text);
            mg_report_free(l->e[k].report);
        }
        free(l->e);
        free(l->digest);
        free(l->want);
        mg_report_free(l->err);
        drop_blob(l->blob, l->len, l->own_map);
    }
    free(im->l);
    for (size_t i = 0; i < im->nmf; i++) {
        manifest *m = &im->mf[i];
        free(m->digest);
        free(m->id);
        free(m->platform);
        for (size_t k = 0; k < m->ntags; k++)
            free(m->tags[k]);
        free(m->tags);
        free(m->layers);
    }
    free(im->mf);
    for (size_t i = 0; i < im->nerrs; i++)
        mg_report_free(im->errs[i]);
    free(im->errs);
    if (im->dirfd >= 0)
        close(im->dirfd);
    free(im->path);
    free(im);
}

/* tar.c - a tar stream parsed as it is pushed, in chunks of any size: ustar, GNU (long names and links, old sparse headers, base-256 numbers), pax ('x' applied, 'g' skipped) and v7 headers; every checksum, size and name checked; content handed on or skipped, never copied. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binaries/tar.h"
#include "core/alloc.h"
#include "mlgate/core.h"

#define BLOCK 512u

/* Where the fields of a header block lie (POSIX ustar; the GNU layout shares the first 345 bytes). */
enum {
    NAME_AT = 0, NAME_LEN = 100,
    MODE_AT = 100, MODE_LEN = 8,
    SIZE_AT = 124, SIZE_LEN = 12,
    SUM_AT = 148, SUM_LEN = 8,
    TYPE_AT = 156,
    LINK_AT = 157, LINK_LEN = 100,
    MAGIC_AT = 257,
    PREFIX_AT = 345, PREFIX_LEN = 155,
    GNU_EXTENDED_AT = 482,      /* an old GNU sparse header: extension blocks follow */
    EXT_EXTENDED_AT = 504,      /* a sparse extension block: another follows */
};

typedef enum state {
    ST_HEADER,      /* a header block being gathered into hdr */
    ST_SPARSE,      /* a GNU sparse extension block being gathered into hdr */
    ST_DATA,        /* an entry's content, handed to data() */
    ST_COLLECT,     /* a GNU long name or link, or a pax header, gathered into buf */
    ST_SKIP,        /* content nobody asked for, and padding */
    ST_END,         /* past the end marker: everything ignored */
    ST_FAILED
} state;

typedef enum pseudo { PS_LONGNAME, PS_LONGLINK, PS_PAX } pseudo;

struct mg_tar {
    mg_tar_cb cb;
    state st;
    int err;                    /* ST_FAILED: what every later call returns */
    uint8_t hdr[BLOCK];
    size_t hn;                  /* bytes of hdr gathered */
    uint64_t off;               /* stream bytes consumed */
    uint64_t hoff;              /* where the last header block began */
    uint64_t left;              /* ST_DATA, ST_COLLECT: content still to come; ST_SKIP: content and padding */
    uint64_t pad;               /* the padding after that content */
    int zeros;                  /* zero blocks read in a row (two end the archive) */
    int in_global;              /* ST_SKIP: the content of a global pax header */
    uint64_t count;
    /* the pseudo-header being collected, into buf (capped: MG_TAR_MAX_NAME + 1, MG_TAR_MAX_PAX) */
    pseudo ps;
    uint8_t *buf;
    size_t bufn, bufcap;
    /* what pseudo-headers said of the next entry (a later one overrides an earlier one) */
    int pending;                /* a pseudo-header was read since the last entry: one must follow */
    uint64_t pending_off;       /* where the first of them began */
    int has_name, has_link, has_size, sparse;
    uint64_t pax_size;
    /* the entry being read: its header decoded, extension blocks may still follow */
    mg_tar_entry e;
    uint64_t e_hoff;
    char name[MG_TAR_MAX_NAME + 1];
    char link[MG_TAR_MAX_NAME + 1];
    char msg[256];
};

/* ==== errors ==== */

static int fail(mg_tar *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(mg_tar *t, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    t->st = ST_FAILED;
    t->err = err;
    return err;
}

/* The current entry's name fit for a message (bytes from the archive: cleaned, cut short). */
static const char *shown(const mg_tar *t, char buf[96])
{
    return mg_text_clean(buf, 96, t->name, strlen(t->name), NULL);
}

/* A callback's negative mg_err, as the positive error it stands for. */
static int stopped(mg_tar *t, int rc, const char *which)
{
    int err = rc == INT_MIN ? MG_E_ARG : -rc;
    return fail(t, err, "the %s callback stopped the stream at offset %llu (%s)", which, (unsigned long long)t->off,
                mg_strerror((mg_err)err));
}

/* ==== fields ==== */

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* GNU base-256: the first byte's top bit set, then a big-endian two's-complement number. Negative
 * (the next bit set) or wider than 64 bits: 0. */
static int base256(const uint8_t *f, size_t n, uint64_t *out)
{
    if (f[0] & 0x40)
        return 0;
    uint64_t v = f[0] & 0x3fu;
    for (size_t i = 1; i < n; i++) {
        if (v >> 56)
            return 0;
        v = v << 8 | f[i];
    }
    *out = v;
    return 1;
}

/* A numeric field: leading spaces, octal digits, then a NUL, a space or the field's end (what follows
 * that is ignored, as tar does); or base-256. 0 when it is neither. */
static int number(const uint8_t *f, size_t n, uint64_t *out)
{
    if (f[0] & 0x80)
        return base256(f, n, out);
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    uint64_t v = 0;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 61)
            return 0;
        v = v << 3 | (uint64_t)(f[i] - '0');
    }
    if (i < n && f[i] != 0 && f[i] != ' ')
        return 0;
    *out = v;
    return 1;
}

/* The checksum: the sum of the block's bytes with its own field read as spaces, unsigned, or signed as
 * some old tars computed it. */
static int checksum_ok(const uint8_t *h)
{
    uint64_t want;
    if (!number(h + SUM_AT, SUM_LEN, &want))
        return 0;
    uint64_t usum = 0;
    int64_t ssum = 0;
    for (size_t i = 0; i < BLOCK; i++) {
        unsigned c = i >= SUM_AT && i < SUM_AT + SUM_LEN ? ' ' : h[i];
        usum += c;
        ssum += c < 128 ? (int64_t)c : (int64_t)c - 256;
    }
    return want == usum || (ssum >= 0 && want == (uint64_t)ssum);
}

/* A NUL- or length-terminated text field appended to dst at *len (dst holds MG_TAR_MAX_NAME + 1). */
static void append_field(char *dst, size_t *len, const uint8_t *f, size_t n)
{
    const uint8_t *nul = memchr(f, 0, n);
    size_t k = nul ? (size_t)(nul - f) : n;
    memcpy(dst + *len, f, k);
    *len += k;
    dst[*len] = 0;
}

/* The name a header spells: a ustar header's prefix, '/', then its name; other headers' name alone. */
static void header_name(const uint8_t *h, char *dst)
{
    size_t len = 0;
    dst[0] = 0;
    if (!memcmp(h + MAGIC_AT, "ustar\0", 6) && h[PREFIX_AT]) {
        append_field(dst, &len, h + PREFIX_AT, PREFIX_LEN);
        append_field(dst, &len, (const uint8_t *)"/", 1);
    }
    append_field(dst, &len, h + NAME_AT, NAME_LEN);
}

int mg_tar_is_tar(const uint8_t *buf, size_t len)
{
    return buf && len >= BLOCK && !all_zero(buf, BLOCK) && checksum_ok(buf);
}

/* ==== pax extended headers ==== */

/* A name from a pax record: at most MG_TAR_MAX_NAME bytes, none of them NUL. */
static int pax_name(mg_tar *t, char *dst, const uint8_t *v, size_t n, const char *key)
{
    if (n > MG_TAR_MAX_NAME)
        return fail(t, MG_E_LIMIT, "pax %s of %zu bytes in the header at offset %llu: mlgate accepts names of at most %u bytes",
                    key, n, (unsigned long long)t->hoff, MG_TAR_MAX_NAME);
    if (memchr(v, 0, n))
        return fail(t, MG_E_FORMAT, "pax %s in the header at offset %llu holds a NUL byte", key,
                    (unsigned long long)t->hoff);
    memcpy(dst, v, n);
    dst[n] = 0;
    return MG_OK;
}

/* A pax size: decimal digits only, small enough to be padded to a block. */
static int pax_size(mg_tar *t, const uint8_t *v, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || s > (UINT64_MAX - (BLOCK - 1)) / 10)
            return fail(t, MG_E_FORMAT, "pax size in the header at offset %llu is not a size", (unsigned long long)t->hoff);
        s = s * 10 + (uint64_t)(v[i] - '0');
    }
    if (s > UINT64_MAX - (BLOCK - 1))
        return fail(t, MG_E_FORMAT, "pax size %llu in the header at offset %llu is too large", (unsigned long long)s,
                    (unsigned long long)t->hoff);
    t->pax_size = s;
    t->has_size = 1;
    return MG_OK;
}

static int key_is(const uint8_t *k, size_t n, const char *want)
{
    return n == strlen(want) && !memcmp(k, want, n);
}

/* One record's key and value. An empty value is no value (POSIX: the header's field stands). */
static int pax_record(mg_tar *t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn, int *sparse_name)
{
    int rc = MG_OK;
    if (kn > 11 && !memcmp(k, "GNU.sparse.", 11))
        t->sparse = 1;
    if (!vn)
        return MG_OK;
    if (key_is(k, kn, "GNU.sparse.name")) {
        if (!(rc = pax_name(t, t->name, v, vn, "GNU.sparse.name")))
            t->has_name = *sparse_name = 1;
    } else if (key_is(k, kn, "path") && !*sparse_name) {
        if (!(rc = pax_name(t, t->name, v, vn, "path")))
            t->has_name = 1;
    } else if (key_is(k, kn, "linkpath")) {
        if (!(rc = pax_name(t, t->link, v, vn, "linkpath")))
            t->has_link = 1;
    } else if (key_is(k, kn, "size")) {
        rc = pax_size(t, v, vn);
    }
    return rc;
}

/* Records "LEN key=value\n", LEN the record's decimal length, newline included; nothing else. */
static int pax_records(mg_tar *t, const uint8_t *b, size_t n)
{
    int sparse_name = 0;
    for (size_t pos = 0; pos < n;) {
        size_t len = 0, i = pos;
        for (; i < n && b[i] >= '0' && b[i] <= '9'; i++)
            if ((len = len * 10 + (size_t)(b[i] - '0')) > n - pos)
                return fail(t, MG_E_FORMAT, "pax record at byte %zu of the header at offset %llu is longer than the header",
                            pos, (unsigned long long)t->hoff);
        if (i == pos || i == n || b[i] != ' ')
            return fail(t, MG_E_FORMAT, "pax record at byte %zu of the header at offset %llu has no decimal length", pos,
                        (unsigned long long)t->hoff);
        size_t key = i + 1, end = pos + len;
        const uint8_t *eq = end > key ? memchr(b + key, '=', end - key) : NULL;
        if (!eq || b[end - 1] != '\n' || eq == b + key)
            return fail(t, MG_E_FORMAT, "pax record at byte %zu of the header at offset %llu is not 'LEN key=value\\n'",
                        pos, (unsigned long long)t->hoff);
        const uint8_t *v = eq + 1;
        int rc = pax_record(t, b + key, (size_t)(eq - (b + key)), v, (size_t)(b + end - 1 - v), &sparse_name);
        if (rc)
            return rc;
        pos = end;
    }
    return MG_OK;
}

/* ==== pseudo-headers ==== */

/* A GNU long name or link: its content up to the first NUL. */
static int long_name(mg_tar *t, char *dst, int *has)
{
    const uint8_t *nul = t->bufn ? memchr(t->buf, 0, t->bufn) : NULL;
    size_t n = nul ? (size_t)(nul - t->buf) : t->bufn;
    if (n > MG_TAR_MAX_NAME)
        return fail(t, MG_E_LIMIT, "GNU long %s of %zu bytes at offset %llu: mlgate accepts names of at most %u bytes",
                    dst == t->name ? "name" : "link", n, (unsigned long long)t->hoff, MG_TAR_MAX_NAME);
    if (n)
        memcpy(dst, t->buf, n);
    dst[n] = 0;
    *has = 1;
    return MG_OK;
}

/* The pseudo-header's content is all here. */
static int collected(mg_tar *t)
{
    switch (t->ps) {
    case PS_LONGNAME:
        return long_name(t, t->name, &t->has_name);
    case PS_LONGLINK:
        return long_name(t, t->link, &t->has_link);
    case PS_PAX:
        return pax_records(t, t->buf, t->bufn);
    }
    return MG_OK;
}

/* After content (or a pseudo-header's) ends: its padding, then the next header. */
static void to_padding(mg_tar *t)
{
    t->left = t->pad;
    t->st = t->pad ? ST_SKIP : ST_HEADER;
}

static int begin_pseudo(mg_tar *t, pseudo ps, uint64_t size, uint64_t cap, const char *what)
{
    if (size > cap && ps == PS_PAX)
        return fail(t, MG_E_LIMIT, "%s of %llu bytes at offset %llu: mlgate reads at most %llu", what,
                    (unsigned long long)size, (unsigned long long)t->hoff, (unsigned long long)cap);
    if (size > cap)   /* the name and its NUL */
        return fail(t, MG_E_LIMIT, "%s of %llu bytes at offset %llu: mlgate accepts names of at most %u bytes", what,
                    (unsigned long long)size, (unsigned long long)t->hoff, MG_TAR_MAX_NAME);
    if (size > t->bufcap) {
        uint8_t *b = mg_realloc(t->buf, (size_t)size);
        if (!b)
            return fail(t, MG_E_NOMEM, "out of memory for the %s at offset %llu", what, (unsigned long long)t->hoff);
        t->buf = b;
        t->bufcap = (size_t)size;
    }
    if (!t->pending)
        t->pending_off = t->hoff;
    t->pending = 1;
    t->ps = ps;
    t->bufn = 0;
    t->left = size;
    t->pad = (BLOCK - size % BLOCK) % BLOCK;
    t->st = ST_COLLECT;
    if (size)
        return MG_OK;
    to_padding(t);
    return collected(t);
}

/* ==== entries ==== */

/* Types that never have content, whatever their size field says (POSIX; as Go's archive/tar and
 * Python's tarfile read them). */
static int header_only(uint8_t type)
{
    return type >= '1' && type <= '6';
}

static uint8_t kind_of(uint8_t type)
{
    switch (type) {
    case '0': case 0: case '7': case 'S':
        return MG_TAR_FILE;
    case '5':
        return MG_TAR_DIR;
    case '2':
        return MG_TAR_SYMLINK;
    case '1':
        return MG_TAR_HARDLINK;
    default:
        return MG_TAR_OTHER;
    }
}

/* The entry is complete (header, extension blocks): handed to entry(), its content to data() or skipped. */
static int emit(mg_tar *t)
{
    mg_tar_entry e = t->e;
    e.name = t->name;
    e.link = e.type == MG_TAR_SYMLINK || e.type == MG_TAR_HARDLINK ? t->link : "";
    e.offset = t->off;
    t->count++;
    t->pending = t->has_name = t->has_link = t->has_size = t->sparse = 0;
    int rc = t->cb.entry ? t->cb.entry(t->cb.ud, &e) : 0;
    if (rc < 0)
        return stopped(t, rc, "entry");
    t->pad = (BLOCK - e.size % BLOCK) % BLOCK;
    if (!rc) {
        t->left = e.size + t->pad;   /* cannot wrap: sizes are at most UINT64_MAX - 511 */
        t->st = t->left ? ST_SKIP : ST_HEADER;
        return MG_OK;
    }
    t->left = e.size;
    t->st = ST_DATA;
    if (e.size)
        return MG_OK;
    to_padding(t);
    if (t->cb.end && (rc = t->cb.end(t->cb.ud)) < 0)
        return stopped(t, rc, "end");
    return MG_OK;
}

/* A real entry's header: its fields under what the pseudo-headers before it said. */
static int entry_header(mg_tar *t, uint8_t type, uint64_t size)
{
    const uint8_t *h = t->hdr;
    if (!t->has_name)
        header_name(h, t->name);
    if (!t->has_link) {
        size_t n = 0;
        append_field(t->link, &n, h + LINK_AT, LINK_LEN);
    }
    uint64_t mode = 0;
    if (!number(h + MODE_AT, MODE_LEN, &mode))
        mode = 0;   /* never used to decide anything: a bad mode is no reason to refuse */
    memset(&t->e, 0, sizeof t->e);
    t->e.type = kind_of(type);
    size_t nl = strlen(t->name);
    if (type == 0 && nl && t->name[nl - 1] == '/')   /* v7: a directory is a file named with a slash */
        t->e.type = MG_TAR_DIR;
    t->e.sparse = type == 'S' || t->sparse;
    t->e.mode = (uint32_t)(mode & 0xffffffffu);
    if (t->has_size)
        size = t->pax_size;
    t->e.size = header_only(type) || (type == 0 && t->e.type == MG_TAR_DIR) ? 0 : size;
    t->e_hoff = t->hoff;
    if (type == 'S' && h[GNU_EXTENDED_AT]) {
        t->st = ST_SPARSE;
        return MG_OK;
    }
    return emit(t);
}

static int zero_block(mg_tar *t)
{
    if (t->pending)
        return fail(t, MG_E_FORMAT, "the pseudo-header at offset %llu is followed by the end of the archive, not an entry",
                    (unsigned long long)t->pending_off);
    if (++t->zeros == 2)
        t->st = ST_END;
    return MG_OK;
}

/* A whole header block is in hdr. */
static int header_block(mg_tar *t)
{
    const uint8_t *h = t->hdr;
    unsigned long long at = (unsigned long long)t->hoff;
    if (all_zero(h, BLOCK))
        return zero_block(t);
    if (t->zeros)
        return fail(t, MG_E_FORMAT, "a header at offset %llu follows a lone zero block (the end of the archive)", at);
    if (!checksum_ok(h))
        return fail(t, MG_E_FORMAT, "header checksum mismatch at offset %llu", at);
    uint64_t size;
    if (!number(h + SIZE_AT, SIZE_LEN, &size))
        return fail(t, MG_E_FORMAT, "the size field of the header at offset %llu is not a number", at);
    if (size > UINT64_MAX - (BLOCK - 1))
        return fail(t, MG_E_FORMAT, "size %llu in the header at offset %llu is too large", (unsigned long long)size, at);
    uint8_t type = h[TYPE_AT];
    switch (type) {
    case 'L':
        return begin_pseudo(t, PS_LONGNAME, size, MG_TAR_MAX_NAME + 1, "GNU long name");
    case 'K':
        return begin_pseudo(t, PS_LONGLINK, size, MG_TAR_MAX_NAME + 1, "GNU long link");
    case 'x': case 'X':
        return begin_pseudo(t, PS_PAX, size, MG_TAR_MAX_PAX, "pax header");
    case 'g':   /* global pax header: read past, not applied */
        t->pad = (BLOCK - size % BLOCK) % BLOCK;
        t->left = size + t->pad;
        t->st = t->left ? ST_SKIP : ST_HEADER;
        t->in_global = 1;
        return MG_OK;
    default:
        return entry_header(t, type, size);
    }
}

/* ==== the stream ==== */

/* Gathers bytes into hdr; 1 when the block is whole. */
static int gather(mg_tar *t, const uint8_t **p, size_t *n)
{
    size_t k = BLOCK - t->hn < *n ? BLOCK - t->hn : *n;
    memcpy(t->hdr + t->hn, *p, k);
    t->hn += k;
    t->off += k;
    *p += k;
    *n -= k;
    if (t->hn < BLOCK)
        return 0;
    t->hn = 0;
    t->hoff = t->off - BLOCK;
    return 1;
}

/* How much of the n bytes at hand the current content takes. */
static size_t take(const mg_tar *t, size_t n)
{
    return t->left < n ? (size_t)t->left : n;
}

/* One step over the bytes at hand: consumes some, and acts on what completes. */
static int step(mg_tar *t, const uint8_t **p, size_t *n)
{
    size_t k;
    int rc;
    switch (t->st) {
    case ST_HEADER:
        return gather(t, p, n) ? header_block(t) : MG_OK;
    case ST_SPARSE:
        if (!gather(t, p, n))
            return MG_OK;
        return t->hdr[EXT_EXTENDED_AT] ? MG_OK : emit(t);
    case ST_DATA:
        k = take(t, *n);
        if (t->cb.data && (rc = t->cb.data(t->cb.ud, *p, k)) < 0)
            return stopped(t, rc, "data");
        break;
    case ST_COLLECT:
        k = take(t, *n);
        memcpy(t->buf + t->bufn, *p, k);
        t->bufn += k;
        break;
    case ST_SKIP:
        k = take(t, *n);
        break;
    case ST_END:
        t->off += *n;
        *n = 0;
        return MG_OK;
    default:
        return t->err;
    }
    t->off += k;
    t->left -= k;
    *p += k;
    *n -= k;
    if (t->left)
        return MG_OK;
    state was = t->st;
    if (was == ST_SKIP) {
        t->st = ST_HEADER;
        t->in_global = 0;
        return MG_OK;
    }
    to_padding(t);
    if (was == ST_COLLECT)
        return collected(t);
    if (t->cb.end && (rc = t->cb.end(t->cb.ud)) < 0)
        return stopped(t, rc, "end");
    return MG_OK;
}

int mg_tar_feed(mg_tar *t, const uint8_t *p, size_t n)
{
    if (!t)
        return MG_E_ARG;
    if (t->st == ST_FAILED)
        return t->err;
    if (!p && n)
        return fail(t, MG_E_ARG, "mg_tar_feed: %zu bytes at NULL", n);
    while (n) {
        int rc = step(t, &p, &n);
        if (rc)
            return rc;
    }
    return MG_OK;
}

int mg_tar_finish(mg_tar *t)
{
    if (!t)
        return MG_E_ARG;
    char nm[96];
    unsigned long long at = (unsigned long long)t->off;
    switch (t->st) {
    case ST_FAILED:
        return t->err;
    case ST_END:
        return MG_OK;
    case ST_HEADER:
        if (t->hn && !all_zero(t->hdr, t->hn))
            return fail(t, MG_E_TRUNCATED, "the stream ends inside the header at offset %llu (%zu of 512 bytes)",
                        (unsigned long long)(t->off - t->hn), t->hn);
        if (t->pending)
            return fail(t, MG_E_TRUNCATED, "the stream ends after the pseudo-header at offset %llu, before its entry",
                        (unsigned long long)t->pending_off);
        return MG_OK;   /* at an entry boundary, or inside the end marker */
    case ST_SPARSE:
        return fail(t, MG_E_TRUNCATED, "the stream ends inside a sparse extension block of the header at offset %llu",
                    (unsigned long long)t->e_hoff);
    case ST_COLLECT:
        return fail(t, MG_E_TRUNCATED, "the stream ends at offset %llu inside the pseudo-header at offset %llu", at,
                    (unsigned long long)t->hoff);
    case ST_SKIP:
    case ST_DATA:
        break;
    }
    if (t->in_global)
        return fail(t, MG_E_TRUNCATED, "the stream ends at offset %llu inside the global pax header at offset %llu", at,
                    (unsigned long long)t->hoff);
    if (t->st == ST_SKIP && t->pending)   /* the padding of a pseudo-header */
        return fail(t, MG_E_TRUNCATED, "the stream ends at offset %llu inside the pseudo-header at offset %llu", at,
                    (unsigned long long)t->hoff);
    /* inside content, its own or skipped, or the padding after it */
    uint64_t missing = t->st == ST_DATA ? t->left : t->left > t->pad ? t->left - t->pad : 0;
    if (!missing)   /* the content is whole, only its padding is cut: umoci writes layers so, tar reads them */
        return MG_OK;
    return fail(t, MG_E_TRUNCATED, "the stream ends at offset %llu inside the content of '%s' (%llu more bytes)", at,
                shown(t, nm), (unsigned long long)missing);
}

mg_tar *mg_tar_new(const mg_tar_cb *cb)
{
    mg_tar *t = mg_calloc(1, sizeof *t);
    if (t && cb)
        t->cb = *cb;
    return t;
}

const char *mg_tar_error(const mg_tar *t)
{
    return t && t->st == ST_FAILED ? t->msg : "";
}

uint64_t mg_tar_count(const mg_tar *t)
{
    return t ? t->count : 0;
}

void mg_tar_free(mg_tar *t)
{
    if (!t)
        return;
    free(t->buf);
    free(t);
}

/* test_tar.c - lib/core/sha256.c against the FIPS 180-4 examples and any chunking; lib/binaries/tar.c over archives built here by hand (ustar, GNU, pax, v7, sparse, base-256), fed in chunks of every size, and hostile ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binaries/tar.h"
#include "core/alloc.h"
#include "core/sha256.h"
#include "mlgate/core.h"

/* ==== SHA-256 ==== */

static void digest_hex(const void *p, size_t n, size_t chunk, char out[65])
{
    const uint8_t *b = p;
    mg_sha256 s;
    uint8_t d[32];
    mg_sha256_init(&s);
    for (size_t i = 0; i < n; i += chunk)
        mg_sha256_update(&s, b + i, n - i < chunk ? n - i : chunk);
    mg_sha256_final(&s, d);
    mg_sha256_hex(d, out);
}

static void sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    mg_sha256_buf_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mg_sha256_buf_hex(NULL, 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mg_sha256_buf_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";   /* 448 bits: padding needs a block of its own */
    mg_sha256_buf_hex(m448, strlen(m448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    for (size_t chunk = 1; chunk <= 113; chunk++) {
        digest_hex(m896, strlen(m896), chunk, hex);
        assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    }
    /* the lengths around the padding's edges (hashlib's digests) */
    static const struct { size_t n; const char *hex; } edge[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
    };
    char as[128];
    memset(as, 'a', sizeof as);
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        mg_sha256_buf_hex(as, edge[i].n, hex);
        assert_string_equal(hex, edge[i].hex);
        digest_hex(as, edge[i].n, 7, hex);
        assert_string_equal(hex, edge[i].hex);
    }
}

static void sha256_million_a_any_chunking(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    static const size_t chunks[] = {1, 63, 64, 65, 4097, 1000000};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        char hex[65];
        digest_hex(a, n, chunks[i], hex);
        assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
    free(a);
}

/* ==== archives built by hand ==== */

typedef struct tb {
    uint8_t *p;
    size_t n, cap;
} tb;

static void tb_put(tb *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 4096;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void tb_zeros(tb *b, size_t n)
{
    static const uint8_t z[512];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        tb_put(b, z, k);
        n -= k;
    }
}

static void tb_pad(tb *b) { tb_zeros(b, (512 - b->n % 512) % 512); }
static void tb_end(tb *b) { tb_zeros(b, 1024); }

enum { V7, USTAR, GNU };

/* The checksum field written over the block's sum (with the field as spaces), as tar writes it. */
static void seal(uint8_t *h)
{
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

/* A base-256 number (GNU) over a field of n bytes. */
static void base256(uint8_t *f, size_t n, uint64_t v)
{
    memset(f, 0, n);
    f[0] = 0x80;
    for (size_t i = n; i > 1; i--, v >>= 8)
        f[i - 1] = (uint8_t)(v & 0xff);
}

/* A header block: name, type, size (octal, base-256 past 8 GiB), in a format's layout; sealed. */
static void header(uint8_t h[512], int fmt, const char *name, uint8_t type, uint64_t size)
{
    memset(h, 0, 512);
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0001750", 8);
    memcpy(h + 116, "0001750", 8);
    if (size < 077777777777ull)
        snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    else
        base256(h + 124, 12, size);
    memcpy(h + 136, "14567063021", 12);
    h[156] = type;
    if (fmt == USTAR)
        memcpy(h + 257, "ustar\0" "00", 8);
    else if (fmt == GNU)
        memcpy(h + 257, "ustar  \0", 8);
    seal(h);
}

/* A whole member: header, content, padding. */
static void member(tb *b, int fmt, const char *name, uint8_t type, const void *data, size_t n)
{
    uint8_t h[512];
    header(h, fmt, name, type, n);
    tb_put(b, h, 512);
    tb_put(b, data, n);
    tb_pad(b);
}

static void link_member(tb *b, int fmt, const char *name, uint8_t type, const char *target)
{
    uint8_t h[512];
    header(h, fmt, name, type, 0);
    memcpy(h + 157, target, strlen(target) < 100 ? strlen(target) : 100);
    seal(h);
    tb_put(b, h, 512);
}

/* A GNU long name ('L') or link ('K'): the text and its NUL. */
static void gnu_long(tb *b, uint8_t type, const char *text)
{
    member(b, GNU, "././@LongLink", type, text, strlen(text) + 1);
}

/* One pax record, "LEN key=value\n", appended to out (LEN counts itself). */
static void record(char *out, size_t cap, const char *key, const char *value)
{
    size_t body = strlen(key) + strlen(value) + 3, len = body + 1;
    char digits[24];
    while ((size_t)snprintf(digits, sizeof digits, "%zu", len) + body != len)
        len++;
    size_t at = strlen(out);
    snprintf(out + at, cap - at, "%zu %s=%s\n", len, key, value);
}

static void pax(tb *b, uint8_t type, const char *records, size_t n)
{
    member(b, USTAR, "PaxHeaders/x", type, records, n);
}

/* A name of n bytes: "d/ddd.../x" cycling through the alphabet. */
static char *long_text(size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = i % 50 == 49 ? '/' : (char)('a' + i % 26);
    s[n] = 0;
    return s;
}

/* ==== what the parser hands out ==== */

typedef struct seen {
    uint8_t type, sparse;
    uint32_t mode;
    uint64_t size, offset, got;
    int ended;
    char sha[65];
    char name[MG_TAR_MAX_NAME + 1], link[MG_TAR_MAX_NAME + 1];
} seen;

#define MAX_SEEN 8

typedef struct rec {
    seen e[MAX_SEEN];
    size_t n;
    int want;               /* what entry() returns */
    int data_rc, end_rc;    /* what data() and end() return */
    int rc;
    uint64_t count;
    char msg[256];
    mg_sha256 sha;
    int bad;                /* a callback contract broken */
    int nohash;             /* content counted, not hashed (gigabytes) */
} rec;

static int on_entry(void *ud, const mg_tar_entry *e)
{
    rec *r = ud;
    if (r->n && r->want > 0 && !r->e[r->n - 1].ended)
        r->bad = 1;
    if (r->n < MAX_SEEN) {
        seen *s = &r->e[r->n];
        memset(s, 0, sizeof *s);
        s->type = e->type;
        s->sparse = e->sparse;
        s->mode = e->mode;
        s->size = e->size;
        s->offset = e->offset;
        snprintf(s->name, sizeof s->name, "%s", e->name);
        snprintf(s->link, sizeof s->link, "%s", e->link);
    }
    r->n++;
    mg_sha256_init(&r->sha);
    return r->want;
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
    rec *r = ud;
    seen *s = r->n && r->n <= MAX_SEEN ? &r->e[r->n - 1] : NULL;
    if (!s || !n || n > s->size - s->got || s->ended)
        r->bad = 1;
    else
        s->got += n;
    if (!r->nohash)
        mg_sha256_update(&r->sha, p, n);
    return r->data_rc;
}

static int on_end(void *ud)
{
    rec *r = ud;
    seen *s = r->n && r->n <= MAX_SEEN ? &r->e[r->n - 1] : NULL;
    if (!s || s->ended || s->got != s->size)
        r->bad = 1;
    if (s) {
        uint8_t d[32];
        mg_sha256_final(&r->sha, d);
        mg_sha256_hex(d, s->sha);
        s->ended = 1;
    }
    return r->end_rc;
}

/* Feeds p in chunks of `chunk` bytes (then finishes) into r, whose `want` says what entry() returns. */
static void parse_chunked(const uint8_t *p, size_t n, size_t chunk, rec *r, int want)
{
    memset(r, 0, sizeof *r);
    r->want = want;
    mg_tar_cb cb = {on_entry, on_data, on_end, r};
    mg_tar *t = mg_tar_new(&cb);
    assert_non_null(t);
    int rc = MG_OK;
    for (size_t i = 0; i < n && !rc; i += chunk)
        rc = mg_tar_feed(t, p + i, n - i < chunk ? n - i : chunk);
    if (!rc)
        rc = mg_tar_finish(t);
    else
        assert_int_equal(mg_tar_feed(t, p, n), rc);   /* errors stay */
    r->rc = rc;
    r->count = mg_tar_count(t);
    snprintf(r->msg, sizeof r->msg, "%s", mg_tar_error(t));
    assert_true(rc ? r->msg[0] != 0 : r->msg[0] == 0);
    assert_false(r->bad);
    mg_tar_free(t);
}

static void same(const rec *a, const rec *b)
{
    assert_int_equal(a->rc, b->rc);
    assert_string_equal(a->msg, b->msg);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n && i < MAX_SEEN; i++) {
        const seen *x = &a->e[i], *y = &b->e[i];
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->sparse, y->sparse);
        assert_int_equal(x->size, y->size);
        assert_int_equal(x->offset, y->offset);
        assert_int_equal(x->got, y->got);
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->link, y->link);
        assert_string_equal(x->sha, y->sha);
    }
}

/* Parses the archive whole, then in chunks of many sizes (and with every entry skipped): all the same.
 * The whole-stream result lands in *r (static storage: names are 4 KiB). */
static void parse(const tb *b, rec *r)
{
    static rec other;
    static const size_t chunks[] = {1, 2, 3, 7, 100, 511, 512, 513, 1023, 1024, 1025, 4096, 65536};
    parse_chunked(b->p, b->n, b->n ? b->n : 1, r, 1);
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        parse_chunked(b->p, b->n, chunks[i], &other, 1);
        same(r, &other);
    }
    parse_chunked(b->p, b->n, 5, &other, 0);   /* skipped: the same entries, no content handed over */
    assert_int_equal(other.rc, r->rc);
    assert_int_equal(other.count, r->count);
    for (size_t i = 0; i < r->n && i < MAX_SEEN; i++) {
        assert_int_equal(other.e[i].offset, r->e[i].offset);
        assert_int_equal(other.e[i].got, 0);
        assert_false(other.e[i].ended);
    }
}

static void ok(const rec *r)
{
    if (r->rc)
        fail_msg("error %d: %s", r->rc, r->msg);
}

static const char *hex_of(const void *p, size_t n)
{
    static char hex[65];
    mg_sha256_buf_hex(p, n, hex);
    return hex;
}

/* ==== valid archives ==== */

static void ustar_members_and_prefix(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    uint8_t data[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    uint8_t h[512];
    header(h, USTAR, "file.bin", '0', sizeof data);
    memcpy(h + 345, "some/deep/dir", 13);   /* prefix */
    seal(h);
    tb_put(&b, h, 512);
    tb_put(&b, data, sizeof data);
    tb_pad(&b);
    member(&b, USTAR, "some/", '5', NULL, 0);
    link_member(&b, USTAR, "some/link", '2', "../file.bin");
    link_member(&b, USTAR, "some/hard", '1', "some/deep/dir/file.bin");
    member(&b, USTAR, "some/fifo", '6', NULL, 0);
    member(&b, USTAR, "empty", '0', NULL, 0);
    member(&b, USTAR, "contig", '7', "abc", 3);
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_int_equal(r.count, 7);
    assert_string_equal(r.e[0].name, "some/deep/dir/file.bin");
    assert_int_equal(r.e[0].type, MG_TAR_FILE);
    assert_int_equal(r.e[0].size, 1000);
    assert_int_equal(r.e[0].offset, 512);
    assert_int_equal(r.e[0].mode, 0644);
    assert_string_equal(r.e[0].link, "");
    assert_string_equal(r.e[0].sha, hex_of(data, sizeof data));
    assert_string_equal(r.e[1].name, "some/");
    assert_int_equal(r.e[1].type, MG_TAR_DIR);
    assert_int_equal(r.e[1].offset, 2048);
    assert_int_equal(r.e[2].type, MG_TAR_SYMLINK);
    assert_string_equal(r.e[2].link, "../file.bin");
    assert_int_equal(r.e[3].type, MG_TAR_HARDLINK);
    assert_string_equal(r.e[3].link, "some/deep/dir/file.bin");
    assert_int_equal(r.e[4].type, MG_TAR_OTHER);
    assert_int_equal(r.e[5].size, 0);
    assert_true(r.e[5].ended);   /* end() even for no content */
    assert_string_equal(r.e[5].sha, hex_of("", 0));
    assert_int_equal(r.e[6].type, MG_TAR_FILE);
    assert_string_equal(r.e[6].sha, hex_of("abc", 3));
    assert_int_equal(r.e[6].offset, 512 * 9);
    free(b.p);
}

/* Fields are NUL- or length-terminated: the bytes after a NUL, or the next field, never join a name. */
static void names_end_at_their_field(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    uint8_t h[512];
    char full[101];
    memset(full, 'n', 100);
    full[100] = 0;
    header(h, USTAR, full, '2', 0);   /* 100 bytes, no NUL: the link field follows at once */
    memset(h + 157, 'L', 100);        /* and the link is 100 bytes too, the magic right after */
    seal(h);
    tb_put(&b, h, 512);
    header(h, GNU, "short", '0', 0);
    memcpy(h + 6, "garbage", 7);       /* after the NUL */
    memcpy(h + 345, "not-a-prefix", 12); /* GNU headers have no prefix */
    seal(h);
    tb_put(&b, h, 512);
    header(h, V7, "v7name", '0', 0);
    memcpy(h + 345, "not-a-prefix", 12);
    seal(h);
    tb_put(&b, h, 512);
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_int_equal(strlen(r.e[0].name), 100);
    assert_int_equal(strlen(r.e[0].link), 100);
    assert_int_equal(r.e[0].link[0], 'L');
    assert_string_equal(r.e[1].name, "short");
    assert_string_equal(r.e[2].name, "v7name");
    free(b.p);
}

/* Links, directories, devices and FIFOs have no content whatever their size field says (POSIX; Go's
 * archive/tar and Python's tarfile read them so): the next header follows at once. */
static void header_only_types(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    static const uint8_t types[] = {'1', '2', '3', '4', '5', '6'};
    for (size_t i = 0; i < sizeof types; i++) {
        uint8_t h[512];
        char name[8];
        snprintf(name, sizeof name, "t%c", types[i]);
        header(h, USTAR, name, types[i], 1000);
        tb_put(&b, h, 512);
    }
    member(&b, V7, "v7dir/", 0, NULL, 0);
    b.p[b.n - 512 + 124 + 10] = '7';   /* a v7 directory of 7 bytes */
    seal(b.p + b.n - 512);
    member(&b, USTAR, "last", '0', "z", 1);
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_int_equal(r.count, 8);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(r.e[i].size, 0);
        assert_int_equal(r.e[i].offset, 512 * (i + 1));
    }
    assert_int_equal(r.e[4].type, MG_TAR_DIR);
    assert_int_equal(r.e[6].type, MG_TAR_DIR);
    assert_string_equal(r.e[7].name, "last");
    assert_string_equal(r.e[7].sha, hex_of("z", 1));
    free(b.p);
}

static void v7_headers(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    member(&b, V7, "dir/", 0, NULL, 0);           /* v7: a directory is a file whose name ends in '/' */
    member(&b, V7, "dir/a.txt", 0, "hello", 5);
    member(&b, V7, "dir/b.txt", '0', "", 0);
    link_member(&b, V7, "dir/c", '2', "a.txt");
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.e[0].type, MG_TAR_DIR);
    assert_int_equal(r.e[1].type, MG_TAR_FILE);
    assert_string_equal(r.e[1].sha, hex_of("hello", 5));
    assert_int_equal(r.e[1].offset, 1024);
    assert_int_equal(r.e[3].type, MG_TAR_SYMLINK);
    assert_string_equal(r.e[3].link, "a.txt");
    free(b.p);
}

static void gnu_long_names_and_links(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    char *name = long_text(300), *target = long_text(200), *max = long_text(MG_TAR_MAX_NAME);
    gnu_long(&b, 'L', name);
    member(&b, GNU, "truncated-in-the-header", '0', "xyz", 3);
    gnu_long(&b, 'K', target);
    gnu_long(&b, 'L', "the/link");
    link_member(&b, GNU, "the/lin", '2', "short");
    gnu_long(&b, 'L', max);   /* exactly the cap */
    member(&b, GNU, "m", '0', NULL, 0);
    member(&b, GNU, "after", '0', NULL, 0);   /* the long name applied to one entry only */
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_int_equal(r.count, 4);   /* the 'L' and 'K' pseudo-entries are not counted */
    assert_string_equal(r.e[0].name, name);
    assert_string_equal(r.e[0].sha, hex_of("xyz", 3));
    assert_int_equal(r.e[0].offset, 512 + 512 + 512);
    assert_string_equal(r.e[1].name, "the/link");
    assert_string_equal(r.e[1].link, target);
    assert_string_equal(r.e[2].name, max);
    assert_string_equal(r.e[3].name, "after");
    assert_string_equal(r.e[3].link, "");
    free(name);
    free(target);
    free(max);
    free(b.p);
}

static void pax_headers(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    static char recs[16384];
    char *path = long_text(3000);
    recs[0] = 0;
    record(recs, sizeof recs, "mtime", "1700000000.123456789");
    record(recs, sizeof recs, "path", path);
    record(recs, sizeof recs, "comment", "a=b\nc");   /* '=' and a newline inside a value */
    record(recs, sizeof recs, "size", "10");
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "short-name", '0', "0123456789", 10);   /* the header says 10 too, then fixed below */
    /* the header's size field 0, the pax size 10: the pax size counts */
    uint8_t *h = b.p + b.n - 1024;
    snprintf((char *)h + 124, 12, "%011o", 0);
    seal(h);
    recs[0] = 0;
    record(recs, sizeof recs, "path", "global/ignored");
    pax(&b, 'g', recs, strlen(recs));
    recs[0] = 0;
    record(recs, sizeof recs, "linkpath", "pax/target");
    record(recs, sizeof recs, "path", "");   /* empty: the header's name stands */
    pax(&b, 'x', recs, strlen(recs));
    link_member(&b, USTAR, "the-symlink", '2', "header-target");
    recs[0] = 0;
    record(recs, sizeof recs, "path", "GNUSparseFile.0/s");
    record(recs, sizeof recs, "GNU.sparse.name", "real/sparse");
    record(recs, sizeof recs, "path", "GNUSparseFile.0/s-again");   /* GNU.sparse.name wins */
    record(recs, sizeof recs, "GNU.sparse.major", "1");
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "GNUSparseFile.0/s", '0', "mapdata", 7);
    recs[0] = 0;
    record(recs, sizeof recs, "path", "solaris/x");
    pax(&b, 'X', recs, strlen(recs));
    member(&b, USTAR, "solaris", '0', NULL, 0);
    member(&b, USTAR, "plain", '0', NULL, 0);
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_int_equal(r.count, 5);
    assert_string_equal(r.e[0].name, path);
    assert_int_equal(r.e[0].size, 10);
    assert_string_equal(r.e[0].sha, hex_of("0123456789", 10));
    assert_false(r.e[0].sparse);
    assert_string_equal(r.e[1].name, "the-symlink");
    assert_string_equal(r.e[1].link, "pax/target");
    assert_string_equal(r.e[2].name, "real/sparse");
    assert_true(r.e[2].sparse);
    assert_int_equal(r.e[2].size, 7);
    assert_string_equal(r.e[3].name, "solaris/x");
    assert_string_equal(r.e[4].name, "plain");
    assert_false(r.e[4].sparse);
    free(path);
    free(b.p);
}

/* An old GNU sparse file ('S') whose map runs on into two extension blocks: the content after them. */
static void gnu_sparse_with_extension_blocks(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    uint8_t h[512];
    header(h, GNU, "sparse.img", 'S', 6);
    h[482] = 1;   /* isextended */
    seal(h);
    tb_put(&b, h, 512);
    uint8_t ext[512] = {0};
    ext[504] = 1;
    tb_put(&b, ext, 512);
    ext[504] = 0;
    tb_put(&b, ext, 512);
    tb_put(&b, "sparse", 6);
    tb_pad(&b);
    header(h, GNU, "sparse2", 'S', 2);   /* no extension */
    tb_put(&b, h, 512);
    tb_put(&b, "ab", 2);
    tb_pad(&b);
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.e[0].type, MG_TAR_FILE);
    assert_true(r.e[0].sparse);
    assert_int_equal(r.e[0].offset, 3 * 512);
    assert_int_equal(r.e[0].size, 6);
    assert_string_equal(r.e[0].sha, hex_of("sparse", 6));
    assert_int_equal(r.e[1].offset, 5 * 512);
    assert_true(r.e[1].sparse);
    free(b.p);
    /* cut inside the extension block */
    tb c = {0};
    header(h, GNU, "sparse.img", 'S', 6);
    h[482] = 1;
    seal(h);
    tb_put(&c, h, 512);
    tb_put(&c, ext, 100);
    parse(&c, &r);
    assert_int_equal(r.rc, MG_E_TRUNCATED);
    assert_non_null(strstr(r.msg, "sparse extension"));
    assert_int_equal(r.n, 0);
    free(c.p);
}

/* Sizes past 8 GiB (base-256) and gigabytes fed through: content counted, never held. */
static void huge_entries_streamed(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {5ull << 30, (9ull << 30) + 5};
    uint8_t *chunk = calloc(1, 1 << 20);
    assert_non_null(chunk);
    for (size_t s = 0; s < 2; s++) {
        for (int want = 0; want <= 1; want++) {
            static rec r;
            memset(&r, 0, sizeof r);
            r.want = want;
            r.nohash = 1;
            mg_tar_cb cb = {on_entry, on_data, on_end, &r};
            mg_tar *t = mg_tar_new(&cb);
            uint8_t h[512];
            header(h, GNU, "big", '0', sizes[s]);
            assert_int_equal(h[124] & 0x80, s ? 0x80 : 0);   /* octal, then base-256 */
            assert_int_equal(mg_tar_feed(t, h, 512), MG_OK);
            uint64_t left = sizes[s] + (512 - sizes[s] % 512) % 512;
            mg_fail_alloc_at(0);
            while (left) {
                size_t k = left < (1u << 20) ? (size_t)left : 1u << 20;
                assert_int_equal(mg_tar_feed(t, chunk, k), MG_OK);
                left -= k;
            }
            assert_int_equal(mg_alloc_count(), 0);   /* nothing allocated for content */
            assert_int_equal(mg_tar_feed(t, chunk, 1024), MG_OK);   /* the end marker */
            assert_int_equal(mg_tar_finish(t), MG_OK);
            assert_int_equal(mg_tar_count(t), 1);
            assert_int_equal(r.e[0].size, sizes[s]);
            assert_int_equal(r.e[0].got, want ? sizes[s] : 0);
            assert_int_equal(r.e[0].ended, want);
            mg_tar_free(t);
        }
    }
    free(chunk);
}

/* The end: two zero blocks, or one and the end of input, or none; what follows them is ignored. */
static void end_of_archive(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    parse(&b, &r);   /* nothing at all */
    ok(&r);
    assert_int_equal(r.count, 0);
    member(&b, USTAR, "a", '0', "x", 1);
    parse(&b, &r);   /* no end marker */
    ok(&r);
    assert_int_equal(r.count, 1);
    tb_zeros(&b, 512);
    parse(&b, &r);   /* one zero block */
    ok(&r);
    tb_zeros(&b, 200);
    parse(&b, &r);   /* and part of the second */
    ok(&r);
    tb_zeros(&b, 312);
    member(&b, USTAR, "after-the-end", '0', "y", 1);
    tb_put(&b, "garbage", 7);
    parse(&b, &r);   /* after two zero blocks: ignored, even garbage */
    ok(&r);
    assert_int_equal(r.count, 1);
    assert_string_equal(r.e[0].name, "a");
    free(b.p);
    /* a lone zero block, then a header: not an archive tar readers agree on */
    tb c = {0};
    member(&c, USTAR, "a", '0', "x", 1);
    tb_zeros(&c, 512);
    member(&c, USTAR, "b", '0', "y", 1);
    parse(&c, &r);
    assert_int_equal(r.rc, MG_E_FORMAT);
    assert_non_null(strstr(r.msg, "lone zero block"));
    assert_non_null(strstr(r.msg, "offset 1536"));
    assert_int_equal(r.count, 1);
    free(c.p);
}

/* ==== hostile archives ==== */

static void expect(const tb *b, int rc, const char *words)
{
    static rec r;
    parse(b, &r);
    assert_int_equal(r.rc, rc);
    if (!strstr(r.msg, words))
        fail_msg("'%s' is not in '%s'", words, r.msg);
}

static void bad_checksums_and_numbers(void **state)
{
    (void)state;
    tb b = {0};
    member(&b, USTAR, "good", '0', "1234", 4);
    member(&b, USTAR, "bad", '0', NULL, 0);
    b.p[1024 + 150] ^= 1;   /* a digit of the second header's checksum */
    tb_end(&b);
    expect(&b, MG_E_FORMAT, "header checksum mismatch at offset 1024");
    b.n = 1024;
    member(&b, USTAR, "bad", '0', NULL, 0);
    b.p[1024 + 10] = 'X';   /* a byte of the name: the sum no longer matches */
    expect(&b, MG_E_FORMAT, "checksum");
    b.n = 1024;
    uint8_t h[512];
    header(h, USTAR, "nodigits", '0', 0);
    memset(h + 148, ' ', 8);   /* no checksum at all */
    tb_put(&b, h, 512);
    expect(&b, MG_E_FORMAT, "checksum");
    b.n = 1024;
    header(h, USTAR, "size", '0', 0);
    memcpy(h + 124, "0000000001x", 12);
    seal(h);
    tb_put(&b, h, 512);
    expect(&b, MG_E_FORMAT, "size field of the header at offset 1024");
    b.n = 1024;
    header(h, USTAR, "size", '0', 0);
    memcpy(h + 124, "00000000009 ", 12);   /* 9 is not octal */
    seal(h);
    tb_put(&b, h, 512);
    expect(&b, MG_E_FORMAT, "not a number");
    free(b.p);
}

/* Old tars summed the bytes as signed chars: a header with high bytes and that sum is accepted. */
static void signed_checksum_accepted(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    uint8_t h[512];
    header(h, USTAR, "caf\xc3\xa9-\xff", '0', 0);
    memset(h + 148, ' ', 8);
    int sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += h[i] < 128 ? h[i] : h[i] - 256;
    snprintf((char *)h + 148, 8, "%06o", (unsigned)sum);
    h[155] = ' ';
    tb_put(&b, h, 512);
    tb_end(&b);
    parse(&b, &r);
    ok(&r);
    assert_string_equal(r.e[0].name, "caf\xc3\xa9-\xff");
    assert_true(mg_tar_is_tar(h, 512));
    free(b.p);
}

static void truncations(void **state)
{
    (void)state;
    tb b = {0};
    member(&b, USTAR, "a", '0', "hello", 5);
    size_t whole = b.n;
    b.n = 300;   /* inside the header */
    expect(&b, MG_E_TRUNCATED, "inside the header at offset 0 (300 of 512 bytes)");
    b.n = 515;   /* inside the content */
    expect(&b, MG_E_TRUNCATED, "inside the content of 'a' (2 more bytes)");
    b.n = 600;   /* inside the padding: the content is whole (umoci's layers end so) */
    expect(&b, MG_OK, "");
    b.n = whole;
    /* a size of all 7s (64 GiB): a real size, but the content is not there */
    uint8_t h[512];
    header(h, USTAR, "sevens", '0', 0);
    memset(h + 124, '7', 12);
    seal(h);
    tb_put(&b, h, 512);
    tb_put(&b, "some", 4);
    expect(&b, MG_E_TRUNCATED, "68719476731 more bytes");
    /* the name in the message is cleaned */
    b.n = 0;
    member(&b, USTAR, "bad\nname\x1b[31m", '0', "hello", 5);
    b.n = 513;
    static rec r;
    parse(&b, &r);
    assert_int_equal(r.rc, MG_E_TRUNCATED);
    assert_null(strchr(r.msg, '\n'));
    assert_null(strchr(r.msg, 0x1b));
    free(b.p);
}

static void sizes_that_would_wrap(void **state)
{
    (void)state;
    tb b = {0};
    uint8_t h[512];
    header(h, GNU, "two-to-the-63", '0', 1ull << 63);   /* base-256, paddable: only truncated */
    tb_put(&b, h, 512);
    tb_put(&b, "x", 1);
    expect(&b, MG_E_TRUNCATED, "inside the content of 'two-to-the-63'");
    b.n = 0;
    header(h, GNU, "max", '0', UINT64_MAX);   /* rounded up to 512 it would wrap */
    tb_put(&b, h, 512);
    expect(&b, MG_E_FORMAT, "too large");
    b.n = 0;
    header(h, GNU, "max-511", '0', UINT64_MAX - 510);
    tb_put(&b, h, 512);
    expect(&b, MG_E_FORMAT, "too large");
    b.n = 0;
    header(h, GNU, "negative", '0', 0);
    memset(h + 124, 0xff, 12);   /* base-256 -1 */
    seal(h);
    tb_put(&b, h, 512);
    expect(&b, MG_E_FORMAT, "not a number");
    b.n = 0;
    header(h, GNU, "wide", '0', 0);
    base256(h + 124, 12, 0);
    h[126] = 1;   /* 2^72: wider than 64 bits */
    seal(h);
    tb_put(&b, h, 512);
    expect(&b, MG_E_FORMAT, "not a number");
    b.n = 0;
    char recs[256] = "";
    record(recs, sizeof recs, "size", "18446744073709551615");
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "a", '0', NULL, 0);
    expect(&b, MG_E_FORMAT, "pax size");
    b.n = 0;
    recs[0] = 0;
    record(recs, sizeof recs, "size", "118446744073709551615");
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "a", '0', NULL, 0);
    expect(&b, MG_E_FORMAT, "pax size");
    b.n = 0;
    recs[0] = 0;
    record(recs, sizeof recs, "size", "-1");
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "a", '0', NULL, 0);
    expect(&b, MG_E_FORMAT, "pax size");
    free(b.p);
}

/* Pax records, strictly "LEN key=value\n". */
static void malformed_pax_records(void **state)
{
    (void)state;
    static const struct { const char *recs; const char *words; } bad[] = {
        {"99999999999999999999999999 path=x\n", "longer than the header"},
        {"18446744073709551617 path=x\n", "longer than the header"},   /* 2^64 + 1: would wrap to 1 */
        {"20 path=abcdefghij\n", "longer than the header"},      /* says 20, is 19 */
        {"18 path=abcdefghij\n", "is not 'LEN key=value\\n'"},    /* says 18, is 19 */
        {"0 path=x\n", "is not 'LEN key=value\\n'"},
        {"4 x=\n", "is not 'LEN key=value\\n'"},                  /* the 4th byte is not the newline */
        {"9 path-x\n", "is not 'LEN key=value\\n'"},              /* no '=' */
        {"9 =value\n", "is not 'LEN key=value\\n'"},              /* no key */
        {"+9 path=x\n", "no decimal length"},
        {" 9 path=x\n", "no decimal length"},
        {"9\tpath=x\n", "no decimal length"},
        {"10 path=xy\n", "is not 'LEN key=value\\n'"},            /* 10 bytes, the last not a newline */
        {"9 path=x\n12", "longer than the header"},                /* a record cut short */
        {"11 path=x\0\n", "NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb b = {0};
        size_t n = strlen(bad[i].recs);
        if (strstr(bad[i].words, "NUL"))
            n = 11;
        pax(&b, 'x', bad[i].recs, n);
        member(&b, USTAR, "a", '0', NULL, 0);
        tb_end(&b);
        expect(&b, MG_E_FORMAT, bad[i].words);
        expect(&b, MG_E_FORMAT, "offset 0");
        free(b.p);
    }
    /* and the well-formed neighbours of those: accepted */
    static const char *good[] = {"9 path=x\n", "011 path=x\n", "11 path=x=\n", "12 path=x\ny\n"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        static rec r;
        tb b = {0};
        pax(&b, 'x', good[i], strlen(good[i]));
        member(&b, USTAR, "a", '0', NULL, 0);
        tb_end(&b);
        parse(&b, &r);
        ok(&r);
        assert_int_equal(r.e[0].name[0], 'x');
        free(b.p);
    }
}

static void caps_on_names_and_pax(void **state)
{
    (void)state;
    tb b = {0};
    char *n5000 = long_text(5000), *n4097 = long_text(MG_TAR_MAX_NAME + 1);
    gnu_long(&b, 'L', n5000);
    member(&b, GNU, "x", '0', NULL, 0);
    expect(&b, MG_E_LIMIT, "GNU long name of 5001 bytes at offset 0");
    b.n = 0;
    gnu_long(&b, 'K', n4097);
    link_member(&b, GNU, "x", '2', "y");
    expect(&b, MG_E_LIMIT, "GNU long link");
    b.n = 0;   /* 4097 bytes and no NUL: within the record's cap, but the name is one too long */
    member(&b, GNU, "././@LongLink", 'L', n4097, MG_TAR_MAX_NAME + 1);
    member(&b, GNU, "x", '0', NULL, 0);
    expect(&b, MG_E_LIMIT, "4097 bytes");
    b.n = 0;
    static char recs[8192];
    recs[0] = 0;
    record(recs, sizeof recs, "path", n5000);
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "x", '0', NULL, 0);
    expect(&b, MG_E_LIMIT, "pax path of 5000 bytes");
    b.n = 0;
    recs[0] = 0;
    record(recs, sizeof recs, "linkpath", n4097);
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "x", '2', NULL, 0);
    expect(&b, MG_E_LIMIT, "pax linkpath");
    /* a pax header over MG_TAR_MAX_PAX: refused from its header, before any of it is read */
    b.n = 0;
    uint8_t h[512];
    header(h, USTAR, "PaxHeaders/big", 'x', MG_TAR_MAX_PAX + 1);
    tb_put(&b, h, 512);
    expect(&b, MG_E_LIMIT, "pax header of 1048577 bytes at offset 0");
    free(n5000);
    free(n4097);
    free(b.p);
}

/* Pseudo-headers promise an entry: the end of the archive or of the input instead is an error. */
static void pseudo_headers_need_an_entry(void **state)
{
    (void)state;
    tb b = {0};
    member(&b, USTAR, "a", '0', NULL, 0);
    gnu_long(&b, 'L', "long");
    expect(&b, MG_E_TRUNCATED, "pseudo-header at offset 512");
    tb_end(&b);
    expect(&b, MG_E_FORMAT, "pseudo-header at offset 512 is followed by the end");
    b.n = 0;
    char recs[64] = "";
    record(recs, sizeof recs, "path", "p");
    pax(&b, 'x', recs, strlen(recs));
    b.n = 700;
    expect(&b, MG_E_TRUNCATED, "inside the pseudo-header at offset 0");
    b.n = 0;
    pax(&b, 'g', recs, strlen(recs));
    b.n = 600;
    expect(&b, MG_E_TRUNCATED, "inside the global pax header at offset 0");
    b.n = 1024;   /* a whole global header alone, then the end: fine (it promises nothing) */
    static rec r;
    parse(&b, &r);
    ok(&r);
    assert_int_equal(r.count, 0);
    free(b.p);
}

/* ==== callbacks, counts, memory ==== */

static void callbacks_stop_the_stream(void **state)
{
    (void)state;
    static rec r;
    tb b = {0};
    member(&b, USTAR, "a", '0', "hello", 5);
    member(&b, USTAR, "b", '0', "world", 5);
    tb_end(&b);
    parse_chunked(b.p, b.n, 3, &r, -MG_E_CANCELLED);
    assert_int_equal(r.rc, MG_E_CANCELLED);
    assert_non_null(strstr(r.msg, "entry callback"));
    assert_int_equal(r.n, 1);
    parse_chunked(b.p, b.n, 3, &r, INT_MIN);   /* not a code that can be negated */
    assert_int_equal(r.rc, MG_E_ARG);
    memset(&r, 0, sizeof r);
    r.want = 1;
    r.data_rc = -MG_E_IO;
    mg_tar_cb cb = {on_entry, on_data, on_end, &r};
    mg_tar *t = mg_tar_new(&cb);
    assert_int_equal(mg_tar_feed(t, b.p, b.n), MG_E_IO);
    assert_non_null(strstr(mg_tar_error(t), "data callback"));
    assert_int_equal(mg_tar_feed(t, b.p, 1), MG_E_IO);
    assert_int_equal(mg_tar_finish(t), MG_E_IO);
    mg_tar_free(t);
    memset(&r, 0, sizeof r);
    r.want = 1;
    r.end_rc = -MG_E_LIMIT;
    t = mg_tar_new(&cb);
    assert_int_equal(mg_tar_feed(t, b.p, b.n), MG_E_LIMIT);
    assert_non_null(strstr(mg_tar_error(t), "end callback"));
    assert_int_equal(r.n, 1);
    mg_tar_free(t);
    /* no callbacks at all: entries are counted */
    t = mg_tar_new(NULL);
    assert_int_equal(mg_tar_feed(t, b.p, b.n), MG_OK);
    assert_int_equal(mg_tar_finish(t), MG_OK);
    assert_int_equal(mg_tar_count(t), 2);
    assert_string_equal(mg_tar_error(t), "");
    mg_tar_free(t);
    mg_tar_free(NULL);
    free(b.p);
}

static void is_tar(void **state)
{
    (void)state;
    uint8_t h[512];
    header(h, USTAR, "a", '0', 0);
    assert_true(mg_tar_is_tar(h, 512));
    assert_false(mg_tar_is_tar(h, 511));
    header(h, V7, "a", '0', 0);
    assert_true(mg_tar_is_tar(h, 512));
    h[0] = 'b';
    assert_false(mg_tar_is_tar(h, 512));
    memset(h, 0, 512);
    assert_false(mg_tar_is_tar(h, 512));   /* a zero block is the end of an archive, not one */
    assert_false(mg_tar_is_tar(NULL, 0));
}

/* 100,000 entries, every other one with a pax header of its own, fed as they come (in pieces that cut
 * blocks): the memory stays the parser and one pax buffer. */
static void many_entries_bounded(void **state)
{
    (void)state;
    tb b = {0};
    char recs[64] = "";
    record(recs, sizeof recs, "path", "p/long-enough-to-need-a-record");
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "e", '0', NULL, 0);
    member(&b, USTAR, "f", '0', NULL, 0);
    mg_fail_alloc_at(0);
    mg_tar *t = mg_tar_new(NULL);
    for (int i = 0; i < 50000; i++) {
        assert_int_equal(mg_tar_feed(t, b.p, 700), MG_OK);
        assert_int_equal(mg_tar_feed(t, b.p + 700, b.n - 700), MG_OK);
    }
    assert_int_equal(mg_tar_finish(t), MG_OK);
    assert_int_equal(mg_tar_count(t), 100000);
    assert_int_equal(mg_alloc_count(), 2);
    assert_true(mg_alloc_bytes() < 64 * 1024);
    mg_tar_free(t);
    free(b.p);
}

static void out_of_memory(void **state)
{
    (void)state;
    tb b = {0};
    char recs[64] = "";
    record(recs, sizeof recs, "path", "p");
    pax(&b, 'x', recs, strlen(recs));
    member(&b, USTAR, "e", '0', NULL, 0);
    tb_end(&b);
    mg_fail_alloc_at(1);
    assert_null(mg_tar_new(NULL));
    mg_fail_alloc_at(2);
    mg_tar *t = mg_tar_new(NULL);
    assert_non_null(t);
    assert_int_equal(mg_tar_feed(t, b.p, b.n), MG_E_NOMEM);
    assert_non_null(strstr(mg_tar_error(t), "out of memory"));
    assert_int_equal(mg_tar_count(t), 0);
    mg_tar_free(t);
    mg_fail_alloc_at(0);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_vectors), cmocka_unit_test(sha256_million_a_any_chunking),
        cmocka_unit_test(ustar_members_and_prefix), cmocka_unit_test(names_end_at_their_field),
        cmocka_unit_test(header_only_types), cmocka_unit_test(v7_headers), cmocka_unit_test(gnu_long_names_and_links), cmocka_unit_test(pax_headers),
        cmocka_unit_test(gnu_sparse_with_extension_blocks), cmocka_unit_test(huge_entries_streamed),
        cmocka_unit_test(end_of_archive), cmocka_unit_test(bad_checksums_and_numbers),
        cmocka_unit_test(signed_checksum_accepted), cmocka_unit_test(truncations),
        cmocka_unit_test(sizes_that_would_wrap), cmocka_unit_test(malformed_pax_records),
        cmocka_unit_test(caps_on_names_and_pax), cmocka_unit_test(pseudo_headers_need_an_entry),
        cmocka_unit_test(callbacks_stop_the_stream), cmocka_unit_test(is_tar), cmocka_unit_test(many_entries_bounded),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

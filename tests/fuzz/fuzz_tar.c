/* fuzz_tar.c - libFuzzer target: any bytes as a tar stream, pushed whole, in 1-, 7- and 513-byte chunks and with every entry skipped: the same entries, result and message each time, and the callback contract kept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binaries/tar.h"
#include "core/sha256.h"
#include "mlgate/core.h"
#include "fuzz.h"

typedef struct run {
    int want;               /* what entry() returns: content handed over or skipped */
    size_t input;           /* bytes in the stream */
    mg_sha256 fields;       /* every entry's name, link, type, size, offset */
    mg_sha256 content;      /* every byte handed to data() */
    uint64_t entries;
    int in_entry;
    uint64_t size, got;
} run;

static int on_entry(void *ud, const mg_tar_entry *e)
{
    run *r = ud;
    FUZZ_CHECK(!r->in_entry, "entry() before the last entry's end()");
    FUZZ_CHECK(e->name && e->link, "no name or link");
    size_t nl = strlen(e->name), ll = strlen(e->link);
    FUZZ_CHECK(nl <= MG_TAR_MAX_NAME && ll <= MG_TAR_MAX_NAME, "name of %zu, link of %zu bytes", nl, ll);
    FUZZ_CHECK(e->type <= MG_TAR_OTHER, "type %u", e->type);
    FUZZ_CHECK(!ll || e->type == MG_TAR_SYMLINK || e->type == MG_TAR_HARDLINK, "a link on type %u", e->type);
    FUZZ_CHECK(e->offset % 512 == 0 && e->offset >= 512 && e->offset <= r->input, "offset %llu of %zu",
               (unsigned long long)e->offset, r->input);
    FUZZ_CHECK(e->size <= UINT64_MAX - 511, "size %llu", (unsigned long long)e->size);
    uint8_t f[1 + 1 + 8 + 8];
    f[0] = e->type;
    f[1] = e->sparse;
    memcpy(f + 2, &e->size, 8);
    memcpy(f + 10, &e->offset, 8);
    mg_sha256_update(&r->fields, e->name, nl + 1);
    mg_sha256_update(&r->fields, e->link, ll + 1);
    mg_sha256_update(&r->fields, f, sizeof f);
    r->entries++;
    r->in_entry = r->want;
    r->size = e->size;
    r->got = 0;
    return r->want;
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
    run *r = ud;
    FUZZ_CHECK(r->in_entry && n && n <= r->size - r->got, "data() of %zu bytes at %llu of %llu", n,
               (unsigned long long)r->got, (unsigned long long)r->size);
    r->got += n;
    mg_sha256_update(&r->content, p, n);
    return 0;
}

static int on_end(void *ud)
{
    run *r = ud;
    FUZZ_CHECK(r->in_entry && r->got == r->size, "end() after %llu of %llu bytes", (unsigned long long)r->got,
               (unsigned long long)r->size);
    r->in_entry = 0;
    return 0;
}

typedef struct outcome {
    int rc;
    uint64_t count;
    uint8_t fields[32], content[32];
    char msg[256];
} outcome;

static void parse(const uint8_t *data, size_t size, size_t chunk, int want, outcome *o)
{
    run r;
    memset(&r, 0, sizeof r);
    r.want = want;
    r.input = size;
    mg_sha256_init(&r.fields);
    mg_sha256_init(&r.content);
    mg_tar_cb cb = {on_entry, on_data, on_end, &r};
    mg_tar *t = mg_tar_new(&cb);
    if (!t)
        abort();
    int rc = MG_OK;
    for (size_t i = 0; i < size && !rc; i += chunk) {
        size_t k = size - i < chunk ? size - i : chunk;
        uint8_t *piece = fuzz_copy(data + i, k);   /* exactly the chunk: a read past it is caught */
        rc = mg_tar_feed(t, piece, k);
        free(piece);
    }
    if (!rc)
        rc = mg_tar_finish(t);
    else
        FUZZ_CHECK(mg_tar_feed(t, data, size) == rc, "a feed after error %d", rc);
    FUZZ_CHECK(rc == MG_OK || rc == MG_E_FORMAT || rc == MG_E_TRUNCATED || rc == MG_E_LIMIT, "error %d", rc);
    FUZZ_CHECK(rc || !r.in_entry, "a whole stream ends inside an entry");
    o->rc = rc;
    o->count = mg_tar_count(t);
    FUZZ_CHECK(o->count == r.entries, "count %llu, %llu entries", (unsigned long long)o->count,
               (unsigned long long)r.entries);
    snprintf(o->msg, sizeof o->msg, "%s", mg_tar_error(t));
    FUZZ_CHECK(!rc == !o->msg[0], "error %d with message '%s'", rc, o->msg);
    mg_sha256_final(&r.fields, o->fields);
    mg_sha256_final(&r.content, o->content);
    mg_tar_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = fuzz_copy(data, size);
    if (!b)
        return 0;
    static outcome whole, other;
    parse(b, size, size ? size : 1, 1, &whole);
    static const size_t chunks[] = {1, 7, 513};
    for (size_t i = 0; i <= sizeof chunks / sizeof chunks[0]; i++) {
        int skip = i == sizeof chunks / sizeof chunks[0];
        parse(b, size, skip ? 512 : chunks[i], !skip, &other);
        FUZZ_CHECK(other.rc == whole.rc && !strcmp(other.msg, whole.msg), "%s: %d '%s', whole: %d '%s'",
                   skip ? "skipped" : "chunked", other.rc, other.msg, whole.rc, whole.msg);
        FUZZ_CHECK(other.count == whole.count && !memcmp(other.fields, whole.fields, 32), "entries differ");
        FUZZ_CHECK(skip || !memcmp(other.content, whole.content, 32), "content differs in %zu-byte chunks", chunks[i]);
    }
    /* a first block that is neither a header nor zeros: refused at once */
    static const uint8_t zero[512];
    if (size >= 512 && memcmp(b, zero, 512) && !mg_tar_is_tar(b, size))
        FUZZ_CHECK(whole.rc == MG_E_FORMAT && whole.count == 0 && strstr(whole.msg, "checksum mismatch at offset 0"),
                   "a bad first header: %d '%s'", whole.rc, whole.msg);
    free(b);
    return 0;
}

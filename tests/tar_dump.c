/* tar_dump.c - a test driver: a tar file (or stdin) fed to mg_tar in chunks of a given size, one line per entry (tests/tar_ref_test.py compares them with Python's tarfile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binaries/tar.h"
#include "core/sha256.h"
#include "mlgate/core.h"

/*
 * usage: tar_dump [-s] CHUNK [FILE]
 * Each entry: TYPE SIZE OFFSET SPARSE SHA256 NAME LINK, tab-separated, printed when its content has been
 * read (-s: every entry skipped, SHA256 "-"); names with tab, newline, backslash, other control bytes and
 * bytes from 0x7f escaped as \xNN. Then "count N" (exit 0), or "error CODE MESSAGE" (exit 1). A callback
 * contract broken (content past the size, end() without all of it) is "driver: ..." and exit 3.
 */

typedef struct dump {
    int skip;
    int in_entry;
    mg_tar_entry e;
    char name[MG_TAR_MAX_NAME + 1], link[MG_TAR_MAX_NAME + 1];   /* copies: the entry's are valid in entry() only */
    uint64_t got;
    mg_sha256 sha;
} dump;

static const char *const type_names[] = {"file", "dir", "symlink", "hardlink", "other"};

static void escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '\\')
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
}

static void broken(const char *why)
{
    printf("driver: %s\n", why);
    exit(3);
}

static void line(const dump *d, const char *sha)
{
    printf("%s\t%llu\t%llu\t%d\t%s\t", d->e.type < 5 ? type_names[d->e.type] : "?", (unsigned long long)d->e.size,
           (unsigned long long)d->e.offset, d->e.sparse, sha);
    escaped(d->name);
    putchar('\t');
    escaped(d->link);
    putchar('\n');
}

static int on_entry(void *ud, const mg_tar_entry *e)
{
    dump *d = ud;
    if (d->in_entry)
        broken("entry() before the last entry's end()");
    if (!e->name || !e->link || strlen(e->name) > MG_TAR_MAX_NAME || strlen(e->link) > MG_TAR_MAX_NAME)
        broken("a name or link over the cap");
    d->e = *e;
    memcpy(d->name, e->name, strlen(e->name) + 1);
    memcpy(d->link, e->link, strlen(e->link) + 1);
    if (d->skip) {
        line(d, "-");
        return 0;
    }
    d->in_entry = 1;
    d->got = 0;
    mg_sha256_init(&d->sha);
    return 1;
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
    dump *d = ud;
    if (!d->in_entry || n == 0 || n > d->e.size - d->got)
        broken("data() outside an entry, empty, or past its size");
    d->got += n;
    mg_sha256_update(&d->sha, p, n);
    return 0;
}

static int on_end(void *ud)
{
    dump *d = ud;
    if (!d->in_entry || d->got != d->e.size)
        broken("end() outside an entry or before all its content");
    uint8_t dig[32];
    char hex[65];
    mg_sha256_final(&d->sha, dig);
    mg_sha256_hex(dig, hex);
    line(d, hex);
    d->in_entry = 0;
    return 0;
}

int main(int argc, char **argv)
{
    static dump d;
    int a = 1;
    if (a < argc && !strcmp(argv[a], "-s")) {
        d.skip = 1;
        a++;
    }
    char *end = NULL;
    unsigned long long chunk = a < argc ? strtoull(argv[a], &end, 10) : 0;
    if (!chunk || chunk > (1ull << 30) || !end || *end || argc > a + 2) {
        fprintf(stderr, "usage: %s [-s] CHUNK [FILE]\n", argv[0]);
        return 2;
    }
    FILE *f = a + 1 < argc ? fopen(argv[a + 1], "rb") : stdin;
    uint8_t *buf = malloc((size_t)chunk);
    if (!f || !buf) {
        perror(a + 1 < argc ? argv[a + 1] : "tar_dump");
        return 2;
    }
    mg_tar_cb cb = {on_entry, on_data, on_end, &d};
    mg_tar *t = mg_tar_new(&cb);
    if (!t)
        return 2;
    int rc = MG_OK;
    size_t n;
    while (!rc && (n = fread(buf, 1, (size_t)chunk, f)) > 0)
        rc = mg_tar_feed(t, buf, n);
    const char *msg = "";
    if (rc)
        msg = mg_tar_error(t);
    else if (ferror(f))
        rc = MG_E_IO, msg = "cannot read the input";
    else if ((rc = mg_tar_finish(t)) != MG_OK)
        msg = mg_tar_error(t);
    if (rc)
        printf("error\t%d\t%s\n", rc, msg);
    else
        printf("count\t%llu\n", (unsigned long long)mg_tar_count(t));
    mg_tar_free(t);
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc ? 1 : 0;
}

/* fuzz_hub_tree.c - libFuzzer target: any bytes as one page of the hub's tree API (mg_hub_tree_parse) and as a Link header line (mg_link_next). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/formats.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = (char *)fuzz_copy(data, size);
    if (!text)
        return 0;
    mg_hub_files a = {NULL, 0, 0}, b = {NULL, 0, 0};
    char err[256] = "", err2[256] = "";
    int rc = mg_hub_tree_parse(text, size, &a, err, sizeof err);
    FUZZ_CHECK(rc == MG_OK || rc == MG_E_FORMAT || rc == MG_E_LIMIT || rc == MG_E_NOMEM, "rc %d", rc);
    FUZZ_CHECK(rc == MG_OK || err[0], "an error without a reason (rc %d)", rc);
    FUZZ_CHECK(a.n <= MG_HUB_MAX_FILES && a.n <= a.cap && (a.n == 0 || a.f), "%zu files of %zu", a.n, a.cap);
    for (size_t i = 0; i < a.n; i++) {
        size_t pl = strnlen(a.f[i].path, sizeof a.f[i].path), ol = strnlen(a.f[i].oid, sizeof a.f[i].oid);
        FUZZ_CHECK(pl > 0 && pl < sizeof a.f[i].path && ol < sizeof a.f[i].oid, "file %zu: path %zu, oid %zu", i, pl, ol);
        FUZZ_CHECK(memmem(data, size, a.f[i].path, pl) || memchr(data, '\\', size), "path '%.80s' not in the input",
                   a.f[i].path);   /* as written, unless an escape made it */
    }
    /* No state between calls: the same page gives the same files. */
    int rc2 = mg_hub_tree_parse(text, size, &b, err2, sizeof err2);
    FUZZ_CHECK(rc2 == rc && b.n == a.n && (!a.n || !memcmp(a.f, b.f, a.n * sizeof *a.f)), "not deterministic");
    free(a.f);
    free(b.f);

    char url[64];
    memset(url, 'x', sizeof url);
    if (mg_link_next(text, size, url, sizeof url)) {
        size_t ul = strnlen(url, sizeof url);
        FUZZ_CHECK(ul < sizeof url, "the URL is not NUL-terminated");
        char *want = malloc(ul + 2);
        if (want) {
            want[0] = '<';
            memcpy(want + 1, url, ul);
            want[ul + 1] = '>';
            FUZZ_CHECK(memmem(data, size, want, ul + 2), "'<%s>' is not in the line", url);
            free(want);
        }
    }
    free(text);
    return 0;
}

/* fuzz_content_range.c - libFuzzer target: any bytes as an HTTP header line (not NUL-terminated, as libcurl gives it) read for Content-Range's total, against a reference reading. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "models/formats.h"
#include "fuzz.h"

/* The reference: "content-range:" (any case) at the start, the first '/', digits after it that fit 64 bits. */
static int reference(const uint8_t *p, size_t n, uint64_t *total)
{
    if (n < 15 || strncasecmp((const char *)p, "content-range:", 14))
        return 0;
    const uint8_t *slash = memchr(p, '/', n);
    if (!slash)
        return 0;
    size_t i = (size_t)(slash - p) + 1;
    u128 v = 0;
    size_t digits = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
        v = v * 10 + (p[i] - '0');
        if (v > UINT64_MAX)
            return 0;
    }
    if (!digits)
        return 0;
    *total = (uint64_t)v;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = (char *)fuzz_copy(data, size);
    if (!line)
        return 0;
    uint64_t got = 12345, want = 12345;
    int ok = mg_content_range_total(line, size, &got);
    int ref = reference(data, size, &want);
    FUZZ_CHECK(ok == ref && got == want, "'%.*s': %d/%llu, the reference %d/%llu", (int)(size < 80 ? size : 80), line,
               ok, (unsigned long long)got, ref, (unsigned long long)want);
    free(line);
    return 0;
}

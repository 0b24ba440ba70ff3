/* ptx.c - the few facts mlgate reads from PTX text: .version, .target and .entry names. */
#include <ctype.h>
#include <string.h>

#include "binaries/fmt.h"
#include "mlgate/binaries.h"

static int is_ident(int c) { return isalnum(c) || c == '_' || c == '$' || c == '.' || c == '%'; }

/* Is q inside a // comment (looking back to the start of its line, not before p)? */
static int in_comment(const uint8_t *p, const uint8_t *q)
{
    for (const uint8_t *c = q; c > p && c[-1] != '\n'; c--)
        if (c - 1 > p && c[-1] == '/' && c[-2] == '/')
            return 1;
    return 0;
}

/* Finds directive d at a token start in [p, end); returns the position after it or NULL. */
static const uint8_t *find_directive(const uint8_t *p, const uint8_t *end, const char *d)
{
    size_t l = strlen(d);
    while (p + l < end) {
        const uint8_t *q = memchr(p, d[0], (size_t)(end - p - l));
        if (!q)
            return NULL;
        if (memcmp(q, d, l) == 0 && (q == p || !is_ident(q[-1])) && !is_ident(q[l]) && !in_comment(p, q))
            return q + l;
        p = q + 1;
    }
    return NULL;
}

/* A decimal number, held at "more than 100000" once past it: never its value modulo 2^32. */
static unsigned digits(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    unsigned v = 0;
    for (; p < end && isdigit(*p); p++)
        if (v <= 100000)
            v = v * 10 + (unsigned)(*p - '0');
    *pp = p;
    return v;
}

static const uint8_t *skip_space(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

int mg_ptx_info(const uint8_t *txt, size_t len, mg_ptx *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *end = txt + len;
    const uint8_t *p = find_directive(txt, end, ".version");
    if (p) {
        p = skip_space(p, end);
        /* digits(): a long string of digits wrapped maj to anything (".version 4294967304.0" read as 8.0) */
        unsigned maj = digits(&p, end), min = 0;
        if (p < end && *p == '.') {
            p++;
            min = digits(&p, end);
        }
        if (maj < 100 && min < 10)
            out->isa = (uint16_t)(maj * 10 + min);
    }
    p = find_directive(txt, end, ".target");
    if (p) {
        p = skip_space(p, end);
        if (end - p > 3 && memcmp(p, "sm_", 3) == 0) {
            unsigned sm = 0;
            for (p += 3; p < end && isdigit(*p) && sm < 10000;)
                sm = sm * 10 + (unsigned)(*p++ - '0');
            out->target.sm = sm < 0xffff ? (uint16_t)sm : 0xffff;   /* as fatbin.c: not sm % 65536 */
            if (p < end && *p == 'a')
                out->target.variant = MG_VAR_A;
            else if (p < end && *p == 'f')
                out->target.variant = MG_VAR_F;
        }
    }
    return out->isa ? MG_OK : MG_E_FORMAT;
}

int mg_ptx_kernels(const uint8_t *txt, size_t len, mg_name_fn fn, void *ud, uint32_t *count)
{
    const uint8_t *end = txt + len, *p = txt;
    *count = 0;
    while ((p = find_directive(p, end, ".entry")) != NULL) {
        p = skip_space(p, end);
        const uint8_t *n = p;
        while (p < end && is_ident(*p))
            p++;
        if (p == n)
            continue;
        if (*count < UINT32_MAX)   /* a PTX text of more than 24 GiB */
            (*count)++;
        if (fn && fn(ud, (const char *)n, (size_t)(p - n)))
            break;
    }
    return MG_OK;
}

/* text.c - the one sanitiser of everything mlgate quotes from outside: UTF-8 validation, control characters, secret masking. */
#include "core/text.h"

#include <string.h>

size_t mg_utf8_char(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (!n)
        return 0;
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;   /* a continuation byte, C0/C1 (overlong two-byte), or F5..FF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* ==== What looks like a secret ==== */

static int token_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}

static size_t token_run(const uint8_t *s, size_t n)
{
    size_t k = 0;
    while (k < n && token_char(s[k]))
        k++;
    return k;
}

static int starts_ci(const uint8_t *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n < w)
        return 0;
    for (size_t i = 0; i < w; i++) {
        uint8_t c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)word[i])
            return 0;
    }
    return 1;
}

/*
 * How many bytes at s[0..n) are a secret to mask (0: none), with *keep of them shown (the "sk-" of a
 * key). A prefix cut short by the end of the input counts: what was cut may have been the rest of it.
 */
static size_t secret_at(const uint8_t *s, size_t n, const uint8_t *prev, const char *key, size_t keylen, size_t *keep)
{
    *keep = 0;
    if (keylen >= 4) {
        size_t m = n < keylen ? n : keylen;
        if (!memcmp(s, key, m) && (m == keylen || m >= 4))
            return m;
    }
    int word_start = !prev || !token_char(*prev);
    if (!word_start)
        return 0;
    /* Prefixes of API keys; the body must be long enough not to mask ordinary words ("sk-learn"). */
    static const struct {
        const char *prefix;
        size_t min_body;
    } prefixes[] = {{"sk-", 12}, {"hf_", 12}, {"ghp_", 12}, {"gsk_", 12}, {"xoxb-", 12}};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i].prefix);
        if (n >= pl && !memcmp(s, prefixes[i].prefix, pl)) {
            size_t body = token_run(s + pl, n - pl);
            if (body >= prefixes[i].min_body || (body && pl + body == n)) {
                *keep = pl;
                return pl + body;
            }
        }
    }
    /* Words after which a credential follows: "Bearer X", "token=X", "api_key: X"; a header's whole value. */
    static const struct {
        const char *word;
        int whole;   /* the value runs to the end of the line or quote, spaces and all ("Basic X") */
    } intro[] = {{"bearer ", 0},  {"token=", 0},   {"token:", 0},    {"api_key=", 0},      {"api_key:", 0},
                 {"api-key:", 0}, {"apikey=", 0},  {"password=", 0}, {"authorization:", 1}, {"x-api-key:", 1}};
    for (size_t i = 0; i < sizeof intro / sizeof intro[0]; i++) {
        if (!starts_ci(s, n, intro[i].word))
            continue;
        size_t k = strlen(intro[i].word), body = 0;
        while (k < n && s[k] == ' ')
            k++;
        if (intro[i].whole)
            while (k + body < n && !strchr("\r\n\"',;", s[k + body]))
                body++;
        else
            body = token_run(s + k, n - k);
        if (body) {
            *keep = k;
            return k + body;
        }
    }
    return 0;
}

/* ==== The copy ==== */

typedef struct out {
    char *p;
    size_t n, cap;
    size_t mark;   /* the last character boundary where "..." and the NUL still fit */
    int cut;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->cut)
        return;
    if (o->n + n + 1 > o->cap) {
        o->cut = 1;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    if (o->n + 4 <= o->cap)
        o->mark = o->n;
}

char *mg_text_clean(char *dst, size_t cap, const void *src, size_t len, const char *secret)
{
    if (!cap)
        return dst;
    out o = {dst, 0, cap, 0, 0};
    const uint8_t *s = src;
    size_t keylen = secret ? strlen(secret) : 0;
    int space = 0;   /* a run of white space becomes one space; none at the ends */
    for (size_t i = 0; s && i < len && !o.cut;) {
        size_t keep, m = secret_at(s + i, len - i, i ? s + i - 1 : NULL, secret, keylen, &keep);
        if (m) {
            put(&o, (const char *)s + i, keep);
            put(&o, "***", 3);
            i += m;
            space = 0;
            continue;
        }
        uint32_t cp;
        size_t cl = mg_utf8_char(s + i, len - i, &cp);
        if (!cl) {
            put(&o, "\xef\xbf\xbd", 3);   /* U+FFFD for a byte that is not UTF-8 */
            i++;
        } else if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
            if (!space && o.n)
                put(&o, " ", 1);
            space = 1;
            i += cl;
            continue;
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            i += cl;   /* C0, DEL, C1: ESC and CSI sequences start here */
        } else {
            put(&o, (const char *)s + i, cl);
            i += cl;
        }
        space = 0;
    }
    if (o.cut) {
        o.n = o.mark;
        if (o.n + 4 <= cap)
            memcpy(o.p + o.n, "...", 3), o.n += 3;
    } else if (o.n && o.p[o.n - 1] == ' ') {
        o.n--;
    }
    o.p[o.n] = 0;
    return dst;
}

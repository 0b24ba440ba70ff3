/* jsonscan.c - the strict pull tokenizer of jsonscan.h: one state per position in the grammar, every loop bounded by len. */
#include <string.h>

#include "core/jsonscan.h"

/* What the next token may be. */
enum {
    ST_VALUE,          /* the top value, or a value after ':' */
    ST_ARRAY_FIRST,    /* after '[': a value or ']' */
    ST_ARRAY_NEXT,     /* after ',' in an array: a value */
    ST_OBJECT_FIRST,   /* after '{': a key or '}' */
    ST_OBJECT_NEXT,    /* after ',' in an object: a key */
    ST_COLON,          /* after a key */
    ST_AFTER,          /* after a value inside a container: ',' or its close */
    ST_DONE,           /* after the top value: whitespace, then the end */
    ST_FAILED,
};

void mg_json_init(mg_json_scanner *s, const uint8_t *buf, size_t len, unsigned max_depth)
{
    memset(s, 0, sizeof *s);
    s->buf = buf;
    s->len = buf ? len : 0;
    s->max_depth = max_depth == 0 || max_depth > MG_JSON_DEPTH_LIMIT ? MG_JSON_DEPTH_LIMIT : max_depth;
    s->state = ST_VALUE;
    s->progress_at = SIZE_MAX;
}

void mg_json_on_progress(mg_json_scanner *s, size_t every, void (*fn)(void *ctx, const uint8_t *upto), void *ctx)
{
    s->progress = fn;
    s->progress_ctx = ctx;
    s->progress_every = every ? every : 1;
    s->progress_at = fn ? s->pos + s->progress_every : SIZE_MAX;
}

/* The scanner has read buf[0, i): the caller's hook, when it is due. */
static void progressed(mg_json_scanner *s, size_t i)
{
    if (i < s->progress_at)
        return;
    s->progress(s->progress_ctx, s->buf + i);
    s->progress_at = i + s->progress_every < i ? SIZE_MAX : i + s->progress_every;
}

static mg_json_type fail(mg_json_scanner *s, mg_json_token *t, size_t at, const char *why)
{
    if (s->state != ST_FAILED) {
        s->state = ST_FAILED;
        s->err = why;
        s->err_off = at;
    }
    memset(t, 0, sizeof *t);
    t->type = MG_JSON_FAIL;
    t->off = s->err_off;
    return MG_JSON_FAIL;
}

static int in_object(const mg_json_scanner *s)
{
    unsigned d = s->depth - 1;
    return s->depth && (s->is_object[d / 8] >> (d % 8) & 1);
}

static int hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The 4 hex digits at p (n bytes available) as a code unit; -1 if not 4 hex digits, -2 if cut. */
static long hex4(const uint8_t *p, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= n)
            return -2;
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* The length of the UTF-8 sequence at p (n > 0 bytes available): 2..4, 0 if invalid, -1 if cut short. */
static int utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xBF;
    int len;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;          /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F;          /* U+D800..U+DFFF: surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;          /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F;          /* above U+10FFFF */
    } else
        return 0;               /* a continuation byte, C0/C1 (overlong ASCII), F5..FF */
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if (p[i] < lo || p[i] > hi)
            return 0;
        lo = 0x80, hi = 0xBF;
    }
    return len;
}

/* The string whose opening quote is at s->pos; fills p/len/escaped. NULL, or why it is invalid (*at: where). */
static const char *scan_string(mg_json_scanner *s, mg_json_token *t, size_t *at)
{
    const uint8_t *b = s->buf;
    size_t i = s->pos + 1, n = s->len;
    t->p = b + i;
    t->escaped = 0;
    while (i < n) {
        /* the run of plain characters (printable ASCII but '"' and '\\'), up to the hook's next call */
        size_t stop = s->progress_at < n ? s->progress_at : n;
        while (i < stop && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\')
            i++;
        if (i == stop) {
            if (i < n)
                progressed(s, i);
            continue;
        }
        uint8_t c = b[i];
        if (c == '"') {
            t->len = (size_t)(b + i - t->p);
            s->pos = i + 1;
            return NULL;
        }
        *at = i;
        if (c < 0x20)
            return "control character in a string";
        if (c >= 0x80) {
            int k = utf8_seq(b + i, n - i);
            if (k < 0)
                break;
            if (k == 0)
                return "invalid UTF-8";
            i += (size_t)k;
            continue;
        }
        t->escaped = 1;
        if (++i >= n)
            break;
        c = b[i];
        if (strchr("\"\\/bfnrt", c) && c) {
            i++;
            continue;
        }
        if (c != 'u')
            return "invalid escape";
        long u = hex4(b + i + 1, n - i - 1);
        if (u == -2)
            break;
        if (u < 0)
            return "invalid \\u escape";
        i += 5;
        if (u >= 0xDC00 && u <= 0xDFFF)
            return "lone surrogate in a \\u escape";
        if (u >= 0xD800 && u <= 0xDBFF) {   /* a high surrogate: "\\u" and its low half must follow */
            *at = i;
            if (i >= n || (b[i] == '\\' && i + 1 >= n))
                break;
            if (b[i] != '\\' || b[i + 1] != 'u')
                return "lone surrogate in a \\u escape";
            long lo = hex4(b + i + 2, n - i - 2);
            if (lo == -2)
                break;
            if (lo < 0)
                return "invalid \\u escape";
            if (lo < 0xDC00 || lo > 0xDFFF)
                return "lone surrogate in a \\u escape";
            i += 6;
        }
    }
    *at = n;
    return "unexpected end of input";
}

static int digit(const mg_json_scanner *s, size_t i) { return i < s->len && s->buf[i] >= '0' && s->buf[i] <= '9'; }

/* Past the digits from i. */
static size_t digits(mg_json_scanner *s, size_t i)
{
    while (digit(s, i)) {
        if (i >= s->progress_at)
            progressed(s, i);
        i++;
    }
    return i;
}

/* The number at s->pos; fills p/len/integer/negative. NULL, or why it is invalid (*at: where). */
static const char *scan_number(mg_json_scanner *s, mg_json_token *t, size_t *at)
{
    size_t i = s->pos, n = s->len;
    t->p = s->buf + i;
    t->integer = 1;
    t->negative = s->buf[i] == '-';
    i += t->negative;
    *at = i;
    if (i >= n)
        return "unexpected end of input";
    if (s->buf[i] == '0') {
        i++;
        if (digit(s, i)) {
            *at = i;
            return "leading zero in a number";
        }
    } else if (digit(s, i)) {
        i = digits(s, i);
    } else
        return "invalid number";
    if (i < n && s->buf[i] == '.') {
        t->integer = 0;
        *at = ++i;
        if (i >= n)
            return "unexpected end of input";
        if (!digit(s, i))
            return "a digit must follow '.'";
        i = digits(s, i);
    }
    if (i < n && (s->buf[i] == 'e' || s->buf[i] == 'E')) {
        t->integer = 0;
        i++;
        if (i < n && (s->buf[i] == '+' || s->buf[i] == '-'))
            i++;
        *at = i;
        if (i >= n)
            return "unexpected end of input";
        if (!digit(s, i))
            return "a digit must follow the exponent";
        i = digits(s, i);
    }
    t->len = (size_t)(s->buf + i - t->p);
    s->pos = i;
    return NULL;
}

/* After a complete value: the end of the document, or ',' / the close of its container. */
static void after_value(mg_json_scanner *s) { s->state = s->depth ? ST_AFTER : ST_DONE; }

static mg_json_type open_container(mg_json_scanner *s, mg_json_token *t, int object)
{
    if (s->depth >= s->max_depth)
        return fail(s, t, s->pos, "nested too deep");
    unsigned d = s->depth++;
    if (object)
        s->is_object[d / 8] |= (uint8_t)(1u << (d % 8));
    else
        s->is_object[d / 8] &= (uint8_t)~(1u << (d % 8));
    t->type = object ? MG_JSON_OBJECT_BEGIN : MG_JSON_ARRAY_BEGIN;
    t->depth = d;
    t->p = s->buf + s->pos++;
    t->len = 1;
    s->state = object ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
    return t->type;
}

static mg_json_type close_container(mg_json_scanner *s, mg_json_token *t)
{
    t->type = in_object(s) ? MG_JSON_OBJECT_END : MG_JSON_ARRAY_END;
    t->depth = --s->depth;
    t->p = s->buf + s->pos++;
    t->len = 1;
    after_value(s);
    return t->type;
}

static mg_json_type value(mg_json_scanner *s, mg_json_token *t)
{
    static const struct { const char *word; mg_json_type type; } lits[] = {
        {"true", MG_JSON_TRUE}, {"false", MG_JSON_FALSE}, {"null", MG_JSON_NULL}};
    uint8_t c = s->buf[s->pos];
    const char *why;
    size_t at = s->pos;
    if (c == '{' || c == '[')
        return open_container(s, t, c == '{');
    t->depth = s->depth;
    if (c == '"') {
        if ((why = scan_string(s, t, &at)))
            return fail(s, t, at, why);
        t->type = MG_JSON_STRING;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if ((why = scan_number(s, t, &at)))
            return fail(s, t, at, why);
        t->type = MG_JSON_NUMBER;
    } else {
        size_t k = 0;
        while (k < 3 && lits[k].word[0] != c)
            k++;
        if (k == 3)
            return fail(s, t, s->pos, "expected a value");
        size_t wl = strlen(lits[k].word), have = s->len - s->pos;
        if (memcmp(s->buf + s->pos, lits[k].word, have < wl ? have : wl))
            return fail(s, t, s->pos, "invalid literal");
        if (have < wl)
            return fail(s, t, s->len, "unexpected end of input");
        t->type = lits[k].type;
        t->p = s->buf + s->pos;
        t->len = wl;
        s->pos += wl;
    }
    after_value(s);
    return t->type;
}

mg_json_type mg_json_next(mg_json_scanner *s, mg_json_token *t)
{
    memset(t, 0, sizeof *t);
    for (;;) {
        if (s->state == ST_FAILED)
            return fail(s, t, s->err_off, s->err);
        while (s->pos < s->len && (s->buf[s->pos] == ' ' || s->buf[s->pos] == '\t' || s->buf[s->pos] == '\n' ||
                                   s->buf[s->pos] == '\r')) {
            if (s->pos >= s->progress_at)
                progressed(s, s->pos);
            s->pos++;
        }
        if (s->pos >= s->progress_at)
            progressed(s, s->pos);
        t->off = s->pos;
        if (s->state == ST_DONE) {
            if (s->pos < s->len)
                return fail(s, t, s->pos, "trailing characters after the top value");
            t->type = MG_JSON_END;
            return MG_JSON_END;
        }
        if (s->pos >= s->len)
            return fail(s, t, s->len, "unexpected end of input");
        uint8_t c = s->buf[s->pos];
        switch (s->state) {
        case ST_VALUE:
            return value(s, t);
        case ST_ARRAY_FIRST:
            return c == ']' ? close_container(s, t) : value(s, t);
        case ST_ARRAY_NEXT:
            return c == ']' ? fail(s, t, s->pos, "trailing comma") : value(s, t);
        case ST_OBJECT_FIRST:
        case ST_OBJECT_NEXT:
            if (c == '}')
                return s->state == ST_OBJECT_FIRST ? close_container(s, t) : fail(s, t, s->pos, "trailing comma");
            if (c != '"')
                return fail(s, t, s->pos, "expected a string key");
            {
                size_t at = s->pos;
                const char *why = scan_string(s, t, &at);
                if (why)
                    return fail(s, t, at, why);
            }
            t->type = MG_JSON_KEY;
            t->depth = s->depth;
            s->state = ST_COLON;
            return MG_JSON_KEY;
        case ST_COLON:
            if (c != ':')
                return fail(s, t, s->pos, "expected ':' after a key");
            s->pos++;
            s->state = ST_VALUE;
            continue;
        case ST_AFTER:
            if (c == ',') {
                s->pos++;
                s->state = in_object(s) ? ST_OBJECT_NEXT : ST_ARRAY_NEXT;
                continue;
            }
            if (c == (in_object(s) ? '}' : ']'))
                return close_container(s, t);
            return fail(s, t, s->pos, in_object(s) ? "expected ',' or '}'" : "expected ',' or ']'");
        default:
            return fail(s, t, s->pos, "scanner in an unknown state");
        }
    }
}

int mg_json_skip(mg_json_scanner *s, const mg_json_token *t)
{
    mg_json_token v;
    if (t->type == MG_JSON_FAIL)
        return -1;
    if (t->type == MG_JSON_KEY) {
        if (mg_json_next(s, &v) == MG_JSON_FAIL)
            return -1;
        return mg_json_skip(s, &v);   /* v is a value: no deeper recursion than this one */
    }
    if (t->type != MG_JSON_OBJECT_BEGIN && t->type != MG_JSON_ARRAY_BEGIN)
        return 0;
    for (;;) {
        mg_json_type k = mg_json_next(s, &v);
        if (k == MG_JSON_FAIL || k == MG_JSON_END)
            return -1;   /* END cannot come before the container closes */
        if ((k == MG_JSON_OBJECT_END || k == MG_JSON_ARRAY_END) && v.depth == t->depth)
            return 0;
    }
}

/* ---- decoding a string token ---- */

/*
 * The next character of a string token from *i: its UTF-8 bytes into out, their count returned
 * (1..4); 0 at the end. The token was checked by the scanner; a byte that is not a valid escape is
 * taken as itself, so nothing here reads outside p[0, len).
 */
static int decode(const uint8_t *p, size_t len, size_t *i, uint8_t out[4])
{
    if (*i >= len)
        return 0;
    uint8_t c = p[*i];
    if (c != '\\' || *i + 1 >= len) {
        out[0] = c;
        ++*i;
        return 1;
    }
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e = strchr(from, p[*i + 1]);
    if (e && p[*i + 1]) {
        out[0] = (uint8_t)to[e - from];
        *i += 2;
        return 1;
    }
    long u = p[*i + 1] == 'u' ? hex4(p + *i + 2, len - *i - 2) : -1;
    if (u < 0) {
        out[0] = c;
        ++*i;
        return 1;
    }
    *i += 6;
    if (u >= 0xD800 && u <= 0xDBFF && *i + 6 <= len && p[*i] == '\\' && p[*i + 1] == 'u') {
        long lo = hex4(p + *i + 2, len - *i - 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            *i += 6;
        }
    }
    if (u < 0x80) {
        out[0] = (uint8_t)u;
        return 1;
    }
    if (u < 0x800) {
        out[0] = (uint8_t)(0xC0 | u >> 6);
        out[1] = (uint8_t)(0x80 | (u & 0x3F));
        return 2;
    }
    if (u < 0x10000) {
        out[0] = (uint8_t)(0xE0 | u >> 12);
        out[1] = (uint8_t)(0x80 | (u >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (u & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | u >> 18);
    out[1] = (uint8_t)(0x80 | (u >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (u >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (u & 0x3F));
    return 4;
}

static int is_string(const mg_json_token *t) { return t->type == MG_JSON_KEY || t->type == MG_JSON_STRING; }

int mg_json_eq(const mg_json_token *t, const char *s)
{
    if (!is_string(t))
        return 0;
    size_t n = strlen(s);
    if (!t->escaped)
        return t->len == n && !memcmp(t->p, s, n);
    size_t i = 0, at = 0;
    uint8_t ch[4];
    int k;
    while ((k = decode(t->p, t->len, &i, ch)) > 0) {
        if ((size_t)k > n - at || memcmp(s + at, ch, (size_t)k))
            return 0;
        at += (size_t)k;
    }
    return at == n;
}

size_t mg_json_len(const mg_json_token *t)
{
    if (!is_string(t))
        return 0;
    if (!t->escaped)
        return t->len;
    size_t i = 0, n = 0;
    uint8_t ch[4];
    int k;
    while ((k = decode(t->p, t->len, &i, ch)) > 0)
        n += (size_t)k;
    return n;
}

int mg_json_copy(const mg_json_token *t, char *out, size_t cap, size_t *n)
{
    size_t at = 0, i = 0;
    int rc = MG_JSON_OK;
    if (n)
        *n = 0;
    if (!is_string(t)) {
        if (cap)
            out[0] = 0;
        return MG_JSON_E_TYPE;
    }
    uint8_t ch[4];
    int k;
    while ((k = decode(t->p, t->len, &i, ch)) > 0) {
        if (ch[0] == 0) {
            rc = MG_JSON_E_NUL;
            break;
        }
        if (!cap || (size_t)k > cap - 1 - at) {
            rc = MG_JSON_E_LONG;
            break;
        }
        memcpy(out + at, ch, (size_t)k);
        at += (size_t)k;
    }
    if (cap)
        out[at] = 0;
    if (n)
        *n = at;
    return rc;
}

int mg_json_dup(const mg_json_token *t, mg_arena *a, size_t max, char **out, size_t *n)
{
    *out = NULL;
    if (n)
        *n = 0;
    if (!is_string(t))
        return MG_JSON_E_TYPE;
    size_t len = mg_json_len(t);
    if (len > max)
        return MG_JSON_E_LONG;
    char *p = mg_arena_alloc(a, len + 1);
    if (!p)
        return MG_JSON_E_NOMEM;
    int rc = mg_json_copy(t, p, len + 1, n);
    if (rc == MG_JSON_OK)
        *out = p;
    return rc;
}

int mg_json_u64(const mg_json_token *t, uint64_t *out)
{
    if (t->type != MG_JSON_NUMBER || t->negative || !t->integer)
        return MG_JSON_E_TYPE;
    uint64_t v = 0;
    for (size_t i = 0; i < t->len; i++) {
        unsigned d = (unsigned)(t->p[i] - '0');
        if (d > 9)
            return MG_JSON_E_TYPE;
        if (v > (UINT64_MAX - d) / 10)
            return MG_JSON_E_RANGE;
        v = v * 10 + d;
    }
    if (!t->len)
        return MG_JSON_E_TYPE;
    *out = v;
    return MG_JSON_OK;
}

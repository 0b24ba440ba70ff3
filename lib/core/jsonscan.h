/* jsonscan.h - a bounded pull tokenizer over JSON in memory: strict RFC 8259, no tree, no allocation, no globals. */
#ifndef MG_CORE_JSONSCAN_H
#define MG_CORE_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/*
 * Use:
 *
 *     mg_json_scanner s;
 *     mg_json_token t;
 *     mg_json_init(&s, buf, len, 64);
 *     while (mg_json_next(&s, &t) > MG_JSON_END) { ... }
 *     if (t.type == MG_JSON_FAIL) report s.err at s.err_off;
 *
 * mg_json_next yields one token per call, in document order: OBJECT_BEGIN, KEY, a value (or a
 * nested BEGIN ... END), ..., OBJECT_END; then END once the top value and any whitespace after it
 * are consumed. Every call consumes at least one byte or returns END or FAIL, so a loop over a
 * document of len bytes makes at most len + 1 calls, and nothing is ever read outside [buf, buf+len).
 *
 * Refused (FAIL, with a short static reason in s.err and the byte offset in s.err_off): trailing
 * commas, leading zeros, '+', '.5', '1.', bare control characters (< 0x20) in strings, unknown
 * escapes, \u escapes that are not 4 hex digits, lone surrogates (\uD800 without its low half,
 * \uDC00 alone), invalid UTF-8 (overlong forms, encoded surrogates, > U+10FFFF, cut sequences),
 * anything but whitespace after the top value, containers nested deeper than max_depth, and a
 * document that ends early ("unexpected end of input"). Once FAIL, it stays FAIL.
 *
 * The scanner holds no pointers but into buf: copy it freely, use one per thread.
 */

#define MG_JSON_DEPTH_LIMIT 1024   /* the largest max_depth a scanner takes */

typedef enum mg_json_type {
    MG_JSON_FAIL = -1,       /* malformed: see mg_json_scanner.err / err_off */
    MG_JSON_END = 0,         /* the document is over (and was valid) */
    MG_JSON_OBJECT_BEGIN,
    MG_JSON_OBJECT_END,
    MG_JSON_ARRAY_BEGIN,
    MG_JSON_ARRAY_END,
    MG_JSON_KEY,             /* a member name; its value is the next token */
    MG_JSON_STRING,
    MG_JSON_NUMBER,
    MG_JSON_TRUE,
    MG_JSON_FALSE,
    MG_JSON_NULL,
} mg_json_type;

typedef struct mg_json_token {
    mg_json_type type;
    /* KEY, STRING: the bytes between the quotes, escapes as written (valid: the scanner checked them);
     * NUMBER: its text; others: the token's bytes. Points into the scanner's buffer. */
    const uint8_t *p;
    size_t len;
    size_t off;              /* offset in the buffer of its first byte (a string's opening quote) */
    unsigned depth;          /* containers open around it: 0 for the top value, 1 for the top object's
                                keys and values; a BEGIN and its END have the same depth */
    uint8_t escaped;         /* KEY, STRING: holds a backslash escape (else p/len are the text itself) */
    uint8_t integer;         /* NUMBER: no fraction and no exponent */
    uint8_t negative;        /* NUMBER: starts with '-' */
} mg_json_token;

typedef struct mg_json_scanner {
    const uint8_t *buf;
    size_t len, pos;
    unsigned depth, max_depth;
    int state;
    const char *err;         /* after FAIL: why, a static text ("trailing comma") */
    size_t err_off;          /* and the offset of the byte where it was seen (len: at the end) */
    uint8_t is_object[MG_JSON_DEPTH_LIMIT / 8];   /* one bit per open container */
    void (*progress)(void *ctx, const uint8_t *upto);   /* mg_json_on_progress */
    void *progress_ctx;
    size_t progress_every, progress_at;
} mg_json_scanner;

/* A scanner over buf[0, len). max_depth: how many containers may be open at once, 1..1024 (0, or
 * more than 1024, is taken as 1024). A document nested deeper FAILs ("nested too deep"). */
void mg_json_init(mg_json_scanner *s, const uint8_t *buf, size_t len, unsigned max_depth);

/*
 * Optional: fn(ctx, upto) is called each time the scanner has read `every` more bytes, inside long
 * strings, numbers and whitespace too, with the first byte it has not read yet. For a caller over a
 * file mapping that gives back the pages behind (lib/models/safetensors.c); tokens still point there.
 */
void mg_json_on_progress(mg_json_scanner *s, size_t every, void (*fn)(void *ctx, const uint8_t *upto), void *ctx);

/* The next token into *t; returns t->type. */
mg_json_type mg_json_next(mg_json_scanner *s, mg_json_token *t);

/*
 * Skips the value that starts with t: for OBJECT_BEGIN / ARRAY_BEGIN, every token to its END; for
 * a KEY, the member's value; for a scalar, nothing (it was consumed with t). 0, or -1 when the
 * scanner FAILs on the way (s->err says why).
 */
int mg_json_skip(mg_json_scanner *s, const mg_json_token *t);

/* Results of the helpers below. */
enum {
    MG_JSON_OK = 0,
    MG_JSON_E_TYPE = -1,     /* not a token of that kind (a STRING/KEY, an integer NUMBER) */
    MG_JSON_E_RANGE = -2,    /* an integer above 2^64 - 1 */
    MG_JSON_E_LONG = -3,     /* the decoded string does not fit */
    MG_JSON_E_NUL = -4,      /* the decoded string holds U+0000 (\u0000): no C string can */
    MG_JSON_E_NOMEM = -5,
};

/* Whether a KEY or STRING token, escapes decoded, is exactly the C string s. 0 for other tokens. */
int mg_json_eq(const mg_json_token *t, const char *s);

/* The length in bytes of a KEY or STRING token with its escapes decoded (UTF-8); 0 for others. */
size_t mg_json_len(const mg_json_token *t);

/*
 * A KEY or STRING decoded into out (cap bytes, NUL-terminated when cap > 0); *n (may be NULL) gets
 * the bytes written. MG_JSON_E_LONG when it does not fit: out then holds the longest prefix of
 * whole characters that does. MG_JSON_E_NUL at a U+0000: out holds what came before it.
 */
int mg_json_copy(const mg_json_token *t, char *out, size_t cap, size_t *n);

/*
 * A KEY or STRING decoded into a new NUL-terminated string in the arena, at most max bytes long
 * (MG_JSON_E_LONG beyond, nothing allocated). *out NULL on any error; *n (may be NULL) its length.
 */
int mg_json_dup(const mg_json_token *t, mg_arena *a, size_t max, char **out, size_t *n);

/* A NUMBER token as an unsigned 64-bit integer: MG_JSON_E_TYPE for a fraction, an exponent or a
 * minus sign (-0 too), MG_JSON_E_RANGE above 2^64 - 1. */
int mg_json_u64(const mg_json_token *t, uint64_t *out);

#endif

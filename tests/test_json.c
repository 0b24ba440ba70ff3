/* test_json.c - lib/core/jsonscan: what the strict tokenizer accepts and refuses (and why, where), truncations, depth, its helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/jsonscan.h"
#include "lcg.h"

/*
 * Scans the n bytes of doc to the end, from a copy of exactly n bytes (so ASan sees any read past
 * them); counts the calls (never more than n + 1). Returns the last token type; *s holds the scanner.
 */
static mg_json_type scan_all(const char *doc, size_t n, unsigned depth, mg_json_scanner *s, size_t *calls)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, doc, n);
    mg_json_token t;
    mg_json_init(s, copy, n, depth);
    size_t k = 0;
    mg_json_type ty;
    do {
        ty = mg_json_next(s, &t);
        k++;
        assert_true(k <= n + 1);
    } while (ty > MG_JSON_END);
    /* sticky: the same answer again */
    mg_json_token again;
    assert_int_equal(mg_json_next(s, &again), ty);
    free(copy);
    s->buf = NULL;
    if (calls)
        *calls = k;
    return ty;
}

static mg_json_type scan_str(const char *doc, mg_json_scanner *s) { return scan_all(doc, strlen(doc), 64, s, NULL); }

static void accepts_valid_documents(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}", "[]", "0", "-0", "1", "-1", "123456789012345678901234567890", "0.5", "-0.0e-0", "1E+2", "1e2", "2.5E-3",
        "\"\"", "\"x\"", "true", "false", "null", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n ",
        "{\"a\":[1,2.5e-3,-0.0,true,false,null,\"s\\u00e9\\n\",{}],\"b\":{\"c\":{}}}",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0000\"", "\"\\uD83D\\uDE00\"", "\"\\ud83d\\ude00\"",
        "\"\xc3\xa9\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"", "\"\xf4\x8f\xbf\xbf\"", "\"\xef\xbf\xbf\"",
        "\"\xed\x9f\xbf\"", "[[],[[]],{}]", "{\"\":\"\"}", "{\"a\":1,\"a\":2}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        mg_json_scanner s;
        mg_json_type ty = scan_str(ok[i], &s);
        if (ty != MG_JSON_END)
            fail_msg("refused %s: %s at %zu", ok[i], s.err, s.err_off);
    }
}

static void refuses_with_a_reason_and_an_offset(void **state)
{
    (void)state;
    static const struct { const char *doc; const char *why; size_t at; } bad[] = {
        {"", "unexpected end of input", 0},
        {"   ", "unexpected end of input", 3},
        {"{\"a\":1,}", "trailing comma", 7},
        {"[1,]", "trailing comma", 3},
        {"[1,,2]", "expected a value", 3},
        {"{,}", "expected a string key", 1},
        {"[,1]", "expected a value", 1},
        {"{\"a\" 1}", "expected ':' after a key", 5},
        {"{\"a\":}", "expected a value", 5},
        {"{1:2}", "expected a string key", 1},
        {"{'a':1}", "expected a string key", 1},
        {"[1 2]", "expected ',' or ']'", 3},
        {"{\"a\":1 \"b\":2}", "expected ',' or '}'", 7},
        {"[1}", "expected ',' or ']'", 2},
        {"{\"a\":1]", "expected ',' or '}'", 6},
        {"01", "leading zero in a number", 1},
        {"-01", "leading zero in a number", 2},
        {"[00]", "leading zero in a number", 2},
        {"+1", "expected a value", 0},
        {".5", "expected a value", 0},
        {"1.", "unexpected end of input", 2},
        {"[1.]", "a digit must follow '.'", 3},
        {"1.e3", "a digit must follow '.'", 2},
        {"1e", "unexpected end of input", 2},
        {"[1e]", "a digit must follow the exponent", 3},
        {"[1e+]", "a digit must follow the exponent", 4},
        {"-", "unexpected end of input", 1},
        {"--1", "invalid number", 1},
        {"-a", "invalid number", 1},
        {"0x10", "trailing characters after the top value", 1},
        {"NaN", "expected a value", 0},
        {"Infinity", "expected a value", 0},
        {"[-Infinity]", "invalid number", 2},
        {"tru", "unexpected end of input", 3},
        {"trux", "invalid literal", 0},
        {"nul", "unexpected end of input", 3},
        {"falsy", "invalid literal", 0},
        {"True", "expected a value", 0},
        {"truex", "trailing characters after the top value", 4},
        {"[true false]", "expected ',' or ']'", 6},
        {"\"abc", "unexpected end of input", 4},
        {"\"a\x01\"", "control character in a string", 2},
        {"\"a\tb\"", "control character in a string", 2},
        {"\"a\nb\"", "control character in a string", 2},
        {"\"\\x\"", "invalid escape", 1},
        {"\"\\'\"", "invalid escape", 1},
        {"\"\\U0041\"", "invalid escape", 1},
        {"\"\\u12\"", "invalid \\u escape", 1},
        {"\"\\u12G4\"", "invalid \\u escape", 1},
        {"\"\\u", "unexpected end of input", 3},
        {"\"\\ud800\"", "lone surrogate in a \\u escape", 7},
        {"\"\\udc00\"", "lone surrogate in a \\u escape", 1},
        {"\"\\ude00\\ud83d\"", "lone surrogate in a \\u escape", 1},
        {"\"\\ud800\\u0041\"", "lone surrogate in a \\u escape", 7},
        {"\"\\ud800\\n\"", "lone surrogate in a \\u escape", 7},
        {"\"\\ud800x\"", "lone surrogate in a \\u escape", 7},
        {"\"\\ud800\\ud800\"", "lone surrogate in a \\u escape", 7},
        {"\"\\ud800\\uzzzz\"", "invalid \\u escape", 7},
        {"\"\xc0\xaf\"", "invalid UTF-8", 1},          /* overlong '/' */
        {"\"\xc1\xbf\"", "invalid UTF-8", 1},
        {"\"\xe0\x80\xaf\"", "invalid UTF-8", 1},      /* overlong, 3 bytes */
        {"\"\xf0\x80\x80\xaf\"", "invalid UTF-8", 1},  /* overlong, 4 bytes */
        {"\"\xed\xa0\x80\"", "invalid UTF-8", 1},      /* U+D800 encoded */
        {"\"\xed\xbf\xbf\"", "invalid UTF-8", 1},      /* U+DFFF encoded */
        {"\"\xf4\x90\x80\x80\"", "invalid UTF-8", 1},  /* U+110000 */
        {"\"\xf5\x80\x80\x80\"", "invalid UTF-8", 1},
        {"\"\xff\"", "invalid UTF-8", 1},
        {"\"\x80\"", "invalid UTF-8", 1},              /* a lone continuation byte */
        {"\"\xc3\"", "invalid UTF-8", 1},              /* cut by the quote */
        {"\"\xe2\x82\"", "invalid UTF-8", 1},
        {"\"\xc3", "unexpected end of input", 2},      /* cut by the end */
        {"{} x", "trailing characters after the top value", 3},
        {"{}{}", "trailing characters after the top value", 2},
        {"1 2", "trailing characters after the top value", 2},
        {"{}\0", "trailing characters after the top value", 2},
        {"[\xc3\xa9]", "expected a value", 1},
        {"{\x01}", "expected a string key", 1},
        {"\xef\xbb\xbf{}", "expected a value", 0},    /* a byte-order mark */
        {"[1,\v2]", "expected a value", 3},
        {"[\f]", "expected a value", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mg_json_scanner s;
        size_t n = strlen(bad[i].doc) + (bad[i].at == 2 && !strcmp(bad[i].doc, "{}"));   /* "{}\0": with its NUL */
        mg_json_type ty = scan_all(bad[i].doc, n, 64, &s, NULL);
        if (ty != MG_JSON_FAIL)
            fail_msg("accepted case %zu", i);
        if (strcmp(s.err, bad[i].why) || s.err_off != bad[i].at)
            fail_msg("case %zu: '%s' at %zu, expected '%s' at %zu", i, s.err, s.err_off, bad[i].why, bad[i].at);
    }
}

static void tokens_in_order_with_depths(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[1,{\"b\":null}],\"c\":\"x\\ty\",\"d\":true,\"e\":false,\"f\":-2.5}";
    static const struct { mg_json_type type; unsigned depth; const char *text; } want[] = {
        {MG_JSON_OBJECT_BEGIN, 0, "{"}, {MG_JSON_KEY, 1, "a"}, {MG_JSON_ARRAY_BEGIN, 1, "["},
        {MG_JSON_NUMBER, 2, "1"}, {MG_JSON_OBJECT_BEGIN, 2, "{"}, {MG_JSON_KEY, 3, "b"}, {MG_JSON_NULL, 3, "null"},
        {MG_JSON_OBJECT_END, 2, "}"}, {MG_JSON_ARRAY_END, 1, "]"}, {MG_JSON_KEY, 1, "c"},
        {MG_JSON_STRING, 1, "x\\ty"}, {MG_JSON_KEY, 1, "d"}, {MG_JSON_TRUE, 1, "true"}, {MG_JSON_KEY, 1, "e"},
        {MG_JSON_FALSE, 1, "false"}, {MG_JSON_KEY, 1, "f"}, {MG_JSON_NUMBER, 1, "-2.5"},
        {MG_JSON_OBJECT_END, 0, "}"}, {MG_JSON_END, 0, ""},
    };
    mg_json_scanner s;
    mg_json_token t;
    mg_json_init(&s, (const uint8_t *)doc, strlen(doc), 8);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(mg_json_next(&s, &t), want[i].type);
        assert_int_equal(t.depth, want[i].depth);
        assert_int_equal(t.len, strlen(want[i].text));
        assert_memory_equal(t.p ? (const char *)t.p : "", want[i].text, t.len);
        if (t.type == MG_JSON_KEY || t.type == MG_JSON_STRING)
            assert_int_equal(t.off, (size_t)(t.p - (const uint8_t *)doc) - 1);
        if (t.type == MG_JSON_STRING)
            assert_true(t.escaped);
        if (t.type == MG_JSON_NUMBER && t.len == 4)
            assert_true(t.negative && !t.integer);
    }
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_END);   /* END again */
}

static void depth_is_capped(void **state)
{
    (void)state;
    char doc[2 * 1100 + 1];
    for (unsigned cap = 1; cap <= 1024; cap = cap < 8 ? cap + 1 : cap * 2) {
        for (unsigned n = cap; n <= cap + 1; n++) {
            for (unsigned i = 0; i < n; i++)
                doc[i] = '[', doc[2 * n - 1 - i] = ']';
            mg_json_scanner s;
            mg_json_type ty = scan_all(doc, 2 * n, cap, &s, NULL);
            if (n <= cap)
                assert_int_equal(ty, MG_JSON_END);
            else {
                assert_int_equal(ty, MG_JSON_FAIL);
                assert_string_equal(s.err, "nested too deep");
                assert_int_equal(s.err_off, cap);
            }
        }
    }
    /* 0 and anything above the limit mean the limit; a deep document costs no stack */
    size_t n = 100000;
    char *deep = malloc(2 * n);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    mg_json_scanner s;
    assert_int_equal(scan_all(deep, 2 * n, 0, &s, NULL), MG_JSON_FAIL);
    assert_int_equal(s.err_off, MG_JSON_DEPTH_LIMIT);
    assert_int_equal(scan_all(deep, 2 * n, 5000, &s, NULL), MG_JSON_FAIL);
    assert_int_equal(s.err_off, MG_JSON_DEPTH_LIMIT);
    /* objects and arrays alternating at the cap */
    const char *mixed = "{\"a\":[{\"b\":[{}]}]}";
    assert_int_equal(scan_all(mixed, strlen(mixed), 5, &s, NULL), MG_JSON_END);
    assert_int_equal(scan_all(mixed, strlen(mixed), 4, &s, NULL), MG_JSON_FAIL);
    free(deep);
}

/* Every proper prefix of a document whose top value is a container is refused, never overread. */
static void every_truncation_is_refused(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},\"__metadata__\":{\"format\":\"pt\"}}",
        "[1,-2.5e+10,0,\"\\ud83d\\ude00\\n\\u00e9\",\"\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\",true,false,null,[],{}]",
        "{\"k\\\"ey\":[[[[0.25]]]],\"x\":\"\\\\\"}",
    };
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t n = strlen(docs[d]);
        mg_json_scanner s;
        assert_int_equal(scan_all(docs[d], n, 64, &s, NULL), MG_JSON_END);
        for (size_t cut = 0; cut < n; cut++) {
            size_t calls;
            mg_json_type ty = scan_all(docs[d], cut, 64, &s, &calls);
            if (ty != MG_JSON_FAIL)
                fail_msg("document %zu cut at %zu accepted", d, cut);
            assert_true(s.err_off <= cut);
        }
    }
}

/* Random bytes changed in a valid document: an answer every time, within len + 1 calls (asserted in scan_all). */
static void corrupted_documents_end(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[1,{\"b\":null}],\"c\":\"x\\u00e9\\ud83d\\ude00y\",\"d\":[true,false,-1.5e3],\"e\":{}}";
    size_t n = strlen(doc);
    char buf[128];
    uint32_t seed = 12345;
    static const char alphabet[] = "{}[],:\"\\u0123456789abcdefeE.+-tnrl \x80\xc3\xed\xf0\xff\x01";
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, doc, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = lcg_next(seed);
            size_t at = (seed >> 8) % n;
            seed = lcg_next(seed);
            buf[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
        }
        mg_json_scanner s;
        mg_json_type ty = scan_all(buf, n, 16, &s, NULL);
        assert_true(ty == MG_JSON_END || ty == MG_JSON_FAIL);
        if (ty == MG_JSON_FAIL)
            assert_true(s.err && s.err_off <= n);
    }
}

static void skip_values(void **state)
{
    (void)state;
    const char *doc = "{\"skip\":{\"a\":[1,[2,{\"b\":[]}]],\"c\":\"}\"},\"n\":5,\"also\":[[],[]],\"last\":true}";
    mg_json_scanner s;
    mg_json_token t;
    mg_json_init(&s, (const uint8_t *)doc, strlen(doc), 8);
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_OBJECT_BEGIN);
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_KEY);
    assert_int_equal(mg_json_skip(&s, &t), 0);   /* a key: its value */
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_KEY);
    assert_true(mg_json_eq(&t, "n"));
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_NUMBER);
    assert_int_equal(mg_json_skip(&s, &t), 0);   /* a scalar: nothing */
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_KEY);
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_ARRAY_BEGIN);
    assert_int_equal(mg_json_skip(&s, &t), 0);   /* a container: to its end */
    assert_int_equal(mg_json_next(&s, &t), MG_JSON_KEY);
    assert_true(mg_json_eq(&t, "last"));
    /* a skip that meets an error says so */
    const char *bad = "{\"a\":[1,2,}";
    mg_json_init(&s, (const uint8_t *)bad, strlen(bad), 8);
    mg_json_next(&s, &t);
    mg_json_next(&s, &t);
    assert_int_equal(mg_json_skip(&s, &t), -1);
    assert_string_equal(s.err, "expected a value");
}

/* The first STRING or KEY token of doc. */
static mg_json_token first_string(const char *doc, mg_json_scanner *s)
{
    mg_json_token t;
    mg_json_init(s, (const uint8_t *)doc, strlen(doc), 8);
    while (mg_json_next(s, &t) > MG_JSON_END)
        if (t.type == MG_JSON_STRING || t.type == MG_JSON_KEY)
            return t;
    fail_msg("no string in %s", doc);
    return t;
}

static void strings_compared_and_decoded(void **state)
{
    (void)state;
    mg_json_scanner s;
    mg_json_token t = first_string("\"d\\u0074ype\"", &s);
    assert_true(t.escaped);
    assert_true(mg_json_eq(&t, "dtype"));
    assert_false(mg_json_eq(&t, "dtyp"));
    assert_false(mg_json_eq(&t, "dtypes"));
    assert_false(mg_json_eq(&t, ""));
    t = first_string("{\"plain\":1}", &s);
    assert_int_equal(t.type, MG_JSON_KEY);
    assert_false(t.escaped);
    assert_true(mg_json_eq(&t, "plain"));
    assert_false(mg_json_eq(&t, "plai"));
    t = first_string("\"\\ud83d\\ude00\\u00e9\\u20ac\\n\\\"\\/A\"", &s);
    const char want[] = "\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\n\"/A";
    assert_true(mg_json_eq(&t, want));
    assert_int_equal(mg_json_len(&t), strlen(want));
    char out[64];
    size_t n;
    assert_int_equal(mg_json_copy(&t, out, sizeof out, &n), MG_JSON_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    /* too small: whole characters only, NUL-terminated */
    assert_int_equal(mg_json_copy(&t, out, 6, &n), MG_JSON_E_LONG);
    assert_int_equal(n, 4);
    assert_string_equal(out, "\xf0\x9f\x98\x80");
    assert_int_equal(mg_json_copy(&t, out, 4, &n), MG_JSON_E_LONG);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
    assert_int_equal(mg_json_copy(&t, out, 0, &n), MG_JSON_E_LONG);
    /* U+0000 cannot be in a C string */
    t = first_string("\"ab\\u0000cd\"", &s);
    assert_int_equal(mg_json_len(&t), 5);
    assert_int_equal(mg_json_copy(&t, out, sizeof out, &n), MG_JSON_E_NUL);
    assert_string_equal(out, "ab");
    assert_false(mg_json_eq(&t, "ab"));
    /* into an arena, with a cap */
    mg_arena *a = mg_arena_new();
    char *d;
    t = first_string("\"caf\\u00e9\"", &s);
    assert_int_equal(mg_json_dup(&t, a, 5, &d, &n), MG_JSON_OK);
    assert_string_equal(d, "caf\xc3\xa9");
    assert_int_equal(n, 5);
    assert_int_equal(mg_json_dup(&t, a, 4, &d, &n), MG_JSON_E_LONG);
    assert_null(d);
    t = first_string("\"a\\u0000\"", &s);
    assert_int_equal(mg_json_dup(&t, a, 100, &d, NULL), MG_JSON_E_NUL);
    assert_null(d);
    /* not a string */
    mg_json_init(&s, (const uint8_t *)"12", 2, 8);
    mg_json_next(&s, &t);
    assert_false(mg_json_eq(&t, "12"));
    assert_int_equal(mg_json_len(&t), 0);
    assert_int_equal(mg_json_copy(&t, out, sizeof out, NULL), MG_JSON_E_TYPE);
    assert_int_equal(mg_json_dup(&t, a, 100, &d, NULL), MG_JSON_E_TYPE);
    mg_arena_free(a);
}

static void integers_range_checked(void **state)
{
    (void)state;
    static const struct { const char *doc; int rc; uint64_t v; } cases[] = {
        {"0", MG_JSON_OK, 0},
        {"7", MG_JSON_OK, 7},
        {"9007199254740993", MG_JSON_OK, 9007199254740993ull},   /* above 2^53: exact, no double */
        {"18446744073709551615", MG_JSON_OK, UINT64_MAX},
        {"18446744073709551616", MG_JSON_E_RANGE, 0},
        {"18446744073709551620", MG_JSON_E_RANGE, 0},
        {"99999999999999999999999999999999999999999999", MG_JSON_E_RANGE, 0},
        {"-0", MG_JSON_E_TYPE, 0},
        {"-1", MG_JSON_E_TYPE, 0},
        {"1.0", MG_JSON_E_TYPE, 0},
        {"1e3", MG_JSON_E_TYPE, 0},
        {"1E0", MG_JSON_E_TYPE, 0},
        {"0.5", MG_JSON_E_TYPE, 0},
        {"\"5\"", MG_JSON_E_TYPE, 0},
        {"true", MG_JSON_E_TYPE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mg_json_scanner s;
        mg_json_token t;
        mg_json_init(&s, (const uint8_t *)cases[i].doc, strlen(cases[i].doc), 8);
        assert_true(mg_json_next(&s, &t) > MG_JSON_END);
        uint64_t v = 42;
        assert_int_equal(mg_json_u64(&t, &v), cases[i].rc);
        assert_int_equal(v, cases[i].rc == MG_JSON_OK ? cases[i].v : 42);
    }
}

/* Long documents: linear time, and a million-element array costs nothing but the scan. */
static void long_documents(void **state)
{
    (void)state;
    size_t n = 2000000;
    char *doc = malloc(2 * n + 2);
    assert_non_null(doc);
    doc[0] = '[';
    for (size_t i = 0; i < n; i++)
        doc[1 + 2 * i] = '0', doc[2 + 2 * i] = ',';
    doc[2 * n] = ']';
    mg_json_scanner s;
    size_t calls;
    assert_int_equal(scan_all(doc, 2 * n + 1, 4, &s, &calls), MG_JSON_END);
    assert_int_equal(calls, n + 3);
    doc[0] = '"';
    memset(doc + 1, 'x', 2 * n - 1);
    doc[2 * n] = '"';
    assert_int_equal(scan_all(doc, 2 * n + 1, 4, &s, &calls), MG_JSON_END);
    assert_int_equal(calls, 2);
    free(doc);
}

/* The progress hook: called every `every` bytes, inside one long string too, never backwards. */
struct seen { const uint8_t *base, *last; size_t calls; };

static void on_progress(void *ctx, const uint8_t *upto)
{
    struct seen *w = ctx;
    assert_true(upto >= w->last && upto > w->base);
    w->last = upto;
    w->calls++;
}

static void progress_hook(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *doc = malloc(n + 64);
    assert_non_null(doc);
    strcpy(doc, "{\"k\":\"");
    size_t k = strlen(doc);
    memset(doc + k, 'x', n - k - 40);
    k = n - 40;
    k += (size_t)sprintf(doc + k, "\",\"n\":[123456789, 2.5e10],   \"t\":true}");
    mg_json_scanner s;
    mg_json_token t;
    struct seen w = {(const uint8_t *)doc, (const uint8_t *)doc, 0};
    mg_json_init(&s, (const uint8_t *)doc, k, 8);
    mg_json_on_progress(&s, 4096, on_progress, &w);
    while (mg_json_next(&s, &t) > MG_JSON_END)
        ;
    assert_int_equal(t.type, MG_JSON_END);
    assert_true(w.calls >= k / 4096 - 1 && w.calls <= k / 4096 + 1);
    assert_true(w.last <= (const uint8_t *)doc + k);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_valid_documents), cmocka_unit_test(refuses_with_a_reason_and_an_offset),
        cmocka_unit_test(tokens_in_order_with_depths), cmocka_unit_test(depth_is_capped),
        cmocka_unit_test(every_truncation_is_refused), cmocka_unit_test(corrupted_documents_end),
        cmocka_unit_test(skip_values), cmocka_unit_test(strings_compared_and_decoded),
        cmocka_unit_test(integers_range_checked), cmocka_unit_test(long_documents), cmocka_unit_test(progress_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_safetensors.c - the safetensors header reader: what it reads, what the reference refuses, lying and huge headers in bounded memory, every allocation failing. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "models/formats.h"
#include "mlgate/mlgate.h"

/* A file: the 8-byte length, the header as given, data_len zero bytes. */
static uint8_t *st_file(const char *header, size_t hn, uint64_t data_len, size_t *len)
{
    *len = 8 + hn + (size_t)data_len;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hn >> (8 * i));
    memcpy(b + 8, header, hn);
    return b;
}

/* Parses a header (as a whole file of it and data_len bytes); the error text in err. */
static int parse_header(const char *header, uint64_t data_len, mg_safetensors *st, mg_arena *a, char *err, size_t errlen)
{
    size_t len;
    uint8_t *b = st_file(header, strlen(header), data_len, &len);
    uint64_t need;
    int rc = mg_safetensors_parse(b, len, len, a, st, &need, err, errlen);
    free(b);   /* nothing the result holds points into the buffer */
    return rc;
}

static void reads_a_header(void **state)
{
    (void)state;
    const char *h =
        "{\"__metadata__\":{\"format\":\"pt\",\"other\":\"x\"},"
        "\"b\\u002ebias\":{\"dtype\":\"F32\",\"shape\":[7],\"data_offsets\":[30,58],\"extra\":[{\"deep\":[1,2]},null]},"
        "\"a.weight\":{\"data_offsets\":[0,30],\"shape\":[3,5],\"dtype\":\"BF16\"},"
        "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[58,58]},"
        "\"w8\":{\"dtype\":\"F8_E4M3\",\"shape\":[4,4],\"data_offsets\":[58,74]},"
        "\"s\":{\"dtype\":\"F8_E8M0\",\"shape\":[4],\"data_offsets\":[74,78]},"
        "\"w4\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[78,81]},"
        "\"w6\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[81,84]},"
        "\"lm_head.weight_scale\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[84,88]},"
        "\"caf\\u00e9\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[88,89]}}   ";
    mg_arena *a = mg_arena_new();
    mg_safetensors st;
    char err[256] = "";
    assert_int_equal(parse_header(h, 89, &st, a, err, sizeof err), MG_OK);
    assert_int_equal(st.n, 9);
    assert_string_equal(st.format, "pt");
    assert_int_equal(st.data_bytes, 89);
    assert_string_equal(st.tensors[0].name, "b.bias");   /* file order, escapes decoded */
    assert_int_equal(st.tensors[0].dtype, MG_DTYPE_F32);
    assert_int_equal(st.tensors[0].begin, 30);
    assert_string_equal(st.tensors[1].name, "a.weight");
    assert_int_equal(st.tensors[1].ndims, 2);
    assert_int_equal(st.tensors[1].shape[1], 5);
    assert_int_equal(st.tensors[1].numel, 15);
    assert_string_equal(st.tensors[8].name, "caf\xc3\xa9");
    assert_int_equal(st.tensors[8].ndims, 0);
    assert_int_equal(st.tensors[8].numel, 1);
    assert_true(st.tensors[4].aux && st.tensors[7].aux);   /* E8M0 scales, a weight_scale */
    assert_int_equal(st.params, 7 + 15 + 0 + 16 + 6 + 4 + 1);
    assert_int_equal(st.bytes_by_dtype[MG_DTYPE_F32], 28 + 4);
    mg_arena_free(a);
}

/* One F32 tensor whose entry holds an unknown field of `arrays` nested arrays: root + entry + arrays levels. */
static const char *nested(char *deep, size_t cap, int arrays)
{
    int n = snprintf(deep, cap, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":");
    for (int k = 0; k < arrays; k++)
        deep[n++] = '[';
    for (int k = 0; k < arrays; k++)
        deep[n++] = ']';
    snprintf(deep + n, cap - (size_t)n, "}}");
    return deep;
}

/* Each of these, refused by the reference reader, is refused here, with these words. */
static void refuses_what_the_reference_refuses(void **state)
{
    (void)state;
    static const struct { const char *header; uint64_t data; int rc; const char *says; } bad[] = {
        /* names and fields given twice */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
         "\"data_offsets\":[8,16]}}", 16, MG_E_FORMAT, "tensor 'a' is named twice in the header"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"\\u0061\":{\"dtype\":\"U8\",\"shape\":[0],"
         "\"data_offsets\":[0,0]}}", 0, MG_E_FORMAT, "tensor 'a' is named twice"},
        {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "tensor 'a': duplicate field `dtype`"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "duplicate field `shape`"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "duplicate field `data_offsets`"},
        {"{\"a\":{\"d\\u0074ype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "duplicate field `dtype`"},
        {"{\"__metadata__\":null,\"__metadata__\":{}}", 0, MG_E_FORMAT, "duplicate field `__metadata__`"},
        /* __metadata__ is a map of strings */
        {"{\"__metadata__\":{\"x\":1}}", 0, MG_E_FORMAT, "__metadata__: the value of 'x' is not a string"},
        {"{\"__metadata__\":{\"x\":null}}", 0, MG_E_FORMAT, "the value of 'x' is not a string"},
        {"{\"__metadata__\":{\"x\":[\"1\"]}}", 0, MG_E_FORMAT, "the value of 'x' is not a string"},
        {"{\"__metadata__\":\"pt\"}", 0, MG_E_FORMAT, "__metadata__ is not an object of strings"},
        {"{\"__metadata__\":[]}", 0, MG_E_FORMAT, "__metadata__ is not an object of strings"},
        /* JSON the reference's parser refuses */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}", 8, MG_E_FORMAT,
         "header is not valid JSON: trailing comma at byte 62"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8, MG_E_FORMAT,
         "trailing characters after the top value"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT, "leading zero"},
        {"{\"a\\x\":{}}", 0, MG_E_FORMAT, "invalid escape"},
        {"{\"\\ud800\":{}}", 0, MG_E_FORMAT, "lone surrogate"},
        {"{\"a\xc0\xaf\":{}}", 0, MG_E_FORMAT, "invalid UTF-8"},
        {"{\"a\xed\xa0\x80\":{}}", 0, MG_E_FORMAT, "invalid UTF-8"},
        {"{\"a\x01\":{}}", 0, MG_E_FORMAT, "control character"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, MG_E_FORMAT, "unexpected end of input"},
        {"{\"a\"}", 0, MG_E_FORMAT, "expected ':'"},
        /* entries */
        {"{\"a\":[1]}", 0, MG_E_FORMAT, "tensor 'a': dtype, shape or data_offsets missing or invalid"},
        {"{\"a\":null}", 0, MG_E_FORMAT, "missing or invalid"},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT, "missing or invalid"},
        {"{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT, "missing or invalid"},
        {"{\"a\":{\"dtype\":null,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT, "missing or invalid"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":null,\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT, "missing or invalid"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8, MG_E_FORMAT, "missing or invalid"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, MG_E_FORMAT, "missing or invalid"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "tensor 'a': shape entries must be non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT, "non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,0]}}", 0, MG_E_FORMAT, "non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[[2]],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT, "non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "non-negative integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "tensor 'a': element count overflows"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1152921504606846976],\"data_offsets\":[0,8]}}", 8, MG_E_FORMAT,
         "element count overflows"},   /* 2^60 elements of 32 bits: 2^65 bits */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]}}", 8, MG_E_FORMAT,
         "data_offsets must be [begin, end] with end >= begin"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, MG_E_FORMAT, "end >= begin"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16, MG_E_FORMAT,
         "tensor 'a': 16 bytes for 3 x F32 (12 expected)"},
        {"{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, MG_E_FORMAT, "2 bytes for 3 x F4"},
        /* the data section */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
         "\"data_offsets\":[16,24]}}", 24, MG_E_FORMAT, "tensor 'b' starts at 16 where 8 was expected: a hole in the data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
         "\"data_offsets\":[8,16]}}", 16, MG_E_FORMAT, "overlapping tensors"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9, MG_E_FORMAT,
         "its header describes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 7, MG_E_TRUNCATED, "its header describes"},
        /* tensors ending past 2^64 with the header before them: truncated, not a wrapped sum */
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[0,2305843009213693951]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[2305843009213693951,4611686018427387902]},"
         "\"c\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[4611686018427387902,6917529027641081853]},"
         "\"d\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[6917529027641081853,9223372036854775804]},"
         "\"e\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[9223372036854775804,11529215046068469755]},"
         "\"f\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[11529215046068469755,13835058055282163706]},"
         "\"g\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[13835058055282163706,16140901064495857657]},"
         "\"h\":{\"dtype\":\"U8\",\"shape\":[2305843009213693951],\"data_offsets\":[16140901064495857657,18446744073709551608]}}",
         0, MG_E_TRUNCATED, "describes more than 2^64"},
        /* a name C cannot hold */
        {"{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, MG_E_FORMAT, "holds U+0000"},
        /* nesting the reference's parser refuses (serde_json: 128 levels) is refused before it is read */
        {NULL, 8, MG_E_FORMAT, "nested too deep"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char deep[512];
        const char *h = bad[i].header;
        if (!h)   /* the root, the entry, and 126 arrays */
            h = nested(deep, sizeof deep, 126);
        mg_arena *a = mg_arena_new();
        mg_safetensors st;
        char err[256] = "";
        int rc = parse_header(h, bad[i].data, &st, a, err, sizeof err);
        if (rc != bad[i].rc || !strstr(err, bad[i].says))
            fail_msg("case %zu: rc %d '%s', expected %d '%s'", i, rc, err, bad[i].rc, bad[i].says);
        mg_arena_free(a);
    }
}

/* ... and what it accepts, so does this reader. */
static void accepts_what_the_reference_accepts(void **state)
{
    (void)state;
    static const struct { const char *header; uint64_t data; size_t n; } ok[] = {
        {"{}", 0, 0},
        {"{\"__metadata__\":null}", 0, 0},
        {"{\"__metadata__\":{\"x\":\"1\",\"x\":\"2\",\"format\":\"np\",\"format\":\"pt\"}}", 0, 0},   /* last wins */
        {"{\"a\":{\"dtype\":\"F32\",\"foo\":1,\"foo\":[{}],\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 1},
        {"{\"a\":{\"d\\u0074ype\":\"F\\u00332\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 1},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615,0],\"data_offsets\":[0,0]}}", 0, 1},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"b\":{\"dtype\":\"U8\",\"shape\":[0],"
         "\"data_offsets\":[0,0]}}", 0, 2},
        /* a zero-length tensor where another starts: sorted by (begin, end), not by begin alone */
        {"{\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"U8\",\"shape\":[0],"
         "\"data_offsets\":[0,0]}}", 8, 2},
        {"{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 1},
        {"{\"\\ud83d\\ude00\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 1},
        {"{ \"a\" :\t{\"dtype\" : \"F32\" ,\n\"shape\":[ 2 ],\r\"data_offsets\":[0,8]} }\n  ", 8, 1},
        {NULL, 8, 1},   /* 127 levels: the deepest the reference reads */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char deep[512];
        const char *h = ok[i].header;
        if (!h)   /* the root, the entry, and 125 arrays */
            h = nested(deep, sizeof deep, 125);
        mg_arena *a = mg_arena_new();
        mg_safetensors st;
        char err[256] = "";
        int rc = parse_header(h, ok[i].data, &st, a, err, sizeof err);
        if (rc != MG_OK || st.n != ok[i].n)
            fail_msg("case %zu: rc %d '%s', %zu tensors", i, rc, err, st.n);
        if (i == 2)
            assert_string_equal(st.format, "pt");
        mg_arena_free(a);
    }
}

/* Sizes are believed only as far as the bytes hold them; a refused header costs no allocation. */
static void lying_headers_are_refused_cheaply(void **state)
{
    (void)state;
    uint8_t small[64] = {0};
    char err[256];
    mg_safetensors st;
    uint64_t need;
    mg_arena *a = mg_arena_new();
    /* a header length of 100 MB in a 64-byte file; and in a 64-byte prefix of a file of unknown size */
    uint64_t n = 100000000;
    for (int i = 0; i < 8; i++)
        small[i] = (uint8_t)(n >> (8 * i));
    memcpy(small + 8, "{}", 2);
    mg_fail_alloc_at(0);
    assert_int_equal(mg_safetensors_parse(small, sizeof small, sizeof small, a, &st, &need, err, sizeof err), MG_E_FORMAT);
    assert_int_equal(mg_safetensors_parse(small, sizeof small, 0, a, &st, &need, err, sizeof err), MG_E_TRUNCATED);
    assert_int_equal(need, 8 + n);
    assert_int_equal(mg_alloc_count(), 0);
    /* a million dimensions, a million offsets, a million-deep unknown field: refused in the first pass, nothing allocated */
    size_t big = 4000000;
    char *h = malloc(big);
    assert_non_null(h);
    const char *forms[] = {"{\"a\":{\"dtype\":\"U8\",\"shape\":[", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[",
                           "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":"};
    for (size_t f = 0; f < 3; f++) {
        size_t k = strlen(forms[f]);
        memcpy(h, forms[f], k);
        while (k < big - 8) {
            h[k++] = f == 2 ? '[' : '1';
            h[k++] = f == 2 ? '[' : ',';
        }
        h[k - 1] = '1';
        memcpy(h + k, "]}}", 4);
        size_t len;
        uint8_t *b = st_file(h, strlen(h), 0, &len);
        mg_fail_alloc_at(0);
        double t0 = mg_now();
        assert_int_equal(mg_safetensors_parse(b, len, len, a, &st, &need, err, sizeof err), MG_E_FORMAT);
        assert_true(mg_now() - t0 < 1.0);   /* it stops where the entry stops being possible */
        assert_int_equal(mg_alloc_count(), 0);
        assert_non_null(strstr(err, f == 2 ? "nested too deep" : "missing or invalid"));
        free(b);
    }
    free(h);
    mg_arena_free(a);
}

/* A header of n tensors named like a real checkpoint's, in data order. */
static char *dense_header(size_t target, size_t *count, uint64_t *data)
{
    char *h = malloc(target + 256);
    assert_non_null(h);
    size_t k = 0, i = 0;
    h[k++] = '{';
    while (k < target - 128) {
        k += (size_t)sprintf(h + k, "%s\"model.layers.%zu.mlp.down_proj.weight\":{\"dtype\":\"F16\",\"shape\":[2,2],"
                             "\"data_offsets\":[%zu,%zu]}", i ? "," : "", i, 8 * i, 8 * i + 8);
        i++;
    }
    h[k++] = '}';
    h[k] = 0;
    *count = i;
    *data = 8 * i;
    return h;
}

static void tensors_allocated_once(void **state)
{
    (void)state;
    size_t count;
    uint64_t data;
    char *h = dense_header(1u << 20, &count, &data);
    size_t len;
    uint8_t *b = st_file(h, strlen(h), data, &len);
    free(h);
    mg_arena *a = mg_arena_new();
    mg_safetensors st;
    char err[256];
    uint64_t need;
    mg_fail_alloc_at(0);
    assert_int_equal(mg_safetensors_parse(b, len, len, a, &st, &need, err, sizeof err), MG_OK);
    assert_int_equal(st.n, count);
    /* the tensors' array, their names, the table that finds a name given twice: three allocations */
    assert_true(mg_alloc_count() <= 3);
    mg_arena_free(a);
    free(b);
}

/* A "Field:" of /proc/self/status in kB: VmHWM, the peak since the last reset (Linux: clear_refs 5), or VmRSS. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n))
            v = strtol(line + n, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

enum { BIG_ARRAY, BIG_STRING, BIG_DENSE };

/*
 * In a child: a header of `mb` MB of one kind, in memory or in a file (then read through
 * mg_model_open: the mapping's pages count); how much resident memory reading it added, in kB,
 * and the seconds it took, through a pipe. -1 where /proc cannot say.
 */
static long measure(int kind, size_t mb, int from_file, double *secs, size_t *tensors)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        size_t target = mb * 1000000, hn, count = 1;
        uint64_t data = 4;
        char *h;
        if (kind == BIG_DENSE) {
            h = dense_header(target, &count, &data);
        } else {
            h = malloc(target + 1);
            const char *pre = kind == BIG_ARRAY ? "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4],\"x\":["
                                                : "{\"__metadata__\":{\"format\":\"pt\",\"blob\":\"";
            const char *post = kind == BIG_ARRAY ? "0]}}"
                                                 : "\"},\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
            size_t k = strlen(pre);
            memcpy(h, pre, k);
            const char *unit = kind == BIG_ARRAY ? "1234567890123456," : "0123456789abcdef.";
            while (k + strlen(post) + 17 <= target) {
                memcpy(h + k, unit, 17);
                k += 17;
            }
            strcpy(h + k, post);
        }
        hn = strlen(h);
        size_t len;
        uint8_t *b = st_file(h, hn, data, &len);
        free(h);
        char path[] = "/tmp/mlgate-st-big-XXXXXX";
        if (from_file) {
            int f = mkstemp(path);
            if (f < 0 || write(f, b, len) != (ssize_t)len || close(f))
                _exit(3);
            free(b);
        }
        long r[3] = {-1, 0, 0};
        double s[1];
        if (reset_peak() == 0) {
            long before = status_kb("VmRSS:");
            double t0 = mg_now();
            int rc;
            size_t n = 0;
            if (from_file) {
                mg_model *m = mg_model_open(path);
                rc = m && !mg_model_error(m) ? MG_OK : MG_E_FORMAT;
                n = m && m->st && m->st->nshards ? m->st->shards[0].st.n : 0;
                s[0] = mg_now() - t0;
                r[0] = status_kb("VmHWM:") - before;
                mg_model_free(m);
            } else {
                mg_arena *a = mg_arena_new();
                mg_safetensors st;
                char err[256];
                uint64_t need;
                rc = mg_safetensors_parse(b, len, len, a, &st, &need, err, sizeof err);
                n = st.n;
                s[0] = mg_now() - t0;
                r[0] = status_kb("VmHWM:") - before;
                mg_arena_free(a);
            }
            r[1] = rc;
            r[2] = (long)n;
        }
        if (from_file)
            unlink(path);
        if (write(fd[1], r, sizeof r) != sizeof r || write(fd[1], s, sizeof s) != sizeof s)
            _exit(2);
        _exit(0);
    }
    close(fd[1]);
    long r[3] = {-1, 0, 0};
    double s[1] = {0};
    assert_int_equal(read(fd[0], r, sizeof r), (ssize_t)sizeof r);
    assert_int_equal(read(fd[0], s, sizeof s), (ssize_t)sizeof s);
    close(fd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(r[1], MG_OK);
    *secs = s[0];
    *tensors = (size_t)r[2];
    return r[0];
}

/*
 * The numbers: a 100 MB header took 4.0 GB as a tree. Headers the reference accepts, of
 * 100 MB: an unknown field holding 5.9 million numbers, one long __metadata__ string, in memory and
 * from a file, stay under 64 MB; one of real-looking tensors costs what those tensors are
 * (mg_st_tensor and its name), under twice the header, and the few MiB of a file's mapping that are
 * resident at a time (bench/st-header.py: 100 MB of them).
 */
static void huge_headers_in_bounded_memory(void **state)
{
    (void)state;
    static const struct { int kind; size_t mb; int file; long max_kb; const char *what; } cases[] = {
        {BIG_ARRAY, 100, 0, 64 << 10, "100 MB header, an unknown field of 5.9 M numbers, in memory"},
        {BIG_ARRAY, 100, 1, 64 << 10, "the same from a file (its pages given back as they are read)"},
        {BIG_STRING, 100, 0, 64 << 10, "100 MB header, one __metadata__ string, in memory"},
        {BIG_STRING, 100, 1, 64 << 10, "the same from a file"},
        {BIG_DENSE, 10, 0, 2 * 10 * 1000, "10 MB header, 97 k tensors, in memory"},
        {BIG_DENSE, 20, 1, 2 * 20 * 1000 + (16 << 10), "20 MB header, 192 k tensors, from a file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double secs;
        size_t n;
        long kb = measure(cases[i].kind, cases[i].mb, cases[i].file, &secs, &n);
        if (kb < 0) {
            print_message("no /proc/self/clear_refs: memory not measured\n");
            return;
        }
        print_message("%-62s %7.1f MB peak above the start, %.2f s, %zu tensors\n", cases[i].what, (double)kb / 1024,
                      secs, n);
        assert_true(kb < cases[i].max_kb);
    }
}

/* Every allocation failing in turn: an error or the result, never a crash or (under ASan) a leak. */
static void every_allocation_fails_in_turn(void **state)
{
    (void)state;
    const char *h =
        "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t len;
    uint8_t *b = st_file(h, strlen(h), 16, &len);
    int ok = 0;
    for (long n = 1; n < 1000 && !ok; n++) {
        mg_fail_alloc_at(n);
        mg_arena *a = mg_arena_new();
        if (!a)
            continue;
        mg_safetensors st;
        char err[256];
        uint64_t need;
        int rc = mg_safetensors_parse(b, len, len, a, &st, &need, err, sizeof err);
        assert_true(rc == MG_OK || rc == MG_E_NOMEM);
        if (rc == MG_E_NOMEM)
            assert_string_equal(err, "out of memory");
        ok = rc == MG_OK;
        if (ok)
            assert_int_equal(st.n, 2);
        mg_arena_free(a);
    }
    mg_fail_alloc_at(0);
    assert_true(ok);
    free(b);
}

/* A file of text at dir/name. */
static void write_text(const char *dir, const char *name, const char *text, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A one-tensor shard, dir/name, of n F32 elements. */
static void write_shard(const char *dir, const char *name, const char *tensor, unsigned n)
{
    char h[256];
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[%u],\"data_offsets\":[0,%u]}}", tensor, n, 4 * n);
    size_t len;
    uint8_t *b = st_file(h, strlen(h), 4 * n, &len);
    write_text(dir, name, (const char *)b, len);
    free(b);
}

/* config.json and the index, read without a tree: what a lookup of each key found before (the first
 * of a name), unknown keys skipped, integers only when they are integers, nothing from a text that is
 * not JSON. */
static void config_and_index(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlgate-st-model-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_shard(dir, "a.safetensors", "x", 4);
    write_shard(dir, "b.safetensors", "y", 2);
    write_shard(dir, "model.safetensors", "single", 1);
    const char cfg[] = "\xEF\xBB\xBF{\"architectures\":[\"Llava\\u0046orX\",\"B\"],\"hidden_size\":1,"
                       "\"text_config\":{\"hidden_size\":5120,\"hidden_size\":7,\"num_hidden_layers\":40,\"head_dim\":128.0,"
                       "\"vocab_size\":1000000000000000,\"x\":{\"hidden_size\":3}},\"model_type\":\"llava\","
                       "\"model_type\":\"other\",\"torch_dtype\":null,\"dtype\":\"bfloat16\","
                       "\"quantization_config\":{\"bits\":[4],\"quant_method\":\"awq\"},\"unknown\":[[{}],\"\"]}";
    write_text(dir, "config.json", cfg, sizeof cfg - 1);
    const char idx[] = "{\"metadata\":{\"total_size\":24,\"x\":[1]},\"weight_map\":{\"x\":\"a.safetensors\","
                       "\"y\":\"b.safetensors\",\"z\":\"a.safetensors\",\"up\":\"../a.safetensors\",\"n\":7},"
                       "\"weight_map\":{\"q\":\"model.safetensors\"}}";
    write_text(dir, "model.safetensors.index.json", idx, sizeof idx - 1);
    mg_st_model *m = mg_st_model_open(dir);
    assert_non_null(m);
    assert_true(m->has_config);
    assert_string_equal(m->architecture, "LlavaForX");
    assert_string_equal(m->model_type, "llava");
    assert_string_equal(m->torch_dtype, "bfloat16");   /* torch_dtype is not a string: dtype */
    assert_string_equal(m->quant_method, "awq");
    assert_int_equal(m->hidden_size, 5120);             /* text_config's, its first */
    assert_int_equal(m->layers, 40);
    assert_int_equal(m->head_dim, 0);                   /* 128.0 is not an integer */
    assert_int_equal(m->vocab, 0);                      /* 10^15: not a sane size */
    assert_int_equal(m->index_total_size, 24);
    assert_int_equal(m->nshards, 2);
    assert_non_null(strstr(m->shards[0].path, "/a.safetensors"));
    assert_non_null(strstr(m->shards[1].path, "/b.safetensors"));
    assert_int_equal(m->shards[0].err, MG_OK);
    mg_st_model_free(m);
    /* an index or a config that is not JSON counts as absent */
    write_text(dir, "model.safetensors.index.json", idx, sizeof idx - 2);
    write_text(dir, "config.json", cfg, sizeof cfg - 2);
    m = mg_st_model_open(dir);
    assert_false(m->has_config);
    assert_int_equal(m->nshards, 1);
    assert_non_null(strstr(m->shards[0].path, "/model.safetensors"));
    assert_int_equal(m->index_total_size, 0);
    mg_st_model_free(m);
    /* and every allocation of an open failing in turn */
    write_text(dir, "model.safetensors.index.json", idx, sizeof idx - 1);
    write_text(dir, "config.json", cfg, sizeof cfg - 1);
    mg_fail_alloc_at(0);
    mg_model *whole = mg_model_open(dir);
    long total = mg_alloc_count();
    assert_non_null(whole);
    assert_null(mg_model_error(whole));
    mg_model_free(whole);
    for (long n = 1; n <= total + 1; n++) {
        mg_fail_alloc_at(n);
        mg_model *x = mg_model_open(dir);
        mg_fail_alloc_at(0);
        if (n > total)
            assert_true(x && !mg_model_error(x));
        mg_model_free(x);
    }
    const char *names[] = {"a.safetensors", "b.safetensors", "model.safetensors", "config.json",
                           "model.safetensors.index.json"};
    for (size_t i = 0; i < 5; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_header), cmocka_unit_test(refuses_what_the_reference_refuses),
        cmocka_unit_test(accepts_what_the_reference_accepts), cmocka_unit_test(lying_headers_are_refused_cheaply),
        cmocka_unit_test(tensors_allocated_once), cmocka_unit_test(huge_headers_in_bounded_memory),
        cmocka_unit_test(every_allocation_fails_in_turn), cmocka_unit_test(config_and_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

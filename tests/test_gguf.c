/* test_gguf.c - the GGUF reader: a file built here byte by byte, the type table, and hostile headers. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "models/formats.h"
#include "gguf_writer.h"
#include "mlgate/mlgate.h"

/* A growing byte buffer with little-endian writers. */

/* GGUF v3: 2 tensors (a Q4_K 512x4 and an F32 512), arch llama, a string array, a u32. */
static buf good(void)
{
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 2);   /* tensors */
    u64(&b, 4);   /* kv */
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "llama");
    str(&b, "llama.context_length"); u32(&b, MG_GGUF_U32); u32(&b, 8192);
    str(&b, "tokenizer.ggml.tokens"); u32(&b, MG_GGUF_ARRAY); u32(&b, MG_GGUF_STRING); u64(&b, 3);
    str(&b, "a"); str(&b, "bb"); str(&b, "ccc");
    str(&b, "general.alignment"); u32(&b, MG_GGUF_U32); u32(&b, 32);
    str(&b, "blk.0.w"); u32(&b, 2); u64(&b, 512); u64(&b, 4); u32(&b, 12); u64(&b, 0);
    str(&b, "blk.0.n"); u32(&b, 1); u64(&b, 512); u32(&b, 0); u64(&b, 1152);   /* 512/256*144*4 = 1152 */
    while (b.n % 32)
        put(&b, "", 1);
    size_t data = 1152 + 2048;
    uint8_t *z = calloc(1, data);
    put(&b, z, data);
    free(z);
    return b;
}

static int parse(const buf *b, mg_gguf *g, mg_arena *a)
{
    char err[256];
    uint64_t need;
    return mg_gguf_parse(b->p, b->n, a, g, &need, err, sizeof err);
}

static void reads_a_good_file(void **state)
{
    (void)state;
    buf b = good();
    mg_arena *a = mg_arena_new();
    mg_gguf g;
    assert_int_equal(parse(&b, &g, a), MG_OK);
    assert_int_equal(g.version, 3);
    assert_int_equal(g.n_tensors, 2);
    assert_string_equal(mg_gguf_str(&g, "general.architecture"), "llama");
    assert_int_equal(mg_gguf_u64(&g, "llama.context_length", 0), 8192);
    assert_int_equal(mg_gguf_find(&g, "tokenizer.ggml.tokens")->arr_count, 3);
    assert_string_equal(mg_gguf_find(&g, "tokenizer.ggml.tokens")->str, "a");
    assert_int_equal(g.tensors[0].nbytes, 1152);
    assert_int_equal(g.tensors[1].nbytes, 2048);
    assert_int_equal(g.params, 512 * 4 + 512);
    assert_int_equal(g.bytes_by_type[12], 1152);
    assert_int_equal(g.data_bytes, 1152 + 2048);
    assert_int_equal(g.header_bytes % 32, 0);
    assert_int_equal(g.nissues, 0);
    mg_arena_free(a);
    free(b.p);
}

static void type_table(void **state)
{
    (void)state;
    struct { uint32_t id; const char *name; double bpw; } t[] = {
        {0, "F32", 32}, {1, "F16", 16}, {2, "Q4_0", 4.5}, {8, "Q8_0", 8.5}, {10, "Q2_K", 2.625},
        {12, "Q4_K", 4.5}, {14, "Q6_K", 6.5625}, {19, "IQ1_S", 1.5625}, {23, "IQ4_XS", 4.25}, {30, "BF16", 16},
        {39, "MXFP4", 4.25}, {40, "NVFP4", 4.5}, {41, "Q1_0", 1.125}, {42, "Q2_0", 2.25},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const mg_ggml_type *ty = mg_ggml_type_get(t[i].id);
        assert_non_null(ty);
        assert_string_equal(ty->name, t[i].name);
        assert_true(ty->bytes * 8.0 / ty->blck == t[i].bpw);
    }
    assert_null(mg_ggml_type_get(4));    /* removed */
    assert_null(mg_ggml_type_get(31));   /* removed from gguf files */
    assert_null(mg_ggml_type_get(43));   /* past the table */
}

static void truncated_everywhere(void **state)
{
    (void)state;
    buf b = good();
    for (size_t cut = 0; cut < b.n; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, b.p, cut);
        mg_arena *a = mg_arena_new();
        mg_gguf g;
        char err[256];
        uint64_t need = 0;
        int rc = mg_gguf_parse(c, cut, a, &g, &need, err, sizeof err);
        /* Before the data section: truncated, saying how much it needs. After: parsed. */
        if (rc == MG_E_TRUNCATED)
            assert_true(need > cut);
        else
            assert_int_equal(rc, cut < 8 ? MG_E_TRUNCATED : MG_OK);
        mg_arena_free(a);
        free(c);
    }
    free(b.p);
}

static int with_patch(const char *what, size_t at, const void *bytes, size_t n)
{
    buf b = good();
    memcpy(b.p + at, bytes, n);
    mg_arena *a = mg_arena_new();
    mg_gguf g;
    char err[256];
    uint64_t need;
    int rc = mg_gguf_parse(b.p, b.n, a, &g, &need, err, sizeof err);
    (void)what;
    mg_arena_free(a);
    free(b.p);
    return rc;
}

static void hostile_headers(void **state)
{
    (void)state;
    uint8_t big[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};   /* 2^63 */
    assert_int_equal(with_patch("tensor count 2^63", 8, big, 8), MG_E_LIMIT);
    assert_int_equal(with_patch("kv count 2^63", 16, big, 8), MG_E_LIMIT);
    /* The first key's length: 2^63 -> runs past the end. */
    assert_int_equal(with_patch("string past EOF", 24, big, 8), MG_E_TRUNCATED);
    uint8_t ver[4] = {0, 0, 0, 3};   /* big-endian version 3 */
    assert_int_equal(with_patch("big endian", 4, ver, 4), MG_E_UNSUPPORTED);
    uint8_t v9[4] = {9, 0, 0, 0};
    assert_int_equal(with_patch("version 9", 4, v9, 4), MG_E_UNSUPPORTED);
    assert_int_equal(with_patch("bad magic", 0, "GGUG", 4), MG_E_FORMAT);
    /* The value type of the first key (offset 24 + 8 + 20 = 52): 99. */
    uint8_t t99[4] = {99, 0, 0, 0};
    assert_int_equal(with_patch("unknown value type", 52, t99, 4), MG_E_FORMAT);
}

static void huge_arrays_and_nesting(void **state)
{
    (void)state;
    /* An array of 2^62 u64 in a tiny file: truncated, nothing allocated. */
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 0);
    u64(&b, 1);
    str(&b, "x");
    u32(&b, MG_GGUF_ARRAY);
    u32(&b, MG_GGUF_U64);
    u64(&b, 1ull << 62);
    mg_arena *a = mg_arena_new();
    mg_gguf g;
    assert_int_equal(parse(&b, &g, a), MG_E_TRUNCATED);
    free(b.p);
    /* Arrays nested 5 deep: refused; 2 deep: read, with llama.cpp's objection noted. */
    for (int depth = 2; depth <= 5; depth += 3) {
        buf c = {0};
        put(&c, "GGUF", 4);
        u32(&c, 3);
        u64(&c, 0);
        u64(&c, 1);
        str(&c, "nest");
        u32(&c, MG_GGUF_ARRAY);
        for (int d = 1; d < depth; d++) {
            u32(&c, MG_GGUF_ARRAY);
            u64(&c, 1);
        }
        u32(&c, MG_GGUF_U8);
        u64(&c, 1);
        put(&c, "\x07", 1);
        int rc = parse(&c, &g, a);
        if (depth == 2) {
            assert_int_equal(rc, MG_OK);
            assert_true(g.nissues == 1 && strstr(g.issues[0], "nested"));
        } else {
            assert_int_equal(rc, MG_E_LIMIT);
        }
        free(c.p);
    }
    mg_arena_free(a);
}

/* Findings of the hostile-input review: each failed before its fix. */
static void hostile_review(void **state)
{
    (void)state;
    mg_arena *a = mg_arena_new();
    mg_gguf g;
    char err[256];
    uint64_t need;
    /* A minimal GGUF v1 header: one pair with an empty key and a u8 value is 9 bytes (4 + 0 + 4 + 1). */
    buf v1 = {0};
    put(&v1, "GGUF", 4);
    u32(&v1, 1);
    u32(&v1, 0);   /* tensors (v1: 32-bit counts) */
    u32(&v1, 1);   /* kv */
    u32(&v1, 0);   /* empty key */
    u32(&v1, MG_GGUF_U8);
    put(&v1, "\x05", 1);
    assert_int_equal(parse(&v1, &g, a), MG_OK);
    assert_int_equal(g.n_kv, 1);
    assert_int_equal(g.kv[0].v.u, 5);
    free(v1.p);
    /* pos + n x size wrapped: an array of 2^61 - 1 u64 said "needs at least 48 bytes". */
    buf w = {0};
    put(&w, "GGUF", 4);
    u32(&w, 3);
    u64(&w, 0);
    u64(&w, 1);
    str(&w, "x");
    u32(&w, MG_GGUF_ARRAY);
    u32(&w, MG_GGUF_U64);
    u64(&w, (1ull << 61) - 1);
    assert_int_equal(mg_gguf_parse(w.p, w.n, a, &g, &need, err, sizeof err), MG_E_TRUNCATED);
    assert_true(need == UINT64_MAX);   /* 49 + (2^61 - 1) x 8 does not fit: "more than can be counted" */
    free(w.p);
    /* A declared count is believed only as far as the bytes hold it: 2^19 tensors over 16 MiB of
       zeros (a sparse file) is refused at the first tensor, with next to nothing allocated. */
    size_t n = 24 + (1u << 19) * 32;
    uint8_t *z = calloc(1, n);
    memcpy(z, "GGUF\x03\0\0\0", 8);
    uint64_t declared = 1u << 19;
    memcpy(z + 8, &declared, 8);
    mg_arena *b = mg_arena_new();
    mg_fail_alloc_at(0);
    assert_int_equal(mg_gguf_parse(z, n, b, &g, &need, err, sizeof err), MG_E_FORMAT);
    assert_true(mg_alloc_bytes() < (1u << 20));
    assert_true(strstr(err, "0 dimensions") != NULL);
    assert_int_equal(g.n_tensors, 0);   /* nothing half-read is kept */
    mg_arena_free(b);
    /* The remote case: the first 4 KiB of a file said to be 1 GiB, declaring 2^19 tensors of zeros:
       the entries at hand decide (a format error), not the declared count (a 16 MiB fetch). */
    assert_int_equal(mg_gguf_parse_part(z, 4096, 1ull << 30, a, &g, &need, err, sizeof err), MG_E_FORMAT);
    /* ... and a file too small for what it declares is cut short without reading on. */
    assert_int_equal(mg_gguf_parse_part(z, 4096, 8192, a, &g, &need, err, sizeof err), MG_E_TRUNCATED);
    assert_true(need > 8192);
    free(z);
    /* The caps: more keys or tensors than any real model. */
    buf c = {0};
    put(&c, "GGUF", 4);
    u32(&c, 3);
    u64(&c, (1u << 19) + 1);
    u64(&c, 0);
    assert_int_equal(parse(&c, &g, a), MG_E_LIMIT);
    free(c.p);
    mg_arena_free(a);
}

/* Allocation failure at each allocation of a parse: an error every time, nothing leaked (ASan). */
static void allocation_failures(void **state)
{
    (void)state;
    buf b = {0};   /* big enough for several arena chunks: 300 keys, 300 tensors, with long names */
    char name[200];
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 300);
    u64(&b, 301);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "llama");
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "key.%03d.%0150d", i, 0);
        str(&b, name); u32(&b, MG_GGUF_ARRAY); u32(&b, MG_GGUF_U32); u64(&b, 2); u32(&b, 1); u32(&b, 2);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "blk.%03d.%0100d", i, 0);
        str(&b, name); u32(&b, 1); u64(&b, 32); u32(&b, 0); u64(&b, (uint64_t)i * 128);
    }
    while (b.n % 32)
        put(&b, "", 1);
    uint8_t *zeros = calloc(1, 300 * 128);
    put(&b, zeros, 300 * 128);
    free(zeros);
    mg_gguf g;
    char err[256];
    uint64_t need;
    mg_fail_alloc_at(0);
    mg_arena *a = mg_arena_new();
    assert_int_equal(mg_gguf_parse(b.p, b.n, a, &g, &need, err, sizeof err), MG_OK);
    mg_arena_free(a);
    long total = mg_alloc_count();
    assert_true(total > 4);
    for (long k = 1; k <= total; k++) {
        mg_fail_alloc_at(k);
        a = mg_arena_new();
        int rc = a ? mg_gguf_parse(b.p, b.n, a, &g, &need, err, sizeof err) : MG_E_NOMEM;
        mg_fail_alloc_at(0);
        assert_int_equal(rc, MG_E_NOMEM);
        mg_arena_free(a);
    }
    free(b.p);
}

/* A file whose second tensor is not where llama.cpp expects it, and one with an unknown type. */
static void llama_cpp_objections(void **state)
{
    (void)state;
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 2);
    u64(&b, 0);
    str(&b, "a"); u32(&b, 1); u64(&b, 32); u32(&b, 0); u64(&b, 0);
    str(&b, "b"); u32(&b, 1); u64(&b, 32); u32(&b, 77); u64(&b, 4096);
    mg_arena *a = mg_arena_new();
    mg_gguf g;
    assert_int_equal(parse(&b, &g, a), MG_OK);
    assert_int_equal(g.unknown_types, 1);
    int unknown = 0, offset = 0;
    for (size_t i = 0; i < g.nissues; i++) {
        unknown += strstr(g.issues[i], "unknown") != NULL;
        offset += strstr(g.issues[i], "offset 4096") != NULL;
    }
    assert_int_equal(unknown, 1);
    assert_int_equal(offset, 1);
    mg_arena_free(a);
    free(b.p);
}

static void engine_table(void **state)
{
    (void)state;
    assert_true(mg_llama_cpp_knows("llama"));
    assert_true(mg_llama_cpp_knows("gpt-oss"));
    assert_true(mg_llama_cpp_knows("nemotron_h"));
    assert_true(mg_llama_cpp_knows("deepseek32"));
    assert_false(mg_llama_cpp_knows("deepseek3_2"));   /* the error users hit */
    assert_false(mg_llama_cpp_knows("Llama"));         /* exact match, as llama.cpp compares */
    assert_false(mg_llama_cpp_knows("clip"));          /* projectors go through --mmproj */
    assert_false(mg_llama_cpp_knows(NULL));
    assert_string_equal(mg_llama_cpp_spelling("deepseek3_2"), "deepseek32");
    assert_string_equal(mg_llama_cpp_spelling("GPT_OSS"), "gpt-oss");
    assert_null(mg_llama_cpp_spelling("llama"));       /* already right */
    assert_null(mg_llama_cpp_spelling("qwen9omni"));   /* not known at all */
    assert_int_equal(mg_llama_cpp_count(), 157);
    /* first builds, as read from the packages (scripts/llama-builds.py) */
    assert_int_equal(mg_llama_cpp_oldest(), 5882);
    assert_int_equal(mg_llama_cpp_newest(), 11669);
    assert_int_equal(mg_llama_cpp_since("llama"), 5882);
    assert_int_equal(mg_llama_cpp_since("qwen3next"), 8681);
    assert_int_equal(mg_llama_cpp_since("gpt-oss"), 8681);
    assert_int_equal(mg_llama_cpp_since("deepseek32"), 10438);
    assert_int_equal(mg_llama_cpp_since("k2-horizon"), 11669);
    assert_int_equal(mg_llama_cpp_since("deepseek3_2"), 0);
    assert_int_equal(mg_llama_cpp_before(8681), 5882);
    assert_int_equal(mg_llama_cpp_before(5882), 0);
    assert_int_equal(mg_llama_cpp_before(1234), 0);
    assert_string_equal(mg_llama_cpp_release(10964), "0.4.1");
    assert_null(mg_llama_cpp_release(8681));
    assert_int_equal(mg_llama_cpp_type_since(12), 5882);   /* Q4_K */
    assert_int_equal(mg_llama_cpp_type_since(39), 8681);   /* MXFP4 */
    assert_int_equal(mg_llama_cpp_type_since(41), 10438);  /* Q1_0 */
    assert_int_equal(mg_llama_cpp_type_since(4), 0);       /* removed Q4_2 */
    assert_int_equal(mg_llama_cpp_type_since(999), 0);
}

/* A tensor whose size saturates (2^62 F32 elements: 2^64 bytes) makes the file truncated: the header's
 * size plus that saturates too, where the sum wrapped to a few bytes and the file was accepted. */
static void saturated_tensor_is_truncated(void **state)
{
    (void)state;
    char dir[] = "/tmp/mg-sat-XXXXXX", p[64];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/m.gguf", dir);
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 1);
    u64(&b, 1);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "llama");
    str(&b, "huge"); u32(&b, 1); u64(&b, 1ull << 62); u32(&b, 0); u64(&b, 0);
    while (b.n % 32)
        put(&b, "", 1);
    put(&b, "0123456789abcdef", 16);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
    fclose(f);
    free(b.p);
    mg_gguf_model *m = mg_gguf_model_open(p);
    assert_non_null(m);
    assert_int_equal(m->shards[0].err, MG_E_TRUNCATED);
    mg_gguf_model_free(m);
    unlink(p);
    rmdir(dir);
}

/* Writes a one-tensor-per-type GGUF to path: arch, then (type, elements) pairs ended by n = 0. */
static void write_model(const char *path, const char *arch, const uint32_t *type, const uint64_t *n)
{
    buf b = {0};
    size_t nt = 0;
    while (n[nt])
        nt++;
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, nt);
    u64(&b, 1);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, arch);
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        const mg_ggml_type *ty = mg_ggml_type_get(type[i]);
        char name[32];
        snprintf(name, sizeof name, "t%zu", i);
        str(&b, name); u32(&b, 1); u64(&b, n[i]); u32(&b, type[i]); u64(&b, off);
        off += (n[i] / ty->blck * ty->bytes + 31) / 32 * 32;
    }
    while (b.n % 32)
        put(&b, "", 1);
    uint8_t *z = calloc(1, off + 1);
    put(&b, z, off);
    free(z);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
    fclose(f);
    free(b.p);
}

static mg_llama_need need_of(const char *path)
{
    mg_llama_need need;
    mg_gguf_model *m = mg_gguf_model_open(path);
    assert_non_null(m);
    mg_llama_cpp_need(m, &need);
    mg_gguf_model_free(m);
    return need;
}

/* The build that loads a model: its architecture's or its newest tensor type's, over all shards. */
static void llama_cpp_build_for_a_model(void **state)
{
    (void)state;
    char dir[] = "/tmp/mg-need-XXXXXX", p[64], p2[64];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/m.gguf", dir);

    write_model(p, "llama", (const uint32_t[]){0, 1}, (const uint64_t[]){64, 64, 0});
    mg_llama_need nd = need_of(p);
    assert_int_equal(nd.build, 5882);
    assert_int_equal(nd.before, 0);
    assert_false(nd.by_type);

    write_model(p, "llama", (const uint32_t[]){0, 39}, (const uint64_t[]){64, 64, 0});   /* MXFP4 */
    nd = need_of(p);
    assert_int_equal(nd.build, 8681);
    assert_int_equal(nd.before, 5882);
    assert_true(nd.by_type);
    assert_int_equal(nd.type, 39);

    write_model(p, "deepseek32", (const uint32_t[]){39}, (const uint64_t[]){64, 0});  /* the architecture is newer */
    nd = need_of(p);
    assert_int_equal(nd.build, 10438);
    assert_int_equal(nd.before, 8681);
    assert_false(nd.by_type);

    write_model(p, "deepseek3_2", (const uint32_t[]){0}, (const uint64_t[]){64, 0});
    assert_int_equal(need_of(p).build, 0);
    unlink(p);

    /* split: the Q1_0 tensor is in the second shard */
    snprintf(p, sizeof p, "%s/m-00001-of-00002.gguf", dir);
    snprintf(p2, sizeof p2, "%s/m-00002-of-00002.gguf", dir);
    write_model(p, "qwen3next", (const uint32_t[]){0}, (const uint64_t[]){64, 0});
    write_model(p2, "qwen3next", (const uint32_t[]){41}, (const uint64_t[]){128, 0});
    nd = need_of(p);
    assert_int_equal(nd.build, 10438);
    assert_true(nd.by_type);
    assert_int_equal(nd.type, 41);
    unlink(p);
    unlink(p2);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_good_file), cmocka_unit_test(type_table), cmocka_unit_test(truncated_everywhere),
        cmocka_unit_test(hostile_headers),   cmocka_unit_test(huge_arrays_and_nesting),
        cmocka_unit_test(llama_cpp_objections), cmocka_unit_test(engine_table),
        cmocka_unit_test(llama_cpp_build_for_a_model), cmocka_unit_test(hostile_review),
        cmocka_unit_test(allocation_failures), cmocka_unit_test(saturated_tensor_is_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

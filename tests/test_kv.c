/* test_kv.c - KV cache sizes for the worked examples of ../shared/reference models.md §2.2, from GGUF metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "models/formats.h"
#include "gguf_writer.h"
#include "mlgate/mlgate.h"


/* The KV rules' reading of a GGUF written into b (freed here): the result code, the model in *m when MG_OK. */
static int kv_of(buf *b, mg_kv_model *m)
{
    mg_arena *a = mg_arena_new();
    mg_gguf g;
    char err[128];
    uint64_t need;
    assert_int_equal(mg_gguf_parse(b->p, b->n, a, &g, &need, err, sizeof err), MG_OK);
    int rc = mg_kv_from_gguf(&g, m);
    mg_arena_free(a);
    free(b->p);
    return rc;
}

/* A metadata-only GGUF: arch, then "key=value" pairs (key without the arch prefix), u32 or (wide) u64. */
static buf metadata(const char *arch, const char *const *keys, const uint64_t *vals, size_t n, int wide)
{
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 0);
    u64(&b, n + 1);
    str(&b, "general.architecture");
    u32(&b, MG_GGUF_STRING);
    str(&b, arch);
    for (size_t i = 0; i < n; i++) {
        char k[128];
        snprintf(k, sizeof k, "%s.%s", arch, keys[i]);
        str(&b, k);
        u32(&b, wide ? MG_GGUF_U64 : MG_GGUF_U32);
        if (wide)
            u64(&b, vals[i]);
        else
            u32(&b, (uint32_t)vals[i]);
    }
    return b;
}

static mg_kv_model model(const char *arch, const char *const *keys, const uint32_t *vals, size_t n)
{
    uint64_t v[32];
    assert_true(n <= 32);
    for (size_t i = 0; i < n; i++)
        v[i] = vals[i];
    buf b = metadata(arch, keys, v, n, 0);
    mg_kv_model m;
    assert_int_equal(kv_of(&b, &m), MG_OK);
    return m;
}

/* The same with u64 values; the parse's result code (the model in *m when MG_OK). */
static int model64(const char *arch, const char *const *keys, const uint64_t *vals, size_t n, mg_kv_model *m)
{
    buf b = metadata(arch, keys, vals, n, 1);
    return kv_of(&b, m);
}

static uint64_t kv(const mg_kv_model *m, uint64_t ctx, uint32_t type)
{
    mg_kv_opts o = {ctx, type, type, 1, 512, 0, 0};
    return mg_kv_bytes(m, &o);
}

#define KIB 1024ull
#define GIB (1024ull * 1024 * 1024)

static void llama_31(void **state)
{
    (void)state;
    const char *k[] = {"block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"};
    uint32_t v8[] = {32, 4096, 32, 8}, v70[] = {80, 8192, 64, 8};
    mg_kv_model m = model("llama", k, v8, 4);
    assert_int_equal(kv(&m, 1, 1), 128 * KIB);     /* per token */
    assert_int_equal(kv(&m, 8192, 1), 1 * GIB);
    assert_int_equal(kv(&m, 32768, 1), 4 * GIB);
    assert_int_equal(kv(&m, 131072, 1), 16 * GIB);
    assert_int_equal(kv(&m, 32768, 8), 4 * GIB * 34 / 64);   /* q8_0: 34 bytes per 32 */
    assert_int_equal(kv(&m, 32768, 2), 4 * GIB * 18 / 64);   /* q4_0: 18 bytes per 32 */
    m = model("llama", k, v70, 4);
    assert_int_equal(kv(&m, 1, 1), 320 * KIB);
    assert_int_equal(kv(&m, 131072, 1), 40 * GIB);
}

static void qwen25_7b(void **state)
{
    (void)state;
    const char *k[] = {"block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"};
    uint32_t v[] = {28, 3584, 28, 4};
    mg_kv_model m = model("qwen2", k, v, 4);
    assert_int_equal(kv(&m, 1, 1), 56 * KIB);
    assert_int_equal(kv(&m, 131072, 1), 7 * GIB);
}

static void gemma3_27b_swa(void **state)
{
    (void)state;
    const char *k[] = {"block_count", "embedding_length", "attention.head_count", "attention.head_count_kv",
                       "attention.key_length", "attention.value_length", "attention.sliding_window"};
    uint32_t v[] = {62, 5376, 32, 16, 128, 128, 1024};
    mg_kv_model m = model("gemma3", k, v, 7);
    int full = 0;
    for (uint32_t il = 0; il < m.n_layer; il++)
        full += !m.swa[il];
    assert_int_equal(full, 10);   /* 10 global layers, 52 sliding */
    /* 10 x 32768 x 8 KiB + 52 x 1536 x 8 KiB = 3.11 GiB (15.5 GiB if the window were ignored) */
    uint64_t b32 = kv(&m, 32768, 1), b128 = kv(&m, 131072, 1);
    assert_int_equal(b32, 10ull * 32768 * 8192 + 52ull * 1536 * 8192);
    assert_true(b32 > 3.0 * GIB && b32 < 3.2 * GIB);
    assert_true(b128 > 10.5 * GIB && b128 < 10.7 * GIB);
    mg_kv_opts full_swa = {32768, 1, 1, 1, 512, 1, 0};
    assert_int_equal(mg_kv_bytes(&m, &full_swa), 62ull * 32768 * 8192);   /* --swa-full */
    /* Four sequences. llama.cpp's default: a stream of 8192 cells per sequence, each window
     * pad(1024 + 512, 256) = 1536 cells; --kv-unified: one 32768-cell cache, one window of
     * pad(4 x 1024 + 512, 256) = 4608 cells (llama-kv-cache-iswa.cpp; the per-sequence form is what a CPU llama.cpp build reports in tests/llama/compare.py). */
    mg_kv_opts seqs = {32768, 1, 1, 4, 512, 0, 0};
    assert_int_equal(mg_kv_bytes(&m, &seqs), 10ull * 4 * 8192 * 8192 + 52ull * 4 * 1536 * 8192);
    seqs.unified = 1;
    assert_int_equal(mg_kv_bytes(&m, &seqs), 10ull * 32768 * 8192 + 52ull * 4608 * 8192);
}

static void deepseek_v3_mla(void **state)
{
    (void)state;
    const char *k[] = {"block_count", "embedding_length", "attention.head_count", "attention.head_count_kv",
                       "attention.key_length", "attention.value_length", "attention.key_length_mla",
                       "attention.value_length_mla"};
    uint32_t v[] = {61, 7168, 128, 1, 576, 512, 192, 128};
    mg_kv_model m = model("deepseek2", k, v, 8);
    assert_true(m.mla);
    assert_int_equal(kv(&m, 1, 1), 61 * 576 * 2);   /* 68.6 KiB: K only */
    uint64_t b = kv(&m, 131072, 1);
    assert_true(b > 8.5 * GIB && b < 8.7 * GIB);    /* not 16.2 (K+V) nor 610 GiB (naive MHA) */
}

/* BERT-family encoders get no KV cache (llama_model::create_memory): a reranker shaped like
 * bge-reranker-v2-m3 needs none at 8192 tokens (768 MiB if it were a decoder); a diffusion LM neither. */
static void encoders_have_no_cache(void **state)
{
    (void)state;
    const char *k[] = {"block_count", "embedding_length", "attention.head_count"};
    uint32_t v[] = {24, 1024, 16};
    mg_kv_model m = model("bert", k, v, 3);
    assert_true(m.no_cache && m.encoder);
    assert_int_equal(kv(&m, 8192, 1), 0);
    m = model("llada", k, v, 3);
    assert_true(m.no_cache && !m.encoder);   /* it has an LM head */
    assert_int_equal(kv(&m, 8192, 1), 0);
    m = model("llama", k, v, 3);
    assert_false(m.no_cache);
    assert_int_equal(kv(&m, 8192, 1), 24ull * 2 * 1024 * 8192 * 2);
}

static void mamba_recurrent(void **state)
{
    (void)state;
    const char *k[] = {"block_count", "embedding_length", "ssm.conv_kernel", "ssm.inner_size", "ssm.state_size"};
    uint32_t v[] = {64, 2560, 4, 5120, 16};
    mg_kv_model m = model("mamba", k, v, 5);
    uint64_t a = kv(&m, 4096, 1), b = kv(&m, 131072, 1);
    assert_int_equal(a, b);   /* independent of the context */
    assert_int_equal(a, 4ull * (3 * 5120 + 16 * 5120) * 64);
}

/* A hybrid (jamba-like): per-layer head_count_kv with zeros marks the recurrent layers. */
static void hybrid_per_layer(void **state)
{
    (void)state;
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 0);
    u64(&b, 7);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "jamba");
    str(&b, "jamba.block_count"); u32(&b, MG_GGUF_U32); u32(&b, 4);
    str(&b, "jamba.embedding_length"); u32(&b, MG_GGUF_U32); u32(&b, 1024);
    str(&b, "jamba.attention.head_count"); u32(&b, MG_GGUF_U32); u32(&b, 8);
    str(&b, "jamba.attention.head_count_kv"); u32(&b, MG_GGUF_ARRAY); u32(&b, MG_GGUF_U32); u64(&b, 4);
    u32(&b, 0); u32(&b, 2); u32(&b, 0); u32(&b, 0);
    str(&b, "jamba.ssm.inner_size"); u32(&b, MG_GGUF_U32); u32(&b, 2048);
    str(&b, "jamba.ssm.state_size"); u32(&b, MG_GGUF_U32); u32(&b, 16);
    mg_kv_model m;
    assert_int_equal(kv_of(&b, &m), MG_OK);
    assert_int_equal(m.n_head_kv[1], 2);
    assert_true(m.recurrent[0] && !m.recurrent[1] && m.recurrent[2] && m.recurrent[3]);
    /* One attention layer: 2 heads x (128 + 128) x 2 B per token; three layers of F32 state. */
    assert_int_equal(kv(&m, 1000, 1), 1000ull * 2 * 256 * 2 + 4ull * 16 * 2048 * 3);
}

/* Counts from a hostile GGUF are taken at their word: a u64 does not lose its high bits on the way into a
 * u32 field, and a product too large to count saturates (UINT64_MAX) instead of wrapping to something small. */
static void huge_metadata_does_not_wrap(void **state)
{
    (void)state;
    mg_kv_model m;
    /* 2^32 + 4 blocks is not a 4-block model */
    const char *kb[] = {"block_count", "embedding_length", "attention.head_count"};
    uint64_t vb[] = {(1ull << 32) + 4, 4096, 32};
    assert_int_equal(model64("llama", kb, vb, 3, &m), MG_E_FORMAT);
    /* 2^32 + 8 KV heads are not 8 */
    const char *kh[] = {"block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"};
    uint64_t vh[] = {4, 4096, 32, (1ull << 32) + 8};
    assert_int_equal(model64("llama", kh, vh, 4, &m), MG_OK);
    assert_int_equal(m.n_head_kv[0], UINT32_MAX);
    assert_true(kv(&m, 4096, 1) >= 4ull * 4096 * 2 * 128 * 2 * UINT32_MAX);
    /* a key length of 2^62 elements: head_k x heads x bytes is past 2^64 */
    const char *kk[] = {"block_count", "embedding_length", "attention.head_count", "attention.key_length"};
    uint64_t vk[] = {4, 4096, 8, 1ull << 62};
    assert_int_equal(model64("llama", kk, vk, 4, &m), MG_OK);
    assert_int_equal(kv(&m, 4096, 1), UINT64_MAX);
    /* recurrent state of 2^40 x 2^40 elements */
    const char *kr[] = {"block_count", "embedding_length", "ssm.conv_kernel", "ssm.inner_size", "ssm.state_size"};
    uint64_t vr[] = {4, 4096, 4, 1ull << 40, 1ull << 40};
    assert_int_equal(model64("mamba", kr, vr, 5, &m), MG_OK);
    assert_int_equal(kv(&m, 4096, 1), UINT64_MAX);
    /* a sliding window of 2^32 + 1 tokens is wider than any context, not 1 token wide */
    const char *ks[] = {"block_count", "embedding_length", "attention.head_count", "attention.head_count_kv",
                        "attention.sliding_window"};
    uint64_t vs[] = {6, 4096, 32, 8, (1ull << 32) + 1};
    assert_int_equal(model64("gemma3", ks, vs, 5, &m), MG_OK);
    mg_kv_opts full = {32768, 1, 1, 1, 512, 1, 0};   /* --swa-full: every layer holds the whole context */
    assert_int_equal(kv(&m, 32768, 1), mg_kv_bytes(&m, &full));
}

/* The widest window with the most sequences at the largest context: cells = streams x padded window
 * would pass 2^64. */
static void huge_context_and_sequences_saturate(void **state)
{
    (void)state;
    const char *k[] = {"block_count", "embedding_length", "attention.head_count", "attention.head_count_kv",
                       "attention.sliding_window"};
    uint32_t v[] = {6, 4096, 32, 8, UINT32_MAX};
    mg_kv_model m = model("gemma3", k, v, 5);
    mg_kv_opts o = {UINT64_MAX, 1, 1, UINT32_MAX, 512, 0, 0};
    assert_true(m.swa[0] && m.n_swa == UINT32_MAX);
    assert_int_equal(mg_kv_layer_bytes(&m, &o, 0), UINT64_MAX);
    assert_int_equal(mg_kv_bytes(&m, &o), UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama_31), cmocka_unit_test(qwen25_7b), cmocka_unit_test(gemma3_27b_swa),
        cmocka_unit_test(deepseek_v3_mla), cmocka_unit_test(encoders_have_no_cache), cmocka_unit_test(mamba_recurrent), cmocka_unit_test(hybrid_per_layer),
        cmocka_unit_test(huge_metadata_does_not_wrap), cmocka_unit_test(huge_context_and_sequences_saturate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

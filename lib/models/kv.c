/*
 * kv.c - the memory llama.cpp's KV cache (and recurrent state) takes, with its
 * real rules: grouped-query attention, per-layer head counts, MLA (K only),
 * sliding-window layers (iSWA), shared-KV layers, recurrent/SSM and hybrid
 * models. Formulas: llama-kv-cache.cpp, llama-kv-cache-iswa.cpp, llama-hparams.cpp
 * (../shared/reference models.md §2.2).
 */
#include <stdio.h>
#include <string.h>

#include "core/arith.h"
#include "mlgate/models.h"

/* Bytes of n elements of a cache type (ggml_row_size). */
static uint64_t row_size(uint32_t type, uint64_t n)
{
    const mg_ggml_type *t = mg_ggml_type_get(type);
    if (!t)
        t = mg_ggml_type_get(1);   /* f16 */
    return mg_sat_mul(n / t->blck, t->bytes);
}

/* A count from the file in a u32 field: the file's word, clamped (never its low 32 bits alone). */
static uint32_t u32_of(uint64_t v) { return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

static uint64_t key_u64(const mg_gguf *g, const char *arch, const char *key, uint64_t def)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return mg_gguf_u64(g, k, def);
}

static const mg_gguf_kv *key_kv(const mg_gguf *g, const char *arch, const char *key)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return mg_gguf_find(g, k);
}

/* Default iSWA patterns llama.cpp hard-codes per architecture when the file does not say. */
static uint32_t default_swa_pattern(const char *arch)
{
    static const struct { const char *arch; uint32_t pattern; } t[] = {
        {"gemma2", 2}, {"gemma3", 6}, {"gemma3n", 5}, {"cohere2", 4}, {"gpt-oss", 2}, {"llama4", 4},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(t[i].arch, arch))
            return t[i].pattern;
    return 0;
}

/* Architectures for which llama.cpp creates no memory (llama_model::create_memory returns nullptr):
 * non-causal encoders, whose output is pooled embeddings or a rerank score (no LM head), and
 * diffusion LMs (which have one). */
static const struct { const char *arch; int encoder; } no_cache_archs[] = {
    {"bert", 1}, {"jina-bert-v2", 1}, {"jina-bert-v3", 1}, {"nomic-bert", 1}, {"nomic-bert-moe", 1},
    {"neo-bert", 1}, {"eurobert", 1}, {"modern-bert", 1}, {"gemma-embedding", 1}, {"wavtokenizer-dec", 1},
    {"dream", 0}, {"llada", 0}, {"llada-moe", 0}, {"rnd1", 0},
};

int mg_kv_from_gguf(const mg_gguf *g, mg_kv_model *m)
{
    memset(m, 0, sizeof *m);
    const char *arch = mg_gguf_str(g, "general.architecture");
    if (!arch)
        return MG_E_FORMAT;
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    for (size_t i = 0; i < sizeof no_cache_archs / sizeof no_cache_archs[0]; i++)
        if (!strcmp(arch, no_cache_archs[i].arch)) {
            m->no_cache = 1;
            m->encoder = no_cache_archs[i].encoder;
        }
    uint64_t n_layer = key_u64(g, arch, "block_count", 0);
    if (n_layer == 0 || n_layer > MG_KV_MAX_LAYERS)
        return MG_E_FORMAT;
    m->n_layer = (uint32_t)n_layer;
    uint64_t n_embd = key_u64(g, arch, "embedding_length", 0);
    uint64_t n_head = key_u64(g, arch, "attention.head_count", 0);
    m->head_k = key_u64(g, arch, "attention.key_length", n_head ? n_embd / n_head : 0);
    m->head_v = key_u64(g, arch, "attention.value_length", m->head_k);
    m->mla = key_u64(g, arch, "attention.key_length_mla", 0) != 0;   /* MLA: the cache holds K only */
    /* head_count_kv: a scalar, or one value per layer (0 = no attention in that layer). */
    const mg_gguf_kv *kvh = key_kv(g, arch, "attention.head_count_kv");
    uint64_t scalar = kvh && kvh->type != MG_GGUF_ARRAY ? mg_gguf_u64(g, kvh->key, n_head) : n_head;
    for (uint32_t il = 0; il < m->n_layer; il++)
        m->n_head_kv[il] = u32_of(scalar);
    if (kvh && kvh->type == MG_GGUF_ARRAY && kvh->arr_values && kvh->arr_count == m->n_layer)
        for (uint32_t il = 0; il < m->n_layer; il++)
            m->n_head_kv[il] = u32_of(kvh->arr_values[il]);
    /* Sliding-window layers: the last of every `pattern` layers is full attention. */
    m->n_swa = u32_of(key_u64(g, arch, "attention.sliding_window", 0));
    const mg_gguf_kv *pat = key_kv(g, arch, "attention.sliding_window_pattern");
    if (m->n_swa) {
        if (pat && pat->type == MG_GGUF_ARRAY && pat->arr_values && pat->arr_count == m->n_layer) {
            for (uint32_t il = 0; il < m->n_layer; il++)
                m->swa[il] = pat->arr_values[il] != 0;
        } else {
            uint32_t p = pat && pat->type != MG_GGUF_ARRAY ? u32_of(mg_gguf_u64(g, pat->key, 0)) : default_swa_pattern(arch);
            for (uint32_t il = 0; il < m->n_layer; il++)
                m->swa[il] = p == 0 || il % p < p - 1;
            if (p == 0 && !default_swa_pattern(arch))
                for (uint32_t il = 0; il < m->n_layer; il++)
                    m->swa[il] = 0;   /* a window with no pattern known: treat as full (safe side) */
        }
    }
    /* Shared-KV layers (gemma3n, gemma4): only the first layers own a cache. */
    uint64_t shared = key_u64(g, arch, "attention.shared_kv_layers", 0);
    m->n_layer_kv = shared && shared < m->n_layer ? m->n_layer - (uint32_t)shared : m->n_layer;
    /* Recurrent state (mamba, mamba2, hybrids): F32, independent of the context. */
    uint64_t d_conv = key_u64(g, arch, "ssm.conv_kernel", 0), d_inner = key_u64(g, arch, "ssm.inner_size", 0);
    uint64_t d_state = key_u64(g, arch, "ssm.state_size", 0), n_group = key_u64(g, arch, "ssm.group_count", 0);
    if (d_inner && d_state) {
        m->recurrent_r = mg_sat_mul(d_conv ? d_conv - 1 : 0, mg_sat_add(d_inner, mg_sat_mul(2, mg_sat_mul(n_group, d_state))));
        m->recurrent_s = mg_sat_mul(d_state, d_inner);
        for (uint32_t il = 0; il < m->n_layer; il++)
            m->recurrent[il] = m->n_head_kv[il] == 0 || !kvh;   /* hybrids: layers without KV heads */
    }
    uint64_t interval = key_u64(g, arch, "full_attention_interval", 0);
    if (interval && m->recurrent_s)
        for (uint32_t il = 0; il < m->n_layer; il++) {
            m->recurrent[il] = (il + 1) % interval != 0;   /* qwen3next/qwen35: every interval-th layer attends */
            if (m->recurrent[il])
                m->n_head_kv[il] = 0;
        }
    return MG_OK;
}

static uint64_t pad(uint64_t v, uint64_t p) { return (v + p - 1) / p * p; }

uint64_t mg_kv_layer_bytes(const mg_kv_model *m, const mg_kv_opts *o, uint32_t il)
{
    uint64_t n_ctx = o->n_ctx, n_seq = o->n_seq ? o->n_seq : 1, ubatch = o->n_ubatch ? o->n_ubatch : 512;
    if (il >= m->n_layer || m->no_cache)
        return 0;
    if (m->recurrent[il])
        return mg_sat_mul(mg_sat_mul(4, mg_sat_add(m->recurrent_r, m->recurrent_s)), n_seq);
    if (il >= m->n_layer_kv || !m->n_head_kv[il])
        return 0;
    /* llama_kv_cache_iswa: a unified cache holds n_ctx cells and a window of n_swa x n_seq + ubatch;
     * otherwise each sequence has its own stream of n_ctx / n_seq cells and a window of n_swa + ubatch. */
    uint64_t streams = o->unified ? 1 : n_seq, base = n_ctx / streams;
    /* n_swa, n_seq and ubatch are 32-bit: want <= (2^32-1)^2 + 2^32-1 < 2^64, and pad() of at most that
     * cannot wrap either; cells (streams x a padded window) can pass 2^64 and saturates. */
    uint64_t want = m->n_swa * (o->unified ? n_seq : 1) + ubatch;
    uint64_t size_swa = o->swa_full ? base : pad(base < want ? base : want, 256);
    uint64_t cells = mg_sat_mul(streams, m->swa[il] && m->n_swa ? size_swa : base);
    uint64_t k = mg_sat_mul(row_size(o->type_k, mg_sat_mul(m->head_k, m->n_head_kv[il])), cells);
    uint64_t v = m->mla ? 0 : mg_sat_mul(row_size(o->type_v, mg_sat_mul(m->head_v, m->n_head_kv[il])), cells);
    return mg_sat_add(k, v);
}

uint64_t mg_kv_bytes(const mg_kv_model *m, const mg_kv_opts *o)
{
    uint64_t total = 0;
    for (uint32_t il = 0; il < m->n_layer; il++)
        total = mg_sat_add(total, mg_kv_layer_bytes(m, o, il));
    return total;
}

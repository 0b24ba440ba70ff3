/*
 * fit_st.c - what a safetensors checkpoint needs on GPUs as PyTorch loads it (transformers, vLLM):
 * weights as stored, the KV cache and the activation peak from config.json, the CUDA context and the
 * caching allocator's slack.
 */
#include <string.h>

#include "core/arith.h"
#include "mlgate/models.h"

#define MIB (1024ull * 1024)
/* A PyTorch process on a GPU holds more than its caching allocator ever allocated: the CUDA context
 * (619 MiB bare on an H200, CUDA 13, driver 580) per GPU, and the allocator's slack, reserved but not
 * allocated: 4.3 to 5.0 % of the peak over three transformers loads (tests/gpu/torch_runtime.py,
 * docs/benchmarks.md). Counted: 700 MiB per GPU and 5 %. */
#define TORCH_RUNTIME (700 * MIB)
#define TORCH_SLACK 0.05

/* Bytes per element of a config.json torch_dtype; 2 when unknown (bf16/f16 checkpoints). */
static unsigned dtype_bytes(const char *t)
{
    if (!strcmp(t, "float32"))
        return 4;
    if (!strcmp(t, "float8_e4m3fn") || !strcmp(t, "float8_e5m2"))
        return 1;
    return 2;
}

int mg_fit_safetensors(const mg_st_model *m, uint64_t n_ctx, uint32_t n_seq, size_t ngpus, mg_fit_st *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < m->nshards; i++) {
        if (m->shards[i].err)
            return m->shards[i].err;
        out->weights = mg_sat_add(out->weights, m->shards[i].st.data_bytes);
    }
    if (m->has_config && m->layers && m->heads) {   /* else weights only: no shape to size a cache from */
        uint64_t head_dim = m->head_dim ? m->head_dim : m->hidden_size / m->heads;
        uint64_t kv_heads = m->kv_heads ? m->kv_heads : m->heads;
        uint64_t seqs = n_seq ? n_seq : 1, bytes = dtype_bytes(m->torch_dtype);
        /* config.json values are the file's word, not ours: every product and sum saturates */
        out->kv_per_token = mg_sat_mul(mg_sat_mul(mg_sat_mul(2, m->layers), kv_heads), mg_sat_mul(head_dim, bytes));
        out->kv = mg_sat_mul(out->kv_per_token, mg_sat_mul(n_ctx, seqs));
        /* The peak is in the MLP: act(gate), up and their product (3 x intermediate per token) while the
         * residual stream, the normed input and the attention output are alive (about 4 x hidden).
         * Logits are kept for the last token only. Measured on an H100 with PyTorch 2.11 + transformers 5
         * over six shapes, within 1 % of the peak (tests/gpu/fit_torch.py, docs/benchmarks.md). */
        uint64_t inter = m->intermediate ? m->intermediate : mg_sat_mul(4, m->hidden_size);
        out->activations = mg_sat_mul(mg_sat_mul(n_ctx, seqs),
                                      mg_sat_mul(mg_sat_add(mg_sat_mul(3, inter), mg_sat_mul(4, m->hidden_size)), bytes));
    }
    uint64_t alloc = mg_sat_add(mg_sat_add(out->weights, out->kv), out->activations);
    out->runtime = mg_sat_add(mg_sat_mul(ngpus ? ngpus : 1, TORCH_RUNTIME), mg_u64_of((double)alloc * TORCH_SLACK));
    out->need = mg_sat_add(alloc, out->runtime);
    return MG_OK;
}

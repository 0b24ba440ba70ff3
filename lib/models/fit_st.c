/*
 * fit_st.c - what a safetensors checkpoint needs on GPUs as PyTorch loads it (transformers, vLLM):
 * weights as stored, the KV cache and the activation peak from config.json, the CUDA context and the
 * caching allocator's slack; DeepSeek's MLA cache as vLLM or transformers keeps it; several GPUs
 * tensor-parallel or split by layers; diffusers pipelines component by component.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
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

/* The peak of one prompt pass over `tokens` (transformers): act(gate), up and their product (3 x
 * intermediate per token, split over tp GPUs) while the residual stream, the normed input and the
 * attention output are alive (about 4 x hidden, on every GPU). Logits are kept for the last token only.
 * Measured on an H100 with PyTorch 2.11 + transformers 5 over six shapes, within 1 % of the peak
 * (tests/gpu/fit_torch.py, docs/benchmarks.md). */
static uint64_t prompt_peak(const mg_st_model *m, uint64_t tokens, uint64_t bytes, uint64_t tp)
{
    uint64_t inter = m->intermediate ? m->intermediate : mg_sat_mul(4, m->hidden_size);
    uint64_t per = mg_sat_add(mg_sat_mul(3, inter) / (tp ? tp : 1), mg_sat_mul(4, m->hidden_size));
    return mg_sat_mul(tokens, mg_sat_mul(per, bytes));
}

static int fit_pipeline(const mg_st_model *m, const mg_fit_st_opts *o, mg_fit_st *out);

int mg_fit_safetensors_with(const mg_st_model *m, const mg_fit_st_opts *o, mg_fit_st *out)
{
    memset(out, 0, sizeof *out);
    out->engine = o->engine;
    for (size_t i = 0; i < m->nshards; i++) {
        if (m->shards[i].err)
            return m->shards[i].err;
        out->weights = mg_sat_add(out->weights, m->shards[i].st.data_bytes);
    }
    if (m->pipeline)
        return fit_pipeline(m, o, out);
    uint64_t seqs = o->n_seq ? o->n_seq : 1, tokens = mg_sat_mul(o->n_ctx, seqs);
    if (m->has_config && m->layers && m->heads) {   /* else weights only: no shape to size a cache from */
        uint64_t head_dim = m->head_dim ? m->head_dim : m->hidden_size / m->heads;
        uint64_t kv_heads = m->kv_heads ? m->kv_heads : m->heads;
        uint64_t bytes = dtype_bytes(m->torch_dtype), kvb = o->kv_bytes ? o->kv_bytes : bytes;
        /* config.json values are the file's word, not ours: every product and sum saturates */
        if (m->kv_lora_rank) {
            /* DeepSeek's MLA. vLLM and SGLang cache the compressed latent and the shared rope key, one
             * "head" of kv_lora_rank + qk_rope_head_dim per layer and token, K only (vLLM's MLA attention
             * spec; 576 for DeepSeek-V3). transformers decompresses: per head, K of qk_nope + qk_rope and
             * V of v_head_dim (DeepseekV3Attention's key_states / value_states in its DynamicCache). */
            out->mla = 1;
            uint64_t k = m->qk_nope_head_dim || m->qk_rope_head_dim ? mg_sat_add(m->qk_nope_head_dim, m->qk_rope_head_dim)
                                                                    : head_dim;
            uint64_t v = m->v_head_dim ? m->v_head_dim : head_dim;
            out->kv_per_token = o->engine == MG_ENGINE_TRANSFORMERS
                                    ? mg_sat_mul(mg_sat_mul(m->layers, m->heads), mg_sat_mul(mg_sat_add(k, v), kvb))
                                    : mg_sat_mul(m->layers, mg_sat_mul(mg_sat_add(m->kv_lora_rank, m->qk_rope_head_dim), kvb));
        } else {
            out->kv_per_token = mg_sat_mul(mg_sat_mul(mg_sat_mul(2, m->layers), kv_heads), mg_sat_mul(head_dim, kvb));
        }
        out->kv = mg_sat_mul(out->kv_per_token, tokens);
        out->activations = prompt_peak(m, tokens, bytes, 1);
    }
    uint64_t alloc = mg_sat_add(mg_sat_add(out->weights, out->kv), out->activations);
    out->runtime = mg_sat_add(mg_sat_mul(o->ngpus ? o->ngpus : 1, TORCH_RUNTIME), mg_u64_of((double)alloc * TORCH_SLACK));
    out->need = mg_sat_add(alloc, out->runtime);
    return MG_OK;
}

int mg_fit_safetensors(const mg_st_model *m, uint64_t n_ctx, uint32_t n_seq, size_t ngpus, mg_fit_st *out)
{
    mg_fit_st_opts o = {n_ctx, n_seq, ngpus, MG_ENGINE_VLLM, 0};
    return mg_fit_safetensors_with(m, &o, out);
}

/* ---- several GPUs ----------------------------------------------------------- */

/* The decoder layer of a tensor: "model.layers.12.mlp.up_proj.weight" -> 12 (also "transformer.h.12.",
 * "blocks.12."); -1 for the embeddings, the final norm, the head and anything else. */
static long layer_of(const char *name, uint64_t n_layer)
{
    static const char *const keys[] = {"layers.", "h.", "blocks."};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t kl = strlen(keys[k]);
        for (const char *p = strstr(name, keys[k]); p; p = strstr(p + 1, keys[k])) {
            if ((p != name && p[-1] != '.') || p[kl] < '0' || p[kl] > '9')
                continue;
            unsigned long long il = strtoull(p + kl, NULL, 10);
            return il < n_layer ? (long)il : -1;
        }
    }
    return -1;
}

static void gpu_total(mg_fit_st_gpu *g)
{
    uint64_t alloc = mg_sat_add(mg_sat_add(g->weights, g->kv), g->activations);
    g->runtime = mg_sat_add(TORCH_RUNTIME, mg_u64_of((double)alloc * TORCH_SLACK));
    g->need = mg_sat_add(alloc, g->runtime);
    g->fits = g->need <= g->usable;
}

/* The first GPU over its memory, said in pl->why (tail: what the placement does). */
static void say_over(mg_fit_st_place *pl, const mg_target *dev, size_t nd, const char *tail)
{
    pl->fits = pl->shape_ok;
    for (size_t d = 0; d < nd; d++)
        if (!pl->gpu[d].fits) {
            char a[32], b[32];
            if (pl->fits)
                snprintf(pl->why, sizeof pl->why, "GPU %zu (%s) needs %s of its %s usable%s", d, dev[d].name,
                         mg_human(pl->gpu[d].need, a), mg_human(pl->gpu[d].usable, b), tail);
            pl->fits = 0;
        }
}

int mg_fit_safetensors_on(const mg_st_model *m, const mg_fit_st_opts *o_in, const mg_target *dev, size_t nd,
                          double headroom, mg_fit_st *out)
{
    mg_fit_st_opts o = *o_in;
    o.ngpus = nd;
    int rc = mg_fit_safetensors_with(m, &o, out);
    if (rc || nd < 2 || m->pipeline)
        return rc;
    if (nd > MG_FIT_MAX_DEV)
        return MG_E_LIMIT;
    out->ndev = nd;
    uint64_t usable[MG_FIT_MAX_DEV];
    for (size_t d = 0; d < nd; d++)
        usable[d] = mg_u64_of((double)dev[d].mem_free * (1.0 - headroom));
    uint64_t bytes = dtype_bytes(m->torch_dtype), tokens = mg_sat_mul(o.n_ctx, o.n_seq ? o.n_seq : 1);
    int shaped = m->has_config && m->layers && m->heads;

    /* Tensor parallelism (vLLM --tensor-parallel-size, SGLang --tp): every weight matrix and the KV heads
     * split evenly, so each GPU needs the same share and the smallest decides. The MLP's activations
     * split; the residual stream does not. vLLM needs heads % tp == 0, and KV heads dividing tp or
     * divisible by it (fewer KV heads than GPUs: each holds a copy of one); MLA's one latent "head" is
     * copied to every GPU. */
    mg_fit_st_place *tp = &out->place[MG_ST_TP];
    uint64_t kvh = out->mla && o.engine == MG_ENGINE_VLLM ? 1 : m->kv_heads ? m->kv_heads : m->heads;
    tp->shape_ok = 1;
    if (shaped && m->heads % nd) {
        tp->shape_ok = 0;
        snprintf(tp->why, sizeof tp->why, "%llu attention heads do not divide over %zu GPUs",
                 (unsigned long long)m->heads, nd);
    } else if (shaped && kvh % nd && nd % kvh) {
        tp->shape_ok = 0;
        snprintf(tp->why, sizeof tp->why, "%llu KV heads and %zu GPUs: neither divides the other",
                 (unsigned long long)kvh, nd);
    }
    uint64_t kv_share = shaped && kvh ? (kvh + nd - 1) / nd : 1;   /* KV heads per GPU */
    for (size_t d = 0; d < nd; d++) {
        mg_fit_st_gpu *g = &tp->gpu[d];
        g->layers = (uint32_t)(m->layers < UINT32_MAX ? m->layers : UINT32_MAX);
        g->weights = out->weights / nd + (out->weights % nd != 0);
        g->kv = shaped && kvh ? mg_sat_mul(out->kv / kvh, kv_share) : out->kv / nd;
        g->activations = shaped ? prompt_peak(m, tokens, bytes, nd) : 0;
        g->usable = usable[d];
        gpu_total(g);
    }
    say_over(tp, dev, nd, ": tensor parallelism gives every GPU the same share");

    /* Layers split by memory (transformers device_map="auto" with max_memory; vLLM/SGLang pipeline
     * stages with VLLM_PP_LAYER_PARTITION): each GPU a run of whole layers with their KV, in proportion
     * to the room its memory leaves after the runtime, one pass's activations (every stage holds them)
     * and, on the first, the embeddings, on the last, the head. */
    mg_fit_st_place *ls = &out->place[MG_ST_LAYERS];
    uint64_t L = shaped && m->layers <= 65536 ? m->layers : 0;
    if (!L) {
        snprintf(ls->why, sizeof ls->why, "no layer count in config.json: a layer split is not sized");
        return MG_OK;
    }
    ls->shape_ok = 1;
    uint64_t *lw = mg_calloc(L, sizeof *lw);
    if (!lw)
        return MG_E_NOMEM;
    uint64_t first = 0, last = 0, inlayers = 0;
    for (size_t i = 0; i < m->nshards; i++)
        for (size_t t = 0; t < m->shards[i].st.n; t++) {
            const mg_st_tensor *x = &m->shards[i].st.tensors[t];
            long il = layer_of(x->name, L);
            uint64_t b = x->end > x->begin ? x->end - x->begin : 0;
            if (il >= 0)
                lw[il] = mg_sat_add(lw[il], b), inlayers = mg_sat_add(inlayers, b);
            else if (strstr(x->name, "embed") || strstr(x->name, "wte"))
                first = mg_sat_add(first, b);
            else
                last = mg_sat_add(last, b);
        }
    if (!inlayers) {   /* names that say no layer: the weights spread evenly over the layers */
        for (uint64_t il = 0; il < L; il++)
            lw[il] = out->weights / L;
        first = last = 0;
    }
    uint64_t kv_layer = out->kv / L, act = out->activations;
    double room[MG_FIT_MAX_DEV], sum = 0;
    for (size_t d = 0; d < nd; d++) {
        double fixed = (double)TORCH_RUNTIME + (double)act * (1 + TORCH_SLACK) + (d == 0 ? (double)first : 0) +
                       (d == nd - 1 ? (double)last : 0);
        room[d] = (double)usable[d] / (1 + TORCH_SLACK) - fixed;
        if (room[d] < 0)
            room[d] = 0;
        sum += room[d];
    }
    /* layers per GPU: the proportional share, rounded down, the rest one each to the largest remainders */
    uint64_t given = 0, count[MG_FIT_MAX_DEV];
    double frac[MG_FIT_MAX_DEV];
    for (size_t d = 0; d < nd; d++) {
        double share = sum > 0 ? (double)L * room[d] / sum : (double)L / (double)nd;
        count[d] = (uint64_t)share;
        frac[d] = share - (double)count[d];
        given += count[d];
    }
    while (given < L) {
        size_t best = 0;
        for (size_t d = 1; d < nd; d++)
            if (frac[d] > frac[best])
                best = d;
        count[best]++, frac[best] = -1, given++;
    }
    uint64_t il = 0;
    for (size_t d = 0; d < nd; d++) {
        mg_fit_st_gpu *g = &ls->gpu[d];
        g->layers = (uint32_t)count[d];
        for (uint64_t k = 0; k < count[d]; k++, il++)
            g->weights = mg_sat_add(g->weights, lw[il]);
        g->weights = mg_sat_add(g->weights, mg_sat_add(d == 0 ? first : 0, d == nd - 1 ? last : 0));
        g->kv = mg_sat_mul(kv_layer, count[d]);
        g->activations = act;
        g->usable = usable[d];
        gpu_total(g);
    }
    free(lw);
    say_over(ls, dev, nd, " even with the layers split by memory");
    return MG_OK;
}

/* ---- diffusers pipelines ----------------------------------------------------- */

/*
 * A DiT denoiser's (FLUX, SD3) peak per token of its joint sequence, in hidden-size units: in a FLUX
 * single-stream block under inference_mode the residual (1), the normed input (1), the MLP's 4x hidden
 * before and after GELU (8), q, k, v (3) and the rotary embedding's float32 temporaries of one of them
 * (about 4 in bf16 units) are alive at once: about 17; counted 20. An estimate, checked by
 * tests/gpu/fit_diffusers.py.
 */
#define DIT_FACTOR 20
/* The VAE decoder's peak: its last up block's first resnet at the full image size holds its input,
 * the GroupNorm output and the SiLU output (3 x the input's channels, block_out_channels[1]), and the
 * convolution's workspace: 3.00 x on a CPU (bench/act-peak.py), 4.76 x on an H200 (2.38 GiB for
 * FLUX.1's VAE at 1024x1024, tests/gpu/fit_diffusers.py): counted 5. */
#define VAE_FACTOR 5
/* A diffusers process on a GPU, measured on an H200 (torch 2.11 cu130, diffusers 0.42.1, a FluxPipeline
 * of FLUX.1's widths at 1024x1024): its CUDA context with cuDNN's and cuBLAS's kernels loaded took 1234
 * MiB (a transformers LLM's 619-700), and the caching allocator held 2.25 GiB more than it ever had
 * allocated all on the GPU, 1.8 GiB with enable_model_cpu_offload (freed blocks of the components and
 * of the stages before, kept, do not fit the VAE decode's large temporaries), 0.14 GiB with sequential
 * offload. Counted: 1280 MiB, and the largest stage's activations again unless sequential (over by
 * +7 % / +17 % / +10 % of the three measured, never under; one run, not held out yet). */
#define PIPE_RUNTIME (1280 * MIB)
#define IMAGE_SIDE 1024ull

/* The text a pipeline feeds its T5-sized encoder, in tokens (the pipeline's max_sequence_length). */
static const struct { const char *prefix; uint64_t t5, joint; } text_len[] = {
    {"Flux", 512, 512},              /* FluxPipeline: T5 512 tokens join the image's */
    {"StableDiffusion3", 256, 333},  /* SD3: T5 256 + CLIP 77 */
};

static void text_tokens(const char *cls, uint64_t *t5, uint64_t *joint)
{
    *t5 = *joint = 512;   /* unknown: FLUX's, the longest of these */
    for (size_t i = 0; i < sizeof text_len / sizeof text_len[0]; i++)
        if (!strncmp(cls, text_len[i].prefix, strlen(text_len[i].prefix))) {
            *t5 = text_len[i].t5, *joint = text_len[i].joint;
            return;
        }
}

typedef struct named { const char *name; uint64_t bytes; } named;

/* The length of a tensor name up to its last '.': its module. */
static size_t module_len(const char *n)
{
    const char *dot = strrchr(n, '.');
    return dot ? (size_t)(dot - n) : strlen(n);
}

/* By module, then name: "a.b.bias" and "a.b.weight" stay together around "a.b.c.weight". */
static int cmp_named(const void *x, const void *y)
{
    const char *a = ((const named *)x)->name, *b = ((const named *)y)->name;
    size_t la = module_len(a), lb = module_len(b);
    int r = memcmp(a, b, la < lb ? la : lb);
    return r ? r : la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* The largest group of a component's tensors that share a name up to the last '.': one module's
 * weight and bias, what enable_sequential_cpu_offload moves to the GPU at a time (per shard). */
static int largest_module(const mg_st_model *m, const mg_st_component *k, uint64_t *out)
{
    *out = 0;
    for (size_t i = k->first; i < k->first + k->nshards && i < m->nshards; i++) {
        const mg_safetensors *st = &m->shards[i].st;
        if (!st->n)
            continue;
        named *v = mg_malloc(st->n * sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        for (size_t t = 0; t < st->n; t++) {
            v[t].name = st->tensors[t].name;
            v[t].bytes = st->tensors[t].end > st->tensors[t].begin ? st->tensors[t].end - st->tensors[t].begin : 0;
        }
        qsort(v, st->n, sizeof *v, cmp_named);   /* a module's tensors are now next to each other */
        uint64_t run = 0;
        for (size_t t = 0; t < st->n; t++) {
            size_t pl = module_len(v[t].name);
            int same = t && pl == module_len(v[t - 1].name) && !strncmp(v[t].name, v[t - 1].name, pl);
            run = same ? mg_sat_add(run, v[t].bytes) : v[t].bytes;
            if (run > *out)
                *out = run;
        }
        free(v);
    }
    return MG_OK;
}

static int fit_pipeline(const mg_st_model *m, const mg_fit_st_opts *o, mg_fit_st *out)
{
    (void)o;
    out->pipeline = 1;
    out->ncomp = m->ncomp;
    uint64_t t5_len, joint_len;
    text_tokens(m->pipeline_class, &t5_len, &joint_len);
    /* the VAE's downscale: 2^(levels - 1), 8 for every SD/FLUX VAE */
    uint64_t vae_scale = 8, latent = 0;
    for (size_t c = 0; c < m->ncomp; c++)
        if (!strncmp(m->comp[c].class_name, "Autoencoder", 11) && m->comp[c].n_block_out >= 1) {
            vae_scale = 1ull << (m->comp[c].n_block_out - 1);
            latent = m->comp[c].latent_channels;
        }
    uint64_t max_mod = 0, peak = 0, peak_with = 0;
    for (size_t c = 0; c < m->ncomp; c++) {
        const mg_st_component *k = &m->comp[c];
        mg_fit_st_comp *f = &out->comp[c];
        uint64_t params = 0;
        for (size_t i = k->first; i < k->first + k->nshards && i < m->nshards; i++) {
            f->weights = mg_sat_add(f->weights, m->shards[i].st.data_bytes);
            params = mg_sat_add(params, m->shards[i].st.params);
        }
        /* activations in the dtype the weights are stored in (what torch_dtype= loads them as) */
        uint64_t bytes = params ? (f->weights + params / 2) / params : 2;
        bytes = bytes < 1 ? 1 : bytes > 4 ? 4 : bytes;
        int rc = largest_module(m, k, &f->largest_module);
        if (rc)
            return rc;
        if (f->largest_module > max_mod)
            max_mod = f->largest_module;
        if (!strcmp(k->library, "diffusers") && strstr(k->class_name, "Transformer") && k->heads &&
            k->attention_head_dim) {
            /* a DiT: latent pixels in patches (FLUX packs 2x2: in_channels = 4 x latent channels) */
            uint64_t p = k->patch_size ? k->patch_size : 1;
            if (latent && k->in_channels == 4 * latent)
                p *= 2;
            uint64_t side = IMAGE_SIDE / vae_scale / p;
            out->image_tokens = side * side;
            out->text_tokens = joint_len;
            uint64_t hidden = mg_sat_mul(k->heads, k->attention_head_dim);
            f->activations = mg_sat_mul(mg_sat_mul(out->image_tokens + joint_len, hidden), DIT_FACTOR * bytes);
        } else if (!strncmp(k->class_name, "Autoencoder", 11)) {
            uint64_t ch = k->n_block_out >= 2 ? k->block_out[1] : k->n_block_out ? k->block_out[0] : 256;
            f->activations = mg_sat_mul(IMAGE_SIDE * IMAGE_SIDE, mg_sat_mul(ch, VAE_FACTOR * bytes));
        } else if (!strcmp(k->library, "transformers")) {
            /* a text encoder over its prompt: the MLP and residual as a prompt pass, and the attention
             * scores in float32 (T5 and CLIP compute them eagerly) */
            uint64_t h = k->hidden_size ? k->hidden_size : k->d_model, ff = k->intermediate ? k->intermediate : k->d_ff;
            uint64_t heads = k->heads ? k->heads : k->num_heads;
            uint64_t t = strstr(k->class_name, "CLIP") ? 77 : t5_len;
            f->activations = mg_sat_add(mg_sat_mul(t, mg_sat_mul(mg_sat_add(mg_sat_mul(3, ff), mg_sat_mul(4, h)), bytes)),
                                        mg_sat_mul(mg_sat_mul(heads, t * t), 4));
        }
        /* UNet denoisers: not estimated (f->activations 0; docs/models.md) */
        if (f->activations > peak)
            peak = f->activations;
        uint64_t with = mg_sat_add(f->weights, f->activations);
        if (with > peak_with)
            peak_with = with;
    }
    out->activations = peak;
    /* all on the GPU: every component there, the largest stage's activations */
    uint64_t alloc = mg_sat_add(out->weights, peak);
    out->runtime = mg_sat_add(mg_sat_add(PIPE_RUNTIME, peak), mg_u64_of((double)alloc * TORCH_SLACK));
    out->need = out->gpu_all = mg_sat_add(alloc, out->runtime);
    /* enable_model_cpu_offload: one component on the GPU at a time, with its own stage's activations */
    out->gpu_model_offload = mg_sat_add(mg_sat_add(mg_sat_add(peak_with, PIPE_RUNTIME), peak),
                                        mg_u64_of((double)peak_with * TORCH_SLACK));
    /* enable_sequential_cpu_offload: one module's weights at a time, and the largest stage's activations */
    uint64_t seq = mg_sat_add(max_mod, peak);
    out->gpu_seq_offload = mg_sat_add(mg_sat_add(seq, PIPE_RUNTIME), mg_u64_of((double)seq * TORCH_SLACK));
    /* RAM: from_pretrained reads every component into RAM before .to("cuda"); offloaded, they stay there */
    out->ram_all = out->ram_offload = out->weights;
    return MG_OK;
}

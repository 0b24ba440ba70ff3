/*
 * fit.c - where a GGUF model's memory goes on given GPUs with llama.cpp's own
 * placement rules (llama_model::load_tensors): -ngl counts the output head as one
 * of n_layer+1 slots, token_embd stays in host RAM (tied embeddings are
 * duplicated onto the output's device), layers split across GPUs by
 * --tensor-split or free memory, each layer's KV cache on its layer's device;
 * MoE experts kept in RAM by --n-cpu-moe / --cpu-moe / -ot REGEX=CPU.
 * Compute buffers follow what a CUDA build reserved on an H100 (tests/gpu/fit_llama_cuda.py,
 * docs/models.md); a GPU without the output head and a CPU-side graph are allowances.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/json.h"
#include "mlgate/host.h"
#include "mlgate/models.h"
#include "models/formats.h"

#define MIB (1024ull * 1024)
/* Per GPU in use: CUDA context, cuBLAS workspace, graphs - what llama.cpp's memory breakdown calls
 * "unaccounted": 594-599 MiB on an H100 (CUDA 13.0 build, driver 580) in 15 of 18 runs, 695-698
 * MiB in the other three (flash attention off; a 16-expert MoE). The larger, to be safe. */
#define GPU_RUNTIME (700 * MIB)
#define HOST_FOOTPRINT (150 * MIB) /* process, tokenizer, host buffers */
#define UBATCH 512ull              /* llama.cpp's default -ub */

/* Which slot a tensor belongs to: 0..n_layer-1 blocks, n_layer the output, -1 the input (host). */
static int slot_of(const char *name, uint32_t n_layer)
{
    if (!strncmp(name, "blk.", 4) && name[4] >= '0' && name[4] <= '9') {
        /* strtoull, not sscanf's %u: that kept the low 32 bits of blk.4294967296 (and is undefined for
         * a number out of range); ULLONG_MAX for one past 64 bits is past n_layer as well. */
        unsigned long long il = strtoull(name + 4, NULL, 10);
        return il < n_layer ? (int)il : -1;
    }
    if (!strncmp(name, "output", 6))
        return (int)n_layer;
    return -1;   /* token_embd, rope tables, anything else: host */
}

/* A routed-expert tensor: llama.cpp's LLM_FFN_EXPS_REGEX "\\.ffn_(up|down|gate|gate_up)_(ch|)exps",
 * the pattern --cpu-moe and --n-cpu-moe put on the CPU. */
static int is_expert(const char *name)
{
    static const char *const k[] = {".ffn_up_exps", ".ffn_down_exps", ".ffn_gate_exps", ".ffn_gate_up_exps",
                                    ".ffn_up_chexps", ".ffn_down_chexps", ".ffn_gate_chexps", ".ffn_gate_up_chexps"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strstr(name, k[i]))
            return 1;
    return 0;
}

int mg_fit_fa_supported(const mg_kv_model *kv)
{
    /* ggml-cuda/fattn.cu: K head sizes with a kernel when V has the same size; DeepSeek's MLA
     * (576/512) and a few asymmetric ones (their GQA conditions are not checked here). */
    static const uint64_t same[] = {40, 64, 72, 80, 96, 112, 128, 256, 512};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (kv->head_k == same[i] && (kv->head_v == same[i] || kv->mla))
            return 1;
    return (kv->head_k == 576 && (kv->head_v == 512 || kv->mla)) || (kv->head_k == 192 && kv->head_v == 128) ||
           (kv->head_k == 320 && kv->head_v == 256);
}

static uint64_t usable(const mg_target *d, double headroom)
{
    return mg_u64_of((double)d->mem_free * (1.0 - headroom));   /* 2^64 - 1 free is 2^64 as a double */
}

/*
 * Running sums over the blocks, so that one placement costs a few lookups per GPU, not a walk over
 * every block: the search tries up to 2 x 1025 placements of up to 1025 blocks. [i] holds blocks
 * 0..i-1, exactly (128 bits): a range's sum clamped to 2^64-1 is what saturating adds give.
 */
__extension__ typedef unsigned __int128 sum128;
typedef struct fit_sums {
    sum128 w[MG_KV_MAX_LAYERS + 1];                         /* a block's weights (where it is on the CPU) */
    sum128 gpu_moe[MG_KV_MAX_LAYERS + 1], ram_moe[MG_KV_MAX_LAYERS + 1];   /* on a GPU, experts in RAM */
    sum128 gpu_keep[MG_KV_MAX_LAYERS + 1], ram_keep[MG_KV_MAX_LAYERS + 1]; /* on a GPU, experts there too */
    sum128 kv[MG_KV_MAX_LAYERS + 1];                        /* its KV cache at kv_ctx */
    uint64_t kv_ctx;
    int full, win;                                          /* full-attention and window layers exist */
} fit_sums;

/* What one block of a GPU keeps there and leaves in RAM; -ot ...=CPU and --n-cpu-moe keep
 * these in RAM (ot and exps are subsets of the block's tensors, ot_exps of both: moved <= w, saturated). */
static void gpu_block(const mg_fit_model *fm, uint32_t il, int experts_in_ram, uint64_t *gpu, uint64_t *ram)
{
    uint64_t w = fm->slot_bytes[il];
    uint64_t exps = fm->exps_bytes[il] > fm->ot_exps_bytes[il] ? fm->exps_bytes[il] - fm->ot_exps_bytes[il] : 0;
    uint64_t moved = mg_sat_add(fm->ot_bytes[il], experts_in_ram ? exps : 0);
    *gpu = w > moved ? w - moved : 0;
    *ram = moved;
}

static void sums_kv(fit_sums *S, const mg_fit_model *fm, const mg_fit_opts *o, uint64_t n_ctx)
{
    mg_kv_opts ko = {n_ctx, o->type_k ? o->type_k : 1, o->type_v ? o->type_v : 1, o->n_seq ? o->n_seq : 1, 512, 0,
                     o->kv_unified};
    S->kv[0] = 0;
    for (uint32_t il = 0; il < fm->kv.n_layer; il++)
        S->kv[il + 1] = S->kv[il] + mg_kv_layer_bytes(&fm->kv, &ko, il);
    S->kv_ctx = n_ctx;
}

static void sums_init(fit_sums *S, const mg_fit_model *fm, const mg_fit_opts *o, uint64_t n_ctx)
{
    S->w[0] = S->gpu_moe[0] = S->ram_moe[0] = S->gpu_keep[0] = S->ram_keep[0] = 0;
    S->full = S->win = 0;
    for (uint32_t il = 0; il < fm->kv.n_layer; il++) {
        uint64_t g, r;
        S->w[il + 1] = S->w[il] + fm->slot_bytes[il];
        gpu_block(fm, il, 1, &g, &r);
        S->gpu_moe[il + 1] = S->gpu_moe[il] + g;
        S->ram_moe[il + 1] = S->ram_moe[il] + r;
        gpu_block(fm, il, 0, &g, &r);
        S->gpu_keep[il + 1] = S->gpu_keep[il] + g;
        S->ram_keep[il + 1] = S->ram_keep[il] + r;
        if (fm->kv.n_head_kv[il] && !fm->kv.recurrent[il]) {
            S->full |= !fm->kv.swa[il];
            S->win |= fm->kv.swa[il];
        }
    }
    sums_kv(S, fm, o, n_ctx);
}

/* Blocks [a, b) of a running sum, saturated. */
static uint64_t span(const sum128 *s, uint32_t a, uint32_t b)
{
    sum128 v = b > a ? s[b] - s[a] : 0;
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* Blocks [a, b) on a GPU with the experts of blocks below ncm in RAM: adds what stays there and what not. */
static void gpu_span(const fit_sums *S, uint32_t a, uint32_t b, uint32_t ncm, uint64_t *gpu, uint64_t *ram)
{
    uint32_t m = ncm < a ? a : ncm > b ? b : ncm;
    *gpu = mg_sat_add(*gpu, mg_sat_add(span(S->gpu_moe, a, m), span(S->gpu_keep, m, b)));
    *ram = mg_sat_add(*ram, mg_sat_add(span(S->ram_moe, a, m), span(S->ram_keep, m, b)));
}

/* The GPU of slot il of a placement: layers split in proportion, by their place among the act on GPUs. */
static size_t slot_gpu(int il, int i_gpu_start, int act, const double *split, size_t nd)
{
    double f = (double)(il - i_gpu_start) / (double)act;
    size_t d = 0;
    while (d + 1 < nd && f >= split[d])
        d++;
    return d;
}

/* The largest weight kept in RAM that a large batch uses (a CPU layer's K and V views too: its
 * attention runs on the GPU then): blocks off the GPUs whole, the experts of blocks below ncm and -ot
 * tensors of blocks on them, the output head (token_embd when tied) when it is on the CPU. Not
 * token_embd otherwise: GET_ROWS is never offloaded (ggml-cuda's get_op_batch_size). */
static uint64_t offload_bytes(const mg_fit_model *fm, const fit_sums *S, int i_gpu_start, int act, uint32_t ncm)
{
    uint32_t n_layer = fm->kv.n_layer;
    uint64_t m = 0;
    for (uint32_t il = 0; il <= n_layer; il++) {
        int on_gpu = (int)il >= i_gpu_start && (int)il < i_gpu_start + act;
        uint64_t t = fm->max_ot_tensor[il];
        if (!on_gpu) {
            t = fm->max_tensor[il];
            if (il < n_layer && span(S->kv, il, il + 1) > t)
                t = span(S->kv, il, il + 1);
            if (il == n_layer && !fm->has_output && !fm->kv.encoder && fm->token_embd_bytes > t)
                t = fm->token_embd_bytes;
        } else if (il < ncm && fm->max_exps_tensor[il] > t)
            t = fm->max_exps_tensor[il];
        m = t > m ? t : m;
    }
    return m;
}

/*
 * MLA attention (DeepSeek-V2/V3 style, K-only cache). llama.cpp absorbs attn_k_b into the query
 * (deepseek2.cpp): per head the query q (key_length_mla), its nope part times attn_k_b (kv_lora_rank
 * = value_length), the roped part and their concat (key_length = kv_lora_rank + rope) are alive at
 * once, with the layer's residual stream and its q_lora/kv_lora inputs (8 x n_embd, an allowance),
 * the KQ mask (f16 with flash attention, else f32) and, without flash attention, the scores
 * (ubatch x cells x heads floats, once). CPU llama.cpp, 2-layer slices, 4096 cells: DeepSeek-V3's
 * attention (128 heads, 576/512/192) at width 2048 reserved 360 MiB (flash) / 1388 MiB where this
 * gives 372 / 1404; 64 heads of 320/256/256: 130 / 646 MiB, this 148 / 660 (tests/llama/compare.py).
 * The logits' memory is reused for it: the larger counts.
 */
static uint64_t mla_attention(const mg_fit_model *fm, uint64_t cells, int flash)
{
    const mg_kv_model *kv = &fm->kv;
    uint64_t rope = kv->head_k > kv->head_v ? kv->head_k - kv->head_v : 0;
    uint64_t per_head = mg_sat_add(mg_sat_add(kv->head_k, kv->head_v), mg_sat_add(fm->head_k_mla, rope));
    uint64_t per_token = mg_sat_add(mg_sat_mul(fm->n_head, per_head), mg_sat_mul(8, fm->n_embd));
    uint64_t attn = mg_sat_mul(mg_sat_mul(UBATCH, per_token), 4);
    attn = mg_sat_add(attn, mg_sat_mul(mg_sat_mul(UBATCH, cells), flash ? 2 : 4));
    if (!flash)
        attn = mg_sat_add(attn, mg_sat_mul(mg_sat_mul(mg_sat_mul(UBATCH, cells), fm->n_head), 4));
    return attn;
}

/* mg_fit_evaluate on the sums of one search (their KV brought to n_ctx when it changed). */
static int evaluate(const mg_fit_model *fm, fit_sums *S, const mg_target *dev, size_t nd, const mg_fit_opts *o,
                    int ngl, uint64_t n_ctx, mg_fit_plan *p)
{
    if (S->kv_ctx != n_ctx)
        sums_kv(S, fm, o, n_ctx);
    memset(p, 0, sizeof *p);
    uint32_t n_layer = fm->kv.n_layer;
    p->ngl = ngl;
    p->n_ctx = n_ctx;
    int ncm = o->n_cpu_moe > 0 ? o->n_cpu_moe : 0;
    p->n_cpu_moe = ncm;
    if (nd > MG_FIT_MAX_DEV)
        return MG_E_LIMIT;
    /* Splits: as given, else by usable memory; prefix-summed and normalised. */
    double split[MG_FIT_MAX_DEV], sum = 0;
    for (size_t i = 0; i < nd; i++) {
        split[i] = o->nsplit ? (i < o->nsplit ? o->split[i] : 0) : (double)usable(&dev[i], o->headroom);
        sum += split[i];
    }
    double acc = 0;
    for (size_t i = 0; i < nd; i++) {
        p->split[i] = sum > 0 ? split[i] / sum : 1.0 / (double)nd;
        acc += p->split[i];
        split[i] = acc;   /* now the prefix sums */
    }
    /* Slots [i_gpu_start, i_gpu_start + act) are on the GPUs, each GPU's a run of them (its share
     * grows with the slot's place): found by bisection on the same test a walk would make. */
    int i_gpu_start = (int)n_layer + 1 - ngl;
    if (i_gpu_start < 0)
        i_gpu_start = 0;
    int act = nd && ngl > 0 ? (ngl < (int)n_layer + 1 ? ngl : (int)n_layer + 1) : 0;
    int first[MG_FIT_MAX_DEV + 1];   /* GPU d has slots [first[d], first[d + 1]) */
    first[0] = i_gpu_start;
    for (size_t d = 1; d <= nd; d++) {
        int lo = first[d - 1], hi = i_gpu_start + act;   /* the first slot past GPU d-1 is in [lo, hi] */
        while (d < nd && lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (slot_gpu(mid, i_gpu_start, act, split, nd) >= d)
                hi = mid;
            else
                lo = mid + 1;
        }
        first[d] = d < nd ? lo : i_gpu_start + act;
    }
    uint32_t cpu_to = (uint32_t)i_gpu_start < n_layer ? (uint32_t)i_gpu_start : n_layer;
    uint32_t gpu_to = (uint32_t)(i_gpu_start + act) < n_layer ? (uint32_t)(i_gpu_start + act) : n_layer;
    int out_dev = -1;   /* the output slot's GPU */
    uint64_t moved_any = 0;
    for (size_t d = 0; d < nd; d++) {
        p->layers[d] = first[d + 1] - first[d];
        uint32_t a = (uint32_t)first[d], b = (uint32_t)first[d + 1] < n_layer ? (uint32_t)first[d + 1] : n_layer;
        uint64_t ram = 0;
        gpu_span(S, a < b ? a : b, b, (uint32_t)ncm, &p->weights[d], &ram);
        p->ram_weights = mg_sat_add(p->ram_weights, ram);
        moved_any = mg_sat_add(moved_any, ram);
        p->kv[d] = span(S->kv, a < b ? a : b, b);
        if ((uint32_t)first[d] <= n_layer && (uint32_t)first[d + 1] > n_layer)
            out_dev = (int)d;
    }
    /* blocks on the CPU: below the GPUs' and (no GPU) above them */
    p->ram_weights = mg_sat_add(p->ram_weights, mg_sat_add(span(S->w, 0, cpu_to), span(S->w, gpu_to, n_layer)));
    p->ram_kv = mg_sat_add(span(S->kv, 0, cpu_to), span(S->kv, gpu_to, n_layer));
    /* The output slot. Tied: llama.cpp duplicates token_embd as the output on the output's GPU; on
     * the CPU the duplicate is the same tensor in the same buffer (a real CPU run reports it once). */
    if (out_dev >= 0) {
        /* an encoder (BERT family) has no LM head: nothing duplicated */
        uint64_t w = fm->has_output || fm->kv.encoder ? fm->slot_bytes[n_layer]
                                                      : mg_sat_add(fm->slot_bytes[n_layer], fm->token_embd_bytes);
        uint64_t g, moved;
        gpu_block(fm, n_layer, (int)n_layer < ncm, &g, &moved);
        p->weights[out_dev] = mg_sat_add(p->weights[out_dev], w > moved ? w - moved : 0);
        p->ram_weights = mg_sat_add(p->ram_weights, moved);
        moved_any = mg_sat_add(moved_any, moved);
    } else {
        p->ram_weights = mg_sat_add(p->ram_weights, fm->slot_bytes[n_layer]);
    }
    p->ram_weights = mg_sat_add(p->ram_weights, fm->input_bytes);
    /*
     * Compute buffers. On the output's GPU llama.cpp reserves ubatch x (n_vocab + n_embd) floats:
     * the logits and the last hidden state (exact in all 9 full-offload runs with flash attention on
     * the H100, 64.0 to 517 MiB). A partial offload reserved up to 6.5 ubatch x n_embd floats more; a
     * GPU without the output was not measured (one GPU): both get 8 x ubatch x n_embd floats.
     * Without flash attention the KQ scores of the largest attention layer, ubatch x cells x heads
     * floats, dominate: the buffer was 1.07 to 1.24 x that in six runs (507 to 1241 MiB), the graph
     * allocator reusing the logits' memory: the larger of logits and 1.25 x KQ counts.
     */
    uint32_t n_seq = o->n_seq ? o->n_seq : 1;
    uint64_t cells = o->kv_unified ? n_ctx : n_ctx / n_seq;
    if (fm->kv.no_cache)
        cells = UBATCH;   /* no cache: a batch attends to itself (an embedding's sequence fits one ubatch) */
    uint64_t vocab = fm->kv.encoder ? 0 : fm->n_vocab;   /* an encoder returns pooled embeddings, no logits */
    int full = S->full, win = S->win;
    uint64_t swa_cells = (fm->kv.n_swa + UBATCH + 255) / 256 * 256;
    if (swa_cells > cells)
        swa_cells = cells;
    p->flash_attn = o->flash_attn == MG_FA_ON || (o->flash_attn == MG_FA_AUTO && mg_fit_fa_supported(&fm->kv));
    uint64_t kq = 0;
    if (!p->flash_attn && (full || win)) {
        /* head count and context from the file: the product saturates, and 1.25 x it goes through
         * mg_u64_of (it can pass 2^64 when the product does not) */
        uint64_t scores = mg_sat_mul(mg_sat_mul(mg_sat_mul(UBATCH, full ? cells : swa_cells), fm->n_head), 4);
        kq = scores == UINT64_MAX ? UINT64_MAX : mg_u64_of(1.25 * (double)scores);
    }
    if (fm->kv.mla && full)
        kq = mla_attention(fm, cells, p->flash_attn);
    uint64_t logits = mg_sat_mul(mg_sat_mul(UBATCH, mg_sat_add(fm->n_embd, vocab)), 4);
    uint64_t act_gpu = mg_sat_mul(UBATCH * 4 * 8, fm->n_embd);
    int partial = ngl < (int)n_layer + 1 || moved_any;
    /* An encoder (BERT family) has no logits to reuse: its FFN's ubatch x n_ff floats and the
     * residual stream are the graph (CPU llama.cpp: 5.8 MiB for bge-small's shape, 14.5 MiB for a
     * bge-reranker-large-wide slice, where this gives 7.5 and 20). */
    uint64_t enc = fm->kv.encoder ? mg_sat_mul(mg_sat_mul(UBATCH, mg_sat_add(fm->n_ff, mg_sat_mul(6, fm->n_embd))), 4) : 0;
    /* Op offload: the first GPU (ggml_backend_sched tries backends in priority order, the GPUs first)
     * runs each large-batch op whose weight is in RAM, on a copy of it in its compute buffer; a new
     * split per such weight lets the copies share memory, so the largest one counts. */
    p->offload = nd && !o->no_op_offload ? offload_bytes(fm, S, i_gpu_start, act, (uint32_t)ncm) : 0;
    p->fits_gpu = 1;
    for (size_t d = 0; d < nd; d++) {
        uint64_t graph = out_dev == (int)d ? logits : 0;
        if (kq > graph)
            graph = kq;
        if (p->layers[d] && enc > graph)
            graph = enc;
        if (d == 0 && p->offload) {
            /* the output on the CPU: its matmul runs on this GPU too, the logits with it */
            uint64_t off = out_dev < 0 ? mg_sat_add(p->offload, logits) : p->offload;
            graph = off > graph ? off : graph;
        }
        if (p->layers[d] || (d == 0 && p->offload))
            p->compute[d] = mg_sat_add(mg_sat_add(GPU_RUNTIME, graph), out_dev != (int)d || partial ? act_gpu : 0);
        p->need[d] = mg_sat_add(mg_sat_add(p->weights[d], p->kv[d]), p->compute[d]);
        p->usable[d] = usable(&dev[d], o->headroom);
        if (p->need[d] > p->usable[d])
            p->fits_gpu = 0;
    }
    if (out_dev >= 0) {
        /* The host side of a GPU run (CUDA_Host buffers, matched to 0.5 MiB): the token embeddings of a
         * ubatch twice, the KQ masks (f16, ubatch x cells) of full-attention and window layers, and
         * the output buffer of n_vocab floats per sequence. */
        uint64_t mask = mg_sat_add(full ? mg_sat_mul(UBATCH * 2, cells) : 0, win ? mg_sat_mul(UBATCH * 2, swa_cells) : 0);
        p->ram_other = mg_sat_add(mg_sat_add(mg_sat_add(HOST_FOOTPRINT, mg_sat_mul(UBATCH * 4 * 2, fm->n_embd)), mask),
                                  mg_sat_mul(mg_sat_mul(vocab ? vocab : fm->n_embd, 4), n_seq));
    } else {
        /* CPU-only: the logits and a graph's activations (a CPU run reserved 64.5-70.3 MiB where this
         * gives 69.5-73, tests/llama/compare.py) */
        uint64_t graph = fm->kv.mla && kq > logits ? kq : logits;   /* MLA's attention outgrows the logits */
        graph = mg_sat_add(graph, mg_sat_mul(UBATCH * 4 * 6, fm->n_embd));
        p->ram_other = mg_sat_add(HOST_FOOTPRINT, enc > graph ? enc : graph);
    }
    p->ram_need = mg_sat_add(mg_sat_add(p->ram_weights, p->ram_kv), p->ram_other);
    p->fits_ram = !o->ram || p->ram_need <= o->ram;
    return MG_OK;
}


int mg_fit_evaluate(const mg_fit_model *fm, const mg_target *dev, size_t nd, const mg_fit_opts *o, int ngl,
                    uint64_t n_ctx, mg_fit_plan *p)
{
    fit_sums *S = mg_malloc(sizeof *S);
    if (!S) {
        memset(p, 0, sizeof *p);
        return MG_E_NOMEM;
    }
    sums_init(S, fm, o, n_ctx);
    int rc = evaluate(fm, S, dev, nd, o, ngl, n_ctx, p);
    free(S);
    return rc;
}

int mg_fit_model_from(const mg_gguf_model *m, mg_fit_model *fm)
{
    memset(fm, 0, sizeof *fm);
    if (!m->nshards || m->shards[0].err)
        return MG_E_FORMAT;
    const mg_gguf *g = &m->shards[0].g;
    int rc = mg_kv_from_gguf(g, &fm->kv);
    if (rc)
        return rc;
    const char *arch = mg_gguf_str(g, "general.architecture");
    char k[160];
    snprintf(k, sizeof k, "%s.embedding_length", arch);
    fm->n_embd = mg_gguf_u64(g, k, 0);
    snprintf(k, sizeof k, "%s.context_length", arch);
    fm->n_ctx_train = mg_gguf_u64(g, k, 0);
    snprintf(k, sizeof k, "%s.attention.head_count", arch);
    fm->n_head = mg_gguf_u64(g, k, 0);
    snprintf(k, sizeof k, "%s.feed_forward_length", arch);
    fm->n_ff = mg_gguf_u64(g, k, mg_sat_mul(4, fm->n_embd));
    snprintf(k, sizeof k, "%s.attention.key_length_mla", arch);
    fm->head_k_mla = mg_gguf_u64(g, k, 0);
    const mg_gguf_kv *tok = mg_gguf_find(g, "tokenizer.ggml.tokens");
    fm->n_vocab = tok ? tok->arr_count : 0;
    for (size_t s = 0; s < m->nshards; s++) {
        if (m->shards[s].err)
            return m->shards[s].err;
        const mg_gguf *x = &m->shards[s].g;
        for (uint64_t t = 0; t < x->n_tensors; t++) {
            const mg_gguf_tensor *ts = &x->tensors[t];
            int slot = slot_of(ts->name, fm->kv.n_layer);
            if (slot >= 0) {
                fm->slot_bytes[slot] = mg_sat_add(fm->slot_bytes[slot], ts->nbytes);
                if (ts->nbytes > fm->max_tensor[slot])
                    fm->max_tensor[slot] = ts->nbytes;
                if (is_expert(ts->name)) {
                    fm->exps_bytes[slot] = mg_sat_add(fm->exps_bytes[slot], ts->nbytes);
                    fm->n_exps_tensors++;
                    if (ts->nbytes > fm->max_exps_tensor[slot])
                        fm->max_exps_tensor[slot] = ts->nbytes;
                }
            } else
                fm->input_bytes = mg_sat_add(fm->input_bytes, ts->nbytes);
            if (!strcmp(ts->name, "output.weight"))
                fm->has_output = 1;
            if (!strcmp(ts->name, "token_embd.weight"))
                fm->token_embd_bytes = ts->nbytes;
            fm->total_bytes = mg_sat_add(fm->total_bytes, ts->nbytes);
        }
    }
    return MG_OK;
}

int mg_fit_add_lora(const mg_gguf_model *lora, mg_fit_model *fm)
{
    if (!lora->nshards)
        return MG_E_FORMAT;
    for (size_t s = 0; s < lora->nshards; s++) {
        if (lora->shards[s].err)
            return lora->shards[s].err;
        const mg_gguf *x = &lora->shards[s].g;
        for (uint64_t t = 0; t < x->n_tensors; t++) {
            const mg_gguf_tensor *ts = &x->tensors[t];
            char base[256];
            size_t n = strlen(ts->name);
            if (n < 7 || n - 7 >= sizeof base || (strcmp(ts->name + n - 7, ".lora_a") && strcmp(ts->name + n - 7, ".lora_b")))
                continue;   /* not an adapter matrix (llama_adapter_lora reads only these) */
            memcpy(base, ts->name, n - 7);
            base[n - 7] = 0;
            int slot = slot_of(base, fm->kv.n_layer);
            fm->lora_bytes = mg_sat_add(fm->lora_bytes, ts->nbytes);
            fm->total_bytes = mg_sat_add(fm->total_bytes, ts->nbytes);
            if (slot < 0) {   /* on token_embd's buffer: the host */
                fm->input_bytes = mg_sat_add(fm->input_bytes, ts->nbytes);
                continue;
            }
            fm->slot_bytes[slot] = mg_sat_add(fm->slot_bytes[slot], ts->nbytes);
            if (ts->nbytes > fm->max_tensor[slot])
                fm->max_tensor[slot] = ts->nbytes;
            if (is_expert(base))   /* follows its experts to RAM with --n-cpu-moe */
                fm->exps_bytes[slot] = mg_sat_add(fm->exps_bytes[slot], ts->nbytes);
        }
    }
    return MG_OK;
}

void mg_fit_draft_need(const mg_fit_model *dfm, const mg_target *dev, size_t nd, const mg_fit_opts *o, uint64_t n_ctx,
                       uint64_t *gpu, uint64_t *ram)
{
    /* common_base_params_to_speculative: the main model's context, split and devices, -ngld layers, the
     * draft's own cache types (f16 by default), no expert offload unless asked */
    mg_fit_opts d = *o;
    d.draft = d.mmproj = NULL;
    d.n_lora = 0;
    d.n_cpu_moe = 0;
    d.type_k = d.type_v = 1;
    int top = (int)dfm->kv.n_layer + 1;
    int ngl = o->ngl_draft >= 0 && o->ngl_draft < top ? o->ngl_draft : top;
    mg_fit_plan *p = mg_malloc(sizeof *p);
    *ram = 0;
    for (size_t i = 0; i < nd; i++)
        gpu[i] = 0;
    if (!p)
        return;
    mg_fit_evaluate(dfm, dev, nd, &d, nd ? ngl : 0, n_ctx, p);
    for (size_t i = 0; i < nd && i < MG_FIT_MAX_DEV; i++)
        gpu[i] = p->compute[i] >= GPU_RUNTIME ? p->need[i] - GPU_RUNTIME : p->need[i];
    uint64_t other = p->ram_other > HOST_FOOTPRINT ? p->ram_other - HOST_FOOTPRINT : 0;
    *ram = mg_sat_add(mg_sat_add(p->ram_weights, p->ram_kv), other);
    free(p);
}

int mg_fit_mmproj_need(const mg_gguf_model *m, uint64_t *weights, uint64_t *compute)
{
    *weights = *compute = 0;
    if (!m->nshards || m->shards[0].err)
        return m->nshards ? m->shards[0].err : MG_E_FORMAT;
    for (size_t s = 0; s < m->nshards; s++)
        for (uint64_t t = 0; !m->shards[s].err && t < m->shards[s].g.n_tensors; t++)
            *weights = mg_sat_add(*weights, m->shards[s].g.tensors[t].nbytes);
    /* clip's warm-up graph: one image of image_size at patch_size, each patch n_embd wide through an FFN
     * of feed_forward_length: an allowance of (8 x n_embd + 2 x n_ff) floats per patch (not yet
     * measured; projectors that warm up on fewer tokens are counted at the full image) */
    const mg_gguf *g = &m->shards[0].g;
    uint64_t image = mg_gguf_u64(g, "clip.vision.image_size", 0), patch = mg_gguf_u64(g, "clip.vision.patch_size", 0);
    uint64_t embd = mg_gguf_u64(g, "clip.vision.embedding_length", 0);
    uint64_t ff = mg_gguf_u64(g, "clip.vision.feed_forward_length", mg_sat_mul(4, embd));
    uint64_t side = patch ? image / patch : 0;
    uint64_t per = mg_sat_add(mg_sat_mul(8, embd), mg_sat_mul(2, ff));
    *compute = mg_sat_mul(mg_sat_mul(mg_sat_mul(side, side), per), 4);
    return MG_OK;
}

int mg_fit_override_cpu(const mg_gguf_model *m, const char *const *regex, size_t n, mg_fit_model *fm,
                        char *err, size_t errlen)
{
    regex_t re[16];
    if (n > sizeof re / sizeof re[0]) {
        snprintf(err, errlen, "at most %zu -ot patterns", sizeof re / sizeof re[0]);
        return MG_E_LIMIT;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = regcomp(&re[i], regex[i], REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char why[128];
            regerror(rc, &re[i], why, sizeof why);
            snprintf(err, errlen, "-ot '%s': %s", regex[i], why);
            while (i > 0)   /* not while (i--): that steps i past 0 */
                regfree(&re[--i]);
            return MG_E_ARG;
        }
    }
    for (size_t s = 0; s < m->nshards; s++) {
        const mg_gguf *x = &m->shards[s].g;
        for (uint64_t t = 0; !m->shards[s].err && t < x->n_tensors; t++) {
            const mg_gguf_tensor *ts = &x->tensors[t];
            int slot = slot_of(ts->name, fm->kv.n_layer), hit = 0;
            for (size_t i = 0; i < n && !hit; i++)
                hit = !regexec(&re[i], ts->name, 0, NULL, 0);
            if (!hit || slot < 0)
                continue;   /* input tensors are in RAM already */
            fm->ot_bytes[slot] = mg_sat_add(fm->ot_bytes[slot], ts->nbytes);
            if (ts->nbytes > fm->max_ot_tensor[slot])
                fm->max_ot_tensor[slot] = ts->nbytes;
            if (is_expert(ts->name))
                fm->ot_exps_bytes[slot] = mg_sat_add(fm->ot_exps_bytes[slot], ts->nbytes);
        }
    }
    for (size_t i = 0; i < n; i++)
        regfree(&re[i]);
    return MG_OK;
}

/*
 * A tensor split searched with the placement (no -ts given): the GPUs filled in order, each with the
 * most slots its usable memory holds (found by bisection: a GPU's need grows with its run), the last
 * with the rest. For contiguous runs whose cost grows with their length this finds a split whenever
 * one exists. On success o->split holds the slot counts (what a user passes as -ts) and *p the plan.
 */
static int fill_split(const mg_fit_model *fm, fit_sums *S, const mg_target *dev, size_t nd, mg_fit_opts *o, int ngl,
                      uint64_t n_ctx, mg_fit_plan *p)
{
    int total = ngl < (int)fm->kv.n_layer + 1 ? ngl : (int)fm->kv.n_layer + 1, rem = total;
    o->nsplit = nd;
    for (size_t d = 0; d < nd; d++)
        o->split[d] = 0;
    for (size_t d = 0; d + 1 < nd; d++) {
        int lo = 0, hi = rem, got = -1;   /* the largest count in [lo, hi] that GPU d holds */
        while (lo <= hi) {
            int mid = lo + (hi - lo) / 2;
            o->split[d] = mid;
            o->split[d + 1] = rem - mid;
            evaluate(fm, S, dev, nd, o, ngl, n_ctx, p);
            if (p->need[d] <= p->usable[d]) {
                got = mid;
                lo = mid + 1;
            } else
                hi = mid - 1;
        }
        if (got < 0)
            break;
        o->split[d] = got;
        o->split[d + 1] = 0;
        rem -= got;
    }
    o->split[nd - 1] = rem;
    int sum = 0;
    for (size_t d = 0; d < nd; d++)
        sum += (int)o->split[d];
    if (sum == total) {
        evaluate(fm, S, dev, nd, o, ngl, n_ctx, p);
        if (p->fits_gpu)
            return 1;
    }
    o->nsplit = 0;
    return 0;
}

int mg_fit_search(const mg_fit_model *fm, const mg_target *dev, size_t nd, const mg_fit_opts *o_in,
                  mg_fit_plan *best, uint64_t *max_ctx)
{
    mg_fit_opts oo = *o_in;
    const mg_fit_opts *o = &oo;
    uint64_t ctx = o->n_ctx ? o->n_ctx : (fm->n_ctx_train ? fm->n_ctx_train : 4096);
    int top = (int)fm->kv.n_layer + 1;
    int from = o->ngl >= 0 ? (o->ngl < top ? o->ngl : top) : top;
    int to = o->ngl >= 0 ? from : 0;
    int found = 0;
    fit_sums *S = mg_malloc(sizeof *S);
    if (!S) {
        memset(best, 0, sizeof *best);
        *max_ctx = 0;
        return MG_E_NOMEM;
    }
    sums_init(S, fm, o, ctx);
    /* MoE: every layer on the GPUs with the experts of the fewest leading blocks in RAM (what
     * --n-cpu-moe is for) beats fewer layers; only then are layers taken off. */
    int search_split = nd > 1 && !o_in->nsplit;
    if (oo.n_cpu_moe < 0) {
        oo.n_cpu_moe = 0;
        int n_def = -1;
        for (int n = 0; nd && fm->n_exps_tensors && from == top && n <= (int)fm->kv.n_layer && !found; n++) {
            oo.n_cpu_moe = n;
            evaluate(fm, S, dev, nd, o, top, ctx, best);
            found = best->fits_gpu;
            n_def = found ? n : -1;
        }
        /* Fewer expert blocks in RAM with a split of our own: the fewest whose filled split fits
         * (bisection: more blocks in RAM never need more GPU memory). */
        if (search_split && fm->n_exps_tensors && from == top && n_def != 0) {
            int lo = 0, hi = found ? n_def - 1 : (int)fm->kv.n_layer, got = -1;
            mg_fit_plan tmp;
            while (lo <= hi) {
                int mid = lo + (hi - lo) / 2;
                oo.n_cpu_moe = mid;
                if (fill_split(fm, S, dev, nd, &oo, top, ctx, &tmp)) {
                    got = mid;
                    hi = mid - 1;
                } else
                    lo = mid + 1;
            }
            if (got >= 0) {
                oo.n_cpu_moe = got;
                fill_split(fm, S, dev, nd, &oo, top, ctx, best);
                best->split_searched = found = 1;
            } else if (found) {
                oo.n_cpu_moe = n_def;
                evaluate(fm, S, dev, nd, o, top, ctx, best);
            }
        }
        if (!found)
            oo.n_cpu_moe = 0;
    }
    /* The most layers on the GPUs at the requested context. */
    int ngl_def = -1;
    for (int ngl = from; ngl >= to && !found; ngl--) {
        evaluate(fm, S, dev, nd, o, nd ? ngl : 0, ctx, best);
        if (best->fits_gpu) {
            ngl_def = ngl;
            break;
        }
    }
    /* More layers with a split of our own (bisection on -ngl above what the default split holds). */
    if (search_split && !found && ngl_def < from) {
        int lo = ngl_def + 1 > to ? ngl_def + 1 : to, hi = from, got = -1;
        mg_fit_plan tmp;
        while (lo <= hi) {
            int mid = lo + (hi - lo) / 2;
            if (fill_split(fm, S, dev, nd, &oo, mid, ctx, &tmp)) {
                got = mid;
                lo = mid + 1;
            } else
                hi = mid - 1;
        }
        if (got >= 0) {
            fill_split(fm, S, dev, nd, &oo, got, ctx, best);
            best->split_searched = 1;
        } else if (ngl_def >= 0)
            evaluate(fm, S, dev, nd, o, ngl_def, ctx, best);
    }
    /* The largest context at that placement (binary search in 256-cell steps). */
    *max_ctx = 0;
    uint64_t lo = 256, hi = fm->n_ctx_train ? fm->n_ctx_train : 131072;
    mg_fit_plan tmp;
    if (hi < lo) {   /* a tiny training context: just that */
        evaluate(fm, S, dev, nd, o, best->ngl, hi, &tmp);
        *max_ctx = tmp.fits_gpu && tmp.fits_ram ? hi : 0;
        free(S);
        return MG_OK;
    }
    while (lo <= hi) {
        uint64_t mid = (lo + (hi - lo) / 2) / 256 * 256;   /* no wrap, whatever context_length says */
        if (mid < 256)
            mid = 256;
        evaluate(fm, S, dev, nd, o, best->ngl, mid, &tmp);
        if (tmp.fits_gpu && tmp.fits_ram) {
            *max_ctx = mid;
            if (hi - mid < 256)
                break;   /* the top step (mid + 256 would pass 2^64 when hi is near it, and start over) */
            lo = mid + 256;
        } else {
            if (mid < 512)
                break;
            hi = mid - 256;
        }
    }
    free(S);
    return MG_OK;
}

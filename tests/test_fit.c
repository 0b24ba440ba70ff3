/* test_fit.c - llama.cpp's placement rules in `fit`: -ngl slots, host embeddings, tied output, splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/arith.h"
#include "models/formats.h"
#include "gguf_writer.h"
#include "lcg.h"
#include "mlgate/mlgate.h"

#define MIB (1024ull * 1024)
#define GIB (1024 * MIB)

/* fit's model of a GGUF written into b (freed here), with -ot ot=CPU when ot is not NULL. */
static mg_fit_model fit_model_of(buf *b, const char *ot)
{
    mg_gguf_model m = {0};
    mg_gguf_file f;
    memset(&f, 0, sizeof f);
    mg_arena *a = mg_arena_new();
    char err[128];
    uint64_t need;
    assert_int_equal(mg_gguf_parse(b->p, b->n, a, &f.g, &need, err, sizeof err), MG_OK);
    m.nshards = 1;
    m.shards = &f;
    mg_fit_model fm;
    assert_int_equal(mg_fit_model_from(&m, &fm), MG_OK);
    if (ot)
        assert_int_equal(mg_fit_override_cpu(&m, &ot, 1, &fm, err, sizeof err), MG_OK);
    mg_arena_free(a);
    free(b->p);
    return fm;
}

/* A 4-block llama: each block one F32 tensor of `block` bytes (and, for MoE, one routed-expert tensor of
 * `exps` bytes), token_embd `embd` bytes, output optional. */
static mg_fit_model model_ex(uint64_t block, uint64_t exps, uint64_t embd, int with_output, const char *ot)
{
    buf b = {0};
    uint64_t nt = 4 + (exps ? 4 : 0) + 1 + (with_output ? 1 : 0);
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, nt);
    u64(&b, 6);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "llama");
    str(&b, "llama.block_count"); u32(&b, MG_GGUF_U32); u32(&b, 4);
    str(&b, "llama.embedding_length"); u32(&b, MG_GGUF_U32); u32(&b, 1024);
    str(&b, "llama.attention.head_count"); u32(&b, MG_GGUF_U32); u32(&b, 8);
    str(&b, "llama.attention.head_count_kv"); u32(&b, MG_GGUF_U32); u32(&b, 8);
    str(&b, "llama.context_length"); u32(&b, MG_GGUF_U32); u32(&b, 8192);
    uint64_t off = 0;
    for (int i = 0; i < 4; i++) {
        char n[32];
        snprintf(n, sizeof n, "blk.%d.ffn.weight", i);
        str(&b, n); u32(&b, 1); u64(&b, block / 4); u32(&b, 0); u64(&b, off);
        off += block;
        if (exps) {
            snprintf(n, sizeof n, "blk.%d.ffn_up_exps.weight", i);
            str(&b, n); u32(&b, 1); u64(&b, exps / 4); u32(&b, 0); u64(&b, off);
            off += exps;
        }
    }
    str(&b, "token_embd.weight"); u32(&b, 1); u64(&b, embd / 4); u32(&b, 0); u64(&b, off);
    off += embd;
    if (with_output) {
        str(&b, "output.weight"); u32(&b, 1); u64(&b, embd / 4); u32(&b, 0); u64(&b, off);
    }
    return fit_model_of(&b, ot);
}

static mg_fit_model model(uint64_t block, uint64_t embd, int with_output)
{
    return model_ex(block, 0, embd, with_output, NULL);
}

static void ngl_counts_the_output_head(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);   /* n_layer + 1: everything */
    assert_int_equal(p.layers[0], 5);
    assert_int_equal(p.weights[0], 4 * 100 * MIB + 50 * MIB);
    assert_int_equal(p.ram_weights, 50 * MIB);         /* token_embd stays on the host */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 4, 4096, &p);   /* -ngl 4 on 4 blocks: block 0 on the CPU */
    assert_int_equal(p.layers[0], 4);
    assert_int_equal(p.weights[0], 3 * 100 * MIB + 50 * MIB);
    assert_int_equal(p.ram_weights, 100 * MIB + 50 * MIB);
    mg_fit_evaluate(&fm, &gpu, 1, &o, 0, 4096, &p);
    assert_int_equal(p.layers[0], 0);
    /* no layer there, but op offload runs the batch's matmuls on the GPU: a CUDA context, a copy of
     * the largest weight (a block's 100 MiB tensor), the logits (2 MiB: no vocabulary) and activations */
    assert_int_equal(p.offload, 100 * MIB);
    assert_int_equal(p.need[0], 700 * MIB + 100 * MIB + 2 * MIB + 16 * MIB);
    o.no_op_offload = 1;                               /* --no-op-offload: nothing there, no CUDA context either */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 0, 4096, &p);
    assert_int_equal(p.need[0], 0);
}

/* Compute buffers as a CUDA build reserved them on an H100 for a 1024-wide, 32,000-token model
 * (tests/gpu/fit_llama_cuda.py): CUDA0 64.5 MiB, CUDA_Host 12.0 + 0.12 MiB at 8192 tokens. */
static void compute_buffers_as_measured(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    fm.n_embd = 1024;
    fm.n_vocab = 32000;
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 8192, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 8192, &p);
    assert_int_equal(p.compute[0], 700 * MIB + 64 * MIB + MIB / 2);       /* runtime + logits and hidden */
    uint64_t host = p.ram_other - 150 * MIB;                                /* less the process footprint */
    assert_true(host >= 12 * MIB && host <= 12 * MIB + MIB / 8 + 1024);     /* 12.0 + output 0.12 MiB */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 4, 8192, &p);                         /* partial: an allowance more, */
    assert_int_equal(p.compute[0], 700 * MIB + 100 * MIB + 16 * MIB);      /* block 0's copy over the logits */
    o.no_op_offload = 1;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 4, 8192, &p);
    assert_int_equal(p.compute[0], 700 * MIB + 64 * MIB + MIB / 2 + 16 * MIB);
    o.no_op_offload = 0;
    o.n_seq = 4;                                                            /* 4 streams: masks of n_ctx / 4 */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 8192, &p);
    assert_int_equal(p.ram_other - 150 * MIB, 4 * MIB + 2 * MIB + 4 * 32000 * 4);
    o.no_op_offload = 1;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 0, 8192, &p);                         /* CPU only: no GPU runtime */
    assert_int_equal(p.compute[0], 0);
    o.no_op_offload = 0;   /* with op offload the GPU runs the batch: logits and a copy of the 100 MiB block */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 0, 8192, &p);
    assert_int_equal(p.compute[0], 700 * MIB + 100 * MIB + 64 * MIB + MIB / 2 + 16 * MIB);
    /* flash attention off: 1.25 x the KQ scores of 512 tokens x 8192 cells x 8 heads, above the logits */
    fm.n_head = 8;
    o.n_seq = 1;
    o.flash_attn = MG_FA_OFF;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 8192, &p);
    assert_false(p.flash_attn);
    assert_int_equal(p.compute[0], 700 * MIB + (uint64_t)(1.25 * (double)(512ull * 8192 * 8 * 4)));
    o.flash_attn = MG_FA_AUTO;                                              /* head size 128: a kernel */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 8192, &p);
    assert_true(p.flash_attn);
    fm.kv.head_k = fm.kv.head_v = 160;                                      /* none for 160: off */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 8192, &p);
    assert_false(p.flash_attn);
}

/* MLA (DeepSeek-V3's attention: 128 heads, cached K 576 = kv_lora 512 + rope 64, decompressed K 192):
 * the absorbed query outgrows the logits; with flash attention off the scores come on top, once (CPU
 * llama.cpp at width 2048, 4096 cells: 360 MiB flash, 1388 MiB without; tests/llama/compare.py). */
static void mla_attention_outgrows_the_logits(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    fm.n_embd = 2048;
    fm.n_vocab = 32000;
    fm.n_head = 128;
    fm.head_k_mla = 192;
    fm.kv.mla = 1;
    fm.kv.head_k = 576;
    fm.kv.head_v = 512;
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_true(p.flash_attn);
    uint64_t attn = 512ull * (128 * (576 + 512 + 192 + 64) + 8 * 2048) * 4 + 512ull * 4096 * 2;
    assert_int_equal(p.compute[0], 700 * MIB + attn);
    assert_true(attn >= 360 * MIB && attn < 380 * MIB);
    o.flash_attn = MG_FA_OFF;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    uint64_t off = attn - 512ull * 4096 * 2 + 512ull * 4096 * 4 + 512ull * 4096 * 128 * 4;
    assert_int_equal(p.compute[0], 700 * MIB + off);
    assert_true(off >= 1388 * MIB);
    fm.kv.mla = 0;   /* the same heads without MLA: the logits and 1.25 x scores rule */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.compute[0], 700 * MIB + (uint64_t)(1.25 * (double)(512ull * 4096 * 128 * 4)));
}

/* An encoder (BERT): no LM head to duplicate, no logits, no cache; the FFN is the graph. */
static void encoders_have_no_head_and_no_cache(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 0);
    fm.n_embd = 1024;
    fm.n_ff = 4096;
    fm.n_vocab = 250002;
    fm.kv.no_cache = fm.kv.encoder = 1;
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 8192, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 8192, &p);
    assert_int_equal(p.kv[0], 0);
    assert_int_equal(p.weights[0], 4 * 100 * MIB);                       /* token_embd not duplicated */
    assert_int_equal(p.compute[0], 700 * MIB + 512ull * (4096 + 6 * 1024) * 4);   /* not 250002 logits */
}

/* A DeepSeek-V3 Q4_K_M-shaped model, built directly: 61 blocks (3 dense), 256-expert blocks of 6 GiB
 * (the largest tensor 2.4 GiB), MLA (128 heads, K-only cache of 576), 129,280 tokens. */
static void deepseek_v3_q4(mg_fit_model *fm)
{
    memset(fm, 0, sizeof *fm);
    mg_kv_model *kv = &fm->kv;
    snprintf(kv->arch, sizeof kv->arch, "deepseek2");
    kv->n_layer = kv->n_layer_kv = 61;
    kv->head_k = 576;
    kv->head_v = 512;
    kv->mla = 1;
    fm->head_k_mla = 192;
    fm->n_embd = 7168;
    fm->n_vocab = 129280;
    fm->n_head = 128;
    fm->n_ff = 18432;
    fm->n_ctx_train = 163840;
    for (uint32_t il = 0; il < 61; il++) {
        kv->n_head_kv[il] = 1;
        if (il < 3) {
            fm->slot_bytes[il] = 600 * MIB;
            fm->max_tensor[il] = 130 * MIB;
        } else {
            fm->exps_bytes[il] = 6 * GIB;
            fm->max_exps_tensor[il] = fm->max_tensor[il] = 2458 * MIB;
            fm->slot_bytes[il] = 6 * GIB + 150 * MIB;
            fm->n_exps_tensors += 3;
        }
    }
    fm->slot_bytes[61] = fm->max_tensor[61] = 720 * MIB;
    fm->has_output = 1;
    fm->input_bytes = fm->token_embd_bytes = 500 * MIB;
    for (uint32_t i = 0; i <= 61; i++)
        fm->total_bytes += fm->slot_bytes[i];
}

/* 96 + 32 GB: the split by free memory (0.75/0.25) leaves the big card mostly empty because the small
 * one's quarter of the slots decides --n-cpu-moe; filling the GPUs in order keeps more experts there. */
static void split_searched_with_the_expert_offload(void **state)
{
    (void)state;
    mg_fit_model *fm = malloc(sizeof *fm);
    assert_non_null(fm);
    deepseek_v3_q4(fm);
    mg_target gpus[2] = {{.name = "RTX PRO 6000", .mem_total = 96 * GIB, .mem_free = 96 * GIB},
                         {.name = "RTX 5090", .mem_total = 32 * GIB, .mem_free = 32 * GIB}};
    mg_fit_opts o = {.n_ctx = 8192, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1, .n_cpu_moe = -1,
                     .nsplit = 2, .split = {96, 32}};
    mg_fit_plan by_memory, searched;
    uint64_t max_ctx;
    mg_fit_search(fm, gpus, 2, &o, &by_memory, &max_ctx);   /* the free-memory split, as -ts 96,32 */
    assert_true(by_memory.fits_gpu);
    assert_int_equal(by_memory.ngl, 62);
    assert_false(by_memory.split_searched);
    o.nsplit = 0;
    mg_fit_search(fm, gpus, 2, &o, &searched, &max_ctx);
    assert_true(searched.fits_gpu);
    assert_true(searched.split_searched);
    assert_int_equal(searched.ngl, 62);
    assert_true(searched.n_cpu_moe < by_memory.n_cpu_moe);
    assert_int_equal(searched.layers[0] + searched.layers[1], 62);
    for (int d = 0; d < 2; d++)
        assert_true(searched.need[d] <= searched.usable[d]);
    assert_true(searched.need[0] > by_memory.need[0]);        /* the big card is used */
    /* the split found, given back as -ts (slot counts), is the same plan */
    mg_fit_plan again;
    o.nsplit = 2;
    o.split[0] = searched.layers[0];
    o.split[1] = searched.layers[1];
    o.n_cpu_moe = searched.n_cpu_moe;
    mg_fit_evaluate(fm, gpus, 2, &o, 62, 8192, &again);
    assert_true(again.fits_gpu);
    assert_int_equal(again.layers[0], searched.layers[0]);
    assert_int_equal(again.need[0], searched.need[0]);
    /* one expert block fewer in RAM fits no split: the GPUs are full */
    o.n_cpu_moe = searched.n_cpu_moe - 1;
    int any = 0;
    for (int c = 0; c <= 62 && !any; c++) {
        o.split[0] = c;
        o.split[1] = 62 - c;
        mg_fit_evaluate(fm, gpus, 2, &o, 62, 8192, &again);
        any = again.fits_gpu;
    }
    assert_false(any);
    free(fm);
}

/* --lora: BASE.lora_a/lora_b join BASE's slot (blk.2 -> block 2, output -> the output slot), anything
 * else in the adapter is not read; token_embd's adapter stays on the host with it. */
static void lora_tensors_follow_their_base_layer(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 5);
    u64(&b, 1);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "llama");
    const char *names[] = {"blk.2.ffn.weight.lora_a", "blk.2.ffn.weight.lora_b", "output.weight.lora_a",
                           "token_embd.weight.lora_b", "blk.1.ffn.weight"};
    uint64_t off = 0;
    for (int i = 0; i < 5; i++) {
        str(&b, names[i]); u32(&b, 1); u64(&b, MIB / 4); u32(&b, 0); u64(&b, off);
        off += MIB;
    }
    mg_gguf_model m = {0};
    mg_gguf_file f;
    memset(&f, 0, sizeof f);
    mg_arena *a = mg_arena_new();
    char err[128];
    uint64_t need;
    assert_int_equal(mg_gguf_parse(b.p, b.n, a, &f.g, &need, err, sizeof err), MG_OK);
    m.nshards = 1;
    m.shards = &f;
    assert_int_equal(mg_fit_add_lora(&m, &fm), MG_OK);
    mg_arena_free(a);
    free(b.p);
    assert_int_equal(fm.lora_bytes, 4 * MIB);             /* the plain tensor is not an adapter matrix */
    assert_int_equal(fm.slot_bytes[2], 100 * MIB + 2 * MIB);
    assert_int_equal(fm.slot_bytes[1], 100 * MIB);
    assert_int_equal(fm.slot_bytes[4], 50 * MIB + MIB);    /* the output slot */
    assert_int_equal(fm.input_bytes, 50 * MIB + MIB);      /* token_embd's, on the host */
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 2, 4096, &p);         /* blocks 3 and the output on the GPU */
    assert_int_equal(p.weights[0], 100 * MIB + 50 * MIB + MIB);
}

/* --mmproj: the projector's tensors, and its warm-up allowance from clip.vision.* (448 / 14 = 32 x 32
 * patches of 1024 wide with an FFN of 4096: 8 x 1024 + 2 x 4096 floats each). */
static void mmproj_weights_and_warmup(void **state)
{
    (void)state;
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 2);
    u64(&b, 5);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "clip");
    str(&b, "clip.vision.image_size"); u32(&b, MG_GGUF_U32); u32(&b, 448);
    str(&b, "clip.vision.patch_size"); u32(&b, MG_GGUF_U32); u32(&b, 14);
    str(&b, "clip.vision.embedding_length"); u32(&b, MG_GGUF_U32); u32(&b, 1024);
    str(&b, "clip.vision.feed_forward_length"); u32(&b, MG_GGUF_U32); u32(&b, 4096);
    str(&b, "v.blk.0.attn_q.weight"); u32(&b, 1); u64(&b, MIB / 4); u32(&b, 0); u64(&b, 0);
    str(&b, "mm.0.weight"); u32(&b, 1); u64(&b, 2 * MIB / 4); u32(&b, 0); u64(&b, MIB);
    mg_gguf_model m = {0};
    mg_gguf_file f;
    memset(&f, 0, sizeof f);
    mg_arena *a = mg_arena_new();
    char err[128];
    uint64_t need, w, c;
    assert_int_equal(mg_gguf_parse(b.p, b.n, a, &f.g, &need, err, sizeof err), MG_OK);
    m.nshards = 1;
    m.shards = &f;
    assert_int_equal(mg_fit_mmproj_need(&m, &w, &c), MG_OK);
    assert_int_equal(w, 3 * MIB);
    assert_int_equal(c, 32ull * 32 * (8 * 1024 + 2 * 4096) * 4);
    mg_arena_free(a);
    free(b.p);
}

static void tied_embeddings_are_duplicated(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 0);
    assert_false(fm.has_output);
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.weights[0], 4 * 100 * MIB + 50 * MIB);   /* token_embd again, as the output */
    assert_int_equal(p.ram_weights, 50 * MIB);
    mg_fit_evaluate(&fm, &gpu, 1, &o, 0, 4096, &p);              /* all on the CPU: one copy */
    assert_int_equal(p.ram_weights, 4 * 100 * MIB + 50 * MIB);
}

static void asymmetric_gpus_split_by_free_memory(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    mg_target gpus[2] = {{.name = "RTX PRO 6000", .mem_total = 96 * GIB, .mem_free = 96 * GIB},
                         {.name = "RTX 5090", .mem_total = 32 * GIB, .mem_free = 32 * GIB}};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, gpus, 2, &o, 5, 4096, &p);
    assert_true(p.split[0] > 0.74 && p.split[0] < 0.76);   /* 96:32, not 50/50 */
    assert_int_equal(p.layers[0] + p.layers[1], 5);
    assert_true(p.layers[0] > p.layers[1]);
    o.nsplit = 2;
    o.split[0] = o.split[1] = 1;
    mg_fit_evaluate(&fm, gpus, 2, &o, 5, 4096, &p);
    assert_true(p.split[0] == 0.5);
}

static void search_reduces_layers_then_finds_the_largest_context(void **state)
{
    (void)state;
    mg_fit_model fm = model(1 * GIB, 256 * MIB, 1);
    /* 3.5 GiB usable after 10% headroom of ~3.9 GiB: the context + 457 MiB leave room for 2 blocks + output. */
    mg_target gpu = {.name = "small", .mem_total = 4 * GIB, .mem_free = 4 * GIB - 100 * MIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    uint64_t max_ctx;
    mg_fit_search(&fm, &gpu, 1, &o, &p, &max_ctx);
    assert_true(p.fits_gpu);
    assert_true(p.ngl < 5 && p.ngl > 0);
    assert_true(p.need[0] <= p.usable[0]);
    mg_fit_plan more;
    mg_fit_evaluate(&fm, &gpu, 1, &o, p.ngl + 1, 4096, &more);
    assert_false(more.fits_gpu);                         /* one more slot would not fit */
    assert_true(max_ctx >= 4096 && max_ctx <= 8192);
    mg_fit_evaluate(&fm, &gpu, 1, &o, p.ngl, max_ctx, &more);
    assert_true(more.fits_gpu);
}

/* --n-cpu-moe N keeps the experts of blocks 0..N-1 in RAM; their attention and KV stay on the GPU. */
static void n_cpu_moe_moves_leading_experts(void **state)
{
    (void)state;
    mg_fit_model fm = model_ex(10 * MIB, 1 * GIB, 50 * MIB, 1, NULL);
    assert_int_equal(fm.n_exps_tensors, 4);
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1, .n_cpu_moe = 3};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.layers[0], 5);
    assert_int_equal(p.weights[0], 4 * 10 * MIB + 1 * GIB + 50 * MIB);   /* block 3's experts only */
    assert_int_equal(p.ram_weights, 3 * GIB + 50 * MIB);                  /* + token_embd */
    assert_int_equal(p.n_cpu_moe, 3);
}

/* A 2.5 GiB GPU cannot hold 4 GiB of experts: the search keeps every layer there and moves the
 * fewest leading blocks' experts, rather than taking layers off. */
static void search_prefers_n_cpu_moe_for_moe_models(void **state)
{
    (void)state;
    mg_fit_model fm = model_ex(10 * MIB, 1 * GIB, 50 * MIB, 1, NULL);
    mg_target gpu = {.name = "small", .mem_total = 3 * GIB, .mem_free = 3 * GIB};
    mg_fit_opts o = {.n_ctx = 1024, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1, .n_cpu_moe = -1,
                     .no_op_offload = 1};
    mg_fit_plan p;
    uint64_t max_ctx;
    mg_fit_search(&fm, &gpu, 1, &o, &p, &max_ctx);
    assert_true(p.fits_gpu);
    assert_int_equal(p.ngl, 5);
    assert_true(p.n_cpu_moe >= 1 && p.n_cpu_moe < 4);
    mg_fit_plan fewer;   /* one block fewer in RAM would not fit */
    o.n_cpu_moe = p.n_cpu_moe - 1;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 1024, &fewer);
    assert_false(fewer.fits_gpu);
    /* A dense model of the same size has no experts to move: layers come off instead. */
    mg_fit_model dense = model(1 * GIB + 10 * MIB, 50 * MIB, 1);
    o.n_cpu_moe = -1;
    mg_fit_search(&dense, &gpu, 1, &o, &p, &max_ctx);
    assert_int_equal(p.n_cpu_moe, 0);
    assert_true(p.ngl < 5);
}

/* Op offload (llama.cpp's default): with experts in RAM the first GPU copies the largest of them for a
 * large batch (measured: a DeepSeek-V3-width slice at -ngl 3 --n-cpu-moe 2 reserved 3,988 MiB of compute
 * on an H200, one expert tensor). The copy goes to GPU 0 whichever GPU holds the blocks. */
static void experts_in_ram_are_copied_to_the_first_gpu(void **state)
{
    (void)state;
    mg_fit_model fm = model_ex(10 * MIB, 1 * GIB, 50 * MIB, 1, NULL);
    mg_target gpus[2] = {{.name = "a", .mem_total = 80 * GIB, .mem_free = 80 * GIB},
                         {.name = "b", .mem_total = 80 * GIB, .mem_free = 80 * GIB}};
    mg_fit_opts o = {.n_ctx = 1024, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1, .n_cpu_moe = 2};
    mg_fit_plan p, q;
    mg_fit_evaluate(&fm, gpus, 1, &o, 5, 1024, &p);
    assert_int_equal(p.offload, 1 * GIB);
    assert_true(p.compute[0] >= 700 * MIB + 1 * GIB);
    o.no_op_offload = 1;
    mg_fit_evaluate(&fm, gpus, 1, &o, 5, 1024, &q);
    assert_int_equal(q.offload, 0);
    assert_int_equal(p.compute[0] - q.compute[0], 1 * GIB - (q.compute[0] - 700 * MIB - 16 * MIB));
    /* no experts in RAM: nothing to copy */
    o.no_op_offload = 0;
    o.n_cpu_moe = 0;
    mg_fit_evaluate(&fm, gpus, 1, &o, 5, 1024, &p);
    assert_int_equal(p.offload, 0);
    /* two GPUs split 0:1: the blocks are all on GPU 1, the copy still on GPU 0 (a CUDA context with it) */
    o.n_cpu_moe = 2;
    o.nsplit = 2;
    o.split[0] = 0;
    o.split[1] = 1;
    mg_fit_evaluate(&fm, gpus, 2, &o, 5, 1024, &p);
    assert_int_equal(p.layers[0], 0);
    assert_true(p.compute[0] >= 700 * MIB + 1 * GIB);
    assert_true(p.compute[1] < 700 * MIB + 1 * GIB);
    /* -ot ...=CPU tensors count too: a 1 GiB expert tensor of block 3 moved by a pattern */
    mg_fit_model ot = model_ex(10 * MIB, 1 * GIB, 50 * MIB, 1, "blk\\.3\\.ffn_up_exps");
    o.nsplit = 0;
    o.n_cpu_moe = 0;
    mg_fit_evaluate(&ot, gpus, 1, &o, 5, 1024, &p);
    assert_int_equal(p.offload, 1 * GIB);
}

/* -ot REGEX=CPU: matching tensors stay in RAM; overlapping --n-cpu-moe does not count them twice. */
static void override_tensor_to_cpu(void **state)
{
    (void)state;
    mg_fit_model fm = model_ex(10 * MIB, 1 * GIB, 50 * MIB, 1, "blk\\.[02]\\.ffn_up_exps");
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.ram_weights, 2 * GIB + 50 * MIB);   /* blocks 0 and 2 */
    o.n_cpu_moe = 2;                                       /* blocks 0, 1 (and 2 from -ot) */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.ram_weights, 3 * GIB + 50 * MIB);
    assert_int_equal(p.weights[0], 4 * 10 * MIB + 1 * GIB + 50 * MIB);
    /* A bad regex is a clear error. */
    mg_gguf_model none = {0};
    const char *bad = "blk[";
    char err[256] = "";
    assert_int_equal(mg_fit_override_cpu(&none, &bad, 1, &fm, err, sizeof err), MG_E_ARG);
    assert_non_null(strstr(err, "blk["));
}

/* A Llama-3.1-8B-shaped config.json beside 16 GB of bf16 weights, sized by hand. */
static void safetensors_weights_kv_and_activations(void **state)
{
    (void)state;
    mg_st_file shard;
    memset(&shard, 0, sizeof shard);
    shard.st.data_bytes = 16060522496ull;
    mg_st_model m;
    memset(&m, 0, sizeof m);
    m.nshards = 1;
    m.shards = &shard;
    m.has_config = 1;
    snprintf(m.torch_dtype, sizeof m.torch_dtype, "bfloat16");
    m.hidden_size = 4096, m.layers = 32, m.heads = 32, m.kv_heads = 8, m.intermediate = 14336;
    mg_fit_st f;
    assert_int_equal(mg_fit_safetensors(&m, 8192, 1, 1, &f), MG_OK);
    assert_int_equal(f.weights, 16060522496ull);
    assert_int_equal(f.kv_per_token, 128 * 1024);       /* 2 x 32 x 8 x 128 x 2 */
    assert_int_equal(f.kv, 1 * GIB);
    /* 8192 x (3 x 14336 + 4 x 4096) x 2 = 928 MiB for an 8k prompt in one pass */
    assert_int_equal(f.activations, 928 * MIB);
    assert_int_equal(mg_fit_safetensors(&m, 8192, 4, 1, &f), MG_OK);
    assert_int_equal(f.kv, 4 * GIB);                     /* four sequences, four caches */
    /* Absurd numbers from a hostile config.json saturate instead of wrapping to something small. */
    m.layers = 999999999999999ull, m.intermediate = 999999999999999ull;
    assert_int_equal(mg_fit_safetensors(&m, 1ull << 40, 1, 1, &f), MG_OK);
    assert_true(f.kv == UINT64_MAX && f.activations == UINT64_MAX);
}

/* Flash attention off with a head count from a hostile GGUF: ubatch x cells x heads x 4 is past 2^64
 * (wrapped to 0 before), or 1.25 x it is (a double out of uint64_t's range: undefined, 0 on x86). */
static void kq_of_a_huge_head_count_saturates(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1,
                     .flash_attn = MG_FA_OFF};
    mg_fit_plan p;
    fm.n_head = 1ull << 62;   /* 512 x 4096 x 2^62 x 4 = 2^85 */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.compute[0], UINT64_MAX);
    assert_int_equal(p.need[0], UINT64_MAX);
    assert_false(p.fits_gpu);
    fm.n_head = (1ull << 41) - 1;   /* 512 x 4096 x 4 x n_head < 2^64, 1.25 x that > 2^64 */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.compute[0], UINT64_MAX);
    assert_false(p.fits_gpu);
}

/* Vocabulary and embedding sizes past 2^64 / 2^11: the logits and host buffers saturate. */
static void huge_vocab_and_embedding_saturate(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    fm.n_vocab = 1ull << 63;   /* logits 512 x 2^63 x 4, host output 2^63 x 4 */
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.compute[0], UINT64_MAX);
    assert_int_equal(p.ram_other, UINT64_MAX);
    assert_false(p.fits_gpu);
    fm.n_vocab = 32000;
    fm.n_embd = 1ull << 60;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 0, 4096, &p);   /* CPU only */
    assert_int_equal(p.ram_other, UINT64_MAX);
    assert_int_equal(p.ram_need, UINT64_MAX);
}

/* A GPU reporting 2^64 - 1 bytes free with no headroom: (double) of it is 2^64, out of uint64_t's range. */
static void usable_of_the_largest_gpu(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    mg_target gpu = {.name = "huge", .mem_total = UINT64_MAX, .mem_free = UINT64_MAX};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.usable[0], UINT64_MAX);
    assert_true(p.fits_gpu);
}

static void hung(int sig)
{
    (void)sig;
    static const char m[] = "fit search did not terminate\n";
    ssize_t n = write(2, m, sizeof m - 1);
    (void)n;
    _exit(1);
}

/* context_length 2^64 - 1 on a model whose memory does not grow with the context (no attention layers):
 * the binary search must reach the top 256-cell step and stop, not step past 2^64 and start again. */
static void search_terminates_at_the_largest_context(void **state)
{
    (void)state;
    mg_fit_model fm = model(100 * MIB, 50 * MIB, 1);
    for (uint32_t il = 0; il < fm.kv.n_layer; il++)
        fm.kv.n_head_kv[il] = 0;
    fm.n_ctx_train = UINT64_MAX;
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1};
    mg_fit_plan p;
    uint64_t max_ctx = 0;
    signal(SIGALRM, hung);
    alarm(60);
    mg_fit_search(&fm, &gpu, 1, &o, &p, &max_ctx);
    alarm(0);
    assert_true(p.fits_gpu);
    assert_int_equal(max_ctx, UINT64_MAX / 256 * 256);
}

/* A GGUF of its own tensors (one dimension each): name, element count, ggml type (NULL: all F32). */
static mg_fit_model model_of(const char *const *names, const uint64_t *ne, const uint32_t *type, size_t n)
{
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, n);
    u64(&b, 2);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "llama");
    str(&b, "llama.block_count"); u32(&b, MG_GGUF_U32); u32(&b, 4);
    for (size_t i = 0; i < n; i++) {
        str(&b, names[i]); u32(&b, 1); u64(&b, ne[i]); u32(&b, type ? type[i] : 0); u64(&b, 0);
    }
    return fit_model_of(&b, "blk");
}

/* blk.4294967296 is not block 0 (sscanf's %u kept the low 32 bits), nor is a number past 64 bits. */
static void block_numbers_past_32_bits(void **state)
{
    (void)state;
    const char *n1[] = {"blk.4294967296.ffn.weight", "blk.0.ffn.weight", "blk.18446744073709551616.ffn.weight",
                        "blk.3.ffn.weight"};
    uint64_t e1[] = {1000, 10, 100, 1};
    mg_fit_model fm = model_of(n1, e1, NULL, 4);
    assert_int_equal(fm.slot_bytes[0], 40);
    assert_int_equal(fm.slot_bytes[3], 4);
    assert_int_equal(fm.input_bytes, 4400);   /* blocks past n_layer: the host's, as blk.99 would be */
}

/* Tensor sizes that add up past 2^64 saturate rather than wrap. */
static void tensor_sizes_saturate(void **state)
{
    (void)state;
    mg_fit_model fm;
    /* pairs of tensors of more than 2^63 bytes each, in block 0, as block 1's experts and on the host (each of
     * its own type, so that gguf.c's per-type totals stay below 2^64) */
    const char *n2[] = {"blk.0.a.weight", "blk.0.b.weight", "blk.1.ffn_up_exps.weight", "blk.1.ffn_down_exps.weight",
                        "token_embd.weight", "rope_freqs.weight"};
    uint64_t e2[] = {1ull << 61, (1ull << 60) + 1, 1ull << 62, (1ull << 60) + 1, 1ull << 62, (1ull << 61) + 1};
    uint32_t t2[] = {0 /* F32 */, 28 /* F64 */, 1 /* F16 */, 27 /* I64 */, 30 /* BF16 */, 26 /* I32 */};
    fm = model_of(n2, e2, t2, 6);
    assert_int_equal(fm.slot_bytes[0], UINT64_MAX);
    assert_int_equal(fm.slot_bytes[1], UINT64_MAX);
    assert_int_equal(fm.exps_bytes[1], UINT64_MAX);
    assert_int_equal(fm.input_bytes, UINT64_MAX);
    assert_int_equal(fm.total_bytes, UINT64_MAX);
    assert_int_equal(fm.ot_bytes[0], UINT64_MAX);
    assert_int_equal(fm.ot_exps_bytes[1], UINT64_MAX);
    mg_target gpu = {.name = "big", .mem_total = 80 * GIB, .mem_free = 80 * GIB};
    mg_fit_opts o = {.n_ctx = 4096, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1,
                     .ram = 64 * GIB};
    mg_fit_plan p;
    mg_fit_evaluate(&fm, &gpu, 1, &o, 5, 4096, &p);
    assert_int_equal(p.ram_weights, UINT64_MAX);
    assert_int_equal(p.ram_need, UINT64_MAX);
    assert_false(p.fits_ram);
}

/* config.json numbers past 2^63: 2 x layers and 4 x hidden_size (the default intermediate) wrapped, and
 * 3 x intermediate + 4 x hidden_size was an unchecked sum. */
static void safetensors_config_past_2_63(void **state)
{
    (void)state;
    mg_st_file shard;
    memset(&shard, 0, sizeof shard);
    shard.st.data_bytes = 1000;
    mg_st_model m;
    memset(&m, 0, sizeof m);
    m.nshards = 1;
    m.shards = &shard;
    m.has_config = 1;
    snprintf(m.torch_dtype, sizeof m.torch_dtype, "float8_e4m3fn");
    m.hidden_size = 64, m.layers = (1ull << 63) + 1, m.heads = 1, m.head_dim = 1, m.intermediate = 1;
    mg_fit_st f;
    assert_int_equal(mg_fit_safetensors(&m, 1, 1, 1, &f), MG_OK);
    assert_int_equal(f.kv_per_token, UINT64_MAX);
    m.layers = 1, m.hidden_size = 1ull << 62, m.intermediate = 1ull << 62;
    assert_int_equal(mg_fit_safetensors(&m, 1, 1, 1, &f), MG_OK);
    assert_int_equal(f.activations, UINT64_MAX);
    m.intermediate = 0;   /* 4 x 2^62 */
    assert_int_equal(mg_fit_safetensors(&m, 1, 1, 1, &f), MG_OK);
    assert_int_equal(f.activations, UINT64_MAX);
    shard.st.data_bytes = UINT64_MAX;
    mg_st_file two[2];
    two[0] = two[1] = shard;
    m.shards = two, m.nshards = 2;
    assert_int_equal(mg_fit_safetensors(&m, 1, 1, 1, &f), MG_OK);
    assert_int_equal(f.weights, UINT64_MAX);
}

/* `mlgate fit` of a safetensors checkpoint on GPUs of 2^64 - 1 bytes without headroom: the usable memory
 * saturates (the double 2^64 converted directly is undefined: 0 on x86, so nothing fitted). */
static void fit_report_usable_of_huge_gpus(void **state)
{
    (void)state;
    mg_model *m = mg_model_open(FIXTURES "/tiny.safetensors");
    assert_non_null(m);
    mg_target dev[2] = {{.name = "a", .mem_total = UINT64_MAX, .mem_free = UINT64_MAX},
                        {.name = "b", .mem_total = UINT64_MAX, .mem_free = UINT64_MAX}};
    mg_fit_opts o = {.n_seq = 1, .ngl = -1, .headroom = 0, .ram = 64 * GIB};
    mg_fit_report *r = malloc(sizeof *r);
    char err[256];
    assert_int_equal(mg_fit(m, dev, 2, &o, NULL, 0, r, err, sizeof err), MG_OK);
    assert_int_equal(r->usable, UINT64_MAX);
    assert_true(r->fits);
    free(r);
    mg_model_free(m);
}

/* plan: GPUs of 2^64 - 1 bytes without headroom (usable was a direct double conversion: undefined), and two
 * on-demand models whose needs add up past 2^64 (the sum wrapped: "loadable together"). */
static void plan_sums_do_not_wrap(void **state)
{
    (void)state;
    static const char y[] = "models:\n"
                            "  - {name: a, kind: llm, endpoint: \"http://127.0.0.1:1/v1\", memory: 8460000T, residency: on-demand}\n"
                            "  - {name: b, kind: llm, endpoint: \"http://127.0.0.1:2/v1\", memory: 8460000T, residency: on-demand}\n";
    mg_matrix *mx;
    char err[256];
    assert_int_equal(mg_matrix_parse(y, sizeof y - 1, "t.yaml", &mx, err, sizeof err), MG_OK);
    mg_target g = {.name = "huge", .mem_total = UINT64_MAX, .mem_free = UINT64_MAX};
    mg_plan *p;
    assert_int_equal(mg_plan_make(mx, &g, 1, 0, &p), MG_OK);
    assert_int_equal(mg_plan_usable(p), UINT64_MAX);
    const mg_plan_model *a = mg_plan_model_at(p, 0);
    assert_true(a->fits);
    assert_int_equal(a->nconflicts, 1);   /* 2 x 8460000 TiB do not fit in 16 EiB at once */
    mg_plan_free(p);
    mg_target two[2] = {g, g};   /* the usable total of two of them saturates */
    assert_int_equal(mg_plan_make(mx, two, 2, 0, &p), MG_OK);
    assert_int_equal(mg_plan_usable(p), UINT64_MAX);
    assert_int_equal(mg_plan_model_at(p, 0)->nconflicts, 0);   /* one on each GPU */
    mg_plan_free(p);
    mg_matrix_free(mx);
}

/* A placement's sums are those of a walk over the slots (fit.c sums runs of blocks): random models of
 * up to 1024 blocks, 1-4 GPUs, any -ngl and --n-cpu-moe; each GPU has the next run of its layers. */
static void placement_is_the_walk_over_its_slots(void **state)
{
    (void)state;
    static mg_fit_model fm;
    unsigned seed = 7;
    for (int it = 0; it < 3000; it++) {
        memset(&fm, 0, sizeof fm);
        seed = lcg_next(seed);
        uint32_t L = it % 10 == 0 ? 1024 : seed >> 16 & 127;
        fm.kv.n_layer = fm.kv.n_layer_kv = L;
        fm.kv.head_k = fm.kv.head_v = 128;
        fm.has_output = it & 1;
        fm.token_embd_bytes = 3 * MIB;
        for (uint32_t il = 0; il <= L; il++) {
            seed = lcg_next(seed);
            fm.slot_bytes[il] = it % 7 == 0 ? UINT64_MAX / 3 : (uint64_t)(seed >> 8) << 12;
            fm.exps_bytes[il] = fm.slot_bytes[il] / 2;
            fm.ot_bytes[il] = seed & 1 ? fm.slot_bytes[il] / 4 : 0;
            fm.ot_exps_bytes[il] = fm.ot_bytes[il];
            if (il < L)
                fm.kv.n_head_kv[il] = seed & 2 ? 8 : 0;
        }
        mg_target gpu[4] = {{.name = "a", .mem_total = 24 * GIB, .mem_free = 24 * GIB, .index = -1},
                            {.name = "b", .mem_total = 80 * GIB, .mem_free = 80 * GIB, .index = -1},
                            {.name = "c", .mem_total = 8 * GIB, .mem_free = 5 * GIB, .index = -1},
                            {.name = "d", .mem_total = 141 * GIB, .mem_free = 141 * GIB, .index = -1}};
        size_t nd = 1 + (seed >> 4 & 3);
        mg_fit_opts o = {.type_k = 1, .type_v = 1, .n_seq = 1, .n_cpu_moe = (int)(seed >> 6 & 1023) % (int)(L + 2)};
        int ngl = (int)((seed >> 12) % (L + 2));
        mg_fit_plan p;
        assert_int_equal(mg_fit_evaluate(&fm, gpu, nd, &o, ngl, 4096, &p), MG_OK);
        mg_kv_opts ko = {4096, 1, 1, 1, 512, 0, 0};
        uint64_t ram = fm.input_bytes, ram_kv = 0;
        int il = 0, start = (int)L + 1 - ngl;
        for (; il < start; il++) {   /* the CPU's */
            ram = mg_sat_add(ram, fm.slot_bytes[il]);
            ram_kv = mg_sat_add(ram_kv, mg_kv_layer_bytes(&fm.kv, &ko, (uint32_t)il));
        }
        int on_gpus = 0;
        for (size_t d = 0; d < nd; d++) {
            uint64_t w = 0, kv = 0;
            for (int k = 0; k < p.layers[d]; k++, il++) {
                uint64_t slot = fm.slot_bytes[il];
                if (il == (int)L && !fm.has_output)
                    slot = mg_sat_add(slot, fm.token_embd_bytes);
                uint64_t moved = mg_sat_add(fm.ot_bytes[il], il < o.n_cpu_moe ? fm.exps_bytes[il] - fm.ot_exps_bytes[il] : 0);
                w = mg_sat_add(w, slot - moved);
                ram = mg_sat_add(ram, moved);
                kv = mg_sat_add(kv, mg_kv_layer_bytes(&fm.kv, &ko, (uint32_t)il));
            }
            assert_int_equal(p.weights[d], w);
            assert_int_equal(p.kv[d], kv);
            on_gpus += p.layers[d];
        }
        assert_int_equal(on_gpus, ngl);
        assert_int_equal(il, (int)L + 1);
        assert_int_equal(p.ram_weights, ram);
        assert_int_equal(p.ram_kv, ram_kv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ngl_counts_the_output_head), cmocka_unit_test(compute_buffers_as_measured), cmocka_unit_test(tied_embeddings_are_duplicated), cmocka_unit_test(lora_tensors_follow_their_base_layer),
        cmocka_unit_test(mmproj_weights_and_warmup),
        cmocka_unit_test(mla_attention_outgrows_the_logits), cmocka_unit_test(encoders_have_no_head_and_no_cache),
        cmocka_unit_test(asymmetric_gpus_split_by_free_memory),
        cmocka_unit_test(split_searched_with_the_expert_offload),
        cmocka_unit_test(search_reduces_layers_then_finds_the_largest_context),
        cmocka_unit_test(safetensors_weights_kv_and_activations), cmocka_unit_test(n_cpu_moe_moves_leading_experts),
        cmocka_unit_test(search_prefers_n_cpu_moe_for_moe_models),
        cmocka_unit_test(experts_in_ram_are_copied_to_the_first_gpu), cmocka_unit_test(override_tensor_to_cpu),
        cmocka_unit_test(kq_of_a_huge_head_count_saturates), cmocka_unit_test(huge_vocab_and_embedding_saturate),
        cmocka_unit_test(usable_of_the_largest_gpu), cmocka_unit_test(search_terminates_at_the_largest_context),
        cmocka_unit_test(block_numbers_past_32_bits),
        cmocka_unit_test(tensor_sizes_saturate), cmocka_unit_test(safetensors_config_past_2_63),
        cmocka_unit_test(fit_report_usable_of_huge_gpus), cmocka_unit_test(plan_sums_do_not_wrap),
        cmocka_unit_test(placement_is_the_walk_over_its_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

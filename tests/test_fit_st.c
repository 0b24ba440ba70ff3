/* test_fit_st.c - safetensors checkpoints counted right: DeepSeek's MLA cache per engine, tensor-parallel vs a layer split on unequal GPUs, a FLUX.1-dev-shaped diffusers pipeline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "mlgate/mlgate.h"

#define MIB (1024ull * 1024)
#define GIB (1024 * MIB)
#define RUNTIME (700 * MIB)   /* fit_st.c's TORCH_RUNTIME */

/* ---- checkpoints written here: headers real, data sparse ---- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A safetensors file of BF16 tensors names[i] of bytes[i] (even) each; the data is a hole. */
static void write_st(const char *path, const char *const *names, const uint64_t *bytes, size_t n)
{
    size_t cap = 256 + n * 160, len = 0;
    char *h = malloc(cap);
    assert_non_null(h);
    uint64_t off = 0;
    len += (size_t)snprintf(h + len, cap - len, "{");
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(h + len, cap - len, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%llu],\"data_offsets\":[%llu,%llu]}",
                                i ? "," : "", names[i], (unsigned long long)(bytes[i] / 2), (unsigned long long)off,
                                (unsigned long long)(off + bytes[i]));
        off += bytes[i];
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    assert_true(len < cap - 8);
    while (len % 8)
        h[len++] = ' ';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t hl = len;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(hl >> (8 * i));
    assert_int_equal(fwrite(le, 1, 8, f), 8);
    assert_int_equal(fwrite(h, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(truncate(path, (off_t)(8 + len + off)), 0);
    free(h);
}

/* A list of tensor names and sizes built up for write_st. */
typedef struct tlist {
    char (*name)[96];
    const char **ptr;
    uint64_t *bytes;
    size_t n, cap;
} tlist;

static void tl_add(tlist *t, const char *name, uint64_t bytes)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->name = realloc(t->name, t->cap * sizeof *t->name);
        t->bytes = realloc(t->bytes, t->cap * sizeof *t->bytes);
        t->ptr = realloc(t->ptr, t->cap * sizeof *t->ptr);
        assert_true(t->name && t->bytes && t->ptr);
    }
    snprintf(t->name[t->n], sizeof t->name[0], "%s", name);
    t->bytes[t->n++] = bytes;
}

/* Filler tensors "prefix.N.weight" of at most `each` bytes until the list holds `total` bytes. */
static void tl_fill(tlist *t, const char *prefix, uint64_t total, uint64_t each)
{
    uint64_t have = 0;
    for (size_t i = 0; i < t->n; i++)
        have += t->bytes[i];
    assert_true(have <= total && total % 2 == 0);
    for (unsigned k = 0; have < total; k++) {
        char nm[96];
        uint64_t b = total - have < each ? total - have : each;
        snprintf(nm, sizeof nm, "%s.%u.weight", prefix, k);
        tl_add(t, nm, b);
        have += b;
    }
}

static void tl_write(tlist *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        t->ptr[i] = t->name[i];
    write_st(path, t->ptr, t->bytes, t->n);
    free(t->name);
    free(t->bytes);
    free(t->ptr);
    memset(t, 0, sizeof *t);
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static mg_model *last_model;

static void done(mg_fit_report *r)
{
    free(r);
    mg_model_free(last_model);
    last_model = NULL;
}

static mg_fit_report *fit_on(const char *dir, const uint64_t *gib, size_t nd, uint64_t ctx, int engine, unsigned kvb)
{
    mg_model *m = mg_model_open(dir);
    assert_non_null(m);
    assert_null(mg_model_error(m));
    mg_target dev[4];
    memset(dev, 0, sizeof dev);
    for (size_t i = 0; i < nd; i++) {
        snprintf(dev[i].name, sizeof dev[i].name, "GPU%zu", i);
        dev[i].mem_total = dev[i].mem_free = gib[i] * GIB;
        dev[i].index = -1;
    }
    mg_fit_opts o = {.n_ctx = ctx, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.10,
                     .ram = 377 * GIB, .n_cpu_moe = -1, .st_engine = engine, .st_kv_bytes = kvb};
    mg_fit_report *r = malloc(sizeof *r);
    assert_non_null(r);
    char err[256] = "";
    assert_int_equal(mg_fit(m, dev, nd, &o, NULL, 0, r, err, sizeof err), MG_OK);
    last_model = m;   /* the report points into it: freed with the report (done) */
    return r;
}

/* ---- DeepSeek-V3's MLA ---- */

static const char deepseek_v3[] =
    "{\"architectures\":[\"DeepseekV3ForCausalLM\"],\"model_type\":\"deepseek_v3\",\"hidden_size\":7168,"
    "\"num_hidden_layers\":61,\"num_attention_heads\":128,\"num_key_value_heads\":128,\"kv_lora_rank\":512,"
    "\"q_lora_rank\":1536,\"qk_rope_head_dim\":64,\"qk_nope_head_dim\":128,\"v_head_dim\":128,"
    "\"intermediate_size\":18432,\"moe_intermediate_size\":2048,\"max_position_embeddings\":163840,"
    "\"vocab_size\":129280,\"torch_dtype\":\"bfloat16\"}";

/* The cache per token: vLLM/SGLang's latent (61 x (512 + 64) x 2), transformers' K and V per head
 * (61 x 128 x (128 + 64 + 128) x 2), not 2 x 61 x 128 x 7168/128 x 2 as a GQA model's would be. */
static void deepseek_mla_cache_per_engine(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlgate-mla-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/config.json", dir);
    write_text(p, deepseek_v3);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    const char *names[] = {"model.embed_tokens.weight", "model.layers.0.self_attn.kv_a_proj_with_mqa.weight"};
    const uint64_t bytes[] = {129280ull * 7168 * 2, 576ull * 7168 * 2};
    write_st(p, names, bytes, 2);
    uint64_t h200[] = {141};
    mg_fit_report *r = fit_on(dir, h200, 1, 8192, MG_ENGINE_VLLM, 0);
    assert_true(r->st.mla);
    assert_int_equal(r->st.kv_per_token, 61 * 576 * 2);
    assert_int_equal(r->st.kv, 61ull * 576 * 2 * 8192);
    done(r);
    r = fit_on(dir, h200, 1, 8192, MG_ENGINE_TRANSFORMERS, 0);
    assert_int_equal(r->st.kv_per_token, 61 * 128 * (192 + 128) * 2);
    done(r);
    r = fit_on(dir, h200, 1, 8192, MG_ENGINE_VLLM, 1);   /* --kv-cache-dtype fp8 */
    assert_int_equal(r->st.kv_per_token, 61 * 576);
    done(r);
    /* vLLM's latent is one "head": tensor parallelism copies it to each GPU, it does not split it */
    uint64_t two[] = {141, 141};
    r = fit_on(dir, two, 2, 8192, MG_ENGINE_VLLM, 0);
    assert_int_equal(r->st.place[MG_ST_TP].gpu[0].kv, r->st.kv);
    assert_int_equal(r->st.place[MG_ST_TP].gpu[1].kv, r->st.kv);
    done(r);
    /* the JSON names the layout */
    mg_model *m = mg_model_open(dir);
    mg_target gpu = {.name = "H200", .mem_total = 141 * GIB, .mem_free = 141 * GIB, .index = -1};
    mg_fit_opts o = {.n_ctx = 4096, .n_seq = 1, .ngl = -1, .headroom = 0.1, .ram = GIB, .n_cpu_moe = -1};
    mg_fit_report *rr = malloc(sizeof *rr);
    char err[256], *buf = NULL;
    size_t blen = 0;
    assert_int_equal(mg_fit(m, &gpu, 1, &o, NULL, 0, rr, err, sizeof err), MG_OK);
    FILE *f = open_memstream(&buf, &blen);
    mg_fit_json(f, rr);
    fclose(f);
    assert_non_null(strstr(buf, "\"engine\":\"vllm\""));
    assert_non_null(strstr(buf, "\"kv_layout\":\"mla_latent\""));
    assert_non_null(strstr(buf, "\"kv_per_token\":70272"));
    free(buf);
    free(rr);
    mg_model_free(m);
    rm_rf(dir);
}

/* ---- 96 GB + 32 GB ---- */

/* A Llama-3-70B-shaped checkpoint of 80 x 1 GiB layers, 1 GiB of embeddings and 1 GiB of head on the
 * field reports' 96 GB + 32 GB host: tensor parallelism gives each GPU 41 GiB, over the 32 GB card's
 * 28.8 usable, while whole layers in proportion to memory fit; three GPUs do not divide 64 heads. */
static void asymmetric_gpus_tp_fails_layer_split_fits(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlgate-asym-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/config.json", dir);
    write_text(p, "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":8192,\"num_hidden_layers\":80,"
                  "\"num_attention_heads\":64,\"num_key_value_heads\":8,\"intermediate_size\":28672,"
                  "\"max_position_embeddings\":131072,\"torch_dtype\":\"bfloat16\"}");
    tlist t = {0};
    tl_add(&t, "model.embed_tokens.weight", GIB);
    for (int i = 0; i < 80; i++) {
        char nm[96];
        snprintf(nm, sizeof nm, "model.layers.%d.mlp.up_proj.weight", i);
        tl_add(&t, nm, GIB);
    }
    tl_add(&t, "model.norm.weight", 16384);
    tl_add(&t, "lm_head.weight", GIB);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    tl_write(&t, p);
    uint64_t host[] = {96, 32};
    mg_fit_report *r = fit_on(dir, host, 2, 4096, MG_ENGINE_VLLM, 0);
    const mg_fit_st_place *tp = &r->st.place[MG_ST_TP], *ls = &r->st.place[MG_ST_LAYERS];
    assert_true(tp->shape_ok);
    assert_false(tp->fits);
    assert_true(tp->gpu[0].fits);     /* 41 GiB of 86.4 */
    assert_false(tp->gpu[1].fits);    /* 41 GiB of 28.8 */
    assert_int_equal(tp->gpu[0].weights, tp->gpu[1].weights);
    assert_non_null(strstr(tp->why, "GPU 1"));
    assert_true(ls->fits);
    assert_true(ls->gpu[0].fits && ls->gpu[1].fits);
    assert_int_equal(ls->gpu[0].layers + ls->gpu[1].layers, 80);
    assert_true(ls->gpu[0].layers >= 55 && ls->gpu[1].layers >= 15);   /* about 3 : 1 */
    /* whole layers: the embeddings on the first GPU, the head and the norm on the last */
    assert_int_equal(ls->gpu[0].weights, (uint64_t)(ls->gpu[0].layers + 1) * GIB);
    assert_int_equal(ls->gpu[1].weights, (uint64_t)(ls->gpu[1].layers + 1) * GIB + 16384);
    assert_true(r->fits);             /* a placement works */
    /* KV: 2 x 80 x 8 x 128 x 2 per token; split by kv heads (tp) and by layers */
    assert_int_equal(r->st.kv_per_token, 327680);
    assert_int_equal(tp->gpu[0].kv, r->st.kv / 2);
    assert_int_equal(ls->gpu[0].kv + ls->gpu[1].kv, r->st.kv);
    done(r);
    /* 64 heads over 3 GPUs: vLLM refuses; said, and not counted as fitting however large they are */
    uint64_t three[] = {141, 141, 141};
    r = fit_on(dir, three, 3, 4096, MG_ENGINE_VLLM, 0);
    assert_false(r->st.place[MG_ST_TP].shape_ok);
    assert_false(r->st.place[MG_ST_TP].fits);
    assert_non_null(strstr(r->st.place[MG_ST_TP].why, "64 attention heads"));
    assert_true(r->st.place[MG_ST_LAYERS].fits);
    done(r);
    /* two 32 GB cards: neither way */
    uint64_t small[] = {32, 32};
    r = fit_on(dir, small, 2, 4096, MG_ENGINE_VLLM, 0);
    assert_false(r->st.place[MG_ST_TP].fits);
    assert_false(r->st.place[MG_ST_LAYERS].fits);
    assert_false(r->fits);
    done(r);
    rm_rf(dir);
}

/* ---- FLUX.1-dev ---- */

/* black-forest-labs/FLUX.1-dev as the hub has it (sizes of its bf16 files; the tensors here are fewer). */
#define FLUX_TRANSFORMER 23802816640ull
#define FLUX_T5 9524621312ull
#define FLUX_CLIP 246144352ull
#define FLUX_VAE 167666904ull
#define T5_SHARED (32128ull * 4096 * 2)
#define FF_PROJ (12288ull * 3072 * 2)   /* transformer_blocks.N.ff.net.0.proj.weight: the largest module's weight */

static void mkdir_in(const char *dir, const char *sub)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void write_in(const char *dir, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_text(p, text);
}

static void write_flux(const char *dir)
{
    write_in(dir, "model_index.json",
             "{\"_class_name\":\"FluxPipeline\",\"_diffusers_version\":\"0.30.0.dev0\","
             "\"scheduler\":[\"diffusers\",\"FlowMatchEulerDiscreteScheduler\"],"
             "\"text_encoder\":[\"transformers\",\"CLIPTextModel\"],\"text_encoder_2\":[\"transformers\",\"T5EncoderModel\"],"
             "\"tokenizer\":[\"transformers\",\"CLIPTokenizer\"],\"tokenizer_2\":[\"transformers\",\"T5TokenizerFast\"],"
             "\"transformer\":[\"diffusers\",\"FluxTransformer2DModel\"],\"vae\":[\"diffusers\",\"AutoencoderKL\"]}");
    const char *subs[] = {"scheduler", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "transformer", "vae"};
    for (size_t i = 0; i < 7; i++)
        mkdir_in(dir, subs[i]);
    write_in(dir, "scheduler/scheduler_config.json", "{\"_class_name\":\"FlowMatchEulerDiscreteScheduler\",\"shift\":3.0}");
    write_in(dir, "tokenizer/vocab.json", "{}");
    write_in(dir, "transformer/config.json",
             "{\"_class_name\":\"FluxTransformer2DModel\",\"attention_head_dim\":128,\"guidance_embeds\":true,"
             "\"in_channels\":64,\"joint_attention_dim\":4096,\"num_attention_heads\":24,\"num_layers\":19,"
             "\"num_single_layers\":38,\"patch_size\":1,\"pooled_projection_dim\":768}");
    /* three shards and their index; the largest module is a weight and its bias, with a name that sorts
     * between them ("...proj.bias" < "...proj.lora.weight" < "...proj.weight") */
    char idx[4096] = "{\"metadata\":{\"total_size\":23802816640},\"weight_map\":{";
    uint64_t per = FLUX_TRANSFORMER / 3 / 2 * 2;
    for (int s = 0; s < 3; s++) {
        tlist t = {0};
        char nm[96], file[96], path[256];
        snprintf(file, sizeof file, "diffusion_pytorch_model-%05d-of-00003.safetensors", s + 1);
        if (s == 0) {
            tl_add(&t, "transformer_blocks.0.ff.net.0.proj.weight", FF_PROJ);
            tl_add(&t, "transformer_blocks.0.ff.net.0.proj.bias", 12288 * 2);
            tl_add(&t, "transformer_blocks.0.ff.net.0.proj.lora.weight", 3072 * 2);
        }
        snprintf(nm, sizeof nm, "single_transformer_blocks.%d.attn.to_q", s);
        tl_fill(&t, nm, s < 2 ? per : FLUX_TRANSFORMER - 2 * per, 3072ull * 3072 * 2);
        size_t l = strlen(idx);
        snprintf(idx + l, sizeof idx - l, "%s\"%s\":\"%s\"", s ? "," : "", t.name[0], file);
        snprintf(path, sizeof path, "%s/transformer/%s", dir, file);
        tl_write(&t, path);
    }
    strcat(idx, "}}");
    write_in(dir, "transformer/diffusion_pytorch_model.safetensors.index.json", idx);
    /* T5-XXL's encoder: two shards */
    write_in(dir, "text_encoder_2/config.json",
             "{\"architectures\":[\"T5EncoderModel\"],\"d_ff\":10240,\"d_kv\":64,\"d_model\":4096,\"num_heads\":64,"
             "\"num_layers\":24,\"vocab_size\":32128,\"torch_dtype\":\"bfloat16\"}");
    for (int s = 0; s < 2; s++) {
        tlist t = {0};
        char nm[64], path[256];
        snprintf(nm, sizeof nm, "encoder.block.%d.layer", s);
        if (!s)
            tl_add(&t, "shared.weight", T5_SHARED);   /* the embeddings: the pipeline's largest module */
        tl_fill(&t, nm, s ? FLUX_T5 - 4999610368ull : 4999610368ull, 4096ull * 10240 * 2);
        snprintf(path, sizeof path, "%s/text_encoder_2/model-%05d-of-00002.safetensors", dir, s + 1);
        tl_write(&t, path);
    }
    write_in(dir, "text_encoder_2/model.safetensors.index.json",
             "{\"metadata\":{\"total_size\":9524621312},\"weight_map\":{\"encoder.block.0.layer.0.weight\":"
             "\"model-00001-of-00002.safetensors\",\"encoder.block.1.layer.0.weight\":\"model-00002-of-00002.safetensors\"}}");
    /* CLIP-L's text model, one file */
    write_in(dir, "text_encoder/config.json",
             "{\"architectures\":[\"CLIPTextModel\"],\"hidden_size\":768,\"intermediate_size\":3072,"
             "\"num_attention_heads\":12,\"num_hidden_layers\":12,\"max_position_embeddings\":77,"
             "\"torch_dtype\":\"bfloat16\"}");
    tlist t = {0};
    char path[256];
    tl_fill(&t, "text_model.encoder.layers", FLUX_CLIP, 768ull * 3072 * 2);
    snprintf(path, sizeof path, "%s/text_encoder/model.safetensors", dir);
    tl_write(&t, path);
    /* the 16-channel VAE */
    write_in(dir, "vae/config.json",
             "{\"_class_name\":\"AutoencoderKL\",\"block_out_channels\":[128,256,512,512],\"in_channels\":3,"
             "\"latent_channels\":16,\"out_channels\":3,\"sample_size\":1024,\"scaling_factor\":0.3611}");
    tl_fill(&t, "decoder.up_blocks", FLUX_VAE, 512ull * 512 * 9 * 2);
    snprintf(path, sizeof path, "%s/vae/diffusion_pytorch_model.safetensors", dir);
    tl_write(&t, path);
}

/* a pipeline's process: 1280 MiB of CUDA context, 5 % slack, and the allocator's cache of `held` bytes */
static uint64_t pipe_runtime(uint64_t alloc, uint64_t held)
{
    return alloc + 1280 * MIB + held + (uint64_t)((double)alloc * 0.05);
}

/* Every component of model_index.json with weights (not the scheduler or the tokenizers), and the three
 * placements diffusers offers; no KV cache, no prompt tokens. */
static void flux_pipeline_counts_every_component(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlgate-flux-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_flux(dir);
    mg_model *m = mg_model_open(dir);
    assert_non_null(m);
    assert_null(mg_model_error(m));
    const mg_st_model *sm = m->st;
    assert_true(sm->pipeline);
    assert_string_equal(sm->pipeline_class, "FluxPipeline");
    assert_int_equal(sm->ncomp, 4);
    assert_int_equal(sm->nshards, 3 + 1 + 2 + 1);
    const char *want[] = {"text_encoder", "text_encoder_2", "transformer", "vae"};   /* model_index.json's order */
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(sm->comp[i].name, want[i]);
    assert_int_equal(sm->comp[2].heads, 24);
    assert_int_equal(sm->comp[3].n_block_out, 4);
    assert_int_equal(sm->comp[3].block_out[1], 256);
    uint64_t gpu96[] = {96};
    mg_fit_report *r = fit_on(dir, gpu96, 1, 0, MG_ENGINE_VLLM, 0);
    const mg_fit_st *f = &r->st;
    assert_true(f->pipeline);
    assert_int_equal(f->weights, FLUX_TRANSFORMER + FLUX_T5 + FLUX_CLIP + FLUX_VAE);
    assert_int_equal(f->comp[2].weights, FLUX_TRANSFORMER);
    assert_int_equal(f->comp[1].weights, FLUX_T5);
    assert_int_equal(f->kv, 0);
    assert_int_equal(f->kv_per_token, 0);
    /* the largest module: the FF projection's weight and bias together */
    assert_int_equal(f->comp[2].largest_module, FF_PROJ + 12288 * 2);
    /* one 1024x1024 step: (1024 / 8 / 2)^2 = 4096 image tokens (2x2 packed: in_channels 64 = 4 x 16) + 512 of T5 */
    assert_int_equal(f->image_tokens, 4096);
    assert_int_equal(f->text_tokens, 512);
    assert_int_equal(f->comp[2].activations, (4096ull + 512) * 3072 * 20 * 2);
    assert_int_equal(f->comp[3].activations, 1024ull * 1024 * 256 * 5 * 2);   /* VAE decode, estimated */
    assert_int_equal(f->comp[1].activations, 512ull * (3 * 10240 + 4 * 4096) * 2 + 64ull * 512 * 512 * 4);
    uint64_t peak = f->comp[3].activations;
    assert_int_equal(f->activations, peak);
    assert_int_equal(f->gpu_all, pipe_runtime(f->weights + peak, peak));
    assert_int_equal(f->gpu_model_offload, pipe_runtime(FLUX_TRANSFORMER + f->comp[2].activations, peak));
    assert_int_equal(f->comp[1].largest_module, T5_SHARED);
    assert_int_equal(f->gpu_seq_offload, pipe_runtime(T5_SHARED + peak, 0));
    assert_int_equal(f->ram_offload, f->weights);
    assert_int_equal(f->need, f->gpu_all);
    assert_true(r->fits);   /* 34.6 GB of 86.4 GiB usable */
    done(r);
    /* a 24 GB card: only offloaded; model offload needs the transformer (22 GiB) and one step there */
    uint64_t gpu24[] = {24}, gpu32[] = {32};
    r = fit_on(dir, gpu24, 1, 0, MG_ENGINE_VLLM, 0);
    assert_false(r->fits);
    assert_true(r->st.gpu_model_offload > r->big_usable);    /* 23.8 GB + runtime > 21.6 GiB */
    assert_true(r->st.gpu_seq_offload < r->big_usable);
    done(r);
    r = fit_on(dir, gpu32, 1, 0, MG_ENGINE_VLLM, 0);
    assert_false(r->fits);
    assert_true(r->st.gpu_model_offload <= r->big_usable);   /* fits on 28.8 GiB with model offload */
    /* the JSON: components and placements, no kv fields */
    char *buf = NULL;
    size_t blen = 0;
    FILE *jf = open_memstream(&buf, &blen);
    r->model = "flux";
    mg_fit_json(jf, r);
    fclose(jf);
    assert_non_null(strstr(buf, "\"pipeline\":\"FluxPipeline\""));
    assert_non_null(strstr(buf, "\"name\":\"text_encoder_2\",\"library\":\"transformers\",\"class\":\"T5EncoderModel\""));
    assert_non_null(strstr(buf, "\"model_cpu_offload\":{"));
    assert_null(strstr(buf, "kv_per_token"));
    assert_null(strstr(buf, "tokenizer"));
    free(buf);
    done(r);
    mg_model_free(m);
    /* every allocation of opening and fitting it failing in turn: no crash, no leak, an error or a
     * smaller answer, and past the last one the whole answer */
    mg_fail_alloc_at(0);
    m = mg_model_open(dir);
    mg_fit_st whole;
    assert_int_equal(mg_fit_safetensors(m->st, 0, 1, 1, &whole), MG_OK);
    mg_model_free(m);
    for (long n = 1;; n++) {
        mg_fail_alloc_at(n);
        mg_model *x = mg_model_open(dir);
        mg_fit_st g;
        int rc = x ? mg_fit_safetensors(x->st, 0, 1, 1, &g) : MG_E_NOMEM;
        long used = mg_alloc_count();
        mg_fail_alloc_at(0);
        mg_model_free(x);
        assert_true(rc == MG_OK || rc == MG_E_NOMEM || rc == MG_E_IO);
        if (n > used) {   /* nothing failed: all of it */
            assert_int_equal(rc, MG_OK);
            assert_int_equal(g.gpu_all, whole.gpu_all);
            assert_true(n > 20);   /* the arena, the shards, the texts, the configs, the sorts: each was failed */
            break;
        }
    }
    /* a variant beside the plain file is not counted twice; alone, it is taken and named */
    char p[256];
    snprintf(p, sizeof p, "%s/vae/diffusion_pytorch_model.fp16.safetensors", dir);
    const char *vn[] = {"decoder.conv_in.weight"};
    const uint64_t vb[] = {FLUX_VAE / 4 * 2};
    write_st(p, vn, vb, 1);
    m = mg_model_open(dir);
    assert_int_equal(m->st->comp[3].nshards, 1);
    assert_string_equal(m->st->comp[3].variant, "");
    mg_model_free(m);
    snprintf(p, sizeof p, "%s/vae/diffusion_pytorch_model.safetensors", dir);
    assert_int_equal(unlink(p), 0);
    m = mg_model_open(dir);
    assert_string_equal(m->st->comp[3].variant, "fp16");
    assert_non_null(strstr(m->st->shards[m->st->comp[3].first].path, "diffusion_pytorch_model.fp16.safetensors"));
    mg_model_free(m);
    /* a model_index.json that is not JSON: a plain directory again (none of its weights at the top) */
    write_in(dir, "model_index.json", "{\"transformer\":[\"diffusers\",");
    m = mg_model_open(dir);
    assert_false(m->st->pipeline);
    assert_int_equal(m->st->ncomp, 0);
    mg_model_free(m);
    rm_rf(dir);
}

/* model_index.json names folders, never paths; more than 16 components are not read past the 16th;
 * a UNet's activations are not estimated; a variant's index (model.safetensors.index.fp16.json) is found. */
static void pipeline_names_and_variants(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlgate-pipe-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    mkdir_in(dir, "unet");
    mkdir_in(dir, "text_encoder");
    const char *nm[] = {"conv_in.weight", "conv_in.bias"};
    const uint64_t b[] = {320ull * 4 * 9 * 2, 640};
    snprintf(p, sizeof p, "%s/unet/diffusion_pytorch_model.safetensors", dir);
    write_st(p, nm, b, 2);
    write_in(dir, "unet/config.json", "{\"_class_name\":\"UNet2DConditionModel\",\"block_out_channels\":[320,640,1280]}");
    snprintf(p, sizeof p, "%s/text_encoder/model.fp16-00001-of-00001.safetensors", dir);
    write_st(p, nm, b, 1);
    write_in(dir, "text_encoder/model.safetensors.index.fp16.json",
             "{\"weight_map\":{\"conv_in.weight\":\"model.fp16-00001-of-00001.safetensors\"}}");
    /* the weights outside: a component that names them must not reach them */
    snprintf(p, sizeof p, "%s/diffusion_pytorch_model.safetensors", dir);
    write_st(p, nm, b, 2);
    char idx[4096] = "{\"_class_name\":\"StableDiffusionPipeline\",\"..\":[\"diffusers\",\"UNet2DConditionModel\"],"
                     "\"unet/..\":[\"diffusers\",\"X\"],\".\":[\"diffusers\",\"X\"],\"safety_checker\":[null,null],"
                     "\"unet\":[\"diffusers\",\"UNet2DConditionModel\"],\"text_encoder\":[\"transformers\",\"CLIPTextModel\"]";
    for (int i = 0; i < 40; i++) {   /* entries whose folders do not exist (yet): no weights, not counted */
        size_t l = strlen(idx);
        snprintf(idx + l, sizeof idx - l, ",\"unet%d\":[\"diffusers\",\"UNet2DConditionModel\"]", i);
    }
    strcat(idx, "}");
    write_in(dir, "model_index.json", idx);
    mg_model *m = mg_model_open(dir);
    assert_non_null(m);
    assert_true(m->st->pipeline);
    assert_int_equal(m->st->ncomp, 2);   /* unet and text_encoder: the others have no folder with weights */
    assert_string_equal(m->st->comp[0].name, "unet");
    assert_string_equal(m->st->comp[1].name, "text_encoder");
    assert_string_equal(m->st->comp[1].variant, "fp16");
    assert_int_equal(m->st->nshards, 2);
    for (size_t i = 0; i < m->st->nshards; i++)
        assert_string_not_equal(m->st->shards[i].path + strlen(dir), "/diffusion_pytorch_model.safetensors");
    mg_fit_st f;
    assert_int_equal(mg_fit_safetensors(m->st, 0, 1, 1, &f), MG_OK);
    assert_int_equal(f.comp[0].activations, 0);   /* UNet: not estimated */
    assert_int_equal(f.image_tokens, 0);
    assert_int_equal(f.comp[0].largest_module, 320ull * 4 * 9 * 2 + 640);
    mg_model_free(m);
    /* sixteen components at most */
    for (int i = 0; i < 20; i++) {
        char sub[32];
        snprintf(sub, sizeof sub, "unet%d", i);
        mkdir_in(dir, sub);
        snprintf(p, sizeof p, "%s/%s/diffusion_pytorch_model.safetensors", dir, sub);
        write_st(p, nm, b, 1);
    }
    m = mg_model_open(dir);
    assert_int_equal(m->st->ncomp, MG_ST_MAX_COMPONENTS);
    mg_model_free(m);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deepseek_mla_cache_per_engine),
        cmocka_unit_test(asymmetric_gpus_tp_fails_layer_split_fits),
        cmocka_unit_test(flux_pipeline_counts_every_component),
        cmocka_unit_test(pipeline_names_and_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

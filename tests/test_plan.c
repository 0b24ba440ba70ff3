/* test_plan.c - `mlgate plan` on the field reports' hosts: a DeepSeek-R1 GGUF split 75/25 over 96 + 32 GB with
 * its experts in RAM, a 642 GB checkpoint refused for RAM, a 96 GB card's residents and on-demand models; the
 * placement keys, RAM as a budget, absolute headroom, and fixes that are planned again before they are offered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf_writer.h"
#include "mlgate/mlgate.h"

#define GIB (1024ull * 1024 * 1024)

enum { F32 = 0, Q8_0 = 8, Q4_K = 12, Q6_K = 14 };

/* ggml's bytes of a row-major tensor of these types */
static uint64_t tensor_bytes(uint32_t type, const uint64_t *ne, int nd)
{
    uint64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= ne[i];
    switch (type) {
    case Q8_0: return n / 32 * 34;
    case Q4_K: return n / 256 * 144;
    case Q6_K: return n / 256 * 210;
    default: return n * 4;
    }
}

typedef struct tinfo { char name[64]; int nd; uint64_t ne[3]; uint32_t type; } tinfo;

static void add(tinfo *t, size_t *n, const char *name, int nd, uint64_t a, uint64_t b, uint64_t c, uint32_t type)
{
    snprintf(t[*n].name, sizeof t[*n].name, "%s", name);
    t[*n].nd = nd, t[*n].ne[0] = a, t[*n].ne[1] = b, t[*n].ne[2] = c, t[*n].type = type;
    (*n)++;
}

static void kv_u32(buf *b, const char *k, uint32_t v) { str(b, k); u32(b, 4); u32(b, v); }

/*
 * A DeepSeek-R1 (671B, deepseek2 in llama.cpp) Q4_K-sized GGUF header: 61 blocks (3 dense, 58 with 256 routed
 * experts), MLA (K only, 576 per token per layer), vocabulary 129,280. The data section is a hole in a sparse
 * file of the real size (about 377 GB): nothing is written but the header.
 */
static void write_deepseek_r1(const char *path)
{
    static tinfo t[64 * 20];
    size_t n = 0;
#define T(nm, d, a, b_, c, ty) add(t, &n, nm, d, a, b_, c, ty)
    T("token_embd.weight", 2, 7168, 129280, 1, Q4_K);
    char nm[64];
    for (int il = 0; il < 61; il++) {
#define B(s, d, a, b_, c, ty) do { snprintf(nm, sizeof nm, "blk.%d.%s", il, s); T(nm, d, a, b_, c, ty); } while (0)
        B("attn_norm.weight", 1, 7168, 1, 1, F32);
        B("attn_q_a.weight", 2, 7168, 1536, 1, Q4_K);
        B("attn_q_a_norm.weight", 1, 1536, 1, 1, F32);
        B("attn_q_b.weight", 2, 1536, 24576, 1, Q4_K);
        B("attn_kv_a_mqa.weight", 2, 7168, 576, 1, Q4_K);
        B("attn_kv_a_norm.weight", 1, 512, 1, 1, F32);
        B("attn_k_b.weight", 3, 128, 512, 128, Q8_0);
        B("attn_v_b.weight", 3, 512, 128, 128, Q8_0);
        B("attn_output.weight", 2, 16384, 7168, 1, Q4_K);
        B("ffn_norm.weight", 1, 7168, 1, 1, F32);
        if (il < 3) {
            B("ffn_gate.weight", 2, 7168, 18432, 1, Q4_K);
            B("ffn_up.weight", 2, 7168, 18432, 1, Q4_K);
            B("ffn_down.weight", 2, 18432, 7168, 1, Q4_K);
        } else {
            B("ffn_gate_inp.weight", 2, 7168, 256, 1, F32);
            B("exp_probs_b.bias", 1, 256, 1, 1, F32);
            B("ffn_gate_exps.weight", 3, 7168, 2048, 256, Q4_K);
            B("ffn_up_exps.weight", 3, 7168, 2048, 256, Q4_K);
            B("ffn_down_exps.weight", 3, 2048, 7168, 256, Q4_K);
            B("ffn_gate_shexp.weight", 2, 7168, 2048, 1, Q4_K);
            B("ffn_up_shexp.weight", 2, 7168, 2048, 1, Q4_K);
            B("ffn_down_shexp.weight", 2, 2048, 7168, 1, Q4_K);
        }
#undef B
    }
    T("output_norm.weight", 1, 7168, 1, 1, F32);
    T("output.weight", 2, 7168, 129280, 1, Q6_K);
#undef T
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, n);
    u64(&b, 19);
    str(&b, "general.architecture"), u32(&b, 8), str(&b, "deepseek2");
    kv_u32(&b, "deepseek2.block_count", 61);
    kv_u32(&b, "deepseek2.context_length", 163840);
    kv_u32(&b, "deepseek2.embedding_length", 7168);
    kv_u32(&b, "deepseek2.feed_forward_length", 18432);
    kv_u32(&b, "deepseek2.attention.head_count", 128);
    kv_u32(&b, "deepseek2.attention.head_count_kv", 1);
    kv_u32(&b, "deepseek2.attention.key_length", 576);
    kv_u32(&b, "deepseek2.attention.value_length", 512);
    kv_u32(&b, "deepseek2.attention.key_length_mla", 192);
    kv_u32(&b, "deepseek2.attention.value_length_mla", 128);
    kv_u32(&b, "deepseek2.attention.kv_lora_rank", 512);
    kv_u32(&b, "deepseek2.attention.q_lora_rank", 1536);
    kv_u32(&b, "deepseek2.rope.dimension_count", 64);
    kv_u32(&b, "deepseek2.expert_count", 256);
    kv_u32(&b, "deepseek2.expert_used_count", 8);
    kv_u32(&b, "deepseek2.expert_feed_forward_length", 2048);
    kv_u32(&b, "deepseek2.leading_dense_block_count", 3);
    str(&b, "tokenizer.ggml.tokens"), u32(&b, 9), u32(&b, 8), u64(&b, 129280);
    for (int i = 0; i < 129280; i++)
        str(&b, "t");
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        str(&b, t[i].name);
        u32(&b, (uint32_t)t[i].nd);
        for (int d = 0; d < t[i].nd; d++)
            u64(&b, t[i].ne[d]);
        u32(&b, t[i].type);
        u64(&b, off);
        off += (tensor_bytes(t[i].type, t[i].ne, t[i].nd) + 31) / 32 * 32;
    }
    while (b.n % 32)
        put(&b, "", 1);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(truncate(path, (off_t)(b.n + off)), 0);   /* the data: a hole */
    free(b.p);
}

static char dir[] = "/tmp/mlgate-test-plan-XXXXXX", r1[128];

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(r1, sizeof r1, "%s/DeepSeek-R1-Q4_K_M.gguf", dir);
    write_deepseek_r1(r1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(r1);
    return rmdir(dir);
}

static mg_plan *plan_of(const char *yaml, mg_matrix **mx)
{
    char err[512] = "";
    int rc = mg_matrix_parse(yaml, strlen(yaml), "t.yaml", mx, err, sizeof err);
    if (rc)
        fail_msg("matrix: %s", err);
    mg_targets t;
    mg_target_spec ts = {.vram = mg_matrix_get_host(*mx)->vram, .need_memory = 1};
    assert_int_equal(mg_targets_make(&ts, &t, err, sizeof err), MG_OK);
    mg_plan *p = NULL;
    if ((rc = mg_plan_make_with(*mx, t.t, t.n, NULL, &p, err, sizeof err)))
        fail_msg("plan: %s", err);
    return p;
}

/* The field report's llama.cpp line: -ngl 19 --tensor-split 75,25 on 96 + 32 GB, 377 GB RAM + 207 GB swap. It
 * ran there with the 96 GB card nearly full: 2 GiB kept free fits, the default 10 % does not. */
static void deepseek_r1_split_75_25_ngl_19(void **state)
{
    (void)state;
    char y[1024];
    snprintf(y, sizeof y,
             "host: {vram: \"96G,32G\", ram: 377G, swap: 207G, headroom: 2G}\n"
             "models:\n"
             "  - {name: r1, kind: llm, endpoint: \"http://127.0.0.1:8080/v1\", file: \"%s\", ctx: 8192,\n"
             "     gpus: [0, 1], tensor_split: [75, 25], ngl: 19}\n", r1);
    mg_matrix *mx;
    mg_plan *p = plan_of(y, &mx);
    const mg_plan_model *pm = mg_plan_model_at(p, 0);
    assert_string_equal(pm->source, "gguf");
    assert_true(pm->fits);
    assert_int_equal(pm->ngl, 19);
    assert_int_equal(pm->nparts, 2);
    assert_int_equal(pm->part_gpu[0], 0);
    assert_int_equal(pm->part_gpu[1], 1);
    /* 19 slots: 18 blocks of about 6 GiB and the output; 75/25 of them: 15 blocks, and 3 with the output */
    assert_true(pm->part_need[0] > 80 * GIB && pm->part_need[0] < 94 * GIB);
    assert_true(pm->part_need[1] > 15 * GIB && pm->part_need[1] < 32 * GIB);
    assert_true(pm->part_need[0] > 2 * pm->part_need[1]);
    /* the other 42 blocks are in RAM: about 260 GB of experts, within RAM + swap */
    assert_true(pm->ram > 230 * GIB && pm->ram < 300 * GIB);
    const mg_plan_ram *ram = mg_plan_ram_budget(p);
    assert_true(ram->known && ram->ok);
    assert_int_equal(ram->ram, 377 * GIB);
    assert_int_equal(ram->usable, (uint64_t)((double)(584 * GIB) * 0.9));
    assert_true(mg_plan_ok(p));
    assert_int_equal(mg_plan_gpu_at(p, 0)->resident, pm->part_need[0]);
    assert_int_equal(mg_plan_gpu_at(p, 1)->resident, pm->part_need[1]);
    mg_plan_free(p);
    mg_matrix_free(mx);
    /* with 10 % kept free the 96 GB card's part is over, and named */
    snprintf(y, sizeof y,
             "host: {vram: \"96G,32G\", ram: 377G, swap: 207G}\n"
             "models:\n"
             "  - {name: r1, kind: llm, endpoint: \"http://127.0.0.1:8080/v1\", file: \"%s\",\n"
             "     gpus: [0, 1], tensor_split: [75, 25], ngl: 19}\n", r1);
    p = plan_of(y, &mx);
    pm = mg_plan_model_at(p, 0);
    assert_false(pm->fits);
    assert_non_null(strstr(pm->why, "its part on GPU0 needs"));
    assert_non_null(strstr(pm->why, "86.4 GiB is free there"));
    mg_plan_free(p);
    mg_matrix_free(mx);
    /* on 32 GB + 96 GB in that order the 75 % part is over the smaller GPU, and named */
    snprintf(y, sizeof y,
             "host: {vram: \"32G,96G\", ram: 377G, swap: 207G}\n"
             "models:\n"
             "  - {name: r1, kind: llm, endpoint: \"http://127.0.0.1:8080/v1\", file: \"%s\",\n"
             "     gpus: [0, 1], tensor_split: [75, 25], ngl: 19}\n", r1);
    p = plan_of(y, &mx);
    pm = mg_plan_model_at(p, 0);
    assert_false(pm->fits);
    assert_non_null(strstr(pm->why, "its part on GPU0 needs"));
    mg_plan_free(p);
    mg_matrix_free(mx);
}

/* Copies the "(matrix: KEYS)" of a fix into out as YAML flow keys. */
static int fix_keys(const char *fix, char *out, size_t len)
{
    const char *a = strstr(fix, "(matrix: ");
    const char *b = a ? strchr(a, ')') : NULL;
    if (!a || !b)
        return -1;
    a += strlen("(matrix: ");
    snprintf(out, len, "%.*s", (int)(b - a), a);
    return 0;
}

/* Without a placement the whole model is asked for on one GPU: it does not fit, and the fix found (experts
 * in RAM, a split) is one a plan with its keys confirms. */
static void deepseek_r1_fix_is_checked(void **state)
{
    (void)state;
    char y[1024];
    snprintf(y, sizeof y,
             "host: {vram: \"96G,32G\", ram: 377G, swap: 207G}\n"
             "models:\n"
             "  - {name: r1, kind: llm, endpoint: \"http://127.0.0.1:8080/v1\", file: \"%s\", ctx: 8192}\n", r1);
    mg_matrix *mx;
    mg_plan *p = plan_of(y, &mx);
    assert_false(mg_plan_ok(p));
    const char *fix = NULL;
    for (size_t k = 0; k < mg_plan_nfixes(p); k++)
        if (strstr(mg_plan_fix(p, k), "--n-cpu-moe"))
            fix = mg_plan_fix(p, k);
    assert_non_null(fix);
    assert_non_null(strstr(fix, "offload the experts of "));
    assert_non_null(strstr(fix, "-ts "));   /* both GPUs used */
    char keys[256];
    assert_int_equal(fix_keys(fix, keys, sizeof keys), 0);
    snprintf(y, sizeof y,
             "host: {vram: \"96G,32G\", ram: 377G, swap: 207G}\n"
             "models:\n"
             "  - {name: r1, kind: llm, endpoint: \"http://127.0.0.1:8080/v1\", file: \"%s\", ctx: 8192, %s}\n", r1,
             keys);
    mg_matrix *mx2;
    mg_plan *p2 = plan_of(y, &mx2);
    assert_true(mg_plan_ok(p2));
    const mg_plan_model *pm = mg_plan_model_at(p2, 0);
    assert_int_equal(pm->nparts, 2);
    assert_true(pm->n_cpu_moe > 0 && pm->n_cpu_moe < 61);
    /* the same plan: the fix's figures are the plan's */
    char a[32];
    assert_non_null(strstr(fix, mg_human(pm->part_need[0], a)));
    mg_plan_free(p2);
    mg_matrix_free(mx2);
    mg_plan_free(p);
    mg_matrix_free(mx);
}

/* F-022: a 642 GB checkpoint on 377 GB RAM + 207 GB swap crashed the host; refused, the RAM named. */
static void checkpoint_642g_refused_for_ram(void **state)
{
    (void)state;
    static const char y[] =
        "host: {vram: \"96G,32G\", ram: 377G, swap: 207G}\n"
        "models:\n"
        "  - {name: r1-int8, kind: llm, endpoint: \"http://127.0.0.1:30000/v1\", memory: 60G, ram: 642G}\n"
        "  - {name: tts, kind: tts, endpoint: \"http://127.0.0.1:8880/v1\", memory: 4G, ram: 2G}\n";
    mg_matrix *mx;
    mg_plan *p = plan_of(y, &mx);
    assert_false(mg_plan_ok(p));
    const mg_plan_model *big = mg_plan_model_at(p, 0), *tts = mg_plan_model_at(p, 1);
    assert_false(big->fits);
    assert_true(tts->fits);
    assert_non_null(strstr(big->why, "keeps 642.0 GiB in host RAM"));
    assert_non_null(strstr(big->why, "RAM 377.0 GiB + swap 207.0 GiB, 10% kept free"));
    assert_false(mg_plan_ram_budget(p)->ok);
    int said = 0;
    for (size_t k = 0; k < mg_plan_nfixes(p); k++)
        said |= strstr(mg_plan_fix(p, k), "of RAM or swap") != NULL;
    assert_true(said);
    mg_plan_free(p);
    mg_matrix_free(mx);
    /* the same model with ram: 3000G on a 377 GB host without swap */
    static const char y2[] = "host: {vram: 96G, ram: 377G}\n"
                             "models:\n"
                             "  - {name: big, kind: llm, endpoint: \"http://127.0.0.1:1/v1\", memory: 10G, ram: 3000G}\n";
    p = plan_of(y2, &mx);
    assert_false(mg_plan_ok(p));
    assert_non_null(strstr(mg_plan_model_at(p, 0)->why, "host RAM"));
    mg_plan_free(p);
    mg_matrix_free(mx);
}

/* Report 001: a 96 GB card, "KV cache headroom ~10 GB", residents of 57 + 23 + 4 GB and on-demand models of
 * 14 and 12 GB ("with 96GB, we have flexibility"): only 2 GiB is left beside the residents. */
static void card_96g_residents_and_on_demand(void **state)
{
    (void)state;
    static const char y[] =
        "host: {vram: 96G, headroom: 10G, ram: 128G}\n"
        "models:\n"
        "  - {name: coder, kind: llm, endpoint: \"http://127.0.0.1:8080/v1\", memory: 57G}\n"
        "  - {name: qwen3-32b, kind: llm, endpoint: \"http://127.0.0.1:8081/v1\", memory: 23G}\n"
        "  - {name: tts, kind: tts, endpoint: \"http://127.0.0.1:8880/v1\", memory: 4G}\n"
        "  - {name: vlm, kind: vlm, endpoint: \"http://127.0.0.1:8082/v1\", memory: 14G, residency: on-demand}\n"
        "  - {name: flux, kind: image, endpoint: \"http://127.0.0.1:7860/v1\", memory: 12G, residency: on-demand}\n";
    mg_matrix *mx;
    mg_plan *p = plan_of(y, &mx);
    assert_int_equal(mg_plan_gpu_at(p, 0)->headroom, 10 * GIB);
    assert_int_equal(mg_plan_gpu_at(p, 0)->usable, 86 * GIB);
    assert_int_equal(mg_plan_gpu_at(p, 0)->resident, 84 * GIB);
    assert_false(mg_plan_ok(p));
    for (size_t i = 0; i < 3; i++)
        assert_true(mg_plan_model_at(p, i)->fits);
    assert_false(mg_plan_model_at(p, 3)->fits);
    assert_non_null(strstr(mg_plan_model_at(p, 3)->why, "at most 2.0 GiB is free"));
    int on_demand = 0;
    for (size_t k = 0; k < mg_plan_nfixes(p); k++)
        on_demand |= strstr(mg_plan_fix(p, k), "make 'coder' on-demand") != NULL ||
                     strstr(mg_plan_fix(p, k), "make 'qwen3-32b' on-demand") != NULL;
    assert_true(on_demand);
    mg_plan_free(p);
    mg_matrix_free(mx);
}

/* The placement keys and headroom forms, and their errors at their place. */
static void placement_keys_parse(void **state)
{
    (void)state;
    static const char ok[] =
        "host: {vram: \"96G,32G\", headroom: [8G, 2G]}\n"
        "models:\n"
        "  - {name: a, kind: llm, endpoint: \"http://x/v1\", gpus: [0, 1], memory: [70G, 20G]}\n"
        "  - {name: b, kind: llm, endpoint: \"http://x/v1\", gpus: [1], memory: 5G}\n"
        "  - {name: c, kind: llm, endpoint: \"http://x/v1\", tensor_split: \"3,1\", ngl: 20, n_cpu_moe: 4, memory: 1G}\n";
    mg_matrix *m;
    char err[512];
    assert_int_equal(mg_matrix_parse(ok, sizeof ok - 1, "m.yaml", &m, err, sizeof err), MG_OK);
    const mg_matrix_model *a = mg_matrix_model_at(m, 0), *b = mg_matrix_model_at(m, 1), *c = mg_matrix_model_at(m, 2);
    assert_int_equal(a->ngpus, 2);
    assert_int_equal(a->nmemory, 2);
    assert_int_equal(a->memory, 90 * GIB);
    assert_int_equal(b->gpu, 1);   /* gpus: [1] is a pin */
    assert_int_equal(b->ngpus, 0);
    assert_int_equal(c->nsplit, 2);
    assert_true(c->tensor_split[0] == 3 && c->tensor_split[1] == 1);
    assert_int_equal(c->ngl, 20);
    assert_int_equal(c->n_cpu_moe, 4);
    assert_int_equal(mg_matrix_get_host(m)->nheadroom, 2);
    mg_targets t;
    mg_target_spec ts = {.vram = "96G,32G", .need_memory = 1};
    assert_int_equal(mg_targets_make(&ts, &t, err, sizeof err), MG_OK);
    mg_plan *p;
    assert_int_equal(mg_plan_make_with(m, t.t, t.n, NULL, &p, err, sizeof err), MG_OK);
    assert_int_equal(mg_plan_gpu_at(p, 0)->usable, 88 * GIB);
    assert_int_equal(mg_plan_gpu_at(p, 1)->usable, 30 * GIB);
    assert_int_equal(mg_plan_gpu_at(p, 0)->resident, 71 * GIB);   /* a's 70G, c (any GPU, 1G) beside it */
    assert_int_equal(mg_plan_gpu_at(p, 1)->resident, 25 * GIB);
    assert_true(mg_plan_ok(p));
    assert_false(mg_plan_ram_budget(p)->known);   /* no ram: and not this machine's GPUs */
    mg_plan_free(p);
    mg_plan_opts o = {.headroom = -1, .headroom_bytes = 1 * GIB, .ram = 64 * GIB};
    assert_int_equal(mg_plan_make_with(m, t.t, t.n, &o, &p, err, sizeof err), MG_OK);
    assert_int_equal(mg_plan_gpu_at(p, 1)->usable, 31 * GIB);
    assert_true(mg_plan_ram_budget(p)->known);
    mg_plan_free(p);
    mg_matrix_free(m);

    static const struct { const char *yaml, *msg; } bad[] = {
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", gpu: 0, gpus: [0, 1]}\n",
         "m.yaml:2:5: model 'a': give gpu: N or gpus: [...], not both"},
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", gpus: [0, 1], memory: 20G}\n",
         "m.yaml:2:73: model 'a': split across 2 GPUs, memory: is a list of one size per GPU ([70G, 20G])"},
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", gpus: [0, 1], tensor_split: [1, 2, 3]}\n",
         "m.yaml:2:79: model 'a': tensor_split: has 3 ratios for 2 gpus:"},
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", gpus: [0, 0]}\n",
         "m.yaml:2:61: gpus: GPU 0 given twice"},
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", tensor_split: [0, 0]}\n",
         "m.yaml:2:65: model 'a': tensor_split: every ratio is 0"},
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", tensor_split: [a]}\n",
         "m.yaml:2:66: tensor_split: 'a' is not a ratio (a number from 0, e.g. 75,25 or 0.75,0.25)"},
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", gpus: [16]}\n",
         "m.yaml:2:58: gpus: '16' is not a GPU index from 0 to 15"},
        {"host: {headroom: 10X}\nmodels: []\n",
         "m.yaml:1:18: headroom '10X': a fraction from 0 to 0.9, a percentage (10%), or a size kept free on each "
         "GPU (10G; a list [10G, 4G] per GPU)"},
        {"models:\n  - {name: a, kind: llm, endpoint: \"http://x/v1\", gpu: 1, tensor_split: [1, 2]}\n",
         "m.yaml:2:73: model 'a': tensor_split: splits over gpus: [...], not one gpu:"},
        {"host: {ram: lots}\nmodels: []\n", "m.yaml:1:13: ram: 'lots' is not a size (e.g. 24G, 512M, 1.5GiB)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = NULL;
        err[0] = 0;
        assert_int_equal(mg_matrix_parse(bad[i].yaml, strlen(bad[i].yaml), "m.yaml", &m, err, sizeof err), MG_E_FORMAT);
        if (strcmp(err, bad[i].msg))
            fail_msg("case %zu: got '%s'\nwant '%s'", i, err, bad[i].msg);
        assert_null(m);
    }
}

/* A split safetensors checkpoint is tensor-parallel: its need evenly on each of its GPUs. */
static void safetensors_split_evenly(void **state)
{
    (void)state;
    char y[512];
    snprintf(y, sizeof y,
             "host: {vram: \"24G,24G\"}\n"
             "models:\n"
             "  - {name: s, kind: llm, endpoint: \"http://x/v1\", file: \"%s\", gpus: [0, 1]}\n", FIXTURES "/tiny.safetensors");
    mg_matrix *mx;
    mg_plan *p = plan_of(y, &mx);
    const mg_plan_model *pm = mg_plan_model_at(p, 0);
    assert_int_equal(pm->nparts, 2);
    uint64_t d = pm->part_need[0] > pm->part_need[1] ? pm->part_need[0] - pm->part_need[1] : pm->part_need[1] - pm->part_need[0];
    assert_true(d <= 1);
    assert_int_equal(pm->part_need[0] + pm->part_need[1], pm->need);
    assert_true(mg_plan_ok(p));
    mg_plan_free(p);
    mg_matrix_free(mx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deepseek_r1_split_75_25_ngl_19),
        cmocka_unit_test(deepseek_r1_fix_is_checked),
        cmocka_unit_test(checkpoint_642g_refused_for_ram),
        cmocka_unit_test(card_96g_residents_and_on_demand),
        cmocka_unit_test(placement_keys_parse),
        cmocka_unit_test(safetensors_split_evenly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

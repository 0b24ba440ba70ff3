/* fuzz_gguf.c - libFuzzer target: any bytes as a GGUF file, through the parser, the KV cache rules, fit (in memory and as a file opened by mg_model_open) and their JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "models/formats.h"
#include "mlgate/mlgate.h"
#include "fuzz.h"


/* The tail of the input (the data section: the parser never reads it) picks the fit's options and GPUs. */
typedef struct knobs {
    mg_fit_opts o;
    mg_target dev[3];
    size_t nd;
    int ot;                 /* also -ot on the experts */
    int swa_full;
} knobs;

static void knobs_of(const uint8_t *b, size_t n, knobs *k)
{
    uint8_t t[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < 4 && i < n; i++)
        t[i] = b[n - 1 - i];
    static const uint64_t ctx[] = {0, 1, 255, 256, 4096, 131072, 1ull << 24, UINT64_MAX};
    static const uint32_t cache[] = {1, 8, 2, 0, 30, 39, 4, 1000};
    /* the largest a GPU can be told to have: --vram and vram: take sizes below 18e18 */
    static const uint64_t mem[] = {8ull << 30, 24ull << 30, 80ull << 30, 141ull << 30, 1ull << 40, 1ull << 62,
                                   17000000000000000000ull, 1};
    memset(k, 0, sizeof *k);
    k->o.n_ctx = ctx[t[0] & 7];
    k->o.type_k = cache[t[0] >> 3 & 7];
    k->o.type_v = cache[(t[0] >> 6 | t[1] << 2) & 7];
    k->o.n_seq = (t[1] >> 1 & 3) == 3 ? 7 : 1u << (t[1] >> 1 & 3);   /* 1, 2, 4, 7 */
    static const int ngl[] = {-1, 0, 1, 1000};
    k->o.ngl = ngl[t[1] >> 3 & 3];
    static const int ncm[] = {-1, 0, 3, 2000};
    k->o.n_cpu_moe = ncm[t[1] >> 5 & 3];
    k->o.kv_unified = t[1] >> 7;
    k->o.flash_attn = (t[2] & 3) % 3;
    k->o.headroom = (t[2] >> 2 & 1) ? 0.0 : 0.10;
    k->o.ram = (t[2] >> 3 & 1) ? 1ull << 40 : 64ull << 30;
    if (t[2] >> 4 & 1) {
        k->o.nsplit = 2;
        k->o.split[0] = 1;
        k->o.split[1] = 3;
    }
    k->nd = t[3] & 3;
    for (size_t i = 0; i < k->nd; i++) {
        snprintf(k->dev[i].name, sizeof k->dev[i].name, "GPU%zu", i);
        k->dev[i].mem_total = mem[t[3] >> (2 + 2 * i) & 7];
        k->dev[i].mem_free = k->dev[i].mem_total;
        k->dev[i].index = -1;
    }
    k->ot = t[2] >> 5 & 1;
    k->swa_full = t[2] >> 6 & 1;
}

/* What a successful parse promises. */
static void check_gguf(const mg_gguf *g)
{
    FUZZ_CHECK((!g->n_kv || g->kv) && (!g->n_tensors || g->tensors), "arrays");
    FUZZ_CHECK(g->alignment && !(g->alignment & (g->alignment - 1)), "alignment %u", g->alignment);
    FUZZ_CHECK(!g->n_tensors || g->header_bytes % g->alignment == 0, "data section at %llu",
               (unsigned long long)g->header_bytes);
    FUZZ_CHECK(g->nissues <= MG_GGUF_MAX_ISSUES, "issues");
    u128 params = 0, dense = 0;
    int in_order = 1;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const mg_gguf_tensor *t = &g->tensors[i];
        FUZZ_CHECK(t->name && t->n_dims >= 1 && t->n_dims <= 4, "tensor %llu", (unsigned long long)i);
        u128 elems = 1;
        for (int d = 0; d < 4; d++)
            elems *= t->ne[d];
        FUZZ_CHECK(elems <= INT64_MAX, "tensor '%s' elements", t->name);
        params += elems;
        /* ggml_nbytes, exactly, where the type is known and the rows are whole blocks */
        const mg_ggml_type *ty = mg_ggml_type_get(t->type);
        if (ty && t->ne[0] % ty->blck == 0) {
            u128 rows = (u128)t->ne[1] * t->ne[2] * t->ne[3];
            u128 exact = (u128)(t->ne[0] / ty->blck) * ty->bytes * rows;
            uint64_t want = exact > UINT64_MAX ? UINT64_MAX : (uint64_t)exact;
            FUZZ_CHECK_KNOWN("gguf-nbytes-wrap", t->nbytes == want, "tensor '%s' [%llu,%llu,%llu,%llu] %s: nbytes %llu, ggml_nbytes %llu%s",
                       t->name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                       (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], ty->name,
                       (unsigned long long)t->nbytes, (unsigned long long)want, exact > UINT64_MAX ? " (saturated)" : "");
        } else {
            FUZZ_CHECK(t->nbytes == 0, "tensor '%s' of an unsized type has %llu bytes", t->name,
                       (unsigned long long)t->nbytes);
        }
        /* the data section holds every tensor: dense offsets end inside it */
        in_order &= t->offset == dense;
        dense += ((u128)t->nbytes + g->alignment - 1) / g->alignment * g->alignment;
        FUZZ_CHECK(!in_order || g->data_bytes == UINT64_MAX || (u128)t->offset + t->nbytes <= g->data_bytes,
                   "tensor '%s' at %llu + %llu passes the data section's %llu bytes", t->name,
                   (unsigned long long)t->offset, (unsigned long long)t->nbytes, (unsigned long long)g->data_bytes);
    }
    FUZZ_CHECK(g->data_bytes == (dense > UINT64_MAX ? UINT64_MAX : (uint64_t)dense), "data_bytes %llu",
               (unsigned long long)g->data_bytes);
    FUZZ_CHECK(FUZZ_SAT_EQ(params, g->params), "params %llu: the sum of the tensors' elements wraps",
               (unsigned long long)g->params);
}

/* The cache only grows with the context, and the total is the sum of the layers (nothing wraps). */
static void check_kv(const mg_kv_model *m, const knobs *k)
{
    FUZZ_CHECK(m->n_layer >= 1 && m->n_layer <= MG_KV_MAX_LAYERS && m->n_layer_kv <= m->n_layer, "layers %u/%u",
               m->n_layer, m->n_layer_kv);
    static const uint64_t ctx[] = {0, 1, 512, 4096, 8192, 32768, 131072, 1u << 20};
    uint64_t prev = 0;
    for (size_t c = 0; c < sizeof ctx / sizeof ctx[0]; c++) {
        mg_kv_opts o = {ctx[c], k->o.type_k, k->o.type_v, k->o.n_seq, 512, k->swa_full, k->o.kv_unified};
        uint64_t total = mg_kv_bytes(m, &o);
        u128 sum = 0;
        for (uint32_t il = 0; il < m->n_layer; il++)
            sum += mg_kv_layer_bytes(m, &o, il);
        FUZZ_CHECK_KNOWN("kv-wrap", FUZZ_SAT_EQ(sum, total), "KV total %llu is not the sum of its layers (wrapped)", (unsigned long long)total);
        FUZZ_CHECK_KNOWN("kv-wrap", total >= prev, "KV cache shrinks from %llu to %llu bytes as the context grows to %llu (wrapped)",
                   (unsigned long long)prev, (unsigned long long)total, (unsigned long long)ctx[c]);
        prev = total;
    }
}

static void check_plan(const mg_fit_model *fm, const mg_fit_plan *p, size_t nd)
{
    int slots = 0;
    for (size_t d = 0; d < nd; d++) {
        u128 sum = (u128)p->weights[d] + p->kv[d] + p->compute[d];
        FUZZ_CHECK_KNOWN("fit-need-wrap", FUZZ_SAT_EQ(sum, p->need[d]), "GPU %zu needs %llu, weights %llu + kv %llu + compute %llu (wrapped)", d,
                   (unsigned long long)p->need[d], (unsigned long long)p->weights[d], (unsigned long long)p->kv[d],
                   (unsigned long long)p->compute[d]);
        FUZZ_CHECK(p->layers[d] >= 0, "layers");
        slots += p->layers[d];
    }
    FUZZ_CHECK(slots <= (int)fm->kv.n_layer + 1, "%d slots of %u", slots, fm->kv.n_layer + 1);
    u128 ram = (u128)p->ram_weights + p->ram_kv + p->ram_other;
    FUZZ_CHECK_KNOWN("fit-need-wrap", FUZZ_SAT_EQ(ram, p->ram_need), "RAM need %llu, weights %llu + kv %llu + other %llu (wrapped)",
               (unsigned long long)p->ram_need, (unsigned long long)p->ram_weights, (unsigned long long)p->ram_kv,
               (unsigned long long)p->ram_other);
}

static void check_fit_model(const mg_gguf *g, const mg_fit_model *fm)
{
    u128 total = 0, slots = fm->input_bytes;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        total += g->tensors[i].nbytes;
    FUZZ_CHECK_KNOWN("fit-total-wrap", FUZZ_SAT_EQ(total, fm->total_bytes),
               "fit counts %llu bytes of weights: the tensors' sizes wrap", (unsigned long long)fm->total_bytes);
    for (uint32_t s = 0; s <= fm->kv.n_layer; s++) {
        slots += fm->slot_bytes[s];
        FUZZ_CHECK_KNOWN("fit-total-wrap", fm->exps_bytes[s] <= fm->slot_bytes[s] && fm->ot_bytes[s] <= fm->slot_bytes[s] &&
                   fm->ot_exps_bytes[s] <= fm->exps_bytes[s] && fm->ot_exps_bytes[s] <= fm->ot_bytes[s],
                   "slot %u: experts %llu, -ot %llu of %llu (wrapped)", s, (unsigned long long)fm->exps_bytes[s],
                   (unsigned long long)fm->ot_bytes[s], (unsigned long long)fm->slot_bytes[s]);
    }
    /* each slot's sum saturates: exact while the tensors' total fits, at least "more than can be counted" after */
    FUZZ_CHECK_KNOWN("fit-total-wrap", total > UINT64_MAX ? slots >= UINT64_MAX : slots == total,
                     "the slots and the host hold %llu bytes, the tensors %llu", (unsigned long long)slots,
                     (unsigned long long)total);
}

/* fit-search-hang (reported): fit's search for the largest context never ends past 2^64 - 256. */
static int hangs(uint64_t n_ctx_train)
{
    return n_ctx_train > UINT64_MAX - 512 && fuzz_known("fit-search-hang");
}

static void fit_in_memory(mg_gguf *g, mg_arena *a, size_t size, const knobs *k)
{
    static mg_kv_model kvm;
    if (mg_kv_from_gguf(g, &kvm) == MG_OK)
        check_kv(&kvm, k);
    static mg_gguf_file shard;
    memset(&shard, 0, sizeof shard);
    snprintf(shard.path, sizeof shard.path, "fuzz.gguf");
    shard.g = *g;
    shard.size = size;
    mg_gguf_model gm = {1, &shard, {0, 0}, a};
    mg_llama_need ln;
    mg_llama_cpp_need(&gm, &ln);
    static mg_fit_model fm;
    if (mg_fit_model_from(&gm, &fm) != MG_OK)
        return;
    if (k->ot) {
        const char *ot[] = {"\\.ffn_(up|down|gate)_exps", "^blk\\.1\\."};
        char err[256];
        FUZZ_CHECK(mg_fit_override_cpu(&gm, ot, 2, &fm, err, sizeof err) == MG_OK, "-ot: %s", err);
    }
    check_fit_model(g, &fm);
    if (hangs(fm.n_ctx_train))
        return;
    mg_fit_plan p;   /* the search itself runs in as_file, through mg_fit: here its steps */
    mg_fit_evaluate(&fm, k->dev, k->nd, &k->o, (int)fm.kv.n_layer + 1, 8192, &p);
    check_plan(&fm, &p, k->nd);
    mg_fit_evaluate(&fm, k->dev, k->nd, &k->o, 0, k->o.n_ctx, &p);
    check_plan(&fm, &p, k->nd);
}

/* The same bytes as a file: what mlgate inspect and mlgate fit do with it. */
static void as_file(const uint8_t *data, size_t size, const knobs *k)
{
    char path[512];
    fuzz_write("m.gguf", data, size);
    snprintf(path, sizeof path, "%s/m.gguf", fuzz_dir());
    mg_model *m = mg_model_open(path);
    if (!m)
        return;
    const mg_gguf_file *s = m->gguf && m->gguf->nshards ? &m->gguf->shards[0] : NULL;
    if (s && !s->err)
        FUZZ_CHECK_KNOWN("gguf-size-wrap", (u128)s->g.header_bytes + s->g.data_bytes <= s->size,
                   "a file of %llu bytes opens whole, its header says %llu + %llu", (unsigned long long)s->size,
                   (unsigned long long)s->g.header_bytes, (unsigned long long)s->g.data_bytes);
    mg_model_summary sum;
    mg_model_summarize(m, &sum);
    mg_model_memory mem;
    char err[512];
    mg_model_memory_at(m, 8192, &mem, err, sizeof err);
    const mg_model *one[1] = {m};
    FUZZ_JSON_VALID(mg_inspect_json(f, one, 1));
    static mg_fit_report r;
    const char *ot[] = {"_exps"};
    uint64_t ctx_train = 0;
    if (s && !s->err) {
        char key[160];
        snprintf(key, sizeof key, "%s.context_length", mg_gguf_str(&s->g, "general.architecture") ? mg_gguf_str(&s->g, "general.architecture") : "");
        ctx_train = mg_gguf_u64(&s->g, key, 0);
    }
    if (!hangs(ctx_train) && mg_fit(m, k->dev, k->nd, &k->o, ot, k->ot, &r, err, sizeof err) == MG_OK)
        FUZZ_JSON_VALID(mg_fit_json(f, &r));
    mg_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = fuzz_copy(data, size);
    mg_arena *a = mg_arena_new();
    if (!b || !a) {
        free(b);
        mg_arena_free(a);
        return 0;
    }
    knobs k;
    knobs_of(b, size, &k);
    static mg_gguf g;
    uint64_t need = 0;
    char err[256];
    int rc = mg_gguf_parse(b, size, a, &g, &need, err, sizeof err);
    if (rc == MG_E_TRUNCATED)
        FUZZ_CHECK_KNOWN("gguf-need-wrap", need > size || need == 0, "truncated at %zu bytes, but says it needs %llu", size,
                   (unsigned long long)need);
    if (rc == MG_OK) {
        check_gguf(&g);
        fit_in_memory(&g, a, size, &k);
    }
    mg_arena_free(a);
    as_file(b, size, &k);
    free(b);
    return 0;
}

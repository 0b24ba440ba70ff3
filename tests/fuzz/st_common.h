/* st_common.h - what the safetensors-checkpoint fuzz targets (index JSON, config.json) check on a model opened from the scratch directory. */
#ifndef MG_FUZZ_ST_COMMON_H
#define MG_FUZZ_ST_COMMON_H

#include "mlgate/mlgate.h"
#include "fuzz.h"

/* The parts of a load sum to its need (saturating: never wrapping to a small number). */
static inline void fuzz_check_fit_st(const mg_fit_st *f)
{
    uint64_t parts = fuzz_sat_add(fuzz_sat_add(fuzz_sat_add(f->weights, f->kv), f->activations), f->runtime);
    FUZZ_CHECK(f->need == parts && f->need >= f->weights && f->need >= f->kv && f->need >= f->activations,
               "need %llu, weights %llu + kv %llu + activations %llu + runtime %llu", (unsigned long long)f->need,
               (unsigned long long)f->weights, (unsigned long long)f->kv, (unsigned long long)f->activations,
               (unsigned long long)f->runtime);
}

/* A checkpoint opened as mlgate opens it (once): its shards, its fit at a few contexts, its JSON. */
static inline void fuzz_st_model(const char *path, const char *dir)
{
    mg_model *m = mg_model_open(path);
    if (!m)
        return;
    if (m->format == MG_FORMAT_GGUF && strcmp(path, dir)) {
        mg_model_free(m);   /* bytes that start "GGUF" are a GGUF whatever the file's name: the magic decides */
        return;
    }
    FUZZ_CHECK(m->format == MG_FORMAT_SAFETENSORS && m->st, "%s opened as a GGUF", path);
    const mg_st_model *sm = m->st;
    size_t dl = strlen(dir);
    FUZZ_CHECK(sm->nshards <= 512, "%zu shards", sm->nshards);
    for (size_t i = 0; i < sm->nshards; i++) {
        const mg_st_file *s = &sm->shards[i];
        /* an index names files beside it, never elsewhere */
        FUZZ_CHECK(!strncmp(s->path, dir, dl) && s->path[dl] == '/' && !strchr(s->path + dl + 1, '/'),
                   "shard %zu is %s, outside %s", i, s->path, dir);
        FUZZ_CHECK(!s->err || (s->msg[0] && memchr(s->msg, 0, sizeof s->msg)), "shard %zu: error %d without words", i,
                   s->err);
    }
    uint64_t prev = 0;
    static const uint64_t ctx[] = {0, 1, 4096, 131072, 1ull << 40, UINT64_MAX};
    for (size_t c = 0; c < sizeof ctx / sizeof ctx[0]; c++) {
        mg_fit_st f;
        if (mg_fit_safetensors(sm, ctx[c], 1 + (uint32_t)c % 3, c % 3, &f) != MG_OK)
            break;
        fuzz_check_fit_st(&f);
        mg_fit_st g;
        mg_fit_safetensors(sm, ctx[c], 1, 1, &g);
        FUZZ_CHECK(g.need >= prev, "need %llu at context %llu, %llu at a smaller one (wrapped)",
                   (unsigned long long)g.need, (unsigned long long)ctx[c], (unsigned long long)prev);
        prev = g.need;
    }
    mg_model_summary sum;
    mg_model_summarize(m, &sum);
    mg_model_memory mem;
    char err[512];
    if (mg_model_memory_at(m, 8192, &mem, err, sizeof err) == MG_OK)
        FUZZ_CHECK(mem.need >= mem.weights, "need %llu < weights %llu", (unsigned long long)mem.need,
                   (unsigned long long)mem.weights);
    const mg_model *one[1] = {m};
    FUZZ_JSON_VALID(mg_inspect_json(f, one, 1));
    mg_target dev[2] = {{"GPU0", 24ull << 30, 24ull << 30, 0, {0, 0, 0}, 0, 0, -1, ""},
                        {"GPU1", 17000000000000000000ull, 17000000000000000000ull, 0, {0, 0, 0}, 0, 0, -1, ""}};
    mg_fit_opts o = {.n_ctx = 0, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.1, .ram = 1ull << 40,
                     .n_cpu_moe = 0};
    static mg_fit_report r;
    for (size_t nd = 0; nd <= 2; nd++)
        if (mg_fit(m, dev, nd, &o, NULL, 0, &r, err, sizeof err) == MG_OK) {
            fuzz_check_fit_st(&r.st);
            FUZZ_JSON_VALID(mg_fit_json(f, &r));
        }
    mg_model_free(m);
}

#endif

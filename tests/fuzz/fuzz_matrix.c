/* fuzz_matrix.c - libFuzzer target: any bytes as a matrix YAML, then its plan on 1-3 GPUs (files: mapped into a scratch directory) and the plan's JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_int.h"
#include "mlgate/mlgate.h"
#include "fuzz.h"


/* Model files a matrix can name: a GGUF, a safetensors file, a checkpoint directory. */
static void setup(void)
{
    static int done;
    if (done++)
        return;
    fuzz_buf g = fuzz_tiny_gguf();
    fuzz_write("tiny.gguf", g.p, g.n);
    free(g.p);
    fuzz_buf s = fuzz_tiny_safetensors("w");
    fuzz_write("tiny.safetensors", s.p, s.n);
    fuzz_mkdir("ckpt");
    fuzz_write("ckpt/model.safetensors", s.p, s.n);
    free(s.p);
    static const char config[] = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":2,"
                                 "\"num_attention_heads\":4,\"torch_dtype\":\"float32\"}";
    fuzz_write("ckpt/config.json", config, sizeof config - 1);
}

/* file: values name a file of the scratch directory by their last component (a URL or any other path
 * would reach the network or the machine's files): "x/tiny.gguf" -> <scratch>/tiny.gguf. */
static void confine_files(mg_matrix *m)
{
    for (size_t i = 0; i < m->nmodels; i++) {
        const char *f = m->models[i].file;
        if (!f)
            continue;
        const char *base = strrchr(f, '/');
        base = base ? base + 1 : f;
        if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
            base = "none";
        char path[600];
        snprintf(path, sizeof path, "%s/%.200s", fuzz_dir(), base);
        m->models[i].file = mg_arena_strdup(m->arena, path);
    }
}

static void check_matrix(const mg_matrix *m)
{
    FUZZ_CHECK(m->nmodels <= MG_MATRIX_MAX_MODELS, "%zu models", m->nmodels);
    FUZZ_CHECK(m->host.headroom >= 0 && m->host.headroom < 0.9, "headroom %g", m->host.headroom);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_matrix_model *md = &m->models[i];
        FUZZ_CHECK(md->name && md->kind < MG_MODEL_KINDS, "model %zu", i);
        FUZZ_CHECK(!md->endpoint != !md->nexec, "model '%s': endpoint and exec", md->name);
        FUZZ_CHECK(md->nexec <= MG_MATRIX_MAX_LIST && !md->exec[md->nexec] && md->nbinaries <= MG_MATRIX_MAX_LIST,
                   "model '%s' lists", md->name);
        for (size_t k = 0; k < md->nexec; k++)
            FUZZ_CHECK(md->exec[k], "model '%s': exec[%zu] NULL", md->name, k);
        FUZZ_CHECK(md->gpu >= -1 && md->gpu < MG_PLAN_MAX_GPU, "model '%s' gpu %d", md->name, md->gpu);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(md->name, m->models[j].name), "model '%s' twice", md->name);
    }
}

/* The placement is what it says: residents within each GPU, on-demand models within what is left,
 * pairs not listed as conflicts loadable together, and the totals their parts (nothing wraps). */
static void check_plan(const mg_matrix *m, const mg_plan *p)
{
    size_t ng = mg_plan_ngpus(p);
    u128 resident_need = 0, usable = 0, on[MG_PLAN_MAX_GPU] = {0}, ram_kept = 0;
    FUZZ_CHECK(ng <= MG_PLAN_MAX_GPU, "%zu GPUs", ng);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_plan_model *pm = mg_plan_model_at(p, i);
        FUZZ_CHECK(pm && pm->source && pm->why, "model %zu", i);
        FUZZ_CHECK(pm->gpu >= -1 && pm->gpu < (int)ng, "model %zu on GPU %d of %zu", i, pm->gpu, ng);
        FUZZ_CHECK(!pm->fits || pm->gpu >= 0, "model %zu fits nowhere", i);
        FUZZ_CHECK(pm->nparts <= ng, "model %zu in %zu parts on %zu GPUs", i, pm->nparts, ng);
        for (size_t k = 0; k < pm->nparts; k++)
            FUZZ_CHECK(!pm->fits || (pm->part_gpu[k] >= 0 && pm->part_gpu[k] < (int)ng), "model %zu part on GPU %d", i,
                       pm->part_gpu[k]);
        if (!m->models[i].on_demand) {
            resident_need += pm->need;
            if (pm->fits && pm->nparts)
                for (size_t k = 0; k < pm->nparts; k++)
                    on[pm->part_gpu[k]] += pm->part_need[k];
            else if (pm->fits)
                on[pm->gpu] += pm->need;
            if (pm->fits)
                ram_kept += pm->ram;
        }
        for (size_t k = 0; k < pm->nconflicts; k++)
            FUZZ_CHECK(pm->conflicts[k] >= 0 && (size_t)pm->conflicts[k] < m->nmodels && (size_t)pm->conflicts[k] != i,
                       "model %zu conflicts with %d", i, pm->conflicts[k]);
    }
    for (size_t g = 0; g < ng; g++) {
        const mg_plan_gpu *x = mg_plan_gpu_at(p, g);
        usable += x->usable;
        FUZZ_CHECK(x->resident == on[g] && x->resident <= x->usable, "GPU %zu holds %llu of %llu, its residents %llu",
                   g, (unsigned long long)x->resident, (unsigned long long)x->usable, (unsigned long long)on[g]);
    }
    const mg_plan_ram *ram = mg_plan_ram_budget(p);
    FUZZ_CHECK(!ram->known || ram_kept <= ram->usable, "residents placed keep %llu of RAM, %llu usable",
               (unsigned long long)ram_kept, (unsigned long long)ram->usable);
    FUZZ_CHECK(FUZZ_SAT_EQ(resident_need, mg_plan_resident_need(p)), "resident need %llu, the residents need %llu%s",
               (unsigned long long)mg_plan_resident_need(p), (unsigned long long)resident_need,
               resident_need > UINT64_MAX ? " (wraps)" : "");
    FUZZ_CHECK_KNOWN("plan-usable-wrap", FUZZ_SAT_EQ(usable, mg_plan_usable(p)), "usable %llu (wraps?)", (unsigned long long)mg_plan_usable(p));
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_plan_model *a = mg_plan_model_at(p, i);
        if (!m->models[i].on_demand || !a->fits)
            continue;
        const mg_plan_gpu *x = mg_plan_gpu_at(p, (size_t)a->gpu);
        FUZZ_CHECK(a->need <= x->usable - x->resident, "on-demand model %zu does not fit where it is put", i);
        for (size_t j = i + 1; j < m->nmodels; j++) {
            const mg_plan_model *b = mg_plan_model_at(p, j);
            if (!m->models[j].on_demand || !b->fits)
                continue;
            int listed = 0;
            for (size_t k = 0; k < a->nconflicts; k++)
                listed |= (size_t)a->conflicts[k] == j;
            int together = 0;
            for (size_t g = 0; g < ng && !together; g++)
                for (size_t h = 0; h < ng && !together; h++) {
                    int pg = m->models[i].gpu, ph = m->models[j].gpu;
                    if ((pg >= 0 && pg != (int)g) || (ph >= 0 && ph != (int)h))
                        continue;
                    u128 rg = mg_plan_gpu_at(p, g)->usable - mg_plan_gpu_at(p, g)->resident;
                    u128 rh = mg_plan_gpu_at(p, h)->usable - mg_plan_gpu_at(p, h)->resident;
                    together = g == h ? (u128)a->need + b->need <= rg : a->need <= rg && b->need <= rh;
                }
            FUZZ_CHECK(listed == !together, "on-demand models %zu and %zu: %s, yet %s", i, j,
                       together ? "they fit together" : "they cannot be loaded together",
                       listed ? "listed as conflicting" : "not listed as conflicting");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char *text = (char *)fuzz_copy(data, size);
    if (!text)
        return 0;
    mg_matrix *m = NULL;
    char err[512];
    memset(err, 'x', sizeof err);
    int rc = mg_matrix_parse(text, size, "m.yaml", &m, err, sizeof err);
    free(text);   /* the matrix keeps copies */
    if (rc) {
        FUZZ_CHECK(m == NULL, "a failed parse returned a matrix");
        FUZZ_CHECK(rc == MG_E_NOMEM || (memchr(err, 0, sizeof err) && !strncmp(err, "m.yaml:", 7)),
                   "error %d says '%.80s'", rc, err);
        return 0;
    }
    check_matrix(m);
    confine_files(m);
    /* The GPUs: the matrix's own (host: gpus:/vram:), else one to three made up from the input's length. */
    mg_targets t;
    memset(&t, 0, sizeof t);
    char terr[256];
    mg_target_spec spec;
    mg_matrix_target_spec(m, NULL, NULL, NULL, &spec);
    spec.detect = 0;
    if (!(spec.gpus || spec.vram) || mg_targets_make(&spec, &t, terr, sizeof terr) != MG_OK || !t.n) {
        static const uint64_t sizes[] = {8ull << 30, 24ull << 30, 80ull << 30, 1ull << 62, 17000000000000000000ull};
        t.n = 1 + size % 3;
        for (size_t g = 0; g < t.n; g++) {
            memset(&t.t[g], 0, sizeof t.t[g]);
            snprintf(t.t[g].name, sizeof t.t[g].name, "GPU%zu", g);
            t.t[g].mem_total = t.t[g].mem_free = sizes[(size / 3 + g) % 5];
            t.t[g].index = -1;
        }
    }
    mg_plan *p = NULL;
    rc = mg_plan_make_with(m, t.t, t.n, NULL, &p, err, sizeof err);   /* the matrix's headroom and RAM */
    if (rc == MG_OK) {
        check_plan(m, p);
        FUZZ_JSON_VALID(mg_plan_json(f, p));
        mg_plan_free(p);
    }
    /* without a GPU to plan for (the gate's --no-smoke path): only the GGUFs are opened, later */
    mg_plan_opts po = {.headroom = 0.1};
    if (mg_plan_build(m, t.t, 0, &po, 0, 0, &p, err, sizeof err) == MG_OK) {
        mg_plan_open_files(p);
        FUZZ_JSON_VALID(mg_plan_json(f, p));
        mg_plan_free(p);
    }
    mg_matrix_free(m);
    return 0;
}

/* plan.c - do a matrix's models fit together: each model's memory (declared, or fit's from its file), residents placed on the GPUs, on-demand models beside them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlgate/matrix.h"
#include "mlgate/mlgate.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define TORCH_RUNTIME (700 * MIB)   /* CUDA context etc. beside what PyTorch allocates (as lib/fit.c) */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* A model's GPU memory from its file: llama.cpp with every layer on one GPU, or a transformers-style load. */
static void from_file(const mg_matrix_model *md, mg_plan_model *pm)
{
    uint64_t ctx = md->ctx ? md->ctx : 8192;
    if (ends_with(md->file, ".gguf")) {
        mg_gguf_model *g = mg_gguf_model_open(md->file);
        mg_fit_model *fm = malloc(sizeof *fm);
        int rc = !g || !fm ? MG_E_NOMEM : !g->nshards || g->shards[0].err ? MG_E_IO : mg_fit_model_from(g, fm);
        if (rc) {
            snprintf(pm->why, sizeof pm->why, "cannot read %.300s: %s%s%.150s", md->file, mg_strerror((mg_err)rc),
                     g && g->nshards && g->shards[0].err ? ": " : "", g && g->nshards ? g->shards[0].msg : "");
        } else {
            mg_fit_device big = {"plan", 1ull << 50, 1ull << 50};
            mg_fit_opts o = {.n_ctx = ctx, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .n_cpu_moe = 0};
            mg_fit_plan p;
            mg_fit_evaluate(fm, &big, 1, &o, (int)fm->kv.n_layer + 1, ctx, &p);
            pm->need = p.need[0];
            pm->ram = p.ram_need;
            pm->weights = fm->total_bytes;
            uint64_t params = 0;
            for (size_t i = 0; i < g->nshards; i++)
                params += g->shards[i].g.params;
            pm->bpw = params ? 8.0 * (double)fm->total_bytes / (double)params : 0;
            pm->source = "gguf";
        }
        free(fm);
        mg_gguf_model_free(g);
        return;
    }
    mg_st_model *st = mg_st_model_open(md->file);
    mg_fit_st f;
    int bad = !st || !st->nshards || st->shards[0].err;
    if (bad || mg_fit_safetensors(st, ctx, 1, &f) != MG_OK) {
        snprintf(pm->why, sizeof pm->why, "cannot read %.300s%s%.150s", md->file, st && st->nshards ? ": " : "",
                 st && st->nshards ? st->shards[0].msg : "");
    } else {
        pm->need = f.weights + f.kv + f.activations + TORCH_RUNTIME;
        pm->ram = f.weights;   /* loaders that materialise the checkpoint in RAM */
        pm->weights = f.weights;
        pm->source = "safetensors";
    }
    mg_st_model_free(st);
}

/* Both loaded at once: on two GPUs, or together on one. */
static int together(const mg_plan *p, const uint64_t *room, const mg_plan_model *a, const mg_plan_model *b, int pa,
                    int pb)
{
    for (size_t g = 0; g < p->ngpus; g++)
        for (size_t h = 0; h < p->ngpus; h++) {
            if ((pa >= 0 && (int)g != pa) || (pb >= 0 && (int)h != pb))
                continue;
            if (g == h ? a->need + b->need <= room[g] : a->need <= room[g] && b->need <= room[h])
                return 1;
        }
    return 0;
}

static void find_fixes(const mg_matrix *m, const mg_fit_device *gpus, size_t ngpus, double headroom, mg_plan *p);
static int plan(const mg_matrix *m, const mg_fit_device *gpus, size_t ngpus, double headroom, mg_plan *p,
                int with_fixes)
{
    memset(p, 0, sizeof *p);
    if (ngpus > MG_PLAN_MAX_GPU)
        return MG_E_LIMIT;
    p->ngpus = ngpus;
    for (size_t g = 0; g < ngpus; g++) {
        p->gpus[g] = gpus[g];
        p->usable[g] = (uint64_t)((double)gpus[g].total * (1.0 - headroom));
        p->usable_total += p->usable[g];
    }
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_matrix_model *md = &m->models[i];
        mg_plan_model *pm = &p->models[i];
        pm->gpu = -1;
        pm->source = "none";
        if (md->memory) {
            pm->need = md->memory;
            pm->ram = md->ram;
            pm->source = "declared";
        } else if (md->file) {
            from_file(md, pm);
            if (md->ram)
                pm->ram = md->ram;
        } else {
            pm->note = "no memory: or file: given: counted as 0 GPU memory (a CPU-only model?)";
        }
        if (!md->on_demand)
            p->resident_need += pm->need;
    }
    /* Residents: pinned ones first, then the largest first onto the GPU with the most room left. */
    for (int pass = 0; pass < 2; pass++) {
        for (;;) {
            int pick = -1;
            for (size_t i = 0; i < m->nmodels; i++) {
                const mg_matrix_model *md = &m->models[i];
                if (md->on_demand || p->models[i].fits || p->models[i].why[0] || (pass == 0) != (md->gpu >= 0))
                    continue;
                if (pick < 0 || p->models[i].need > p->models[pick].need)
                    pick = (int)i;
            }
            if (pick < 0)
                break;
            mg_plan_model *pm = &p->models[pick];
            const mg_matrix_model *md = &m->models[pick];
            int best = -1;
            uint64_t most = 0;
            for (size_t g = 0; g < ngpus; g++) {
                uint64_t room = p->usable[g] - p->resident[g];
                if ((md->gpu < 0 || md->gpu == (int)g) && pm->need <= room && (best < 0 || room > most)) {
                    best = (int)g;
                    most = room;
                }
            }
            if (best >= 0) {
                pm->gpu = best;
                pm->fits = 1;
                p->resident[best] += pm->need;
            } else {
                char a[32], b[32];
                uint64_t room = 0;
                for (size_t g = 0; g < ngpus; g++)
                    if ((md->gpu < 0 || md->gpu == (int)g) && p->usable[g] - p->resident[g] > room)
                        room = p->usable[g] - p->resident[g];
                if (md->gpu >= (int)ngpus)
                    snprintf(pm->why, sizeof pm->why, "pinned to GPU %d, but there are %zu", md->gpu, ngpus);
                else
                    snprintf(pm->why, sizeof pm->why, "needs %s, the most room left on %s is %s", mg_human(pm->need, a),
                             md->gpu >= 0 ? "its GPU" : "one GPU", mg_human(room, b));
            }
        }
    }
    /* On-demand: each beside the residents, and which of them cannot be loaded together. */
    uint64_t room[MG_PLAN_MAX_GPU];
    for (size_t g = 0; g < ngpus; g++)
        room[g] = p->usable[g] - p->resident[g];
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_matrix_model *md = &m->models[i];
        mg_plan_model *pm = &p->models[i];
        if (!md->on_demand || pm->why[0])
            continue;
        uint64_t most = 0;
        for (size_t g = 0; g < ngpus; g++)
            if ((md->gpu < 0 || md->gpu == (int)g) && pm->need <= room[g] && (pm->gpu < 0 || room[g] > most)) {
                pm->gpu = (int)g;
                most = room[g];
            }
        pm->fits = pm->gpu >= 0;
        if (!pm->fits) {
            char a[32], b[32];
            uint64_t r = 0;
            for (size_t g = 0; g < ngpus; g++)
                if (room[g] > r)
                    r = room[g];
            snprintf(pm->why, sizeof pm->why, "needs %s, at most %s is free beside the resident models",
                     mg_human(pm->need, a), mg_human(r, b));
        }
    }
    for (size_t i = 0; i < m->nmodels; i++)
        for (size_t j = 0; j < m->nmodels; j++) {
            mg_plan_model *a = &p->models[i], *b = &p->models[j];
            if (i == j || !m->models[i].on_demand || !m->models[j].on_demand || !a->fits || !b->fits)
                continue;
            if (!together(p, room, a, b, m->models[i].gpu, m->models[j].gpu))
                a->conflicts[a->nconflicts++] = (int)j;
        }
    /* ok: every model placed (residents) or loadable beside them (on-demand), files read */
    p->ok = 1;
    for (size_t i = 0; i < m->nmodels; i++)
        p->ok &= p->models[i].fits;
    /* The cheapest ways out: each checked by planning again with it applied. */
    if (!p->ok && with_fixes)
        find_fixes(m, gpus, ngpus, headroom, p);
    return MG_OK;
}

int mg_plan_make(const mg_matrix *m, const mg_fit_device *gpus, size_t ngpus, double headroom, mg_plan *p)
{
    return plan(m, gpus, ngpus, headroom, p, 1);
}

/* Re-plans with one resident made on-demand, or one GGUF quantized to Q4_K_M, and keeps the cheapest
 * of each that makes everything fit. */
static void find_fixes(const mg_matrix *m, const mg_fit_device *gpus, size_t ngpus, double headroom, mg_plan *p)
{
    mg_matrix *alt = malloc(sizeof *alt);
    mg_plan *q = malloc(sizeof *q);
    if (!alt || !q) {
        free(alt);
        free(q);
        return;
    }
    int small = -1, quant = -1;
    uint64_t quant_save = 0;
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_plan_model *pm = &p->models[i];
        if (m->models[i].on_demand || (pm->why[0] && !pm->need))
            continue;
        memcpy(alt, m, sizeof *alt);
        alt->models[i].on_demand = 1;
        alt->models[i].memory = pm->need;
        plan(alt, gpus, ngpus, headroom, q, 0);
        if (q->ok && (small < 0 || pm->need < p->models[small].need))
            small = (int)i;
        if (pm->bpw > 5.5) {   /* Q4_K_M is about 4.85 bits per weight */
            uint64_t save = (uint64_t)((double)pm->weights * (1.0 - 4.85 / pm->bpw));
            memcpy(alt, m, sizeof *alt);
            alt->models[i].memory = pm->need - save;
            plan(alt, gpus, ngpus, headroom, q, 0);
            if (q->ok && (quant < 0 || save < quant_save)) {
                quant = (int)i;
                quant_save = save;
            }
        }
    }
    char a[32];
    if (small >= 0)
        snprintf(p->fixes[p->nfixes++], sizeof p->fixes[0], "make '%s' on-demand (frees %s; it still fits when loaded)",
                 m->models[small].name, mg_human(p->models[small].need, a));
    if (quant >= 0)
        snprintf(p->fixes[p->nfixes++], sizeof p->fixes[0],
                 "quantize '%s' to Q4_K_M (about %s less; %.1f bits per weight now)", m->models[quant].name,
                 mg_human(quant_save, a), p->models[quant].bpw);
    if (p->resident_need > p->usable_total)
        snprintf(p->fixes[p->nfixes++], sizeof p->fixes[0], "add %s of GPU memory, or lower the headroom (%.0f%%)",
                 mg_human(p->resident_need - p->usable_total, a), headroom * 100);
    else if (small < 0 && quant < 0)
        snprintf(p->fixes[p->nfixes++], sizeof p->fixes[0],
                 "pin models to GPUs (gpu: N) or split the largest across GPUs (llama.cpp --tensor-split)");
    free(alt);
    free(q);
}

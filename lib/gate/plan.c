/*
 * plan.c - do a matrix's models fit together: each model's memory (declared, or fit's from its file,
 * each file read once), the residents placed largest-first on the GPUs, the on-demand models beside
 * them, and when it does not fit the cheapest fixes, each checked by placing again (no re-reading).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/arith.h"
#include "gate/gate_int.h"

struct mg_plan {
    const mg_matrix *m;
    size_t nmodels;             /* m->nmodels: freeing the plan never reads m */
    double headroom;
    size_t ngpus;
    mg_plan_gpu gpus[MG_PLAN_MAX_GPU];
    mg_plan_model *models;      /* one per matrix model */
    mg_model **files;           /* one per matrix model: its file as read, or NULL */
    uint64_t resident_need, usable_total;
    int ok;
    const char *fixes[4];
    size_t nfixes;
    mg_arena *arena;            /* texts and arrays */
    int oom;                    /* a text could not be made */
    mg_open_opts open;          /* how files are read: by the gate's deadline */
};

/* What placement needs of a model, and what it decides. */
typedef struct slot {
    uint64_t need;
    int on_demand, pin;         /* pin: a GPU index, or -1 */
    int unreadable;             /* its memory is unknown: never placed */
    int gpu, fits, failed;      /* the placement */
    uint64_t room_then;         /* a resident that did not fit: the most room an allowed GPU had then */
} slot;

/* Room left on GPU g for a model pinned to `pin` (-1: any): whether g is allowed. */
static int allowed(int pin, size_t g) { return pin < 0 || pin == (int)g; }

/*
 * Residents, pinned ones first, then the largest first onto the GPU with the most room left; then
 * each on-demand model beside them. Returns 1 when everything fits; room[g] is left what the
 * residents leave free.
 */
static int place(slot *s, size_t n, const uint64_t *usable, size_t ng, uint64_t *resident, uint64_t *room)
{
    for (size_t g = 0; g < ng; g++)
        resident[g] = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].gpu = -1;
        s[i].fits = 0;
        s[i].failed = s[i].unreadable;
    }
    for (int pass = 0; pass < 2; pass++)
        for (;;) {
            int pick = -1;
            for (size_t i = 0; i < n; i++)
                if (!s[i].on_demand && !s[i].fits && !s[i].failed && (pass == 0) == (s[i].pin >= 0) &&
                    (pick < 0 || s[i].need > s[pick].need))
                    pick = (int)i;
            if (pick < 0)
                break;
            slot *x = &s[pick];
            uint64_t most = 0;
            for (size_t g = 0; g < ng; g++) {
                uint64_t left = usable[g] - resident[g];
                if (allowed(x->pin, g) && x->need <= left && (x->gpu < 0 || left > most)) {
                    x->gpu = (int)g;
                    most = left;
                }
            }
            if (x->gpu >= 0) {
                x->fits = 1;
                resident[x->gpu] += x->need;
            } else {
                x->failed = 1;
                x->room_then = 0;
                for (size_t g = 0; g < ng; g++)
                    if (allowed(x->pin, g) && usable[g] - resident[g] > x->room_then)
                        x->room_then = usable[g] - resident[g];
            }
        }
    for (size_t g = 0; g < ng; g++)
        room[g] = usable[g] - resident[g];
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        slot *x = &s[i];
        if (x->on_demand && !x->failed) {
            uint64_t most = 0;
            for (size_t g = 0; g < ng; g++)
                if (allowed(x->pin, g) && x->need <= room[g] && (x->gpu < 0 || room[g] > most)) {
                    x->gpu = (int)g;
                    most = room[g];
                }
            x->fits = x->gpu >= 0;
        }
        ok &= x->fits;
    }
    return ok;
}

/* Both loaded at once: on two GPUs, or together on one. */
static int together(size_t ng, const uint64_t *room, const slot *a, const slot *b)
{
    for (size_t g = 0; g < ng; g++)
        for (size_t h = 0; h < ng; h++) {
            if (!allowed(a->pin, g) || !allowed(b->pin, h))
                continue;
            uint64_t both;
            if (g == h ? mg_add_ok(a->need, b->need, &both) && both <= room[g] : a->need <= room[g] && b->need <= room[h])
                return 1;
        }
    return 0;
}

/* A text made in the plan's arena, or, when memory ran out, a word that still says something. */
static const char *text(mg_plan *p, const char *made)
{
    if (!made)
        p->oom = 1;
    return made ? made : "(out of memory)";
}

/* ==== Reading the files: all at once, so one slow disk or stalled URL costs only its own model ==== */

typedef struct opener {
    const char *path;
    const mg_open_opts *how;
    mg_model *file;
} opener;

static void *open_one(void *arg)
{
    opener *o = arg;
    o->file = mg_model_open_with(o->path, o->how);
    return NULL;
}

/* The file of each model that needs one read (to size it, or for smoke: its GGUF), and not read yet. */
static int wanted(const mg_plan *p, size_t i, int size_files, int smoke)
{
    const mg_matrix_model *md = &p->m->models[i];
    return md->file && !p->files[i] &&
           ((size_files && !md->memory) || (smoke && strstr(md->file, ".gguf")));
}

/* Opens the wanted files, a thread each, every read bounded by p->open's deadline. MG_E_NOMEM if one
 * could not be opened for want of memory (a read error stays with its model). */
static int open_files(mg_plan *p, int size_files, int smoke)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nmodels; i++)
        n += wanted(p, i, size_files, smoke);
    if (!n)
        return MG_OK;
    opener *o = mg_calloc(n, sizeof *o);
    pthread_t *th = mg_calloc(n, sizeof *th);
    int *started = mg_calloc(n, sizeof *started), rc = MG_OK;
    size_t k = 0;
    for (size_t i = 0; o && th && started && i < p->nmodels; i++)
        if (wanted(p, i, size_files, smoke)) {
            o[k] = (opener){p->m->models[i].file, &p->open, NULL};
            if (pthread_create(&th[k], NULL, open_one, &o[k]) == 0)
                started[k] = 1;
            else
                open_one(&o[k]);
            k++;
        }
    if (k < n)
        rc = MG_E_NOMEM;
    k = 0;
    for (size_t i = 0; i < p->nmodels && o && th && started && k < n; i++)
        if (wanted(p, i, size_files, smoke)) {
            if (started[k])
                pthread_join(th[k], NULL);
            if (!(p->files[i] = o[k++].file))
                rc = MG_E_NOMEM;
        }
    free(o);
    free(th);
    free(started);
    return rc;
}

/* A model's memory: declared, or from its file (opened once, kept for the gate's smoke stage). */
static int size_model(mg_plan *p, size_t i, int size_files, slot *s)
{
    const mg_matrix_model *md = &p->m->models[i];
    mg_plan_model *pm = &p->models[i];
    pm->source = "none";
    pm->why = "";
    if (md->memory) {
        pm->need = md->memory;
        pm->ram = md->ram;
        pm->source = "declared";
    } else if (md->file && !size_files) {
        pm->note = "not sized: no GPU to plan for";
    } else if (md->file) {
        if (!p->files[i])
            return MG_E_NOMEM;   /* open_files read it */
        mg_model_memory mm;
        char why[512];
        if (mg_model_memory_at(p->files[i], md->ctx ? md->ctx : 8192, &mm, why, sizeof why)) {
            pm->why = text(p, mg_arena_strdup(p->arena, why));
            s->unreadable = 1;
        } else {
            pm->need = mm.need;
            pm->ram = md->ram ? md->ram : mm.ram;
            pm->weights = mm.weights;
            pm->bpw = mm.bpw;
            pm->source = p->files[i]->format == MG_FORMAT_GGUF ? "gguf" : "safetensors";
        }
    } else {
        pm->note = "no memory: or file: given: counted as 0 GPU memory (a CPU-only model?)";
    }
    s->need = pm->need;
    s->on_demand = md->on_demand;
    s->pin = md->gpu;
    return MG_OK;
}

/* Why a model that was not placed does not fit, in words. */
static const char *why_not(mg_plan *p, const slot *s, size_t i, const uint64_t *room)
{
    const mg_matrix_model *md = &p->m->models[i];
    char a[32], b[32];
    uint64_t most = 0;
    if (md->on_demand) {
        for (size_t g = 0; g < p->ngpus; g++)
            if (room[g] > most)
                most = room[g];
        return text(p, mg_arena_printf(p->arena, "needs %s, at most %s is free beside the resident models",
                                       mg_human(s->need, a), mg_human(most, b)));
    }
    if (md->gpu >= (int)p->ngpus)
        return text(p, mg_arena_printf(p->arena, "pinned to GPU %d, but there are %zu", md->gpu, p->ngpus));
    return text(p, mg_arena_printf(p->arena, "needs %s, the most room left on %s is %s", mg_human(s->need, a),
                                   md->gpu >= 0 ? "its GPU" : "one GPU", mg_human(s->room_then, b)));
}

/* The cheapest ways out, each checked by placing again with it applied. */
static void find_fixes(mg_plan *p, const slot *base, const uint64_t *usable)
{
    size_t n = p->m->nmodels;
    slot *alt = mg_malloc((n ? n : 1) * sizeof *alt);
    uint64_t resident[MG_PLAN_MAX_GPU], room[MG_PLAN_MAX_GPU];
    if (!alt)
        return;
    int small = -1, quant = -1;
    uint64_t quant_save = 0;
    for (size_t i = 0; i < n; i++) {
        const mg_plan_model *pm = &p->models[i];
        if (base[i].on_demand || base[i].unreadable)
            continue;
        memcpy(alt, base, n * sizeof *alt);
        alt[i].on_demand = 1;   /* make it on-demand: does everything fit, it too when loaded? */
        if (place(alt, n, usable, p->ngpus, resident, room) && (small < 0 || pm->need < p->models[small].need))
            small = (int)i;
        if (pm->bpw > 5.5) {   /* Q4_K_M is about 4.85 bits per weight */
            uint64_t save = mg_u64_of((double)pm->weights * (1.0 - 4.85 / pm->bpw));   /* bpw may be inf */
            if (save > pm->need)   /* the weights count host-side embeddings the GPU need does not */
                save = pm->need;
            memcpy(alt, base, n * sizeof *alt);
            alt[i].need = pm->need - save;
            if (place(alt, n, usable, p->ngpus, resident, room) && (quant < 0 || save < quant_save)) {
                quant = (int)i;
                quant_save = save;
            }
        }
    }
    free(alt);
    char a[32];
    const mg_matrix_model *mm = p->m->models;
    if (small >= 0)
        p->fixes[p->nfixes++] = text(p, mg_arena_printf(p->arena, "make '%s' on-demand (frees %s; it still fits when "
                                                        "loaded)", mm[small].name, mg_human(p->models[small].need, a)));
    if (quant >= 0)
        p->fixes[p->nfixes++] = text(p, mg_arena_printf(p->arena, "quantize '%s' to Q4_K_M (about %s less; %.1f bits "
                                                        "per weight now)", mm[quant].name, mg_human(quant_save, a),
                                                        p->models[quant].bpw));
    if (p->resident_need > p->usable_total)
        p->fixes[p->nfixes++] = text(p, mg_arena_printf(p->arena, "add %s of GPU memory, or lower the headroom (%.0f%%)",
                                                        mg_human(p->resident_need - p->usable_total, a),
                                                        p->headroom * 100));
    else if (small < 0 && quant < 0)
        p->fixes[p->nfixes++] = "pin models to GPUs (gpu: N) or split the largest across GPUs (llama.cpp --tensor-split)";
}

int mg_plan_build(const mg_matrix *m, const mg_target *gpus, size_t ngpus, double headroom, int size_files,
                  double deadline_at, mg_plan **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t sized = 0;
    for (size_t k = 0; k < ngpus; k++)
        sized += gpus[k].mem_total != 0;
    if (sized > MG_PLAN_MAX_GPU) {
        snprintf(err, errlen, "%zu GPUs: a plan is made for at most %d", sized, MG_PLAN_MAX_GPU);
        return MG_E_LIMIT;
    }
    if (!(headroom >= 0 && headroom < 0.9)) {
        snprintf(err, errlen, "headroom %g: a fraction from 0 to 0.9", headroom);
        return MG_E_ARG;
    }
    size_t n = m->nmodels;
    mg_plan *p = mg_calloc(1, sizeof *p);
    slot *s = mg_calloc(n ? n : 1, sizeof *s);
    if (!p || !s || !(p->arena = mg_arena_new()) ||
        !(p->models = mg_arena_array(p->arena, n ? n : 1, sizeof *p->models)) ||
        !(p->files = mg_arena_array(p->arena, n ? n : 1, sizeof *p->files))) {
        free(s);
        mg_plan_free(p);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    p->m = m;
    p->nmodels = n;
    p->headroom = headroom;
    p->open.deadline_at = deadline_at;
    uint64_t usable[MG_PLAN_MAX_GPU], resident[MG_PLAN_MAX_GPU], room[MG_PLAN_MAX_GPU];
    for (size_t k = 0; k < ngpus; k++) {
        if (!gpus[k].mem_total)
            continue;   /* a GPU whose memory is unknown is not planned for */
        size_t g = p->ngpus++;
        p->gpus[g].target = gpus[k];
        usable[g] = p->gpus[g].usable = mg_u64_of((double)gpus[k].mem_total * (1.0 - headroom));   /* 2^64 - 1: 2^64 */
        p->usable_total = mg_sat_add(p->usable_total, usable[g]);
    }
    ngpus = p->ngpus;
    int rc = open_files(p, size_files, 0);
    for (size_t i = 0; i < n; i++) {
        if (rc || size_model(p, i, size_files, &s[i])) {
            free(s);
            mg_plan_free(p);
            snprintf(err, errlen, "out of memory");
            return MG_E_NOMEM;
        }
        if (!m->models[i].on_demand)
            p->resident_need = mg_sat_add(p->resident_need, p->models[i].need);
    }
    p->ok = place(s, n, usable, ngpus, resident, room);
    for (size_t g = 0; g < ngpus; g++)
        p->gpus[g].resident = resident[g];
    for (size_t i = 0; i < n; i++) {
        mg_plan_model *pm = &p->models[i];
        pm->gpu = s[i].gpu;
        pm->fits = s[i].fits;
        if (!pm->fits && !s[i].unreadable)
            pm->why = why_not(p, &s[i], i, room);
        int *c = NULL;
        for (size_t j = 0; j < n; j++)   /* on-demand models that cannot be loaded together */
            if (i != j && s[i].on_demand && s[j].on_demand && s[i].fits && s[j].fits && !together(ngpus, room, &s[i], &s[j])) {
                if (!c && !(c = mg_arena_array(p->arena, n, sizeof *c))) {
                    p->oom = 1;
                    break;
                }
                c[pm->nconflicts++] = (int)j;
            }
        pm->conflicts = c;
    }
    if (!p->ok)
        find_fixes(p, s, usable);
    free(s);
    if (p->oom) {
        mg_plan_free(p);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    *out = p;
    return MG_OK;
}

int mg_plan_make(const mg_matrix *m, const mg_target *gpus, size_t ngpus, double headroom, mg_plan **out)
{
    char err[128];
    return mg_plan_build(m, gpus, ngpus, headroom, 1, 0, out, err, sizeof err);
}

int mg_plan_open_files(mg_plan *p) { return open_files(p, 0, 1); }

void mg_plan_free(mg_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->files && i < p->nmodels; i++)
        mg_model_free(p->files[i]);
    mg_arena_free(p->arena);
    free(p);
}

int mg_plan_ok(const mg_plan *p) { return p->ok; }
double mg_plan_headroom(const mg_plan *p) { return p->headroom; }
uint64_t mg_plan_resident_need(const mg_plan *p) { return p->resident_need; }
uint64_t mg_plan_usable(const mg_plan *p) { return p->usable_total; }
size_t mg_plan_ngpus(const mg_plan *p) { return p->ngpus; }
const mg_plan_gpu *mg_plan_gpu_at(const mg_plan *p, size_t g) { return g < p->ngpus ? &p->gpus[g] : NULL; }
const mg_plan_model *mg_plan_model_at(const mg_plan *p, size_t i) { return i < p->m->nmodels ? &p->models[i] : NULL; }
const mg_model *mg_plan_file(const mg_plan *p, size_t i) { return i < p->m->nmodels ? p->files[i] : NULL; }
size_t mg_plan_nfixes(const mg_plan *p) { return p->nfixes; }
const char *mg_plan_fix(const mg_plan *p, size_t k) { return k < p->nfixes ? p->fixes[k] : NULL; }
const mg_matrix *mg_plan_matrix(const mg_plan *p) { return p->m; }

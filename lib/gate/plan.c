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
    double headroom;            /* the fraction kept free (0 with headroom in bytes) */
    double ram_headroom;        /* the fraction of RAM + swap kept free */
    size_t ngpus;
    mg_plan_gpu gpus[MG_PLAN_MAX_GPU];
    mg_plan_model *models;      /* one per matrix model */
    mg_model **files;           /* one per matrix model: its file as read, or NULL */
    mg_fit_model **fms;         /* while the plan is built: a GGUF's placement model, or NULL */
    uint64_t resident_need, usable_total;
    mg_plan_ram ram;
    int ok;
    const char *fixes[8];
    size_t nfixes;
    mg_arena *arena;            /* texts and arrays */
    int oom;                    /* a text could not be made */
    mg_open_opts open;          /* how files are read: by the gate's deadline */
};

/* What placement needs of a model, and what it decides. */
typedef struct slot {
    uint64_t need;              /* on one GPU; split: the sum of its parts */
    size_t nparts;              /* split (or placed by fit on one GPU): part[k] on GPU part_gpu[k], fixed */
    int part_gpu[MG_PLAN_MAX_GPU];
    uint64_t part[MG_PLAN_MAX_GPU];
    uint64_t ram;               /* host bytes it keeps */
    int on_demand, pin;         /* pin: a GPU index, or -1 */
    int unsized;                /* its memory or placement is unknown: never placed */
    int gpu, fits, failed;      /* the placement */
    int short_of_ram;           /* not placed for want of host RAM */
    int over_gpu;               /* a split that did not fit: the GPU its part did not fit on */
    uint64_t room_then;         /* a resident that did not fit: the most room an allowed GPU had then */
} slot;

/* Room left on GPU g for a model pinned to `pin` (-1: any): whether g is allowed. */
static int allowed(int pin, size_t g) { return pin < 0 || pin == (int)g; }

/* Every part of a split fits in room[] (the first GPU it does not fit on in *over). */
static int parts_fit(const slot *x, const uint64_t *room, int *over)
{
    for (size_t k = 0; k < x->nparts; k++)
        if (x->part[k] > room[x->part_gpu[k]]) {
            *over = x->part_gpu[k];
            return 0;
        }
    return 1;
}

/*
 * Residents, pinned and split ones first, then the largest first onto the GPU with the most room
 * left, each also within the host RAM left (ram: the budget, UINT64_MAX when unknown); then each
 * on-demand model beside them. Returns 1 when everything fits; room[g] and *ram_left are left what
 * the residents leave free.
 */
static int place(slot *s, size_t n, const uint64_t *usable, size_t ng, uint64_t ram, uint64_t *resident,
                 uint64_t *room, uint64_t *ram_left)
{
    for (size_t g = 0; g < ng; g++)
        room[g] = usable[g];
    *ram_left = ram;
    for (size_t i = 0; i < n; i++) {
        s[i].gpu = -1;
        s[i].fits = s[i].short_of_ram = 0;
        s[i].over_gpu = -1;
        s[i].failed = s[i].unsized;
    }
    for (int pass = 0; pass < 2; pass++)
        for (;;) {
            int pick = -1;
            for (size_t i = 0; i < n; i++)
                if (!s[i].on_demand && !s[i].fits && !s[i].failed && (pass == 0) == (s[i].pin >= 0 || s[i].nparts) &&
                    (pick < 0 || s[i].need > s[pick].need))
                    pick = (int)i;
            if (pick < 0)
                break;
            slot *x = &s[pick];
            if (x->ram > *ram_left) {
                x->failed = x->short_of_ram = 1;
                continue;
            }
            if (x->nparts) {
                if ((x->fits = parts_fit(x, room, &x->over_gpu))) {
                    x->gpu = x->part_gpu[0];
                    for (size_t k = 0; k < x->nparts; k++)
                        room[x->part_gpu[k]] -= x->part[k];
                } else {
                    x->failed = 1;
                    x->room_then = room[x->over_gpu];
                }
            } else {
                uint64_t most = 0;
                for (size_t g = 0; g < ng; g++)
                    if (allowed(x->pin, g) && x->need <= room[g] && (x->gpu < 0 || room[g] > most)) {
                        x->gpu = (int)g;
                        most = room[g];
                    }
                if ((x->fits = x->gpu >= 0)) {
                    room[x->gpu] -= x->need;
                } else {
                    x->failed = 1;
                    x->room_then = 0;
                    for (size_t g = 0; g < ng; g++)
                        if (allowed(x->pin, g) && room[g] > x->room_then)
                            x->room_then = room[g];
                }
            }
            if (x->fits)
                *ram_left -= x->ram;
        }
    for (size_t g = 0; g < ng; g++)
        resident[g] = usable[g] - room[g];
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        slot *x = &s[i];
        if (x->on_demand && !x->failed) {
            if (x->ram > *ram_left)
                x->short_of_ram = 1;
            else if (x->nparts) {
                if ((x->fits = parts_fit(x, room, &x->over_gpu)))
                    x->gpu = x->part_gpu[0];
            } else {
                uint64_t most = 0;
                for (size_t g = 0; g < ng; g++)
                    if (allowed(x->pin, g) && x->need <= room[g] && (x->gpu < 0 || room[g] > most)) {
                        x->gpu = (int)g;
                        most = room[g];
                    }
                x->fits = x->gpu >= 0;
            }
        }
        ok &= x->fits;
    }
    return ok;
}

/* What x adds on each GPU when it goes on GPU g (a split: on its own GPUs), into add[]; 0 when a sum
 * passes 2^64 - 1 (it cannot fit). */
static int adds(const slot *x, size_t g, uint64_t *add)
{
    int ok = x->nparts || mg_add_ok(add[g], x->need, &add[g]);
    for (size_t k = 0; k < x->nparts && ok; k++)
        ok = mg_add_ok(add[x->part_gpu[k]], x->part[k], &add[x->part_gpu[k]]);
    return ok;
}

/* Both loaded at once beside the residents: on two GPUs, or together on one; and in the RAM left. */
static int together(size_t ng, const uint64_t *room, uint64_t ram_left, const slot *a, const slot *b)
{
    uint64_t both_ram;
    if (!mg_add_ok(a->ram, b->ram, &both_ram) || both_ram > ram_left)
        return 0;
    for (size_t g = 0; g < ng; g++)
        for (size_t h = 0; h < ng; h++) {
            if (!allowed(a->pin, g) || !allowed(b->pin, h) || (a->nparts && g) || (b->nparts && h))
                continue;   /* a split is tried once: its GPUs are its own */
            uint64_t add[MG_PLAN_MAX_GPU] = {0};
            int fit = adds(a, g, add) && adds(b, h, add);
            for (size_t k = 0; k < ng && fit; k++)
                fit = add[k] <= room[k];
            if (fit)
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

/* ==== Sizing: declared, or fit's for the model's placement ==== */

/* The matrix asks for a placement fit must size: a split, -ngl, --n-cpu-moe. */
static int placed(const mg_matrix_model *md) { return md->ngpus > 1 || md->nsplit || md->ngl >= 0 || md->n_cpu_moe; }

/* The GPUs a model may use, into idx (the plan's indices): gpus:, a pin, or all. */
static size_t model_gpus(const mg_plan *p, const mg_matrix_model *md, int *idx)
{
    size_t n = 0;
    if (md->ngpus)
        for (size_t k = 0; k < md->ngpus; k++)
            idx[n++] = md->gpus[k];
    else if (md->gpu >= 0)
        idx[n++] = md->gpu;
    else
        for (size_t g = 0; g < p->ngpus; g++)
            idx[n++] = (int)g;
    return n;
}

/* The fit options of a matrix model: its context and placement. */
static mg_fit_opts fit_opts(const mg_matrix_model *md)
{
    mg_fit_opts o = {.n_ctx = md->ctx ? md->ctx : 8192, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = md->ngl,
                     .n_cpu_moe = md->n_cpu_moe};
    for (size_t k = 0; k < md->nsplit; k++)
        o.split[k] = md->tensor_split[k];
    o.nsplit = md->nsplit;
    return o;
}

/* Devices of the given room for fit (headroom already taken off). */
static void room_targets(const mg_plan *p, const int *idx, size_t n, const uint64_t *room, mg_target *dev)
{
    for (size_t k = 0; k < n; k++) {
        dev[k] = p->gpus[idx[k]].target;
        dev[k].mem_total = dev[k].mem_free = room[idx[k]];
    }
}

/* A fit plan's GPU needs as the parts of slot s on GPUs idx[]. */
static void parts_of(const mg_fit_plan *fp, const int *idx, size_t nd, slot *s)
{
    s->nparts = 0;
    s->need = 0;
    for (size_t d = 0; d < nd; d++)
        if (fp->layers[d] || fp->need[d]) {
            s->part_gpu[s->nparts] = idx[d];
            s->part[s->nparts++] = fp->need[d];
            s->need = mg_sat_add(s->need, fp->need[d]);
        }
}

/* A GGUF at the matrix's placement: what fit puts on each GPU, and in RAM. */
static int size_placed(mg_plan *p, size_t i, slot *s, const uint64_t *usable)
{
    const mg_matrix_model *md = &p->m->models[i];
    mg_plan_model *pm = &p->models[i];
    int idx[MG_PLAN_MAX_GPU];
    size_t nd = md->ngpus > 1 || md->nsplit ? model_gpus(p, md, idx) : 0;
    if (md->nsplit && !md->ngpus && md->nsplit > p->ngpus) {
        pm->why = text(p, mg_arena_printf(p->arena, "tensor_split: has %zu ratios, there are %zu GPUs", md->nsplit,
                                          p->ngpus));
        s->unsized = 1;
        return MG_OK;
    }
    for (size_t k = 0; k < nd; k++)
        if (idx[k] >= (int)p->ngpus) {
            pm->why = text(p, mg_arena_printf(p->arena, "gpus: names GPU %d, there are %zu", idx[k], p->ngpus));
            s->unsized = 1;
            return MG_OK;
        }
    mg_target dev[MG_PLAN_MAX_GPU];
    mg_fit_opts o = fit_opts(md);
    if (nd) {
        room_targets(p, idx, nd, usable, dev);
    } else {   /* one GPU, any (or its pin): sized on one large enough */
        dev[0] = (mg_target){.name = "plan", .mem_total = 1ull << 50, .mem_free = 1ull << 50};
        nd = 1;
    }
    mg_fit_plan fp;
    const mg_fit_model *fm = p->fms[i];
    int rc = mg_fit_evaluate(fm, dev, nd, &o, o.ngl >= 0 ? o.ngl : (int)fm->kv.n_layer + 1, o.n_ctx, &fp);
    if (rc)
        return rc;
    if (md->ngpus > 1 || md->nsplit)
        parts_of(&fp, idx, nd, s);
    else
        s->need = fp.need[0];
    pm->need = s->need;
    pm->ram = fp.ram_need;
    pm->ngl = fp.ngl;
    pm->n_cpu_moe = fp.n_cpu_moe;
    return MG_OK;
}

/* A model's memory: declared, or from its file (opened once, kept for the gate's smoke stage). */
static int size_model(mg_plan *p, size_t i, int size_files, slot *s, const uint64_t *usable)
{
    const mg_matrix_model *md = &p->m->models[i];
    mg_plan_model *pm = &p->models[i];
    pm->source = "none";
    pm->why = "";
    pm->ngl = -1;
    s->pin = md->gpu;
    s->on_demand = md->on_demand;
    if (md->gpu >= (int)p->ngpus) {   /* never placed: no room to search either */
        pm->why = text(p, mg_arena_printf(p->arena, "pinned to GPU %d, but there are %zu", md->gpu, p->ngpus));
        s->unsized = 1;
    }
    if (md->memory) {
        pm->need = md->memory;
        pm->source = "declared";
        for (size_t k = 0; k < md->nmemory; k++) {
            s->part_gpu[k] = md->gpus[k];
            s->part[k] = md->memory_gpu[k];
            if (md->gpus[k] >= (int)p->ngpus) {
                pm->why = text(p, mg_arena_printf(p->arena, "gpus: names GPU %d, there are %zu", md->gpus[k],
                                                  p->ngpus));
                s->unsized = 1;
            }
        }
        s->nparts = md->nmemory;
    } else if (md->file && !size_files) {
        pm->note = "not sized: no GPU to plan for";
    } else if (md->file) {
        mg_model *f = p->files[i];
        if (!f)
            return MG_E_NOMEM;   /* open_files read it */
        mg_model_memory mm;
        char why[512];
        if (mg_model_memory_at(f, md->ctx ? md->ctx : 8192, &mm, why, sizeof why)) {
            pm->why = text(p, mg_arena_strdup(p->arena, why));
            s->unsized = 1;
        } else {
            pm->need = mm.need;
            pm->weights = mm.weights;
            pm->bpw = mm.bpw;
            pm->source = f->format == MG_FORMAT_GGUF ? "gguf" : "safetensors";
            if (f->format == MG_FORMAT_GGUF) {
                pm->ram = mm.ram;
                if (!(p->fms[i] = mg_malloc(sizeof *p->fms[i])) || mg_fit_model_from(f->gguf, p->fms[i]))
                    return MG_E_NOMEM;   /* mm was sized from the same model */
                if (placed(md)) {
                    int rc = size_placed(p, i, s, usable);
                    if (rc)
                        return rc;
                }
            } else if (md->ngpus > 1) {   /* tensor-parallel: weights, KV and activations evenly, a runtime each */
                mg_fit_st f2;
                if (mg_fit_safetensors(f->st, md->ctx ? md->ctx : 8192, 1, md->ngpus, &f2) == MG_OK) {
                    for (size_t k = 0; k < md->ngpus; k++) {
                        s->part_gpu[k] = md->gpus[k];
                        s->part[k] = f2.need / md->ngpus + (k < f2.need % md->ngpus);
                        if (md->gpus[k] >= (int)p->ngpus)
                            s->unsized = 1, pm->why = "gpus: names a GPU the host does not have";
                    }
                    s->nparts = md->ngpus;
                    pm->need = f2.need;
                }
            }
            if (f->format != MG_FORMAT_GGUF && (md->ngl >= 0 || md->n_cpu_moe))
                pm->note = "ngl: and n_cpu_moe: are llama.cpp's: a safetensors model is sized as transformers loads it";
        }
    } else {
        pm->note = "no memory: or file: given: counted as 0 GPU memory (a CPU-only model?)";
    }
    if (md->ram)
        pm->ram = md->ram;   /* declared: what it keeps in RAM, whatever the file says */
    s->need = pm->need;
    s->ram = pm->ram;
    pm->nparts = s->nparts;
    for (size_t k = 0; k < s->nparts; k++) {
        pm->part_gpu[k] = s->part_gpu[k];
        pm->part_need[k] = s->part[k];
    }
    return MG_OK;
}

/* "ram 377 GiB + swap 207 GiB, 10% kept free" */
static const char *ram_words(mg_plan *p)
{
    char a[32], b[32];
    return text(p, mg_arena_printf(p->arena, "RAM %s + swap %s, %.0f%% kept free", mg_human(p->ram.ram, a),
                                   mg_human(p->ram.swap, b), p->ram_headroom * 100));
}

/* Why a model that was not placed does not fit, in words. */
static const char *why_not(mg_plan *p, const slot *s, size_t i, const uint64_t *room, uint64_t ram_left)
{
    const mg_matrix_model *md = &p->m->models[i];
    char a[32], b[32], c[32];
    uint64_t most = 0;
    if (s->short_of_ram)
        return text(p, mg_arena_printf(p->arena, "keeps %s in host RAM, %s of the %s usable is left%s (%s)",
                                       mg_human(s->ram, a), mg_human(ram_left, b), mg_human(p->ram.usable, c),
                                       md->on_demand ? " beside the resident models" : "", ram_words(p)));
    if (s->nparts && s->over_gpu >= 0) {
        uint64_t part = 0;
        for (size_t k = 0; k < s->nparts; k++)
            if (s->part_gpu[k] == s->over_gpu)
                part = s->part[k];
        return text(p, mg_arena_printf(p->arena, "its part on GPU%d needs %s, %s is free there%s", s->over_gpu,
                                       mg_human(part, a), mg_human(md->on_demand ? room[s->over_gpu] : s->room_then, b),
                                       md->on_demand ? " beside the resident models" : ""));
    }
    if (md->on_demand) {
        for (size_t g = 0; g < p->ngpus; g++)
            if (room[g] > most)
                most = room[g];
        return text(p, mg_arena_printf(p->arena, "needs %s, at most %s is free beside the resident models",
                                       mg_human(s->need, a), mg_human(most, b)));
    }
    return text(p, mg_arena_printf(p->arena, "needs %s, the most room left on %s is %s", mg_human(s->need, a),
                                   md->gpu >= 0 ? "its GPU" : "one GPU", mg_human(s->room_then, b)));
}

/* ", GPU0 80.0 GiB + GPU1 20.0 GiB, RAM 300 GiB" of a slot. */
static const char *slot_words(mg_plan *p, const slot *x)
{
    char line[512] = "", a[32];
    size_t at = 0;
    for (size_t k = 0; k < x->nparts && at < sizeof line; k++)
        at += (size_t)snprintf(line + at, sizeof line - at, "%sGPU%d %s", k ? " + " : "", x->part_gpu[k],
                               mg_human(x->part[k], a));
    if (at < sizeof line)
        snprintf(line + at, sizeof line - at, ", RAM %s", mg_human(x->ram, a));
    return text(p, mg_arena_strdup(p->arena, line));
}

/*
 * A GGUF that did not fit, placed by fit in the room the others leave: the most layers on the GPUs
 * with the fewest experts in RAM, split by that room. The fix when placing again with it fits.
 */
static const char *offload_fix(mg_plan *p, const slot *base, size_t i, const uint64_t *usable, slot *alt)
{
    size_t n = p->nmodels;
    const mg_matrix_model *md = &p->m->models[i];
    const mg_fit_model *fm = p->fms[i];
    uint64_t resident[MG_PLAN_MAX_GPU], room[MG_PLAN_MAX_GPU], ram_left;
    memcpy(alt, base, n * sizeof *alt);
    alt[i].unsized = 1;   /* the room everything else leaves */
    place(alt, n, usable, p->ngpus, p->ram.known ? p->ram.usable : UINT64_MAX, resident, room, &ram_left);
    int idx[MG_PLAN_MAX_GPU];
    size_t nd = model_gpus(p, md, idx);
    mg_target dev[MG_PLAN_MAX_GPU];
    room_targets(p, idx, nd, room, dev);
    mg_fit_opts o = fit_opts(md);
    o.ngl = -1, o.n_cpu_moe = -1, o.nsplit = 0;
    o.ram = p->ram.known ? (ram_left ? ram_left : 1) : 0;
    mg_fit_plan fp;
    uint64_t max_ctx;
    if (!nd || mg_fit_search(fm, dev, nd, &o, &fp, &max_ctx) || !fp.fits_gpu || !fp.fits_ram)
        return NULL;
    /* the split as whole percentages (or slot counts) the user can paste, checked again as given */
    size_t used = 0;
    int pct[MG_PLAN_MAX_GPU];
    for (size_t d = 0; d < nd; d++)
        used += fp.layers[d] > 0;
    if (used > 1) {
        mg_fit_opts oo = o;
        oo.n_cpu_moe = fp.n_cpu_moe;
        oo.nsplit = nd;
        /* a split fit searched fills the GPUs to the slot: its slot counts, which whole percentages
         * could move by one */
        for (size_t d = 0; d < nd; d++)
            oo.split[d] = pct[d] = fp.split_searched ? fp.layers[d] : (int)(fp.split[d] * 100 + 0.5);
        mg_fit_plan again;
        if (mg_fit_evaluate(fm, dev, nd, &oo, fp.ngl, o.n_ctx, &again) || !again.fits_gpu || !again.fits_ram)
            return NULL;
        fp = again;
    }
    memcpy(alt, base, n * sizeof *alt);
    parts_of(&fp, idx, nd, &alt[i]);
    alt[i].ram = md->ram ? md->ram : fp.ram_need;
    alt[i].unsized = 0;
    if (!place(alt, n, usable, p->ngpus, p->ram.known ? p->ram.usable : UINT64_MAX, resident, room, &ram_left))
        return NULL;
    /* in words: llama.cpp's flags and the matrix's keys */
    char flags[256] = "", keys[256] = "";
    size_t f = 0, k = 0;
    int top = (int)fm->kv.n_layer + 1;
    if (fp.ngl < top) {
        f += (size_t)snprintf(flags + f, sizeof flags - f, " -ngl %d", fp.ngl);
        k += (size_t)snprintf(keys + k, sizeof keys - k, "%sngl: %d", k ? ", " : "", fp.ngl);
    }
    if (fp.n_cpu_moe && f < sizeof flags && k < sizeof keys) {
        f += (size_t)snprintf(flags + f, sizeof flags - f, " --n-cpu-moe %d", fp.n_cpu_moe);
        k += (size_t)snprintf(keys + k, sizeof keys - k, "%sn_cpu_moe: %d", k ? ", " : "", fp.n_cpu_moe);
    }
    if (used > 1) {
        f += f < sizeof flags ? (size_t)snprintf(flags + f, sizeof flags - f, " -ts ") : 0;
        k += k < sizeof keys ? (size_t)snprintf(keys + k, sizeof keys - k, "%sgpus: [", k ? ", " : "") : 0;
        for (size_t d = 0; d < nd; d++) {
            f += f < sizeof flags ? (size_t)snprintf(flags + f, sizeof flags - f, "%s%d", d ? "," : "", pct[d]) : 0;
            k += k < sizeof keys ? (size_t)snprintf(keys + k, sizeof keys - k, "%s%d", d ? ", " : "", idx[d]) : 0;
        }
        k += k < sizeof keys ? (size_t)snprintf(keys + k, sizeof keys - k, "], tensor_split: [") : 0;
        for (size_t d = 0; d < nd; d++)
            k += k < sizeof keys ? (size_t)snprintf(keys + k, sizeof keys - k, "%s%d", d ? ", " : "", pct[d]) : 0;
        if (k < sizeof keys)
            snprintf(keys + k, sizeof keys - k, "]");
    } else if (md->gpu < 0 && alt[i].nparts == 1 && p->ngpus > 1 && k < sizeof keys) {
        snprintf(keys + k, sizeof keys - k, "%sgpu: %d", k ? ", " : "", alt[i].part_gpu[0]);
    }
    if (!flags[0])   /* whole on one GPU: the greedy order put others there first */
        return keys[0] ? text(p, mg_arena_printf(p->arena, "pin '%s' to GPU%d (matrix: %s): %s", md->name,
                                                 alt[i].part_gpu[0], keys, slot_words(p, &alt[i])))
                       : NULL;
    char moe[96] = "";
    if (fp.n_cpu_moe)
        snprintf(moe, sizeof moe, "offload the experts of %d blocks to RAM, ", fp.n_cpu_moe);
    return text(p, mg_arena_printf(p->arena, "%srun '%s' with llama.cpp%s (matrix: %s): %s, largest context %llu",
                                   moe, md->name, flags, keys, slot_words(p, &alt[i]), (unsigned long long)max_ctx));
}

/* The cheapest ways out, each checked by placing again with it applied. */
static void find_fixes(mg_plan *p, const slot *base, const uint64_t *usable)
{
    size_t n = p->m->nmodels, cap = sizeof p->fixes / sizeof p->fixes[0];
    slot *alt = mg_malloc((n ? n : 1) * sizeof *alt);
    uint64_t resident[MG_PLAN_MAX_GPU], room[MG_PLAN_MAX_GPU], ram_left;
    uint64_t ram = p->ram.known ? p->ram.usable : UINT64_MAX;
    if (!alt)
        return;
    int small = -1, quant = -1;
    uint64_t quant_save = 0;
    for (size_t i = 0; i < n; i++) {
        const mg_plan_model *pm = &p->models[i];
        if (base[i].on_demand || base[i].unsized)
            continue;
        memcpy(alt, base, n * sizeof *alt);
        alt[i].on_demand = 1;   /* make it on-demand: does everything fit, it too when loaded? */
        if (place(alt, n, usable, p->ngpus, ram, resident, room, &ram_left) &&
            (small < 0 || pm->need < p->models[small].need))
            small = (int)i;
        if (pm->bpw > 5.5 && !base[i].nparts) {   /* Q4_K_M is about 4.85 bits per weight */
            uint64_t save = mg_u64_of((double)pm->weights * (1.0 - 4.85 / pm->bpw));   /* bpw may be inf */
            if (save > pm->need)   /* the weights count host-side embeddings the GPU need does not */
                save = pm->need;
            memcpy(alt, base, n * sizeof *alt);
            alt[i].need = pm->need - save;
            if (place(alt, n, usable, p->ngpus, ram, resident, room, &ram_left) && (quant < 0 || save < quant_save)) {
                quant = (int)i;
                quant_save = save;
            }
        }
    }
    char a[32], b[32];
    const mg_matrix_model *mm = p->m->models;
    if (small >= 0)
        p->fixes[p->nfixes++] = text(p, mg_arena_printf(p->arena, "make '%s' on-demand (frees %s; it still fits when "
                                                        "loaded)", mm[small].name, mg_human(p->models[small].need, a)));
    if (quant >= 0)
        p->fixes[p->nfixes++] = text(p, mg_arena_printf(p->arena, "quantize '%s' to Q4_K_M (about %s less; %.1f bits "
                                                        "per weight now)", mm[quant].name, mg_human(quant_save, a),
                                                        p->models[quant].bpw));
    for (size_t i = 0; i < n && p->nfixes + 2 < cap; i++)   /* GGUFs that did not fit: placed by fit */
        if (!base[i].fits && !base[i].unsized && p->fms[i] && !mm[i].memory && !base[i].short_of_ram) {
            const char *fix = offload_fix(p, base, i, usable, alt);
            if (fix)
                p->fixes[p->nfixes++] = fix;
        }
    if (p->resident_need > p->usable_total)
        p->fixes[p->nfixes++] = text(p, mg_arena_printf(p->arena, "add %s of GPU memory, or lower the headroom",
                                                        mg_human(p->resident_need - p->usable_total, a)));
    uint64_t short_by = 0;   /* the most RAM a model lacked */
    for (size_t i = 0; i < n; i++)
        if (base[i].short_of_ram) {
            uint64_t left = 0;
            memcpy(alt, base, n * sizeof *alt);
            alt[i].unsized = 1;
            place(alt, n, usable, p->ngpus, ram, resident, room, &left);
            if (base[i].ram - (left < base[i].ram ? left : base[i].ram) > short_by)
                short_by = base[i].ram - (left < base[i].ram ? left : base[i].ram);
        }
    free(alt);
    if (short_by && p->nfixes < cap)
        p->fixes[p->nfixes++] = text(p, mg_arena_printf(p->arena, "add %s of RAM or swap (%s), or keep less in RAM",
                                                        mg_human(short_by, b), ram_words(p)));
}

/* The host's RAM budget: the options', the matrix's, else this machine's when its GPUs are planned. */
static void ram_budget(mg_plan *p, const mg_plan_opts *o)
{
    mg_plan_ram *r = &p->ram;
    r->ram = o->ram ? o->ram : p->m->host.ram;
    r->swap = o->ram ? o->swap : p->m->host.ram ? p->m->host.swap : 0;
    mg_memory mem;
    if (!r->ram && o->this_host && mg_memory_read(o->host, &mem) == MG_OK && mem.total) {
        r->ram = mem.total;
        r->swap = mem.swap_total;
    }
    r->known = r->ram != 0;
    r->usable = mg_u64_of((double)mg_sat_add(r->ram, r->swap) * (1.0 - p->ram_headroom));
}

int mg_plan_build(const mg_matrix *m, const mg_target *gpus, size_t ngpus, const mg_plan_opts *o, int size_files,
                  double deadline_at, mg_plan **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t sized = 0;
    for (size_t k = 0; k < ngpus; k++)
        sized += gpus[k].mem_total != 0;
    if (sized > MG_PLAN_MAX_GPU) {
        snprintf(err, errlen, "a plan is made for at most %d GPUs (%zu given)", MG_PLAN_MAX_GPU, sized);
        return MG_E_LIMIT;
    }
    /* headroom: the options' (a fraction or bytes), else the matrix's (a fraction, or bytes per GPU) */
    double headroom = o->headroom >= 0 ? o->headroom : m->host.headroom;
    const uint64_t *hb = o->headroom_bytes ? &o->headroom_bytes
                         : o->headroom >= 0 || !m->host.nheadroom ? NULL : m->host.headroom_bytes;
    size_t nhb = o->headroom_bytes ? 1 : hb ? m->host.nheadroom : 0;
    if (!(headroom >= 0 && headroom < 0.9)) {
        snprintf(err, errlen, "headroom %g: a fraction from 0 to 0.9", headroom);
        return MG_E_ARG;
    }
    if (nhb > 1 && nhb != sized) {
        snprintf(err, errlen, "headroom: gives %zu sizes for %zu GPUs: give one, or one per GPU", nhb, sized);
        return MG_E_ARG;
    }
    size_t n = m->nmodels;
    mg_plan *p = mg_calloc(1, sizeof *p);
    slot *s = mg_calloc(n ? n : 1, sizeof *s);
    if (!p || !s || !(p->arena = mg_arena_new()) ||
        !(p->models = mg_arena_array(p->arena, n ? n : 1, sizeof *p->models)) ||
        !(p->files = mg_arena_array(p->arena, n ? n : 1, sizeof *p->files)) ||
        !(p->fms = mg_arena_array(p->arena, n ? n : 1, sizeof *p->fms))) {
        free(s);
        mg_plan_free(p);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    p->m = m;
    p->nmodels = n;
    p->headroom = hb ? 0 : headroom;
    p->ram_headroom = hb ? 0.10 : headroom;
    p->open.deadline_at = deadline_at;
    uint64_t usable[MG_PLAN_MAX_GPU], resident[MG_PLAN_MAX_GPU], room[MG_PLAN_MAX_GPU], ram_left;
    for (size_t k = 0; k < ngpus; k++) {
        if (!gpus[k].mem_total)
            continue;   /* a GPU whose memory is unknown is not planned for */
        size_t g = p->ngpus++;
        mg_plan_gpu *x = &p->gpus[g];
        x->target = gpus[k];
        x->headroom = hb ? hb[nhb > 1 ? g : 0] : mg_u64_of((double)gpus[k].mem_total * headroom);
        if (x->headroom > gpus[k].mem_total)
            x->headroom = gpus[k].mem_total;
        usable[g] = x->usable = gpus[k].mem_total - x->headroom;
        p->usable_total = mg_sat_add(p->usable_total, usable[g]);
    }
    ngpus = p->ngpus;
    ram_budget(p, o);
    int rc = open_files(p, size_files, 0);
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = size_model(p, i, size_files, &s[i], usable)))
            break;
        if (!m->models[i].on_demand) {
            p->resident_need = mg_sat_add(p->resident_need, p->models[i].need);
            p->ram.resident = mg_sat_add(p->ram.resident, p->models[i].ram);
        }
    }
    if (rc) {
        free(s);
        mg_plan_free(p);
        snprintf(err, errlen, "%s", rc == MG_E_NOMEM ? "out of memory" : mg_strerror((mg_err)rc));
        return rc;
    }
    p->ok = place(s, n, usable, ngpus, p->ram.known ? p->ram.usable : UINT64_MAX, resident, room, &ram_left);
    p->ram.ok = 1;
    for (size_t g = 0; g < ngpus; g++)
        p->gpus[g].resident = resident[g];
    for (size_t i = 0; i < n; i++) {
        mg_plan_model *pm = &p->models[i];
        pm->gpu = s[i].gpu;
        pm->fits = s[i].fits;
        p->ram.ok &= !s[i].short_of_ram;
        if (!pm->fits && !s[i].unsized)
            pm->why = why_not(p, &s[i], i, room, ram_left);
        int *c = NULL;
        for (size_t j = 0; j < n; j++)   /* on-demand models that cannot be loaded together */
            if (i != j && s[i].on_demand && s[j].on_demand && s[i].fits && s[j].fits &&
                !together(ngpus, room, ram_left, &s[i], &s[j])) {
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
    for (size_t i = 0; i < n; i++) {
        free(p->fms[i]);
        p->fms[i] = NULL;
    }
    if (p->oom) {
        mg_plan_free(p);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    *out = p;
    return MG_OK;
}

int mg_plan_make_with(const mg_matrix *m, const mg_target *gpus, size_t ngpus, const mg_plan_opts *o, mg_plan **out,
                      char *err, size_t errlen)
{
    mg_plan_opts none = {.headroom = -1};
    return mg_plan_build(m, gpus, ngpus, o ? o : &none, 1, 0, out, err, errlen);
}

int mg_plan_make(const mg_matrix *m, const mg_target *gpus, size_t ngpus, double headroom, mg_plan **out)
{
    char err[128];
    mg_plan_opts o = {.headroom = headroom};
    return mg_plan_build(m, gpus, ngpus, &o, 1, 0, out, err, sizeof err);
}

int mg_plan_open_files(mg_plan *p) { return open_files(p, 0, 1); }

void mg_plan_free(mg_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->fms && i < p->nmodels; i++)
        free(p->fms[i]);
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
const mg_plan_ram *mg_plan_ram_budget(const mg_plan *p) { return &p->ram; }

/* fit_report.c - `mlgate fit` as one call: a model (GGUF or safetensors) on given GPUs and RAM -> the best placement and its verdict, and its JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/json.h"
#include "mlgate/host.h"
#include "mlgate/models.h"
#include "models/formats.h"

int mg_cache_type(const char *s, uint32_t *t)
{
    static const struct { const char *n; uint32_t id; } c[] = {{"f16", 1}, {"f32", 0}, {"bf16", 30}, {"q8_0", 8},
                                                                {"q4_0", 2}, {"q4_1", 3}, {"q5_0", 6}, {"q5_1", 7},
                                                                {"iq4_nl", 20}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (!strcmp(s, c[i].n)) {
            *t = c[i].id;
            return 0;
        }
    return -1;
}

/* safetensors: what a transformers-style load needs; on several GPUs tensor-parallel or split by layers;
 * a diffusers pipeline on one GPU, all there or offloaded. */
static int fit_st(const mg_model *m, mg_fit_report *r, char *err, size_t errlen)
{
    int bad = m->st->nshards ? 0 : MG_E_FORMAT;
    for (size_t i = 0; i < m->st->nshards && !bad; i++)
        bad = m->st->shards[i].err;
    if (bad) {
        if (m->error)   /* what went wrong with it: "path: not a regular file" */
            snprintf(err, errlen, "%s", m->error);
        else
            snprintf(err, errlen, "%s: not a readable GGUF or safetensors model", m->path);
        return bad;
    }
    r->stm = m->st;
    r->context = r->opts.n_ctx ? r->opts.n_ctx : (m->st->context ? m->st->context : 4096);
    mg_fit_st_opts so = {r->context, r->opts.n_seq, r->ndev, (mg_st_engine)r->opts.st_engine, r->opts.st_kv_bytes};
    int rc = mg_fit_safetensors_on(m->st, &so, r->dev, r->ndev, r->opts.headroom, &r->st);
    if (rc) {
        snprintf(err, errlen, "%s: %s", m->path, mg_strerror((mg_err)rc));
        return rc;
    }
    for (size_t i = 0; i < r->ndev; i++) {
        uint64_t u = mg_u64_of((double)r->dev[i].mem_free * (1.0 - r->opts.headroom));
        r->usable = mg_sat_add(r->usable, u);
        if (u > r->big_usable)
            r->big = i, r->big_usable = u;
    }
    if (r->st.pipeline)   /* diffusers runs a pipeline on one GPU */
        r->fits = r->ndev && r->st.gpu_all <= r->big_usable;
    else if (r->ndev > 1)
        r->fits = r->st.place[MG_ST_TP].fits || r->st.place[MG_ST_LAYERS].fits;
    else
        r->fits = r->ndev && r->st.need <= r->usable;
    return MG_OK;
}

static int fit_gguf(const mg_model *m, const char *const *ot, size_t n_ot, mg_fit_report *r, char *err, size_t errlen)
{
    const mg_gguf_model *g = m->gguf;
    mg_fit_model *fm = mg_malloc(sizeof *fm);
    if (!fm) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    int rc = !g->nshards ? MG_E_FORMAT : g->shards[0].err ? g->shards[0].err : mg_fit_model_from(g, fm);
    if (rc) {
        snprintf(err, errlen, "%s: %s", m->path, g->nshards && g->shards[0].err ? g->shards[0].msg
                 : "not a GGUF model with block_count (safetensors: see 'inspect')");
        free(fm);
        return rc;
    }
    if (n_ot && (rc = mg_fit_override_cpu(g, ot, n_ot, fm, err, errlen))) {
        free(fm);
        return rc;
    }
    for (size_t i = 0; i < r->opts.n_lora && i < MG_FIT_MAX_LORA; i++) {
        const mg_model *l = r->opts.lora[i];
        if (!l || !l->gguf || (rc = mg_fit_add_lora(l->gguf, fm))) {
            snprintf(err, errlen, "--lora %s: not a readable GGUF adapter", l ? l->path : "?");
            free(fm);
            return rc ? rc : MG_E_FORMAT;
        }
    }
    /* Beside the model: a draft (-md) and a projector (--mmproj) take their part of each GPU and of the
     * RAM first; the model is placed in what is left. */
    uint64_t ctx = r->opts.n_ctx ? r->opts.n_ctx : (fm->n_ctx_train ? fm->n_ctx_train : 4096);
    uint64_t dgpu[MG_FIT_MAX_DEV] = {0}, dram = 0, mw = 0, mc = 0;
    if (r->opts.draft) {
        mg_fit_model *dfm = mg_malloc(sizeof *dfm);
        rc = !dfm ? MG_E_NOMEM : !r->opts.draft->gguf ? MG_E_FORMAT : mg_fit_model_from(r->opts.draft->gguf, dfm);
        if (rc) {
            snprintf(err, errlen, "--model-draft %s: not a readable GGUF model", r->opts.draft->path);
            free(dfm);
            free(fm);
            return rc;
        }
        mg_fit_draft_need(dfm, r->dev, r->ndev, &r->opts, ctx, dgpu, &dram);
        free(dfm);
    }
    if (r->opts.mmproj) {
        rc = r->opts.mmproj->gguf ? mg_fit_mmproj_need(r->opts.mmproj->gguf, &mw, &mc) : MG_E_FORMAT;
        if (rc) {
            snprintf(err, errlen, "--mmproj %s: not a readable GGUF projector", r->opts.mmproj->path);
            free(fm);
            return rc;
        }
    }
    int mm_gpu = r->opts.mmproj && r->ndev && !r->opts.no_mmproj_offload;   /* clip: the first GPU */
    mg_target left[MG_FIT_MAX_DEV];
    mg_fit_opts lo = r->opts;
    uint64_t ram_beside = mg_sat_add(dram, mm_gpu ? 0 : mg_sat_add(mw, mc));
    for (size_t i = 0; i < r->ndev; i++) {
        left[i] = r->dev[i];
        uint64_t x = mg_sat_add(dgpu[i], i == 0 && mm_gpu ? mg_sat_add(mw, mc) : 0);
        uint64_t free_x = mg_u64_of((double)x / (1.0 - r->opts.headroom));   /* its share of usable memory */
        left[i].mem_free = left[i].mem_free > free_x ? left[i].mem_free - free_x : 0;
    }
    if (lo.ram)
        lo.ram = lo.ram > ram_beside ? lo.ram - ram_beside : 1;
    if ((rc = mg_fit_search(fm, left, r->ndev, &lo, &r->plan, &r->max_ctx))) {
        snprintf(err, errlen, "%s: %s", m->path, mg_strerror((mg_err)rc));
        free(fm);
        return rc;
    }
    mg_fit_plan *pp = &r->plan;
    pp->fits_gpu = 1;
    for (size_t i = 0; i < r->ndev; i++) {
        pp->draft[i] = dgpu[i];
        pp->mmproj[i] = i == 0 && mm_gpu ? mg_sat_add(mw, mc) : 0;
        pp->need[i] = mg_sat_add(pp->need[i], mg_sat_add(pp->draft[i], pp->mmproj[i]));
        pp->usable[i] = mg_u64_of((double)r->dev[i].mem_free * (1.0 - r->opts.headroom));
        if (pp->need[i] > pp->usable[i])
            pp->fits_gpu = 0;
    }
    pp->ram_draft = dram;
    pp->ram_mmproj = mm_gpu ? 0 : mg_sat_add(mw, mc);
    pp->ram_need = mg_sat_add(pp->ram_need, ram_beside);
    pp->fits_ram = !r->opts.ram || pp->ram_need <= r->opts.ram;
    pp->lora_bytes = fm->lora_bytes;
    const mg_fit_plan *p = &r->plan;
    r->n_layer = fm->kv.n_layer;
    r->weights = fm->total_bytes;
    r->moe = fm->n_exps_tensors > 0;
    /* Fully: every slot on the GPUs, with no experts moved to RAM beyond what was asked for. */
    int asked_moe = r->opts.n_cpu_moe >= 0, placed = p->fits_gpu && p->fits_ram;
    if (placed && p->ngl == (int)fm->kv.n_layer + 1 && (asked_moe || !p->n_cpu_moe))
        r->verdict = MG_FIT_FULL;
    else if (!r->ndev)
        r->verdict = MG_FIT_CPU;
    else if (placed && !asked_moe && p->n_cpu_moe)
        r->verdict = MG_FIT_MOE;
    else if (placed)
        r->verdict = MG_FIT_PARTIAL;
    else
        r->verdict = MG_FIT_NONE;
    r->fits = r->verdict == MG_FIT_FULL;
    free(fm);
    return MG_OK;
}

int mg_fit(const mg_model *m, const mg_target *dev, size_t nd, const mg_fit_opts *o, const char *const *ot,
           size_t n_ot, mg_fit_report *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    size_t sized = 0;
    for (size_t i = 0; i < nd; i++)
        sized += dev[i].mem_total != 0;
    if (sized > MG_FIT_MAX_DEV) {   /* the caller's list: a usage error, unlike a file over a cap */
        snprintf(err, errlen, "at most %d GPUs", MG_FIT_MAX_DEV);
        return MG_E_ARG;
    }
    r->format = m->format;
    r->model = m->path;
    for (size_t i = 0; i < nd; i++)
        if (dev[i].mem_total)   /* a GPU whose memory is unknown holds nothing */
            r->dev[r->ndev++] = dev[i];
    r->opts = *o;
    if (!r->opts.ram) {   /* what stays on the host: this machine's available RAM and free swap */
        mg_host_paths hp = {.root = ""};
        mg_memory mem;
        if (mg_memory_read(&hp, &mem) == MG_OK)
            r->opts.ram = mem.available + mem.swap_free;
    }
    return m->st ? fit_st(m, r, err, errlen) : fit_gguf(m, ot, n_ot, r, err, errlen);
}

static const char *kv_layout(const mg_fit_st *f)
{
    return !f->mla ? "kv_heads" : f->engine == MG_ENGINE_TRANSFORMERS ? "mla_decompressed" : "mla_latent";
}

static void json_place(jw *w, const char *key, const mg_fit_st_place *pl, const mg_fit_report *r)
{
    jw_key(w, key);
    jw_begin_obj(w);
    jw_kbool(w, "fits", pl->fits);
    jw_kbool(w, "shape_ok", pl->shape_ok);
    jw_kstr(w, "why", pl->why[0] ? pl->why : NULL);
    jw_key(w, "gpus");
    jw_begin_arr(w);
    for (size_t i = 0; i < r->st.ndev; i++) {
        const mg_fit_st_gpu *g = &pl->gpu[i];
        jw_begin_obj(w);
        jw_kstr(w, "name", r->dev[i].name);
        jw_kuint(w, "layers", g->layers);
        jw_kuint(w, "weights", g->weights);
        jw_kuint(w, "kv", g->kv);
        jw_kuint(w, "activations", g->activations);
        jw_kuint(w, "runtime", g->runtime);
        jw_kuint(w, "need", g->need);
        jw_kuint(w, "usable", g->usable);
        jw_kbool(w, "fits", g->fits);
        jw_end_obj(w);
    }
    jw_end_arr(w);
    jw_end_obj(w);
}

static void json_offload(jw *w, const char *key, uint64_t gpu, uint64_t ram, const mg_fit_report *r)
{
    jw_key(w, key);
    jw_begin_obj(w);
    jw_kuint(w, "gpu", gpu);
    jw_kuint(w, "ram", ram);
    jw_kbool(w, "fits", r->ndev && gpu <= r->big_usable && (!r->opts.ram || ram <= r->opts.ram));
    jw_end_obj(w);
}

static void json_pipeline(jw *w, const mg_fit_report *r)
{
    const mg_fit_st *f = &r->st;
    const mg_st_model *sm = r->stm;
    jw_kstr(w, "format", "safetensors");
    jw_kstr(w, "pipeline", sm->pipeline_class[0] ? sm->pipeline_class : "");
    jw_kuint(w, "weights", f->weights);
    jw_kuint(w, "activations", f->activations);
    jw_kuint(w, "image_tokens", f->image_tokens);
    jw_kuint(w, "text_tokens", f->text_tokens);
    jw_key(w, "components");
    jw_begin_arr(w);
    for (size_t c = 0; c < f->ncomp && c < sm->ncomp; c++) {
        jw_begin_obj(w);
        mg_component_json(w, &sm->comp[c]);
        jw_kuint(w, "weights", f->comp[c].weights);
        jw_kuint(w, "largest_module", f->comp[c].largest_module);
        jw_kuint(w, "activations", f->comp[c].activations);
        jw_end_obj(w);
    }
    jw_end_arr(w);
    jw_key(w, "placements");
    jw_begin_obj(w);
    json_offload(w, "all_on_gpu", f->gpu_all, f->ram_all, r);
    json_offload(w, "model_cpu_offload", f->gpu_model_offload, f->ram_offload, r);
    json_offload(w, "sequential_cpu_offload", f->gpu_seq_offload, f->ram_offload, r);
    jw_end_obj(w);
    jw_kstr(w, "gpu", r->ndev ? r->dev[r->big].name : "");
    jw_kuint(w, "need", f->need);
    jw_kuint(w, "usable", r->big_usable);
    jw_kbool(w, "fits", r->fits);
    jw_kuint(w, "ram_to_load", f->weights);
}

static void json_st(jw *w, const mg_fit_report *r)
{
    if (r->st.pipeline) {
        json_pipeline(w, r);
        return;
    }
    jw_kstr(w, "format", "safetensors");
    jw_kstr(w, "engine", r->st.engine == MG_ENGINE_TRANSFORMERS ? "transformers" : "vllm");
    jw_kstr(w, "kv_layout", kv_layout(&r->st));
    jw_kuint(w, "context", r->context);
    jw_kuint(w, "weights", r->st.weights);
    jw_kuint(w, "kv_per_token", r->st.kv_per_token);
    jw_kuint(w, "kv", r->st.kv);
    jw_kuint(w, "activations", r->st.activations);
    jw_kuint(w, "need", r->st.need);
    jw_kuint(w, "usable", r->usable);
    jw_kbool(w, "fits", r->fits);
    jw_kuint(w, "ram_to_load", r->st.weights);
    if (r->st.ndev > 1) {
        jw_key(w, "placements");
        jw_begin_obj(w);
        json_place(w, "tensor_parallel", &r->st.place[MG_ST_TP], r);
        json_place(w, "layer_split", &r->st.place[MG_ST_LAYERS], r);
        jw_end_obj(w);
    }
}

static void json_gguf(jw *w, const mg_fit_report *r)
{
    const mg_fit_plan *p = &r->plan;
    jw_kbool(w, "fits_fully_on_gpus", r->fits);
    jw_kint(w, "ngl", p->ngl);
    jw_kint(w, "n_cpu_moe", p->n_cpu_moe > (int)r->n_layer ? (int)r->n_layer : p->n_cpu_moe);
    jw_kbool(w, "moe", r->moe);
    jw_kbool(w, "flash_attn", p->flash_attn);
    jw_kbool(w, "op_offload", !r->opts.no_op_offload);
    jw_kuint(w, "offload_copy", p->offload);
    jw_kuint(w, "n_layer", r->n_layer);
    jw_kuint(w, "context", p->n_ctx);
    jw_kuint(w, "max_context", r->max_ctx);
    jw_kbool(w, "split_searched", p->split_searched);
    jw_key(w, "ts");   /* slots per GPU, as -ts takes them */
    jw_begin_arr(w);
    for (size_t i = 0; i < r->ndev; i++)
        jw_int(w, p->layers[i]);
    jw_end_arr(w);
    jw_key(w, "tensor_split");
    jw_begin_arr(w);
    for (size_t i = 0; i < r->ndev; i++)
        jw_num(w, p->split[i]);
    jw_end_arr(w);
    jw_key(w, "gpus");
    jw_begin_arr(w);
    for (size_t i = 0; i < r->ndev; i++) {
        jw_begin_obj(w);
        jw_kstr(w, "name", r->dev[i].name);
        jw_kint(w, "slots", p->layers[i]);
        jw_kuint(w, "weights", p->weights[i]);
        jw_kuint(w, "kv", p->kv[i]);
        jw_kuint(w, "compute", p->compute[i]);
        jw_kuint(w, "need", p->need[i]);
        jw_kuint(w, "usable", p->usable[i]);
        jw_kbool(w, "fits", p->need[i] <= p->usable[i]);
        jw_end_obj(w);
    }
    jw_end_arr(w);
    jw_key(w, "beside");   /* what the same process loads beside the model, in the needs above */
    jw_begin_obj(w);
    jw_kuint(w, "lora", p->lora_bytes);
    jw_kuints(w, "draft", p->draft, r->ndev);
    jw_kuint(w, "draft_ram", p->ram_draft);
    jw_kuints(w, "mmproj", p->mmproj, r->ndev);
    jw_kuint(w, "mmproj_ram", p->ram_mmproj);
    jw_end_obj(w);
    jw_key(w, "ram");
    jw_begin_obj(w);
    jw_kuint(w, "weights", p->ram_weights);
    jw_kuint(w, "kv", p->ram_kv);
    jw_kuint(w, "other", p->ram_other);
    jw_kuint(w, "need", p->ram_need);
    jw_kuint(w, "available", r->opts.ram);
    jw_kbool(w, "fits", p->fits_ram);
    jw_end_obj(w);
}

void mg_fit_json(FILE *f, const mg_fit_report *r)
{
    jw w = jw_on(f);
    jw_report(&w, "fit");
    jw_kstr(&w, "model", r->model);
    if (r->format == MG_FORMAT_SAFETENSORS)
        json_st(&w, r);
    else
        json_gguf(&w, r);
    jw_end_obj(&w);
}

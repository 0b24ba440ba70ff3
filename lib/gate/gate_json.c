/* gate_json.c - the JSON of `mlgate plan`, `mlgate check` and `mlgate history` (docs/matrix.md, docs/json.md). */
#include <stdio.h>

#include "core/json.h"
#include "explain/attach.h"
#include "gate/gate_int.h"

void mg_stages_json(jw *w, const mg_check_result *r)
{
    jw_key(w, "stages");
    jw_begin_obj(w);
    for (int s = 0; s < MG_NSTAGES; s++) {
        if (!r->stage[s].ran)
            continue;
        jw_key(w, mg_stage_name(s));
        jw_begin_obj(w);
        jw_kbool(w, "ok", r->stage[s].ok);
        jw_knum(w, "seconds", r->stage[s].seconds);
        jw_kstr(w, "reason", r->stage[s].reason[0] ? r->stage[s].reason : NULL);
        if (!r->stage[s].ok)   /* the failure's known cause and fix (mlgate explain; docs/explain.md) */
            mg_explain_attach_json(w, r->stage[s].reason);
        jw_end_obj(w);
    }
    jw_end_obj(w);
}

void mg_plan_json(FILE *f, const mg_plan *p)
{
    const mg_matrix *m = mg_plan_matrix(p);
    jw w = jw_on(f);
    jw_begin_obj(&w);
    jw_kstr(&w, "mlgate", MLGATE_VERSION);
    jw_kstr(&w, "command", "plan");
    jw_kstr(&w, "matrix", m->host.path);
    jw_kbool(&w, "ok", mg_plan_ok(p));
    jw_knum(&w, "headroom", mg_plan_headroom(p));
    jw_kuint(&w, "resident_need", mg_plan_resident_need(p));
    jw_kuint(&w, "usable", mg_plan_usable(p));
    jw_key(&w, "gpus");
    jw_begin_arr(&w);
    for (size_t g = 0; g < mg_plan_ngpus(p); g++) {
        const mg_plan_gpu *x = mg_plan_gpu_at(p, g);
        jw_begin_obj(&w);
        jw_kstr(&w, "name", x->target.name);
        jw_kuint(&w, "total", x->target.mem_total);
        jw_kuint(&w, "headroom", x->headroom);
        jw_kuint(&w, "usable", x->usable);
        jw_kuint(&w, "resident", x->resident);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    const mg_plan_ram *ram = mg_plan_ram_budget(p);
    jw_key(&w, "ram");
    if (ram->known) {
        jw_begin_obj(&w);
        jw_kuint(&w, "ram", ram->ram);
        jw_kuint(&w, "swap", ram->swap);
        jw_kuint(&w, "usable", ram->usable);
        jw_kuint(&w, "resident", ram->resident);
        jw_kbool(&w, "fits", ram->ok);
        jw_end_obj(&w);
    } else {
        jw_null(&w);
    }
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_plan_model *pm = mg_plan_model_at(p, i);
        jw_begin_obj(&w);
        jw_kstr(&w, "name", m->models[i].name);
        jw_kstr(&w, "kind", mg_model_kind_name(m->models[i].kind));
        jw_kstr(&w, "residency", m->models[i].on_demand ? "on-demand" : "resident");
        jw_kuint(&w, "memory", pm->need);
        jw_kuint(&w, "ram", pm->ram);
        jw_kstr(&w, "source", pm->source);
        jw_key(&w, "gpu");
        if (pm->gpu >= 0)
            jw_int(&w, pm->gpu);
        else
            jw_null(&w);
        jw_key(&w, "split");   /* on several GPUs: the part on each */
        jw_begin_arr(&w);
        for (size_t k = 0; k < pm->nparts; k++) {
            jw_begin_obj(&w);
            jw_kint(&w, "gpu", pm->part_gpu[k]);
            jw_kuint(&w, "memory", pm->part_need[k]);
            jw_end_obj(&w);
        }
        jw_end_arr(&w);
        jw_key(&w, "ngl");
        if (pm->ngl >= 0)
            jw_int(&w, pm->ngl);
        else
            jw_null(&w);
        jw_kint(&w, "n_cpu_moe", pm->n_cpu_moe);
        jw_kbool(&w, "fits", pm->fits);
        jw_kstr(&w, "why", pm->why[0] ? pm->why : NULL);
        jw_kstr(&w, "note", pm->note);
        jw_key(&w, "not_together_with");
        jw_begin_arr(&w);
        for (size_t k = 0; k < pm->nconflicts; k++)
            jw_str(&w, m->models[pm->conflicts[k]].name);
        jw_end_arr(&w);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "fixes");
    jw_begin_arr(&w);
    for (size_t k = 0; k < mg_plan_nfixes(p); k++)
        jw_str(&w, mg_plan_fix(p, k));
    jw_end_arr(&w);
    jw_end_obj(&w);
    fputc('\n', f);
}

void mg_gate_json(FILE *f, const mg_gate *g)
{
    const mg_matrix *m = mg_gate_matrix(g);
    jw w = jw_on(f);
    jw_begin_obj(&w);
    jw_kstr(&w, "mlgate", MLGATE_VERSION);
    jw_kstr(&w, "command", "check");
    jw_kstr(&w, "matrix", m->host.path);
    jw_knum(&w, "seconds", mg_gate_seconds(g));
    jw_kbool(&w, "ok", mg_gate_passed(g) == m->nmodels);
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_check_result *r = mg_gate_result(g, i);
        jw_begin_obj(&w);
        jw_kstr(&w, "name", m->models[i].name);
        jw_kstr(&w, "kind", mg_model_kind_name(m->models[i].kind));
        jw_kstr(&w, "capability", m->models[i].capability);
        jw_kbool(&w, "ok", r->ok);
        mg_stages_json(&w, r);
        jw_knum(&w, "ttfb", r->ttfb);
        jw_knum(&w, "total", r->total);
        jw_kuint(&w, "tokens", r->tokens);
        jw_kuint(&w, "bytes", r->bytes);
        jw_kstr(&w, "output", r->output);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    fputc('\n', f);
}

void mg_history_json(FILE *f, const mg_history *h)
{
    jw w = jw_on(f);
    jw_begin_obj(&w);
    jw_kstr(&w, "mlgate", MLGATE_VERSION);
    jw_kstr(&w, "command", "history");
    jw_kint(&w, "runs", mg_history_runs(h));
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < mg_history_count(h); i++) {
        const mg_history_row *x = mg_history_row_at(h, i);
        jw_begin_obj(&w);
        jw_kstr(&w, "model", x->model);
        jw_kint(&w, "runs", x->runs);
        jw_kint(&w, "passed", x->passed);
        jw_kint(&w, "flips", x->flips);
        jw_kbool(&w, "flapping", x->flapping);
        jw_kbool(&w, "last_ok", x->last_ok);
        jw_kstr(&w, "last_failure", x->last_reason);
        jw_kstr(&w, "last_run", x->last_run);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    fputc('\n', f);
}

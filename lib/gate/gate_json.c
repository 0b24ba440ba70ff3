/* gate_json.c - the JSON of `mlgate plan`, `mlgate check` and `mlgate history` (docs/matrix.md, docs/json.md). */
#include <stdio.h>

#include "core/json.h"
#include "gate/gate_int.h"

void mg_plan_json(FILE *f, const mg_plan *p)
{
    const mg_matrix *m = mg_plan_matrix(p);
    jw w = jw_on(f);
    jw_begin_obj(&w);
    jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command"); jw_str(&w, "plan");
    jw_key(&w, "matrix"); jw_str(&w, m->host.path);
    jw_key(&w, "ok"); jw_bool(&w, mg_plan_ok(p));
    jw_key(&w, "headroom"); jw_num(&w, mg_plan_headroom(p));
    jw_key(&w, "resident_need"); jw_uint(&w, mg_plan_resident_need(p));
    jw_key(&w, "usable"); jw_uint(&w, mg_plan_usable(p));
    jw_key(&w, "gpus");
    jw_begin_arr(&w);
    for (size_t g = 0; g < mg_plan_ngpus(p); g++) {
        const mg_plan_gpu *x = mg_plan_gpu_at(p, g);
        jw_begin_obj(&w);
        jw_key(&w, "name"); jw_str(&w, x->target.name);
        jw_key(&w, "total"); jw_uint(&w, x->target.mem_total);
        jw_key(&w, "usable"); jw_uint(&w, x->usable);
        jw_key(&w, "resident"); jw_uint(&w, x->resident);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_plan_model *pm = mg_plan_model_at(p, i);
        jw_begin_obj(&w);
        jw_key(&w, "name"); jw_str(&w, m->models[i].name);
        jw_key(&w, "kind"); jw_str(&w, mg_model_kind_name(m->models[i].kind));
        jw_key(&w, "residency"); jw_str(&w, m->models[i].on_demand ? "on-demand" : "resident");
        jw_key(&w, "memory"); jw_uint(&w, pm->need);
        jw_key(&w, "ram"); jw_uint(&w, pm->ram);
        jw_key(&w, "source"); jw_str(&w, pm->source);
        jw_key(&w, "gpu");
        if (pm->gpu >= 0)
            jw_int(&w, pm->gpu);
        else
            jw_null(&w);
        jw_key(&w, "fits"); jw_bool(&w, pm->fits);
        jw_key(&w, "why"); jw_str(&w, pm->why[0] ? pm->why : NULL);
        jw_key(&w, "note"); jw_str(&w, pm->note);
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
    jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command"); jw_str(&w, "check");
    jw_key(&w, "matrix"); jw_str(&w, m->host.path);
    jw_key(&w, "seconds"); jw_num(&w, mg_gate_seconds(g));
    jw_key(&w, "ok"); jw_bool(&w, mg_gate_passed(g) == m->nmodels);
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_check_result *r = mg_gate_result(g, i);
        jw_begin_obj(&w);
        jw_key(&w, "name"); jw_str(&w, m->models[i].name);
        jw_key(&w, "kind"); jw_str(&w, mg_model_kind_name(m->models[i].kind));
        jw_key(&w, "capability"); jw_str(&w, m->models[i].capability);
        jw_key(&w, "ok"); jw_bool(&w, r->ok);
        jw_key(&w, "stages");
        jw_begin_obj(&w);
        for (int s = 0; s < MG_NSTAGES; s++) {
            if (!r->stage[s].ran)
                continue;
            jw_key(&w, mg_stage_name(s));
            jw_begin_obj(&w);
            jw_key(&w, "ok"); jw_bool(&w, r->stage[s].ok);
            jw_key(&w, "seconds"); jw_num(&w, r->stage[s].seconds);
            jw_key(&w, "reason"); jw_str(&w, r->stage[s].reason[0] ? r->stage[s].reason : NULL);
            jw_end_obj(&w);
        }
        jw_end_obj(&w);
        jw_key(&w, "ttfb"); jw_num(&w, r->ttfb);
        jw_key(&w, "total"); jw_num(&w, r->total);
        jw_key(&w, "tokens"); jw_uint(&w, r->tokens);
        jw_key(&w, "bytes"); jw_uint(&w, r->bytes);
        jw_key(&w, "output"); jw_str(&w, r->output);
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
    jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command"); jw_str(&w, "history");
    jw_key(&w, "runs"); jw_int(&w, mg_history_runs(h));
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < mg_history_count(h); i++) {
        const mg_history_row *x = mg_history_row_at(h, i);
        jw_begin_obj(&w);
        jw_key(&w, "model"); jw_str(&w, x->model);
        jw_key(&w, "runs"); jw_int(&w, x->runs);
        jw_key(&w, "passed"); jw_int(&w, x->passed);
        jw_key(&w, "flips"); jw_int(&w, x->flips);
        jw_key(&w, "flapping"); jw_bool(&w, x->flapping);
        jw_key(&w, "last_ok"); jw_bool(&w, x->last_ok);
        jw_key(&w, "last_failure"); jw_str(&w, x->last_reason);
        jw_key(&w, "last_run"); jw_str(&w, x->last_run);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    fputc('\n', f);
}

/*
 * check.c - the gate's check: per model, in parallel under one deadline, smoke (the memory plan, the
 * model file known to llama.cpp, the binaries scanned against this host's GPUs), then up, then a real
 * minimal inference (lib/gate/probes.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/net.h"
#include "gate/gate_int.h"

static const char *const stages[] = {"smoke", "up", "inference"};
const char *mg_stage_name(int s) { return s >= 0 && s < MG_NSTAGES ? stages[s] : "?"; }

int mg_check_cancelled(const mg_check_opts *o) { return o->cancelled && o->cancelled(o->cancel_ctx); }

double mg_check_left(const mg_check_job *j, double limit)
{
    if (mg_check_cancelled(j->o))
        return 0;
    double rest = j->deadline_at - mg_now();
    return rest < limit ? rest : limit;
}

/* The model file as the plan read it: a GGUF's architecture must be known to llama.cpp. */
static void smoke_file(const mg_check_job *j, size_t i, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    const mg_model *f = j->o->plan ? mg_plan_file(j->o->plan, i) : NULL;
    if (!md->file || !f || f->format != MG_FORMAT_GGUF)
        return;
    const mg_gguf_model *g = f->gguf;
    const char *arch = g->nshards && !g->shards[0].err ? mg_gguf_str(&g->shards[0].g, "general.architecture") : NULL;
    const char *spelt = arch ? mg_llama_cpp_spelling(arch) : NULL;
    if (!arch)
        snprintf(s->reason, sizeof s->reason, "cannot read %.150s: %.80s", md->file,
                 g->nshards ? g->shards[0].msg : "no GGUF");
    else if (!mg_llama_cpp_knows(arch))
        snprintf(s->reason, sizeof s->reason, "%.120s: architecture '%.40s' is unknown to llama.cpp%s%.40s%s",
                 md->file, arch, spelt ? " (it spells it '" : "", spelt ? spelt : "", spelt ? "')" : "");
}

/* Its binaries: readable, and their CUDA code runs on this host's GPUs and driver. */
static void smoke_binaries(const mg_check_job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    for (size_t k = 0; k < md->nbinaries && !s->reason[0]; k++)
        if (access(md->binaries[k], R_OK))
            snprintf(s->reason, sizeof s->reason, "%.180s: %s", md->binaries[k], strerror(errno));
    if (s->reason[0] || !md->nbinaries || !j->o->ntargets)
        return;
    mg_scan_opts so = {.targets = j->o->targets, .ntargets = j->o->ntargets, .threads = 1, .deadline_at = j->deadline_at};
    mg_scan_result res;
    if (mg_scan_paths(&so, md->binaries, md->nbinaries, &res) == MG_OK)
        for (size_t k = 0; k < res.nreports && !s->reason[0]; k++) {
            const mg_report *rep = res.reports[k];
            if (rep->err)
                snprintf(s->reason, sizeof s->reason, "%.150s: %s", rep->path, mg_strerror((mg_err)rep->err));
            else if (mg_report_worst(rep) >= MG_STATUS_PARTIAL)
                snprintf(s->reason, sizeof s->reason, "%.150s: %s on this host's GPU (mlgate scan says why)",
                         rep->path, mg_status_str(mg_report_worst(rep)));
        }
    mg_scan_result_free(&res);
}

static void smoke(const mg_check_job *j, size_t i, mg_stage_result *s)
{
    const mg_plan_model *pm = j->o->plan && j->o->plan_fits ? mg_plan_model_at(j->o->plan, i) : NULL;
    if (pm && !pm->fits)
        snprintf(s->reason, sizeof s->reason, "does not fit the memory plan: %.200s", pm->why);
    if (!s->reason[0])
        smoke_file(j, i, s);
    if (!s->reason[0])
        smoke_binaries(j, s);
    s->ok = !s->reason[0];
}

typedef struct thread_job {
    mg_check_job j;
    size_t i;
} thread_job;

static void *check_one(void *arg)
{
    thread_job *t = arg;
    mg_check_job *j = &t->j;
    mg_check_result *r = j->r;
    for (int st = 0; st < MG_NSTAGES; st++) {
        mg_stage_result *s = &r->stage[st];
        if (st == MG_STAGE_SMOKE && j->o->skip_smoke)
            continue;
        if (st > 0 && r->stage[st - 1].ran && !r->stage[st - 1].ok)
            break;
        if (mg_check_cancelled(j->o) || mg_now() >= j->deadline_at) {
            s->ran = 1;
            snprintf(s->reason, sizeof s->reason, "%s", mg_check_cancelled(j->o) ? "the run was cancelled"
                                                        : "the gate's deadline passed before this stage");
            break;
        }
        double t0 = mg_now();
        s->started = mg_unix_now();
        s->ran = 1;
        if (st == MG_STAGE_SMOKE)
            smoke(j, t->i, s);
        else if (st == MG_STAGE_UP)
            mg_probe_up(j, s);
        else
            mg_probe_inference(j, s);
        s->seconds = mg_now() - t0;
    }
    r->ok = r->stage[MG_STAGE_INFERENCE].ran && r->stage[MG_STAGE_INFERENCE].ok;
    return NULL;
}

int mg_check_run(const mg_matrix *m, const mg_check_opts *o, mg_check_result *results)
{
    mg_curl(NULL, 0);   /* before the threads: libcurl's global set-up is not for concurrent first use */
    memset(results, 0, m->nmodels * sizeof *results);
    thread_job *jobs = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *jobs);
    pthread_t *th = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *th);
    int *started = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *started);
    if (!jobs || !th || !started) {
        free(jobs);
        free(th);
        free(started);
        return MG_E_NOMEM;
    }
    double deadline_at = o->deadline_at > 0 ? o->deadline_at : mg_now() + 120;
    _Atomic size_t answers = 0;
    for (size_t i = 0; i < m->nmodels; i++) {
        jobs[i] = (thread_job){{&m->models[i], o, deadline_at, &results[i], &answers}, i};
        if (pthread_create(&th[i], NULL, check_one, &jobs[i]) == 0)
            started[i] = 1;
        else
            check_one(&jobs[i]);
    }
    for (size_t i = 0; i < m->nmodels; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    free(jobs);
    free(th);
    free(started);
    return MG_OK;
}
